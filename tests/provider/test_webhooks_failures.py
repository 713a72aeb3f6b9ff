"""lib.provider.webhooks: every way a webhook can fail, and what the person reads then (pt-BR, no
secret), against mocked webhooks."""

from __future__ import annotations

import base64
import io
import json
import socket

import pytest
import requests
import responses
from urllib3.exceptions import MaxRetryError, NameResolutionError

from lib.errors import ProviderError
from lib.provider.http import MAX_BODY_BYTES
from lib.provider.webhooks import WebhookClient
from tests.provider.test_webhooks import (  # noqa: F401 - client, debug_logs and mocked are fixtures
    API_KEY, IID, PNG_SIGNATURE, TOKEN, URLS, call, check_webhook_error, client, debug_logs, image_bytes, mocked,
    settings_for, truncated_png,
)

ACTIONS = ["create", "connect", "status", "disconnect"]
LABELS = {"create": "criar instância", "connect": "conectar", "status": "verificar status", "disconnect": "desconectar"}
METHOD = {"create": "POST", "connect": "POST", "status": "GET", "disconnect": "POST"}


def register(mocked, action, **kwargs):
    mocked.add(METHOD[action], URLS[action], **kwargs)


@pytest.mark.parametrize("exc_type", [requests.exceptions.ConnectTimeout, requests.exceptions.ReadTimeout])
@pytest.mark.parametrize("action", ACTIONS)
def test_timeout(mocked, client, debug_logs, action, exc_type):
    register(mocked, action, body=exc_type(f"Read timed out. (url: /{action}?instance_id={IID}&token={TOKEN})"))
    expected = (  # a create sent but not answered may have happened: the message says to check first
        "O provedor não respondeu a tempo (criar instância): a instância pode ter sido criada no provedor; "
        "confira antes de tentar de novo." if (action, exc_type) == ("create", requests.exceptions.ReadTimeout)
        else f"O provedor não respondeu a tempo ({LABELS[action]}). Tente novamente."
    )
    err = check_webhook_error(lambda: call(client, action), debug_logs, expected, action=action)
    assert err.retryable


def test_connection_refused(mocked, client, debug_logs):
    register(mocked, "status", body=requests.exceptions.ConnectionError(f"Connection refused: /status?token={TOKEN}"))
    err = check_webhook_error(lambda: call(client, "status"), debug_logs, "Não foi possível conectar ao provedor (verificar status)", action="status")
    assert err.retryable


def test_dns_failure(mocked, client, debug_logs):
    reason = NameResolutionError("hooks.example.test", None, socket.gaierror(-2, "Name or service not known"))
    exc = requests.exceptions.ConnectionError(MaxRetryError(None, f"/status?token={TOKEN}", reason))
    register(mocked, "status", body=exc)
    err = check_webhook_error(lambda: call(client, "status"), debug_logs, "Endereço do provedor não encontrado", action="status")
    assert not err.retryable


def test_real_connection_refused(debug_logs):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed when the block ends: nothing listens there
    client = WebhookClient(settings_for({a: f"http://127.0.0.1:{port}/{a}" for a in ACTIONS}, timeout=2.0))
    check_webhook_error(lambda: client.status(IID, TOKEN), debug_logs, "Não foi possível conectar ao provedor", action="status")


@pytest.mark.parametrize("code", [401, 403])
@pytest.mark.parametrize("action", ACTIONS)
def test_credentials_refused(mocked, client, debug_logs, action, code):
    register(mocked, action, status=code, json={"error": f"bad token {TOKEN}"})
    err = check_webhook_error(lambda: call(client, action), debug_logs, "Provedor recusou as credenciais", action=action)
    assert not err.retryable


@pytest.mark.parametrize("action", ["connect", "status", "disconnect"])
def test_404_instance_not_found(mocked, client, debug_logs, action):
    register(mocked, action, status=404, json={"message": f"instance {IID} not found"})
    err = check_webhook_error(lambda: call(client, action), debug_logs, action=action)
    assert err.message == "Instância não encontrada no provedor."


def test_404_on_create_points_to_the_webhook_url(mocked, client, debug_logs):
    register(mocked, "create", status=404, json={"code": 404, "message": 'The requested webhook "POST create" is not registered.'})
    check_webhook_error(lambda: call(client, "create"), debug_logs, "Webhook não encontrado no provedor (criar instância)", action="create")


def test_4xx_json_error_text_is_sanitized(mocked, client, debug_logs):
    provider_text = f"Token   {TOKEN}\n inválido\tpara a chave {API_KEY}. " + "x" * 300
    register(mocked, "connect", status=422, json={"status": 422, "error": "Unprocessable", "response": {"message": [provider_text]}})
    err = check_webhook_error(lambda: call(client, "connect"), debug_logs, "Provedor recusou a requisição (conectar): Token *** inválido para a chave ***. xxx", action="connect")
    assert len(err.message) < 180 and err.message.endswith("…")
    assert not err.retryable


