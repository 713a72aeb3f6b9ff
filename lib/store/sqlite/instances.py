"""The instances in the SQLite file: their rows and the status monitor's lease; their history
events are SQLiteHistory's (lib.store.sqlite.history)."""

from __future__ import annotations

import json
import sqlite3
import unicodedata
import uuid
from datetime import datetime, timedelta, timezone

from lib.details import MSG_UNKNOWN_OWNER, validate_notes, validate_tags
from lib.errors import InstanceNotFound, ValidationError
from lib.models import MAX_DISCONNECT_REASON, MAX_LAST_ERROR, Instance
from lib.names import name_key, validate_name
from lib.store.sqlite.database import SQLiteDatabase, utc_now_iso
from lib.store.sqlite.history import SQLiteHistory

INSTANCE_COLUMNS = (
    "id, instance_id, name, phone_number, status, created_at, updated_at, created_by, "
    "last_checked_at, status_changed_at, last_phone_number, last_error, check_failures, dropped, "
    "disconnect_reason, provider_event_at, first_connected_at, owner_id, tags, notes, name_key, dropped_at"
)
LEASE_NAME = "status-monitor"


def _time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _instance(row: sqlite3.Row) -> Instance:
    return Instance(
        id=row["id"],
        instance_id=row["instance_id"],
        name=row["name"],
        phone_number=row["phone_number"],
        status=row["status"],
        created_at=datetime.fromisoformat(row["created_at"]),
        updated_at=datetime.fromisoformat(row["updated_at"]),
        created_by=row["created_by"],
        last_checked_at=_time(row["last_checked_at"]),
        status_changed_at=_time(row["status_changed_at"]),
        last_phone_number=row["last_phone_number"],
        last_error=row["last_error"],
        check_failures=row["check_failures"],
        dropped=bool(row["dropped"]),
        disconnect_reason=row["disconnect_reason"],
        provider_event_at=row["provider_event_at"],
        first_connected_at=_time(row["first_connected_at"]),
        owner_id=row["owner_id"],
        tags=tuple(json.loads(row["tags"])),
        notes=row["notes"],
        name_key=row["name_key"],
        dropped_at=_time(row["dropped_at"]),
    )


