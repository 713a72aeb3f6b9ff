"""The fleet as a table under AppTest (embedded default: SQLite file + sandbox provider): its columns,
order and filters, the actions of a chosen row, and the bulk actions (one confirmation, a progress
bar, a line and a history event per instance, a failure that stops nothing)."""

from __future__ import annotations

import pandas as pd
import pytest

from lib.checks import apply_event
from lib.context import app_context
from lib.config.settings import load_settings
from lib.provider.base import ProviderEvent
from lib.provider.sandbox.provider import SandboxProvider
from lib.provider.webhooks import WebhookClient
from lib.store.sqlite.instances import SQLiteInstanceStore
from harness.apptest import signed_in_app
from harness.seeding import PASSWORD
from tests.support.app_ui import admin_app, admin_service, admin_user, button, connected, stored, texts
from tests.support.app_ui import context, data_dir  # noqa: F401 - fixtures

SHOWN = ["Estado", "Nome", "Número", "Desde", "Última queda", "Online 7 dias", "Responsável", "Etiquetas",
         "ID no provedor"]


def table_view(at):
    at.segmented_control(key="view").set_value("Tabela").run()
    assert not at.exception
    return at


def shown_table(at) -> pd.DataFrame:
    return at.dataframe[0].value  # the Atividade tab's comes after it


def select_rows(at, rows: list[int]):
    """Choose rows of the table as a click on their checkboxes does (the selection is keyed by the
    rows shown: lib.ui.table)."""
    [key] = [k for k in at.session_state.keys() if str(k).startswith("table-")]
    at.session_state[key] = {"selection": {"rows": rows, "columns": []}}
    at.run()
    assert not at.exception
    return at


def labels(at) -> list[str]:
    return [b.label for b in at.button]


def drop(context, instance) -> None:
    """The provider pushes a drop of `instance` (the phone lost WhatsApp)."""
    apply_event(SQLiteInstanceStore(context.database), ProviderEvent(instance.instance_id, "disconnected", None,
                                                                    reason="428"))


def result_lines(at) -> list[str]:
    [lines] = [t.value for t in at.text if ": " in t.value and ("falhou" in t.value or "desconectada" in t.value
                                                                or "excluída" in t.value or "verificada" in t.value)]
    return lines.split("\n")


def test_the_table_shows_the_fleet_in_pt_br_columns_in_attention_order_and_follows_the_filters(context):
    fell = connected(context, "Cobrança 33")
    fine = connected(context, "Cobrança 34")
    service = admin_service(context)
    never = service.create("Suporte").instance
    service.update_details(fine, name=fine.name, owner_id=admin_user(context).id, tags=("carteira-A", "régua-2"),
                           notes="Chip da gaveta 3")
    drop(context, fell)
    at = table_view(admin_app(context))
    assert list(at.dataframe[0].proto.column_order) == SHOWN  # what the screen shows, in this order
    table = shown_table(at)
    assert list(table["Nome"]) == ["Cobrança 33", "Suporte", "Cobrança 34"]  # the drop first, as on the cards
    assert list(table["Estado"]) == ["Caiu", "Nunca conectada", "Conectada"]
    assert table["Número"][0].startswith("+55 11 9") and table["Número"][1] == ""  # the last number of a drop
    assert not pd.isna(table["Última queda"][0]) and pd.isna(table["Última queda"][2])
    assert table["Responsável"][2] == "admin@example.com" and table["Responsável"][0] == ""
    assert table["Etiquetas"][2] == "carteira-A, régua-2"
    assert list(table["ID no provedor"]) == [fell.instance_id, never.instance_id, fine.instance_id]
    assert 0 <= table["Online 7 dias"][2] <= 1
    at.multiselect(key="state_filter").set_value(["connected"]).run()
    assert list(shown_table(at)["Nome"]) == ["Cobrança 34"]
    at.multiselect(key="state_filter").set_value([]).run()
    at.text_input(key="search").input("suporte").run()
    assert list(shown_table(at)["Nome"]) == ["Suporte"]
    exports = [b for b in at.get("download_button") if b.proto.id and "activity_csv" not in b.proto.id]
    assert [b.proto.label for b in exports] == ["Baixar CSV"]  # the one export


