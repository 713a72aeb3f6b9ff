"""The PostgREST half of the Supabase double: the instances and instance_events tables and the
migrations' functions, under their row-level security and grants. Methods of
tests.support.supabase_double's FakeSupabase, which holds the state (rows, events, roles, lease)."""

from __future__ import annotations

import csv
import json
import operator
import unicodedata
import uuid
from datetime import datetime, timezone

import httpx

from lib.history import KINDS, MAX_DETAIL
from lib.models import EVENT_SOURCES, ROLES, STATUSES
from tests.support.supabase_rules import (
    COLUMNS, DEFAULTS, EVENT_COLUMNS, EVENT_INSERTABLE, LAST_ADMIN_CODE, SERVICE_ROLE, UPDATABLE,
    USER_ADMIN_FUNCTIONS, USER_KINDS, USER_VISIBLE, pg_error,
)

COMPARISONS = {"eq": operator.eq, "gt": operator.gt, "gte": operator.ge, "lt": operator.lt, "lte": operator.le}


class PostgRESTDouble:
    """PostgREST's answers (FakeSupabase's route under /rest/v1/)."""

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
        """An UPDATE of one row, with the instances triggers (20261205000000_provider_and_fleet.sql,
        20261206000000_drop_time.sql)."""
        now = datetime.now(timezone.utc).isoformat()
        before = dict(row)
        row.update(changes)
        if any(row[c] != before[c] for c in USER_VISIBLE):
            row["updated_at"] = now
        if row["status"] != before["status"]:
            row["status_changed_at"] = now
        if before["first_connected_at"] is not None:
            row["first_connected_at"] = before["first_connected_at"]
        row["dropped_at"] = before["dropped_at"] if row["dropped"] and before["dropped"] else None
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
    """What the instances triggers keep on any write: first_connected_at, last_phone_number, a
    dropped_at for a row just dropped, and name_key when the writer sent none (lower(normalize(name,
    NFC)))."""
    if row["status"] == "connected" and row["first_connected_at"] is None:
        row["first_connected_at"] = now
    if row["dropped"] and row.get("dropped_at") is None:
        row["dropped_at"] = now
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
