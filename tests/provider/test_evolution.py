"""EvolutionProvider against the Evolution API double over real HTTP, and event_from on the
bodies the double pushes."""

from __future__ import annotations

import logging

import pytest

from harness.doubles.evolution import EvolutionDouble
from lib.errors import ProviderError
from lib.provider.base import DELETE, EVENTS, LIST, RESTART, TOKENS
from lib.provider.evolution import EvolutionProvider, event_from, instance_name
from tests.support.receiver import Receiver

KEY = "evo-GLOBAL-key-5f3a9c"
SECRET = "events-SECRET-7d1e42"
PNG = b"\x89PNG\r\n\x1a\n"
PHONE = "5511999998888"


@pytest.fixture
def evo(caplog):
    """The double; at the end, no log line of the test carried the API key, a token or the secret."""
    caplog.set_level(logging.DEBUG)
    with EvolutionDouble(KEY) as double:
        yield double
        tokens = [i.token for i in double.instances.values()]
    logged = "\n".join(record.getMessage() for record in caplog.get_records("call"))
    assert logged and not [s for s in (KEY, SECRET, *tokens) if s in logged]


@pytest.fixture
def sleeps():
    return []


@pytest.fixture
def client(evo, sleeps):
    return EvolutionProvider(evo.base_url, KEY, timeout_seconds=5, sleep=sleeps.append)


def connected(client, evo, name="Ana"):
    creds = client.create(name)
    client.connect(creds.instance_id, creds.token)
    evo.simulate_scan(creds.instance_id, PHONE)
    return creds


def test_what_it_is():
    provider = EvolutionProvider("http://127.0.0.1:1", KEY)
    assert (provider.kind, provider.label) == ("evolution", "Evolution API")
    assert provider.capabilities == {DELETE, RESTART, LIST, EVENTS, TOKENS}


@pytest.mark.parametrize("display, name", [
    ("Cobrança 01 – Ana", "cobranca-01-ana"),
    ("  ÁÉÍ  Õç!! ", "aei-oc"),
    ("Equipe -- São Paulo", "equipe-sao-paulo"),
    ("日本語", "instancia"),
    ("a" * 60, "a" * 40),
    ("b" * 39 + " c", "b" * 39),
])
def test_instance_name_is_safe_and_short(display, name):
    assert instance_name(display) == name


def test_create_returns_the_name_and_the_hash_and_sends_no_webhook(client, evo):
    creds = client.create("Cobrança 01 – Ana")
    assert creds.instance_id == "cobranca-01-ana"
    assert creds.token == evo.instances["cobranca-01-ana"].token
    assert evo.instances["cobranca-01-ana"].webhook is None
    assert evo.instances["cobranca-01-ana"].integration == "WHATSAPP-BAILEYS"


def test_a_name_in_use_gets_a_numbered_suffix_within_40_characters(client, evo):
    assert [client.create("Ana").instance_id for _ in range(3)] == ["ana", "ana-2", "ana-3"]
    client.create("x" * 50)
    assert client.create("x" * 50).instance_id == "x" * 38 + "-2"


def test_the_suffixes_are_bounded(client, evo):
    for _ in range(10):
        client.create("Ana")
    with pytest.raises(ProviderError) as caught:
        client.create("Ana")
    assert str(caught.value) == "Já existem instâncias com nomes parecidos no provedor; escolha outro nome."
    assert evo.request_counts["POST /instance/create"] == 55 + 10


def test_a_wrong_key_is_a_credentials_error_even_where_the_name_is_taken(client, evo):
    client.create("Ana")
    wrong = EvolutionProvider(evo.base_url, "wrong-key-123456")
    for call in (lambda: wrong.create("Ana"), lambda: wrong.status("ana", "")):
        with pytest.raises(ProviderError) as caught:
            call()
        assert "Provedor recusou as credenciais" in str(caught.value)
        assert str(caught.value).endswith("Verifique PROVIDER_API_KEY.")
        assert "wrong-key-123456" not in str(caught.value)


def test_connect_gives_the_qr(client, evo):
    creds = client.create("Ana")
    reply = client.connect(creds.instance_id, creds.token)
    assert reply.qr.png.startswith(PNG) and reply.pairing_code is None and not reply.already_connected
    assert evo.instances["ana"].state == "connecting"


def test_connect_waits_out_a_qr_not_ready_yet(client, evo, sleeps):
    evo.qr_late_connects = 1
    creds = client.create("Ana")
    assert client.connect(creds.instance_id, creds.token).qr.png.startswith(PNG)
    assert sleeps == [1.0] and evo.request_counts["GET /instance/connect"] == 2


