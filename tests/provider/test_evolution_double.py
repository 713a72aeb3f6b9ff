"""The Evolution API double speaks what the real server (2.3.6) speaks: shapes, status codes and
quirks, over real HTTP (harness/doubles/evolution.py names the source lines)."""

from __future__ import annotations

import base64
from datetime import datetime, timedelta, timezone

import pytest
import requests

from harness.doubles.evolution import EvolutionDouble
from tests.support.receiver import Receiver

KEY = "evo-GLOBAL-key-5f3a9c"
H = {"apikey": KEY}
PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def evo():
    with EvolutionDouble(KEY) as double:
        yield double


def call(evo, method, path, *, headers=H, **kwargs):
    reply = requests.request(method, evo.base_url + path, headers=headers, timeout=5, **kwargs)
    return reply.status_code, reply.json()


def create(evo, name="ana", **extra):
    return call(evo, "POST", "/instance/create", json={"instanceName": name, "integration": "WHATSAPP-BAILEYS", **extra})


def test_create_answers_201_with_the_instance_and_its_token_as_hash(evo):
    code, body = create(evo)
    assert code == 201
    assert body["instance"]["instanceName"] == "ana"
    assert body["instance"]["integration"] == "WHATSAPP-BAILEYS"
    assert body["instance"]["status"] == "close"
    assert body["hash"] == evo.instances["ana"].token and len(body["hash"]) == 36
    assert body["settings"]["rejectCall"] is False and body["settings"]["msgCall"] == ""
    assert "qrcode" not in body


def test_create_with_qrcode_true_carries_the_first_qr(evo):
    code, body = create(evo, qrcode=True)
    assert code == 201 and body["instance"]["status"] == "connecting"
    assert body["qrcode"]["count"] == 1 and body["qrcode"]["base64"].startswith("data:image/png;base64,")


def test_errors_have_the_servers_shape_and_guard_order(evo):
    create(evo)
    # instanceLoggedGuard and instanceExistsGuard run before the key is checked
    assert create(evo) == (403, {"status": 403, "error": "Forbidden",
                                 "response": {"message": ['This name "ana" is already in use.']}})
    assert call(evo, "GET", "/instance/connectionState/nobody", headers={}) == (
        404, {"status": 404, "error": "Not Found", "response": {"message": ['The "nobody" instance does not exist']}})
    assert call(evo, "GET", "/instance/connectionState/ana", headers={}) == (
        401, {"status": 401, "error": "Unauthorized", "response": {"message": "Unauthorized"}})
    assert call(evo, "GET", "/instance/connectionState/ana", headers={"apikey": "wrong"})[0] == 401


def test_a_webhook_in_create_without_events_is_a_400_and_no_instance(evo):
    code, body = create(evo, webhook={"url": "http://127.0.0.1:9/x", "enabled": True})
    assert (code, body["response"]["message"]) == (400, ["Cannot read properties of undefined (reading 'length')"])
    assert "ana" not in evo.instances


def test_webhook_set_takes_enum_names_only(evo):
    create(evo)
    hook = {"enabled": True, "url": "http://127.0.0.1:9/x", "events": ["connection.update"]}
    code, body = call(evo, "POST", "/webhook/set/ana", json={"webhook": hook})
    assert code == 400
    assert body["response"]["message"][0].startswith(
        "webhook.events[0] is not one of enum values: APPLICATION_STARTUP,QRCODE_UPDATED,")
    assert call(evo, "POST", "/webhook/set/ana", json={"webhook": {**hook, "events": None}})[0] == 400
    del hook["events"]
    assert call(evo, "POST", "/webhook/set/ana", json={"webhook": hook})[0] == 500  # events.length of undefined
    assert call(evo, "GET", "/webhook/find/ana") == (200, None)
    code, row = call(evo, "POST", "/webhook/set/ana", json={"webhook": {**hook, "events": ["CONNECTION_UPDATE"]}})
    assert code == 201 and row["events"] == ["CONNECTION_UPDATE"] and row["webhookByEvents"] is False
    assert call(evo, "GET", "/webhook/find/ana") == (200, row)


