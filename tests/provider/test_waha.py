"""The WAHA client against the WAHA double (harness/doubles/waha.py) over real loopback HTTP: the
double's quirks as WAHA's source has them, and what the client makes of them."""

import base64
import logging
import re

import pytest
import requests

from harness.doubles.waha import WahaDouble
from lib.errors import ProviderError
from lib.provider.base import DELETE, EVENTS, LIST, RESTART, Credentials, StatusReply
from lib.provider.waha import WahaProvider, session_name
from tests.support.receiver import Receiver

KEY = "waha-KEY-SECRET-0123456789"
SECRET = "evt-SECRET-abcdef123456"
PHONE = "5511999998888"
MSG_UNKNOWN = "Instância não encontrada no provedor."


@pytest.fixture(autouse=True)
def debug_logs(caplog):
    caplog.set_level(logging.DEBUG)
    return caplog


@pytest.fixture
def waha():
    with WahaDouble(api_key=KEY, status_wait_seconds=0.1) as double:
        yield double


@pytest.fixture
def sleeps():
    return []


@pytest.fixture
def provider(waha, sleeps):
    return WahaProvider(waha.base_url, KEY, sleep=sleeps.append)


@pytest.fixture
def receiver():
    with Receiver() as server:
        yield server


def call(waha, method, path, **kwargs) -> requests.Response:
    """A request straight to the double, as any WAHA client would send it."""
    headers = {"X-Api-Key": KEY, **kwargs.pop("headers", {})}
    return requests.request(method, waha.base_url + path, headers=headers, timeout=10, **kwargs)


def header(headers: dict, name: str) -> str | None:
    return next((value for key, value in headers.items() if key.lower() == name.lower()), None)


def connected(waha, provider, display_name="Cobrança") -> str:
    name = provider.create(display_name).instance_id
    provider.connect(name, "")
    waha.simulate_scan(name, PHONE)
    return name


# -- create ------------------------------------------------------------------------------------
def test_the_provider_says_what_it_is_and_can_do(provider):
    assert (provider.kind, provider.label) == ("waha", "WAHA")
    assert provider.capabilities == {DELETE, RESTART, LIST, EVENTS}


def test_create_makes_a_stopped_session_named_after_the_display_name(waha, provider):
    assert provider.create("Cobrança São Paulo 01") == Credentials(instance_id="cobranca-sao-paulo-01", token="")
    assert waha.snapshot("cobranca-sao-paulo-01").status == "STOPPED"
    assert waha.count("POST", "/api/sessions/cobranca-sao-paulo-01/start") == 0
    assert call(waha, "GET", "/api/sessions/cobranca-sao-paulo-01").json()["engine"] == {}


@pytest.mark.parametrize("display, attempt, expected", [
    ("Cobrança São Paulo", 1, "cobranca-sao-paulo"),
    ("  Equipe #1 — Régua  ", 1, "equipe-1-regua"),
    ("a_b-C", 1, "a_b-c"),
    ("😀 💬", 1, "instancia"),
    ("", 1, "instancia"),
    ("x" * 80, 1, "x" * 54),
    ("Equipe", 2, "equipe-2"),
    ("x" * 80, 12, "x" * 51 + "-12"),
])
def test_session_names_are_safe_for_waha(display, attempt, expected):
    assert session_name(display, attempt) == expected


def test_a_taken_name_gets_the_next_suffix(waha, provider):
    names = [provider.create("Equipe").instance_id for _ in range(3)]
    assert names == ["equipe", "equipe-2", "equipe-3"]
    assert waha.count("POST", "/api/sessions") == 6  # each taken name was tried, and refused with 422
    assert {item.instance_id for item in provider.list_instances()} == set(names)


def test_waha_core_refuses_any_session_but_default_and_the_message_says_plus_is_needed():
    with WahaDouble(api_key=KEY, core=True) as core:
        with pytest.raises(ProviderError) as caught:
            WahaProvider(core.base_url, KEY).create("Equipe")
    assert caught.value.message == (
        "Este WAHA (Core) aceita só a sessão 'default': várias instâncias exigem o WAHA Plus.")


def test_waha_starts_a_created_session_only_when_asked(waha):
    assert call(waha, "POST", "/api/sessions", json={"name": "plain"}).json()["status"] == "STOPPED"
    reply = call(waha, "POST", "/api/sessions", json={"name": "plain"})
    assert (reply.status_code, reply.json()["message"]) == (
        422, "Session 'plain' already exists. Use PUT to update it.")
    assert call(waha, "POST", "/api/sessions", json={"name": "now", "start": True}).json()["status"] == "STARTING"
    assert call(waha, "POST", "/api/sessions", json={"name": "no spaces"}).status_code == 400


# -- connect: QR -------------------------------------------------------------------------------
def test_connect_starts_a_stopped_session_and_returns_its_qr(waha, provider, sleeps):
    name = provider.create("Cobrança").instance_id
    reply = provider.connect(name, "")
    session = waha.snapshot(name)
    assert session.status == "SCAN_QR_CODE"
    assert reply.qr.png == session.qr_png and reply.pairing_code is None and not reply.already_connected
    assert waha.count("POST", f"/api/sessions/{name}/start") == 1
    assert sleeps == [0.5, 0.5]  # read STARTING once, then the QR


