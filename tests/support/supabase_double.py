"""An HTTP double of Supabase's hosted APIs (GoTrue and PostgREST) for supabase-py, with respx.

It answers the real requests supabase-py makes and enforces what production enforces: tokens must
be valid and unexpired, `token` is not a readable column (select=* or select=...token... fails
with 42501) except for the service role, only admins (and the service role) write, only admins
read a token through instance_token(), a user sees only their own user_roles rows, names are
unique ignoring case and by name_key, an owner is a user. Writes stamp updated_at,
status_changed_at, first_connected_at, last_phone_number and a missing name_key as the instances
trigger does; admins may not write provider_event_at nor first_connected_at; its functions
(instances_version, mark_instances_checked, record_instance_check_failure, claim_monitor_lease,
release_monitor_lease, instance_owner_emails) answer as in supabase/migrations. Filters include
`is.null` and `or=(…)`.

The history (instance_events) follows the history migration: users with a role read it, anon gets
42501, only admins insert, only what users do (USER_KINDS, source 'user') and only in their own
name (actor_id and actor_email default to the token's, any other value is refused, created_at and
id are not theirs to set), nobody updates, only
the service role deletes; the checks on kind, source, statuses and detail length hold;
instance_status_before and prune_instance_events answer as the migration's. Reads accept
PostgREST's eq/in/gt/gte/lt/lte filters, order, offset and limit, and answer at most `max_rows`
rows, as PostgREST's max-rows does.

Users and roles follow the user-admin migration: admin_list_role_holders, admin_find_user,
admin_grant_role and admin_revoke_role answer signed-in admins only (42501 for anyone else, the
service role included), match e-mails ignoring case, give one role per user and never take the
admin role from the last admin (UA001); role_for_email answers the service role only. GoTrue's
admin invitation (POST /auth/v1/invite) takes the service-role key only and creates an unconfirmed
account, as GoTrue does; an e-mail with a confirmed account gets 422 email_exists.
"""

from __future__ import annotations

import itertools
import time
import uuid
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

import httpx
import pytest
import respx

from tests.support.gotrue_double import GoTrueDouble
from tests.support.postgrest_double import PostgRESTDouble, _keep_on_insert
from tests.support.supabase_rules import (  # noqa: F401 - the tests' names for them
    ANON_KEY, COLUMNS, DEFAULTS, MAX_ROWS, PASSWORD, SERVER_SETTINGS, SERVICE_ROLE_KEY, SETTINGS, URL, pg_error,
)


class Clock:
    """Shared by the double and supabase-auth (patched in), so time can jump an hour ahead."""

    def __init__(self):
        self.offset = 0.0

    def time(self) -> float:
        return time.time() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += seconds


