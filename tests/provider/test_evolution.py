"""EvolutionProvider against the Evolution API double over real HTTP: create, connect by QR and by
code, status (the list, disconnect, delete and restart, and the events: test_evolution_*.py)."""

from __future__ import annotations

import logging

import pytest

from harness.doubles.evolution import EvolutionDouble
from lib.errors import ProviderError
from lib.provider.base import DELETE, EVENTS, LIST, RESTART, TOKENS
from lib.provider.evolution import EvolutionProvider, instance_name

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
