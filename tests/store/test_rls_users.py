"""The migrations on a real PostgreSQL 15, as test_rls.py replays them: users and roles managed
from the app (the user-admin functions)."""

from __future__ import annotations

import threading
import uuid
from datetime import datetime, timezone

import psycopg
import pytest

from tests.support.rls import USERS, Db, fresh_project, outcome, server  # noqa: F401 - server is a fixture


@pytest.fixture(scope="module")
def fresh(server) -> Db:
    return fresh_project(server, "rls_users")


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
