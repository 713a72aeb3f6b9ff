"""Row Level Security, grants, triggers and functions of the migrations, on a real PostgreSQL 15.

Each API request is replayed the way PostgREST runs it: connect as
`authenticator`, `set local role anon|authenticated`, put the JWT claims in
`request.jwt.claims`, run the statement, roll back.
"""

from __future__ import annotations

import threading
import uuid
from datetime import datetime, timedelta, timezone

import psycopg
import pytest
from psycopg.rows import dict_row

from lib.history import KINDS
from tests.support.rls import (  # noqa: F401 - server is a fixture
    HISTORY_MIGRATION, INSTANCE_1, INSTANCE_2, INSTANCES_MIGRATION, SHIM, STATUS_MONITOR_MIGRATION, USERS, Db,
    fresh_project, grant_role, outcome, seed_instances, seed_users, server,
)

VISIBLE_COLUMNS = (
    "id, instance_id, name, phone_number, status, created_at, updated_at, created_by,"
    " last_checked_at, status_changed_at, last_phone_number, last_error, check_failures, dropped"
)


@pytest.fixture(scope="module")
def fresh(server) -> Db:
    return fresh_project(server, "rls_fresh")


ACTIONS = {
    "select_columns": f"select {VISIBLE_COLUMNS} from public.instances",
    "select_token": "select id, token from public.instances",
    "select_star": "select * from public.instances",
    "insert": "insert into public.instances (instance_id, token, name) values ('inst-new', 'tok-new', 'Nova')",
    "update": "update public.instances set status = 'connecting' where id = %(id)s",
    "delete": "delete from public.instances where id = %(id)s",
    "token_fn": "select public.instance_token(%(id)s)",
    "update_check": "update public.instances set last_checked_at = now(), last_error = 'x', check_failures = 1"
                    " where id = %(id)s",
    "lease_fn": "select public.claim_monitor_lease('intruder', 60)",
}

NO_TABLE = ("error", "42501", "permission denied for table instances")
NO_FUNCTION = ("error", "42501", "permission denied for function instance_token")
NO_LEASE = ("error", "42501", "permission denied for function claim_monitor_lease")
NOT_ADMIN = ("error", "42501", "only admins can read instance tokens")
RLS_INSERT = ("error", "42501", "new row violates row-level security policy")
READER = {
    "select_columns": ("rows", 2),
    "select_token": NO_TABLE,
    "select_star": NO_TABLE,
    "insert": RLS_INSERT,
    "update": ("rows", 0),
    "delete": ("rows", 0),
    "token_fn": NOT_ADMIN,
    "update_check": ("rows", 0),
    "lease_fn": NO_LEASE,
}
EXPECTED = {
    "anon": {action: NO_TABLE for action in ACTIONS} | {"token_fn": NO_FUNCTION, "lease_fn": NO_LEASE},
    "norole": READER | {"select_columns": ("rows", 0)},
    "analyst": READER,
    "supervisor": READER,
    "admin": {
        "select_columns": ("rows", 2),
        "select_token": NO_TABLE,
        "select_star": NO_TABLE,
        "insert": ("rows", 1),
        "update": ("rows", 1),
        "delete": ("rows", 1),
        "token_fn": ("value", "tok-1"),
        "update_check": ("rows", 1),
        "lease_fn": NO_LEASE,
    },
}
MATRIX = [(persona, action) for persona in EXPECTED for action in ACTIONS]


@pytest.mark.parametrize(("persona", "action"), MATRIX, ids=[f"{p}-{a}" for p, a in MATRIX])
def test_access_matrix(fresh, persona, action):
    with fresh.api(persona) as conn:
        got = outcome(conn, ACTIONS[action], {"id": INSTANCE_1}, scalar=action == "token_fn")
    expected = EXPECTED[persona][action]
    if expected[0] == "error":
        assert got[:2] == expected[:2], got
        assert expected[2] in got[2]
    else:
        assert got == expected


def test_admin_insert_then_read_token_via_function(fresh):
    with fresh.api("admin") as conn:
        new_id = conn.execute(
            "insert into public.instances (instance_id, token, name) values ('inst-x', 'tok-x', 'X') returning id"
        ).fetchone()[0]
        row = conn.execute("select status, created_at is not null from public.instances where id = %s", (new_id,))
        assert row.fetchone() == ("disconnected", True)
        assert conn.execute("select public.instance_token(%s)", (new_id,)).fetchone()[0] == "tok-x"


def test_insert_returning_token_is_denied_even_for_admin(fresh):
    with fresh.api("admin") as conn:
        got = outcome(conn, "insert into public.instances (instance_id, token, name) values ('i', 't', 'n') returning *")
    assert got[:2] == ("error", "42501")


def test_admin_cannot_update_token_instance_id_or_trigger_kept_columns(fresh):
    for column in ("token", "instance_id", "status_changed_at", "last_phone_number"):
        with fresh.api("admin") as conn:
            got = outcome(conn, f"update public.instances set {column} = null where id = %(id)s", {"id": INSTANCE_1})
        assert got[:2] == ("error", "42501"), column


def test_instance_token_unknown_id_raises_no_data_found(fresh):
    with fresh.api("admin") as conn:
        got = outcome(conn, ACTIONS["token_fn"], {"id": "20000000-0000-4000-8000-000000000000"})
    assert got[:2] == ("error", "P0002")


def test_service_role_reads_tokens(fresh):
    with fresh.api("service_role") as conn:
        rows = conn.execute("select instance_id, token from public.instances order by instance_id").fetchall()
    assert rows == [("inst-1", "tok-1"), ("inst-2", "tok-2")]


@pytest.mark.parametrize("function", ["has_role(null, 'admin')", "has_any_role(null, array['admin'])"])
def test_role_helpers_not_executable_by_anon(fresh, function):
    with fresh.api("anon") as conn:
        got = outcome(conn, f"select public.{function}")
    assert got[:2] == ("error", "42501")
    assert "permission denied for function" in got[2]