def test_4xx_text_drops_control_characters(mocked, client, debug_logs):
    register(mocked, "create", status=400, json={"message": "\x1b[31mnome\x00 inválido\x1b[0m"})
    err = check_webhook_error(lambda: call(client, "create"), debug_logs, "(criar instância): [31mnome inválido[0m", action="create")
    assert "\x1b" not in err.message and "\x00" not in err.message


def test_url_encoded_token_is_scrubbed(mocked, client, debug_logs):
    token = "tok/SECRET+123"
    register(mocked, "status", status=400, json={"error": "bad query: token=tok%2FSECRET%2B123"})
    with pytest.raises(ProviderError) as info:
        client.status(IID, token)
    assert info.value.message == "Provedor recusou a requisição (verificar status): bad query: token=***"


def test_4xx_plain_text_and_html(mocked, client, debug_logs):
    register(mocked, "create", status=400, body="name is required", content_type="text/plain")
    register(mocked, "create", status=400, body=f"<html><body>token {TOKEN}</body></html>", content_type="text/html")
    check_webhook_error(lambda: call(client, "create"), debug_logs, "Provedor recusou a requisição (criar instância): name is required", action="create")
    err = check_webhook_error(lambda: call(client, "create"), debug_logs, action="create")
    assert err.message == "Provedor recusou a requisição (criar instância) (HTTP 400)."


def test_429_is_retryable(mocked, client, debug_logs):
    register(mocked, "create", status=429, json={"message": "slow down"})
    assert check_webhook_error(lambda: call(client, "create"), debug_logs, "slow down", action="create").retryable


@pytest.mark.parametrize("code", [500, 502])
@pytest.mark.parametrize("action", ACTIONS)
def test_5xx(mocked, client, debug_logs, action, code):
    for _ in range(3 if (action, code) == ("status", 502) else 1):  # status GET is retried on 502
        register(mocked, action, status=code, body=f"upstream failed for {TOKEN}")
    err = check_webhook_error(lambda: call(client, action), debug_logs, f"Erro no provedor (HTTP {code}) ao {LABELS[action]}. Tente novamente.", action=action)
    assert err.retryable


def test_redirect_is_not_followed(mocked, client, debug_logs):
    register(mocked, "create", status=302, headers={"Location": "https://elsewhere.example.test/steal"})
    check_webhook_error(lambda: call(client, "create"), debug_logs, "O provedor redirecionou a requisição (HTTP 302", action="create")
    assert len(mocked.calls) == 1


@pytest.mark.parametrize("content_type", ["text/html; charset=utf-8", "text/plain"])
def test_html_page_on_200(mocked, client, debug_logs, content_type):
    register(mocked, "status", body=f"  <!DOCTYPE html><html>{TOKEN}</html>", content_type=content_type)
    err = check_webhook_error(lambda: call(client, "status"), debug_logs, "O provedor respondeu com uma página HTML em vez de JSON (verificar status)", action="status")
    assert not err.retryable


@pytest.mark.parametrize("body", ["OK " + TOKEN, "{'single': 'quotes'}", "[" * 100_000])
def test_non_json_on_200(mocked, client, debug_logs, body):
    register(mocked, "create", body=body, content_type="application/json")
    check_webhook_error(lambda: call(client, "create"), debug_logs, "Resposta inválida do provedor (criar instância)", action="create")


@pytest.mark.parametrize("reply", [[], [{"status": "open"}, {"status": "open"}], "open", None, 3])
def test_unexpected_json_shape(mocked, client, debug_logs, reply):
    register(mocked, "status", body=json.dumps(reply), content_type="application/json")
    check_webhook_error(lambda: call(client, "status"), debug_logs, "Resposta inválida do provedor (verificar status): formato inesperado", action="status")


@pytest.mark.parametrize(
    "action, reply, fragment",
    [
        ("create", {"token": TOKEN}, "Resposta do provedor sem o campo 'instance_id' (criar instância)."),
        ("create", {"instance_id": "", "token": TOKEN}, "sem o campo 'instance_id'"),
        ("create", {"instance_id": "a"}, "sem o campo 'token'"),
        ("create", {"instance_id": "a", "token": 123}, "campo 'token' inválido"),
        ("create", {"instance_id": True, "token": TOKEN}, "campo 'instance_id' inválido"),
        ("create", {"message": "Workflow was started"}, "sem o campo 'instance_id'"),
        ("connect", {"pairingCode": None}, "sem o campo 'qr_code_base64' (conectar)"),
        ("status", {"phone": "5511999999999"}, "sem o campo 'status' (verificar status)"),
        ("disconnect", {}, "sem o campo 'success' (desconectar)"),
        ("disconnect", {"success": "maybe"}, "campo 'success' inválido"),
    ],
)
def test_missing_or_invalid_field(mocked, client, debug_logs, action, reply, fragment):
    register(mocked, action, json=reply)
    assert not check_webhook_error(lambda: call(client, action), debug_logs, fragment, action=action).retryable