def test_connect_answers_count_0_until_the_qr_is_ready(evo):
    evo.qr_late_connects = 1
    create(evo)
    assert call(evo, "GET", "/instance/connect/ana") == (200, {"count": 0})
    code, qr = call(evo, "GET", "/instance/connect/ana")
    assert qr["count"] == 1 and qr["pairingCode"] is None and qr["code"].startswith("2@")
    assert base64.b64decode(qr["base64"].split(",", 1)[1]).startswith(PNG)


def test_number_is_ignored_while_connecting_and_read_after_a_logout(evo):
    create(evo)
    call(evo, "GET", "/instance/connect/ana")
    code, qr = call(evo, "GET", "/instance/connect/ana", params={"number": "5511999998888"})
    assert qr["pairingCode"] is None and qr["count"] == 1
    assert call(evo, "DELETE", "/instance/logout/ana")[1] == {
        "status": "SUCCESS", "error": False, "response": {"message": "Instance logged out"}}
    code, qr = call(evo, "GET", "/instance/connect/ana", params={"number": "5511999998888"})
    assert qr["count"] == 2 and len(qr["pairingCode"]) == 8
    assert set(qr["pairingCode"]) <= set("123456789ABCDEFGHJKLMNPQRSTVWXYZ")
    evo.simulate_pairing("ana", qr["pairingCode"])
    assert call(evo, "GET", "/instance/connect/ana") == (200, {"instance": {"instanceName": "ana", "state": "open"}})


def test_logout_of_a_closed_instance_is_a_400(evo):
    create(evo)
    assert call(evo, "DELETE", "/instance/logout/ana") == (
        400, {"status": 400, "error": "Bad Request", "response": {"message": ['The "ana" instance is not connected']}})


def test_restart_of_a_closed_instance_is_an_in_band_error_and_old_servers_route_put_only(evo):
    create(evo)
    assert call(evo, "POST", "/instance/restart/ana") == (200, {"error": True, "message": "[object Object]"})
    assert call(evo, "PUT", "/instance/restart/ana")[1]["response"]["message"] == ["Cannot PUT /instance/restart/ana"]
    evo.old_restart = True
    assert call(evo, "POST", "/instance/restart/ana") == (
        404, {"status": 404, "error": "Not Found", "response": {"message": ["Cannot POST /instance/restart/ana"]}})
    assert call(evo, "PUT", "/instance/restart/ana")[0] == 200


def test_fetch_instances_answers_rows_and_an_instance_token_sees_its_own_only(evo):
    create(evo, "ana")
    create(evo, "bia")
    call(evo, "GET", "/instance/connect/ana")
    evo.simulate_scan("ana", "5511999998888")
    code, rows = call(evo, "GET", "/instance/fetchInstances")
    assert [r["name"] for r in rows] == ["ana", "bia"]
    assert rows[0]["connectionStatus"] == "open" and rows[0]["ownerJid"] == "5511999998888@s.whatsapp.net"
    assert rows[1]["connectionStatus"] == "close" and rows[1]["disconnectionReasonCode"] is None
    token = evo.instances["bia"].token
    assert [r["name"] for r in call(evo, "GET", "/instance/fetchInstances", headers={"apikey": token})[1]] == ["bia"]
    assert call(evo, "GET", "/instance/fetchInstances", headers={"apikey": token},
                params={"instanceName": "ana"})[0] == 401
    assert call(evo, "GET", "/instance/fetchInstances", params={"instanceName": "eva"}) == (
        404, {"status": 404, "error": "Not Found", "response": {"message": ['Instance "eva" not found']}})


def subscribed(evo, receiver, name="ana"):
    hook = {"enabled": True, "url": receiver.url("/ev"), "headers": {"X-Webhook-Secret": "s3cr3t-value"},
            "byEvents": False, "base64": False, "events": ["CONNECTION_UPDATE"]}
    assert call(evo, "POST", f"/webhook/set/{name}", json={"webhook": hook})[0] == 201


