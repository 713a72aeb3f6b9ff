"""lib.provider.sandbox: the fake provider, exercised over real loopback HTTP."""

from __future__ import annotations

import base64
import http.client
import io
import json
import logging
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import qrcode
from dataclasses import replace

import requests
from PIL import Image, ImageChops

from lib.config.settings import load_settings
from lib.errors import ConfigError
from lib.provider.sandbox import __main__ as sandbox_cli
from lib.provider.sandbox import shared as sandbox_shared
from lib.provider.sandbox.provider import SandboxProvider
from lib.provider.sandbox.shared import shared_sandbox
from tests.support.receiver import Receiver

PROJECT_ROOT = Path(__file__).resolve().parents[2]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PHONE_RE = re.compile(r"^\+55119\d{8}$")
T = 10  # request timeout (a safety net, never asserted on)


class FakeClock:
    def __init__(self, start: float = 1000.0):
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def sbx(clock):
    with SandboxProvider(clock=clock) as provider:
        yield provider


# ---------------------------------------------------------------- helpers
def create(p: SandboxProvider, name: str = "Loja Centro") -> dict:
    r = requests.post(p.webhook_settings().create_url, json={"name": name}, timeout=T)
    assert r.status_code == 200, r.text
    return r.json()


def connect(p: SandboxProvider, inst: dict) -> requests.Response:
    return requests.post(p.webhook_settings().connect_url, json=inst, timeout=T)


def status(p: SandboxProvider, inst: dict) -> requests.Response:
    return requests.get(p.webhook_settings().status_url, params=inst, timeout=T)


def disconnect(p: SandboxProvider, inst: dict) -> requests.Response:
    return requests.post(p.webhook_settings().disconnect_url, json=inst, timeout=T)


def scan(url: str) -> requests.Response:
    return requests.get(url, timeout=T)


def decode_png(b64: str) -> Image.Image:
    raw = base64.b64decode(b64, validate=True)
    assert raw.startswith(PNG_SIGNATURE)
    img = Image.open(io.BytesIO(raw))
    img.load()
    return img


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


# ---------------------------------------------------------------- QR rotation and scanning
def test_each_connect_gives_a_fresh_nonce_and_only_the_latest_scans(sbx):
    inst = create(sbx)
    connect(sbx, inst)
    first = sbx.scan_url(inst["instance_id"])
    connect(sbx, inst)
    second = sbx.scan_url(inst["instance_id"])
    assert first != second
    assert first.rsplit("/", 1)[0] == second.rsplit("/", 1)[0]

    old = scan(first)
    assert old.status_code == 410
    assert "expirou" in old.text
    assert status(sbx, inst).json() == {"status": "connecting"}

    assert scan(second).status_code == 200
    assert status(sbx, inst).json()["status"] == "connected"


def test_qr_older_than_ttl_does_not_scan(clock):
    with SandboxProvider(clock=clock, qr_ttl_seconds=20) as sbx:
        inst = create(sbx)
        connect(sbx, inst)
        url = sbx.scan_url(inst["instance_id"])
        clock.advance(20.5)
        r = scan(url)
        assert r.status_code == 410
        assert "expirou" in r.text
        assert status(sbx, inst).json() == {"status": "connecting"}

        # a fresh connect rotates the QR and that one scans within its ttl
        connect(sbx, inst)
        clock.advance(19.5)
        assert scan(sbx.scan_url(inst["instance_id"])).status_code == 200
        assert status(sbx, inst).json()["status"] == "connected"


def test_custom_qr_ttl(clock):
    with SandboxProvider(clock=clock, qr_ttl_seconds=5) as sbx:
        inst = create(sbx)
        connect(sbx, inst)
        clock.advance(6)
        assert scan(sbx.scan_url(inst["instance_id"])).status_code == 410


def test_rescan_of_connected_instance_is_409(sbx):
    inst = create(sbx)
    connect(sbx, inst)
    url = sbx.scan_url(inst["instance_id"])
    assert scan(url).status_code == 200
    phone = status(sbx, inst).json()["phone_number"]
    again = scan(url)
    assert again.status_code == 409
    assert status(sbx, inst).json() == {"status": "connected", "phone_number": phone}


