"""The WAHA client against the WAHA double over real loopback HTTP: the events WAHA pushes, and what
the client makes of them."""

from __future__ import annotations

import pytest

from lib.errors import ProviderError
from lib.provider.base import ProviderEvent
from lib.provider.waha import WahaProvider, event_from
from tests.provider.test_waha import (  # noqa: F401 - debug_logs, provider, receiver, sleeps and waha are fixtures
    KEY, PHONE, SECRET, call, connected, debug_logs, header, provider, receiver, sleeps, waha,
)


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