class SQLiteInstanceStore(SQLiteHistory):
    """Both the sessions' store and the server's (monitor, provider events): one process owns the
    file, so there are no rights to tell apart."""

    def __init__(self, db: SQLiteDatabase):
        self.db = db

    def list_instances(self) -> list[Instance]:
        with self.db.connect() as conn:
            rows = conn.execute(f"select {INSTANCE_COLUMNS} from instances order by created_at desc").fetchall()
        return [_instance(r) for r in rows]

    def instances_with_tokens(self) -> list[tuple[Instance, str]]:
        with self.db.connect() as conn:
            rows = conn.execute(f"select {INSTANCE_COLUMNS}, token from instances order by created_at desc").fetchall()
        return [(_instance(r), r["token"]) for r in rows]

    def get_instance(self, id: str) -> Instance:
        with self.db.connect() as conn:
            return self._get(conn, id)

    def find_by_instance_id(self, instance_id: str) -> Instance | None:
        with self.db.connect() as conn:
            row = conn.execute(f"select {INSTANCE_COLUMNS} from instances where instance_id = ?", (instance_id,)).fetchone()
        return _instance(row) if row else None

    def insert_instance(self, *, instance_id: str, token: str, name: str, created_by: str | None) -> Instance:
        now = utc_now_iso()
        new_id = str(uuid.uuid4())
        name = unicodedata.normalize("NFC", name)
        with self.db.write() as conn:
            conn.execute(
                "insert into instances (id, instance_id, token, name, name_key, status, created_at, updated_at,"
                " created_by, status_changed_at) values (?, ?, ?, ?, ?, 'disconnected', ?, ?, ?, ?)",
                (new_id, instance_id, token, name, name_key(name), now, now, created_by, now),
            )
            return self._get(conn, new_id)

    def update_status(
        self, id: str, *, status: str, phone_number: str | None, expected_status: str | None = None,
        keep_drop: bool = False,
    ) -> Instance:
        with self.db.write() as conn:
            conn.execute(
                "update instances set status = :status, phone_number = :phone,"
                " dropped = case when :keep then dropped else 0 end,"
                " disconnect_reason = case when :keep then disconnect_reason end"
                " where id = :id and (:expected is null or status = :expected)",
                {"status": status, "phone": phone_number, "id": id, "expected": expected_status,
                 "keep": keep_drop or status == "connecting"},
            )
            return self._get(conn, id)

    def record_check(self, id: str, *, status: str, phone_number: str | None, expected_status: str,
                     reason: str | None = None, event_at: int | None = None) -> Instance | None:
        with self.db.write() as conn:
            applied = conn.execute(
                "update instances set status = :status, phone_number = :phone, last_checked_at = :now,"
                " last_error = null, check_failures = 0,"
                " dropped = case when :status = 'connected' then 0"
                " when status = 'connected' and :status = 'disconnected' then 1 else dropped end,"
                " disconnect_reason = case when :status = 'connected' then null"
                " when :status = 'disconnected' and :reason is not null and status <> 'connecting' then :reason"
                " else disconnect_reason end,"
                " provider_event_at = coalesce(:event_at, provider_event_at)"
                " where id = :id and status = :expected"
                " and (:event_at is null or provider_event_at is null or provider_event_at < :event_at)",
                {"status": status, "phone": phone_number, "now": utc_now_iso(), "id": id, "expected": expected_status,
                 "reason": reason[:MAX_DISCONNECT_REASON] if reason else None, "event_at": event_at},
            ).rowcount == 1
            row = self._get(conn, id)  # raises InstanceNotFound when the row is gone
            return row if applied else None

    def note_event_time(self, id: str, event_at: int) -> bool:
        with self.db.connect() as conn:  # not a change anyone sees: the open screens need not refresh
            newer = conn.execute(
                "update instances set provider_event_at = ?"
                " where id = ? and (provider_event_at is null or provider_event_at < ?)",
                (event_at, id, event_at),
            ).rowcount == 1
            if not newer:
                self._get(conn, id)  # raises InstanceNotFound when the row is gone
        return newer

    def update_details(self, id: str, *, name: str, owner_id: str | None, tags: tuple[str, ...],
                       notes: str | None) -> Instance:
        name, tags, notes = validate_name(name), validate_tags(tags), validate_notes(notes)
        with self.db.write() as conn:
            if owner_id is not None and not conn.execute("select 1 from users where id = ?", (owner_id,)).fetchone():
                raise ValidationError(MSG_UNKNOWN_OWNER)
            cursor = conn.execute(
                "update instances set name = ?, name_key = ?, owner_id = ?, tags = ?, notes = ? where id = ?",
                (name, name_key(name), owner_id, json.dumps(list(tags), ensure_ascii=False), notes, id),
            )
            if cursor.rowcount == 0:
                raise InstanceNotFound()
            return self._get(conn, id)

    def owner_emails(self) -> dict[str, str]:
        with self.db.connect() as conn:
            rows = conn.execute(
                "select distinct u.id, u.email from instances i join users u on u.id = i.owner_id"
            ).fetchall()
        return {row["id"]: row["email"] for row in rows}

    def mark_checked(self, ids: list[str]) -> None:
        if not ids:
            return
        with self.db.write() as conn:
            conn.execute("create temp table checked (id text primary key)")
            conn.executemany("insert or ignore into checked values (?)", ((i,) for i in ids))
            conn.execute("update instances set last_checked_at = ? where id in (select id from checked)",
                         (utc_now_iso(),))
            conn.execute(
                "update instances set last_error = null, check_failures = 0"
                " where id in (select id from checked) and (last_error is not null or check_failures > 0)"
            )

    def record_check_failure(self, id: str, *, error: str, max_failures: int) -> Instance:
        error = error[:MAX_LAST_ERROR]
        with self.db.write() as conn:
            conn.execute(
                "update instances set last_error = ?, check_failures = min(check_failures + 1, ?)"
                " where id = ? and (check_failures < ? or last_error is not ?)",
                (error, max_failures, id, max_failures, error),
            )
            return self._get(conn, id)

    def delete_instance(self, id: str) -> None:
        with self.db.write() as conn:
            if conn.execute("delete from instances where id = ?", (id,)).rowcount == 0:
                raise InstanceNotFound()

    def instance_token(self, id: str) -> str:
        with self.db.connect() as conn:
            row = conn.execute("select token from instances where id = ?", (id,)).fetchone()
        if row is None:
            raise InstanceNotFound()
        return row["token"]

    def version(self) -> int:
        """The process-wide count of writes to this file: every write goes through this process
        (the sessions, the monitor and the event endpoint all live in it), so asking costs no query."""
        return self.db.changes()

    def claim_lease(self, holder: str, ttl_seconds: int) -> bool:
        now = datetime.now(timezone.utc)
        expires = (now + timedelta(seconds=ttl_seconds)).isoformat(timespec="microseconds")
        with self.db.connect() as conn:
            conn.execute(
                "insert into monitor_lease (name, holder, expires_at) values (?, ?, ?)"
                " on conflict (name) do update set holder = excluded.holder, expires_at = excluded.expires_at"
                " where monitor_lease.holder = excluded.holder or monitor_lease.expires_at < ?",
                (LEASE_NAME, holder, expires, now.isoformat(timespec="microseconds")),
            )
            row = conn.execute("select holder from monitor_lease where name = ?", (LEASE_NAME,)).fetchone()
        return row is not None and row["holder"] == holder

    def release_lease(self, holder: str) -> None:
        with self.db.connect() as conn:
            conn.execute("delete from monitor_lease where name = ? and holder = ?", (LEASE_NAME, holder))

    @staticmethod
    def _get(conn: sqlite3.Connection, id: str) -> Instance:
        row = conn.execute(f"select {INSTANCE_COLUMNS} from instances where id = ?", (id,)).fetchone()
        if row is None:
            raise InstanceNotFound()
        return _instance(row)
