"""Webhook faults against a real loopback provider that misbehaves on purpose (tests/faulty_provider.py).

For create, connect, status and disconnect, wherever the fault applies:
- the client raises one ProviderError with a clear pt-BR message that never carries a token;
- the service leaves the stored instance exactly as it was (and create adds no row);
- the UI shows the message, no traceback, and a retry that works once the provider recovers.
"""

from __future__ import annotations

import socket
from contextlib import ExitStack
from dataclasses import dataclass, replace
from typing import Callable

import pytest
import requests

from lib.context import app_context
from lib.config.settings import load_settings
from lib.errors import AppError, ProviderError
from lib.instances import InstanceService
from lib.models import Instance
from lib.store.recovery import CredentialRecovery
from lib.store.sqlite.database import SQLiteDatabase
from lib.store.sqlite.instances import SQLiteInstanceStore
from lib.provider.http import MAX_BODY_BYTES
from lib.provider.webhooks import WebhookClient
from tests.conftest import ADMIN
from tests.support.faulty_provider import (
    ACTIONS,
    API_KEY,
    NO_ANSWER_TIMEOUT_SECONDS,
    FaultyProvider,
    settings_for,
    urls_at,
)
from tests.support.provider_faults import STREAM_CAP_BYTES, TOKEN_PREFIX
from tests.support.unreachable import BacklogFull, refused_url
from tests.support.app_ui import PASSWORD, button, cards, field, signed_in_app, texts, unescape_markdown

TOKEN = f"{TOKEN_PREFIX}seeded-0001"
MB = 1024 * 1024
LABELS = {"create": "criar instância", "connect": "conectar", "status": "verificar status", "disconnect": "desconectar"}
REQUIRED_FIELD = {"create": "instance_id", "connect": "qr_code_base64", "status": "status", "disconnect": "success"}
TIMED_OUT = "O provedor não respondeu a tempo ({label}). Tente novamente."
# A create sent but not answered may have happened at the provider: the message says to check first.
CREATE_MAY_EXIST = "a instância pode ter sido criada no provedor; confira antes de tentar de novo."


@dataclass(frozen=True)
class Fault:
    message: str  # expected in the error; {label} and {field} are filled in per action
    actions: tuple[str, ...] = ACTIONS
    network: bool = False  # played without the provider server (nothing answers at all)


FAULTS = {
    "refused": Fault("Não foi possível conectar ao provedor ({label}).", network=True),
    "dns": Fault("Endereço do provedor não encontrado ({label}). Verifique a URL configurada.", network=True),
    "connect_timeout": Fault(TIMED_OUT, network=True),
    "stall_before_headers": Fault(TIMED_OUT),
    "stall_after_headers": Fault(TIMED_OUT),
    "status_4xx_json": Fault("Provedor recusou a requisição ({label}): nome inválido"),
    "html_4xx": Fault("Provedor recusou a requisição ({label}) (HTTP 400)."),
    "status_5xx": Fault("Erro no provedor (HTTP 502) ao {label}. Tente novamente."),
    "html_5xx": Fault("Erro no provedor (HTTP 500) ao {label}. Tente novamente."),
    "html_page": Fault("O provedor respondeu com uma página HTML em vez de JSON ({label})."),
    "not_json": Fault("Resposta inválida do provedor ({label}): não é JSON."),
    "error_in_200": Fault("Provedor retornou erro: instância bloqueada"),
    "missing_field": Fault("Resposta do provedor sem o campo '{field}' ({label})."),
    "bad_base64": Fault("QR Code inválido recebido do provedor.", actions=("connect",)),
    "not_an_image": Fault("QR Code inválido recebido do provedor.", actions=("connect",)),
    "unknown_status": Fault("Status desconhecido retornado pelo provedor: HIBERNATING", actions=("status",)),
    "huge_body": Fault("Resposta do provedor grande demais ({label})."),
    "huge_chunked": Fault("Resposta do provedor grande demais ({label})."),
}
CASES = [(action, fault) for fault, spec in FAULTS.items() for action in spec.actions]
# A declared 50 MB body is refused from its headers; an undeclared one after MAX_BODY_BYTES. Either
# way the server manages to push only what the kernel's socket buffers take (a few MB) past that.
SENT_AT_MOST = {"huge_body": 8 * MB, "huge_chunked": MAX_BODY_BYTES + 16 * MB}


def expected_calls(fault: str, action: str) -> int:
    """Only the idempotent status GET is retried (twice, on 502/503/504); POSTs never are."""
    return 3 if (action, fault) == ("status", "status_5xx") else 1