def test_a_chosen_row_offers_the_actions_of_its_card(context):
    fell = connected(context, "Cobrança 33")
    connected(context, "Cobrança 34")
    service = admin_service(context)
    service.update_details(fell, name=fell.name, owner_id=None, tags=(), notes="Chip da gaveta 3")
    drop(context, fell)
    at = table_view(admin_app(context))
    assert "Marque uma linha para ver as ações dela" in texts(at)
    select_rows(at, [0])
    row = [b.label for b in at.button if (b.key or "").startswith("row-")]
    assert row == ["Conectar", "Histórico", "Editar", "Reiniciar", "Mostrar token", "Excluir"]  # not Desconectar
    assert "Observações: Chip da gaveta 3" in texts(at)
    button(at, "Histórico").click().run()
    assert not at.exception and at.metric[0].label.startswith("Online ")  # the history dialog, as from the card
    at.run()
    select_rows(at, [1])  # connected: no Conectar, but Desconectar
    row = [b.label for b in at.button if (b.key or "").startswith("row-")]
    assert row == ["Histórico", "Editar", "Reiniciar", "Mostrar token", "Desconectar", "Excluir"]
    [disconnect] = [b for b in at.button if b.key == "row-disconnect"]
    disconnect.click().run()
    assert "Desconectar Cobrança 34 do WhatsApp?" in texts(at)  # the card's own dialog


def test_bulk_disconnect_asks_once_with_the_names_and_reports_and_records_each(context):
    names = ["Cobrança 33", "Cobrança 34", "Cobrança 35"]
    for name in names:
        connected(context, name)
    at = table_view(admin_app(context))
    select_rows(at, [0, 1, 2])
    assert "3 selecionadas" in texts(at)
    assert [b.label for b in at.button if (b.key or "").startswith("bulk-")] == [
        "Verificar", "Desconectar", "Excluir", "Reiniciar"]
    button(at, "Desconectar").click().run()
    assert "Desconectar estas 3 instâncias?\n• Cobrança 33\n• Cobrança 34\n• Cobrança 35" in texts(at)
    store = SQLiteInstanceStore(context.database)
    assert store.events(kinds=["disconnected"]) == []  # asked, not done
    [confirm] = [b for b in at.button if b.key == "danger-bulk"]  # red: something is lost
    assert confirm.label == "Desconectar 3"
    confirm.click().run()
    assert not at.exception
    assert result_lines(at) == ["Cobrança 33: desconectada", "Cobrança 34: desconectada", "Cobrança 35: desconectada"]
    [bar] = at.get("progress")
    assert bar.proto.value == 100 and bar.proto.text == "3 desconectadas"
    events = store.events(kinds=["disconnected"], oldest_first=True)
    assert [(e.instance_name, e.actor_email) for e in events] == [(n, "admin@example.com") for n in names]
    assert {i.status for i, _ in stored(context)} == {"disconnected"}
    button(at, "Fechar").click().run()
    assert not at.get("progress") and list(shown_table(at)["Estado"]) == ["Desconectada"] * 3


def test_a_failure_in_a_bulk_action_is_its_own_line_and_stops_nothing(context):
    for name in ("Cobrança 33", "Cobrança 34", "Cobrança 35"):
        connected(context, name)
    [(refused, token)] = [(i, t) for i, t in stored(context) if i.name == "Cobrança 34"]
    WebhookClient(context.sandbox.webhook_settings()).delete(refused.instance_id, token)  # the provider forgets it
    at = table_view(admin_app(context))
    select_rows(at, [0, 1, 2])
    button(at, "Desconectar").click().run()
    [confirm] = [b for b in at.button if b.key == "danger-bulk"]
    confirm.click().run()
    assert result_lines(at) == ["Cobrança 33: desconectada",
                                "Cobrança 34: falhou — Instância não encontrada no provedor.",
                                "Cobrança 35: desconectada"]
    assert at.get("progress")[0].proto.text == "2 desconectadas · 1 falhou"
    events = SQLiteInstanceStore(context.database).events(kinds=["disconnected"], oldest_first=True)
    assert [e.instance_name for e in events] == ["Cobrança 33", "Cobrança 35"]  # nothing happened to the other
    assert token not in texts(at)


