"""The new columns of instances on a real PostgreSQL 15 (20261205000000_provider_and_fleet.sql):
who reads and writes them, the trigger that keeps them, names unique by their key, the owners'
e-mails, the new history kinds, and the backfill of an existing project. Each test here fails on
the earlier migrations alone."""

from __future__ import annotations

import unicodedata
import uuid
from datetime import datetime, timezone

import psycopg
import pytest

from tests.support.rls import (  # noqa: F401 - server is a fixture
    INSTANCE_1, INSTANCE_2, MIGRATION_FILES, SHIM, USERS, Db, fresh_project, outcome, server,
)

NEW_COLUMNS = "disconnect_reason, provider_event_at, first_connected_at, owner_id, tags, notes, name_key"
LONG_AGO = datetime(2000, 1, 1, tzinfo=timezone.utc)
THIS_RELEASE = "20261205"  # the first migration file of this release starts so


@pytest.fixture(scope="module")
def db(server) -> Db:
    return fresh_project(server, "fleet")


@pytest.fixture
def restored(db):
    """The database's rows as they were before the test, whatever it committed."""
    roles = db.query("select user_id, role::text from public.user_roles")
    yield
    db.query("delete from public.instance_events")
    db.query("delete from public.instances where id <> all(%(ids)s::uuid[])", {"ids": [INSTANCE_1, INSTANCE_2]})
    db.query("update public.instances set owner_id = null, tags = '{}', notes = null")
    db.query("delete from public.user_roles")
    for user_id, role in roles:
        db.query("insert into public.user_roles (user_id, role) values (%(u)s, %(r)s)", {"u": user_id, "r": role})


def one(conn: psycopg.Connection, sql: str, params: tuple | dict = ()) -> tuple:
    return conn.execute(sql, params).fetchone()


# --- 1. New columns: every role reads them, admins write the details, the server the rest ------

@pytest.mark.parametrize(("persona", "expected"), [
    ("admin", ("rows", 2)), ("supervisor", ("rows", 2)), ("analyst", ("rows", 2)), ("norole", ("rows", 0)),
    ("service_role", ("rows", 2)),
])
def test_every_role_reads_the_new_columns(db, persona, expected):
    with db.api(persona) as conn:
        assert outcome(conn, f"select {NEW_COLUMNS} from public.instances") == expected


DETAILS = "update public.instances set name = 'Vendas SP', name_key = 'vendas sp', owner_id = %(owner)s," \
          " tags = array['Carteira A'], notes = 'Chip da Ana' where id = %(id)s"


@pytest.mark.parametrize(("persona", "expected"), [
    ("admin", ("rows", 1)), ("supervisor", ("rows", 0)), ("analyst", ("rows", 0)), ("norole", ("rows", 0)),
    ("service_role", ("rows", 1)),
])
def test_admins_and_the_server_write_the_details_and_readers_cannot(db, persona, expected):
    with db.api(persona) as conn:
        assert outcome(conn, DETAILS, {"owner": USERS["analyst"], "id": INSTANCE_1}) == expected


@pytest.mark.parametrize("assignment", ["provider_event_at = 5", "first_connected_at = now()"])
def test_the_providers_clock_and_the_first_connection_are_not_an_admins_to_write(db, assignment):
    with db.api("admin") as conn:
        assert outcome(conn, f"update public.instances set {assignment} where id = %(id)s",
                       {"id": INSTANCE_1})[:2] == ("error", "42501")
    with db.api("service_role") as conn:
        assert outcome(conn, f"update public.instances set {assignment} where id = %(id)s",
                       {"id": INSTANCE_2}) == ("rows", 1)


