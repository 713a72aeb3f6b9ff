"""The instances' history in the SQLite file: append-only events (lib.history)."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timezone

from lib.models import InstanceEvent
from lib.store.sqlite.database import SQLiteDatabase, utc_now_iso

EVENT_COLUMNS = (
    "id, instance_id, instance_name, kind, from_status, to_status, phone_number, source, actor_id, actor_email,"
    " detail, created_at"
)


def _event(row: sqlite3.Row) -> InstanceEvent:
    return InstanceEvent(
        id=row["id"],
        instance_id=row["instance_id"],
        instance_name=row["instance_name"],
        kind=row["kind"],
        source=row["source"],
        from_status=row["from_status"],
        to_status=row["to_status"],
        phone_number=row["phone_number"],
        actor_id=row["actor_id"],
        actor_email=row["actor_email"],
        detail=row["detail"],
        created_at=datetime.fromisoformat(row["created_at"]),
    )


def _iso(value: datetime) -> str:
    return value.astimezone(timezone.utc).isoformat(timespec="microseconds")


class SQLiteHistory:
    """The history half of SQLiteInstanceStore (lib.store.base.InstanceStore's events)."""

    db: SQLiteDatabase

    def add_event(self, event: InstanceEvent) -> InstanceEvent:
        with self.db.write() as conn:  # a new event is a change the open screens follow
            cursor = conn.execute(
                "insert into instance_events (instance_id, instance_name, kind, from_status, to_status, phone_number,"
                " source, actor_id, actor_email, detail, created_at) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (event.instance_id, event.instance_name, event.kind, event.from_status, event.to_status,
                 event.phone_number, event.source, event.actor_id, event.actor_email, event.detail,
                 _iso(event.created_at) if event.created_at else utc_now_iso()),
            )
            row = conn.execute(f"select {EVENT_COLUMNS} from instance_events where id = ?", (cursor.lastrowid,)).fetchone()
        return _event(row)

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
        where, args = ["1 = 1"], []
        for column, values in (("instance_id", instance_ids), ("kind", kinds), ("actor_email", actor_emails)):
            if values is not None:
                where.append(f"{column} in ({', '.join('?' * len(values))})")
                args += list(values)
        if since is not None:
            where.append("created_at >= ?")
            args.append(_iso(since))
        if until is not None:
            where.append("created_at < ?")
            args.append(_iso(until))
        if after_id is not None:
            where.append("id > ?")
            args.append(after_id)
        order = "asc" if oldest_first else "desc"
        sql = f"select {EVENT_COLUMNS} from instance_events where {' and '.join(where)} order by created_at {order}, id {order}"
        if limit is not None:
            sql += f" limit {int(limit)}"
        with self.db.connect() as conn:
            return [_event(r) for r in conn.execute(sql, args).fetchall()]

    def status_before(self, instance_ids: list[str], at: datetime) -> dict[str, InstanceEvent]:
        """Per instance, its last event that set a status before `at` (what its status was then; a
        deletion counts: see lib.uptime.sets_status)."""
        if not instance_ids:
            return {}
        marks = ", ".join("?" * len(instance_ids))
        with self.db.connect() as conn:
            rows = conn.execute(
                f"select {EVENT_COLUMNS} from (select *, row_number() over"
                " (partition by instance_id order by created_at desc, id desc) as newest"
                f" from instance_events where instance_id in ({marks})"
                " and (to_status is not null or kind = 'deleted') and created_at < ?)"
                " where newest = 1",
                (*instance_ids, _iso(at)),
            ).fetchall()
        return {row["instance_id"]: _event(row) for row in rows}

    def last_event_id(self) -> int:
        with self.db.connect() as conn:
            return conn.execute("select coalesce(max(id), 0) from instance_events").fetchone()[0]

    def prune_events(self, before: datetime) -> int:
        with self.db.connect() as conn:
            return conn.execute("delete from instance_events where created_at < ?", (_iso(before),)).rowcount