def expected_message(fault: str, action: str) -> str:
    if action == "create" and fault in ("stall_before_headers", "stall_after_headers"):
        return CREATE_MAY_EXIST
    return FAULTS[fault].message.format(label=LABELS[action], field=REQUIRED_FIELD[action])


def call(client: WebhookClient, action: str, token: str = TOKEN):
    if action == "create":
        return client.create("Cobrança")
    return getattr(client, action)("inst-seeded", token)


def assert_user_safe(err: AppError) -> None:
    """One short pt-BR line: no token, no API key, no markup, no traceback."""
    text = str(err)
    assert text == err.message
    for forbidden in (TOKEN_PREFIX, API_KEY, "<", "Traceback", "\n"):
        assert forbidden not in text
    assert len(text) <= 200


# -- fixtures: the provider and the faults it cannot play itself -----------------------------------
@pytest.fixture
def provider():
    with FaultyProvider() as server:
        yield server


def answer_invalid_names_locally(monkeypatch) -> list[str]:
    """RFC 6761: `.invalid` never resolves. This machine's resolver still asks its network
    nameserver (which answers NXDOMAIN at once); answering here keeps the suite on loopback while
    urllib3 goes through its real name-resolution path. Returns the names looked up."""
    real_getaddrinfo = socket.getaddrinfo
    looked_up = []

    def getaddrinfo(host, *args, **kwargs):
        if isinstance(host, str) and host.rstrip(".").endswith(".invalid"):
            looked_up.append(host)
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return looked_up


@pytest.fixture
def broken(provider, monkeypatch, retry_waits):
    """`broken(action, fault)` -> webhook settings under which `action` meets `fault` (with a short
    timeout where nothing answers, and no real wait between the retries of a 5xx)."""
    with ExitStack() as stack:

        def arrange(action: str, fault: str):
            if fault == "refused":
                return settings_for(urls_at(refused_url()))
            if fault == "dns":
                answer_invalid_names_locally(monkeypatch)
                return settings_for(urls_at("http://provider.invalid"))
            if fault == "connect_timeout":
                return settings_for(urls_at(stack.enter_context(BacklogFull()).url), NO_ANSWER_TIMEOUT_SECONDS)
            provider.set_fault(action, fault)
            return provider.webhook_settings(NO_ANSWER_TIMEOUT_SECONDS if fault.startswith("stall") else 1.0)

        yield arrange


# -- client level -----------------------------------------------------------------------------------
@pytest.mark.parametrize("action, fault", CASES)
def test_client_gives_one_clear_message(provider, broken, action, fault):
    client = WebhookClient(broken(action, fault))
    with pytest.raises(ProviderError) as info:
        call(client, action)
    err = info.value
    assert expected_message(fault, action) in err.message
    assert err.action == action
    assert_user_safe(err)
    if not FAULTS[fault].network:
        assert provider.calls(action) == expected_calls(fault, action)
    if fault == "connect_timeout":  # the full backlog times out the connect itself, not a read
        assert isinstance(err.__context__, requests.ConnectTimeout)
    if fault in SENT_AT_MOST:
        sent = provider.finished_stream(action).sent
        assert sent < SENT_AT_MOST[fault] < STREAM_CAP_BYTES  # cut off, not read whole


def test_dns_failure_goes_through_name_resolution(monkeypatch):
    looked_up = answer_invalid_names_locally(monkeypatch)
    with pytest.raises(ProviderError, match="Endereço do provedor não encontrado"):
        WebhookClient(settings_for(urls_at("http://provider.invalid"))).status("inst-seeded", TOKEN)
    assert looked_up == ["provider.invalid"]


@pytest.mark.parametrize("action", ACTIONS)
def test_the_healthy_provider_answers(provider, action):
    """Control: with no fault every call succeeds, so the failures above come from the faults."""
    call(WebhookClient(provider.webhook_settings()), action)
    assert provider.calls(action) == 1


# -- service level: a real SQLite store, the stored instance is exactly as before ----------------------
@dataclass(frozen=True)
class Operation:
    action: str  # the webhook the operation calls
    seed_status: str  # chosen so that a successful call would change the row
    run: Callable[[InstanceService, Instance], object]


OPERATIONS = {
    "connect": Operation("connect", "disconnected", lambda service, instance: service.connect(instance)),
    "check_status": Operation("status", "connected", lambda service, instance: service.check_status(instance)),
    "disconnect": Operation("disconnect", "connected", lambda service, instance: service.disconnect(instance)),
    "delete": Operation("disconnect", "connected", lambda service, instance: service.delete(instance)),
}
SERVICE_CASES = [
    (name, fault) for name, op in OPERATIONS.items() for fault, spec in FAULTS.items() if op.action in spec.actions
]


