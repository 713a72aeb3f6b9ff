"""The WAHA client against the WAHA double (harness/doubles/waha.py) over real loopback HTTP: the
double's quirks as WAHA's source has them, and what the client makes of them."""

import base64
import logging
import re

import pytest
import requests

from harness.doubles.waha import WahaDouble
from lib.errors import ProviderError
from lib.provider.base import DELETE, EVENTS, LIST, RESTART, Credentials, ProviderEvent, RemoteInstance, StatusReply
from lib.provider.waha import WahaProvider, event_from, session_name
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


# -- FAILED, restart, drop ---------------------------------------------------------------------
def test_the_session_fails_when_six_qr_codes_expire_unscanned_and_connect_restarts_it(waha, provider):
    name = provider.create("Cobrança").instance_id
    first = provider.connect(name, "").qr.png
    for _ in range(5):
        waha.rotate_qr(name)
    assert (waha.snapshot(name).status, waha.snapshot(name).qr_count) == ("SCAN_QR_CODE", 6)
    waha.rotate_qr(name)
    assert provider.status(name, "") == StatusReply(status="disconnected", phone_number=None, reason="failed")
    reply = provider.connect(name, "")
    assert waha.count("POST", f"/api/sessions/{name}/restart") == 1
    assert reply.qr.png == waha.snapshot(name).qr_png != first
    assert waha.count("POST", f"/api/sessions/{name}/logout") == 0


def test_waha_refuses_to_start_a_running_session(waha, provider):
    name = provider.create("Cobrança").instance_id
    provider.connect(name, "")
    reply = call(waha, "POST", f"/api/sessions/{name}/start")
    assert (reply.status_code, reply.json()["message"]) == (422, f"Session '{name}' is already started.")


def test_a_number_removed_on_the_phone_fails_again_on_restart_until_connect_logs_it_out(waha, provider):
    name = connected(waha, provider)
    waha.simulate_drop(name)
    assert provider.status(name, "") == StatusReply(status="disconnected", phone_number="+5511999998888",
                                                    reason="failed")
    provider.restart(name, "")
    provider.status(name, "")  # still STARTING
    assert provider.status(name, "").reason == "failed"
    reply = provider.connect(name, "")
    assert reply.qr.png == waha.snapshot(name).qr_png
    assert waha.count("POST", f"/api/sessions/{name}/logout") == 1


def test_restart_of_a_working_session_comes_back_working(waha, provider, receiver):
    name = provider.create("Cobrança").instance_id
    provider.register_events(name, "", receiver.url("/events"), SECRET)
    provider.connect(name, "")
    waha.simulate_scan(name, PHONE)
    assert [receiver.next()[2]["payload"]["status"] for _ in range(3)] == ["STARTING", "SCAN_QR_CODE", "WORKING"]
    provider.restart(name, "")
    assert provider.status(name, "").status == "connecting"
    assert provider.status(name, "") == StatusReply(status="connected", phone_number="+5511999998888")
    assert [receiver.next()[2]["payload"]["status"] for _ in range(3)] == ["STOPPED", "STARTING", "WORKING"]


# -- disconnect, delete ------------------------------------------------------------------------
def test_disconnect_logs_the_number_out_and_leaves_the_session_stopped(waha, provider):
    name = connected(waha, provider)
    provider.disconnect(name, "")
    session = waha.snapshot(name)
    assert (session.status, session.auth, session.me) == ("STOPPED", "none", None)
    assert provider.status(name, "") == StatusReply(status="disconnected", phone_number=None)
    assert not provider.connect(name, "").already_connected  # a new QR: the number is gone


def test_disconnect_of_a_stopped_session_succeeds_and_of_an_unknown_one_is_a_404(waha, provider):
    name = provider.create("Cobrança").instance_id
    provider.disconnect(name, "")
    assert waha.snapshot(name).status == "STOPPED"
    with pytest.raises(ProviderError) as caught:
        provider.disconnect("nobody", "")
    assert (caught.value.status_code, caught.value.message) == (404, MSG_UNKNOWN)
    unknown = call(waha, "POST", "/api/sessions/nobody/stop")  # WAHA's stop checks nothing: 201, empty body
    assert (unknown.status_code, unknown.content) == (201, b"")


def test_waha_logout_starts_a_running_session_again(waha, provider):
    name = provider.create("Cobrança").instance_id
    provider.connect(name, "")
    assert call(waha, "POST", f"/api/sessions/{name}/logout").json()["status"] == "STARTING"


