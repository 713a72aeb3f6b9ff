"""When a number dropped, on a real PostgreSQL 15 (20261206000000_drop_time.sql): every role reads
dropped_at, nobody writes it, and the trigger keeps it through a reconnection given up on. Each
test here fails on the earlier migrations alone."""

from __future__ import annotations

import pytest

from tests.support.rls import (  # noqa: F401 - server is a fixture
    INSTANCE_1, MIGRATION_FILES, SHIM, Db, fresh_project, outcome, server,
)

THIS_MIGRATION = "20261206000000_drop_time.sql"


@pytest.fixture(scope="module")
def db(server) -> Db:
    return fresh_project(server, "drop_time")


@pytest.fixture
def dropped(db):
    """INSTANCE_1 dropped in a committed write of its own (so its stamp is not the test's now());
    put back connected afterwards."""
    db.query("update public.instances set status = 'connected', dropped = false where id = %(id)s", {"id": INSTANCE_1})
    db.query("update public.instances set status = 'disconnected', dropped = true where id = %(id)s",
             {"id": INSTANCE_1})
    yield db.query("select dropped_at from public.instances where id = %(id)s", {"id": INSTANCE_1})[0][0]
    db.query("update public.instances set status = 'connected', dropped = false where id = %(id)s", {"id": INSTANCE_1})


@pytest.mark.parametrize(("persona", "expected"), [
    ("admin", ("rows", 2)), ("supervisor", ("rows", 2)), ("analyst", ("rows", 2)), ("norole", ("rows", 0)),
    ("service_role", ("rows", 2)),
])
def test_every_role_reads_when_a_number_dropped(db, persona, expected):
    with db.api(persona) as conn:
        assert outcome(conn, "select dropped_at from public.instances") == expected


@pytest.mark.parametrize("persona", ["admin", "analyst"])
def test_nobody_writes_it(db, persona):
    with db.api(persona) as conn:
        assert outcome(conn, "update public.instances set dropped_at = now() where id = %(id)s", {"id": INSTANCE_1}) == (
            "error", "42501", "permission denied for table instances")


def test_the_trigger_stamps_a_drop_and_keeps_it_until_it_connects(db, dropped):
    assert dropped is not None
    with db.api("admin") as conn:
        def step(assignment: str) -> tuple:
            conn.execute(f"update public.instances set {assignment} where id = %(id)s", {"id": INSTANCE_1})
            return conn.execute("select dropped, dropped_at, dropped_at = now() from public.instances"
                                " where id = %(id)s", {"id": INSTANCE_1}).fetchone()

        assert step("status = 'connecting'") == (True, dropped, False)  # someone tries to reconnect it
        assert step("status = 'disconnected'") == (True, dropped, False)  # the try is given up on
        assert step("status = 'connected', dropped = false") == (False, None, None)  # back
        assert step("status = 'disconnected', dropped = true")[::2] == (True, True)  # a new drop, stamped now


def test_a_row_down_when_the_migration_runs_is_down_since_its_last_change(server):
    db = Db(server, "drop_time_backfill")
    db.script(SHIM)
    for path in MIGRATION_FILES:
        if path.name != THIS_MIGRATION:
            db.script(path.read_text())
    db.query("insert into public.instances (instance_id, token, name, status, dropped) values"
             " ('p-1', 't', 'Caiu', 'disconnected', true), ('p-2', 't', 'No ar', 'connected', false)")
    db.query("update public.instances set status_changed_at = '2026-12-01T10:00:00Z'")
    db.script(next(path for path in MIGRATION_FILES if path.name == THIS_MIGRATION).read_text())
    assert db.query("select name, dropped_at = '2026-12-01T10:00:00Z' from public.instances order by name") == [
        ("Caiu", True), ("No ar", None)]