def test_connect_gives_up_after_three_tries(client, evo, sleeps):
    evo.qr_late_connects = 5
    creds = client.create("Ana")
    with pytest.raises(ProviderError) as caught:
        client.connect(creds.instance_id, creds.token)
    assert str(caught.value) == "O provedor ainda não gerou o QR Code; tente de novo em instantes."
    assert caught.value.retryable and sleeps == [1.0, 1.0]
    assert evo.request_counts["GET /instance/connect"] == 3


def test_connect_of_an_open_instance_says_already_connected(client, evo):
    creds = connected(client, evo)
    for phone in (None, "+55 11 99999-8888"):
        reply = client.connect(creds.instance_id, creds.token, phone_number=phone)
        assert (reply.qr, reply.pairing_code, reply.already_connected) == (None, None, True)
    assert evo.request_counts["DELETE /instance/logout"] == 0


def test_pairing_on_a_closed_instance_asks_with_the_number(client, evo):
    creds = client.create("Ana")
    reply = client.connect(creds.instance_id, creds.token, phone_number="+55 (11) 99999-8888")
    assert reply.pairing_code == evo.instances["ana"].qrcode["pairingCode"] and len(reply.pairing_code) == 8
    assert evo.instances["ana"].phone_number == PHONE
    assert evo.request_counts["DELETE /instance/logout"] == 0
    evo.simulate_pairing("ana", reply.pairing_code)
    assert client.status(creds.instance_id, creds.token).status == "connected"


def test_pairing_on_a_connecting_instance_logs_out_first_and_waits_for_the_close(client, evo, sleeps):
    creds = client.create("Ana")
    client.connect(creds.instance_id, creds.token)  # a QR session: the server would ignore a number now
    evo.logout_lag_requests = 2  # the close lands two requests after the logout's reply
    reply = client.connect(creds.instance_id, creds.token, phone_number=PHONE)
    assert reply.pairing_code == evo.instances["ana"].qrcode["pairingCode"]
    assert evo.request_counts["DELETE /instance/logout"] == 1 and sleeps == [0.5, 0.5]


def test_pairing_gives_up_when_the_logout_does_not_land(client, evo, sleeps):
    creds = client.create("Ana")
    client.connect(creds.instance_id, creds.token)
    evo.logout_lag_requests = 50
    with pytest.raises(ProviderError) as caught:
        client.connect(creds.instance_id, creds.token, phone_number=PHONE)
    assert str(caught.value) == "O provedor ainda está encerrando a sessão anterior; tente de novo em instantes."
    assert sleeps == [0.5] * 5


def test_pairing_without_a_code_in_the_reply_says_use_the_qr(client, evo, monkeypatch):
    monkeypatch.setattr(evo.session, "_pairing_code", lambda: None)  # fault: the server offers no code
    creds = client.create("Ana")
    with pytest.raises(ProviderError) as caught:
        client.connect(creds.instance_id, creds.token, phone_number=PHONE)
    assert str(caught.value) == "O provedor não ofereceu código de pareamento; use o QR Code."


def test_status_follows_the_instance(client, evo):
    creds = client.create("Ana")
    s = client.status(creds.instance_id, creds.token)
    assert (s.status, s.phone_number, s.reason) == ("disconnected", None, None)
    client.connect(creds.instance_id, creds.token)
    assert client.status(creds.instance_id, creds.token).status == "connecting"
    evo.simulate_scan("ana", PHONE)
    s = client.status(creds.instance_id, creds.token)
    assert (s.status, s.phone_number, s.reason) == ("connected", "+5511999998888", None)
    client.disconnect(creds.instance_id, creds.token)
    s = client.status(creds.instance_id, creds.token)
    assert (s.status, s.phone_number, s.reason) == ("disconnected", None, "401")


def test_status_reads_the_live_state_not_the_lagging_row(client, evo):
    creds = connected(client, evo)
    evo.simulate_drop("ana", 428, reconnects=False)  # reconnecting; the row still says open
    assert client.status(creds.instance_id, creds.token).status == "connecting"
    assert client.list_instances()[0].status == "connected"
    evo.instances["ana"].state = "close"  # a close the row has not caught up with (a race window)
    assert client.status(creds.instance_id, creds.token).reason is None


def test_a_ban_reads_403(client, evo):
    creds = connected(client, evo)
    evo.ban("ana")
    assert client.status(creds.instance_id, creds.token).reason == "403"