def test_delete_removes_the_session_and_waha_deletes_idempotently(waha, provider):
    name = connected(waha, provider)
    provider.delete(name, "")
    with pytest.raises(ProviderError) as caught:
        provider.status(name, "")
    assert (caught.value.status_code, caught.value.message) == (404, MSG_UNKNOWN)
    provider.delete(name, "")  # WAHA answers 200 for a session it does not know
    assert call(waha, "DELETE", f"/api/sessions/{name}").status_code == 200


def test_a_delete_answered_404_is_a_provider_error_with_status_code_404(waha, provider):
    name = provider.create("Cobrança").instance_id
    waha.fail_next("DELETE", f"/api/sessions/{name}", 404, {"statusCode": 404, "message": "Session not found"})
    with pytest.raises(ProviderError) as caught:
        provider.delete(name, "")
    assert (caught.value.status_code, caught.value.message) == (404, MSG_UNKNOWN)


# -- list, status ------------------------------------------------------------------------------
def test_list_instances_gives_every_session_even_stopped_ones(waha, provider):
    stopped = provider.create("Parada").instance_id
    connecting = provider.create("Lendo").instance_id
    provider.connect(connecting, "")
    working = connected(waha, provider, "Ligada")
    failed = connected(waha, provider, "Caiu")
    waha.simulate_drop(failed)
    assert sorted(provider.list_instances(), key=lambda item: item.instance_id) == [
        RemoteInstance(instance_id=failed, status="disconnected", phone_number="+5511999998888", reason="failed"),
        RemoteInstance(instance_id=connecting, status="connecting", phone_number=None),
        RemoteInstance(instance_id=working, status="connected", phone_number="+5511999998888"),
        RemoteInstance(instance_id=stopped, status="disconnected", phone_number=None),
    ]
    assert all(item.token == "" for item in provider.list_instances())
    running = {item["name"] for item in call(waha, "GET", "/api/sessions").json()}
    assert running == {failed, connecting, working}


def test_a_list_reply_that_is_not_an_array_is_refused(waha, provider):
    waha.fail_next("GET", "/api/sessions", 200, {"name": "x", "status": "WORKING"})
    with pytest.raises(ProviderError) as caught:
        provider.list_instances()
    assert caught.value.message == "Resposta inválida do provedor (listar instâncias): formato inesperado."


def test_an_unknown_status_word_is_refused(waha, provider):
    name = provider.create("Cobrança").instance_id
    waha.fail_next("GET", f"/api/sessions/{name}", 200, {"name": name, "status": "BANANA"})
    with pytest.raises(ProviderError) as caught:
        provider.status(name, "")
    assert caught.value.message == "Status desconhecido retornado pelo provedor: BANANA"


# -- events ------------------------------------------------------------------------------------
def test_register_events_sets_our_webhook_and_keeps_the_rest_of_the_config(waha, provider):
    others = {"url": "https://n8n.example.test/hook", "events": ["message"]}
    call(waha, "POST", "/api/sessions", json={"name": "s", "config": {"metadata": {"team": "cobranca"},
                                                                       "webhooks": [others]}})
    provider.register_events("s", "", "https://app.example.test/api/provider-events", SECRET)
    ours = {"url": "https://app.example.test/api/provider-events", "events": ["session.status"],
            "customHeaders": [{"name": "X-Webhook-Secret", "value": SECRET}]}
    assert waha.snapshot("s").config == {"metadata": {"team": "cobranca"}, "webhooks": [others, ours]}
    provider.register_events("s", "", ours["url"], SECRET)
    assert waha.count("PUT", "/api/sessions/s") == 1  # already so: no PUT (it would restart a running session)
    provider.register_events("s", "", "https://moved.example.test/api/provider-events", SECRET)
    moved = {**ours, "url": "https://moved.example.test/api/provider-events"}
    assert waha.snapshot("s").config["webhooks"] == [others, moved]


def test_pushes_carry_the_secret_header_and_read_as_events(waha, provider, receiver):
    name = provider.create("Cobrança").instance_id
    provider.register_events(name, "", receiver.url("/api/provider-events"), SECRET)
    provider.connect(name, "")
    waha.simulate_scan(name, PHONE)
    pushes = [receiver.next() for _ in range(3)]
    assert [body["payload"]["status"] for _, _, body in pushes] == ["STARTING", "SCAN_QR_CODE", "WORKING"]
    for path, headers, body in pushes:
        assert path == "/api/provider-events" and header(headers, "X-Webhook-Secret") == SECRET
        assert body["event"] == "session.status" and body["session"] == name
        assert isinstance(body["timestamp"], int) and body["timestamp"] > 1_600_000_000_000  # milliseconds
    events = [event_from(body) for _, _, body in pushes]
    assert events[-1] == ProviderEvent(name, "connected", "+5511999998888", at=pushes[-1][2]["timestamp"])
    assert events[0].at < events[1].at < events[2].at


