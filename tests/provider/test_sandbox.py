"""lib.provider.sandbox: the fake provider, exercised over real loopback HTTP: its instances' lifecycle
and its errors (the QR, pairing codes and the server: test_sandbox_*.py)."""

from __future__ import annotations

import re

import pytest
import qrcode
from dataclasses import replace

import requests
from PIL import ImageChops

from lib.config.settings import load_settings
from tests.support.sandbox import PHONE_RE, T, connect, create, decode_png, disconnect, scan, status


# ---------------------------------------------------------------- lifecycle
def test_full_lifecycle(sbx):
    inst = create(sbx)
    assert re.fullmatch(r"sbx-[0-9a-f]+", inst["instance_id"])
    assert len(inst["token"]) >= 32
    assert set(inst) == {"instance_id", "token"}

    assert status(sbx, inst).json() == {"status": "disconnected"}

    r = connect(sbx, inst)
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("application/json")
    body = r.json()
    assert set(body) == {"qr_code_base64"}
    assert not body["qr_code_base64"].startswith("data:")
    img = decode_png(body["qr_code_base64"])
    assert img.format == "PNG"
    assert img.width == img.height and img.width > 100

    assert status(sbx, inst).json() == {"status": "connecting"}

    url = sbx.scan_url(inst["instance_id"])
    assert url.startswith(f"{sbx.base_url}/scan/{inst['instance_id']}/")
    page = scan(url)
    assert page.status_code == 200
    assert page.headers["Content-Type"].startswith("text/html")
    assert "QR lido" in page.text and "conectada" in page.text

    connected = status(sbx, inst).json()
    assert connected["status"] == "connected"
    assert PHONE_RE.match(connected["phone_number"]), connected
    # "+" then 13 digits: 55 (Brazil) 11 (São Paulo) 9 (mobile) + 8 digits, i.e. 14 characters
    assert len(connected["phone_number"]) == 14

    r = disconnect(sbx, inst)
    assert r.status_code == 200 and r.json() == {"success": True}
    assert status(sbx, inst).json() == {"status": "disconnected"}


def test_qr_png_encodes_the_scan_url(sbx):
    inst = create(sbx)
    img = decode_png(connect(sbx, inst).json()["qr_code_base64"])
    url = sbx.scan_url(inst["instance_id"])
    assert url.startswith("http://127.0.0.1:")
    expected = qrcode.make(url).get_image()
    assert img.size == expected.size
    assert ImageChops.difference(img.convert("L"), expected.convert("L")).getbbox() is None


def test_base_url_and_webhook_settings_round_trip_through_config(sbx):
    assert sbx.base_url == f"http://127.0.0.1:{sbx.port}" and sbx.port > 0
    ws = sbx.webhook_settings()
    assert ws.create_url == f"{sbx.base_url}/create"
    assert ws.status_url == f"{sbx.base_url}/status"
    env = {f"WEBHOOK_{a.upper()}_URL": ws.url_for(a)
           for a in ("create", "connect", "status", "disconnect", "delete", "restart")}
    assert load_settings(secrets={}, env=env).webhooks == replace(ws, headers={})  # the list's key: not a webhook


def test_delete_forgets_the_instance(sbx):
    inst = create(sbx)
    assert requests.post(sbx.webhook_settings().delete_url, json={**inst, "token": "wrong"}, timeout=T).status_code == 401
    reply = requests.post(sbx.webhook_settings().delete_url, json=inst, timeout=T)
    assert reply.status_code == 200 and reply.json() == {"success": True}
    assert status(sbx, inst).status_code == 404 and sbx.instance_count() == 0


def test_scan_url_none_before_connect_and_instance_count(sbx):
    assert sbx.instance_count() == 0
    inst = create(sbx)
    create(sbx, "Outra")
    assert sbx.instance_count() == 2
    assert sbx.scan_url(inst["instance_id"]) is None
    assert sbx.scan_url("sbx-missing") is None


# ---------------------------------------------------------------- errors
@pytest.mark.parametrize("action", [connect, status, disconnect])
def test_wrong_token_is_401_and_changes_nothing(sbx, action):
    inst = create(sbx)
    r = action(sbx, {"instance_id": inst["instance_id"], "token": inst["token"] + "x"})
    assert r.status_code == 401
    assert r.json() == {"error": "invalid token"}
    assert status(sbx, inst).json() == {"status": "disconnected"}
    assert sbx.scan_url(inst["instance_id"]) is None


@pytest.mark.parametrize("action", [connect, status, disconnect])
def test_unknown_instance_is_404(sbx, action):
    inst = create(sbx)
    r = action(sbx, {"instance_id": "sbx-00000000", "token": inst["token"]})
    assert r.status_code == 404
    assert r.json() == {"error": "instance not found"}


@pytest.mark.parametrize(
    "path, payload",
    [
        ("create", b"not json"),
        ("create", b"[1, 2]"),
        ("create", b""),
        ("create", b'{"nome": "x"}'),
        ("create", b'{"name": ""}'),
        ("create", b'{"name": 5}'),
        ("connect", b'{"instance_id": "sbx-1"}'),
        ("connect", b'{"token": "t"}'),
        ("disconnect", b'{"instance_id": 1, "token": "t"}'),
        ("disconnect", b"\xff\xfe"),
    ],
)
def test_bad_body_is_400_json(sbx, path, payload):
    r = requests.post(f"{sbx.base_url}/{path}", data=payload,
                      headers={"Content-Type": "application/json"}, timeout=T)
    assert r.status_code == 400
    assert "error" in r.json()
    assert sbx.instance_count() == 0


@pytest.mark.parametrize("params", [{}, {"instance_id": "sbx-1"}, {"token": "t"}])
def test_status_missing_query_is_400(sbx, params):
    r = requests.get(f"{sbx.base_url}/status", params=params, timeout=T)
    assert r.status_code == 400
    assert "error" in r.json()


def test_unknown_path_is_404_and_wrong_method_is_405(sbx):
    r = requests.get(f"{sbx.base_url}/nope", timeout=T)
    assert r.status_code == 404 and r.json() == {"error": "not found"}
    r = requests.post(f"{sbx.base_url}/create/extra", json={"name": "x"}, timeout=T)
    assert r.status_code == 404
    r = requests.get(f"{sbx.base_url}/create", timeout=T)
    assert r.status_code == 405 and r.headers["Allow"] == "POST"
    r = requests.post(f"{sbx.base_url}/status", json={}, timeout=T)
    assert r.status_code == 405 and r.headers["Allow"] == "GET"
    r = requests.get(f"{sbx.base_url}/scan/only-one-part", timeout=T)
    assert r.status_code == 404
