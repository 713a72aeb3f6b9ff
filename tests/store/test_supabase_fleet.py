"""The release's store methods in Supabase mode, against the HTTP double of PostgREST: names by
their key, the reason of a drop, the provider's event time, an instance's details and owners."""

from __future__ import annotations

import json
import unicodedata
import uuid
from datetime import datetime

import pytest

from lib.errors import InstanceNotFound, PermissionDenied, StoreError, ValidationError
from lib.models import InstanceEvent
from lib.store.supabase.instances import PostgrestInstances
from lib.store.supabase.server import SupabaseServerStore
from lib.store.supabase.user_client import SupabaseUserClient
from tests.support.supabase_double import (  # noqa: F401 - clock and fake are fixtures
    PASSWORD, SERVER_SETTINGS, SETTINGS, clock, fake,
)

NFD = unicodedata.normalize("NFD", "Cobrança")
CYRILLIC = "\u0421\u043ebrança"  # С and о are Cyrillic


def admin_store(email: str = "admin@example.com"):
    session = SupabaseUserClient(SETTINGS)
    session.sign_in(email, PASSWORD)
    return session.store()


def admin_store_with(system_events, email: str = "admin@example.com"):
    session = SupabaseUserClient(SETTINGS)
    session.sign_in(email, PASSWORD)
    return session.store(system_events)


def server() -> SupabaseServerStore:
    return SupabaseServerStore(SERVER_SETTINGS)


def last_patch(fake):
    request = [r for r in fake.rest_requests("instances") if r.method == "PATCH"][-1]
    return json.loads(request.content), dict(request.url.params)


def test_the_new_columns_are_read_and_parsed(fake):
    fake.add_row("one", status="connected", disconnect_reason=None, provider_event_at=1_764_000_000_123,
                 first_connected_at="2026-11-30T12:00:00+00:00", owner_id=fake.admin_id, tags=["Carteira A", "vip"],
                 notes="Chip da Ana", name_key="one")
    [one] = admin_store().list_instances()
    assert (one.provider_event_at, one.first_connected_at, one.owner_id, one.tags, one.notes, one.name_key) == (
        1_764_000_000_123, datetime.fromisoformat("2026-11-30T12:00:00+00:00"), fake.admin_id, ("Carteira A", "vip"),
        "Chip da Ana", "one")


def test_a_new_name_goes_in_nfc_with_its_key(fake):
    instance = admin_store().insert_instance(instance_id="one", token="t", name=NFD, created_by=None)
    assert (instance.name, instance.name_key) == ("Cobrança", "cobrança")
    body = json.loads(fake.rest_requests("instances")[-1].content)
    assert (body["name"], body["name_key"]) == ("Cobrança", "cobrança")


@pytest.mark.parametrize("twin", [NFD, CYRILLIC], ids=["nfd", "cyrillic"])
def test_a_look_alike_name_is_refused_as_a_duplicate(fake, twin):
    store = admin_store()
    store.insert_instance(instance_id="one", token="t", name="Cobrança", created_by=None)
    with pytest.raises(ValidationError) as refused:
        store.insert_instance(instance_id="two", token="t", name=twin, created_by=None)
    assert refused.value.message == "Já existe uma instância com este nome."
    assert store.insert_instance(instance_id="three", token="t", name="Cobrança 01 – Ana", created_by=None).name == (
        "Cobrança 01 – Ana")


