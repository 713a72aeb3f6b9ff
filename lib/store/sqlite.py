"""The embedded store: one SQLite file (WAL) under APP_DATA_DIR with instances and local users."""

from __future__ import annotations

import sqlite3
import uuid
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator

from lib.errors import InstanceNotFound, StoreError
from lib.models import Instance

SCHEMA = """
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
create trigger if not exists instances_touch_updated_at
    after update of instance_id, token, name, phone_number, status on instances
    for each row begin
        update instances set updated_at = strftime('%Y-%m-%dT%H:%M:%f+00:00', 'now') where id = new.id;
    end;
create table if not exists users (
    id text primary key,
    email text not null unique,
    password_hash text not null,
    role text not null check (role in ('admin', 'supervisor', 'analyst')),
    created_at text not null
);
"""

INSTANCE_COLUMNS = "id, instance_id, name, phone_number, status, created_at, updated_at, created_by"
DB_FILENAME = "app.sqlite3"


def utc_now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")


class SQLiteDatabase:
    """Opens short-lived connections to one file; safe to share between threads and sessions
    because it holds nothing but the path."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.connect() as conn:
            conn.execute("pragma journal_mode=wal")
            conn.executescript(SCHEMA)

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
    )


class SQLiteInstanceStore:
    def __init__(self, db: SQLiteDatabase):
        self.db = db

    def list_instances(self) -> list[Instance]:
        with self.db.connect() as conn:
            rows = conn.execute(f"select {INSTANCE_COLUMNS} from instances order by created_at desc").fetchall()
        return [_instance(r) for r in rows]

    def get_instance(self, id: str) -> Instance:
        with self.db.connect() as conn:
            return self._get(conn, id)

    def insert_instance(self, *, instance_id: str, token: str, name: str, created_by: str | None) -> Instance:
        now = utc_now_iso()
        new_id = str(uuid.uuid4())
        with self.db.connect() as conn:
            conn.execute(
                "insert into instances (id, instance_id, token, name, status, created_at, updated_at, created_by)"
                " values (?, ?, ?, ?, 'disconnected', ?, ?, ?)",
                (new_id, instance_id, token, name, now, now, created_by),
            )
            return self._get(conn, new_id)

    def update_status(
        self, id: str, *, status: str, phone_number: str | None, expected_status: str | None = None
    ) -> Instance:
        with self.db.connect() as conn:
            conn.execute(
                "update instances set status = ?, phone_number = ?"
                " where id = ? and (? is null or status = ?)",
                (status, phone_number, id, expected_status, expected_status),
            )
            return self._get(conn, id)

    def delete_instance(self, id: str) -> None:
        with self.db.connect() as conn:
            if conn.execute("delete from instances where id = ?", (id,)).rowcount == 0:
                raise InstanceNotFound()

    def instance_token(self, id: str) -> str:
        with self.db.connect() as conn:
            row = conn.execute("select token from instances where id = ?", (id,)).fetchone()
        if row is None:
            raise InstanceNotFound()
        return row["token"]

    @staticmethod
    def _get(conn: sqlite3.Connection, id: str) -> Instance:
        row = conn.execute(f"select {INSTANCE_COLUMNS} from instances where id = ?", (id,)).fetchone()
        if row is None:
            raise InstanceNotFound()
        return _instance(row)
