import json
import os
import sqlite3
import unicodedata
from datetime import datetime

import pytest

from lib.errors import InstanceNotFound, StoreError, ValidationError
from lib.store.sqlite.database import MIGRATIONS, SCHEMA, SQLiteDatabase
from lib.store.sqlite.instances import SQLiteInstanceStore


@pytest.fixture
def store(database):
    return SQLiteInstanceStore(database)


def test_insert_list_get_and_token(store):
    a = store.insert_instance(instance_id="p-1", token="tok-1", name="Cobrança", created_by="u1")
    b = store.insert_instance(instance_id="p-2", token="tok-2", name="Suporte", created_by="u1")
    assert a.status == "disconnected" and a.phone_number is None
    assert [i.id for i in store.list_instances()] == [b.id, a.id]  # newest first
    assert store.get_instance(a.id) == a
    assert store.instance_token(b.id) == "tok-2"
    assert not hasattr(a, "token")


def test_database_file_uses_wal(database):
    conn = sqlite3.connect(database.path)
    assert conn.execute("pragma journal_mode").fetchone()[0] == "wal"
    assert os.path.exists(database.path)


def test_updated_at_moves_on_every_update(store):
    row = store.insert_instance(instance_id="p-1", token="t", name="n", created_by=None)
    updated = store.update_status(row.id, status="connecting", phone_number=None)
    again = store.update_status(row.id, status="connected", phone_number="+5511999990000")
    assert row.updated_at < updated.updated_at < again.updated_at
    assert again.created_at == row.created_at
    assert again.phone_number == "+5511999990000"


def test_compare_and_set_refuses_a_stale_update(store):
    row = store.insert_instance(instance_id="p-1", token="t", name="n", created_by=None)
    store.update_status(row.id, status="disconnected", phone_number=None)
    after = store.update_status(row.id, status="connected", phone_number="+5511999990000", expected_status="connecting")
    assert after.status == "disconnected" and after.phone_number is None


def test_unique_provider_id_and_status_check(store):
    row = store.insert_instance(instance_id="p-1", token="t", name="n", created_by=None)
    with pytest.raises(StoreError):
        store.insert_instance(instance_id="p-1", token="t2", name="m", created_by=None)
    with pytest.raises(StoreError):
        store.update_status(row.id, status="bogus", phone_number=None)


def test_missing_rows_raise_not_found(store):
    with pytest.raises(InstanceNotFound):
        store.get_instance("nope")
    with pytest.raises(InstanceNotFound):
        store.delete_instance("nope")
    with pytest.raises(InstanceNotFound):
        store.instance_token("nope")
    with pytest.raises(InstanceNotFound):
        store.update_status("nope", status="connected", phone_number=None)


# --- What the provider said last, the first connection, details, names ------------------------

def seeded(store, name="Cobrança", status="disconnected"):
    row = store.insert_instance(instance_id=f"p-{name}", token="t", name=name, created_by=None)
    return store.update_status(row.id, status=status, phone_number=None) if status != row.status else row


def test_a_new_row_has_no_owner_tags_notes_nor_provider_time_and_its_name_key(store):
    row = store.insert_instance(instance_id="p-1", token="t", name=unicodedata.normalize("NFD", "Cobrança"),
                                created_by=None)
    assert (row.name, row.name_key) == ("Cobrança", "cobrança")
    assert (row.disconnect_reason, row.provider_event_at, row.first_connected_at) == (None, None, None)
    assert (row.owner_id, row.tags, row.notes) == (None, (), None)


@pytest.mark.parametrize("twin", [unicodedata.normalize("NFD", "Cobrança"), "\u0421\u043ebrança", "COBRANÇA"],
                         ids=["nfd", "cyrillic", "upper"])
def test_a_look_alike_name_is_refused_as_a_duplicate(store, twin):
    seeded(store)
    with pytest.raises(ValidationError) as refused:
        store.insert_instance(instance_id="p-2", token="t", name=twin, created_by=None)
    assert refused.value.message == "Já existe uma instância com este nome."
    assert store.insert_instance(instance_id="p-3", token="t", name="Cobrança 01 – Ana", created_by=None).name_key == (
        "cobrança 01 – ana")