def test_scan_after_disconnect_is_410_and_stays_disconnected(sbx):
    inst = create(sbx)
    connect(sbx, inst)
    url = sbx.scan_url(inst["instance_id"])
    disconnect(sbx, inst)
    assert scan(url).status_code == 410
    assert status(sbx, inst).json() == {"status": "disconnected"}


def test_scan_of_unknown_instance_is_404(sbx):
    r = scan(f"{sbx.base_url}/scan/sbx-deadbeef/abc")
    assert r.status_code == 404
    assert r.headers["Content-Type"].startswith("text/html")


def test_connect_when_already_connected_is_409(sbx):
    inst = create(sbx)
    connect(sbx, inst)
    scan(sbx.scan_url(inst["instance_id"]))
    r = connect(sbx, inst)
    assert r.status_code == 409
    assert r.json() == {"error": "instance already connected"}
    assert status(sbx, inst).json()["status"] == "connected"


def test_reconnect_after_disconnect_gets_a_new_qr_and_phone_flow(sbx):
    inst = create(sbx)
    connect(sbx, inst)
    scan(sbx.scan_url(inst["instance_id"]))
    disconnect(sbx, inst)
    assert connect(sbx, inst).status_code == 200
    assert status(sbx, inst).json() == {"status": "connecting"}
    assert scan(sbx.scan_url(inst["instance_id"])).status_code == 200
    assert PHONE_RE.match(status(sbx, inst).json()["phone_number"])


def test_instances_are_independent(sbx):
    a, b = create(sbx, "A"), create(sbx, "B")
    assert a["instance_id"] != b["instance_id"] and a["token"] != b["token"]
    # a's token does not open b
    r = status(sbx, {"instance_id": b["instance_id"], "token": a["token"]})
    assert r.status_code == 401
    connect(sbx, a)
    scan(sbx.scan_url(a["instance_id"]))
    assert status(sbx, a).json()["status"] == "connected"
    assert status(sbx, b).json() == {"status": "disconnected"}


# ---------------------------------------------------------------- auto-scan
def test_auto_scan_connects_by_itself(clock):
    with SandboxProvider(clock=clock, auto_scan_seconds=5) as sbx:
        inst = create(sbx)
        clock.advance(100)  # no connect yet: nothing happens
        assert status(sbx, inst).json() == {"status": "disconnected"}
        connect(sbx, inst)
        clock.advance(4.9)
        assert status(sbx, inst).json() == {"status": "connecting"}
        clock.advance(0.1)
        body = status(sbx, inst).json()
        assert body["status"] == "connected"
        assert PHONE_RE.match(body["phone_number"])


def test_auto_scan_counts_from_the_first_connect_not_each_qr_refresh(clock):
    with SandboxProvider(clock=clock, auto_scan_seconds=30, qr_ttl_seconds=20) as sbx:
        inst = create(sbx)
        connect(sbx, inst)
        clock.advance(20)
        connect(sbx, inst)  # the UI refreshing an expiring QR
        clock.advance(10)
        assert status(sbx, inst).json()["status"] == "connected"


def test_without_auto_scan_a_connecting_instance_waits_until_its_qr_is_abandoned(clock):
    with SandboxProvider(clock=clock, qr_ttl_seconds=20, abandon_seconds=60) as sbx:
        inst = create(sbx)
        connect(sbx, inst)
        clock.advance(80)  # the QR expired 60 s ago: WhatsApp still waits
        assert status(sbx, inst).json() == {"status": "connecting"}
        clock.advance(0.1)  # nobody asked for a new QR: the provider gives up
        assert status(sbx, inst).json() == {"status": "disconnected"}
        assert scan(sbx.scan_url(inst["instance_id"])).status_code == 410


def test_refreshing_the_qr_keeps_an_instance_connecting(clock):
    with SandboxProvider(clock=clock, qr_ttl_seconds=20, abandon_seconds=60) as sbx:
        inst = create(sbx)
        for _ in range(10):  # the connect dialog fetching a new QR before each one expires
            connect(sbx, inst)
            clock.advance(15)
            assert status(sbx, inst).json() == {"status": "connecting"}