def test_a_pushed_event_applies_only_when_newer_in_one_update(db):
    """What PostgrestInstances.record_check sends: the event's time as a filter on the PATCH."""
    newer = ("update public.instances set status = %(status)s, provider_event_at = %(at)s where id = %(id)s"
             " and (provider_event_at is null or provider_event_at < %(at)s) returning status")
    with db.api("service_role") as conn:
        assert conn.execute(newer, {"status": "disconnected", "at": 2_000, "id": INSTANCE_1}).fetchall() == [
            ("disconnected",)]
        assert conn.execute(newer, {"status": "connected", "at": 1_999, "id": INSTANCE_1}).fetchall() == []
        assert one(conn, "select status, provider_event_at from public.instances where id = %s", (INSTANCE_1,)) == (
            "disconnected", 2_000)


def test_first_connected_at_is_set_the_first_time_it_connects_and_never_after(db, restored):
    with db.api("service_role", commit=True) as conn:
        id = one(conn, "insert into public.instances (instance_id, token, name, name_key)"
                       " values ('inst-f', 't', 'Primeira', 'primeira') returning id")[0]
        assert one(conn, "select first_connected_at from public.instances where id = %s", (id,)) == (None,)
    with db.api("admin", commit=True) as conn:
        conn.execute("update public.instances set status = 'connected' where id = %s", (id,))
        first, changed = one(conn, "select first_connected_at, status_changed_at from public.instances where id = %s",
                             (id,))
    assert first == changed is not None
    with db.api("service_role", commit=True) as conn:
        conn.execute("update public.instances set status = 'disconnected' where id = %s", (id,))
        conn.execute("update public.instances set status = 'connected', first_connected_at = now() where id = %s",
                     (id,))
        assert one(conn, "select first_connected_at from public.instances where id = %s", (id,)) == (first,)


@pytest.mark.parametrize(("assignment", "moves"), [
    ("owner_id = %(owner)s", True), ("tags = array['vip']", True), ("notes = 'Chip da Ana'", True),
    ("disconnect_reason = '401'", True), ("name = 'Vendas SP', name_key = 'vendas sp'", True),
    ("provider_event_at = 7", False),
], ids=["owner", "tags", "notes", "reason", "rename", "event-time"])
def test_a_change_of_the_details_moves_every_open_screens_version(db, restored, assignment, moves):
    db.query("update public.instances set updated_at = %(t)s", {"t": LONG_AGO})
    with db.api("analyst") as reader:
        before = one(reader, "select public.instances_version()")[0]
    db.query(f"update public.instances set {assignment} where id = %(id)s", {"owner": USERS["analyst"], "id": INSTANCE_1})
    with db.api("analyst") as reader:
        assert (one(reader, "select public.instances_version()")[0] != before) is moves


def test_names_are_unique_by_their_key_and_a_row_written_without_one_gets_nfc_lower_case(db, restored):
    insert = "insert into public.instances (instance_id, token, name{key}) values (%(iid)s, 't', %(name)s{value})"
    with db.api("admin", commit=True) as conn:
        conn.execute(insert.format(key=", name_key", value=", %(key)s"),
                     {"iid": "c1", "name": "Cobrança", "key": "cobrança"})
    nfd = unicodedata.normalize("NFD", "Cobrança")  # lower(name) differs: only the key sees the twin
    cyrillic = "\u0421\u043ebrança"
    for name, key in ((nfd, None), (cyrillic, "cobrança")):
        with db.api("admin") as conn:
            got = outcome(conn, insert.format(key=", name_key", value=", %(key)s") if key else insert.format(
                key="", value=""), {"iid": "c2", "name": name, "key": key})
        assert got[:2] == ("error", "23505") and "instances_name_key_key" in got[2], name
    with db.api("admin") as conn:
        conn.execute(insert.format(key="", value=""), {"iid": "c3", "name": "Suporte Ç", "key": None})
        assert one(conn, "select name_key from public.instances where instance_id = 'c3'") == ("suporte ç",)