def test_first_connected_at_is_set_once_the_first_time_it_connects(store):
    row = seeded(store)
    first = store.update_status(row.id, status="connected", phone_number="5511999990000")
    assert first.first_connected_at == first.status_changed_at is not None
    store.update_status(row.id, status="disconnected", phone_number=None)
    again = store.record_check(row.id, status="connected", phone_number="5511999990000", expected_status="disconnected")
    assert again.status_changed_at > first.first_connected_at == again.first_connected_at


def test_the_reason_of_a_drop_is_kept_until_it_connects_or_a_user_disconnects_it(store):
    row = seeded(store, status="connected")
    dropped = store.record_check(row.id, status="disconnected", phone_number=None, expected_status="connected",
                                 reason="401")
    assert (dropped.status, dropped.dropped, dropped.disconnect_reason) == ("disconnected", True, "401")
    checked = store.record_check(row.id, status="connecting", phone_number=None, expected_status="disconnected")
    assert checked.disconnect_reason == "401"  # no new reason: the last one stays
    back = store.record_check(row.id, status="connected", phone_number=None, expected_status="connecting")
    assert back.disconnect_reason is None
    store.record_check(row.id, status="disconnected", phone_number=None, expected_status="connected", reason="x" * 50)
    assert store.get_instance(row.id).disconnect_reason == "x" * 20  # a provider's odd text never fails the write
    reconnecting = store.update_status(row.id, status="connecting", phone_number=None)  # a user's: still that drop
    assert (reconnecting.dropped, reconnecting.disconnect_reason) == (True, "x" * 20)
    given_up = store.record_check(row.id, status="disconnected", phone_number=None, expected_status="connecting",
                                  reason="401")  # the give-up's own reason is not the drop's
    assert (given_up.dropped, given_up.disconnect_reason) == (True, "x" * 20)
    ahead = store.update_status(row.id, status="disconnected", phone_number=None, keep_drop=True)
    assert (ahead.dropped, ahead.disconnect_reason) == (True, "x" * 20)  # ahead of the provider: undone if it fails
    by_a_user = store.update_status(row.id, status="disconnected", phone_number=None)
    assert (by_a_user.dropped, by_a_user.disconnect_reason) == (False, None)


def test_the_time_of_a_drop_is_kept_through_a_reconnection_given_up_on(store):
    row = seeded(store, status="connected")
    assert row.dropped_at is None
    dropped = store.record_check(row.id, status="disconnected", phone_number=None, expected_status="connected")
    assert dropped.dropped_at == dropped.status_changed_at is not None
    connecting = store.update_status(row.id, status="connecting", phone_number=None)
    given_up = store.record_check(row.id, status="disconnected", phone_number=None, expected_status="connecting")
    assert connecting.dropped_at == given_up.dropped_at == dropped.dropped_at < given_up.status_changed_at
    back = store.record_check(row.id, status="connected", phone_number="5511999990000", expected_status="disconnected")
    assert (back.dropped, back.dropped_at) == (False, None)
    again = store.record_check(row.id, status="disconnected", phone_number=None, expected_status="connected")
    assert again.dropped_at > dropped.dropped_at  # a new drop, a new time


def test_a_pushed_event_applies_only_when_newer_than_the_last_applied(store):
    row = seeded(store, status="connected")
    first = store.record_check(row.id, status="disconnected", phone_number=None, expected_status="connected",
                               reason="428", event_at=2_000)
    assert (first.status, first.provider_event_at) == ("disconnected", 2_000)
    for stale in (1_999, 2_000):
        refused = store.record_check(row.id, status="connected", phone_number="5511999990000",
                                     expected_status="disconnected", event_at=stale)
        assert refused is None and store.get_instance(row.id) == first, stale
    applied = store.record_check(row.id, status="connected", phone_number="5511999990000",
                                 expected_status="disconnected", event_at=2_001)
    assert (applied.status, applied.provider_event_at) == ("connected", 2_001)
    polled = store.record_check(row.id, status="disconnected", phone_number=None, expected_status="connected")
    assert (polled.status, polled.provider_event_at) == ("disconnected", 2_001)  # a check carries no event time