@pytest.fixture
def store(tmp_path):
    return SQLiteInstanceStore(SQLiteDatabase.in_dir(tmp_path))


@pytest.fixture
def recovery(tmp_path):
    return CredentialRecovery(tmp_path)


def seed(store: SQLiteInstanceStore, status: str) -> Instance:
    instance = store.insert_instance(instance_id="inst-seeded", token=TOKEN, name="Cobrança", created_by=ADMIN.id)
    phone = "+5511999990000" if status == "connected" else None
    return store.update_status(instance.id, status=status, phone_number=phone)


def service_for(settings, store, recovery) -> InstanceService:
    return InstanceService(store, WebhookClient(settings), ADMIN, recovery)


@pytest.mark.parametrize("operation, fault", SERVICE_CASES)
def test_service_keeps_the_stored_instance_as_it_was(broken, store, recovery, operation, fault):
    op = OPERATIONS[operation]
    before = seed(store, op.seed_status)
    service = service_for(broken(op.action, fault), store, recovery)
    with pytest.raises(ProviderError) as info:
        op.run(service, before)
    assert expected_message(fault, op.action) in info.value.message
    assert_user_safe(info.value)
    [after] = store.list_instances()
    if op.action == "status":  # a failed check flips nothing; it only records its message
        assert (after.status, after.phone_number) == (before.status, before.phone_number)
        assert (after.last_error, after.check_failures) == (info.value.message, 1)
        after = replace(after, last_error=None, check_failures=0, updated_at=before.updated_at)
    if op.action == "disconnect":  # written ahead of the provider (lib.instances), put back when it fails
        assert kept(after) == kept(before)
        return
    assert after == before
    assert store.instance_token(before.id) == TOKEN


@pytest.mark.parametrize("fault", [fault for fault, spec in FAULTS.items() if "create" in spec.actions])
def test_failed_create_adds_nothing(broken, store, recovery, fault):
    existing = seed(store, "connected")
    service = service_for(broken("create", fault), store, recovery)
    with pytest.raises(ProviderError) as info:
        service.create("Nova")
    assert expected_message(fault, "create") in info.value.message
    assert_user_safe(info.value)
    assert store.list_instances() == [existing]
    assert recovery.pending() == [] and not recovery.path.exists()


@pytest.mark.parametrize("operation", OPERATIONS)
def test_service_control_a_healthy_provider_changes_the_row(provider, store, recovery, operation):
    """Control: the same calls against a healthy provider do change the row."""
    op = OPERATIONS[operation]
    before = seed(store, op.seed_status)
    op.run(service_for(provider.webhook_settings(), store, recovery), before)
    assert store.list_instances() != [before]


def test_delete_goes_ahead_when_the_provider_no_longer_knows_the_instance(broken, store, recovery):
    """A 404 on the disconnect before a delete means there is nothing to disconnect."""
    instance = seed(store, "connected")
    service_for(broken("disconnect", "not_found"), store, recovery).delete(instance)
    assert store.list_instances() == []


def test_disconnect_of_an_instance_unknown_to_the_provider_keeps_the_row(broken, store, recovery):
    instance = seed(store, "connected")
    with pytest.raises(ProviderError, match="Instância não encontrada no provedor."):
        service_for(broken("disconnect", "not_found"), store, recovery).disconnect(instance)
    assert [kept(i) for i in store.list_instances()] == [kept(instance)]


def kept(instance):
    """What a failed Desconectar keeps of the row: its status, its number, and whether it dropped
    (the row is written ahead of the provider's call and put back when that fails, so the times of
    the change move)."""
    return (instance.id, instance.name, instance.status, instance.phone_number, instance.last_phone_number,
            instance.dropped, instance.first_connected_at)


@pytest.mark.parametrize("fault", ["status_5xx", "html_page", "unknown_status", "huge_body"])
def test_bulk_refresh_reports_the_fault_per_instance(broken, store, recovery, fault):
    instance = seed(store, "connected")
    [result] = service_for(broken("status", fault), store, recovery).refresh_all([instance])
    assert result.after is None and expected_message(fault, "status") in result.error
    [after] = store.list_instances()
    assert (after.status, after.phone_number, after.last_error) == (instance.status, instance.phone_number, result.error)


