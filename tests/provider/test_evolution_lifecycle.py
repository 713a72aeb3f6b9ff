"""EvolutionProvider against the Evolution API double over real HTTP: the list, disconnect, delete
and restart."""

from __future__ import annotations

import pytest

from harness.doubles.evolution import EvolutionDouble
from lib.errors import ProviderError
from lib.provider.evolution import EvolutionProvider
from tests.provider.test_evolution import (  # noqa: F401 - client, evo and sleeps are fixtures
    KEY, client, connected, evo, sleeps,
)


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