def test_a_failed_checks_message_is_kept_to_300_characters(store):
    row = seeded(store)
    assert store.record_check_failure(row.id, error="x" * 1_000, max_failures=3).last_error == "x" * 300


def test_note_event_time_moves_forward_only_and_refreshes_no_screen(store):
    row = seeded(store)
    version = store.version()
    assert store.note_event_time(row.id, 1_000) is True
    assert store.note_event_time(row.id, 1_000) is False
    assert store.note_event_time(row.id, 999) is False
    assert store.note_event_time(row.id, 1_001) is True
    assert store.get_instance(row.id).provider_event_at == 1_001
    assert store.get_instance(row.id).updated_at == row.updated_at and store.version() == version
    with pytest.raises(InstanceNotFound):
        store.note_event_time("nope", 5)


def add_user(database, email="ana@example.com") -> str:
    with database.connect() as conn:
        conn.execute("insert into users (id, email, password_hash, role, created_at) values (?, ?, 'x', 'analyst', ?)",
                     (email, email, "2026-12-01T00:00:00+00:00"))
    return email


def test_details_are_written_together_and_every_screen_refreshes(store, database):
    row, owner = seeded(store), add_user(database)
    version = store.version()
    after = store.update_details(row.id, name=" Cobrança – Ana ", owner_id=owner, tags=["Carteira A", " vip ", "VIP"],
                                 notes="Chip da Ana.\nNão desligar.")
    assert (after.name, after.name_key, after.owner_id, after.tags, after.notes) == (
        "Cobrança – Ana", "cobrança – ana", owner, ("Carteira A", "vip"), "Chip da Ana.\nNão desligar.")
    assert after.updated_at > row.updated_at and store.version() != version
    assert store.get_instance(row.id) == after
    assert store.owner_emails() == {owner: "ana@example.com"}
    cleared = store.update_details(row.id, name="Cobrança", owner_id=None, tags=(), notes="  ")
    assert (cleared.owner_id, cleared.tags, cleared.notes) == (None, (), None)
    assert store.owner_emails() == {}


def test_details_refused(store, database):
    row, other = seeded(store), seeded(store, name="Suporte")
    cases = [
        ({"name": "\u0405uporte"}, "Já existe uma instância com este nome."),  # Cyrillic Ѕ
        ({"name": "\u3164"}, "O nome não pode ficar em branco."),
        ({"owner_id": "ghost"}, "O responsável escolhido não é mais um usuário do app."),
        ({"notes": "x" * 501}, "As observações devem ter no máximo 500 caracteres (têm 501)."),
        ({"tags": [f"t{n}" for n in range(11)]}, "No máximo 10 etiquetas por instância (há 11)."),
    ]
    for change, message in cases:
        details = {"name": "Cobrança", "owner_id": None, "tags": (), "notes": None} | change
        with pytest.raises(ValidationError) as refused:
            store.update_details(row.id, **details)
        assert refused.value.message == message, change
    assert store.get_instance(row.id) == row and store.get_instance(other.id) == other
    with pytest.raises(InstanceNotFound):
        store.update_details("nope", name="Outra", owner_id=None, tags=(), notes=None)


def test_a_deleted_owner_leaves_the_instance_without_one(store, database):
    row, owner = seeded(store), add_user(database)
    store.update_details(row.id, name="Cobrança", owner_id=owner, tags=(), notes=None)
    with database.connect() as conn:
        conn.execute("delete from users where id = ?", (owner,))
    assert store.get_instance(row.id).owner_id is None