# -- UI level: message on screen, no traceback, a retry that works once the provider recovers ------------
@dataclass(frozen=True)
class Flow:
    action: str  # the webhook that fails
    seed_status: str | None  # the instance on screen, None for none
    start: Callable  # (at) -> at, up to and including the click that fails
    offers_retry: Callable  # (at) -> the button to retry with, shown after the failure
    succeeded: Callable  # (at, instances after) -> bool


def dialog_button(label: str):
    """The dialog's button, not the card button of the same label (card buttons have keys)."""

    def find(at):
        [match] = [b for b in at.button if b.label == label and not (b.key or "").startswith("menu-")]
        return match

    return find


def open_create(at):
    button(at, "+ Nova instância").click().run()
    field(at, "Nome da instância").input("Cobrança Nova")
    return button(at, "Criar").click().run()


def open_confirm(label: str):
    def start(at):
        button(at, label).click().run()
        return dialog_button(label)(at).click().run()

    return start


FLOWS = {
    "create": Flow(
        "create", None, open_create,
        offers_retry=lambda at: button(at, "Criar"),  # the form stays, with the name typed
        succeeded=lambda at, rows: "Instância criada." in texts(at) and [i.name for i in rows] == ["Cobrança Nova"],
    ),
    "connect": Flow(
        "connect", "disconnected", lambda at: button(at, "Conectar").click().run(),
        offers_retry=lambda at: button(at, "Tentar novamente"),
        succeeded=lambda at, rows: len(at.get("image")) == 1 and [i.status for i in rows] == ["connecting"],
    ),
    "disconnect": Flow(
        "disconnect", "connected", open_confirm("Desconectar"),
        offers_retry=dialog_button("Desconectar"),  # the confirmation stays open
        succeeded=lambda at, rows: cards(at)["Cobrança"].startswith("Desconectada\n") and [i.status for i in rows] == ["disconnected"],
    ),
    "delete": Flow(
        "disconnect", "connected", open_confirm("Excluir"),
        offers_retry=dialog_button("Excluir"),
        succeeded=lambda at, rows: "Nenhuma instância ainda" in texts(at) and rows == [],
    ),
}
UI_CASES = [
    ("create", "html_page"),
    ("create", "stall_after_headers"),
    ("connect", "huge_body"),
    ("connect", "stall_after_headers"),
    ("connect", "bad_base64"),
    ("disconnect", "status_5xx"),
    ("delete", "not_json"),
]


@pytest.fixture
def ui(provider, tmp_path, monkeypatch):
    """The app configured with the faulty provider's webhooks and one admin; returns its context."""
    monkeypatch.setenv("APP_DATA_DIR", str(tmp_path))
    for action, url in provider.urls.items():
        monkeypatch.setenv(f"WEBHOOK_{action.upper()}_URL", url)
    monkeypatch.setenv("WEBHOOK_TIMEOUT_SECONDS", "1")
    for key in ("SUPABASE_URL", "SUPABASE_ANON_KEY"):
        monkeypatch.delenv(key, raising=False)
    context = app_context(load_settings())
    context.accounts.add("admin@example.com", PASSWORD, "admin")
    return context


@pytest.mark.parametrize("flow, fault", UI_CASES)
def test_ui_shows_the_message_and_the_retry_works(provider, ui, flow, fault):
    spec = FLOWS[flow]
    store = SQLiteInstanceStore(ui.database)
    before = [seed(store, spec.seed_status)] if spec.seed_status else []
    at = signed_in_app(ui, "admin@example.com")
    provider.set_fault(spec.action, fault)

    at = spec.start(at)
    assert not at.exception
    [error] = at.error
    assert expected_message(fault, spec.action) in unescape_markdown(error.value)
    assert TOKEN_PREFIX not in texts(at)
    assert [kept(i) for i in store.list_instances()] == [kept(i) for i in before]  # the stored status and number as they were
    if flow == "connect":
        assert not at.get("image")

    retry = spec.offers_retry(at)  # the screen offers a way to try again

    provider.set_fault(spec.action, "ok")
    at = retry.click().run()
    assert not at.exception
    assert not at.error
    assert spec.succeeded(at, store.list_instances())


def test_invalid_json_is_a_glitch_worth_retrying(provider):
    """Invalid JSON is transient: the screen must not say a retry won't help (an HTML page, a
    wrong URL most likely, is not)."""
    provider.set_fault("status", "not_json")
    with pytest.raises(ProviderError) as raised:
        call(WebhookClient(provider.webhook_settings()), "status")
    assert raised.value.retryable
