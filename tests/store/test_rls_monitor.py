"""The migrations on a real PostgreSQL 15, as test_rls.py replays them: the status monitor's
columns, trigger, functions and lease."""

from __future__ import annotations

import uuid
from datetime import datetime, timezone

import psycopg
import pytest
from psycopg.rows import dict_row

from tests.support.rls import (  # noqa: F401 - server is a fixture
    INSTANCE_1, INSTANCE_2, INSTANCES_MIGRATION, SHIM, STATUS_MONITOR_MIGRATION, Db, fresh_project, outcome, server,
)


@pytest.fixture(scope="module")
def fresh(server) -> Db:
    return fresh_project(server, "rls_monitor")


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


def versions(db: Db) -> dict[str, str]:
    """What instances_version() says to an analyst and to a user with no role."""
    result = {}
    for persona in ("analyst", "norole"):
        with db.api(persona) as conn:
            result[persona] = version(conn)
    return result


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
    before = versions(fresh)
    fresh.query("insert into public.instances (instance_id, token, name) values ('inst-w', 'tok-w', 'Outra')")
    try:
        after = versions(fresh)
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
