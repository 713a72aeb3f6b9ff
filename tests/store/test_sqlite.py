import os
import sqlite3

import pytest

from lib.errors import InstanceNotFound, StoreError
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
