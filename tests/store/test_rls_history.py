"""The migrations on a real PostgreSQL 15, as test_rls.py replays them: the history
(instance_events), who reads and writes it, and its functions."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

import psycopg
import pytest

from lib.history import KINDS
from tests.store.test_rls import RLS_INSERT
from tests.store.test_rls_monitor import LONG_AGO, old_rows, version, versions  # noqa: F401 - old_rows is a fixture
from tests.support.rls import (  # noqa: F401 - server is a fixture
    HISTORY_MIGRATION, INSTANCE_1, INSTANCE_2, SHIM, STATUS_MONITOR_MIGRATION, USERS, Db, fresh_project, outcome,
    server,
)


@pytest.fixture(scope="module")
def fresh(server) -> Db:
    return fresh_project(server, "rls_history")


UNKNOWN_INSTANCE = "20000000-0000-4000-8000-000000000000"


@pytest.fixture
def events(fresh):
    """Two committed events, one per seeded instance, both setting its status; the history is emptied
    after the test (so a test may commit more)."""
    ids = fresh.query(
        "insert into public.instance_events (instance_id, instance_name, kind, source, from_status, to_status)"
        " values (%(i1)s, 'Vendas', 'connected', 'monitor', 'connecting', 'connected'),"
        " (%(i2)s, 'Suporte', 'disconnected', 'user', 'connected', 'disconnected') returning id",
        {"i1": INSTANCE_1, "i2": INSTANCE_2},
    )
    yield [id for (id,) in ids]
    fresh.query("delete from public.instance_events")


HISTORY_ACTIONS = {
    "select": "select id, instance_id, instance_name, kind, from_status, to_status, phone_number, source,"
              " actor_id, actor_email, detail, created_at from public.instance_events",
    "insert": "insert into public.instance_events (instance_id, instance_name, kind, source)"
              " values (%(instance)s, 'Vendas', 'token_revealed', 'user')",
    "update": "update public.instance_events set detail = 'editado' where id = %(event)s",
    "delete": "delete from public.instance_events where id = %(event)s",
    "status_before": "select * from public.instance_status_before(array[%(instance)s]::uuid[], now())",
    "prune": "select public.prune_instance_events(now())",
}
NO_EVENTS = ("error", "42501", "permission denied for table instance_events")
NO_STATUS_BEFORE = ("error", "42501", "permission denied for function instance_status_before")
NO_PRUNE = ("error", "42501", "permission denied for function prune_instance_events")
HISTORY_READER = {
    "select": ("rows", 2),
    "insert": RLS_INSERT,
    "update": NO_EVENTS,
    "delete": NO_EVENTS,
    "status_before": ("rows", 1),
    "prune": NO_PRUNE,
}
HISTORY_EXPECTED = {
    "anon": {action: NO_EVENTS for action in HISTORY_ACTIONS} | {
        "status_before": NO_STATUS_BEFORE, "prune": NO_PRUNE},
    "norole": HISTORY_READER | {"select": ("rows", 0), "status_before": ("rows", 0)},
    "analyst": HISTORY_READER,
    "supervisor": HISTORY_READER,
    "admin": HISTORY_READER | {"insert": ("rows", 1)},
    "service_role": HISTORY_READER | {"insert": ("rows", 1), "delete": ("rows", 1), "prune": ("value", 2)},
}
HISTORY_MATRIX = [(persona, action) for persona in HISTORY_EXPECTED for action in HISTORY_ACTIONS]


@pytest.mark.parametrize(("persona", "action"), HISTORY_MATRIX, ids=[f"{p}-{a}" for p, a in HISTORY_MATRIX])
def test_history_access_matrix(fresh, events, persona, action):
    with fresh.api(persona) as conn:
        got = outcome(conn, HISTORY_ACTIONS[action], {"instance": INSTANCE_1, "event": events[0]},
                      scalar=action == "prune")
    expected = HISTORY_EXPECTED[persona][action]
    if expected[0] == "error":
        assert got[:2] == expected[:2], got
        assert expected[2] in got[2]
    else:
        assert got == expected


def insert_event(db: Db, persona: str, **columns) -> tuple:
    """Insert one event as `persona` (rolled back); returns (actor_id, actor_email, created_at is the
    insert's time) as stored, or ("error", sqlstate)."""
    row = {"instance_id": INSTANCE_1, "instance_name": "Vendas", "kind": "token_revealed", "source": "user"} | columns
    sql = (f"insert into public.instance_events ({', '.join(row)}) values ({', '.join(f'%({c})s' for c in row)})"
           " returning actor_id::text, actor_email, created_at = now()")
    with db.api(persona) as conn:
        try:
            return conn.execute(sql, row).fetchone()
        except psycopg.Error as exc:
            return ("error", exc.sqlstate)


@pytest.mark.parametrize(("columns", "expected"), [
    ({}, (USERS["admin"], "admin@test", True)),
    ({"actor_id": USERS["admin"], "actor_email": "admin@test"}, (USERS["admin"], "admin@test", True)),
    ({"actor_id": USERS["analyst"]}, ("error", "42501")),
    ({"actor_id": None}, ("error", "42501")),
    ({"actor_email": "analyst@test"}, ("error", "42501")),
    ({"actor_email": None}, ("error", "42501")),
    ({"created_at": LONG_AGO}, ("error", "42501")),
    ({"created_at": datetime.now(timezone.utc)}, ("error", "42501")),
], ids=["defaults", "own-name", "other-uid", "no-uid", "other-email", "no-email", "old-time", "any-time"])
def test_an_admin_writes_events_in_their_own_name_and_at_the_time_of_writing(fresh, columns, expected):
    assert insert_event(fresh, "admin", **columns) == expected


def test_an_event_id_is_never_chosen_by_an_api_user(fresh):
    assert insert_event(fresh, "admin", id=1)[0] == "error"


@pytest.mark.parametrize(("columns", "expected"), [
    ({}, (None, None, True)),
    ({"actor_id": USERS["admin"], "actor_email": "admin@test"}, (USERS["admin"], "admin@test", True)),
    ({"source": "monitor", "created_at": LONG_AGO}, (None, None, False)),
], ids=["no-actor", "any-actor", "any-time"])
def test_the_server_writes_events_in_any_name(fresh, columns, expected):
    assert insert_event(fresh, "service_role", **columns) == expected


@pytest.mark.parametrize("persona", ["admin", "service_role"])
def test_an_event_detail_is_at_most_200_characters(fresh, persona):
    assert insert_event(fresh, persona, detail="x" * 200)[0] != "error"
    assert insert_event(fresh, persona, detail="x" * 201) == ("error", "23514")


def test_events_take_the_kinds_of_lib_history_and_known_statuses_and_sources_only(fresh):
    for kind in KINDS:
        assert insert_event(fresh, "service_role", kind=kind)[0] != "error", kind
    for bogus in ({"kind": "bogus"}, {"source": "bogus"}, {"to_status": "bogus"}, {"from_status": "bogus"}):
        assert insert_event(fresh, "service_role", **bogus) == ("error", "23514"), bogus


def test_the_history_never_holds_a_token_and_outlives_its_instance(fresh, events, old_rows):
    assert fresh.query(
        "select column_name from information_schema.columns"
        " where table_schema = 'public' and table_name = 'instance_events' and column_name like '%%token%%'"
    ) == []
    # No foreign key: neither to instances (and its token) nor anything that would delete the history.
    assert fresh.query(
        "select conname from pg_constraint where conrelid = 'public.instance_events'::regclass and contype = 'f'"
    ) == []
    gone = old_rows()
    with fresh.api("admin", commit=True) as conn:
        conn.execute("insert into public.instance_events (instance_id, instance_name, kind, source, from_status)"
                     " values (%s, 'Antiga 0', 'deleted', 'user', 'connected')", (gone,))
        conn.execute("delete from public.instances where id = %s", (gone,))
    with fresh.api("analyst") as conn:
        assert conn.execute("select instance_name, kind from public.instance_events where instance_id = %s",
                            (gone,)).fetchall() == [("Antiga 0", "deleted")]


def at(minutes: int) -> datetime:
    return datetime(2026, 11, 1, 12, tzinfo=timezone.utc) + timedelta(minutes=minutes)


def test_status_before_is_each_instances_last_status_before_the_moment(fresh, events):
    tie, nothing_known = str(uuid.uuid4()), str(uuid.uuid4())
    seeded = [
        (INSTANCE_1, "created", None, "disconnected", at(0)),
        (INSTANCE_1, "connected", "disconnected", "connected", at(10)),
        (INSTANCE_1, "token_revealed", None, None, at(20)),  # sets no status
        (INSTANCE_1, "dropped", "connected", "disconnected", at(40)),  # after the moment
        (INSTANCE_2, "connected", "connecting", "connected", at(0)),
        (INSTANCE_2, "deleted", "connected", None, at(10)),  # a deletion ends the status
        (tie, "connected", "connecting", "connected", at(5)),
        (tie, "dropped", "connected", "disconnected", at(5)),  # same time, written later: this one
        (nothing_known, "check_failed", None, None, at(5)),
    ]
    for instance, kind, from_status, to_status, created_at in seeded:
        fresh.query(
            "insert into public.instance_events (instance_id, instance_name, kind, source, from_status, to_status,"
            " created_at) values (%(i)s, 'X', %(k)s, 'monitor', %(f)s, %(t)s, %(c)s)",
            {"i": instance, "k": kind, "f": from_status, "t": to_status, "c": created_at},
        )
    wanted = [INSTANCE_1, INSTANCE_2, tie, nothing_known, INSTANCE_1]
    query = ("select instance_id::text, kind, to_status, created_at"
             " from public.instance_status_before(%s::uuid[], %s) order by created_at, kind")
    with fresh.api("analyst") as conn:
        assert conn.execute(query, (wanted, at(30))).fetchall() == [
            (tie, "dropped", "disconnected", at(5)),
            (INSTANCE_1, "connected", "connected", at(10)),
            (INSTANCE_2, "deleted", None, at(10)),
        ]
        assert conn.execute(query, ([INSTANCE_1], at(10))).fetchall() == [  # strictly before
            (INSTANCE_1, "created", "disconnected", at(0))
        ]
    with fresh.api("norole") as conn:
        assert conn.execute(query, (wanted, at(30))).fetchall() == []


def test_prune_deletes_only_the_events_older_than_the_cutoff(fresh, events):
    fresh.query("insert into public.instance_events (instance_id, instance_name, kind, source, created_at)"
                " values (%(i)s, 'Vendas', 'token_revealed', 'user', %(old)s)", {"i": INSTANCE_1, "old": LONG_AGO})
    with fresh.api("service_role", commit=True) as conn:
        assert conn.execute("select public.prune_instance_events(%s)", (at(0),)).fetchone()[0] == 1
    assert sorted(id for (id,) in fresh.query("select id from public.instance_events")) == events


def test_version_moves_when_an_event_the_caller_can_read_is_written(fresh, events):
    before = versions(fresh)
    with fresh.api("admin") as conn:  # an admin sees its own insert at once
        own = version(conn)
        conn.execute("insert into public.instance_events (instance_name, kind, source) values ('X', 'token_revealed', 'user')")
        assert version(conn) != own
    assert versions(fresh) == before  # rolled back
    with fresh.api("service_role", commit=True) as conn:
        conn.execute("insert into public.instance_events (instance_name, kind, source) values ('X', 'alert_sent', 'monitor')")
    after = versions(fresh)
    assert after["analyst"] != before["analyst"]
    assert after["norole"] == before["norole"] == "0:0:0:0"


def test_running_the_status_monitor_migration_again_needs_the_history_one_after_it(server):
    db = Db(server, "rls_rerun")
    db.script(SHIM)
    db.migrate()
    db.query("insert into public.instance_events (instance_name, kind, source) values ('X', 'alert_sent', 'monitor')")

    def parts() -> list[str]:
        return db.query("select public.instances_version()")[0][0].split(":")

    assert parts()[-1] != "0" and len(parts()) == 4
    db.script(STATUS_MONITOR_MIGRATION)
    assert len(parts()) == 3  # what this file's header warns about
    db.script(HISTORY_MIGRATION)
    assert len(parts()) == 4
