"""Bulk actions (lib.bulk) over the service, against the sandbox over real HTTP and a real SQLite file."""

from __future__ import annotations

from lib import bulk
from lib.provider.webhooks import WebhookClient
from tests.conftest import ADMIN, ANALYST
from tests.test_instances import connected_instance, make_service, sandbox  # noqa: F401 - fixtures


def test_each_instance_goes_through_the_service_with_progress_and_one_result_each(make_service, sandbox):
    service = make_service()
    live = [connected_instance(service, sandbox, name) for name in ("Cobrança 33", "Cobrança 34", "Cobrança 35")]
    steps = []
    results = bulk.run(service, "restart", live, lambda done, total: steps.append((done, total)))
    assert steps == [(1, 3), (2, 3), (3, 3)]
    assert [r.line("restart") for r in results] == ["Cobrança 33: reiniciada", "Cobrança 34: reiniciada",
                                                    "Cobrança 35: reiniciada"]
    events = service.store.events(kinds=["restarted"], oldest_first=True)
    assert [(e.instance_name, e.actor_email) for e in events] == [(i.name, ADMIN.email) for i in live]


def test_a_refusal_is_that_instances_line_and_the_others_still_run(make_service, sandbox):
    service = make_service()
    first, refused, last = (connected_instance(service, sandbox, name) for name in ("A", "B", "C"))
    WebhookClient(sandbox.webhook_settings()).delete(refused.instance_id, service.token(refused.id))
    results = bulk.run(service, "disconnect", [first, refused, last])
    assert [r.line("disconnect") for r in results] == [
        "A: desconectada", "B: falhou — Instância não encontrada no provedor.", "C: desconectada"]
    assert [service.store.get_instance(i.id).status for i in (first, refused, last)] == [
        "disconnected", "connected", "disconnected"]


def test_one_disconnected_already_is_counted_apart_from_what_was_done_and_what_failed(make_service, sandbox):
    service = make_service()
    down, refused, live = (connected_instance(service, sandbox, name) for name in ("A", "B", "C"))
    service.disconnect(down)  # meanwhile, by another admin; the screen still shows it connected
    WebhookClient(sandbox.webhook_settings()).delete(refused.instance_id, service.token(refused.id))
    results = bulk.run(service, "disconnect", [down, refused, live])
    assert [r.line("disconnect") for r in results] == [
        "A: já estava desconectada, nada foi feito.", "B: falhou — Instância não encontrada no provedor.",
        "C: desconectada"]
    assert bulk.summary("disconnect", results) == "1 desconectada · 1 já estava desconectada · 1 falhou"
    assert bulk.summary("disconnect", bulk.run(service, "disconnect", [down, live])) == (
        "2 já estavam desconectadas")  # nothing done: no "0 desconectadas"
    assert bulk.summary("delete", bulk.run(service, "delete", [down, live])) == "2 excluídas"


def test_an_unexpected_error_on_one_instance_stops_nothing(make_service, sandbox, monkeypatch, caplog):
    service = make_service()
    rows = [service.create(name).instance for name in ("A", "B")]
    original = service.delete

    def delete(instance):  # a bug on the first instance only
        if instance.name == "A":
            raise RuntimeError("boom")
        original(instance)

    monkeypatch.setattr(service, "delete", delete)
    results = bulk.run(service, "delete", rows)
    assert [r.line("delete") for r in results] == [
        "A: falhou — erro inesperado (registrado no log do servidor).", "B: excluída"]
    assert [i.name for i in service.store.list_instances()] == ["A"]
    assert "boom" in caplog.text  # the server's log has it, the screen does not


def test_read_only_roles_are_refused_for_each_instance_by_the_service(make_service, sandbox):
    rows = [make_service().create(name).instance for name in ("A", "B")]
    reader = make_service(ANALYST)
    for action in ("check", "disconnect", "delete", "restart"):
        results = bulk.run(reader, action, rows)
        assert [r.error for r in results] == ["Apenas administradores podem alterar instâncias."] * 2, action
    assert len(make_service().store.list_instances()) == 2 and make_service().store.events(
        kinds=["disconnected", "deleted", "restarted"]) == []


def test_verificar_is_one_sweep_and_says_the_state_each_is_in(make_service, sandbox):
    service = make_service()
    live = connected_instance(service, sandbox, "Conecta")
    idle = service.create("Parada").instance
    steps = []
    results = bulk.run(service, "check", [live, idle], lambda done, total: steps.append((done, total)))
    assert [r.line("check") for r in results] == ["Conecta: verificada (Conectada)",
                                                  "Parada: verificada (Nunca conectada)"]
    assert steps == [(2, 2)]