class FakeSupabase(GoTrueDouble, PostgRESTDouble):
    """The double: its state, the routes it answers on `router`, and the tests' set-up helpers; it
    answers GoTrue's requests as GoTrueDouble and PostgREST's as PostgRESTDouble."""

    def __init__(self, router: respx.MockRouter, clock: Clock):
        self.clock = clock
        self.error_shape = "modern"  # GoTrue error bodies: "modern" (API version 2024-01-01) or "legacy"
        self.accounts: dict[str, dict] = {}
        self.user_roles: list[tuple[str, str]] = []
        self.access_tokens: dict[str, dict] = {}  # token -> claims
        self.refresh_tokens: dict[str, str] = {}  # token -> email
        self.rows: list[dict] = []  # instances, token included
        self.events: list[dict] = []  # instance_events
        self.max_rows = MAX_ROWS
        self._event_ids = itertools.count(1)
        self.lease: tuple[str, float] | None = None  # the monitor lease: holder, expiry (clock time)
        self.invited: list[str] = []  # e-mails GoTrue sent an invitation to
        self.faults: dict[str, list] = {"password": [], "refresh": [], "logout": [], "rest": [], "invite": []}
        self._seq = itertools.count(1)
        self.password_route = router.post(f"{URL}/auth/v1/token", params={"grant_type": "password"}).mock(
            side_effect=lambda req: self._faulted("password", req) or self._password_grant(req)
        )
        self.refresh_route = router.post(f"{URL}/auth/v1/token", params={"grant_type": "refresh_token"}).mock(
            side_effect=lambda req: self._faulted("refresh", req) or self._refresh_grant(req)
        )
        self.logout_route = router.post(f"{URL}/auth/v1/logout").mock(
            side_effect=lambda req: self._faulted("logout", req) or self._logout(req)
        )
        self.invite_route = router.post(f"{URL}/auth/v1/invite").mock(
            side_effect=lambda req: self._faulted("invite", req) or self._invite(req)
        )
        self.link_route = router.post(f"{URL}/auth/v1/admin/generate_link").mock(side_effect=self._generate_link)
        self.verify_route = router.post(f"{URL}/auth/v1/verify").mock(side_effect=self._verify)
        self.sign_in_links: dict[str, str] = {}  # hashed token -> e-mail (single use)
        self.rest_route = router.route(url__startswith=f"{URL}/rest/v1/").mock(
            side_effect=lambda req: self._faulted("rest", req) or self._rest(req)
        )

    # --- set-up helpers ---------------------------------------------------------------------

    def add_user(self, email: str, *roles: str, confirmed: bool = True, claims: dict | None = None) -> str:
        user_id = str(uuid.uuid4())
        self.accounts[email] = {"id": user_id, "confirmed": confirmed, "claims": claims or {},
                                "created_at": datetime.now(timezone.utc).isoformat(), "last_sign_in_at": None}
        self.user_roles += [(user_id, role) for role in roles]
        return user_id

    def roles_of(self, email: str) -> list[str]:
        user_id = self.accounts[email]["id"]
        return sorted(role for u, role in self.user_roles if u == user_id)

    def add_row(self, instance_id: str, *, status: str = "disconnected", age_minutes: int = 0, **columns) -> dict:
        stamp = (datetime.now(timezone.utc) - timedelta(minutes=age_minutes)).isoformat()
        row = DEFAULTS | {
            "id": str(uuid.uuid4()), "instance_id": instance_id, "token": f"tok-{instance_id}",
            "name": instance_id.title(), "status": status, "created_at": stamp, "updated_at": stamp,
            "status_changed_at": stamp, **columns,
        }
        self.rows.append(_keep_on_insert(row, stamp))
        return row

    def add_event(self, instance_id: str | None, kind: str, *, at: datetime | None = None, **columns) -> dict:
        """An event as the server would write it, at `at` (default now)."""
        event = {
            "id": next(self._event_ids), "instance_id": instance_id, "instance_name": "Instância", "kind": kind,
            "from_status": None, "to_status": None, "phone_number": None, "source": "monitor", "actor_id": None,
            "actor_email": None, "detail": None, "created_at": (at or datetime.now(timezone.utc)).isoformat(),
            **columns,
        }
        self.events.append(event)
        return event

    def fail(self, key: str, outcome, times: int | None = 1) -> None:
        """Serve `outcome` (a Response, or an exception class to raise) instead of the real answer,
        `times` times (None: always)."""
        self.faults[key] += [outcome] * (times or 100)

    def _faulted(self, key: str, request: httpx.Request):
        if not self.faults[key]:
            return None
        outcome = self.faults[key].pop(0)
        if isinstance(outcome, type) and issubclass(outcome, Exception):
            raise outcome("simulated failure", request=request)
        return outcome

    def token_of(self, email: str) -> str:
        """The newest access token issued to email."""
        return [t for t, c in self.access_tokens.items() if c["email"] == email][-1]

    def rest_requests(self, path: str = "") -> list[httpx.Request]:
        return [c.request for c in self.rest_route.calls if c.request.url.path.startswith(f"/rest/v1/{path}")]


@pytest.fixture
def clock(monkeypatch) -> Clock:
    clock = Clock()
    import supabase_auth._sync.gotrue_client as gotrue_client
    import postgrest._sync.request_builder as request_builder

    monkeypatch.setattr(gotrue_client, "time", SimpleNamespace(time=clock.time))
    # postgrest-py retries GETs on network errors after 1, 2, 4 s; don't wait in tests.
    monkeypatch.setattr(request_builder, "time", SimpleNamespace(sleep=lambda seconds: None))
    return clock


@pytest.fixture
def fake(clock):
    with respx.mock(assert_all_mocked=True, assert_all_called=False) as router:
        fake = FakeSupabase(router, clock)
        fake.admin_id = fake.add_user("admin@example.com", "admin")
        fake.add_user("analyst@example.com", "analyst")
        yield fake