def test_role_helpers_answer_for_signed_in_user(fresh):
    with fresh.api("analyst") as conn:
        row = conn.execute(
            "select public.has_role(auth.uid(), 'analyst'), public.has_role(auth.uid(), 'admin'),"
            " public.has_any_role(auth.uid(), array['supervisor', 'analyst'])"
        ).fetchone()
    assert row == (True, False, True)


def test_updated_at_moves_on_update(fresh):
    fresh.query(
        "insert into public.instances (id, instance_id, token, name, updated_at)"
        " values (%(id)s, 'inst-old', 'tok-old', 'Old', '2000-01-01T00:00:00Z')",
        {"id": "30000000-0000-4000-8000-000000000001"},
    )
    try:
        with fresh.api("admin") as conn:
            conn.execute("update public.instances set name = 'Renamed' where instance_id = 'inst-old'")
            moved, is_now = conn.execute(
                "select updated_at > '2000-01-01T00:00:00Z', updated_at = now()"
                " from public.instances where instance_id = 'inst-old'"
            ).fetchone()
        assert moved and is_now
    finally:
        fresh.query("delete from public.instances where instance_id = 'inst-old'")


@pytest.mark.parametrize("statement", [
    "insert into public.instances (instance_id, token, name, status) values ('b', 't', 'n', 'bogus')",
    "update public.instances set status = 'bogus' where id = %(id)s",
], ids=["insert", "update"])
def test_status_check_rejects_bogus(fresh, statement):
    with fresh.api("admin") as conn:
        got = outcome(conn, statement, {"id": INSTANCE_1})
    assert got[:2] == ("error", "23514")


@pytest.mark.parametrize("status", ["disconnected", "connecting", "connected"])
def test_status_check_accepts_known_values(fresh, status):
    with fresh.api("admin") as conn:
        got = outcome(conn, "update public.instances set status = %(s)s where id = %(id)s", {"s": status, "id": INSTANCE_1})
    assert got == ("rows", 1)


def test_user_roles_own_row_only(fresh):
    with fresh.api("analyst") as conn:
        rows = conn.execute("select user_id::text, role::text from public.user_roles").fetchall()
    assert rows == [(USERS["analyst"], "analyst")]


def test_user_roles_norole_sees_nothing(fresh):
    with fresh.api("norole") as conn:
        assert conn.execute("select * from public.user_roles").fetchall() == []


def test_user_roles_admin_sees_all(fresh):
    with fresh.api("admin") as conn:
        roles = conn.execute("select role::text from public.user_roles order by 1").fetchall()
    assert roles == [("admin",), ("analyst",), ("supervisor",)]


def test_user_roles_self_promotion_denied(fresh):
    with fresh.api("supervisor") as conn:
        got = outcome(
            conn,
            "insert into public.user_roles (user_id, role) values (%(id)s, 'admin')",
            {"id": USERS["supervisor"]},
        )
    assert got[:2] == ("error", "42501")


def test_user_roles_denied_to_anon(fresh):
    with fresh.api("anon") as conn:
        got = outcome(conn, "select * from public.user_roles")
    assert got[:2] == ("error", "42501")


# --- Status monitor -------------------------------------------------------------

LONG_AGO = datetime(2000, 1, 1, tzinfo=timezone.utc)
PHONE = "5511900001111"


@pytest.fixture
def old_rows(fresh):
    """insert(**columns) adds a committed, connected instance last changed LONG_AGO (so a change made
    now shows) and returns its id; the rows go away after the test."""
    ids: list[str] = []

    def insert(**columns) -> str:
        n = len(ids)
        row = {
            "id": str(uuid.uuid4()), "instance_id": f"inst-old-{n}", "token": "tok-old", "name": f"Antiga {n}",
            "status": "connected", "phone_number": PHONE, "last_phone_number": PHONE,
            "updated_at": LONG_AGO, "status_changed_at": LONG_AGO, **columns,
        }
        fresh.query(
            f"insert into public.instances ({', '.join(row)}) values ({', '.join(f'%({c})s' for c in row)})", row
        )
        ids.append(row["id"])
        return row["id"]

    yield insert
    fresh.query("delete from public.instances where id = any(%(ids)s::uuid[])", {"ids": ids})


def row_of(conn: psycopg.Connection, id: str) -> dict:
    """The monitor's view of one row, with the transaction's now()."""
    return conn.cursor(row_factory=dict_row).execute(
        "select status, phone_number, updated_at, status_changed_at, last_phone_number, last_checked_at,"
        " last_error, check_failures, now() as now from public.instances where id = %s",
        (id,),
    ).fetchone()


def rows_written(conn: psycopg.Connection) -> int:
    """Rows of instances updated so far in this transaction."""
    return conn.execute(
        "select n_tup_upd from pg_stat_xact_user_tables where relid = 'public.instances'::regclass"
    ).fetchone()[0]


@pytest.mark.parametrize(("assignment", "moves_updated_at", "moves_status_changed_at", "last_phone"), [
    ("last_checked_at = now()", False, False, PHONE),
    ("status = 'connected', phone_number = %(phone)s", False, False, PHONE),
    ("status = 'disconnected', phone_number = null", True, True, PHONE),
    ("phone_number = '5511900002222'", True, False, "5511900002222"),
    ("name = 'Renomeada'", True, False, PHONE),
    ("last_error = 'Tempo esgotado'", True, False, PHONE),
    ("check_failures = 1", True, False, PHONE),
], ids=["checked", "same-values", "disconnect", "new-phone", "rename", "error", "failures"])
def test_trigger_stamps_only_what_a_user_sees(fresh, old_rows, assignment, moves_updated_at,
                                               moves_status_changed_at, last_phone):
    id = old_rows()
    with fresh.api("admin") as conn:
        got = outcome(conn, f"update public.instances set {assignment} where id = %(id)s", {"id": id, "phone": PHONE})
        row = row_of(conn, id)
    assert got == ("rows", 1)
    assert row["updated_at"] == (row["now"] if moves_updated_at else LONG_AGO)
    assert row["status_changed_at"] == (row["now"] if moves_status_changed_at else LONG_AGO)
    assert row["last_phone_number"] == last_phone