def pushed(evo, receiver):
    evo.wait_pushes()
    bodies = []
    while not receiver.received.empty():
        bodies.append(receiver.next()[2])
    return bodies


def test_a_reconnecting_drop_pushes_no_close_and_leaves_the_row_open(evo):
    with Receiver() as receiver:
        create(evo)
        subscribed(evo, receiver)
        call(evo, "GET", "/instance/connect/ana")
        evo.simulate_scan("ana")
        pushed(evo, receiver)
        evo.simulate_drop("ana", 428)
        assert [(b["data"]["state"], b["data"]["statusReason"]) for b in pushed(evo, receiver)] == [
            ("connecting", 200), ("open", 200)]
        evo.simulate_drop("ana", 428, reconnects=False)
        assert [b["data"]["state"] for b in pushed(evo, receiver)] == ["connecting"]
    assert call(evo, "GET", "/instance/connectionState/ana")[1]["instance"]["state"] == "connecting"
    assert call(evo, "GET", "/instance/fetchInstances")[1][0]["connectionStatus"] == "open"
    assert evo.request_counts["GET /instance/fetchInstances"] == 1


def test_a_stale_push_is_dated_before_a_fresh_one(evo):
    with Receiver() as receiver:
        create(evo)
        subscribed(evo, receiver)
        call(evo, "GET", "/instance/connect/ana")
        evo.push_stale("ana", "open", age_seconds=60)
        fresh, stale = pushed(evo, receiver)
    assert (stale["data"]["state"], fresh["data"]["state"]) == ("open", "connecting")
    assert stale["date_time"] < fresh["date_time"]


def test_a_restart_pushes_connecting_then_open_each_at_its_own_millisecond(evo):
    """The app orders Evolution's pushes by date_time (milliseconds): two changes of one socket
    never share one (the open waits on WhatsApp), even where the double makes them at once."""
    with Receiver() as receiver:
        create(evo)
        subscribed(evo, receiver)
        call(evo, "GET", "/instance/connect/ana")
        evo.simulate_scan("ana")
        pushed(evo, receiver)
        assert call(evo, "POST", "/instance/restart/ana")[1]["instance"]["state"] == "open"
        bodies = pushed(evo, receiver)
    assert [b["data"]["state"] for b in bodies] == ["connecting", "open"]
    assert bodies[0]["date_time"] < bodies[1]["date_time"]


def test_a_ban_closes_with_403_in_the_row(evo):
    create(evo)
    call(evo, "GET", "/instance/connect/ana")
    evo.simulate_scan("ana")
    evo.ban("ana")
    row = call(evo, "GET", "/instance/fetchInstances")[1][0]
    assert (row["connectionStatus"], row["disconnectionReasonCode"]) == ("close", 403)


def test_pushes_are_built_as_send_data_webhook_builds_them():
    with EvolutionDouble(KEY, local_offset_hours=-3) as evo, Receiver() as receiver:
        create(evo)
        subscribed(evo, receiver)
        call(evo, "GET", "/instance/connect/ana")  # connecting (its qrcode.updated is not subscribed)
        evo.simulate_scan("ana", "5511988887777")
        first, second = pushed(evo, receiver)
    assert list(first) == ["event", "instance", "data", "destination", "date_time", "server_url", "apikey"]
    assert first["data"] == {"instance": "ana", "state": "connecting", "statusReason": 200}
    assert second["data"] == {"instance": "ana", "wuid": "5511988887777@s.whatsapp.net", "profileName": "Cobrança",
                              "profilePictureUrl": None, "state": "open", "statusReason": 200}
    assert second["sender"] == "5511988887777@s.whatsapp.net"
    assert second["apikey"] == evo.instances["ana"].token
    assert evo.session.pushes[0]["headers"] == {"X-Webhook-Secret": "s3cr3t-value"}
    written = datetime.strptime(second["date_time"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc)
    assert abs(written - (datetime.now(timezone.utc) - timedelta(hours=3))) < timedelta(minutes=5)