# ---------------------------------------------------------------- persistence, pushes, simulations
def test_a_restart_on_the_same_state_file_keeps_every_instance(tmp_path, clock):
    state = tmp_path / "sandbox_instances.json"
    with SandboxProvider(clock=clock, state_path=state) as first:
        idle, live = create(first, "Parada"), create(first, "Conectada")
        connect(first, live)
        assert first.simulate_scan(live["instance_id"])
        phone = status(first, live).json()["phone_number"]
    assert state.stat().st_mode & 0o777 == 0o600  # it holds the tokens
    with SandboxProvider(clock=clock, state_path=state) as second:  # another port, same instances
        assert second.instance_count() == 2
        assert status(second, live).json() == {"status": "connected", "phone_number": phone}
        assert status(second, idle).json() == {"status": "disconnected"}
        assert connect(second, idle).status_code == 200  # still connectable
        assert second.simulate_scan(idle["instance_id"])
        assert status(second, {**idle, "token": "wrong"}).status_code == 401
        assert status(second, {"instance_id": "sbx-unknown", "token": "x"}).status_code == 404


def test_a_connecting_instance_loaded_after_a_restart_falls_back_to_disconnected(tmp_path, clock):
    state = tmp_path / "sandbox_instances.json"
    with SandboxProvider(clock=clock, state_path=state) as first:
        inst = create(first)
        connect(first, inst)
    with SandboxProvider(clock=clock, state_path=state) as second:  # the QR died with the first
        assert status(second, inst).json() == {"status": "disconnected"}


def test_simulations_and_their_refusals(sbx):
    inst = create(sbx)
    assert not sbx.simulate_scan(inst["instance_id"])  # no QR shown yet
    assert not sbx.simulate_drop(inst["instance_id"])  # not connected
    connect(sbx, inst)
    assert sbx.simulate_scan(inst["instance_id"])
    assert status(sbx, inst).json()["status"] == "connected"
    assert sbx.simulate_drop(inst["instance_id"])
    assert status(sbx, inst).json() == {"status": "disconnected"}
    assert not sbx.simulate_drop("sbx-unknown") and not sbx.simulate_scan("sbx-unknown")


def test_status_changes_are_pushed_to_the_app_but_not_those_it_asked_for(sbx):
    with Receiver() as receiver:
        sbx.push_events_to(receiver.url("/api/provider-events"), "s3cret")
        inst = create(sbx)
        connect(sbx, inst)  # the app's own connect: no push back
        sbx.simulate_scan(inst["instance_id"])
        path, headers, connected = receiver.next()  # pushes come in order: the scan's is the first
        assert (path, headers["X-Webhook-Secret"]) == ("/api/provider-events", "s3cret")
        assert connected["status"] == "connected" and PHONE_RE.match(connected["phone_number"])
        sbx.simulate_drop(inst["instance_id"])
        dropped = receiver.next()[2]
        assert dropped.pop("timestamp") > connected["timestamp"]  # the provider's time orders its events
        assert dropped == {"instance_id": inst["instance_id"], "status": "disconnected", "phone_number": None,
                           "reason": "428"}  # why: WhatsApp's "connection lost"
        connect(sbx, inst)
        sbx.simulate_scan(inst["instance_id"])
        assert receiver.next()[2]["status"] == "connected"
        disconnect(sbx, inst)  # the app's own disconnect: no push back either
        connect(sbx, inst)
        sbx.simulate_scan(inst["instance_id"])
        assert receiver.next()[2]["status"] == "connected"


# ---------------------------------------------------------------- pairing code
PHONE = "5511987654321"
CODE_RE = re.compile(r"^[ABCDEFGHJKMNPQRSTUVWXYZ23456789]{8}$")  # no 0/O, 1/I/L


def connect_with(p: SandboxProvider, inst: dict, phone: str = PHONE) -> requests.Response:
    return requests.post(p.webhook_settings().connect_url, json={**inst, "phone_number": phone}, timeout=T)


