"""The Instâncias tab: the admin's buttons, unsaved credentials, the live cards, the table, and
the dialog that is open (see lib.ui.dialogs).

What the screen says follows the store without anyone clicking: the cards are a fragment that
runs every WATCH_SECONDS and asks the store one cheap question (has anything changed since the
list was read?); when it has, the whole page runs again from a fresh read. The cards are redrawn
on every tick anyway, so "verificado há 40 s" stays true. Each tick checks the session too
(lib.ui.signed_in.check): one ended elsewhere shows the login page within a tick.
"""

from __future__ import annotations

from datetime import datetime, timezone

import streamlit as st

from lib.models import STATUSES
from lib.presentation import STATUS_LABELS, escape_markdown, filter_instances, refresh_summary
from lib.ui import caches, feedback, signed_in
from lib.ui.card import CARDS_PAGE_KEY, instance_cards
from lib.ui.dialog_state import open_dialog, show_open_dialog
from lib.ui.dialogs import token_view
from lib.ui.history import alert_failure_banner
from lib.ui.table import instances_table_view

WATCH_SECONDS = 3  # a change in the store shows on every open screen within this, plus a run
SEARCH_KEY, STATUS_FILTER_KEY = "search", "status_filter"


def shown_instances(instances):
    """The instances the search and the status filter leave (cards and table alike)."""
    return filter_instances(instances, st.session_state.get(SEARCH_KEY, ""),
                            st.session_state.get(STATUS_FILTER_KEY, list(STATUSES)))


@st.fragment(run_every=WATCH_SECONDS)
def live_cards(*, can_act: bool) -> None:
    """The cards, drawn again every tick ("verificado há 40 s" stays true); the session and the
    store's changes are followed for every page by lib.ui.live."""
    with feedback.user_errors() as failed:
        instances = caches.instances()
    if failed:
        if st.button("Tentar novamente", key="reload_instances"):
            caches.invalidate_instances()
            st.rerun()
        return
    if not instances:
        empty_state(can_act)
        return
    shown = shown_instances(instances)
    if not shown:
        st.info("Nenhuma instância corresponde à busca e ao filtro.", icon="🔎")
        return
    instance_cards(shown, now=datetime.now(timezone.utc), can_act=can_act, sandbox=signed_in.context().sandbox)


def empty_state(can_act: bool) -> None:
    if can_act:
        st.info("Nenhuma instância ainda. Crie a primeira e conecte o WhatsApp da cobrança com um QR Code.", icon="💬")
        st.button("Criar a primeira instância", type="primary", key="empty-create", on_click=_open_create)
    else:
        st.info("Nenhuma instância ainda: um administrador precisa criar a primeira.", icon="💬")


def _open_create() -> None:
    open_dialog("create", None)
    st.rerun()  # the button is in the cards' fragment: make the click a full run (it shows the dialog)


def filter_bar() -> None:
    left, right = st.columns([2, 3], vertical_alignment="bottom")
    left.text_input("Buscar", key=SEARCH_KEY, type="search", placeholder="Nome ou telefone",
                    on_change=_first_page)
    right.multiselect("Status", STATUSES, default=list(STATUSES), format_func=STATUS_LABELS.get,
                      key=STATUS_FILTER_KEY, placeholder="Escolha os status", on_change=_first_page)


def _first_page() -> None:
    st.session_state.pop(CARDS_PAGE_KEY, None)


def instances_tab() -> None:
    user = signed_in.current_user()
    show_open_dialog()  # first, so that the cards below reflect what the dialog just changed
    if user.is_admin:
        alert_failure_banner()
        top = st.container(horizontal=True)
        top.button("+ Nova instância", type="primary", on_click=open_dialog, args=("create", None))
        if top.button("Verificar agora", help="Pergunta ao provedor o status de todas as instâncias agora"):
            check_all_now()
        off = signed_in.context().monitor_off_reason
        if off:
            st.caption(off)
        unsaved_credentials()
    else:
        st.caption("Somente leitura: apenas administradores alteram instâncias.")
    with feedback.user_errors() as failed:
        instances = caches.instances()
    if not failed and instances:
        filter_bar()
    live_cards(can_act=user.is_admin)
    if not failed and instances:
        shown = shown_instances(instances)
        if shown:
            instances_table_view(shown, key=(st.session_state.get(SEARCH_KEY, ""),
                                             tuple(st.session_state.get(STATUS_FILTER_KEY, STATUSES))))


def unsaved_credentials() -> None:
    """Instances the provider created but the store failed to save, kept in the recovery file."""
    service = signed_in.service()
    with feedback.user_errors() as failed:
        items = service.unsaved_instances()
    if failed:
        return
    for item in items:
        with st.container(border=True):
            st.warning("Instância criada no provedor mas ainda não salva no banco.", icon="⚠️")
            st.text(f"Nome: {item.name}  ·  ID no provedor: {item.instance_id}")
            token_view(item.token, key=f"unsaved-{item.instance_id}")
            if st.button("Salvar novamente", key=f"save-{item.instance_id}"):
                with feedback.user_errors("Salvando…") as failed:
                    service.save_unsaved(item.instance_id)
                if not failed:
                    caches.invalidate_instances()
                    feedback.flash(f"{escape_markdown(item.name)} salva.")
                    st.rerun()


def check_all_now() -> None:
    """"Verificar agora": the provider's word for every instance, and which ones changed."""
    with feedback.user_errors("Consultando o status de todas as instâncias…") as failed:
        results = signed_in.service().refresh_all(caches.instances())
    if failed:
        return
    caches.invalidate_instances()
    summary, changed, failures = refresh_summary(results)
    (st.warning if not failures.empty else st.success)(summary, icon="🔎")
    if changed:
        st.text("Mudaram: " + ", ".join(changed))
    if not failures.empty:
        st.dataframe(failures, hide_index=True)
