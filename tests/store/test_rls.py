"""Row Level Security and grants of the instances and user_roles tables, on a real PostgreSQL 15
(the monitor's, the history's and the user-admin functions, and the migrations run again:
test_rls_*.py).

Each API request is replayed the way PostgREST runs it: connect as
`authenticator`, `set local role anon|authenticated`, put the JWT claims in
`request.jwt.claims`, run the statement, roll back.
"""

from __future__ import annotations

import pytest

from tests.support.rls import INSTANCE_1, USERS, Db, fresh_project, outcome, server  # noqa: F401 - server is a fixture

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