def test_the_reason_of_a_drop_is_kept_until_it_connects_or_a_user_disconnects_it(fake):
    row = fake.add_row("one", status="connected")
    store = server()
    dropped = store.record_check(row["id"], status="disconnected", phone_number=None, expected_status="connected",
                                 reason="401" + "x" * 30)
    assert (dropped.status, dropped.dropped, dropped.disconnect_reason) == ("disconnected", True, "401" + "x" * 17)
    assert last_patch(fake)[0]["disconnect_reason"] == "401" + "x" * 17
    connecting = store.record_check(row["id"], status="connecting", phone_number=None, expected_status="disconnected")
    assert connecting.disconnect_reason == "401" + "x" * 17 and "disconnect_reason" not in last_patch(fake)[0]
    back = store.record_check(row["id"], status="connected", phone_number=None, expected_status="connecting")
    assert back.disconnect_reason is None
    store.record_check(row["id"], status="disconnected", phone_number=None, expected_status="connected", reason="428")
    user = admin_store()
    reconnecting = user.update_status(row["id"], status="connecting", phone_number=None)  # still that drop
    assert (reconnecting.dropped, reconnecting.disconnect_reason) == (True, "428")
    assert set(last_patch(fake)[0]) == {"status", "phone_number"}
    given_up = store.record_check(row["id"], status="disconnected", phone_number=None, expected_status="connecting",
                                  reason="401")  # the give-up's own reason is not the drop's
    assert (given_up.dropped, given_up.disconnect_reason) == (True, "428")
    assert reconnecting.dropped_at == given_up.dropped_at is not None  # the trigger's: still the drop's time
    ahead = user.update_status(row["id"], status="disconnected", phone_number=None, keep_drop=True)
    assert (ahead.dropped, ahead.disconnect_reason) == (True, "428")  # ahead of the provider: undone if it fails
    assert set(last_patch(fake)[0]) == {"status", "phone_number"}
    by_a_user = user.update_status(row["id"], status="disconnected", phone_number=None)
    assert (by_a_user.dropped, by_a_user.disconnect_reason) == (False, None)


def test_a_pushed_event_applies_only_when_newer_in_the_same_request(fake):
    row = fake.add_row("one", status="connected")
    store = server()
    first = store.record_check(row["id"], status="disconnected", phone_number=None, expected_status="connected",
                               event_at=2_000)
    body, params = last_patch(fake)
    assert body["provider_event_at"] == 2_000
    assert (params["status"], params["or"]) == ("eq.connected", "(provider_event_at.is.null,provider_event_at.lt.2000)")
    assert (first.status, first.provider_event_at) == ("disconnected", 2_000)
    for stale in (1_999, 2_000):
        assert store.record_check(row["id"], status="connected", phone_number="5511999990000",
                                  expected_status="disconnected", event_at=stale) is None
        assert store.get_instance(row["id"]) == first
    newer = store.record_check(row["id"], status="connected", phone_number="5511999990000",
                               expected_status="disconnected", event_at=2_001)
    assert (newer.status, newer.provider_event_at) == ("connected", 2_001)


def test_only_the_server_writes_the_providers_event_time(fake):
    row = fake.add_row("one", status="connected")
    with pytest.raises(PermissionDenied):
        admin_store().record_check(row["id"], status="disconnected", phone_number=None, expected_status="connected",
                                   event_at=2_000)
    assert fake.rows[0]["status"] == "connected"


def test_note_event_time_moves_forward_only(fake):
    row = fake.add_row("one")
    store = server()
    assert [store.note_event_time(row["id"], at) for at in (1_000, 1_000, 999, 1_001)] == [True, False, False, True]
    assert fake.rows[0]["provider_event_at"] == 1_001
    assert last_patch(fake) == ({"provider_event_at": 1_001}, {
        "id": f"eq.{row['id']}", "or": "(provider_event_at.is.null,provider_event_at.lt.1001)", "select": "id"})
    with pytest.raises(InstanceNotFound):
        store.note_event_time(str(uuid.uuid4()), 5)


def test_an_admin_writes_the_details_in_one_request_and_every_screen_follows(fake):
    row = fake.add_row("one", name="Vendas", name_key="vendas", age_minutes=5)
    owner = fake.accounts["analyst@example.com"]["id"]
    store = admin_store()
    version = store.version()
    after = store.update_details(row["id"], name=" Vendas – Ana ", owner_id=owner, tags=["Carteira A", " vip "],
                                 notes="Chip da Ana.")
    assert (after.name, after.name_key, after.owner_id, after.tags, after.notes) == (
        "Vendas – Ana", "vendas – ana", owner, ("Carteira A", "vip"), "Chip da Ana.")
    body, params = last_patch(fake)
    assert body == {"name": "Vendas – Ana", "name_key": "vendas – ana", "owner_id": owner,
                    "tags": ["Carteira A", "vip"], "notes": "Chip da Ana."}
    assert params["id"] == f"eq.{row['id']}"
    assert store.version() != version
    assert admin_store("analyst@example.com").owner_emails() == {owner: "analyst@example.com"}