def test_new_rows_start_with_a_status_change_and_no_failures(fresh):
    with fresh.api("admin") as conn:
        id = conn.execute(
            "insert into public.instances (instance_id, token, name) values ('inst-n', 'tok-n', 'Nova') returning id"
        ).fetchone()[0]
        row = row_of(conn, id)
    assert row["status_changed_at"] == row["now"]
    assert (row["last_checked_at"], row["last_phone_number"], row["last_error"], row["check_failures"]) == (
        None, None, None, 0
    )


def test_mark_instances_checked_clears_errors_and_moves_updated_at_only_for_them(fresh, old_rows):
    failing, healthy = old_rows(last_error="Tempo esgotado", check_failures=2), old_rows()
    with fresh.api("admin") as conn:
        conn.execute("select public.mark_instances_checked(%s::uuid[])", ([failing, healthy],))
        failing_row, healthy_row = row_of(conn, failing), row_of(conn, healthy)
    now = failing_row["now"]
    assert failing_row | {"now": None} == {
        "status": "connected", "phone_number": PHONE, "updated_at": now, "status_changed_at": LONG_AGO,
        "last_phone_number": PHONE, "last_checked_at": now, "last_error": None, "check_failures": 0, "now": None,
    }
    assert (healthy_row["last_checked_at"], healthy_row["updated_at"]) == (now, LONG_AGO)


def test_record_instance_check_failure_counts_the_streak_up_to_the_cap(fresh, old_rows):
    id = old_rows()
    with fresh.api("admin") as conn:

        def fail(message: str) -> tuple:
            written = rows_written(conn)
            conn.execute("select public.record_instance_check_failure(%s, %s, 3)", (id, message))
            row = row_of(conn, id)
            return rows_written(conn) - written, row["check_failures"], row["last_error"]

        assert [fail("Tempo esgotado") for _ in range(4)] == [
            (1, 1, "Tempo esgotado"), (1, 2, "Tempo esgotado"), (1, 3, "Tempo esgotado"), (0, 3, "Tempo esgotado")
        ]
        assert fail("Provedor fora do ar") == (1, 3, "Provedor fora do ar")
        row = row_of(conn, id)
    assert (row["status"], row["phone_number"], row["status_changed_at"]) == ("connected", PHONE, LONG_AGO)
    assert row["updated_at"] == row["now"]


@pytest.mark.parametrize("persona", ["analyst", "supervisor", "norole"])
def test_read_only_roles_cannot_record_checks(fresh, old_rows, persona):
    id = old_rows(last_error="Tempo esgotado", check_failures=2)
    with fresh.api(persona) as conn:
        conn.execute("select public.mark_instances_checked(%s::uuid[])", ([id],))
        conn.execute("select public.record_instance_check_failure(%s, 'Outro erro', 3)", (id,))
        written = rows_written(conn)
    assert written == 0
    assert fresh.query("select last_checked_at, last_error, check_failures from public.instances where id = %(id)s",
                       {"id": id}) == [(None, "Tempo esgotado", 2)]


@pytest.mark.parametrize("call", [
    "instances_version()",
    "mark_instances_checked(array[]::uuid[])",
    "record_instance_check_failure(null, 'x', 3)",
])
def test_monitor_functions_are_not_executable_by_anon(fresh, call):
    with fresh.api("anon") as conn:
        got = outcome(conn, f"select public.{call}")
    assert got[:2] == ("error", "42501")
    assert "permission denied for function" in got[2]


def version(conn: psycopg.Connection) -> str:
    return conn.execute("select public.instances_version()").fetchone()[0]


def test_version_changes_with_every_change_the_caller_can_see(fresh):
    with fresh.api("admin") as conn:
        seen = [version(conn), version(conn)]
        conn.execute("insert into public.instances (instance_id, token, name) values ('inst-v', 'tok-v', 'Versão')")
        seen.append(version(conn))
        conn.execute("update public.instances set status = 'connecting' where id = %s", (INSTANCE_1,))
        seen.append(version(conn))
        conn.execute("select public.mark_instances_checked(%s::uuid[])", ([INSTANCE_2],))
        seen.append(version(conn))
        conn.execute("delete from public.instances where id = %s", (INSTANCE_2,))
        seen.append(version(conn))
    assert seen[0] == seen[1]  # asking changes nothing
    assert len(set(seen[1:])) == 5, seen


def test_version_follows_only_what_the_caller_may_list(fresh):
    def versions() -> dict[str, str]:
        result = {}
        for persona in ("analyst", "norole"):
            with fresh.api(persona) as conn:
                result[persona] = version(conn)
        return result

    before = versions()
    fresh.query("insert into public.instances (instance_id, token, name) values ('inst-w', 'tok-w', 'Outra')")
    try:
        after = versions()
    finally:
        fresh.query("delete from public.instances where instance_id = 'inst-w'")
    assert after["analyst"] != before["analyst"]
    assert after["norole"] == before["norole"] == "0:0:0:0"


