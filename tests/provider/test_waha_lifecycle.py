"""The WAHA client against the WAHA double over real loopback HTTP: a FAILED session, restart, a
drop, disconnect and delete, the list and the status."""

from __future__ import annotations

import pytest

from lib.errors import ProviderError
from lib.provider.base import RemoteInstance, StatusReply
from tests.provider.test_waha import (  # noqa: F401 - debug_logs, provider, receiver, sleeps and waha are fixtures
    MSG_UNKNOWN, PHONE, SECRET, call, connected, debug_logs, provider, receiver, sleeps, waha,
)


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
