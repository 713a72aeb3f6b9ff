"""lib.provider.sandbox, over real loopback HTTP: connecting by pairing code."""

from __future__ import annotations

import re

import pytest

import requests

from lib.provider.sandbox.provider import SandboxProvider
from tests.support.receiver import Receiver
from tests.support.sandbox import PHONE_RE, T, connect, create, decode_png, disconnect, status


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
