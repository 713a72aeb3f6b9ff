"""The service over real HTTP against the sandbox provider, with a real SQLite file (when things go
wrong, and restart and import: test_instances_*.py)."""

import re
import unicodedata

import pytest
import requests

from lib.errors import InstanceNotFound, PermissionDenied, ValidationError, ProviderError
from lib.instances import InstanceService
from lib.store.recovery import CredentialRecovery
from lib.provider.sandbox.provider import SandboxProvider
from lib.store.sqlite.instances import SQLiteInstanceStore
from lib.provider.webhooks import WebhookClient
from tests.conftest import ADMIN, ANALYST, SUPERVISOR

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def sandbox():
    with SandboxProvider() as provider:
        yield provider


@pytest.fixture
def make_service(database, sandbox, tmp_path):
    store = SQLiteInstanceStore(database)
    recovery = CredentialRecovery(tmp_path)

    def make(user=ADMIN, store=store):
        return InstanceService(store, WebhookClient(sandbox.webhook_settings()), user, recovery)

    return make


def scan(sandbox, instance):
    assert requests.get(sandbox.scan_url(instance.instance_id), timeout=5).status_code == 200


def connected_instance(service, sandbox, name="Cobrança"):
    """Create, connect, scan and poll once: the instance as stored, connected."""
    connecting = service.connect(service.create(name).instance).instance
    scan(sandbox, connecting)
    return service.check_status(connecting)


def test_creation_flow_saves_the_provider_credentials(make_service):
    service = make_service()
    created = service.create("  WhatsApp Cobrança  ")
    assert created.instance.name == "WhatsApp Cobrança"
    assert created.instance.status == "disconnected"
    assert created.instance.created_by == ADMIN.id
    assert created.instance.instance_id.startswith("sbx-")
    assert service.store.instance_token(created.instance.id) == created.token
    assert [i.id for i in service.list_instances()] == [created.instance.id]


def test_connection_flow_goes_connecting_then_connected_with_phone(make_service, sandbox):
    service = make_service()
    instance = service.create("Cobrança").instance
    connecting = service.connect(instance)
    assert connecting.qr.png.startswith(PNG_SIGNATURE)
    polled = connecting.instance
    assert polled == service.store.get_instance(instance.id)
    assert polled.status == "connecting"
    polled = service.check_status(polled)
    assert polled.status == "connecting"
    scan(sandbox, instance)
    connected = service.check_status(polled)
    assert connected.status == "connected"
    assert connected.phone_number.startswith("+55119")
    assert service.store.get_instance(instance.id) == connected


@pytest.mark.parametrize("typed, digits, shown", [
    ("+55 (11) 98765-4321", "5511987654321", "+55 11 98765-4321"),
    ("+55 11 3333-4444", "551133334444", "+55 11 3333-4444"),  # a landline: WhatsApp Business runs on it
])
def test_connect_with_a_phone_number_gives_a_code_that_connects_that_number(make_service, sandbox, typed, digits, shown):
    service = make_service()
    instance = service.create("Cobrança").instance
    connecting = service.connect(instance, phone_number=typed)
    assert connecting.qr is None and re.fullmatch(r"[A-Z0-9]{8}", connecting.pairing_code)
    assert (connecting.pairing_phone, connecting.changed) == (digits, True)
    assert connecting.instance == service.store.get_instance(instance.id)
    assert connecting.instance.status == "connecting"
    [requested] = service.store.events(kinds=["connect_requested"])
    assert (requested.from_status, requested.to_status, requested.actor_email) == ("disconnected", "connecting", ADMIN.email)
    assert requested.detail == f"código de pareamento para {shown}"
    assert service.check_status(connecting.instance).status == "connecting"
    assert sandbox.simulate_code(instance.instance_id, connecting.pairing_code)
    connected = service.check_status(connecting.instance)
    assert (connected.status, connected.phone_number) == ("connected", "+" + digits)


def test_a_code_asked_for_while_the_qr_is_shown_keeps_the_instance_connecting_once(make_service, sandbox):
    service = make_service()
    instance = service.create("Cobrança").instance
    by_qr = service.connect(instance)
    assert by_qr.pairing_code is None and by_qr.qr.png.startswith(PNG_SIGNATURE) and by_qr.changed
    by_code = service.connect(by_qr.instance, phone_number="5511987654321")
    assert by_code.instance.status == "connecting" and by_code.pairing_code
    assert not by_code.changed  # the row stays as it was: the screens' lists need no new read
    assert len(service.store.events(kinds=["connect_requested"])) == 1


@pytest.mark.parametrize("phone, message", [
    ("", "Informe o número do WhatsApp com DDI e DDD, ex.: +55 11 99999-8888."),
    ("11 98765-4321", "Falta o DDI: coloque +55 antes do DDD, ex.: +55 11 99999-8888."),
    ("+55 11 8765-4321", "Depois de +55 e do DDD, um celular tem 9 dígitos começando com 9 (+55 11 99999-8888) "
                         "e um fixo, 8 dígitos começando com 2 a 5 (+55 11 3333-4444)."),
    ("+55 11 98765-4321 ramal 2", "O número leva só algarismos de 0 a 9, espaços, traços, parênteses e um + no início."),
])
def test_an_invalid_phone_number_is_refused_before_calling_the_provider(make_service, sandbox, phone, message):
    service = make_service()
    instance = service.create("Cobrança").instance
    with pytest.raises(ValidationError) as raised:
        service.connect(instance, phone_number=phone)
    assert raised.value.message == message
    assert service.store.get_instance(instance.id).status == "disconnected"
    assert sandbox.scan_url(instance.instance_id) is None and not sandbox.simulate_code(instance.instance_id, "")


