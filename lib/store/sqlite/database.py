"""The SQLite file and its schema: the tables and migrations, connections in one transaction each,
the process-wide change counter, and the private permissions of the file and its folder."""

from __future__ import annotations

import logging
import os
import sqlite3
import stat
import threading
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator

from lib.errors import StoreError, ValidationError
from lib.names import MSG_DUPLICATE_NAME, name_key

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
# The app's limits (lib.names, lib.details, lib.models), checked on every new value.
_OVER_LIMITS = """(length(new.name) > 60 or length(new.notes) > 500 or length(new.disconnect_reason) > 20
        or not json_valid(new.tags) or json_type(new.tags) is not 'array' or json_array_length(new.tags) > 10
        or exists (select 1 from json_each(new.tags) where type is not 'text' or length(value) not between 1 and 30))"""
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
    f"""
    alter table instances add column disconnect_reason text;
    alter table instances add column provider_event_at integer;
    alter table instances add column first_connected_at text;
    alter table instances add column owner_id text references users (id) on delete set null;
    alter table instances add column tags text not null default '[]';
    alter table instances add column notes text;
    alter table instances add column name_key text;
    update instances set first_connected_at = coalesce(
        (select min(e.created_at) from instance_events e where e.instance_id = instances.id and e.kind = 'connected'),
        case when status = 'connected' then status_changed_at end);
    -- Rows two old spellings of a name share a key with (NFC and NFD, a look-alike): the oldest keeps
    -- it, the others get their id after it until renamed, so the unique index can be built.
    update instances set name_key = app_name_key(name);
    update instances set name_key = name_key || ' #' || id where id in (select id from (
        select id, row_number() over (partition by name_key order by created_at, id) as nth from instances
    ) where nth > 1);
    create unique index instances_by_name_key on instances (name_key);
    create trigger instances_limits_on_insert before insert on instances when {_OVER_LIMITS}
        begin select raise(abort, 'instances: a value over its limit'); end;
    create trigger instances_limits_on_update before update of name, notes, tags, disconnect_reason on instances
        when {_OVER_LIMITS}
        begin select raise(abort, 'instances: a value over its limit'); end;
    create trigger instances_first_connected after update of status on instances
        for each row when new.status = 'connected' and new.first_connected_at is null
        begin
            update instances set first_connected_at = {_NOW} where id = new.id;
        end;
    drop trigger instances_touch_updated_at;
    create trigger instances_touch_updated_at
        after update on instances for each row
        when old.status is not new.status or old.phone_number is not new.phone_number
            or old.name is not new.name or old.instance_id is not new.instance_id or old.token is not new.token
            or old.last_error is not new.last_error or old.check_failures is not new.check_failures
            or old.disconnect_reason is not new.disconnect_reason or old.owner_id is not new.owner_id
            or old.tags is not new.tags or old.notes is not new.notes
        begin
            update instances set updated_at = {_NOW} where id = new.id;
        end;
    """,
    f"""
    -- When the number dropped: stamped when `dropped` turns on, kept while it stays on (a reconnection
    -- tried and given up on is still the same drop), cleared when it turns off.
    alter table instances add column dropped_at text;
    update instances set dropped_at = status_changed_at where dropped = 1;
    create trigger instances_dropped_at after update of dropped on instances
        for each row when new.dropped is not old.dropped
        begin
            update instances set dropped_at = case when new.dropped then {_NOW} end where id = new.id;
        end;
    """,
)

DB_FILENAME = "app.sqlite3"


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
            conn.create_function("app_name_key", 1, name_key, deterministic=True)  # for a migration's backfill
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
            conn.execute("pragma foreign_keys = on")  # an instance's owner: a user, or null once deleted
            with conn:
                yield conn
        except sqlite3.IntegrityError as exc:
            if "instances.name_key" in str(exc):
                raise ValidationError(MSG_DUPLICATE_NAME) from exc
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
