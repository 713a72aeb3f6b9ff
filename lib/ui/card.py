"""Instance cards, a page of them at a time, redrawn every few seconds (lib.ui.instances_tab).

A card says what state the number is in as people tell them apart (lib.fleet: Caiu, Sem resposta,
Nunca conectada…), since when and why, who owns it, and offers one calm main action; what is
needed less often (and everything destructive) sits in "Mais", drawn only while it is open."""

from __future__ import annotations

from datetime import datetime

import streamlit as st

from lib import fleet
from lib.uptime import CardStats, uptime_text
from lib.models import Instance
from lib.presentation import escape_markdown, format_since, owner_line, status_lines
from lib.provider.base import RESTART, TOKENS
from lib.provider.sandbox.provider import SandboxProvider
from lib.ui import caches, feedback, signed_in
from lib.ui.connect_dialog import open_connect_dialog
from lib.ui.dialog_state import open_dialog
from lib.ui.fleet_controls import page_of, pager

CARDS_PER_PAGE = 10
CARD_BUTTON_WIDTH = 140  # pixels: the card's column of buttons, the same on every card


# Every run redraws the cards of the page shown, and each element is a message to the browser,
# which draws it again (bench/rerun.py): a card is one bordered row of one Markdown element (the
# name, the state's badge, then the lines, every text escaped) and one column of buttons.
def instance_card(instance: Instance, *, now: datetime, stats: CardStats | None, owners: dict[str, str],
                  can_act: bool, sandbox: SandboxProvider | None) -> None:
    kind = fleet.state(instance)
    with st.container(border=True, horizontal=True, vertical_alignment="center", key=f"card-{instance.id}"):
        st.markdown(card_text(instance, kind, now=now, stats=stats, owners=owners))
        # A column of equal buttons: beside the text on a wide screen, under it on a phone,
        # never wrapping into uneven rows.
        with st.container(width=CARD_BUTTON_WIDTH, gap="small"):
            if can_act:
                _main_action(instance, kind)
            st.button("Histórico", key=f"history-{instance.id}", width="stretch",
                      on_click=_open_then_rerun, args=("history", instance))
            if can_act:
                _more_menu(instance, kind, sandbox)


def card_text(instance: Instance, kind: str, *, now: datetime, stats: CardStats | None,
              owners: dict[str, str]) -> str:
    """The card's Markdown: the name in bold and the badge, then (a paragraph of its own) a line
    each for since when and why, the number, the owner and tags, uptime and drops; literal text."""
    badge = f":{fleet.STATE_COLORS[kind]}-badge[{fleet.STATE_ICONS[kind]} {fleet.STATE_LABELS[kind]}]"
    lines = status_lines(instance, now)
    owned = owner_line(instance, owners)
    if owned:
        lines.append(owned)
    if stats is not None:
        lines.append(stats_line(stats, now))
    return f"**{escape_markdown(instance.name)}**  \n{badge}\n\n" + "  \n".join(escape_markdown(line) for line in lines)


def stats_line(stats: CardStats, now: datetime) -> str:
    """"Online 97 % em 24 h  ·  1 queda em 7 dias"; counted from the first connection: "Online 100 %
    desde 14:02  ·  nenhuma queda", "Online: ainda não conectada"."""
    day, week = stats.uptime_24h, stats.uptime_7d
    if not day.connected_yet:
        return "Online: ainda não conectada"
    drops = {0: "nenhuma queda", 1: "1 queda"}.get(stats.drops_7d, f"{stats.drops_7d} quedas")
    if day.since is None:
        drops += " em 7 dias" if week.since is None else f" desde {format_since(week.since, now)}"
    if day.share is None:
        return f"Sem histórico de conexão nas últimas 24 h  ·  {drops}"
    return f"Online {uptime_text(day, '24 h', now)}  ·  {drops}"


