"""What a hostile review of the earlier migrations found, on a real PostgreSQL 15
(20261205000100_hardening.sql): the last admin, the history's kinds, the length of every text, the
role checks, and the search_path of the definer functions. Each rule has a test that fails on the
earlier migrations alone; the others show that what worked still works."""

from __future__ import annotations

import psycopg
import pytest

from tests.support.rls import (  # noqa: F401 - server is a fixture
    INSTANCE_1, MIGRATION_FILES, SHIM, USERS, Db, fresh_project, outcome, server,
)

HARDENING = "20261205000100_hardening.sql"
MEGABYTE = "x" * 1_000_000
USER_KINDS = ("created", "connect_requested", "disconnected", "deleted", "token_revealed",
              "renamed", "details_changed", "restarted", "imported", "events_registered")
SERVER_KINDS = ("connected", "dropped", "status_changed", "check_failed", "check_recovered", "alert_sent",
                "alert_failed", "stale_event", "gone")


@pytest.fixture(scope="module")
def db(server) -> Db:
    return fresh_project(server, "hardening")


def roles(db: Db) -> list[tuple[str, str]]:
    return db.query("select user_id::text, role::text from public.user_roles order by 2, 1")


# --- 2. Roles leave only through the functions that keep the last admin ------------------------

@pytest.mark.parametrize("statement", [
    "delete from public.user_roles where user_id = %(me)s",
    "delete from public.user_roles",
    "update public.user_roles set role = 'analyst' where user_id = %(me)s",
    "truncate public.user_roles",
], ids=["delete-own", "delete-all", "demote-own", "truncate"])
def test_the_last_admin_cannot_remove_their_role_through_the_table(db, statement):
    before = roles(db)
    with db.api("admin", commit=True) as conn:
        assert outcome(conn, statement, {"me": USERS["admin"]})[:2] == ("error", "42501")
    assert roles(db) == before and (USERS["admin"], "admin") in before


def test_the_guarded_functions_still_remove_roles_and_keep_the_last_admin(db):
    before = roles(db)
    try:
        with db.api("admin", commit=True) as conn:
            assert outcome(conn, "select public.admin_revoke_role(%(me)s)", {"me": USERS["admin"]})[:2] == (
                "error", "UA001")
        with db.api("admin", commit=True) as conn:
            assert outcome(conn, "select public.admin_grant_role('supervisor@test', 'admin')")[0] == "rows"
            assert outcome(conn, "select public.admin_revoke_role(%(me)s)", {"me": USERS["admin"]}) == ("rows", 1)
        assert [role for role in roles(db) if role[1] == "admin"] == [(USERS["supervisor"], "admin")]
    finally:
        db.query("delete from public.user_roles")
        for user_id, role in before:
            db.query("insert into public.user_roles (user_id, role) values (%(u)s, %(r)s)", {"u": user_id, "r": role})


# --- 3. API users write what users do; the monitor's and the provider's kinds are the server's --

def insert_event(db: Db, persona: str, kind: str, source: str = "user") -> tuple:
    with db.api(persona) as conn:
        return outcome(conn, "insert into public.instance_events (instance_id, instance_name, kind, source)"
                             " values (%(i)s, 'Vendas', %(k)s, %(s)s)", {"i": INSTANCE_1, "k": kind, "s": source})


@pytest.mark.parametrize("kind", USER_KINDS)
def test_an_admin_writes_what_users_do(db, kind):
    assert insert_event(db, "admin", kind) == ("rows", 1)


@pytest.mark.parametrize("kind", SERVER_KINDS)
def test_an_admin_cannot_write_the_monitors_or_the_providers_events(db, kind):
    got = insert_event(db, "admin", kind)
    assert got[:2] == ("error", "42501") and "row-level security" in got[2]
    assert insert_event(db, "service_role", kind, "monitor") == ("rows", 1)


@pytest.mark.parametrize("source", ["monitor", "provider_event"])
def test_an_admin_writes_only_as_a_user(db, source):
    assert insert_event(db, "admin", "token_revealed", source)[:2] == ("error", "42501")


# --- 4. Every text has the app's limit -------------------------------------------------------

INSTANCE_LIMITS = [
    ("name", 60), ("instance_id", 200), ("token", 1000), ("phone_number", 16), ("last_phone_number", 16),
    ("last_error", 300), ("disconnect_reason", 20), ("notes", 500),
]
EVENT_LIMITS = [("instance_name", 60), ("actor_email", 254), ("phone_number", 16)]


@pytest.mark.parametrize(("column", "limit"), INSTANCE_LIMITS, ids=[c for c, _ in INSTANCE_LIMITS])
def test_instances_take_a_text_up_to_its_limit_and_refuse_a_megabyte(db, column, limit):
    update = f"update public.instances set {column} = %(v)s where id = %(id)s"
    with db.api("service_role") as conn:  # the server may write every column: only the limit stops it
        assert outcome(conn, update, {"v": "1" * limit, "id": INSTANCE_1}) == ("rows", 1)
        assert outcome(conn, update, {"v": "1" * (limit + 1), "id": INSTANCE_1})[:2] == ("error", "23514")
    with db.api("service_role") as conn:
        assert outcome(conn, update, {"v": MEGABYTE, "id": INSTANCE_1})[:2] == ("error", "23514")