def test_version_sees_a_change_stamped_earlier_than_the_newest_row(fresh, old_rows):
    """updated_at is the writing transaction's start time, so a slower writer can commit a change
    stamped before one already committed: the version must move all the same."""
    first, second = old_rows(), old_rows()
    with fresh.api("admin", commit=True) as slow:
        slow.execute("select now()")  # the slow writer's transaction starts (and is stamped) here
        with fresh.api("admin", commit=True) as fast:
            fast.execute("update public.instances set name = 'Rápida' where id = %s", (second,))
        with fresh.api("analyst") as reader:
            before = version(reader)
        slow.execute("update public.instances set name = 'Lenta' where id = %s", (first,))
    with fresh.api("analyst") as reader:
        assert version(reader) != before
    assert fresh.query(
        "select (select updated_at from public.instances where id = %(first)s)"
        " < (select updated_at from public.instances where id = %(second)s)",
        {"first": first, "second": second},
    ) == [(True,)]


def test_names_are_unique_ignoring_case(fresh):
    with fresh.api("admin") as conn:
        first = outcome(conn, "insert into public.instances (instance_id, token, name) values ('c1', 't', 'Cobrança')")
        second = outcome(
            conn, "insert into public.instances (instance_id, token, name) values ('c2', 't', 'COBRANÇA')"
        )
    assert first == ("rows", 1)
    assert second[:2] == ("error", "23505")
    assert "instances_lower_name_key" in second[2]


@pytest.fixture
def lease(fresh):
    yield
    fresh.query("delete from public.monitor_lease")


def claim(db: Db, holder: str, ttl_seconds: int = 60) -> bool:
    with db.api("service_role", commit=True) as conn:
        return conn.execute("select public.claim_monitor_lease(%s, %s)", (holder, ttl_seconds)).fetchone()[0]


def test_one_monitor_holds_the_lease_until_it_expires(fresh, lease):
    assert claim(fresh, "replica-a") is True
    assert claim(fresh, "replica-b") is False
    [(first_expiry,)] = fresh.query("select expires_at from public.monitor_lease")
    assert claim(fresh, "replica-a", ttl_seconds=600) is True  # renewed
    assert fresh.query("select holder, expires_at > %(t)s from public.monitor_lease", {"t": first_expiry}) == [
        ("replica-a", True)
    ]
    fresh.query("update public.monitor_lease set expires_at = now() - interval '1 second'")
    assert claim(fresh, "replica-b") is True
    assert claim(fresh, "replica-a") is False
    assert fresh.query("select holder from public.monitor_lease") == [("replica-b",)]


def test_a_released_lease_is_free_at_once_but_only_its_holder_releases_it(fresh, lease):
    assert claim(fresh, "replica-a", ttl_seconds=600) is True
    with fresh.api("service_role", commit=True) as conn:
        conn.execute("select public.release_monitor_lease('replica-b')")  # not the holder: nothing happens
    assert claim(fresh, "replica-b") is False
    with fresh.api("service_role", commit=True) as conn:
        conn.execute("select public.release_monitor_lease('replica-a')")  # a server stopping
    assert claim(fresh, "replica-b") is True


@pytest.mark.parametrize("persona", ["anon", "admin", "analyst"])
def test_only_the_server_may_release_the_lease(fresh, lease, persona):
    assert claim(fresh, "replica-a") is True
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        with fresh.api(persona) as conn:
            conn.execute("select public.release_monitor_lease('replica-a')")
    assert fresh.query("select holder from public.monitor_lease") == [("replica-a",)]


def test_a_zero_ttl_lease_is_free_for_the_next_claim(fresh, lease):
    assert claim(fresh, "replica-a", ttl_seconds=0) is True
    assert claim(fresh, "replica-b") is True


@pytest.mark.parametrize("persona", ["anon", "admin", "service_role"])
def test_the_lease_table_is_not_reachable_through_the_api(fresh, persona):
    with fresh.api(persona) as conn:
        got = outcome(conn, "select * from public.monitor_lease")
    assert got[:2] == ("error", "42501")


def test_upgrade_backfills_the_new_columns_without_moving_updated_at(server):
    db = Db(server, "rls_upgrade")
    db.script(SHIM)
    db.script(INSTANCES_MIGRATION)
    later = datetime(2026, 11, 1, tzinfo=timezone.utc)
    db.query(
        "insert into public.instances (instance_id, token, name, status, phone_number, updated_at) values"
        " ('inst-1', 't', 'Um', 'connected', %(phone)s, %(long_ago)s),"
        " ('inst-2', 't', 'Dois', 'disconnected', null, %(later)s)",
        {"phone": PHONE, "long_ago": LONG_AGO, "later": later},
    )
    db.script(STATUS_MONITOR_MIGRATION)
    assert db.query(
        "select instance_id, updated_at, status_changed_at, last_phone_number, last_checked_at, last_error,"
        " check_failures from public.instances order by 1"
    ) == [("inst-1", LONG_AGO, LONG_AGO, PHONE, None, None, 0), ("inst-2", later, later, None, None, None, 0)]


def test_duplicate_names_skip_the_unique_index_with_a_notice(server):
    db = Db(server, "rls_duplicate_names")
    db.script(SHIM)
    db.script(INSTANCES_MIGRATION)
    db.query(
        "insert into public.instances (instance_id, token, name) values"
        " ('a', 't', 'Cobrança'), ('b', 't', 'COBRANÇA'), ('c', 't', 'Suporte')"
    )
    rows = "select id, instance_id, token, name, status, updated_at from public.instances order by 1"
    rows_before = db.query(rows)

    notices = db.script(STATUS_MONITOR_MIGRATION)

    skipped = [n for n in notices if "NOT created" in n]
    assert len(skipped) == 1, notices
    assert "instances_lower_name_key" in skipped[0] and "having count(*) > 1" in skipped[0]
    assert db.query(rows) == rows_before
    assert db.query("select to_regclass('public.instances_lower_name_key')") == [(None,)]
    # The rest of the migration is in place.
    assert db.query("select to_regprocedure('public.claim_monitor_lease(text, integer)') is not null") == [(True,)]
    assert db.query("select count(*) from public.instances where status_changed_at is not null") == [(3,)]

    # With the duplicate renamed, running the migration again creates the index.
    db.query("update public.instances set name = 'Cobrança 2' where instance_id = 'b'")
    assert not [n for n in db.script(STATUS_MONITOR_MIGRATION) if "NOT created" in n]
    assert db.query("select to_regclass('public.instances_lower_name_key')::text") == [("instances_lower_name_key",)]


