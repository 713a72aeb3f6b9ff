"""The Instâncias tab: the admin's toolbar, unsaved credentials, the summary line and the filters,
then the fleet as cards (a page at a time, redrawn every few seconds) or as a table, and the
dialog that is open (lib.ui.dialog_state).

What the screen says follows the store without anyone clicking: lib.ui.live, above every page,
runs the whole page again when the store changes; the cards are a fragment drawn again every
tick anyway (lib.ui.ticks), so "verificado há 40 s" stays true.
"""

from __future__ import annotations

from datetime import datetime, timezone

import streamlit as st

from lib.event_registration import MSG_NO_PUBLIC_URL
from lib.presentation import escape_markdown, refresh_summary
from lib.provider.base import EVENTS, LIST
from lib.ui import caches, edit_dialog, feedback, fleet_controls, import_dialog, signed_in  # noqa: F401 - dialogs
from lib.ui.card import instance_cards
from lib.ui.dialog_state import open_dialog, show_open_dialog
from lib.ui.dialogs import token_view
from lib.ui.activity import alert_failure_banner
from lib.ui.table import instances_table_view
from lib.ui.ticks import run_live

def live_cards(*, can_act: bool) -> None:
    """The cards, drawn again every tick ("verificado há 40 s" stays true); the session and the
    store's changes are followed for every page by lib.ui.live."""
    with feedback.user_errors() as failed:
        instances = caches.instances()
    if failed:
        return
    shown = fleet_controls.shown(instances)
    if not shown:
        st.info("Nenhuma instância corresponde à busca e aos filtros.", icon=":material/search_off:")
        return
    instance_cards(shown, now=datetime.now(timezone.utc), owners=owners(), can_act=can_act,
                   sandbox=signed_in.context().sandbox)


def owners() -> dict[str, str]:
    """Who owns an instance, by user id: their e-mail (read once per change of the store)."""
    with feedback.user_errors() as failed:
        found = caches.cached(("owners",), lambda: signed_in.service().owner_emails())
    return {} if failed else found


def empty_state(can_act: bool) -> None:
    if can_act:
        st.info("Nenhuma instância ainda. Crie a primeira e conecte o WhatsApp da cobrança com um QR Code.",
                icon=":material/chat:")
        st.button("Criar a primeira instância", type="primary", key="empty-create", on_click=open_dialog,
                  args=("create", None))
    else:
        st.info("Nenhuma instância ainda: um administrador precisa criar a primeira.", icon=":material/chat:")


def instances_tab() -> None:
    user = signed_in.current_user()
    show_open_dialog()  # first, so that the list below reflects what the dialog just changed
    if user.is_admin:
        admin_toolbar()
    else:
        st.caption("Somente leitura: apenas administradores alteram instâncias.")
    with feedback.user_errors() as failed:
        instances = caches.instances()
    if failed:
        if st.button("Tentar novamente", key="reload_instances"):
            caches.invalidate_instances()
            st.rerun()
        return
    if not instances:
        empty_state(user.is_admin)
        return
    fleet_controls.summary_line(instances)
    fleet_controls.filter_bar(instances, owners())
    if fleet_controls.view() == fleet_controls.VIEW_TABLE:
        instances_table_view(fleet_controls.shown(instances), owners=owners(), can_act=user.is_admin)
    else:
        run_live(live_cards, can_act=user.is_admin)


def admin_toolbar() -> None:
    alert_failure_banner()
    service = signed_in.service()
    top = st.container(horizontal=True, key="toolbar")
    top.button("+ Nova instância", type="primary", on_click=open_dialog, args=("create", None))
    if top.button("Verificar agora", help="Pergunta ao provedor o status de todas as instâncias agora"):
        check_all_now()
    if service.can(LIST):
        top.button("Importar do provedor", icon=":material/download:", on_click=open_dialog, args=("import", None),
                   help="Traz para o painel as instâncias que existem no provedor e ainda não estão aqui")
    if service.can(EVENTS) and signed_in.context().events_target is not None:
        if top.button("Reconfigurar eventos", icon=":material/sync:",
                      help="Pede de novo ao provedor que avise o painel de cada mudança de cada instância"):
            reconfigure_events()
    context = signed_in.context()
    if context.monitor_off_reason:
        st.caption(context.monitor_off_reason)
    if service.can(EVENTS) and context.events_target is None:
        st.caption(MSG_NO_PUBLIC_URL)
    unsaved_credentials()


def unsaved_credentials() -> None:
    """Instances the provider created but the store failed to save, kept in the recovery file."""
    service = signed_in.service()
    with feedback.user_errors() as failed:
        items = service.unsaved_instances()
    if failed:
        return
    for item in items:
        with st.container(border=True):
            st.warning("Instância criada no provedor mas ainda não salva no banco.", icon=":material/warning:")
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
    (st.warning if not failures.empty else st.success)(summary, icon=":material/search:")
    if changed:
        st.text("Mudaram: " + ", ".join(changed))
    if not failures.empty:
        st.dataframe(failures, hide_index=True)


def reconfigure_events() -> None:
    """"Reconfigurar eventos": the provider told again, for every instance, where to push."""
    with feedback.user_errors("Registrando os eventos no provedor…") as failed:
        results = signed_in.service().reconfigure_events()
    if failed:
        return
    refused = [(instance.name, error) for instance, error in results if error]
    if not refused:
        st.success(f"Eventos configurados no provedor para {len(results)} instâncias.", icon=":material/sync:")
        return
    st.warning(f"{len(results) - len(refused)} de {len(results)} instâncias configuradas; estas falharam:",
               icon=":material/warning:")
    st.text("\n".join(f"{name}: {error}" for name, error in refused))