def _main_action(instance: Instance, kind: str) -> None:
    """The one action the card's state calls for; never a destructive one in red (that is in the
    confirmation). The cards are drawn inside a fragment: a callback that opens a dialog calls
    st.rerun(), which makes it a full run (the one that shows the dialog)."""
    if kind == "gone":  # the provider no longer has it: a retry would fail the same way
        st.button("Remover do painel", key=f"remove-{instance.id}", width="stretch",
                  on_click=_open_then_rerun, args=("delete", instance))
    elif instance.status != "connected":
        st.button("Conectar", key=f"connect-{instance.id}", type="primary", width="stretch",
                  on_click=_connect_then_rerun, args=(instance,))


def _more_menu(instance: Instance, kind: str, sandbox: SandboxProvider | None) -> None:
    """What is needed less often. Drawn only while open (on_change="rerun"), and closed by the
    action chosen in it."""
    key = f"more-{instance.id}"
    menu = st.popover("Mais", width="stretch", key=key, on_change="rerun")
    if not menu.open:
        return
    service = signed_in.service()
    with menu:
        item = _menu_item(key)
        item("Editar", "edit", instance, ":material/edit:")
        if service.can(RESTART) and kind != "gone":
            item("Reiniciar", "restart", instance, ":material/restart_alt:")
        if service.can(TOKENS):
            item("Mostrar token", "token", instance, ":material/key:")
        if sandbox is not None and instance.status == "connected":
            st.button("Simular queda", key=f"drop-{instance.id}", icon=":material/signal_disconnected:",
                      width="stretch", help="Sandbox: o telefone perde o WhatsApp, como numa queda de verdade",
                      on_click=_simulate_drop, args=(key, sandbox, instance))
        if instance.status != "disconnected":
            item("Desconectar", "disconnect", instance, ":material/link_off:")
        if kind != "gone":
            item("Excluir", "delete", instance, ":material/delete:")


def _menu_item(menu_key: str):
    def item(label: str, dialog: str, instance: Instance, icon: str) -> None:
        st.button(label, key=f"menu-{dialog}-{instance.id}", icon=icon, width="stretch",
                  on_click=_close_then_open, args=(menu_key, dialog, instance))
    return item


def _close_then_open(menu_key: str, dialog: str, instance: Instance) -> None:
    st.session_state[menu_key] = False  # the menu closes after its action
    _open_then_rerun(dialog, instance)


def _open_then_rerun(kind: str, instance: Instance) -> None:
    open_dialog(kind, instance)
    st.rerun()


def _connect_then_rerun(instance: Instance) -> None:
    open_connect_dialog(instance)
    st.rerun()


def _simulate_drop(menu_key: str, sandbox: SandboxProvider, instance: Instance) -> None:
    """The sandbox drops the session and pushes the change to the app, as a real provider would:
    the card follows through the event endpoint (or the next sweep), not through this click."""
    st.session_state[menu_key] = False
    if sandbox.simulate_drop(instance.instance_id):
        feedback.flash(f"Queda simulada em {escape_markdown(instance.name)}: o provedor avisa o painel.",
                       icon=":material/signal_disconnected:")


def instance_cards(instances: list[Instance], *, now: datetime, owners: dict[str, str], can_act: bool,
                   sandbox: SandboxProvider | None) -> None:
    """One card per instance, CARDS_PER_PAGE at a time, each with its uptime and drops (read once per
    change of the store, for the page shown)."""
    shown, page, pages = page_of(instances, CARDS_PER_PAGE)
    stats = {}
    with feedback.user_errors() as failed:  # without them the cards still say what matters
        stats = caches.cached(("card-stats", tuple(i.id for i in shown)), lambda: signed_in.service().card_stats(shown))
    if failed:
        stats = {}
    for instance in shown:
        instance_card(instance, now=now, stats=stats.get(instance.id), owners=owners, can_act=can_act, sandbox=sandbox)
    pager(page, pages)
