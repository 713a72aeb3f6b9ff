"""The embedded store: one SQLite file (WAL) under APP_DATA_DIR with instances and local users."""

from __future__ import annotations

import logging
import os
import sqlite3
import stat
import threading
import uuid
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Iterator

from lib.errors import InstanceNotFound, StoreError
from lib.models import Instance, InstanceEvent

log = logging.getLogger(__name__)

_NOW = "strftime('%Y-%m-%dT%H:%M:%f+00:00', 'now')"
SCHEMA = f"""
create table if not exists instances (
    id text primary key,
    instance_id text not null unique,
    token text not null,
    name text not null,
    phone_number text,
    status text not null default 'disconnected'
        check (status in ('disconnected', 'connecting', 'connected')),
    created_at text not null,
    updated_at text not null,
    created_by text
);
create table if not exists users (
    id text primary key,
    email text not null unique,
    password_hash text not null,
    role text not null check (role in ('admin', 'supervisor', 'analyst')),
    created_at text not null
);
"""
# Applied in order, each once (pragma user_version counts those applied), so a file made by an
# older version of the app is brought up to date when it is opened.
MIGRATIONS = (
    f"""
    create trigger if not exists instances_touch_updated_at
        after update of instance_id, token, name, phone_number, status on instances
        for each row begin
            update instances set updated_at = {_NOW} where id = new.id;
        end;
    """,
    f"""
    alter table instances add column last_checked_at text;
    alter table instances add column status_changed_at text;
    alter table instances add column last_phone_number text;
    alter table instances add column last_error text;
    alter table instances add column check_failures integer not null default 0;
    alter table instances add column dropped integer not null default 0;
    update instances set status_changed_at = updated_at, last_phone_number = phone_number;
    -- updated_at moves when what a user sees changes; a sweep that only marks rows checked does not move it
    drop trigger instances_touch_updated_at;
    create trigger instances_touch_updated_at
        after update on instances for each row
        when old.status is not new.status or old.phone_number is not new.phone_number
            or old.name is not new.name or old.instance_id is not new.instance_id or old.token is not new.token
            or old.last_error is not new.last_error or old.check_failures is not new.check_failures
        begin
            update instances set updated_at = {_NOW} where id = new.id;
        end;
    create trigger instances_status_changed
        after update of status on instances for each row when old.status is not new.status
        begin
            update instances set status_changed_at = {_NOW} where id = new.id;
        end;
    create trigger instances_keep_last_phone
        after update of phone_number on instances for each row when new.phone_number is not null
        begin
            update instances set last_phone_number = new.phone_number where id = new.id;
        end;
    create table monitor_lease (
        name text primary key,
        holder text not null,
        expires_at text not null
    );
    """,
    """
    create table instance_events (
        id integer primary key autoincrement,
        instance_id text,  -- null: an event of no instance (a test alert)
        instance_name text not null,
        kind text not null,
        from_status text,
        to_status text,
        phone_number text,
        source text not null check (source in ('user', 'monitor', 'provider_event')),
        actor_id text,
        actor_email text,
        detail text,
        created_at text not null
    );
    create index instance_events_by_instance on instance_events (instance_id, created_at);
    create index instance_events_by_time on instance_events (created_at);
    create trigger instance_events_append_only before update on instance_events
        begin select raise(abort, 'instance_events is append-only'); end;
    """,
    """
    alter table users add column active integer not null default 1;
    alter table users add column must_change_password integer not null default 0;
    alter table users add column last_login_at text;
    create table app_sessions (
        id_hash text primary key,  -- sha256 of the cookie's random id: the id itself is never stored
        user_id text not null,
        email text not null,
        created_at text not null,
        last_seen_at text not null,
        expires_at text not null,
        user_agent text,
        refresh_token text  -- Supabase mode: the user's refresh token, kept here, never in the cookie
    );
    create index app_sessions_by_user on app_sessions (user_id);
    """,
    """
    -- how the session was signed in: 'password' or 'sso' (an identity provider, through st.login)
    alter table app_sessions add column method text not null default 'password';
    -- the identity provider's sign-ins that started a session: each starts one, once (lib.auth.sso)
    create table sso_sign_ins (
        identity_hash text primary key,
        used_at text not null
    );
    """,
)

INSTANCE_COLUMNS = (
    "id, instance_id, name, phone_number, status, created_at, updated_at, created_by, "
    "last_checked_at, status_changed_at, last_phone_number, last_error, check_failures, dropped"
)
EVENT_COLUMNS = (
    "id, instance_id, instance_name, kind, from_status, to_status, phone_number, source, actor_id, actor_email,"
    " detail, created_at"
)
DB_FILENAME = "app.sqlite3"
LEASE_NAME = "status-monitor"


def utc_now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")


