"""EvolutionProvider's events against the Evolution API double over real HTTP: registering them,
event_from on the bodies the double pushes, and no message carrying a secret."""

from __future__ import annotations

import pytest

from lib.errors import ProviderError
from lib.provider.evolution import EvolutionProvider, event_from
from tests.support.receiver import Receiver
from tests.provider.test_evolution import (  # noqa: F401 - client, evo and sleeps are fixtures
    KEY, PHONE, PNG, SECRET, client, evo, sleeps,
)


def test_register_events_subscribes_by_enum_name_and_pushes_carry_the_secret(client, evo):
    creds = client.create("Ana")
    with Receiver() as receiver:
        client.register_events(creds.instance_id, creds.token, receiver.url("/api/provider-events"), SECRET)
        hook = evo.instances["ana"].webhook
        assert (hook["enabled"], hook["events"], hook["headers"], hook["webhookByEvents"]) == (
            True, ["CONNECTION_UPDATE", "QRCODE_UPDATED"], {"X-Webhook-Secret": SECRET}, False)
        client.connect(creds.instance_id, creds.token)
        evo.simulate_scan("ana", PHONE)
        client.disconnect(creds.instance_id, creds.token)
        evo.wait_pushes()
        pushed = [receiver.next() for _ in range(4)]
    assert {p[0] for p in pushed} == {"/api/provider-events"}
    assert all(p[1]["X-Webhook-Secret"] == SECRET and p[2]["apikey"] == creds.token for p in pushed)
    events = [event_from(p[2]) for p in pushed]
    assert [(e.status, e.phone_number, e.reason) for e in events] == [
        ("connecting", None, None), (None, None, None), ("connected", "+5511999998888", None),
        ("disconnected", None, "401")]
    assert events[1].qr.png.startswith(PNG)
    assert [e.at for e in events] == sorted(e.at for e in events)


def test_register_events_of_an_unknown_instance(client):
    with pytest.raises(ProviderError) as caught:
        client.register_events("nobody", "t", "http://127.0.0.1:9/x", SECRET)
    assert caught.value.status_code == 404 and SECRET not in str(caught.value)


def test_event_from_reads_connection_updates():
    def update(state, **data):
        return {"event": "connection.update", "instance": "ana", "date_time": "2025-10-21T11:40:39.123Z",
                "data": {"instance": "ana", "state": state, **data}, "apikey": "TOKEN-1"}

    opened = event_from(update("open", wuid="5511999998888@s.whatsapp.net", statusReason=200))
    assert (opened.instance_id, opened.status, opened.phone_number, opened.reason, opened.at) == (
        "ana", "connected", "+5511999998888", None, 1761046839123)
    for code in (401, 403, 428):
        assert event_from(update("close", statusReason=code)).reason == str(code)
    assert event_from(update("refused", statusReason=428)).status == "disconnected"
    assert event_from({**update("connecting"), "event": "CONNECTION_UPDATE"}).status == "connecting"
    stale = event_from({**update("close", statusReason=401), "date_time": "2025-10-21T11:39:39.123Z"})
    assert stale.at == 1761046779123 < opened.at
    assert event_from({**update("open"), "date_time": "yesterday"}).at is None


def test_event_from_reads_a_new_qr_and_ignores_other_events(client, evo):
    with Receiver() as receiver:
        creds = client.create("Ana")
        client.register_events(creds.instance_id, creds.token, receiver.url(), SECRET)
        client.connect(creds.instance_id, creds.token)
        evo.wait_pushes()
        bodies = [receiver.next()[2] for _ in range(2)]
    qr = event_from(bodies[1])
    assert (qr.instance_id, qr.status) == ("ana", None) and qr.qr.png.startswith(PNG)
    assert event_from({"event": "messages.upsert", "instance": "ana", "data": {}}) is None
    assert event_from({"event": "qrcode.updated", "instance": "ana",
                       "data": {"message": "QR code limit reached, please login again", "statusCode": 500}}) is None


@pytest.mark.parametrize("body", [
    {"event": "connection.update", "data": {"state": "open"}},
    {"event": "connection.update", "instance": "ana", "data": {"state": "sleeping"}},
    {"event": "qrcode.updated", "instance": "ana", "data": {"qrcode": {"base64": "data:image/png;base64,AAAA"}}},
])
def test_event_from_refuses_unusable_bodies_without_quoting_them(body):
    with pytest.raises(ValueError) as caught:
        event_from({**body, "apikey": "TOKEN-1"})
    assert "TOKEN-1" not in str(caught.value) and "sleeping" not in str(caught.value)


def test_no_message_carries_the_key_a_token_or_the_secret(client, evo):
    creds = client.create("Ana")
    failures = []
    for call in (lambda: client.restart(creds.instance_id, creds.token),
                 lambda: client.register_events("nobody", creds.token, "http://x", SECRET),
                 lambda: EvolutionProvider(evo.base_url, KEY + "x").list_instances()):
        try:
            call()
        except ProviderError as exc:
            failures.append(str(exc))
    assert len(failures) == 3
    assert not [m for m in failures if KEY in m or creds.token in m or SECRET in m]