@pytest.mark.parametrize(("assignment", "value"), [
    ("name", "x" * 1_000_000), ("notes", "x" * 1_000_000), ("disconnect_reason", "x" * 21),
    ("tags", json.dumps([f"t{n}" for n in range(11)])), ("tags", json.dumps(["x" * 31])), ("tags", json.dumps([""])),
    ("tags", "not json"), ("tags", "{}"),
])
def test_the_file_refuses_values_over_the_limits_whoever_writes(store, database, assignment, value):
    row = seeded(store)
    with pytest.raises(StoreError):
        with database.connect() as conn:
            conn.execute(f"update instances set {assignment} = ? where id = ?", (value, row.id))
    new = {"id": "n", "instance_id": "p-n", "token": "t", "name": "n", "created_at": "x", "updated_at": "x"}
    new[assignment] = value
    with pytest.raises(StoreError):
        with database.connect() as conn:
            conn.execute(f"insert into instances ({', '.join(new)}) values ({', '.join('?' * len(new))})",
                         tuple(new.values()))
    assert store.list_instances() == [row]


def test_the_limits_themselves_are_accepted(store):
    row = seeded(store)
    after = store.update_details(row.id, name="x" * 60, owner_id=None, tags=[f"{n}" * 30 for n in range(10)],
                                 notes="x" * 500)
    assert (len(after.name), len(after.tags), len(after.notes)) == (60, 10, 500)


def test_an_older_file_is_brought_up_to_date_with_the_new_columns_filled_in(tmp_path):
    path = tmp_path / "app.sqlite3"
    with sqlite3.connect(path) as conn:  # the file as the previous version left it
        conn.executescript(SCHEMA)
        for script in MIGRATIONS[:5]:
            conn.executescript(script)
        conn.execute("pragma user_version = 5")
        for id, name, status, created in (("a", "Cobrança", "connected", "01"), ("b", NFD_NAME, "connected", "02"),
                                          ("c", "Suporte", "disconnected", "03"), ("d", "Vendas", "disconnected", "04")):
            conn.execute("insert into instances (id, instance_id, token, name, status, created_at, updated_at,"
                         " status_changed_at) values (?, ?, 't', ?, ?, ?, ?, ?)",
                         (id, f"p-{id}", name, status, at(created), at(created), at("20")))
        conn.execute("update instances set dropped = 1 where id = 'c'")  # down since its last change ("20")
        for instance, kind, created in (("a", "connected", "05"), ("a", "connected", "03"), ("a", "dropped", "02"),
                                        ("d", "connected", "06"), ("c", "created", "03")):
            conn.execute("insert into instance_events (instance_id, instance_name, kind, source, created_at)"
                         " values (?, 'x', ?, 'monitor', ?)", (instance, kind, at(created)))
    store = SQLiteInstanceStore(SQLiteDatabase(path))
    rows = {row.id: row for row in store.list_instances()}
    assert {id: (row.first_connected_at, row.name_key) for id, row in rows.items()} == {
        "a": (datetime.fromisoformat(at("03")), "cobrança"),  # its earliest connected event
        "b": (datetime.fromisoformat(at("20")), "cobrança #b"),  # connected now, no event: since its last change
        "c": (None, "suporte"),
        "d": (datetime.fromisoformat(at("06")), "vendas"),
    }
    assert {(row.tags, row.owner_id, row.notes, row.disconnect_reason) for row in rows.values()} == {
        ((), None, None, None)}
    assert {id: row.dropped_at for id, row in rows.items()} == {
        "a": None, "b": None, "c": datetime.fromisoformat(at("20")), "d": None}
    assert store.update_details("b", name="Cobrança 2", owner_id=None, tags=(), notes=None).name_key == "cobrança 2"
    with pytest.raises(ValidationError):
        store.update_details("c", name=NFD_NAME, owner_id=None, tags=(), notes=None)


NFD_NAME = unicodedata.normalize("NFD", "Cobrança")


def at(minute: str) -> str:
    return f"2026-11-01T12:{minute}:00.000000+00:00"
