import base64
import http.server
import io
import json
import logging
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import responses
import urllib3.util.connection
from PIL import Image
from urllib3.exceptions import MaxRetryError, NameResolutionError

from lib.config.provider import WebhookSettings
from lib.errors import ProviderError
from lib.provider.base import ConnectReply, Credentials, QrCode, StatusReply
from lib.provider.http import MAX_BODY_BYTES
from lib.provider.webhooks import WebhookClient

TOKEN = "tok-SECRET-123"
API_KEY = "hdr-KEY-987654"
IID = "inst-1"
BASE = "https://hooks.example.test"
URLS = {action: f"{BASE}/{action}" for action in ("create", "connect", "status", "disconnect")}
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
WA_QR_TEXT = "2@Xk3pL9qZ0aBcDeFgHiJkLmNoPqRsTuVwXyZ,q9Zt1YwVb2n3m4k5j6h7g8f9d0s=,Rj8sK2mN4pQ6rT8vX0zB1dF3hJ5l=,AbCdEfGhIjKl=="


def settings_for(urls=URLS, timeout=15.0):
    return WebhookSettings(
        create_url=urls["create"],
        connect_url=urls["connect"],
        status_url=urls["status"],
        disconnect_url=urls["disconnect"],
        headers={"apikey": API_KEY},
        timeout_seconds=timeout,
    )


@pytest.fixture(autouse=True)
def debug_logs(caplog):
    caplog.set_level(logging.DEBUG)
    return caplog


@pytest.fixture
def mocked():
    with responses.RequestsMock() as rsps:
        yield rsps


@pytest.fixture
def client():
    return WebhookClient(settings_for())


def call(client, action):
    if action == "create":
        return client.create("Loja Centro")
    return getattr(client, action)(IID, TOKEN)


def check_webhook_error(fn, caplog, *fragments, action):
    with pytest.raises(ProviderError) as info:
        fn()
    err = info.value
    for fragment in fragments:
        assert fragment in err.message
    assert err.action == action
    for secret in (TOKEN, API_KEY):
        assert secret not in str(err)
        assert secret not in caplog.text
    return err


def image_bytes(fmt, size=(21, 21)):
    buffer = io.BytesIO()
    Image.new("RGB", size, "white").save(buffer, format=fmt)
    return buffer.getvalue()