def test_details_refused(fake):
    row, other = fake.add_row("one", name="Vendas", name_key="vendas"), fake.add_row("two", name="Suporte",
                                                                                       name_key="suporte")
    store = admin_store()
    cases = [
        ({"name": "\u0405uporte"}, "Já existe uma instância com este nome."),  # Cyrillic Ѕ
        ({"owner_id": str(uuid.uuid4())}, "O responsável escolhido não é mais um usuário do app."),
        ({"name": "\u3164"}, "O nome não pode ficar em branco."),
        ({"tags": ["x" * 31]}, f"Cada etiqueta deve ter no máximo 30 caracteres: “{'x' * 31}”."),
    ]
    for change, message in cases:
        details = {"name": "Vendas", "owner_id": None, "tags": (), "notes": None} | change
        with pytest.raises(ValidationError) as refused:
            store.update_details(row["id"], **details)
        assert refused.value.message == message, change
    assert (fake.rows[0]["name"], fake.rows[1]["name"]) == ("Vendas", "Suporte") and other["name_key"] == "suporte"
    with pytest.raises(PermissionDenied):
        admin_store("analyst@example.com").update_details(row["id"], name="Outra", owner_id=None, tags=(), notes=None)
    with pytest.raises(InstanceNotFound):
        store.update_details(str(uuid.uuid4()), name="Outra", owner_id=None, tags=(), notes=None)


def test_owner_emails_is_one_call_that_tells_only_the_owners(fake):
    fake.add_row("one", owner_id=fake.admin_id)
    fake.add_row("two")
    assert server().owner_emails() == {fake.admin_id: "admin@example.com"}
    assert fake.rest_requests("rpc/instance_owner_emails")[-1].method == "POST"


def test_a_failed_checks_message_is_kept_to_300_characters(fake):
    row = fake.add_row("one")
    after = server().record_check_failure(row["id"], error="x" * 1_000, max_failures=3)
    assert after.last_error == "x" * 300


@pytest.mark.parametrize("kind", ["dropped", "alert_sent", "check_failed"])
def test_an_admin_cannot_write_the_monitors_history(fake, kind):
    row = fake.add_row("one")
    event = InstanceEvent(instance_id=row["id"], instance_name="One", kind=kind, source="user")
    with pytest.raises(PermissionDenied):  # the database's own answer, asked directly
        PostgrestInstances.add_event(admin_store(), event)
    assert server().add_event(event).kind == kind


def test_what_the_provider_said_during_an_admins_check_goes_through_the_servers_store(fake):
    """The connect dialog's check heard "connected": the admin's store hands that event to the server's
    (RLS lets the admin write only what users do), and writes the admin's own actions itself."""
    row = fake.add_row("one")
    server_store = server()
    store = admin_store_with(server_store.add_event)
    heard = InstanceEvent(instance_id=row["id"], instance_name="One", kind="connected", source="user",
                          from_status="connecting", to_status="connected", actor_id="admin-id",
                          actor_email="admin@example.com")
    done = InstanceEvent(instance_id=row["id"], instance_name="One", kind="restarted", source="user")
    assert (store.add_event(heard).kind, store.add_event(done).kind) == ("connected", "restarted")
    assert sorted(e.kind for e in server_store.events(instance_ids=[row["id"]])) == ["connected", "restarted"]
    with pytest.raises(StoreError, match="chave de serviço"):  # no server key: said, not sent to be refused
        admin_store().add_event(heard)