class SQLiteDatabase:
    """Opens short-lived connections to one file; safe to share between threads and sessions
    because it holds nothing but the path (and the process-wide change counter of that path)."""

    _changes: dict[Path, int] = {}  # committed writes to the instances, per file, in this process
    _changes_lock = threading.Lock()

    def __init__(self, path: Path):
        self.path = Path(path)
        _make_private(self.path)
        with self.connect() as conn:
            conn.execute("pragma journal_mode=wal")
            conn.executescript(SCHEMA)
            applied = conn.execute("pragma user_version").fetchone()[0]
            for number, script in enumerate(MIGRATIONS[applied:], start=applied + 1):
                conn.executescript(f"begin; {script}; pragma user_version = {number}; commit;")
        self._key = self.path.resolve()

    @classmethod
    def in_dir(cls, data_dir: Path) -> "SQLiteDatabase":
        return cls(Path(data_dir) / DB_FILENAME)

    @contextmanager
    def connect(self) -> Iterator[sqlite3.Connection]:
        """A connection in one transaction: committed on success, rolled back on error;
        every sqlite3 error becomes a StoreError with a user-safe message."""
        try:
            conn = sqlite3.connect(self.path, timeout=10)
        except sqlite3.Error as exc:
            raise StoreError("Não foi possível abrir o banco de dados local.") from exc
        conn.row_factory = sqlite3.Row
        try:
            with conn:
                yield conn
        except sqlite3.IntegrityError as exc:
            raise StoreError("O banco de dados recusou a gravação (registro duplicado ou inválido).") from exc
        except sqlite3.Error as exc:
            raise StoreError("Falha ao acessar o banco de dados local. Tente novamente.") from exc
        finally:
            conn.close()

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """connect() for a change to the instances: the file's change count in this process moves
        once the transaction is committed (see SQLiteInstanceStore.version)."""
        with self.connect() as conn:
            yield conn
        with self._changes_lock:
            self._changes[self._key] = self._changes.get(self._key, 0) + 1

    def changes(self) -> int:
        return self._changes.get(self._key, 0)


def _make_private(path: Path) -> None:
    """The file holds tokens and password hashes: folder 0700, file 0600 (its -wal and -shm files
    take the file's mode). Made so when new; tightened, with a log line, when found looser (not a
    shared folder such as /tmp, which has the sticky bit)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    if not path.exists():
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
    files = [path, *(path.with_name(path.name + suffix) for suffix in ("-wal", "-shm"))]
    for target, mode in ((path.parent, 0o700), *((f, 0o600) for f in files)):
        try:
            status = target.stat()
        except FileNotFoundError:
            continue
        current = status.st_mode & 0o777
        if current & ~mode and not status.st_mode & stat.S_ISVTX:
            target.chmod(mode)
            log.warning("permissions of %s tightened from %o to %o", target, current, mode)


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


class SQLiteInstanceStore:
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
        with self.db.write() as conn:
            conn.execute(
                "insert into instances (id, instance_id, token, name, status, created_at, updated_at, created_by,"
                " status_changed_at) values (?, ?, ?, ?, 'disconnected', ?, ?, ?, ?)",
                (new_id, instance_id, token, name, now, now, created_by, now),
            )
            return self._get(conn, new_id)

    def update_status(
        self, id: str, *, status: str, phone_number: str | None, expected_status: str | None = None
    ) -> Instance:
        with self.db.write() as conn:
            conn.execute(
                "update instances set status = ?, phone_number = ?, dropped = 0"
                " where id = ? and (? is null or status = ?)",
                (status, phone_number, id, expected_status, expected_status),
            )
            return self._get(conn, id)

    def record_check(self, id: str, *, status: str, phone_number: str | None, expected_status: str) -> Instance:
        with self.db.write() as conn:
            conn.execute(
                "update instances set status = ?, phone_number = ?, last_checked_at = ?, last_error = null,"
                " check_failures = 0, dropped = case when status = ? then dropped"
                " else (status = 'connected' and ? = 'disconnected') end"
                " where id = ? and status = ?",
                (status, phone_number, utc_now_iso(), status, status, id, expected_status),
            )
            return self._get(conn, id)

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

    # -- history (append-only) -------------------------------------------------------------
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
        deletion counts: see lib.history.sets_status)."""
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

    def release_lease(self, holder: str) -> None:
        with self.db.connect() as conn:
            conn.execute("delete from monitor_lease where name = ? and holder = ?", (LEASE_NAME, holder))

    @staticmethod
    def _get(conn: sqlite3.Connection, id: str) -> Instance:
        row = conn.execute(f"select {INSTANCE_COLUMNS} from instances where id = ?", (id,)).fetchone()
        if row is None:
            raise InstanceNotFound()
        return _instance(row)
