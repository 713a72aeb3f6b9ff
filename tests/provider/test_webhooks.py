"""lib.provider.webhooks: the n8n webhook contract's shapes, against mocked webhooks (a pairing
code, failures and retries, and a real HTTP server: test_webhooks_*.py)."""

from __future__ import annotations

import base64
import io
import json
import logging

import pytest
import responses
from PIL import Image

from lib.config.provider import WebhookSettings
from lib.errors import ProviderError
from lib.provider.base import ConnectReply, Credentials, QrCode
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