def test_a_read_only_role_cannot_ask_for_a_code(make_service):
    instance = make_service().create("Cobrança").instance
    with pytest.raises(PermissionDenied):
        make_service(ANALYST).connect(instance, phone_number="5511987654321")


def test_disconnect_clears_the_phone(make_service, sandbox):
    service = make_service()
    connected = connected_instance(service, sandbox)
    after = service.disconnect(connected)
    assert (after.status, after.phone_number) == ("disconnected", None)
    assert service.check_status(after).status == "disconnected"  # the provider agrees


def test_delete_disconnects_first_and_deletes_at_the_provider_only_with_the_delete_webhook(
        make_service, sandbox, database, tmp_path):
    from dataclasses import replace

    service = make_service()
    connected = connected_instance(service, sandbox)
    token = service.token(connected.id)
    service.delete(connected)  # the sandbox speaks the optional delete webhook
    assert service.list_instances() == []
    status = lambda i, t: requests.get(sandbox.webhook_settings().status_url,  # noqa: E731
                                       params={"instance_id": i.instance_id, "token": t}, timeout=5)
    assert status(connected, token).status_code == 404  # gone at the provider too

    without_delete = replace(sandbox.webhook_settings(), delete_url=None)  # the seed's four webhooks only
    other = InstanceService(SQLiteInstanceStore(database), WebhookClient(without_delete), ADMIN,
                            CredentialRecovery(tmp_path))
    kept = connected_instance(other, sandbox, "Outra")
    kept_token = other.token(kept.id)
    other.delete(kept)
    assert other.list_instances() == []
    assert status(kept, kept_token).json() == {"status": "disconnected"}  # disconnected, still at the provider


def test_delete_keeps_the_row_when_the_provider_fails(make_service, sandbox):
    service = make_service()
    instance = service.create("Cobrança").instance
    service.connect(instance)
    connecting = service.store.get_instance(instance.id)
    sandbox.stop()
    with pytest.raises(ProviderError):
        service.delete(connecting)
    after = service.store.get_instance(instance.id)  # written ahead of the provider's disconnect, put back
    assert (after.status, after.phone_number, after.dropped) == (connecting.status, connecting.phone_number, False)


def test_a_stale_connected_reply_does_not_undo_a_disconnect(make_service, sandbox):
    service = make_service()
    instance = service.create("Cobrança").instance
    service.connect(instance)
    seen_while_connecting = service.store.get_instance(instance.id)
    scan(sandbox, instance)
    service.store.update_status(instance.id, status="disconnected", phone_number=None)  # another admin
    after = service.check_status(seen_while_connecting)  # provider still says connected
    assert (after.status, after.phone_number) == ("disconnected", None)


@pytest.mark.parametrize("user", [SUPERVISOR, ANALYST])
def test_read_only_roles_can_list_but_not_change_anything(make_service, sandbox, user):
    admin = make_service()
    instance = connected_instance(admin, sandbox)  # connected: a refused disconnect is the role's doing
    reader = make_service(user)
    assert [i.id for i in reader.list_instances()] == [instance.id]
    for call in (lambda: reader.create("Outra"), lambda: reader.connect(instance), lambda: reader.check_status(instance),
                 lambda: reader.disconnect(instance), lambda: reader.delete(instance), lambda: reader.token(instance.id)):
        with pytest.raises(PermissionDenied):
            call()
    assert [(i.id, i.status) for i in admin.list_instances()] == [(instance.id, "connected")]
    assert requests.get(sandbox.webhook_settings().status_url, params={"instance_id": instance.instance_id,
                                                                       "token": admin.token(instance.id)},
                        timeout=5).json()["status"] == "connected"  # the provider was never asked to disconnect


def test_user_without_role_cannot_even_list(make_service):
    from lib.models import User

    with pytest.raises(PermissionDenied, match="Sem acesso"):
        make_service(User(id="x", email="x@example.com", role=None)).list_instances()


@pytest.mark.parametrize("name", ["", "   ", "x" * 61, "x" * 10_000, "linha\nquebrada", "tab\there", "nul\x00byte", "x\u202eevil", "Cobran\u200dça", "\u2066Cobrança\u2069", "\u3164", "Cobrança\u2028Centro"])
def test_invalid_names_are_refused_before_calling_the_provider(make_service, sandbox, name):
    with pytest.raises(ValidationError):
        make_service().create(name)
    assert sandbox.instance_count() == 0


def test_same_name_twice_is_refused(make_service, sandbox):
    service = make_service()
    service.create("Cobrança")
    with pytest.raises(ValidationError, match="Já existe"):
        service.create("cobrança ")
    assert sandbox.instance_count() == 1


@pytest.mark.parametrize("twin", [unicodedata.normalize("NFD", "Cobrança"), "\u0421\u043ebrança"],
                         ids=["nfd", "cyrillic"])
def test_a_look_alike_of_a_name_is_the_same_name(make_service, sandbox, twin):
    service = make_service()
    first = service.create("Cobrança").instance
    with pytest.raises(ValidationError) as refused:
        service.create(twin)
    assert refused.value.message == "Já existe uma instância com este nome."
    assert sandbox.instance_count() == 1
    assert service.create("Cobrança 01 – Ana").instance.name == "Cobrança 01 – Ana"
    assert first.name == "Cobrança"


def test_a_name_is_saved_in_nfc(make_service):
    created = make_service().create(unicodedata.normalize("NFD", "Cobrança"))
    assert created.instance.name == "Cobrança" and len(created.instance.name) == 8


def test_deleted_by_another_admin_gives_instance_removed(make_service):
    first, second = make_service(), make_service()
    instance = first.create("Cobrança").instance
    second.delete(instance)
    with pytest.raises(InstanceNotFound, match="removida"):
        first.connect(instance)
    with pytest.raises(InstanceNotFound):
        first.delete(instance)
