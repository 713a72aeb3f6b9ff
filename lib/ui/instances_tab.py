"""The Instâncias tab: the admin's buttons, unsaved credentials, cards and table, and the dialog
that is open (see lib.ui.dialogs)."""

from __future__ import annotations

from typing import Callable

import streamlit as st

from lib.presentation import refresh_summary
from lib.ui import session
from lib.ui.card import instance_cards
from lib.ui.connect_dialog import connect_dialog
from lib.ui.dialogs import CONFIRMATIONS, DIALOG_KEY, confirm_dialog, create_dialog, open_dialog, token_view
from lib.ui.table import instances_table_view

BROWSING_KEY = "browsing_instances"  # set by the read-only list's widgets, see auto_refreshing_instances_section
AUTO_REFRESH_SECONDS = 15
DIALOGS = {"create": create_dialog, "connect": connect_dialog}


def show_open_dialog() -> None:
    """Re-open the dialog recorded in the session state (call once per full run)."""
    if DIALOG_KEY not in st.session_state:
        return
    kind, payload = st.session_state[DIALOG_KEY]
    if kind in CONFIRMATIONS:
        confirm_dialog(kind, payload)
    else:
        DIALOGS[kind](payload)


def instances_section(*, can_act: bool, on_change: Callable[[], None] | None = None) -> None:
    """Cards and table from the session's cached list; `on_change` is called when the user changes
    the page of cards or the status filter."""
    with session.user_errors() as failed:
        instances = session.instances()
    if failed:
        if st.button("Tentar novamente", key="reload_instances"):
            session.invalidate_instances()
            st.rerun()
        return
    instance_cards(instances, can_act=can_act, on_change=on_change)
    instances_table_view(instances, on_change=on_change)


def _note_browsing() -> None:
    st.session_state[BROWSING_KEY] = True


@st.fragment(run_every=AUTO_REFRESH_SECONDS)
def auto_refreshing_instances_section() -> None:
    """For read-only roles: re-read the list every AUTO_REFRESH_SECONDS (one store read) without a
    page reload. A fragment rerun caused by the user turning a page or changing the filter is not
    a refresh: it is served from the cached list."""
    if not st.session_state.pop(BROWSING_KEY, False):
        session.invalidate_instances()
    instances_section(can_act=False, on_change=_note_browsing)


def instances_tab() -> None:
    user = session.current_user()
    if not user.is_admin:
        st.caption("Somente leitura: apenas administradores alteram instâncias.")
        auto_refreshing_instances_section()
        return
    show_open_dialog()  # first, so that the cards below reflect what the dialog just changed
    top = st.container(horizontal=True)
    top.button("+ Nova instância", type="primary", on_click=open_dialog, args=("create", None))  # see lib.ui.card
    if top.button("Recarregar"):
        session.invalidate_instances()
    if top.button("Atualizar status", help="Consulta o provedor para todas as instâncias"):
        refresh_all_statuses()
    unsaved_credentials()
    instances_section(can_act=True)


def unsaved_credentials() -> None:
    """Instances the provider created but the store failed to save, kept in the recovery file."""
    service = session.service()
    for item in service.unsaved_instances():
        with st.container(border=True):
            st.warning("Instância criada no provedor mas ainda não salva no banco.", icon="⚠️")
            st.text(f"Nome: {item.name}  ·  ID no provedor: {item.instance_id}")
            token_view(item.token, key=f"unsaved-{item.instance_id}")
            if st.button("Salvar novamente", key=f"save-{item.instance_id}"):
                with session.user_errors("Salvando…") as failed:
                    service.save_unsaved(item.instance_id)
                if not failed:
                    session.invalidate_instances()
                    session.flash(f"{item.name} salva.")
                    st.rerun()


def refresh_all_statuses() -> None:
    with session.user_errors("Consultando o status de todas as instâncias…") as failed:
        results = session.service().refresh_all(session.instances())
    if failed:
        return
    session.invalidate_instances()
    summary, failures = refresh_summary(results)
    if failures.empty:
        st.success(summary)
    else:
        st.warning(summary)
        st.dataframe(failures, hide_index=True)