def test_a_connect_with_a_phone_number_issues_a_code_that_connects_that_number(sbx):
    inst = create(sbx)
    r = connect_with(sbx, inst)
    assert r.status_code == 200 and set(r.json()) == {"pairing_code"}
    code = r.json()["pairing_code"]
    assert CODE_RE.match(code), code
    assert status(sbx, inst).json() == {"status": "connecting"}
    assert sbx.scan_url(inst["instance_id"]) is None  # a code, no QR
    assert sbx.simulate_code(inst["instance_id"], f"{code[:4].lower()}-{code[4:]}")  # as typed on a phone
    assert status(sbx, inst).json() == {"status": "connected", "phone_number": "+" + PHONE}
    assert not sbx.simulate_code(inst["instance_id"], code)  # used: connected already


def test_a_wrong_or_replaced_code_does_not_connect(sbx):
    inst = create(sbx)
    first = connect_with(sbx, inst).json()["pairing_code"]
    latest = connect_with(sbx, inst, "+447911123456").json()["pairing_code"]
    wrong = "".join("A" if ch != "A" else "B" for ch in latest)
    for typed in (wrong, latest[:7], "", None, "ÁBCD1234"):
        assert not sbx.simulate_code(inst["instance_id"], typed)
    if first != latest:  # (random codes: equal about once in 10^12)
        assert not sbx.simulate_code(inst["instance_id"], first)  # only the latest code counts
    assert not sbx.simulate_code("sbx-unknown", latest)
    assert status(sbx, inst).json() == {"status": "connecting"}
    assert sbx.simulate_code(inst["instance_id"], latest)
    assert status(sbx, inst).json() == {"status": "connected", "phone_number": "+447911123456"}


def test_a_code_older_than_its_ttl_does_not_connect(clock):
    with SandboxProvider(clock=clock, code_ttl_seconds=180) as sbx:
        inst = create(sbx)
        code = connect_with(sbx, inst).json()["pairing_code"]
        clock.advance(180.5)
        assert not sbx.simulate_code(inst["instance_id"], code)
        assert status(sbx, inst).json() == {"status": "connecting"}
        code = connect_with(sbx, inst).json()["pairing_code"]  # a new code, in time
        clock.advance(179.5)
        assert sbx.simulate_code(inst["instance_id"], code)


def test_qr_and_code_live_side_by_side_and_the_qr_path_is_unchanged(sbx):
    inst = create(sbx)
    body = connect(sbx, inst).json()
    assert set(body) == {"qr_code_base64"}  # no phone_number: a QR, as before
    decode_png(body["qr_code_base64"])
    qr_url = sbx.scan_url(inst["instance_id"])
    code = connect_with(sbx, inst).json()["pairing_code"]
    assert sbx.scan_url(inst["instance_id"]) == qr_url  # asking for a code kept the QR
    connect(sbx, inst)  # asking for a new QR keeps the code
    assert sbx.simulate_code(inst["instance_id"], code)
    disconnect(sbx, inst)
    connect(sbx, inst)
    assert sbx.simulate_scan(inst["instance_id"])
    assert PHONE_RE.match(status(sbx, inst).json()["phone_number"])  # a scan: a generated number


def test_a_code_keeps_its_instance_connecting_until_it_is_abandoned(clock):
    with SandboxProvider(clock=clock, qr_ttl_seconds=20, code_ttl_seconds=180, abandon_seconds=60) as sbx:
        inst = create(sbx)
        connect(sbx, inst)
        code = connect_with(sbx, inst).json()["pairing_code"]
        clock.advance(240)  # the QR is long abandoned, the code expired 60 s ago: still waiting
        assert status(sbx, inst).json() == {"status": "connecting"}
        clock.advance(0.1)
        assert status(sbx, inst).json() == {"status": "disconnected"}
        assert not sbx.simulate_code(inst["instance_id"], code)