def test_waha_sends_the_qr_as_json_only_for_exactly_application_json(waha):
    call(waha, "POST", "/api/sessions", json={"name": "s", "start": True})
    png = call(waha, "GET", "/api/s/auth/qr")
    assert png.headers["Content-Type"] == "image/png" and png.content == waha.snapshot("s").qr_png
    as_json = call(waha, "GET", "/api/s/auth/qr", headers={"Accept": "application/json"}).json()
    assert as_json == {"mimetype": "image/png", "data": base64.b64encode(png.content).decode()}
    mixed = call(waha, "GET", "/api/s/auth/qr", headers={"Accept": "application/json, text/plain"})
    assert mixed.headers["Content-Type"] == "image/png"
    assert call(waha, "GET", "/api/s/auth/qr?format=raw").json() == {"value": waha.snapshot("s").qr_value}


def test_waha_answers_the_qr_of_a_stopped_session_422_after_waiting(waha):
    call(waha, "POST", "/api/sessions", json={"name": "s"})
    reply = call(waha, "GET", "/api/s/auth/qr")
    assert reply.status_code == 422
    assert reply.json() == {"error": "Session status is not as expected. Try again later or restart the session",
                            "session": "s", "status": "STOPPED", "expected": ["SCAN_QR_CODE"]}
    assert call(waha, "GET", "/api/nobody/auth/qr").json() == {"error": 'Session "nobody" does not exist',
                                                                "session": "nobody"}


def test_connect_of_a_working_session_is_already_connected_without_starting_it(waha, provider):
    name = connected(waha, provider)
    assert provider.connect(name, "").already_connected
    assert provider.connect(name, "", phone_number=PHONE).already_connected
    assert waha.count("POST", f"/api/sessions/{name}/start") == 1
    assert waha.count("GET", f"/api/{name}/auth/qr") == 1


def test_connect_gives_up_when_the_session_stays_starting(sleeps):
    with WahaDouble(api_key=KEY, starting_reads=1000) as slow:
        provider = WahaProvider(slow.base_url, KEY, sleep=sleeps.append)
        name = provider.create("Lenta").instance_id
        with pytest.raises(ProviderError) as caught:
            provider.connect(name, "")
    assert caught.value.message == "O WAHA ainda está iniciando a sessão. Tente novamente em instantes."
    assert sleeps == [0.5] * 30  # 15 s (the timeout) at most


# -- connect: pairing code ---------------------------------------------------------------------
def test_connect_with_a_phone_number_returns_the_pairing_code_that_connects_it(waha, provider):
    name = provider.create("Cobrança").instance_id
    reply = provider.connect(name, "", phone_number=PHONE)
    assert reply.qr is None and re.fullmatch(r"[A-Z0-9]{8}", reply.pairing_code)
    assert waha.snapshot(name).code_phone == PHONE
    assert not waha.simulate_code(name, "ZZZZ-ZZZZ")
    assert waha.simulate_code(name, f"{reply.pairing_code[:4]}-{reply.pairing_code[4:]}")
    assert provider.status(name, "") == StatusReply(status="connected", phone_number="+5511999998888")


def test_waha_gives_a_pairing_code_only_while_showing_a_qr(waha, provider):
    name = provider.create("Cobrança").instance_id
    stopped = call(waha, "POST", f"/api/{name}/auth/request-code", json={"phoneNumber": PHONE})
    assert stopped.status_code == 404
    assert stopped.json()["message"] == (f"We didn't find a session with name '{name}'.\n"
                                         f"Please start it first by using POST /api/sessions/{name}/start request")
    provider.connect(name, "")
    with_method = call(waha, "POST", f"/api/{name}/auth/request-code", json={"phoneNumber": PHONE, "method": "sms"})
    assert with_method.json()["message"] == "NOWEB engine doesn't support any 'method', remove it and try again"
    waha.simulate_scan(name, PHONE)
    working = call(waha, "POST", f"/api/{name}/auth/request-code", json={"phoneNumber": PHONE})
    assert (working.status_code, working.json()["message"]) == (
        422, "Can request code only in SCAN_QR_CODE status. The current status is WORKING")


def test_a_session_that_stopped_before_its_pairing_code_is_a_plain_failure(waha, provider):
    name = provider.create("Cobrança").instance_id
    gone = f"We didn't find a session with name '{name}'. Please start it first"
    waha.fail_next("POST", f"/api/{name}/auth/request-code", 404, {"statusCode": 404, "message": gone})
    with pytest.raises(ProviderError) as caught:
        provider.connect(name, "", phone_number=PHONE)
    assert caught.value.message == f"O WAHA não gerou o código de pareamento: {gone}. Use o QR Code."
    assert caught.value.status_code is None  # not "unknown at the provider": the instance is not deleted here
