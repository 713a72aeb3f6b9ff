"""What the Supabase doubles (tests.support.supabase_double) know of the project: its URL and
keys, the instances' and events' columns, and what each role may write (supabase/migrations)."""

from __future__ import annotations

import httpx

from lib.config.settings import SupabaseSettings

URL = "https://proj.supabase.co"
ANON_KEY = "anon-key-for-tests"
SERVICE_ROLE_KEY = "service-role-key-for-tests"
SETTINGS = SupabaseSettings(url=URL, anon_key=ANON_KEY)
SERVER_SETTINGS = SupabaseSettings(url=URL, anon_key=ANON_KEY, service_role_key=SERVICE_ROLE_KEY)
COLUMNS = {
    "id", "instance_id", "name", "phone_number", "status", "created_at", "updated_at", "created_by",
    "last_checked_at", "status_changed_at", "last_phone_number", "last_error", "check_failures", "dropped",
    "disconnect_reason", "provider_event_at", "first_connected_at", "owner_id", "tags", "notes", "name_key",
    "dropped_at",
}
# A new row's columns before the insert's own (the migrations' defaults).
DEFAULTS = {
    "phone_number": None, "status": "disconnected", "created_by": None, "last_checked_at": None,
    "last_phone_number": None, "last_error": None, "check_failures": 0, "dropped": False, "disconnect_reason": None,
    "provider_event_at": None, "first_connected_at": None, "owner_id": None, "tags": [], "notes": None,
    "dropped_at": None,
}
# Columns `authenticated` may update (RLS then allows admins only), and those whose change moves updated_at.
UPDATABLE = {"name", "phone_number", "status", "last_checked_at", "last_error", "check_failures", "dropped",
             "name_key", "owner_id", "tags", "notes", "disconnect_reason"}
USER_VISIBLE = ("status", "phone_number", "name", "instance_id", "token", "last_error", "check_failures",
                "disconnect_reason", "owner_id", "tags", "notes")
# The history kinds an API user may write, as a user (the hardening migration's policy).
USER_KINDS = {"created", "connect_requested", "disconnected", "deleted", "token_revealed", "renamed",
              "details_changed", "restarted", "imported", "events_registered"}
EVENT_COLUMNS = (
    "id", "instance_id", "instance_name", "kind", "from_status", "to_status", "phone_number", "source", "actor_id",
    "actor_email", "detail", "created_at",
)
# The columns `authenticated` may insert (the history migration's column grants).
EVENT_INSERTABLE = set(EVENT_COLUMNS) - {"id", "created_at"}
MAX_ROWS = 1000  # PostgREST's max-rows on Supabase
SERVICE_ROLE = "service_role"
PASSWORD = "correct horse"
USER_ADMIN_FUNCTIONS = ("admin_list_role_holders", "admin_find_user", "admin_grant_role", "admin_revoke_role")
LAST_ADMIN_CODE = "UA001"


def pg_error(status: int, code: str, message: str) -> httpx.Response:
    return httpx.Response(status, json={"code": code, "details": None, "hint": None, "message": message})