def test_a_disconnect_forgets_the_code(sbx):
    inst = create(sbx)
    code = connect_with(sbx, inst).json()["pairing_code"]
    disconnect(sbx, inst)
    assert not sbx.simulate_code(inst["instance_id"], code)
    assert status(sbx, inst).json() == {"status": "disconnected"}


def test_auto_scan_of_an_instance_waiting_for_a_code_connects_that_number(clock):
    with SandboxProvider(clock=clock, auto_scan_seconds=5) as sbx:
        inst = create(sbx)
        connect_with(sbx, inst)
        clock.advance(5)
        assert status(sbx, inst).json() == {"status": "connected", "phone_number": "+" + PHONE}


@pytest.mark.parametrize("phone", ["", "abc", "1234567", "1" * 16, 5511987654321, "+55 11 98765-4321", "٥٥١١٩٨٧٦٥٤٣٢١"])
def test_an_invalid_phone_number_is_400_and_changes_nothing(sbx, phone):
    inst = create(sbx)
    r = connect_with(sbx, inst, phone)
    assert r.status_code == 400 and r.json() == {"error": "invalid field: phone_number"}
    assert status(sbx, inst).json() == {"status": "disconnected"}


def test_a_connected_instance_refuses_a_code_request(sbx):
    inst = create(sbx)
    connect(sbx, inst)
    sbx.simulate_scan(inst["instance_id"])
    assert connect_with(sbx, inst).status_code == 409


def test_the_typed_code_pushes_the_change_like_a_scan(sbx):
    with Receiver() as receiver:
        sbx.push_events_to(receiver.url("/api/provider-events"), "s3cret")
        inst = create(sbx)
        code = connect_with(sbx, inst).json()["pairing_code"]  # the app's own connect: no push back
        assert sbx.simulate_code(inst["instance_id"], code)
        pushed = receiver.next()[2]
        assert isinstance(pushed.pop("timestamp"), int)
        assert pushed == {"instance_id": inst["instance_id"], "status": "connected", "phone_number": "+" + PHONE}


# ---------------------------------------------------------------- latency and concurrency
def test_latency_delays_webhook_responses_but_not_scan(clock):
    slept: list[float] = []
    with SandboxProvider(clock=clock, latency_ms=200, sleep=slept.append) as sbx:
        inst = create(sbx)
        connect(sbx, inst)
        status(sbx, inst)
        disconnect(sbx, inst)
        assert slept == [0.2] * 4
        connect(sbx, inst)
        slept.clear()
        assert scan(sbx.scan_url(inst["instance_id"])).status_code == 200
        assert slept == []


def test_no_latency_means_no_sleep(sbx, monkeypatch):
    slept: list[float] = []
    monkeypatch.setattr(sbx, "_sleep", slept.append)
    status(sbx, create(sbx))
    assert slept == []


@pytest.mark.parametrize("n", [2, 16])
def test_concurrent_status_calls_are_served_in_parallel(clock, n):
    # Each status call's latency sleep waits on a barrier that only opens once n calls are
    # inside the server at the same time: a server handling them one by one breaks it (and
    # the calls fail with 500s or the barrier's BrokenBarrierError). No timing is asserted.
    barrier = threading.Barrier(n, timeout=T)
    with SandboxProvider(clock=clock, sleep=lambda _s: barrier.wait()) as sbx:
        insts = [create(sbx, f"i{i}") for i in range(n)]
        assert sbx.max_in_flight == 1
        sbx.latency_ms = 200
        results: queue.Queue = queue.Queue()

        def call(inst):
            try:
                results.put(status(sbx, inst))
            except Exception as exc:  # surfaced by the assert below
                results.put(exc)

        threads = [threading.Thread(target=call, args=(inst,)) for inst in insts]
        [t.start() for t in threads]
        [t.join() for t in threads]
        responses = [results.get_nowait() for _ in range(n)]
        assert all(isinstance(r, requests.Response) and r.status_code == 200 for r in responses), responses
        assert not barrier.broken
        assert sbx.max_in_flight == n