# --- History ------------------------------------------------------------------

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
    def versions() -> dict[str, str]:
        result = {}
        for persona in ("analyst", "norole"):
            with fresh.api(persona) as conn:
                result[persona] = version(conn)
        return result

    before = versions()
    with fresh.api("admin") as conn:  # an admin sees its own insert at once
        own = version(conn)
        conn.execute("insert into public.instance_events (instance_name, kind, source) values ('X', 'token_revealed', 'user')")
        assert version(conn) != own
    assert versions() == before  # rolled back
    with fresh.api("service_role", commit=True) as conn:
        conn.execute("insert into public.instance_events (instance_name, kind, source) values ('X', 'alert_sent', 'monitor')")
    after = versions()
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


# --- Users and roles managed from the app -----------------------------------------

USER_ADMIN_CALLS = {
    "list": "select * from public.admin_list_role_holders()",
    "find": "select * from public.admin_find_user('norole@test')",
    "grant": "select public.admin_grant_role('norole@test', 'supervisor')",
    "revoke": "select public.admin_revoke_role(%(analyst)s)",
    "role_for_email": "select * from public.role_for_email('analyst@test')",
}
FUNCTION_NAMES = {
    "list": "admin_list_role_holders", "find": "admin_find_user", "grant": "admin_grant_role",
    "revoke": "admin_revoke_role", "role_for_email": "role_for_email",
}
NOT_ADMIN_FOR_USERS = ("error", "42501", "only admins can manage users")


def no_function(call: str) -> tuple:
    return ("error", "42501", f"permission denied for function {FUNCTION_NAMES[call]}")


NOT_AN_ADMIN = {call: NOT_ADMIN_FOR_USERS for call in USER_ADMIN_CALLS} | {"role_for_email": no_function("role_for_email")}
USER_ADMIN_EXPECTED = {
    "anon": {call: no_function(call) for call in USER_ADMIN_CALLS},
    "norole": NOT_AN_ADMIN,
    "analyst": NOT_AN_ADMIN,
    "supervisor": NOT_AN_ADMIN,
    "admin": {
        "list": ("rows", 3),
        "find": ("rows", 1),
        "grant": ("value", uuid.UUID(USERS["norole"])),
        "revoke": ("rows", 1),
        "role_for_email": no_function("role_for_email"),
    },
    "service_role": {call: no_function(call) for call in USER_ADMIN_CALLS} | {"role_for_email": ("rows", 1)},
}
USER_ADMIN_MATRIX = [(persona, call) for persona in USER_ADMIN_EXPECTED for call in USER_ADMIN_CALLS]


@pytest.mark.parametrize(("persona", "call"), USER_ADMIN_MATRIX, ids=[f"{p}-{c}" for p, c in USER_ADMIN_MATRIX])
def test_user_admin_access_matrix(fresh, persona, call):
    with fresh.api(persona) as conn:
        got = outcome(conn, USER_ADMIN_CALLS[call], {"analyst": USERS["analyst"]}, scalar=call == "grant")
    expected = USER_ADMIN_EXPECTED[persona][call]
    if expected[0] == "error":
        assert got[:2] == expected[:2], got
        assert expected[2] in got[2]
    else:
        assert got == expected


def roles_of(conn: psycopg.Connection, persona: str) -> list[str]:
    return [role for (role,) in conn.execute(
        "select role::text from public.user_roles where user_id = %s order by 1", (USERS[persona],)
    )]


def grant(conn: psycopg.Connection, email: str, role: str) -> tuple:
    return outcome(conn, "select public.admin_grant_role(%(email)s, %(role)s)", {"email": email, "role": role},
                   scalar=True)


def revoke(conn: psycopg.Connection, persona: str) -> tuple:
    return outcome(conn, "select public.admin_revoke_role(%(id)s)", {"id": USERS[persona]})


def test_an_admin_gives_a_role_by_email_and_it_replaces_the_one_held(fresh):
    with fresh.api("admin") as conn:
        assert grant(conn, "  NoRole@TEST ", "supervisor") == ("value", uuid.UUID(USERS["norole"]))
        assert roles_of(conn, "norole") == ["supervisor"]
        assert grant(conn, "norole@test", "analyst")[0] == "value"
        assert roles_of(conn, "norole") == ["analyst"]
        assert grant(conn, "supervisor@test", "admin")[0] == "value"
        assert grant(conn, "supervisor@test", "admin")[0] == "value"  # again: nothing more happens
        assert roles_of(conn, "supervisor") == ["admin"]
        # Two roles from before the app managed them (the app reads the most privileged): one is left.
        conn.execute("insert into public.user_roles (user_id, role) values (%s, 'supervisor')", (USERS["analyst"],))
        assert conn.execute("select role from public.admin_list_role_holders() where email = 'analyst@test'"
                            ).fetchall() == [("supervisor",)]
        assert grant(conn, "analyst@test", "analyst")[0] == "value"
        assert roles_of(conn, "analyst") == ["analyst"]
        holders = conn.execute("select user_id::text, email, role from public.admin_list_role_holders()").fetchall()
    assert holders == [
        (USERS["admin"], "admin@test", "admin"), (USERS["analyst"], "analyst@test", "analyst"),
        (USERS["norole"], "norole@test", "analyst"), (USERS["supervisor"], "supervisor@test", "admin"),
    ]


