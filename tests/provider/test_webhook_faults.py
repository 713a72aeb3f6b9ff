"""Webhook faults against a real loopback provider that misbehaves on purpose (tests/support/faulty_provider.py).

For create, connect, status and disconnect, wherever the fault applies:
- the client raises one ProviderError with a clear pt-BR message that never carries a token;
- the service leaves the stored instance exactly as it was (and create adds no row);
- the UI shows the message, no traceback, and a retry that works once the provider recovers.
"""

from __future__ import annotations

import socket
from contextlib import ExitStack
from dataclasses import dataclass

import pytest
import requests

from lib.errors import AppError, ProviderError
from lib.provider.http import MAX_BODY_BYTES
from lib.provider.webhooks import WebhookClient
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