def test_keep_alive_serves_several_requests_on_one_connection(sbx):
    conn = http.client.HTTPConnection("127.0.0.1", sbx.port, timeout=T)
    try:
        conn.request("POST", "/create", body=json.dumps({"name": "x"}), headers={"Content-Type": "application/json"})
        first = conn.getresponse()
        assert first.version == 11
        assert first.getheader("Content-Length") is not None
        inst = json.loads(first.read())
        sock = conn.sock
        conn.request("GET", f"/status?instance_id={inst['instance_id']}&token={inst['token']}")
        second = conn.getresponse()
        assert json.loads(second.read()) == {"status": "disconnected"}
        conn.request("GET", "/nope")  # an error response keeps the connection too
        assert conn.getresponse().read()
        conn.request("POST", "/connect", body=json.dumps(inst))
        assert "qr_code_base64" in json.loads(conn.getresponse().read())
        assert conn.sock is sock  # same socket the whole time
    finally:
        conn.close()


# ---------------------------------------------------------------- logging hygiene
def test_requests_are_not_logged_to_stderr_and_never_with_the_token(sbx, caplog, capfd):
    caplog.set_level(logging.DEBUG, logger="lib.provider.sandbox")
    inst = create(sbx)
    status(sbx, inst)
    status(sbx, {"instance_id": inst["instance_id"], "token": "wrong-" + inst["token"]})
    connect(sbx, inst)
    requests.get(f"{sbx.base_url}/status?token={inst['token']}", timeout=T)  # 400 path
    # a malformed request line is echoed by http.server's own error logging: still no token
    with socket.create_connection(("127.0.0.1", sbx.port), timeout=T) as raw:
        raw.sendall(f"GET /status?instance_id=x&token={inst['token']} HTTP/1.1 HTTP/1.1\r\n\r\n".encode())
        assert raw.recv(1024).startswith(b"HTTP/1.1 400")
    out, err = capfd.readouterr()
    assert err == "" and out == ""
    assert any("/status" in rec.getMessage() for rec in caplog.records)
    assert inst["token"] not in caplog.text


# ---------------------------------------------------------------- lifecycle of the server
def test_stop_closes_the_port_and_is_idempotent(clock):
    sbx = SandboxProvider(clock=clock).start()
    assert sbx.start() is sbx and sbx.running
    url = sbx.webhook_settings().create_url
    sbx.stop()
    sbx.stop()
    assert not sbx.running
    with pytest.raises(requests.ConnectionError):
        requests.post(url, json={"name": "x"}, timeout=T)
    with pytest.raises(RuntimeError):
        sbx.base_url


@pytest.mark.parametrize(
    "kwargs", [{"qr_ttl_seconds": 0}, {"code_ttl_seconds": 0}, {"auto_scan_seconds": -1}, {"latency_ms": -5}]
)
def test_invalid_constructor_arguments(kwargs):
    with pytest.raises(ValueError):
        SandboxProvider(**kwargs)


