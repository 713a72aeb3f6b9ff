"""The Instâncias tab: the admin's buttons, unsaved credentials, the live cards, the table, and
the dialog that is open (see lib.ui.dialogs).

What the screen says follows the store without anyone clicking: the cards are a fragment that
runs every WATCH_SECONDS and asks the store one cheap question (has anything changed since the
list was read?); when it has, the whole page runs again from a fresh read. The cards are redrawn
on every tick anyway, so "verificado há 40 s" stays true.
"""

from __future__ import annotations

from datetime import datetime, timezone

import streamlit as st

from lib.presentation import escape_markdown, refresh_summary
from lib.ui import session
from lib.ui.card import instance_cards
from lib.ui.connect_dialog import connect_dialog
from lib.ui.dialogs import CONFIRMATIONS, DIALOG_KEY, confirm_dialog, create_dialog, open_dialog, token_view
from lib.ui.history import alert_failure_banner, history_dialog
from lib.ui.table import instances_table_view

WATCH_SECONDS = 3  # a change in the store shows on every open screen within this, plus a run
DIALOGS = {"create": create_dialog, "connect": connect_dialog, "history": history_dialog}


def show_open_dialog() -> None:
    """Re-open the dialog recorded in the session state (call once per full run)."""
    if DIALOG_KEY not in st.session_state:
        return
    kind, payload = st.session_state[DIALOG_KEY]
    if kind in CONFIRMATIONS:
        confirm_dialog(kind, payload)
    else:
        DIALOGS[kind](payload)


@st.fragment(run_every=WATCH_SECONDS)
def live_cards(*, can_act: bool) -> None:
    if session.list_is_stale():
        session.invalidate_instances()
        st.rerun()  # the whole page, table included, from a fresh read
    with session.user_errors() as failed:
        instances = session.instances()
    if failed:
        if st.button("Tentar novamente", key="reload_instances"):
            session.invalidate_instances()
            st.rerun()
        return
    instance_cards(instances, now=datetime.now(timezone.utc), can_act=can_act, sandbox=session.context().sandbox)


def instances_tab() -> None:
    user = session.current_user()
    show_open_dialog()  # first, so that the cards below reflect what the dialog just changed
    if user.is_admin:
        alert_failure_banner()
        top = st.container(horizontal=True)
        top.button("+ Nova instância", type="primary", on_click=open_dialog, args=("create", None))
        if top.button("Verificar agora", help="Pergunta ao provedor o status de todas as instâncias agora"):
            check_all_now()
        off = session.context().monitor_off_reason
        if off:
            st.caption(off)
        unsaved_credentials()
    else:
        st.caption("Somente leitura: apenas administradores alteram instâncias.")
    live_cards(can_act=user.is_admin)
    with session.user_errors() as failed:
        instances = session.instances()
    if not failed:
        instances_table_view(instances)


def unsaved_credentials() -> None:
    """Instances the provider created but the store failed to save, kept in the recovery file."""
    service = session.service()
    with session.user_errors() as failed:
        items = service.unsaved_instances()
    if failed:
        return
    for item in items:
        with st.container(border=True):
            st.warning("Instância criada no provedor mas ainda não salva no banco.", icon="⚠️")
            st.text(f"Nome: {item.name}  ·  ID no provedor: {item.instance_id}")
            token_view(item.token, key=f"unsaved-{item.instance_id}")
            if st.button("Salvar novamente", key=f"save-{item.instance_id}"):
                with session.user_errors("Salvando…") as failed:
                    service.save_unsaved(item.instance_id)
                if not failed:
                    session.invalidate_instances()
                    session.flash(f"{escape_markdown(item.name)} salva.")
                    st.rerun()


def check_all_now() -> None:
    """"Verificar agora": the provider's word for every instance, and which ones changed."""
    with session.user_errors("Consultando o status de todas as instâncias…") as failed:
        results = session.service().refresh_all(session.instances())
    if failed:
        return
    session.invalidate_instances()
    summary, changed, failures = refresh_summary(results)
    (st.warning if not failures.empty else st.success)(summary, icon="🔎")
    if changed:
        st.text("Mudaram: " + ", ".join(changed))
    if not failures.empty:
        st.dataframe(failures, hide_index=True)