def test_one_already_disconnected_in_a_bulk_disconnect_is_counted_apart_not_as_a_failure(context):
    for name in ("Cobrança 0000", "Cobrança 33", "Cobrança 34"):
        connected(context, name)
    [(fell, _)] = [(i, t) for i, t in stored(context) if i.name == "Cobrança 0000"]
    at = table_view(admin_app(context))  # all three connected on the screen...
    drop(context, fell)  # ... then one drops ("Caiu") before the click
    select_rows(at, [0, 1, 2])
    button(at, "Desconectar").click().run()
    [confirm] = [b for b in at.button if b.key == "danger-bulk"]
    confirm.click().run()
    assert sorted(result_lines(at)) == ["Cobrança 0000: já estava desconectada, nada foi feito.",
                                        "Cobrança 33: desconectada", "Cobrança 34: desconectada"]
    assert at.get("progress")[0].proto.text == "2 desconectadas · 1 já estava desconectada"
    events = SQLiteInstanceStore(context.database).events(kinds=["disconnected"], oldest_first=True)
    assert [e.instance_name for e in events] == ["Cobrança 33", "Cobrança 34"]


def test_bulk_delete_removes_each_and_bulk_check_needs_no_confirmation(context):
    for name in ("Cobrança 33", "Cobrança 34", "Suporte"):
        connected(context, name)
    at = table_view(admin_app(context))
    select_rows(at, [0, 1])
    button(at, "Verificar").click().run()  # nothing is lost: it runs at once
    assert result_lines(at) == ["Cobrança 33: verificada (Conectada)", "Cobrança 34: verificada (Conectada)"]
    button(at, "Fechar").click().run()
    select_rows(at, [0, 1])
    button(at, "Excluir").click().run()
    assert "Excluir estas 2 instâncias?\n• Cobrança 33\n• Cobrança 34" in texts(at)
    assert "Elas também serão excluídas no provedor." in texts(at)  # the sandbox deletes there too
    assert "Esta ação não pode ser desfeita." in texts(at)
    [b for b in at.button if b.key == "danger-bulk"][0].click().run()
    assert result_lines(at) == ["Cobrança 33: excluída", "Cobrança 34: excluída"]
    assert [i.name for i, _ in stored(context)] == ["Suporte"]
    events = SQLiteInstanceStore(context.database).events(kinds=["deleted"], oldest_first=True)
    assert [e.instance_name for e in events] == ["Cobrança 33", "Cobrança 34"]
    button(at, "Fechar").click().run()
    assert list(shown_table(at)["Nome"]) == ["Suporte"]


def test_reiniciar_is_offered_only_where_the_provider_restarts(data_dir, monkeypatch):
    with SandboxProvider() as sandbox:
        urls = sandbox.webhook_settings()
        for action in ("create", "connect", "status", "disconnect"):
            monkeypatch.setenv(f"WEBHOOK_{action.upper()}_URL", getattr(urls, f"{action}_url"))
        context = app_context(load_settings())  # the webhook contract without the restart webhook
        service = admin_service(context)
        for name in ("Cobrança 33", "Cobrança 34"):
            service.create(name)
        at = table_view(admin_app(context))
        select_rows(at, [0, 1])
        assert [b.label for b in at.button if (b.key or "").startswith("bulk-")] == [
            "Verificar", "Desconectar", "Excluir"]
        select_rows(at, [0])
        assert "Reiniciar" not in [b.label for b in at.button if (b.key or "").startswith("row-")]


@pytest.mark.parametrize("role", ["analyst", "supervisor"])
def test_read_only_roles_see_the_table_without_actions(context, role):
    for name in ("Cobrança 33", "Cobrança 34"):
        connected(context, name)
    context.accounts.add(f"{role}@example.com", PASSWORD, role)
    at = table_view(signed_in_app(context, f"{role}@example.com"))
    assert list(shown_table(at)["Nome"]) == ["Cobrança 33", "Cobrança 34"]
    assert at.dataframe[0].proto.selection_mode == [0]  # one row at a time: no bulk selection
    assert "Marque uma linha para ver as ações dela." in texts(at)
    select_rows(at, [0])
    assert [b.label for b in at.button if (b.key or "").startswith(("row-", "bulk-"))] == ["Histórico"]
    for forbidden in ("Conectar", "Editar", "Desconectar", "Excluir", "Reiniciar", "Mostrar token"):
        assert forbidden not in labels(at)