# ---------------------------------------------------------------- shared sandbox and env
def test_shared_sandbox_is_a_lazy_singleton_per_data_dir_configured_from_env(monkeypatch, tmp_path):
    monkeypatch.setattr(sandbox_shared, "_shared", {})
    monkeypatch.setenv("SANDBOX_AUTO_SCAN_SECONDS", "3")
    monkeypatch.setenv("SANDBOX_LATENCY_MS", "7")
    got: list[SandboxProvider] = []
    threads = [threading.Thread(target=lambda: got.append(shared_sandbox(tmp_path))) for _ in range(8)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    try:
        first = got[0]
        assert all(p is first for p in got)
        assert shared_sandbox(tmp_path) is first
        assert first.state_path == tmp_path.resolve() / "sandbox_instances.json"
        assert first.running
        assert first.auto_scan_seconds == 3.0 and first.latency_ms == 7
        assert create(first)["instance_id"].startswith("sbx-")
    finally:
        first.stop()


def test_shared_sandbox_defaults(monkeypatch, tmp_path):
    monkeypatch.setattr(sandbox_shared, "_shared", {})
    monkeypatch.delenv("SANDBOX_AUTO_SCAN_SECONDS", raising=False)
    monkeypatch.delenv("SANDBOX_LATENCY_MS", raising=False)
    p = shared_sandbox(tmp_path)
    try:
        assert p.auto_scan_seconds is None and p.latency_ms == 0 and p.qr_ttl_seconds == 20.0
    finally:
        p.stop()


@pytest.mark.parametrize(
    "env", [{"SANDBOX_AUTO_SCAN_SECONDS": "soon"}, {"SANDBOX_AUTO_SCAN_SECONDS": "-1"},
            {"SANDBOX_AUTO_SCAN_SECONDS": "nan"}, {"SANDBOX_LATENCY_MS": "1.5"}, {"SANDBOX_LATENCY_MS": "-3"}]
)
def test_invalid_env_is_a_config_error(env):
    with pytest.raises(ConfigError) as info:
        sandbox_shared.settings_from_env(env)
    assert next(iter(env)) in info.value.message


def test_settings_from_env_parses_values():
    assert sandbox_shared.settings_from_env({"SANDBOX_AUTO_SCAN_SECONDS": " 2.5 ", "SANDBOX_LATENCY_MS": "40"}) == {
        "auto_scan_seconds": 2.5, "latency_ms": 40}
    assert sandbox_shared.settings_from_env({}) == {"auto_scan_seconds": None, "latency_ms": 0}


# ---------------------------------------------------------------- CLI
def _read_lines(stream, out: queue.Queue) -> None:
    for line in stream:
        out.put(line)
    out.put(None)


@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM])
def test_cli_prints_env_lines_serves_and_stops_cleanly(stop_signal):
    # Started as a shell starts a background job: SIGINT ignored, which Python then keeps unless told.
    as_a_background_job = 'trap "" INT; exec "$0" -m lib.provider.sandbox --port 0 --latency-ms 0 --auto-scan-seconds 0'
    with subprocess.Popen(
        ["sh", "-c", as_a_background_job, sys.executable],
        cwd=PROJECT_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    ) as proc:
        try:
            lines: queue.Queue = queue.Queue()
            reader = threading.Thread(target=_read_lines, args=(proc.stdout, lines), daemon=True)
            reader.start()
            header = lines.get(timeout=20)
            assert header.startswith("#") and "http://127.0.0.1:" in header
            env = {}
            for _ in range(4):
                key, _, value = lines.get(timeout=T).strip().partition("=")
                env[key] = value
            assert set(env) == {"WEBHOOK_CREATE_URL", "WEBHOOK_CONNECT_URL", "WEBHOOK_STATUS_URL", "WEBHOOK_DISCONNECT_URL"}
            port = int(re.search(r":(\d+)/create$", env["WEBHOOK_CREATE_URL"]).group(1))
            assert port != 0
            assert load_settings(secrets={}, env=env).webhooks.status_url == env["WEBHOOK_STATUS_URL"]

            inst = requests.post(env["WEBHOOK_CREATE_URL"], json={"name": "cli"}, timeout=T).json()
            requests.post(env["WEBHOOK_CONNECT_URL"], json=inst, timeout=T).raise_for_status()
            # --auto-scan-seconds 0: connected at the next status call
            st = requests.get(env["WEBHOOK_STATUS_URL"], params=inst, timeout=T).json()
            assert st["status"] == "connected" and PHONE_RE.match(st["phone_number"])

            proc.send_signal(stop_signal)
            assert proc.wait(timeout=T) == 0
            reader.join(timeout=T)
            assert proc.stderr.read() == ""
        finally:
            if proc.poll() is None:
                proc.kill()


def test_cli_reports_a_busy_port(sbx, capsys):
    assert sandbox_cli.main(["--port", str(sbx.port)]) == 1
    assert f"127.0.0.1:{sbx.port}" in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv", [["--latency-ms", "-1"], ["--qr-ttl-seconds", "0"], ["--auto-scan-seconds", "x"], ["--port", "abc"]]
)
def test_cli_rejects_bad_arguments(argv, capsys):
    with pytest.raises(SystemExit) as info:
        sandbox_cli.main(argv)
    assert info.value.code == 2