def test_the_role_holders_come_with_their_accounts_dates(fresh):
    created, signed_in = datetime(2026, 1, 2, tzinfo=timezone.utc), datetime(2026, 11, 30, tzinfo=timezone.utc)
    fresh.query("update auth.users set created_at = %(c)s, last_sign_in_at = %(s)s where id = %(id)s",
                {"c": created, "s": signed_in, "id": USERS["supervisor"]})
    with fresh.api("admin") as conn:
        rows = conn.execute("select email, created_at, last_sign_in_at from public.admin_list_role_holders()"
                            " where role = 'supervisor'").fetchall()
    assert rows == [("supervisor@test", created, signed_in)]


@pytest.mark.parametrize(("email", "role", "sqlstate"), [
    ("nobody@test", "analyst", "P0002"),
    ("", "analyst", "P0002"),
    (None, "analyst", "P0002"),
    ("norole@test", "owner", "22023"),
    ("norole@test", None, "22023"),
], ids=["unknown", "empty", "null", "bogus-role", "null-role"])
def test_a_role_goes_only_to_an_existing_user_and_only_an_app_role(fresh, email, role, sqlstate):
    with fresh.api("admin") as conn:
        got = grant(conn, email, role)
    assert got[:2] == ("error", sqlstate), got
    if email == "nobody@test":
        assert "nobody@test" in got[2]
    assert fresh.query("select count(*) from public.user_roles") == [(3,)]


def test_the_last_admin_keeps_the_admin_role(fresh):
    with fresh.api("admin") as conn:
        assert revoke(conn, "admin")[:2] == ("error", "UA001")
    with fresh.api("admin") as conn:
        assert grant(conn, "admin@test", "supervisor")[:2] == ("error", "UA001")
    with fresh.api("admin") as conn:
        assert grant(conn, "admin@test", "admin")[0] == "value"  # keeping it is fine
        assert revoke(conn, "norole") == ("rows", 1)  # holds nothing: nothing happens
        assert grant(conn, "supervisor@test", "admin")[0] == "value"
        assert revoke(conn, "admin") == ("rows", 1)  # another admin remains: even oneself
        assert roles_of(conn, "admin") == []
        # The caller is no admin any more: checked again on every call.
        assert revoke(conn, "supervisor")[:2] == ("error", "42501")


@pytest.fixture
def roles_restored(fresh):
    """user_roles as it was before the test, whatever the test committed."""
    before = fresh.query("select user_id, role::text from public.user_roles")
    yield
    fresh.query("delete from public.user_roles")
    for user_id, role in before:
        fresh.query("insert into public.user_roles (user_id, role) values (%(u)s, %(r)s)", {"u": user_id, "r": role})


def test_two_admins_removing_each_other_at_once_leave_one_admin(fresh, roles_restored):
    fresh.query("insert into public.user_roles (user_id, role) values (%(id)s, 'admin')", {"id": USERS["supervisor"]})
    result: dict[str, tuple] = {}

    def second_admin() -> None:
        with fresh.api("supervisor", commit=True) as conn:
            result["got"] = revoke(conn, "admin")

    with fresh.api("admin", commit=True) as first:
        assert revoke(first, "supervisor") == ("rows", 1)
        thread = threading.Thread(target=second_admin)
        thread.start()
        # Until the first transaction ends the second call must wait (or, were nothing locked, finish).
        while thread.is_alive() and not fresh.query(
            "select 1 from pg_stat_activity where datname = %(db)s and wait_event_type = 'Lock'", {"db": fresh.name}
        ):
            thread.join(0.01)
    thread.join()
    assert result["got"][0] == "error" and result["got"][1] in ("42501", "UA001"), result
    assert fresh.query("select user_id::text from public.user_roles where role = 'admin'") == [(USERS["admin"],)]


def test_role_for_email_is_the_servers_and_says_the_most_privileged_role(fresh):
    query = "select user_id::text, role from public.role_for_email(%s)"
    with fresh.api("service_role") as conn:
        assert conn.execute(query, (" Analyst@TEST",)).fetchall() == [(USERS["analyst"], "analyst")]
        assert conn.execute(query, ("norole@test",)).fetchall() == [(USERS["norole"], None)]
        assert conn.execute(query, ("nobody@test",)).fetchall() == []
        conn.execute("insert into public.user_roles (user_id, role) values (%s, 'admin')", (USERS["analyst"],))
        assert conn.execute(query, ("analyst@test",)).fetchall() == [(USERS["analyst"], "admin")]


def test_an_email_is_the_password_users_and_never_a_deleted_users(fresh):
    sso, deleted = str(uuid.uuid4()), str(uuid.uuid4())
    fresh.query("insert into auth.users (id, email, is_sso_user, created_at) values"
                " (%(sso)s, 'analyst@test', true, '2000-01-01T00:00:00Z'),"
                " (%(deleted)s, 'gone@test', false, now())", {"sso": sso, "deleted": deleted})
    fresh.query("update auth.users set deleted_at = now() where id = %(id)s", {"id": deleted})
    try:
        with fresh.api("admin") as conn:
            found = conn.execute("select user_id::text from public.admin_find_user('ANALYST@test')").fetchall()
            assert found == [(USERS["analyst"],)]
            assert conn.execute("select * from public.admin_find_user('gone@test')").fetchall() == []
            assert grant(conn, "gone@test", "analyst")[:2] == ("error", "P0002")
        with fresh.api("service_role") as conn:
            assert conn.execute("select user_id::text from public.role_for_email('analyst@test')").fetchall() == [
                (USERS["analyst"],)
            ]
            assert conn.execute("select * from public.role_for_email('gone@test')").fetchall() == []
    finally:
        fresh.query("delete from auth.users where id = any(%(ids)s::uuid[])", {"ids": [sso, deleted]})


