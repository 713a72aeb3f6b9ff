"""Instance cards, a page of them at a time, redrawn every few seconds (lib.ui.instances_tab)."""

from __future__ import annotations

from datetime import datetime

import streamlit as st

from lib.history import CardStats, format_uptime
from lib.models import Instance
from lib.presentation import STATUS_COLORS, STATUS_LABELS, escape_markdown, status_lines
from lib.provider.sandbox.provider import SandboxProvider
from lib.provider.http import MSG_INSTANCE_UNKNOWN
from lib.ui import caches, feedback, signed_in
from lib.ui.connect_dialog import open_connect_dialog
from lib.ui.dialog_state import open_dialog

CARDS_PER_PAGE = 10
CARDS_PAGE_KEY = "cards_page"
CARD_BUTTON_WIDTH = 140  # pixels: the card's column of buttons, the same on every card
STATUS_BADGE_ICONS = {
    "connected": ":material/check_circle:",
    "connecting": ":material/hourglass_top:",
    "disconnected": ":material/cancel:",
}


# Every run redraws the cards of the page shown, so a card is kept to few elements: a row (a
# horizontal container) of the text and the buttons costs a quarter less than nested columns.
def instance_card(instance: Instance, *, now: datetime, stats: CardStats | None, can_act: bool,
                  sandbox: SandboxProvider | None) -> None:
    with st.container(border=True):
        with st.container(horizontal=True, vertical_alignment="center"):
            with st.container():
                st.markdown(f"**{escape_markdown(instance.name)}**")
                st.badge(STATUS_LABELS[instance.status], icon=STATUS_BADGE_ICONS[instance.status],
                         color=STATUS_COLORS[instance.status])
                lines = status_lines(instance, now)
                if stats is not None:
                    lines.append(stats_line(stats))
                st.text("\n".join(lines))
            # A column of equal buttons: beside the text on a wide screen, under it on a phone,
            # never wrapping into uneven rows.
            with st.container(width=CARD_BUTTON_WIDTH, gap="small"):
                if can_act:
                    _card_buttons(instance, sandbox)
                st.button("Histórico", key=f"history-{instance.id}", width="stretch",
                          on_click=_open_then_rerun, args=("history", instance))
                if can_act:
                    _more_menu(instance, sandbox)


def stats_line(stats: CardStats) -> str:
    drops = {0: "nenhuma queda", 1: "1 queda"}.get(stats.drops_7d, f"{stats.drops_7d} quedas")
    if stats.uptime_24h is None:
        return f"Sem histórico de conexão nas últimas 24 h  ·  {drops} em 7 dias"
    return f"Online {format_uptime(stats.uptime_24h)} em 24 h  ·  {drops} em 7 dias"


def _card_buttons(instance: Instance, sandbox: SandboxProvider | None) -> None:
    """The card's main action. The cards are drawn inside a fragment: a click there reruns only the
    fragment, unless its callback calls st.rerun(), which makes it a full run (the one that shows
    the dialog). Keys starting with delete-, disconnect- or forget- are drawn red (lib.ui.page)."""
    if instance.last_error == MSG_INSTANCE_UNKNOWN:  # a retry would fail the same way
        st.button("Excluir do painel", key=f"forget-{instance.id}", type="primary", width="stretch",
                  on_click=_open_then_rerun, args=("delete", instance))
    elif instance.status == "connected":
        st.button("Desconectar", key=f"disconnect-{instance.id}", width="stretch",
                  on_click=_open_then_rerun, args=("disconnect", instance))
    else:
        st.button("Conectar", key=f"connect-{instance.id}", type="primary", width="stretch",
                  on_click=_connect_then_rerun, args=(instance,))


def _more_menu(instance: Instance, sandbox: SandboxProvider | None) -> None:
    """What is needed less often: the token, the sandbox's drop, deleting."""
    with st.popover("Mais", width="stretch"):
        st.button("Mostrar token", key=f"show-token-{instance.id}", icon=":material/key:", width="stretch",
                  on_click=_open_then_rerun, args=("token", instance))
        if sandbox is not None and instance.status == "connected":
            st.button("Simular queda", key=f"drop-{instance.id}", icon=":material/signal_disconnected:",
                      width="stretch", help="Sandbox: o telefone perde o WhatsApp, como numa queda de verdade",
                      on_click=_simulate_drop, args=(sandbox, instance))
        if instance.last_error != MSG_INSTANCE_UNKNOWN:
            st.button("Excluir", key=f"delete-{instance.id}", icon=":material/delete:", width="stretch",
                      on_click=_open_then_rerun, args=("delete", instance))


def _open_then_rerun(kind: str, instance: Instance) -> None:
    open_dialog(kind, instance)
    st.rerun()


def _connect_then_rerun(instance: Instance) -> None:
    open_connect_dialog(instance)
    st.rerun()


def _simulate_drop(sandbox: SandboxProvider, instance: Instance) -> None:
    """The sandbox drops the session and pushes the change to the app, as a real provider would:
    the card follows through the event endpoint (or the next sweep), not through this click."""
    if sandbox.simulate_drop(instance.instance_id):
        feedback.flash(f"Queda simulada em {escape_markdown(instance.name)}: o provedor avisa o painel.", icon="📵")


def instance_cards(instances: list[Instance], *, now: datetime, can_act: bool, sandbox: SandboxProvider | None) -> None:
    """One card per instance, CARDS_PER_PAGE at a time (the table below shows them all), each with
    its uptime and drops (read once per change of the store, for the page shown)."""
    if not instances:
        st.info("Nenhuma instância cadastrada ainda.")
        return
    pages = (len(instances) + CARDS_PER_PAGE - 1) // CARDS_PER_PAGE
    page = 1
    if pages > 1:
        page = st.number_input(f"Página (de {pages})", min_value=1, max_value=pages, step=1, key=CARDS_PAGE_KEY)
    shown = instances[(page - 1) * CARDS_PER_PAGE : page * CARDS_PER_PAGE]
    stats = {}
    with feedback.user_errors() as failed:  # without them the cards still say what matters
        stats = caches.cached(("card-stats", tuple(i.id for i in shown)), lambda: signed_in.service().card_stats(shown))
    if failed:
        stats = {}
    for instance in shown:
        instance_card(instance, now=now, stats=stats.get(instance.id), can_act=can_act, sandbox=sandbox)
