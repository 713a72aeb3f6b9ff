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

import base64
import csv
import itertools
import operator
import json
import time
import unicodedata
import uuid
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

import httpx
import pytest
import respx

from lib.config.settings import SupabaseSettings
from lib.history import KINDS, MAX_DETAIL
from lib.models import EVENT_SOURCES, ROLES, STATUSES

URL = "https://proj.supabase.co"
ANON_KEY = "anon-key-for-tests"
SERVICE_ROLE_KEY = "service-role-key-for-tests"
SETTINGS = SupabaseSettings(url=URL, anon_key=ANON_KEY)
SERVER_SETTINGS = SupabaseSettings(url=URL, anon_key=ANON_KEY, service_role_key=SERVICE_ROLE_KEY)
COLUMNS = {
    "id", "instance_id", "name", "phone_number", "status", "created_at", "updated_at", "created_by",
    "last_checked_at", "status_changed_at", "last_phone_number", "last_error", "check_failures", "dropped",
    "disconnect_reason", "provider_event_at", "first_connected_at", "owner_id", "tags", "notes", "name_key",
}
# A new row's columns before the insert's own (the migrations' defaults).
DEFAULTS = {
    "phone_number": None, "status": "disconnected", "created_by": None, "last_checked_at": None,
    "last_phone_number": None, "last_error": None, "check_failures": 0, "dropped": False, "disconnect_reason": None,
    "provider_event_at": None, "first_connected_at": None, "owner_id": None, "tags": [], "notes": None,
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
COMPARISONS = {"eq": operator.eq, "gt": operator.gt, "gte": operator.ge, "lt": operator.lt, "lte": operator.le}


def b64url(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def make_jwt(claims: dict) -> str:
    return f"{b64url({'alg': 'HS256', 'typ': 'JWT'})}.{b64url(claims)}.{b64url({'sig': 'unchecked'})}"


def pg_error(status: int, code: str, message: str) -> httpx.Response:
    return httpx.Response(status, json={"code": code, "details": None, "hint": None, "message": message})


class Clock:
    """Shared by the double and supabase-auth (patched in), so time can jump an hour ahead."""

    def __init__(self):
        self.offset = 0.0

    def time(self) -> float:
        return time.time() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += seconds


class FakeSupabase:
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

    def token_of(self, email: str) -> str:
        """The newest access token issued to email."""
        return [t for t, c in self.access_tokens.items() if c["email"] == email][-1]

    def rest_requests(self, path: str = "") -> list[httpx.Request]:
        return [c.request for c in self.rest_route.calls if c.request.url.path.startswith(f"/rest/v1/{path}")]

    # --- GoTrue -----------------------------------------------------------------------------

    def _faulted(self, key: str, request: httpx.Request):
        if not self.faults[key]:
            return None
        outcome = self.faults[key].pop(0)
        if isinstance(outcome, type) and issubclass(outcome, Exception):
            raise outcome("simulated failure", request=request)
        return outcome

    def _auth_error(self, code: str, message: str) -> httpx.Response:
        if self.error_shape == "modern":
            return httpx.Response(
                400, json={"code": code, "message": message}, headers={"X-Supabase-Api-Version": "2024-01-01"}
            )
        return httpx.Response(400, json={"error": "invalid_grant", "error_description": message})

    def _issue_session(self, email: str) -> httpx.Response:
        account = self.accounts[email]
        account["last_sign_in_at"] = datetime.now(timezone.utc).isoformat()
        now = int(self.clock.time())
        claims = {
            "sub": account["id"], "email": email, "aud": "authenticated", "role": "authenticated",
            "iat": now, "exp": now + 3600, "session_id": f"s{next(self._seq)}", **account["claims"],
        }
        access, refresh = make_jwt(claims), f"refresh-{next(self._seq)}"
        self.access_tokens[access] = claims
        self.refresh_tokens[refresh] = email
        user = {
            "id": account["id"], "aud": "authenticated", "role": "authenticated", "email": email,
            "app_metadata": {"provider": "email"}, "user_metadata": {},
            "created_at": "2026-11-01T10:00:00.000000Z",
        }
        return httpx.Response(200, json={
            "access_token": access, "token_type": "bearer", "expires_in": 3600,
            "expires_at": now + 3600, "refresh_token": refresh, "user": user,
        })

    def _password_grant(self, request: httpx.Request) -> httpx.Response:
        assert request.headers["apikey"] == ANON_KEY
        body = json.loads(request.content)
        account = self.accounts.get(body["email"])
        if account is None or body["password"] != PASSWORD:
            return self._auth_error("invalid_credentials", "Invalid login credentials")
        if not account["confirmed"]:
            return self._auth_error("email_not_confirmed", "Email not confirmed")
        return self._issue_session(body["email"])

    def _refresh_grant(self, request: httpx.Request) -> httpx.Response:
        email = self.refresh_tokens.pop(json.loads(request.content)["refresh_token"], None)  # single use
        if email is None:
            return self._auth_error("refresh_token_not_found", "Invalid Refresh Token: Refresh Token Not Found")
        return self._issue_session(email)

    def _invite(self, request: httpx.Request) -> httpx.Response:
        """GoTrue's POST /invite: admin (service-role key) only; a new, unconfirmed account."""
        if (request.headers["apikey"], request.headers.get("Authorization")) != (
                SERVICE_ROLE_KEY, f"Bearer {SERVICE_ROLE_KEY}"):
            return httpx.Response(403, json={"code": "not_admin", "message": "User not allowed"},
                                  headers={"X-Supabase-Api-Version": "2024-01-01"})
        email = (json.loads(request.content).get("email") or "").strip().lower()
        if "@" not in email:
            return httpx.Response(400, json={"code": "validation_failed",
                                             "message": "Unable to validate email address: invalid format"},
                                  headers={"X-Supabase-Api-Version": "2024-01-01"})
        existing = next((e for e in self.accounts if e.lower() == email), None)
        if existing is not None and self.accounts[existing]["confirmed"]:
            return httpx.Response(422, json={"code": "email_exists",
                                             "message": "A user with this email address has already been registered"},
                                  headers={"X-Supabase-Api-Version": "2024-01-01"})
        if existing is None:
            self.add_user(email, confirmed=False)
        self.invited.append(email)
        account = self.accounts[existing or email]
        return httpx.Response(200, json={
            "id": account["id"], "aud": "authenticated", "role": "authenticated", "email": email,
            "invited_at": datetime.now(timezone.utc).isoformat(), "app_metadata": {"provider": "email"},
            "user_metadata": {}, "created_at": account["created_at"],
        })

    def _generate_link(self, request: httpx.Request) -> httpx.Response:
        """GoTrue's admin/generate_link (magiclink): service-role key only; sends nothing."""
        if (request.headers["apikey"], request.headers.get("Authorization")) != (
                SERVICE_ROLE_KEY, f"Bearer {SERVICE_ROLE_KEY}"):
            return httpx.Response(403, json={"code": "not_admin", "message": "User not allowed"},
                                  headers={"X-Supabase-Api-Version": "2024-01-01"})
        body = json.loads(request.content)
        account = self._account_by_email(body.get("email"))
        if body.get("type") != "magiclink" or account is None:
            return httpx.Response(404, json={"code": "user_not_found", "message": "User not found"},
                                  headers={"X-Supabase-Api-Version": "2024-01-01"})
        email, details = account
        hashed = f"hashed-{next(self._seq)}"
        self.sign_in_links[hashed] = email
        return httpx.Response(200, json={
            "id": details["id"], "aud": "authenticated", "role": "authenticated", "email": email,
            "app_metadata": {"provider": "email"}, "user_metadata": {}, "created_at": details["created_at"],
            "action_link": f"{URL}/auth/v1/verify?token={hashed}&type=magiclink", "email_otp": "123456",
            "hashed_token": hashed, "redirect_to": URL, "verification_type": "magiclink",
        })

    def _verify(self, request: httpx.Request) -> httpx.Response:
        """GoTrue's verify with a token hash: the anon key; a link works once."""
        assert request.headers["apikey"] == ANON_KEY
        body = json.loads(request.content)
        email = self.sign_in_links.pop(body.get("token_hash"), None)
        if body.get("type") != "magiclink" or email is None:
            return httpx.Response(403, json={"code": "otp_expired", "message": "Email link is invalid or has expired"},
                                  headers={"X-Supabase-Api-Version": "2024-01-01"})
        return self._issue_session(email)

    def _logout(self, request: httpx.Request) -> httpx.Response:
        claims = self._claims(request)
        if not isinstance(claims, dict):
            return httpx.Response(401, json={"code": "bad_jwt", "message": "invalid JWT"})
        for token in [t for t, e in self.refresh_tokens.items() if e == claims["email"]]:
            del self.refresh_tokens[token]
        return httpx.Response(204)

    def _claims(self, request: httpx.Request) -> dict | None | httpx.Response:
        """Claims of the bearer token; None for the anon key; a 401 response when rejected."""
        apikey = request.headers["apikey"]
        assert apikey in (ANON_KEY, SERVICE_ROLE_KEY), "unknown apikey"
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        if token == apikey == ANON_KEY:
            return None
        if token == apikey == SERVICE_ROLE_KEY:
            return {"role": SERVICE_ROLE}
        claims = self.access_tokens.get(token)
        if claims is None:
            return pg_error(401, "PGRST301", "No suitable key or wrong key type")
        if claims["exp"] <= self.clock.time():
            return pg_error(401, "PGRST303", "JWT expired")
        return claims

    # --- PostgREST --------------------------------------------------------------------------

    def _rest(self, request: httpx.Request) -> httpx.Response:
        claims = self._claims(request)
        if isinstance(claims, httpx.Response):
            return claims
        uid = claims.get("sub") if claims else None
        held = {role for user_id, role in self.user_roles if user_id == uid}
        if claims and claims["role"] == SERVICE_ROLE:
            role = SERVICE_ROLE
        else:
            role = next((r for r in ROLES if r in held), None)
        path = request.url.path.removeprefix("/rest/v1/")
        if path == "user_roles":
            wanted = request.url.params.get("user_id", "").removeprefix("eq.")
            return httpx.Response(200, json=[{"role": r} for u, r in self.user_roles if u == uid == wanted])
        if path.startswith("rpc/"):
            return self._rpc(path.removeprefix("rpc/"), json.loads(request.content or b"{}"), claims, role)
        if path == "instances":
            return self._instances(request, role, uid)
        if path == "instance_events":
            return self._instance_events(request, claims, role)
        return pg_error(404, "PGRST205", "Could not find the table")

    def _find(self, id: str) -> dict | None:
        return next((r for r in self.rows if r["id"] == id), None)

    def _write(self, row: dict, changes: dict) -> None:
        """An UPDATE of one row, with the instances trigger (20261205000000_provider_and_fleet.sql)."""
        now = datetime.now(timezone.utc).isoformat()
        before = dict(row)
        row.update(changes)
        if any(row[c] != before[c] for c in USER_VISIBLE):
            row["updated_at"] = now
        if row["status"] != before["status"]:
            row["status_changed_at"] = now
        if before["first_connected_at"] is not None:
            row["first_connected_at"] = before["first_connected_at"]
        _keep_on_insert(row, now)

    def _rpc(self, function: str, args: dict, claims: dict | None, role: str | None) -> httpx.Response:
        """The migrations' functions, with their EXECUTE grants (anon: none; claim_monitor_lease:
        service role only) and their rights (invoker functions write only what RLS lets through)."""
        granted = {"claim_monitor_lease": {SERVICE_ROLE}, "release_monitor_lease": {SERVICE_ROLE},
                   "prune_instance_events": {SERVICE_ROLE}, "role_for_email": {SERVICE_ROLE}}.get(function)
        if function in USER_ADMIN_FUNCTIONS and role == SERVICE_ROLE:
            granted = set()  # signed-in users only
        if claims is None or (granted is not None and role not in granted):
            return pg_error(401 if claims is None else 403, "42501", f"permission denied for function {function}")
        if function in USER_ADMIN_FUNCTIONS or function == "role_for_email":
            return self._user_admin(function, args, role)
        writer = role in ("admin", SERVICE_ROLE)
        if function == "instance_token":
            if role != "admin":
                return pg_error(403, "42501", "only admins can read instance tokens")
            row = self._find(args["_id"])
            return httpx.Response(200, json=row["token"]) if row else pg_error(400, "P0002", "instance not found")
        if function == "instances_version":
            visible = self.rows if role else []
            sums = (sum(datetime.fromisoformat(r[c]).timestamp() for r in visible if r[c])
                    for c in ("updated_at", "last_checked_at"))
            newest = max((e["id"] for e in self.events if role), default=0)
            return httpx.Response(200, json=":".join(map(str, (len(visible), *sums, newest))))
        if function == "instance_owner_emails":
            owners = {r["owner_id"] for r in self.rows if role}
            return httpx.Response(200, json=[{"user_id": a["id"], "email": e} for e, a in self.accounts.items()
                                             if a["id"] in owners])
        if function == "instance_status_before":
            at, found = datetime.fromisoformat(args["_at"]), []
            for instance_id in dict.fromkeys(args["_ids"]):
                setting = [e for e in self.events if role and e["instance_id"] == instance_id
                           and (e["to_status"] is not None or e["kind"] == "deleted")
                           and datetime.fromisoformat(e["created_at"]) < at]
                found += [max(setting, key=lambda e: (datetime.fromisoformat(e["created_at"]), e["id"]))] if setting else []
            return httpx.Response(200, json=found)
        if function == "prune_instance_events":
            before = datetime.fromisoformat(args["_before"])
            kept = [e for e in self.events if datetime.fromisoformat(e["created_at"]) >= before]
            pruned, self.events = len(self.events) - len(kept), kept
            return httpx.Response(200, json=pruned)
        if function == "mark_instances_checked":
            now = datetime.now(timezone.utc).isoformat()
            for row in [r for r in self.rows if writer and r["id"] in args["_ids"]]:
                self._write(row, {"last_checked_at": now, "last_error": None, "check_failures": 0})
            return httpx.Response(204)
        if function == "record_instance_check_failure":
            row, error, cap = self._find(args["_id"]), args["_error"], args["_max_failures"]
            if writer and row and (row["check_failures"] < cap or row["last_error"] != error):
                self._write(row, {"last_error": error, "check_failures": min(row["check_failures"] + 1, cap)})
            return httpx.Response(204)
        if function == "claim_monitor_lease":
            now = self.clock.time()
            if self.lease is None or self.lease[0] == args["holder"] or self.lease[1] <= now:
                self.lease = (args["holder"], now + args["ttl_seconds"])
            return httpx.Response(200, json=self.lease[0] == args["holder"])
        if function == "release_monitor_lease":
            if self.lease is not None and self.lease[0] == args["holder"]:
                self.lease = None
            return httpx.Response(204)
        return pg_error(404, "PGRST202", f"Could not find the function public.{function}")

    def _account_by_email(self, email: str | None) -> tuple[str, dict] | None:
        wanted = (email or "").strip().lower()
        return next(((e, a) for e, a in self.accounts.items() if e.lower() == wanted), None)

    def _user_admin(self, function: str, args: dict, role: str | None) -> httpx.Response:
        """The user-admin migration's functions (EXECUTE already checked by _rpc)."""
        def best(user_id: str) -> str | None:
            held = {r for u, r in self.user_roles if u == user_id}
            return next((r for r in ROLES if r in held), None)

        def last_admin(user_id: str) -> bool:
            admins = {u for u, r in self.user_roles if r == "admin"}
            return admins == {user_id}

        if function == "role_for_email":
            found = self._account_by_email(args["_email"])
            return httpx.Response(200, json=[{"user_id": found[1]["id"], "role": best(found[1]["id"])}] if found else [])
        if role != "admin":
            return pg_error(403, "42501", "only admins can manage users")
        if function == "admin_list_role_holders":
            holders = [
                {"user_id": a["id"], "email": e, "role": best(a["id"]), "created_at": a["created_at"],
                 "last_sign_in_at": a["last_sign_in_at"]}
                for e, a in sorted(self.accounts.items(), key=lambda item: item[0].lower()) if best(a["id"])
            ]
            return httpx.Response(200, json=holders)
        if function == "admin_find_user":
            found = self._account_by_email(args["_email"])
            return httpx.Response(200, json=[{"user_id": found[1]["id"], "email": found[0]}] if found else [])
        if function == "admin_grant_role":
            if args.get("_role") not in ROLES:
                return pg_error(400, "22023", f"unknown role {args.get('_role')}")
            found = self._account_by_email(args["_email"])
            if found is None:
                return pg_error(500, "P0002", f"no Supabase Auth user has the e-mail {args['_email']}")
            user_id = found[1]["id"]
            if args["_role"] != "admin" and last_admin(user_id):
                return pg_error(400, LAST_ADMIN_CODE, "the last admin cannot lose the admin role")
            self.user_roles = [(u, r) for u, r in self.user_roles if u != user_id] + [(user_id, args["_role"])]
            return httpx.Response(200, json=user_id)
        if function == "admin_revoke_role":
            if last_admin(args["_user_id"]):
                return pg_error(400, LAST_ADMIN_CODE, "the last admin cannot lose the admin role")
            self.user_roles = [(u, r) for u, r in self.user_roles if u != args["_user_id"]]
            return httpx.Response(204)
        raise AssertionError(function)

    def _instances(self, request: httpx.Request, role: str | None, uid: str | None) -> httpx.Response:
        params = request.url.params
        select = params.get("select", "*")
        columns = select.split(",")
        if "*" in columns or ("token" in columns and role != SERVICE_ROLE):
            return pg_error(403, "42501", "permission denied for table instances")
        if not set(columns) <= COLUMNS | {"token"}:
            return pg_error(400, "42703", "column does not exist")
        filters = [(k, v) for k, v in params.multi_items() if k not in ("select", "order")]
        visible = [r for r in self.rows if role is not None]
        matching = [r for r in visible if all(_matches(r, k, v) for k, v in filters)]
        now = datetime.now(timezone.utc).isoformat()
        if request.method == "GET":
            result = sorted(matching, key=lambda r: r["created_at"], reverse=params.get("order") == "created_at.desc")
        elif role not in ("admin", SERVICE_ROLE) and request.method in ("POST", "PATCH", "DELETE"):
            if request.method == "POST":
                return pg_error(403, "42501", 'new row violates row-level security policy for table "instances"')
            result = []  # RLS hides the rows from UPDATE / DELETE
        elif request.method == "POST":
            body = json.loads(request.content)
            row = _keep_on_insert(DEFAULTS | {"id": str(uuid.uuid4()), "created_at": now, "updated_at": now,
                                              "status_changed_at": now} | body, now)
            refused = self._refused(row, None)
            if refused:
                return refused
            self.rows.append(row)
            result = [row]
        elif request.method == "PATCH":
            changes = json.loads(request.content)
            if role != SERVICE_ROLE and not set(changes) <= UPDATABLE:
                return pg_error(403, "42501", "permission denied for table instances")
            for row in matching:
                refused = self._refused(row | changes, row)
                if refused:
                    return refused
                self._write(row, changes)
            result = matching
        elif request.method == "DELETE":
            self.rows = [r for r in self.rows if r not in matching]
            result = matching
        else:
            return pg_error(405, "PGRST117", "Unsupported HTTP method")
        if "return=representation" not in request.headers.get("Prefer", "return=representation"):
            return httpx.Response(201 if request.method == "POST" else 204)
        return httpx.Response(201 if request.method == "POST" else 200,
                              json=[{c: r[c] for c in columns} for r in result])

    def _refused(self, row: dict, before: dict | None) -> httpx.Response | None:
        """The unique indexes and the owner's foreign key, for a row as it would be written."""
        others = [r for r in self.rows if r is not before]
        if any(r["instance_id"] == row["instance_id"] for r in others):
            return pg_error(409, "23505", 'duplicate key value violates unique constraint "instances_instance_id_key"')
        if any(r["name"].lower() == row["name"].lower() for r in others):
            return pg_error(409, "23505", 'duplicate key value violates unique constraint "instances_lower_name_key"')
        if any(r["name_key"] == row["name_key"] for r in others):
            return pg_error(409, "23505", 'duplicate key value violates unique constraint "instances_name_key_key"')
        if row["owner_id"] is not None and row["owner_id"] not in {a["id"] for a in self.accounts.values()}:
            return pg_error(409, "23503", 'insert or update on table "instances" violates foreign key constraint'
                                          ' "instances_owner_id_fkey"')
        return None

    def _instance_events(self, request: httpx.Request, claims: dict | None, role: str | None) -> httpx.Response:
        """instance_events under the history migration's grants and policies."""
        denied = pg_error(401 if claims is None else 403, "42501", "permission denied for table instance_events")
        if claims is None:
            return denied  # anon has no privilege at all
        params = request.url.params
        columns = params.get("select", "*").split(",")
        columns = list(EVENT_COLUMNS) if columns == ["*"] else columns
        filters = [(k, v) for k, v in params.multi_items() if k not in ("select", "order", "offset", "limit")]
        if not {*columns, *(k for k, _ in filters)} <= set(EVENT_COLUMNS):
            return pg_error(400, "42703", "column does not exist")
        matching = [e for e in self.events if role and all(_matches(e, k, v) for k, v in filters)]
        if request.method == "GET":
            result = _ordered(matching, params.get("order"))
            offset, limit = int(params.get("offset", 0)), min(int(params.get("limit", self.max_rows)), self.max_rows)
            result = result[offset:offset + limit]
        elif request.method == "POST":
            event = self._new_event(json.loads(request.content), claims, role)
            if isinstance(event, httpx.Response):
                return event
            self.events.append(event)
            result = [event]
        elif request.method == "DELETE" and role == SERVICE_ROLE:
            self.events = [e for e in self.events if e not in matching]
            result = matching
        else:
            return denied  # no UPDATE for anyone, DELETE for the service role only
        return httpx.Response(201 if request.method == "POST" else 200,
                              json=[{c: e[c] for c in columns} for e in result])

    def _new_event(self, body: dict, claims: dict, role: str | None) -> dict | httpx.Response:
        if "id" in body:
            return pg_error(400, "428C9", 'cannot insert a non-DEFAULT value into column "id"')
        if role != SERVICE_ROLE:
            if not set(body) <= EVENT_INSERTABLE:
                return pg_error(403, "42501", "permission denied for table instance_events")
            body = {"actor_id": claims["sub"], "actor_email": claims.get("email")} | body
            if (role != "admin" or (body["actor_id"], body["actor_email"]) != (claims["sub"], claims.get("email"))
                    or body.get("kind") not in USER_KINDS or body.get("source") != "user"):
                return pg_error(403, "42501", 'new row violates row-level security policy for table "instance_events"')
        if (body.get("kind") not in KINDS or body.get("source") not in EVENT_SOURCES
                or not {body.get("from_status"), body.get("to_status")} <= {None, *STATUSES}
                or len(body.get("detail") or "") > MAX_DETAIL):
            return pg_error(400, "23514", 'new row for relation "instance_events" violates check constraint')
        event = {c: None for c in EVENT_COLUMNS} | body
        event["id"] = next(self._event_ids)
        event["created_at"] = body.get("created_at") or datetime.now(timezone.utc).isoformat()
        return event


def _keep_on_insert(row: dict, now: str) -> dict:
    """What the instances trigger keeps on any write: first_connected_at, last_phone_number, and
    name_key when the writer sent none (lower(normalize(name, NFC)))."""
    if row["status"] == "connected" and row["first_connected_at"] is None:
        row["first_connected_at"] = now
    if row["phone_number"] is not None:
        row["last_phone_number"] = row["phone_number"]
    if row.get("name_key") is None:
        row["name_key"] = unicodedata.normalize("NFC", row["name"]).lower()
    return row


def _comparable(column: str, value):
    if column == "created_at":
        return datetime.fromisoformat(value)
    numeric = column == "provider_event_at" or (column == "id" and str(value).isdigit())  # events' ids are numbers
    return int(value) if numeric else str(value)


def _matches(row: dict, column: str, expression: str) -> bool:
    """One PostgREST filter (`eq.x`, `in.(a,"b,c")`, `gt.x`, `is.null`, ...) on one row; `or` with
    its filters in parentheses (`or=(a.is.null,a.lt.5)`)."""
    if column == "or":
        return any(_matches(row, *term.split(".", 1)) for term in expression[1:-1].split(","))
    op, _, value = expression.partition(".")
    if op == "is":
        return row[column] is None if value == "null" else str(row[column]).lower() == value
    if row[column] is None:
        return False
    if op == "in":
        return str(row[column]) in next(csv.reader([value[1:-1]], escapechar="\\", doublequote=False))
    return COMPARISONS[op](_comparable(column, row[column]), _comparable(column, value))


def _ordered(rows: list[dict], order: str | None) -> list[dict]:
    """Sorted by PostgREST's `order` (e.g. created_at.desc,id.desc)."""
    for term in reversed(order.split(",") if order else []):
        column, _, direction = term.partition(".")
        rows = sorted(rows, key=lambda r: _comparable(column, r[column]), reverse=direction == "desc")
    return rows


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