USER_ADMIN_COLUMNS = {
    "admin_list_role_holders()": ("admin", "select * from public.admin_list_role_holders()",
                                  ["user_id", "email", "role", "created_at", "last_sign_in_at"]),
    "admin_find_user(text)": ("admin", "select * from public.admin_find_user('analyst@test')", ["user_id", "email"]),
    "admin_grant_role(text,text)": ("admin", "select * from public.admin_grant_role('norole@test', 'analyst')",
                                    ["admin_grant_role"]),
    "admin_revoke_role(uuid)": ("admin", f"select * from public.admin_revoke_role('{USERS['analyst']}')",
                                ["admin_revoke_role"]),
    "role_for_email(text)": ("service_role", "select * from public.role_for_email('analyst@test')",
                             ["user_id", "role"]),
}


@pytest.mark.parametrize("signature", list(USER_ADMIN_COLUMNS))
def test_no_user_function_returns_a_token_or_reads_instances(fresh, signature):
    persona, call, columns = USER_ADMIN_COLUMNS[signature]
    [(result, source, definer, config)] = fresh.query(
        "select pg_get_function_result(oid), prosrc, prosecdef, proconfig from pg_proc"
        " where oid = %(f)s::regprocedure", {"f": f"public.{signature}"}
    )
    assert "token" not in result and "instances" not in source
    assert definer and config == ['search_path=""']
    with fresh.api(persona) as conn:
        cur = conn.execute(call)
        assert [c.name for c in cur.description] == columns
        rows = cur.fetchall()
    assert not any("tok-" in str(value) for row in rows for value in row)


# --- Idempotency --------------------------------------------------------------

CATALOG_QUERIES = {
    "policies": """
        select tablename, policyname, permissive, roles::text, cmd, qual, with_check
        from pg_policies where schemaname = 'public' order by 1, 2""",
    "tables": """
        select relname, relrowsecurity, relforcerowsecurity,
               array(select a::text from unnest(relacl) a order by 1)
        from pg_class where relnamespace = 'public'::regnamespace and relkind = 'r' order by 1""",
    "column_acls": """
        select attrelid::regclass::text, attname, array(select a::text from unnest(attacl) a order by 1)
        from pg_attribute
        where attrelid in (select oid from pg_class where relnamespace = 'public'::regnamespace)
          and attacl is not null order by 1, 2""",
    "columns": """
        select table_name, column_name, data_type, column_default, is_nullable
        from information_schema.columns where table_schema = 'public' order by 1, 2""",
    "functions": """
        select p.oid::regprocedure::text, pg_get_functiondef(p.oid),
               array(select a::text from unnest(p.proacl) a order by 1)
        from pg_proc p where p.pronamespace = 'public'::regnamespace order by 1""",
    "constraints": """
        select conrelid::regclass::text, conname, pg_get_constraintdef(oid)
        from pg_constraint where connamespace = 'public'::regnamespace order by 1, 2""",
    "triggers": """
        select tgrelid::regclass::text, tgname, pg_get_triggerdef(oid)
        from pg_trigger where not tgisinternal order by 1, 2""",
    "indexes": "select tablename, indexname, indexdef from pg_indexes where schemaname = 'public' order by 1, 2",
    "enum": "select enumlabel from pg_enum where enumtypid = 'public.app_role'::regtype order by enumsortorder",
    "user_roles": "select user_id, role::text from public.user_roles order by 1, 2",
    "instances": """
        select id, instance_id, token, name, status, updated_at, status_changed_at, last_phone_number,
               last_checked_at, last_error, check_failures
        from public.instances order by 1""",
    "instance_events": """
        select id, instance_id, instance_name, kind, from_status, to_status, source, actor_id, actor_email,
               detail, created_at
        from public.instance_events order by 1""",
}


def catalog(db: Db) -> dict[str, list[tuple]]:
    return {name: db.query(sql) for name, sql in CATALOG_QUERIES.items()}


def test_migrations_are_idempotent(server):
    db = Db(server, "rls_twice")
    db.script(SHIM)
    db.migrate()
    seed_users(db)
    grant_role(db, "admin")
    seed_instances(db)
    db.query("update public.instances set phone_number = '5511911112222' where id = %(id)s", {"id": INSTANCE_1})
    with db.api("admin", commit=True) as conn:
        conn.execute("insert into public.instance_events (instance_id, instance_name, kind, source)"
                     " values (%s, 'Vendas', 'token_revealed', 'user')", (INSTANCE_1,))
    before = catalog(db)
    db.migrate()
    after = catalog(db)
    assert before == after
    # The snapshot covers what the migrations are about (guards against an empty comparison).
    assert len(before["policies"]) == 7
    assert len(before["instance_events"]) == 1
    assert [t[:2] for t in before["triggers"]] == [("instances", "instances_track_changes")]
    assert any(c[1] == "instances_status_check" for c in before["constraints"])
    assert any(i[1] == "instances_lower_name_key" for i in before["indexes"])
    assert {"claim_monitor_lease(text,integer)", "release_monitor_lease(text)", "instances_version()",
            "mark_instances_checked(uuid[])", "record_instance_check_failure(uuid,text,integer)",
            "instance_status_before(uuid[],timestamp with time zone)",
            "prune_instance_events(timestamp with time zone)", "admin_list_role_holders()", "admin_find_user(text)",
            "admin_grant_role(text,text)", "admin_revoke_role(uuid)",
            "role_for_email(text)"} <= {f[0] for f in before["functions"]}
    assert {"instance_events_instance_time", "instance_events_time"} <= {i[1] for i in before["indexes"]}
    assert any("instance_events" in str(f[1]) for f in before["functions"] if f[0] == "instances_version()")
    assert before["enum"] == [("admin",), ("supervisor",), ("analyst",)]


# --- Pre-existing Lovable-style project --------------------------------------

