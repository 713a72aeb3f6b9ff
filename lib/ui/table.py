"""The fleet as a table ("Cartões | Tabela"): one row per instance in the order chosen, each column
sortable by clicking its header; a chosen row offers its actions below the table, several rows the
bulk actions (lib.ui.bulk); "Baixar CSV" is the one export (the tables' own is turned off:
client.disableDataExport in .streamlit/config.toml).

Drawn outside the cards' fragment: it is sent again only when something changes, not every tick."""

from __future__ import annotations

import hashlib

import pyarrow as pa
import streamlit as st

from lib import fleet
from lib.models import Instance
from lib.presentation import DISPLAY_TIMEZONE
from lib.provider.base import RESTART, TOKENS
from lib.table_rows import SCREEN_COLUMNS, instances_csv, instances_table
from lib.ui import bulk, caches, feedback, signed_in
from lib.ui.column_widths import Fitted, fitted
from lib.ui.connect_dialog import open_connect_dialog
from lib.ui.dialog_state import open_dialog

TIME_FORMAT = "DD/MM HH:mm"  # São Paulo time, as the cards' "28/11 14:02"
# What the browser draws for the columns it formats (the widest case), and the widest a column may
# be (a longer text wraps): a name's 260 px stay on a phone's screen, beside the row's checkbox.
SHOWN_AS = {"Desde": ["00/00 00:00"], "Última queda": ["00/00 00:00"], "Online 7 dias": ["99,99%"]}
MOST_PX = {"Nome": 260, "Responsável": 280, "Etiquetas": 300, "ID no provedor": 260}


def instances_table_view(instances: list[Instance], *, owners: dict[str, str], can_act: bool) -> None:
    """The table of `instances` (those the search and filters leave, in their order), the actions
    of the rows chosen in it (admins: any action; other roles: Histórico) and its CSV."""
    st.subheader(f"Instâncias ({len(instances)})")
    stats = _stats(instances)
    # Built once per list, owners and figures, not on every rerun: formatting 1000 rows and
    # converting them to Arrow (what st.dataframe sends) costs as much as the rest of the page.
    ids = tuple(i.id for i in instances)
    table, fit, key = caches.derived(
        ("table", ids, tuple(sorted(owners.items())), tuple(sorted(stats.items()))),
        lambda: _arrow(instances, owners, stats))
    event = st.dataframe(table, hide_index=True, width="stretch", column_order=SCREEN_COLUMNS, placeholder="",
                         column_config=_columns(fit.widths), row_height=fit.row_height, on_select="rerun",
                         selection_mode="multi-row" if can_act else "single-row", key=key)
    chosen = [instances[row] for row in event.selection.rows if row < len(instances)]
    if len(chosen) == 1:
        row_actions(chosen[0], can_act)
    elif chosen:
        bulk.bulk_bar(chosen)
    else:
        st.caption("Marque uma linha para ver as ações dela" + (", ou várias para agir em todas de uma vez."
                                                                 if can_act else "."))
    # A callable runs only when the button is clicked (on another thread): no CSV on every rerun.
    st.download_button("Baixar CSV", lambda: instances_csv(table.to_pandas()), file_name="instancias.csv",
                       mime="text/csv", icon=":material/download:")


def _stats(instances: list[Instance]) -> dict:
    """Uptime and last drop per instance, read once per change of the store (and minute); without
    them the table still shows the rest."""
    with feedback.user_errors() as failed:
        found = caches.cached(("table-stats", tuple(i.id for i in instances)),
                              lambda: signed_in.service().table_stats(instances))
    return {} if failed else found


def _arrow(instances: list[Instance], owners: dict[str, str], stats: dict) -> tuple[pa.Table, Fitted, str]:
    """The rows as Arrow, the columns' widths and rows' height, and the table's key. The selection
    is of row positions: keyed by the rows shown, a new list starts unselected, so that a position
    never lands on another instance."""
    frame = instances_table(instances, owners=owners, stats=stats)
    fit = fitted(frame[SCREEN_COLUMNS], MOST_PX, SHOWN_AS)
    key = "table-" + hashlib.sha1("\n".join(i.id for i in instances).encode()).hexdigest()[:16]
    return pa.Table.from_pandas(frame, preserve_index=False), fit, key


def _columns(widths: dict[str, int]) -> dict:
    """Every column at its width (lib.ui.column_widths); Nome pinned at the left."""
    config = {name: st.column_config.TextColumn(name, width=widths[name]) for name in SCREEN_COLUMNS}
    config["Nome"] = st.column_config.TextColumn("Nome", width=widths["Nome"], pinned=True)
    for name in ("Desde", "Última queda"):
        config[name] = st.column_config.DatetimeColumn(name, width=widths[name], format=TIME_FORMAT,
                                                       timezone=str(DISPLAY_TIMEZONE))
    config["Online 7 dias"] = st.column_config.NumberColumn(
        "Online 7 dias", width=widths["Online 7 dias"], format="percent",
        help="Tempo conectada nos últimos 7 dias (como nos cartões)")
    return config


def row_actions(instance: Instance, can_act: bool) -> None:
    """What the card of the chosen row offers, as buttons under the table (the same dialogs)."""
    kind = fleet.state(instance)
    with st.container(horizontal=True, vertical_alignment="center", key="row-actions"):
        st.text(instance.name)
        if can_act and kind == "gone":
            _button("Remover do painel", "delete", instance)
        elif can_act and instance.status != "connected":
            st.button("Conectar", key="row-connect", type="primary", on_click=open_connect_dialog, args=(instance,))
        _button("Histórico", "history", instance)
        if can_act:
            _admin_actions(instance, kind)
    if instance.notes:
        st.text(f"Observações: {instance.notes}")


def _admin_actions(instance: Instance, kind: str) -> None:
    service = signed_in.service()
    _button("Editar", "edit", instance)
    if service.can(RESTART) and kind != "gone":
        _button("Reiniciar", "restart", instance)
    if service.can(TOKENS):
        _button("Mostrar token", "token", instance)
    if instance.status != "disconnected":
        _button("Desconectar", "disconnect", instance)
    if kind != "gone":
        _button("Excluir", "delete", instance)


def _button(label: str, dialog: str, instance: Instance) -> None:
    st.button(label, key=f"row-{dialog}", on_click=open_dialog, args=(dialog, instance))
