"""The table's bulk actions (admins): the bar under the table when several rows are chosen, and
the one dialog that confirms listing the names, runs with a progress bar and ends with a line per
instance (lib.bulk does the work, through the service)."""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from lib import bulk
from lib.models import Instance
from lib.provider.base import DELETE, RESTART
from lib.ui import caches, feedback, signed_in
from lib.ui.dialog_state import close_dialog, open_dialog, registered


@dataclass(frozen=True)
class BulkRequest:
    """The dialog's payload: what was asked, and once it ran, its results (kept across reruns)."""

    action: str  # a key of lib.bulk.ACTIONS
    instances: tuple[Instance, ...]
    results: tuple[bulk.BulkResult, ...] | None = None


def bulk_bar(chosen: list[Instance]) -> None:
    """"3 selecionadas" and the actions for all of them."""
    actions = ["check", "disconnect", "delete"] + (["restart"] if signed_in.service().can(RESTART) else [])
    with st.container(horizontal=True, vertical_alignment="center", key="bulk-bar"):
        st.text(f"{len(chosen)} selecionadas")
        for action in actions:
            st.button(bulk.ACTIONS[action].label, key=f"bulk-{action}", on_click=open_dialog,
                      args=("bulk", BulkRequest(action, tuple(chosen))))


@registered("bulk")
@st.dialog("Ação em várias instâncias", on_dismiss=close_dialog)
def bulk_dialog(request: BulkRequest) -> None:
    action = bulk.ACTIONS[request.action]
    count = len(request.instances)
    if request.results is not None:
        _results(request)
        return
    if request.action == "check":  # nothing is lost: no question
        _run(request)
        return
    st.text(f"{action.label} estas {count} instâncias?\n" + "\n".join(f"• {i.name}" for i in request.instances))
    if request.action == "delete":
        where = ("Elas também serão excluídas no provedor." if signed_in.service().can(DELETE)
                 else "Elas saem só do painel: continuam existindo no provedor.")
        st.caption(f"Cada uma é desconectada antes, se preciso. {where} O histórico delas fica guardado. "
                   "Esta ação não pode ser desfeita.")
    left, right = st.columns(2)
    if right.button("Cancelar", width="stretch"):
        close_dialog()
        st.rerun()
    if left.button(f"{action.label} {count}", type="primary", width="stretch",
                   key="danger-bulk" if action.destructive else "bulk-confirm"):
        _run(request)


def _run(request: BulkRequest) -> None:
    """The action with a progress bar, then the results kept in the dialog's payload and the page
    drawn again (the table without what was deleted)."""
    action = bulk.ACTIONS[request.action]
    bar = st.progress(0.0, text=f"{action.running}…")

    def progress(done: int, total: int) -> None:
        bar.progress(done / total, text=f"{action.running}… {done} de {total}")

    with feedback.user_errors() as failed:
        results = bulk.run(signed_in.service(), request.action, list(request.instances), progress)
    caches.invalidate_instances()
    if failed:  # the message stays until the next run; the dialog does not come back to run again
        close_dialog()
        return
    open_dialog("bulk", BulkRequest(request.action, request.instances, tuple(results)))
    st.rerun()


def _results(request: BulkRequest) -> None:
    results = list(request.results or ())
    st.progress(1.0, text=bulk.summary(request.action, results))
    st.text("\n".join(r.line(request.action) for r in results))
    if st.button("Fechar", type="primary"):
        close_dialog()
        st.rerun()