LOVABLE_SETUP = """
create type public.app_role as enum ({labels});

create table public.user_roles (
    id uuid primary key default gen_random_uuid(),
    user_id uuid references auth.users(id) on delete cascade not null,
    role app_role not null,
    created_at timestamp with time zone not null default now(),
    unique (user_id, role)
);
alter table public.user_roles enable row level security;

create or replace function public.has_role(_user_id uuid, _role app_role)
returns boolean
language sql
stable
security definer
set search_path = public
as $$
  select exists (select 1 from public.user_roles where user_id = _user_id and role = _role)
$$;

create policy "Users can view their own roles" on public.user_roles
    for select using (auth.uid() = user_id);
create policy "Admins can manage roles" on public.user_roles
    for all using (public.has_role(auth.uid(), 'admin'));

create or replace function public.update_updated_at()
returns trigger as $$
begin
  new.updated_at = now();
  return new;
end;
$$ language plpgsql set search_path = public;

create table public.profiles (
    id uuid primary key references auth.users(id) on delete cascade,
    full_name text,
    updated_at timestamp with time zone default now()
);
alter table public.profiles enable row level security;
-- Not "using (true)": the planner would fold "true or has_role(...)" and skip the call.
create policy "Named profiles are public" on public.profiles for select using (full_name is not null);
create policy "Admins manage profiles" on public.profiles for all using (public.has_role(auth.uid(), 'admin'));
create trigger update_profiles_updated_at before update on public.profiles
    for each row execute function public.update_updated_at();
"""


@pytest.mark.parametrize("labels", [("admin", "supervisor"), ("admin",), ("admin", "moderator", "user")],
                         ids=["no-analyst", "admin-only", "lovable-default"])
def test_applies_on_existing_lovable_project(server, labels):
    db = Db(server, "rls_lovable_" + "_".join(labels))
    db.script(SHIM)
    db.script(LOVABLE_SETUP.format(labels=", ".join(f"'{label}'" for label in labels)))
    seed_users(db)
    grant_role(db, "admin")
    if "supervisor" in labels:
        grant_role(db, "supervisor")
    db.query("insert into public.profiles (id, full_name) select id, email from auth.users")
    roles_before = db.query("select id, user_id, role::text, created_at from public.user_roles order by 1")
    has_role_acl = "select proacl from pg_proc where oid = 'public.has_role(uuid, public.app_role)'::regprocedure"
    acl_before = db.query(has_role_acl)

    db.migrate()  # each file one transaction: new enum values must not be used in it
    db.migrate()

    assert db.query(
        "select enumlabel from pg_enum where enumtypid = 'public.app_role'::regtype order by enumsortorder"
    ) == [(label,) for label in labels] + [(v,) for v in ("supervisor", "analyst") if v not in labels]
    assert db.query("select id, user_id, role::text, created_at from public.user_roles order by 1") == roles_before
    # The project's has_role is replaced by the hardened one (20261205000100_hardening.sql), with its grants kept.
    assert db.query(has_role_acl) == acl_before
    assert db.query("select proconfig from pg_proc where oid = 'public.has_role(uuid, public.app_role)'::regprocedure"
                    ) == [(['search_path=""'],)]

    if "supervisor" not in labels:
        grant_role(db, "supervisor")
    grant_role(db, "analyst")
    seed_instances(db)
    for persona, count in (("analyst", 2), ("supervisor", 2), ("admin", 2), ("norole", 0)):
        with db.api(persona) as conn:
            assert outcome(conn, ACTIONS["select_columns"]) == ("rows", count), persona
    with db.api("admin") as conn:
        assert outcome(conn, ACTIONS["token_fn"], {"id": INSTANCE_2}, scalar=True) == ("value", "tok-2")
    with db.api("analyst") as conn:
        assert outcome(conn, ACTIONS["token_fn"], {"id": INSTANCE_2})[:2] == ("error", "42501")
    # The history's policies hold with the enum values added by the first migration.
    with db.api("admin", commit=True) as conn:
        assert outcome(conn, HISTORY_ACTIONS["insert"], {"instance": INSTANCE_2}) == ("rows", 1)
    for persona, count in (("analyst", 1), ("supervisor", 1), ("norole", 0)):
        with db.api(persona) as conn:
            assert outcome(conn, HISTORY_ACTIONS["select"]) == ("rows", count), persona
            if count:
                assert outcome(conn, HISTORY_ACTIONS["insert"], {"instance": INSTANCE_2})[:2] == ("error", "42501")

    # Roles by e-mail from the app; values of app_role that are not the app's are left alone.
    others = {label for label in labels if label not in ("admin", "supervisor", "analyst")}
    for other in others:
        db.query("insert into public.user_roles (user_id, role) values (%(id)s, %(role)s)",
                 {"id": USERS["norole"], "role": other})
    with db.api("admin") as conn:
        assert grant(conn, "norole@test", "supervisor") == ("value", uuid.UUID(USERS["norole"]))
        assert set(roles_of(conn, "norole")) == {"supervisor"} | others
        assert conn.execute("select email, role from public.admin_list_role_holders()").fetchall() == [
            ("admin@test", "admin"), ("analyst@test", "analyst"), ("norole@test", "supervisor"),
            ("supervisor@test", "supervisor"),
        ]
        assert revoke(conn, "norole") == ("rows", 1)
        assert set(roles_of(conn, "norole")) == others
        assert revoke(conn, "admin")[:2] == ("error", "UA001")
    with db.api("service_role") as conn:
        assert conn.execute("select role from public.role_for_email('analyst@test')").fetchall() == [("analyst",)]

    # Pre-existing tables keep working, for anon too (has_role stays executable by anon).
    with db.api("anon") as conn:
        assert outcome(conn, "select id from public.profiles") == ("rows", len(USERS))
    with db.api("admin") as conn:
        assert outcome(conn, "update public.profiles set full_name = 'x'") == ("rows", len(USERS))
