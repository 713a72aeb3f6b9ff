"""lib.provider.webhooks: connecting with a phone number (a pairing code), against mocked webhooks."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from lib.provider.base import ConnectReply, QrCode, StatusReply
from tests.provider.test_webhooks import (  # noqa: F401 - client, debug_logs and mocked are fixtures
    API_KEY, IID, TOKEN, URLS, WA_QR_TEXT, call, check_webhook_error, client, debug_logs, image_bytes, mocked,
)

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