def test_wait_pushes_returns_once_every_push_so_far_was_delivered(waha, provider, receiver):
    name = provider.create("Cobrança").instance_id
    provider.register_events(name, "", receiver.url("/events"), SECRET)
    provider.connect(name, "")
    waha.simulate_scan(name, PHONE)
    waha.wait_pushes()
    assert receiver.received.qsize() == 3  # STARTING, SCAN_QR_CODE, WORKING: none still on its way


def test_a_config_update_restarts_a_running_session(waha, provider, receiver):
    name = connected(waha, provider)
    provider.register_events(name, "", receiver.url("/events"), SECRET)
    assert receiver.next()[2]["payload"]["status"] == "STARTING"  # its STOPPED went to the webhooks of before
    provider.status(name, "")
    provider.status(name, "")
    assert receiver.next()[2]["payload"]["status"] == "WORKING"


def test_a_stale_push_carries_its_older_timestamp(waha, provider, receiver):
    name = provider.create("Cobrança").instance_id
    provider.register_events(name, "", receiver.url("/events"), SECRET)
    provider.connect(name, "")
    latest = [receiver.next()[2] for _ in range(2)][-1]
    stale = waha.push_stale(name, "WORKING", age_ms=30_000)
    assert receiver.next()[2] == stale
    assert event_from(stale).at == latest["timestamp"] - 30_000


@pytest.mark.parametrize("word, status, reason", [
    ("STOPPED", "disconnected", None), ("STARTING", "connecting", None), ("SCAN_QR_CODE", "connecting", None),
    ("WORKING", "connected", None), ("FAILED", "disconnected", "failed"),
])
def test_event_from_reads_each_session_status(word, status, reason):
    body = {"event": "session.status", "session": "cobranca", "timestamp": 1_741_249_702_485,
            "me": {"id": "5511999998888@c.us", "pushName": "~"}, "payload": {"status": word}}
    assert event_from(body) == ProviderEvent("cobranca", status, "+5511999998888", reason=reason, at=1_741_249_702_485)


def test_event_from_ignores_other_events_and_refuses_broken_ones():
    assert event_from({"event": "message", "session": "s", "payload": {}}) is None
    assert event_from({"event": "session.status", "session": "s", "payload": {"status": "STOPPED"}}) == \
        ProviderEvent("s", "disconnected", None, at=None)  # older WAHA: no timestamp, no me
    with pytest.raises(ValueError):
        event_from({"event": "session.status", "payload": {"status": "WORKING"}})
    with pytest.raises(ValueError):
        event_from({"event": "session.status", "session": "s", "payload": {"status": "BANANA"}})


# -- the API key -------------------------------------------------------------------------------
def test_a_wrong_api_key_is_refused_with_a_hint(waha):
    assert call(waha, "GET", "/api/sessions", headers={"X-Api-Key": "wrong"}).json() == {
        "message": "Unauthorized", "statusCode": 401}
    with pytest.raises(ProviderError) as caught:
        WahaProvider(waha.base_url, "wrong-key-0000").status("s", "")
    assert caught.value.message == "Provedor recusou as credenciais (verificar status). Verifique PROVIDER_API_KEY."


def test_the_api_key_and_the_events_secret_reach_no_message_and_no_log(waha, provider, receiver, debug_logs):
    name = connected(waha, provider)
    provider.register_events(name, "", receiver.url("/events"), SECRET)
    provider.list_instances()
    echo = {"statusCode": 422, "message": f"bad config {SECRET} for key {KEY}", "error": "Unprocessable Entity"}
    waha.fail_next("PUT", f"/api/sessions/{name}", 422, echo)
    with pytest.raises(ProviderError) as caught:
        provider.register_events(name, "", receiver.url("/elsewhere"), SECRET)
    assert caught.value.message == "Provedor recusou a requisição (registrar eventos): bad config *** for key ***"
    waha.fail_next("POST", "/api/sessions", 422, {"statusCode": 422, "message": f"no room for {KEY}"})
    with pytest.raises(ProviderError) as refused:
        provider.create("Outra")
    assert refused.value.message == "O WAHA recusou a requisição: no room for ***"
    provider.delete(name, "")
    assert "waha events failed: HTTP 422" in debug_logs.text  # the calls were logged...
    assert KEY not in debug_logs.text and SECRET not in debug_logs.text  # ...without the key or the secret