def test_an_unknown_instance_is_a_404_and_a_missing_route_is_not(client, evo):
    for call in (lambda: client.status("nobody", "t"), lambda: client.delete("nobody", "t"),
                 lambda: client.connect("nobody", "t"), lambda: client.disconnect("nobody", "t")):
        with pytest.raises(ProviderError) as caught:
            call()
        assert (str(caught.value), caught.value.status_code) == ("Instância não encontrada no provedor.", 404)
    elsewhere = EvolutionProvider(evo.base_url + "/v9", KEY)
    with pytest.raises(ProviderError) as caught:
        elsewhere.status("ana", "t")
    assert caught.value.status_code is None
    assert str(caught.value) == ("Evolution API não encontrada (verificar status). Verifique a URL configurada "
                                 "e a versão do servidor.")


def test_list_instances_is_one_request_with_each_instances_state(client, evo):
    assert client.list_instances() == []
    ana = connected(client, evo, "Ana")
    bia = client.create("Bia")
    client.connect(bia.instance_id, bia.token)
    eva = connected(client, evo, "Eva")
    client.disconnect(eva.instance_id, eva.token)
    evo.request_counts.clear()
    listed = {r.instance_id: r for r in client.list_instances()}
    assert evo.request_counts == {"GET /instance/fetchInstances": 1}
    assert [(r.status, r.phone_number, r.reason) for r in listed.values()] == [
        ("connected", "+5511999998888", None), ("connecting", None, None), ("disconnected", None, "401")]
    assert [r.token for r in listed.values()] == [ana.token, bia.token, eva.token]


def test_a_listing_that_is_not_an_array_of_objects_is_refused(client, evo, monkeypatch):
    for reply in ({"name": "ana"}, ["ana"]):
        monkeypatch.setattr(evo, "_fetchinstances", lambda *args, reply=reply: (200, reply))
        with pytest.raises(ProviderError) as caught:
            client.list_instances()
        assert str(caught.value) == "Resposta inválida do provedor (listar instâncias): formato inesperado."


def test_disconnect_of_a_closed_instance_is_a_success(client, evo):
    creds = connected(client, evo)
    client.disconnect(creds.instance_id, creds.token)
    client.disconnect(creds.instance_id, creds.token)  # the server's 400 "is not connected"
    assert evo.instances["ana"].state == "close" and evo.request_counts["DELETE /instance/logout"] == 2


def test_delete_then_delete_again_is_a_404(client, evo):
    creds = connected(client, evo)
    client.delete(creds.instance_id, creds.token)
    assert "ana" not in evo.instances
    with pytest.raises(ProviderError) as caught:
        client.delete(creds.instance_id, creds.token)
    assert caught.value.status_code == 404


def test_restart_posts(client, evo):
    creds = connected(client, evo)
    client.restart(creds.instance_id, creds.token)
    assert evo.request_counts["POST /instance/restart"] == 1 and evo.instances["ana"].state == "open"


def test_restart_falls_back_to_put_on_an_older_server_and_remembers():
    with EvolutionDouble(KEY, old_restart=True) as old:
        client = EvolutionProvider(old.base_url, KEY)
        creds = connected(client, old)
        client.restart(creds.instance_id, creds.token)
        client.restart(creds.instance_id, creds.token)
        assert old.request_counts["POST /instance/restart/ana"] == 1
        assert old.request_counts["POST /instance/restart"] == 0
        assert old.request_counts["PUT /instance/restart"] == 2


def test_restart_of_a_closed_instance_says_connect(client, evo):
    creds = client.create("Ana")
    with pytest.raises(ProviderError) as caught:
        client.restart(creds.instance_id, creds.token)
    assert str(caught.value) == "A instância não está conectada no provedor; use Conectar."
    assert evo.request_counts["POST /instance/restart"] == 0


def test_restart_races(client, evo, monkeypatch):
    """Between the state check and the restart the instance closes (an in-band error) or goes."""
    creds = connected(client, evo)
    answer = evo._connectionstate

    def answer_then(change):
        def patched(inst, *args):
            reply = answer(inst, *args)
            change(inst)
            return reply
        return patched

    monkeypatch.setattr(evo, "_connectionstate", answer_then(lambda inst: setattr(inst, "state", "close")))
    with pytest.raises(ProviderError) as caught:
        client.restart(creds.instance_id, creds.token)
    assert str(caught.value) == "Provedor retornou erro ao reiniciar instância."  # not "[object Object]"
    evo.instances["ana"].state = "open"
    monkeypatch.setattr(evo, "_connectionstate", answer_then(lambda inst: evo.instances.pop(inst.name)))
    with pytest.raises(ProviderError) as caught:
        client.restart(creds.instance_id, creds.token)
    assert caught.value.status_code == 404 and evo.request_counts["PUT /instance/restart/ana"] == 0


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
