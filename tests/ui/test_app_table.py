"""The fleet as a table under AppTest (embedded default: SQLite file + sandbox provider): its columns,
order and filters, and the actions of a chosen row."""

from __future__ import annotations

import pandas as pd
import pytest

from lib.checks import apply_event
from lib.provider.base import ProviderEvent
from lib.store.sqlite.instances import SQLiteInstanceStore
from tests.ui.test_app_ui import (
    PASSWORD, admin_app, admin_service, admin_user, button, connected, log_in, new_app, texts,
)
from tests.ui.test_app_ui import context, data_dir  # noqa: F401 - fixtures

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
    assert not at.exception and len(at.metric) == 3  # the history dialog, as from the card
    at.run()
    select_rows(at, [1])  # connected: no Conectar, but Desconectar
    row = [b.label for b in at.button if (b.key or "").startswith("row-")]
    assert row == ["Histórico", "Editar", "Reiniciar", "Mostrar token", "Desconectar", "Excluir"]
    [disconnect] = [b for b in at.button if b.key == "row-disconnect"]
    disconnect.click().run()
    assert "Desconectar Cobrança 34 do WhatsApp?" in texts(at)  # the card's own dialog


@pytest.mark.parametrize("role", ["analyst", "supervisor"])
def test_read_only_roles_see_the_table_without_actions(context, role):
    for name in ("Cobrança 33", "Cobrança 34"):
        connected(context, name)
    context.accounts.add(f"{role}@example.com", PASSWORD, role)
    at = table_view(log_in(new_app(), f"{role}@example.com"))
    assert list(shown_table(at)["Nome"]) == ["Cobrança 33", "Cobrança 34"]
    assert "Marque uma linha para ver as ações dela." in texts(at)
    select_rows(at, [0])
    assert [b.label for b in at.button if (b.key or "").startswith("row-")] == ["Histórico"]
    for forbidden in ("Conectar", "Editar", "Desconectar", "Excluir", "Reiniciar", "Mostrar token"):
        assert forbidden not in labels(at)