def truncated_png():
    buffer = io.BytesIO()
    Image.frombytes("L", (64, 64), bytes(range(256)) * 16).rotate(33).save(buffer, format="PNG")
    return buffer.getvalue()[: buffer.tell() // 2]


def open_png(data):
    assert data.startswith(PNG_SIGNATURE)
    image = Image.open(io.BytesIO(data))
    image.load()
    assert image.format == "PNG"
    return image


# --- contract shapes -------------------------------------------------------------------------


def test_create_posts_exact_body_and_returns_credentials(mocked, client):
    mocked.post(URLS["create"], json={"instance_id": "abc", "token": TOKEN})
    creds = client.create("Loja Centro")
    assert creds == Credentials(instance_id="abc", token=TOKEN)
    assert TOKEN not in repr(creds)
    request = mocked.calls[0].request
    assert json.loads(request.body) == {"name": "Loja Centro"}
    assert request.headers["Content-Type"] == "application/json"


def test_create_accepts_single_element_list_and_integer_id(mocked, client):
    mocked.post(URLS["create"], json=[{"instance_id": 42, "token": TOKEN}])
    assert client.create("x") == Credentials(instance_id="42", token=TOKEN)


def test_timeouts_are_connect_and_read_from_settings(mocked):
    mocked.post(URLS["create"], json={"instance_id": "a", "token": "t"})
    mocked.post(URLS["create"], json={"instance_id": "a", "token": "t"})
    WebhookClient(settings_for()).create("x")
    WebhookClient(settings_for(timeout=2.0)).create("x")
    assert mocked.calls[0].request.req_kwargs["timeout"] == (5.0, 15.0)
    assert mocked.calls[1].request.req_kwargs["timeout"] == (2.0, 2.0)
    assert mocked.calls[0].request.req_kwargs["stream"] is True


def test_connect_posts_exact_body_and_returns_png(mocked, client):
    png = image_bytes("PNG")
    mocked.post(URLS["connect"], json={"qr_code_base64": base64.b64encode(png).decode()})
    assert client.connect(IID, TOKEN) == ConnectReply(qr=QrCode(png=png), pairing_code=None)
    assert json.loads(mocked.calls[0].request.body) == {"instance_id": IID, "token": TOKEN}


@pytest.mark.parametrize(
    "reply",
    [
        lambda b64: {"qr_code_base64": "data:image/png;base64," + b64},
        lambda b64: {"qr_code_base64": "DATA:IMAGE/PNG;BASE64," + b64},
        lambda b64: {"qr_code_base64": "data:image/jpeg;base64," + b64},  # wrong mime, real PNG
        lambda b64: [{"qr_code_base64": b64}],
        lambda b64: {"qr_code_base64": "\n".join(b64[i : i + 60] for i in range(0, len(b64), 60))},
        lambda b64: {"qr_code_base64": b64.rstrip("=")},
        lambda b64: {"qrcode": b64},
        lambda b64: {"qr_code": b64},
        lambda b64: {"base64": "data:image/png;base64," + b64, "code": WA_QR_TEXT},  # Evolution API
    ],
)
def test_connect_accepts_png_variants(mocked, client, reply):
    png = image_bytes("PNG", size=(33, 33))
    mocked.post(URLS["connect"], json=reply(base64.b64encode(png).decode()))
    assert client.connect(IID, TOKEN).qr.png == png


@pytest.mark.parametrize("fmt, mime", [("JPEG", "jpeg"), ("GIF", "gif")])
def test_connect_converts_other_image_formats_to_png(mocked, client, fmt, mime):
    source = image_bytes(fmt, size=(40, 30))
    mocked.post(URLS["connect"], json={"qr_code_base64": f"data:image/{mime};base64," + base64.b64encode(source).decode()})
    image = open_png(client.connect(IID, TOKEN).qr.png)
    assert image.size == (40, 30)


@pytest.mark.parametrize("text", [WA_QR_TEXT, "abcd1234"])  # the second is valid base64, but not of an image
def test_connect_renders_qr_text_to_png(mocked, client, text):
    mocked.post(URLS["connect"], json={"qr_code_base64": text})
    mocked.post(URLS["connect"], json={"qr_code_base64": text})
    mocked.post(URLS["connect"], json={"qr_code_base64": text + "X"})
    first, again, other = (client.connect(IID, TOKEN).qr.png for _ in range(3))
    image = open_png(first)
    assert image.width == image.height > 21
    assert first == again and first != other


# --- pairing code: connect with a phone number -------------------------------------------------

PHONE = "5511999998888"


def qr_b64(size=(25, 25)):
    return base64.b64encode(image_bytes("PNG", size=size)).decode()


def test_connect_with_a_phone_number_sends_it_and_returns_the_code(mocked, client):
    mocked.post(URLS["connect"], json={"pairing_code": "WZYE-H1YY"})
    assert client.connect(IID, TOKEN, phone_number=PHONE) == ConnectReply(qr=None, pairing_code="WZYEH1YY")
    assert json.loads(mocked.calls[0].request.body) == {"instance_id": IID, "token": TOKEN, "phone_number": PHONE}


@pytest.mark.parametrize("code", ["abcd2345", "ABCD-2345", " abcd-2345 ", "ABCD 2345"])
def test_a_pairing_code_is_upper_cased_without_its_dash(mocked, client, code):
    mocked.post(URLS["connect"], json={"pairing_code": code})
    assert client.connect(IID, TOKEN, phone_number=PHONE).pairing_code == "ABCD2345"


def test_evolution_pairing_code_dialect_with_the_qr_text_beside_it(mocked, client):
    # Evolution API v2 on GET /instance/connect/{instance}?number=...: the code and the QR as text
    mocked.post(URLS["connect"], json={"pairingCode": "WZYEH1YY", "code": WA_QR_TEXT, "count": 1})
    reply = client.connect(IID, TOKEN, phone_number=PHONE)
    assert reply == ConnectReply(qr=None, pairing_code="WZYEH1YY")


def test_code_and_qr_in_one_reply_gives_both(mocked, client):
    png_b64 = qr_b64()
    mocked.post(URLS["connect"], json=[{"qr_code_base64": png_b64, "pairing_code": "K7PQ-M2XZ"}])
    reply = client.connect(IID, TOKEN, phone_number=PHONE)
    assert reply.pairing_code == "K7PQM2XZ"
    assert reply.qr == QrCode(png=base64.b64decode(png_b64))


def test_a_broken_qr_beside_the_code_asked_for_is_ignored(mocked, client):
    mocked.post(URLS["connect"], json={"pairing_code": "K7PQM2XZ", "qr_code_base64": "data:image/png;base64,@@"})
    assert client.connect(IID, TOKEN, phone_number=PHONE) == ConnectReply(qr=None, pairing_code="K7PQM2XZ")


def test_the_qr_path_is_unchanged_and_passes_on_a_code_given_beside_the_qr(mocked, client):
    png_b64 = qr_b64()
    mocked.post(URLS["connect"], json={"qr_code_base64": png_b64})
    mocked.post(URLS["connect"], json={"base64": png_b64, "pairingCode": "K7PQM2XZ"})
    mocked.post(URLS["connect"], json={"base64": png_b64, "pairingCode": "12-34"})
    png = base64.b64decode(png_b64)
    assert client.connect(IID, TOKEN) == ConnectReply(qr=QrCode(png=png), pairing_code=None)
    assert client.connect(IID, TOKEN) == ConnectReply(qr=QrCode(png=png), pairing_code="K7PQM2XZ")
    assert client.connect(IID, TOKEN) == ConnectReply(qr=QrCode(png=png), pairing_code=None)  # not asked for: ignored
    assert all("phone_number" not in json.loads(call.request.body) for call in mocked.calls)


def test_a_qr_only_reply_to_a_code_request_says_to_use_the_qr(mocked, client, debug_logs):
    mocked.post(URLS["connect"], json={"qr_code_base64": qr_b64(), "pairingCode": None})
    err = check_webhook_error(lambda: client.connect(IID, TOKEN, phone_number=PHONE), debug_logs, action="connect")
    assert err.message == "O provedor não ofereceu código de pareamento; use o QR Code."
    assert err.retryable is False


@pytest.mark.parametrize(
    "phone, reply, message",
    [
        (None, {"pairing_code": "K7PQM2XZ"}, "Resposta do provedor sem o campo 'qr_code_base64' (conectar)."),
        (None, {"count": 0}, "Resposta do provedor sem o campo 'qr_code_base64' (conectar)."),
        (PHONE, {"count": 0}, "Resposta do provedor sem o campo 'pairing_code' (conectar)."),
        (PHONE, {"pairingCode": "", "code": None}, "Resposta do provedor sem o campo 'pairing_code' (conectar)."),
        (PHONE, {"pairing_code": "ABC-123"}, "Resposta do provedor com o campo 'pairing_code' inválido (conectar)."),
        (PHONE, {"pairing_code": "ABCD1234X"}, "Resposta do provedor com o campo 'pairing_code' inválido (conectar)."),
        (PHONE, {"pairing_code": ["ABCD1234"]}, "Resposta do provedor com o campo 'pairing_code' inválido (conectar)."),
    ],
)
def test_a_reply_without_what_was_asked_for_is_a_missing_or_invalid_field(mocked, client, debug_logs, phone, reply, message):
    mocked.post(URLS["connect"], json=reply)
    err = check_webhook_error(lambda: client.connect(IID, TOKEN, phone_number=phone), debug_logs, action="connect")
    assert err.message == message and not err.retryable


@pytest.mark.parametrize(
    "word, expected",
    [
        ("open", "connected"),
        ("WORKING", "connected"),
        ("CONNECTED", "connected"),
        ("connected", "connected"),
        ("online", "connected"),
        ("Authenticated", "connected"),
        ("close", "disconnected"),
        ("closed", "disconnected"),
        ("STOPPED", "disconnected"),
        ("DISCONNECTED", "disconnected"),
        ("disconnected", "disconnected"),
        ("FAILED", "disconnected"),
        ("logout", "disconnected"),
        ("connecting", "connecting"),
        ("SCAN_QR_CODE", "connecting"),
        ("STARTING", "connecting"),
        ("qrcode", "connecting"),
        ("qr", "connecting"),
        ("pairing", "connecting"),
        (" Open ", "connected"),
    ],
)
def test_status_maps_provider_words(mocked, client, word, expected):
    mocked.get(URLS["status"], json={"status": word})
    assert client.status(IID, TOKEN) == StatusReply(status=expected, phone_number=None)


def test_status_sends_query_params_and_no_body(mocked, client):
    mocked.get(URLS["status"], json=[{"status": "connected", "phone_number": "+5511999999999"}])
    assert client.status(IID, TOKEN) == StatusReply(status="connected", phone_number="+5511999999999")
    request = mocked.calls[0].request
    assert parse_qs(urlsplit(request.url).query) == {"instance_id": [IID], "token": [TOKEN]}
    assert request.method == "GET" and not request.body


@pytest.mark.parametrize(
    "reply",
    [{"instance": {"instanceName": "x", "state": "open"}}, {"state": "open"}],
)
def test_status_accepts_state_and_evolution_nesting(mocked, client, reply):
    mocked.get(URLS["status"], json=reply)
    assert client.status(IID, TOKEN).status == "connected"


@pytest.mark.parametrize(
    "extra, phone",
    [
        ({"phone_number": "+55 (11) 99999-9999"}, "+5511999999999"),
        ({"phone": "5511999999999"}, "+5511999999999"),
        ({"number": 5511999999999}, "+5511999999999"),
        ({"wid": "5511999999999@s.whatsapp.net"}, "+5511999999999"),
        ({"jid": "5511999999999:12@s.whatsapp.net"}, "+5511999999999"),
        ({"phone_number": "5511999999999@c.us"}, "+5511999999999"),
        ({"phone_number": ""}, None),
        ({"phone_number": None}, None),
        ({"phone_number": "undefined"}, None),
        ({}, None),
    ],
)
def test_status_normalizes_phone(mocked, client, extra, phone):
    mocked.get(URLS["status"], json={"status": "open", **extra})
    assert client.status(IID, TOKEN).phone_number == phone


@pytest.mark.parametrize("body", [json.dumps({"success": True}), json.dumps([{"success": "true"}]), "", "  \n"])
def test_disconnect_success_shapes(mocked, client, body):
    mocked.post(URLS["disconnect"], body=body)
    assert client.disconnect(IID, TOKEN) is None
    assert json.loads(mocked.calls[0].request.body) == {"instance_id": IID, "token": TOKEN}


def test_configured_headers_sent_on_all_four_calls(mocked, client):
    mocked.post(URLS["create"], json={"instance_id": "a", "token": TOKEN})
    mocked.post(URLS["connect"], json={"qr_code_base64": WA_QR_TEXT})
    mocked.get(URLS["status"], json={"status": "open"})
    mocked.post(URLS["disconnect"], json={"success": True})
    for action in ("create", "connect", "status", "disconnect"):
        call(client, action)
    assert [c.request.headers.get("apikey") for c in mocked.calls] == [API_KEY] * 4


def test_logs_action_status_and_time_but_no_url(mocked, client, debug_logs):
    mocked.get(URLS["status"], json={"status": "open"})
    client.status(IID, TOKEN)
    messages = [r.getMessage() for r in debug_logs.records if r.name == "lib.provider.http"]
    assert len(messages) == 1 and messages[0].startswith("webhook status: HTTP 200 in ")
    assert "hooks.example.test" not in debug_logs.text and TOKEN not in debug_logs.text


def test_module_does_not_import_streamlit():
    root = Path(__file__).resolve().parents[2]
    code = "import sys, lib.provider.webhooks; sys.exit('streamlit' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], cwd=root).returncode == 0


# --- failures ----------------------------------------------------------------------------------

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


# --- against a real HTTP server (real urllib3 retry, streaming and logging paths) ---------------


class ScriptedServer:
    """HTTP server on 127.0.0.1 answering with scripted replies, in order; records each request."""

    def __init__(self, *replies):
        self.replies = list(replies)
        self.requests = []
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def handle_any(self):
                length = int(self.headers.get("Content-Length") or 0)
                server.requests.append((self.command, self.path, self.rfile.read(length)))
                server.replies.pop(0)(self)

            do_GET = do_POST = handle_any

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        port = self.httpd.server_address[1]
        self.urls = {a: f"http://127.0.0.1:{port}/{a}" for a in ACTIONS}
        threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def reply(code, body=b"", headers=()):
    def send(handler):
        handler.send_response(code)
        handler.send_header("Content-Length", str(len(body)))
        handler.send_header("Connection", "close")
        for name, value in headers:
            handler.send_header(name, value)
        handler.end_headers()
        handler.wfile.write(body)
        handler.close_connection = True

    return send


@pytest.fixture
def server_factory():
    servers = []

    def make(*replies):
        servers.append(ScriptedServer(*replies))
        return servers[-1]

    yield make
    for server in servers:
        server.close()


def test_real_status_get_is_retried_and_urllib3_logs_hide_the_token(server_factory, debug_logs, retry_waits):
    server = server_factory(reply(503, headers=[("Retry-After", "30")]), reply(200, b'{"status": "open"}'))
    client = WebhookClient(settings_for(server.urls, timeout=5.0))
    assert client.status(IID, TOKEN).status == "connected"
    assert all(seconds < 1 for seconds in retry_waits), retry_waits  # a provider's Retry-After does not stall the call
    assert [r[0] for r in server.requests] == ["GET", "GET"]
    assert "token=***" in debug_logs.text  # urllib3 logged the request line, masked
    assert TOKEN not in debug_logs.text


def test_real_post_is_not_retried(server_factory, debug_logs):
    server = server_factory(reply(503), reply(200, b'{"instance_id": "a", "token": "t"}'))
    client = WebhookClient(settings_for(server.urls, timeout=5.0))
    check_webhook_error(lambda: client.create("x"), debug_logs, "Erro no provedor (HTTP 503) ao criar instância", action="create")
    assert len(server.requests) == 1 and json.loads(server.requests[0][2]) == {"name": "x"}


def test_real_chunked_body(server_factory):
    def chunked(handler):
        handler.send_response(200)
        handler.send_header("Transfer-Encoding", "chunked")
        handler.send_header("Connection", "close")
        handler.end_headers()
        for part in (b'{"instance_id": ', b'"abc", "token": "t"}'):
            handler.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
            handler.wfile.flush()
        handler.wfile.write(b"0\r\n\r\n")
        handler.close_connection = True

    server = server_factory(chunked)
    assert WebhookClient(settings_for(server.urls, timeout=5.0)).create("x") == Credentials("abc", "t")


def test_real_trickling_body_hits_the_overall_deadline(server_factory, debug_logs):
    def trickle(handler):
        handler.send_response(200)
        handler.send_header("Content-Length", "100000")
        handler.end_headers()
        give_up = time.monotonic() + 5  # then hang up, so a client without a deadline fails instead of hanging
        while time.monotonic() < give_up:
            try:
                handler.wfile.write(b" ")
            except OSError:
                return
            time.sleep(0.05)  # each byte arrives well within the read timeout
        handler.close_connection = True

    server = server_factory(trickle)
    client = WebhookClient(settings_for(server.urls, timeout=0.5))
    # a client without a deadline would read to the server's hang-up and fail otherwise
    check_webhook_error(lambda: client.status(IID, TOKEN), debug_logs, "O provedor não respondeu a tempo (verificar status)", action="status")


@pytest.mark.parametrize("action", ACTIONS)
def test_connection_errors_are_not_retried(monkeypatch, debug_logs, action):
    attempts = []

    def refuse(*args, **kwargs):
        attempts.append(args)
        raise ConnectionRefusedError(111, "Connection refused")

    monkeypatch.setattr(urllib3.util.connection, "create_connection", refuse)
    client = WebhookClient(settings_for({a: f"http://127.0.0.1:9/{a}" for a in ACTIONS}, timeout=2.0))
    check_webhook_error(lambda: call(client, action), debug_logs, "Não foi possível conectar ao provedor", action=action)
    assert len(attempts) == 1
