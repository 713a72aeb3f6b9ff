"""A throwaway Supabase-like database for the row-level security tests: the shim and the
migrations on a real PostgreSQL (tests.support.postgres), its users and instances, and API requests
replayed the way PostgREST runs them."""

from __future__ import annotations

import json
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest

from tests.support.postgres import PgServer

MIGRATIONS_DIR = Path(__file__).resolve().parents[2] / "supabase" / "migrations"
# Every file, in the order `supabase db push` applies them (by name).
MIGRATION_FILES = sorted(MIGRATIONS_DIR.glob("*.sql"))
MIGRATIONS = tuple(path.read_text() for path in MIGRATION_FILES)
INSTANCES_MIGRATION = (MIGRATIONS_DIR / "20261129000000_instances.sql").read_text()
STATUS_MONITOR_MIGRATION = (MIGRATIONS_DIR / "20261201000000_status_monitor.sql").read_text()
HISTORY_MIGRATION = (MIGRATIONS_DIR / "20261202000000_history.sql").read_text()
SHIM = (Path(__file__).resolve().parent / "supabase_shim.sql").read_text()

USERS = {
    "admin": "00000000-0000-4000-8000-00000000000a",
    "supervisor": "00000000-0000-4000-8000-00000000000b",
    "analyst": "00000000-0000-4000-8000-00000000000c",
    "norole": "00000000-0000-4000-8000-00000000000d",
}
INSTANCE_1 = "10000000-0000-4000-8000-000000000001"
INSTANCE_2 = "10000000-0000-4000-8000-000000000002"


class Db:
    """One database of the test server: superuser access and PostgREST-like requests."""

    def __init__(self, server: PgServer, name: str):
        self.server = server
        self.name = name
        with psycopg.connect(server.dsn(dbname="postgres"), autocommit=True) as conn:
            # C.UTF-8, as hosted Supabase projects: lower() folds non-ASCII letters such as 'Ç',
            # which it leaves alone under the test cluster's plain C locale.
            conn.execute(f"create database \"{name}\" template template0 locale 'C.UTF-8'")

    def script(self, sql: str) -> list[str]:
        """Run a multi-statement script as superuser in one transaction (like `supabase db push`);
        returns the notices it raised."""
        notices: list[str] = []
        with psycopg.connect(self.server.dsn(dbname=self.name)) as conn:
            conn.add_notice_handler(lambda diagnostic: notices.append(diagnostic.message_primary))
            conn.execute(sql)
        return notices

    def migrate(self) -> None:
        for sql in MIGRATIONS:
            self.script(sql)

    def query(self, sql: str, params: dict | None = None) -> list[tuple]:
        """Run one statement as superuser, commit, return its rows (if any)."""
        with psycopg.connect(self.server.dsn(dbname=self.name)) as conn:
            cur = conn.execute(sql, params)
            return cur.fetchall() if cur.description else []

    @contextmanager
    def api(self, persona: str, commit: bool = False):
        """A transaction run as PostgREST would for `persona` (anon, service_role or a USERS key);
        rolled back unless `commit`."""
        if persona in ("anon", "service_role"):
            role, claims = persona, {"role": persona}
        else:
            role, claims = "authenticated", {"sub": USERS[persona], "role": "authenticated", "email": email(persona)}
        with psycopg.connect(self.server.dsn(user="authenticator", dbname=self.name)) as conn:
            try:
                conn.execute(f"set local role {role}")
                conn.execute("select set_config('request.jwt.claims', %s, true)", (json.dumps(claims),))
                yield conn
                if commit:
                    conn.commit()
            finally:
                conn.rollback()


def email(persona: str) -> str:
    return f"{persona}@test"


def seed_users(db: Db) -> None:
    for key, uid in USERS.items():
        db.query("insert into auth.users (id, email) values (%(id)s, %(email)s)", {"id": uid, "email": email(key)})


def seed_instances(db: Db) -> None:
    db.query(
        """
        insert into public.instances (id, instance_id, token, name, status, created_by) values
            (%(i1)s, 'inst-1', 'tok-1', 'Vendas', 'connected', %(admin)s),
            (%(i2)s, 'inst-2', 'tok-2', 'Suporte', 'disconnected', %(admin)s)
        """,
        {"i1": INSTANCE_1, "i2": INSTANCE_2, "admin": USERS["admin"]},
    )


def grant_role(db: Db, persona: str) -> None:
    db.query(
        "insert into public.user_roles (user_id, role) values (%(id)s, %(role)s)",
        {"id": USERS[persona], "role": persona},
    )


def fresh_project(server: PgServer, name: str) -> Db:
    """A fresh Supabase project (the shim and every migration) with four users, three of them with
    the role of their name, and two instances."""
    db = Db(server, name)
    db.script(SHIM)
    db.migrate()
    seed_users(db)
    for persona in ("admin", "supervisor", "analyst"):
        grant_role(db, persona)
    seed_instances(db)
    return db


@pytest.fixture(scope="module")
def server(postgres):
    """The worker's PostgreSQL cluster (tests/conftest.py: using it marks the tests postgres)."""
    return postgres


def outcome(conn: psycopg.Connection, sql: str, params: dict | None = None, scalar: bool = False) -> tuple:
    """("rows", n) rows returned/affected, ("value", v) if scalar, ("error", sqlstate, message) on failure."""
    try:
        cur = conn.execute(sql, params)
    except psycopg.Error as exc:
        return ("error", exc.sqlstate, str(exc))
    if cur.description is None:
        return ("rows", cur.rowcount)
    rows = cur.fetchall()
    return ("value", rows[0][0]) if scalar else ("rows", len(rows))