def test_a_deleted_owner_leaves_the_instance_without_one(db, restored):
    gone = str(uuid.uuid4())
    db.query("insert into auth.users (id, email) values (%(id)s, 'gone@test')", {"id": gone})
    db.query("update public.instances set owner_id = %(id)s where id = %(i)s", {"id": gone, "i": INSTANCE_1})
    db.query("delete from auth.users where id = %(id)s", {"id": gone})
    assert db.query("select owner_id from public.instances where id = %(i)s", {"i": INSTANCE_1}) == [(None,)]


@pytest.mark.parametrize(("persona", "expected"), [
    ("admin", [("analyst@test",)]), ("supervisor", [("analyst@test",)]), ("analyst", [("analyst@test",)]),
    ("service_role", [("analyst@test",)]), ("norole", []),
])
def test_the_owners_emails_and_nobody_elses_are_every_roles_to_read(db, restored, persona, expected):
    db.query("update public.instances set owner_id = %(o)s", {"o": USERS["analyst"]})
    with db.api(persona) as conn:
        assert conn.execute("select email from public.instance_owner_emails()").fetchall() == expected
    with db.api("anon") as conn:
        assert outcome(conn, "select * from public.instance_owner_emails()")[:2] == ("error", "42501")


def test_the_history_takes_the_new_kinds(db, restored):
    with db.api("service_role") as conn:
        for kind in ("renamed", "details_changed", "restarted", "imported", "events_registered", "stale_event", "gone"):
            assert outcome(conn, "insert into public.instance_events (instance_name, kind, source)"
                                 " values ('X', %(k)s, 'provider_event')", {"k": kind}) == ("rows", 1), kind


def test_an_existing_project_gets_the_new_columns_filled_in(server):
    db = Db(server, "fleet_upgrade")
    db.script(SHIM)
    for path in MIGRATION_FILES:  # the project as the previous release left it
        if path.name < THIS_RELEASE:
            db.script(path.read_text())
    at = {minute: datetime(2026, 11, 1, 12, minute, tzinfo=timezone.utc) for minute in (1, 2, 3, 4, 5, 6, 20)}
    for id, name, status, minute in (("a", "Cobrança", "connected", 1), ("b", unicodedata.normalize("NFD", "Cobrança"),
                                     "connected", 2), ("c", "Suporte", "disconnected", 3), ("d", "Vendas", "disconnected", 4)):
        db.query("insert into public.instances (id, instance_id, token, name, status, created_at) values"
                 " (%(id)s, %(iid)s, 't', %(name)s, %(status)s, %(created)s)",
                 {"id": uid(id), "iid": f"inst-{id}", "name": name, "status": status, "created": at[minute]})
    db.query("update public.instances set status_changed_at = %(t)s, updated_at = %(t)s", {"t": at[20]})
    for instance, kind, minute in (("a", "connected", 5), ("a", "connected", 3), ("a", "dropped", 2),
                                   ("d", "connected", 6), ("c", "created", 3)):
        db.query("insert into public.instance_events (instance_id, instance_name, kind, source, created_at)"
                 " values (%(i)s, 'x', %(k)s, 'monitor', %(t)s)", {"i": uid(instance), "k": kind, "t": at[minute]})

    for path in MIGRATION_FILES:
        if path.name >= THIS_RELEASE:
            db.script(path.read_text())
            db.script(path.read_text())  # safe to run twice

    rows = db.query("select id, first_connected_at, name_key, tags, owner_id, notes, disconnect_reason, updated_at"
                    " from public.instances order by created_at")
    assert rows == [
        (uuid.UUID(uid("a")), at[3], "cobrança", [], None, None, None, at[20]),  # its earliest connected event
        (uuid.UUID(uid("b")), at[20], f"cobrança #{uid('b')}", [], None, None, None, at[20]),  # connected now
        (uuid.UUID(uid("c")), None, "suporte", [], None, None, None, at[20]),
        (uuid.UUID(uid("d")), at[6], "vendas", [], None, None, None, at[20]),
    ]


def uid(letter: str) -> str:
    return f"40000000-0000-4000-8000-00000000000{letter}"