@pytest.mark.parametrize("action, field", [("create", "instance_id"), ("connect", "qr_code_base64"), ("status", "status")])
def test_empty_body_is_missing_field_except_for_disconnect(mocked, client, debug_logs, action, field):
    register(mocked, action, body="")
    check_webhook_error(lambda: call(client, action), debug_logs, f"sem o campo '{field}'", action=action)


@pytest.mark.parametrize(
    "value",
    [
        "data:image/png;base64,@@not-base64@@",
        "data:image/png;base64," + base64.b64encode(b"just some bytes").decode(),
        "data:image/png;base64," + base64.b64encode(PNG_SIGNATURE + b"truncated garbage").decode(),
        base64.b64encode(image_bytes("JPEG")[:40]).decode(),  # JPEG signature, broken image
        base64.b64encode(truncated_png()).decode(),  # valid PNG header, truncated pixel data
        "",
        "   ",
        123,
        {"nested": "object"},
        "Q" * 3000 + "@",  # not base64 and longer than any QR code can hold
    ],
)
def test_invalid_qr_code(mocked, client, debug_logs, value):
    register(mocked, "connect", json={"qr_code_base64": value})
    err = check_webhook_error(lambda: call(client, "connect"), debug_logs, action="connect")
    assert err.message == "QR Code inválido recebido do provedor."


@pytest.mark.parametrize("action", ACTIONS)
@pytest.mark.parametrize(
    "reply, fragment",
    [
        ({"error": f"Instance  {TOKEN} \n is locked"}, "Provedor retornou erro: Instance *** is locked"),
        ([{"error": {"message": "quota exceeded", "code": 7}}], "Provedor retornou erro: quota exceeded"),
        ({"success": False, "message": "não deu"}, "Provedor retornou erro: não deu"),
        ({"success": "false"}, "Provedor retornou erro ao "),
    ],
)
def test_provider_error_inside_200(mocked, client, debug_logs, action, reply, fragment):
    if action == "create" and isinstance(reply, dict):
        reply = {**reply, "token": TOKEN}  # create knows no token but the one in the reply
    register(mocked, action, json=reply)
    err = check_webhook_error(lambda: call(client, action), debug_logs, fragment, action=action)
    assert not err.retryable


def test_unknown_status_word_is_truncated(mocked, client, debug_logs):
    register(mocked, "status", json={"status": "W" * 40 + "TAIL"})
    err = check_webhook_error(lambda: call(client, "status"), debug_logs, "Status desconhecido retornado pelo provedor: " + "W" * 39, action="status")
    assert "TAIL" not in err.message and not err.retryable


def test_unknown_status_word_never_shows_the_token(mocked, client, debug_logs):
    register(mocked, "status", json={"status": TOKEN})
    check_webhook_error(lambda: call(client, "status"), debug_logs, "Status desconhecido retornado pelo provedor: ***", action="status")


def test_body_over_5mb_with_content_length(mocked, client, debug_logs):
    register(mocked, "create", body=b" " * (MAX_BODY_BYTES + 1), content_type="application/json")
    err = check_webhook_error(lambda: call(client, "create"), debug_logs, "Resposta do provedor grande demais (criar instância)", action="create")
    assert not err.retryable


class EndlessBody(io.RawIOBase):
    """A response body that never ends; counts how many bytes were pulled from it."""

    def __init__(self):
        self.produced = 0

    def readable(self):
        return True

    def readinto(self, buffer):
        buffer[:] = b"7" * len(buffer)
        self.produced += len(buffer)
        return len(buffer)


def test_endless_body_stops_just_after_5mb(mocked, client, debug_logs):
    source = EndlessBody()
    register(mocked, "create", body=io.BufferedReader(source), content_type="application/json")
    check_webhook_error(lambda: call(client, "create"), debug_logs, "Resposta do provedor grande demais", action="create")
    assert MAX_BODY_BYTES < source.produced <= MAX_BODY_BYTES + 128 * 1024


# --- retries -------------------------------------------------------------------------------------


def test_status_get_retries_503_then_succeeds(mocked, client):
    mocked.get(URLS["status"], status=503)
    mocked.get(URLS["status"], json={"status": "open"})
    assert client.status(IID, TOKEN).status == "connected"
    assert len(mocked.calls) == 2


def test_status_get_gives_up_after_two_retries(mocked, client, debug_logs):
    for _ in range(3):
        mocked.get(URLS["status"], status=503)
    check_webhook_error(lambda: client.status(IID, TOKEN), debug_logs, "Erro no provedor (HTTP 503)", action="status")
    assert len(mocked.calls) == 3


@pytest.mark.parametrize("action", ["create", "connect", "disconnect"])
def test_post_is_never_retried(client, debug_logs, action):
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mocked:
        register(mocked, action, status=503)
        register(mocked, action, json={"instance_id": "a", "token": "t", "success": True})
        check_webhook_error(lambda: call(client, action), debug_logs, "Erro no provedor (HTTP 503)", action=action)
        assert len(mocked.calls) == 1