@pytest.mark.parametrize(("tags", "accepted"), [
    ([f"{n}" * 30 for n in range(10)], True), ([], True),
    ([f"t{n}" for n in range(11)], False), (["x" * 31], False), ([""], False), ([None], False), ([MEGABYTE], False),
], ids=["ten-of-30", "none", "eleven", "31-chars", "empty", "null", "megabyte"])
def test_tags_are_at_most_ten_of_1_to_30_characters(db, tags, accepted):
    with db.api("admin") as conn:
        got = outcome(conn, "update public.instances set tags = %(t)s::text[] where id = %(id)s",
                      {"t": tags, "id": INSTANCE_1})
    assert got == ("rows", 1) if accepted else got[:2] == ("error", "23514")


@pytest.mark.parametrize(("column", "limit"), EVENT_LIMITS, ids=[c for c, _ in EVENT_LIMITS])
def test_events_take_a_text_up_to_its_limit_and_refuse_a_megabyte(db, column, limit):
    for value, expected in (("1" * limit, ("rows", 1)), ("1" * (limit + 1), ("error", "23514")),
                            (MEGABYTE, ("error", "23514"))):
        row = {"instance_name": "Vendas", "kind": "alert_sent", "source": "monitor", column: value}
        with db.api("service_role") as conn:
            got = outcome(conn, f"insert into public.instance_events ({', '.join(row)})"
                                f" values ({', '.join(f'%({c})s' for c in row)})", row)
        assert got[:2] == expected, len(value)


def test_rows_over_a_limit_from_before_do_not_stop_the_migration(server):
    db = Db(server, "hardening_old_rows")
    db.script(SHIM)
    for path in MIGRATION_FILES:
        if path.name < HARDENING:
            db.script(path.read_text())
    db.query("insert into public.instances (instance_id, token, name, name_key) values ('old', 't', %(n)s, 'old')",
             {"n": "x" * 100})
    for path in MIGRATION_FILES:
        if path.name >= HARDENING:
            db.script(path.read_text())
    assert db.query("select char_length(name) from public.instances") == [(100,)]
    assert db.query("select convalidated from pg_constraint where conname = 'instances_name_length'") == [(False,)]


# --- 5. Role checks answer about the caller only (or to admins and the server) -----------------

@pytest.mark.parametrize(("persona", "about_admin"), [
    ("norole", False), ("analyst", False), ("supervisor", False), ("admin", True), ("service_role", True),
])
def test_has_role_tells_nobody_but_admins_and_the_server_who_holds_a_role(db, persona, about_admin):
    with db.api(persona) as conn:
        assert one(conn, "select public.has_role(%(u)s, 'admin'), public.has_any_role(%(u)s, array['admin'])",
                   {"u": USERS["admin"]}) == (about_admin, about_admin)
        if persona not in ("norole", "service_role"):  # about oneself, always the truth
            assert one(conn, "select public.has_role(auth.uid(), %(r)s::public.app_role),"
                             " public.has_any_role(auth.uid(), array[%(r)s::text])",
                       {"r": persona}) == (True, True)


# --- 6. Definer functions search nothing but what they name -----------------------------------

def test_every_definer_function_has_an_empty_search_path(db):
    definers = db.query("select p.oid::regprocedure::text, p.proconfig from pg_proc p"
                        " where p.pronamespace = 'public'::regnamespace and p.prosecdef order by 1")
    assert {name for name, _ in definers} >= {
        "has_role(uuid,app_role)", "has_any_role(uuid,text[])", "instance_token(uuid)",
        "claim_monitor_lease(text,integer)", "release_monitor_lease(text)", "instance_owner_emails()",
        "admin_list_role_holders()", "admin_grant_role(text,text)", "admin_revoke_role(uuid)", "role_for_email(text)",
    }
    assert [name for name, config in definers if config != ['search_path=""']] == []


def test_the_definer_functions_still_work(db):
    with db.api("analyst") as conn:
        assert one(conn, "select public.has_role(auth.uid(), 'analyst'), public.has_role(auth.uid(), 'admin')") == (
            True, False)
        assert outcome(conn, "select * from public.instance_owner_emails()") == ("rows", 0)
        assert outcome(conn, "select public.instance_token(%(id)s)", {"id": INSTANCE_1})[:2] == ("error", "42501")
    with db.api("admin") as conn:
        assert one(conn, "select public.instance_token(%(id)s)", {"id": INSTANCE_1}) == ("tok-1",)
        assert outcome(conn, "select * from public.admin_list_role_holders()") == ("rows", 3)
    with db.api("service_role", commit=True) as conn:
        assert one(conn, "select public.claim_monitor_lease('replica-a', 60)") == (True,)
        assert one(conn, "select public.claim_monitor_lease('replica-b', 60)") == (False,)
        conn.execute("select public.release_monitor_lease('replica-a')")
        assert one(conn, "select public.claim_monitor_lease('replica-b', 0)") == (True,)


def one(conn: psycopg.Connection, sql: str, params: dict | None = None) -> tuple:
    return conn.execute(sql, params).fetchone()
