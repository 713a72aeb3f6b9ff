"""The InstanceStore over PostgREST that Supabase mode's two stores share, and the browser
session's: SupabaseInstanceStore, with the signed-in user's rights (row-level security decides)."""

from __future__ import annotations

import unicodedata
from abc import ABC, abstractmethod
from datetime import datetime, timezone
from typing import Any, Callable

from supabase import Client

from lib.details import validate_notes, validate_tags
from lib.errors import InstanceNotFound, PermissionDenied, StoreError
from lib.models import MAX_DISCONNECT_REASON, MAX_LAST_ERROR, USER_KINDS, Instance, InstanceEvent
from lib.names import name_key, validate_name
from lib.store.supabase.rows import EVENT_COLUMNS, INSTANCE_COLUMNS, event_from_row, instance_from_row, iso

# Runs the request a builder makes with a client and returns its data (or raises an AppError).
RunRequest = Callable[[Callable[[Client], Any]], Any]

# PostgREST answers at most max-rows rows per request (Supabase's default: 1000, under API settings):
# longer reads go page by page. Not more than the project's max-rows, or a full page looks like the last.
PAGE_SIZE = 1000


class PostgrestInstances(ABC):
    """InstanceStore over PostgREST. Subclasses say whose rights a request runs with, by how
    _execute runs it and maps its errors."""

    @abstractmethod
    def _execute(self, build_query: Callable[[Client], Any]) -> Any:
        """Run the request build_query(client) makes; return its data or raise an AppError."""

    def list_instances(self) -> list[Instance]:
        rows = self._execute(
            lambda c: c.table("instances").select(INSTANCE_COLUMNS).order("created_at", desc=True)
        )
        return [instance_from_row(row) for row in rows]

    def get_instance(self, id: str) -> Instance:
        rows = self._execute(lambda c: c.table("instances").select(INSTANCE_COLUMNS).eq("id", id))
        if not rows:
            raise InstanceNotFound()
        return instance_from_row(rows[0])

    def insert_instance(self, *, instance_id: str, token: str, name: str, created_by: str | None) -> Instance:
        name = unicodedata.normalize("NFC", name)
        row = {
            "instance_id": instance_id,
            "token": token,
            "name": name,
            "name_key": name_key(name),
            "status": "disconnected",
            "created_by": created_by,
        }
        # .select() makes PostgREST return only these columns (RETURNING <columns>), not the token.
        rows = self._execute(lambda c: c.table("instances").insert(row).select(INSTANCE_COLUMNS))
        if not rows:
            raise StoreError("A instância foi criada, mas não pôde ser lida. Atualize a lista.")
        return instance_from_row(rows[0])

    def update_status(
        self, id: str, *, status: str, phone_number: str | None, expected_status: str | None = None,
        keep_drop: bool = False,
    ) -> Instance:
        values = {"status": status, "phone_number": phone_number}
        if not keep_drop and status != "connecting":  # a reconnection of a dropped number is still that drop
            values |= {"dropped": False, "disconnect_reason": None}
        return self._update(id, values, expected_status)

    def record_check(self, id: str, *, status: str, phone_number: str | None, expected_status: str,
                     reason: str | None = None, event_at: int | None = None) -> Instance | None:
        values = {
            "status": status,
            "phone_number": phone_number,
            "last_checked_at": datetime.now(timezone.utc).isoformat(),
            "last_error": None,
            "check_failures": 0,
        }
        if expected_status == "connected" and status == "disconnected":  # the compare-and-set's "from"
            values["dropped"] = True
        if status == "connected":
            values |= {"dropped": False, "disconnect_reason": None}
        elif status == "disconnected" and reason and expected_status != "connecting":  # not a give-up's
            values["disconnect_reason"] = reason[:MAX_DISCONNECT_REASON]
        if event_at is not None:
            values["provider_event_at"] = event_at
        return self._update(id, values, expected_status, older_than=event_at, none_if_refused=True)

    def note_event_time(self, id: str, event_at: int) -> bool:
        rows = self._execute(lambda c: _older_than(
            c.table("instances").update({"provider_event_at": event_at}).eq("id", id), event_at
        ).select("id"))
        if not rows:
            self.get_instance(id)  # raises InstanceNotFound when the row is gone
        return bool(rows)

    def update_details(self, id: str, *, name: str, owner_id: str | None, tags: tuple[str, ...],
                       notes: str | None) -> Instance:
        name = validate_name(name)
        values = {"name": name, "name_key": name_key(name), "owner_id": owner_id,
                  "tags": list(validate_tags(tags)), "notes": validate_notes(notes)}
        rows = self._execute(
            lambda c: c.table("instances").update(values).eq("id", id).select(INSTANCE_COLUMNS)
        )
        if rows:
            return instance_from_row(rows[0])
        self.get_instance(id)  # raises InstanceNotFound when the row is gone; else RLS hid it
        raise PermissionDenied()

    def owner_emails(self) -> dict[str, str]:
        rows = self._execute(lambda c: c.rpc("instance_owner_emails", {}))
        return {row["user_id"]: row["email"] for row in rows or []}

    def mark_checked(self, ids: list[str]) -> None:
        if ids:
            self._execute(lambda c: c.rpc("mark_instances_checked", {"_ids": list(ids)}))

    def record_check_failure(self, id: str, *, error: str, max_failures: int) -> Instance:
        self._execute(lambda c: c.rpc(
            "record_instance_check_failure",
            {"_id": id, "_error": error[:MAX_LAST_ERROR], "_max_failures": max_failures},
        ))
        return self.get_instance(id)

    def delete_instance(self, id: str) -> None:
        rows = self._execute(lambda c: c.table("instances").delete().eq("id", id).select("id"))
        if not rows:
            raise InstanceNotFound()

    def instance_token(self, id: str) -> str:
        """The token; "" where the provider gives none (WAHA). None from the function: no such row."""
        token = self._execute(lambda c: c.rpc("instance_token", {"_id": id}))
        if not isinstance(token, str):
            raise InstanceNotFound()
        return token

    def version(self) -> str:
        return self._execute(lambda c: c.rpc("instances_version", {}))

    # -- history (supabase/migrations/20261202000000_history.sql) ---------------------------
    def add_event(self, event: InstanceEvent) -> InstanceEvent:
        row = self._event_row(event)
        rows = self._execute(lambda c: c.table("instance_events").insert(row).select(EVENT_COLUMNS))
        if not rows:
            raise StoreError("O evento foi gravado, mas não pôde ser lido.")
        return event_from_row(rows[0])

    def _event_row(self, event: InstanceEvent) -> dict:
        """What an insert sends: the event without its author and time. For a signed-in user the
        database sets them (auth.uid(), the token's email, now()) and refuses any other; the
        service writes only the signed-in user's own actions."""
        return {
            "instance_id": event.instance_id,
            "instance_name": event.instance_name,
            "kind": event.kind,
            "from_status": event.from_status,
            "to_status": event.to_status,
            "phone_number": event.phone_number,
            "source": event.source,
            "detail": event.detail,
        }

    def events(
        self,
        *,
        instance_ids: list[str] | None = None,
        kinds: list[str] | None = None,
        actor_emails: list[str] | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        after_id: int | None = None,
        limit: int | None = None,
        oldest_first: bool = False,
    ) -> list[InstanceEvent]:
        lists = {"instance_id": instance_ids, "kind": kinds, "actor_email": actor_emails}
        if any(values is not None and not values for values in lists.values()):
            return []  # an empty list matches nothing

        def build(c: Client):
            query = c.table("instance_events").select(EVENT_COLUMNS)
            for column, values in lists.items():
                if values is not None:
                    query = query.in_(column, values)
            if since is not None:
                query = query.gte("created_at", iso(since))
            if until is not None:
                query = query.lt("created_at", iso(until))
            if after_id is not None:
                query = query.gt("id", after_id)
            return query.order("created_at", desc=not oldest_first).order("id", desc=not oldest_first)

        return [event_from_row(row) for row in self._pages(build, limit)]

    def _pages(self, build: Callable[[Client], Any], limit: int | None) -> list[dict]:
        """The rows build(client) selects, `limit` at most (None: all), PAGE_SIZE per request
        until a short page. An event written meanwhile can shift the later pages by one, so a row
        may come twice: ids are unique, the second copy is dropped."""
        rows: dict[int, dict] = {}
        offset = 0
        while limit is None or len(rows) < limit:
            size = PAGE_SIZE if limit is None else min(PAGE_SIZE, limit - len(rows))
            page = self._execute(lambda c: build(c).range(offset, offset + size - 1))
            for row in page:
                rows.setdefault(row["id"], row)
            offset += len(page)
            if len(page) < size:
                break
        return list(rows.values())

    def status_before(self, instance_ids: list[str], at: datetime) -> dict[str, InstanceEvent]:
        """One request for any number of instances: instance_status_before() looks each one up
        in the index on (instance_id, created_at), under the caller's RLS."""
        if not instance_ids:
            return {}
        rows = self._execute(
            lambda c: c.rpc("instance_status_before", {"_ids": list(instance_ids), "_at": iso(at)})
        )
        return {row["instance_id"]: event_from_row(row) for row in rows}

    def _update(self, id: str, values: dict, expected_status: str | None, older_than: int | None = None,
                none_if_refused: bool = False) -> Instance | None:
        """PATCH one row (with expected_status, only while its status still is that; with
        older_than, only while its provider_event_at is older); returns the row as stored afterwards
        (None instead when the PATCH was refused and `none_if_refused`). Raises InstanceNotFound."""

        def build(c: Client):
            query = c.table("instances").update(values).eq("id", id)
            if expected_status is not None:
                query = query.eq("status", expected_status)
            if older_than is not None:
                query = _older_than(query, older_than)
            return query.select(INSTANCE_COLUMNS)

        rows = self._execute(build)
        if rows:
            return instance_from_row(rows[0])
        # Nothing updated: the status had already changed (compare-and-set) or the row is gone.
        current = self.get_instance(id)  # raises InstanceNotFound when gone
        return None if none_if_refused else current


def _older_than(query, event_at: int):
    """Only the rows whose last applied provider event is older than `event_at` (or none)."""
    return query.or_(f"provider_event_at.is.null,provider_event_at.lt.{int(event_at)}")


class SupabaseInstanceStore(PostgrestInstances):
    """InstanceStore over PostgREST with the rights of the session's user (RLS decides): its
    requests run through the session's `run` (SupabaseUserClient.store passes its own), which retries
    once after refreshing an expired token. The user writes only what users do to the history
    (USER_KINDS); what the provider said during the user's own check (a connection the connect
    dialog saw) goes through `system_events`, the server's, or is not written (logged)."""

    def __init__(self, run: RunRequest, system_events: Callable[[InstanceEvent], InstanceEvent] | None = None):
        self._run = run
        self._system_events = system_events

    def add_event(self, event: InstanceEvent) -> InstanceEvent:
        if event.kind in USER_KINDS:
            return super().add_event(event)
        if self._system_events is None:
            raise StoreError("Sem a chave de serviço do Supabase, o servidor não registra o que o provedor disse.")
        return self._system_events(event)

    def _execute(self, build_query: Callable[[Client], Any]) -> Any:
        return self._run(build_query)

