"""What every signed-in page follows live, whatever the page, filter or tab (app.py draws it above
the page): the session (ended elsewhere: the login page), the store (a change: the page drawn again
from a fresh read), the drops (a banner naming each number that dropped while the page was open,
until dismissed or back) and the browser tab's title, which carries the count of problems.

One fragment runs every tick (lib.ui.ticks: 3 s unless configured) and asks two cheap questions (is the session alive? has the
store changed since the list was read?); only a change draws more than itself."""

from __future__ import annotations

from datetime import datetime, timezone

import streamlit as st

from lib import fleet
from lib.presentation import escape_markdown, format_phone, format_time
from lib.errors import AppError
from lib.ui import caches, signed_in
from lib.ui.ticks import run_live

TITLE = "Instâncias WhatsApp"
MAX_BANNERS = 5


def follow() -> None:
    """The page title with the count of problems, then the live part (call once per full run)."""
    instances = _instances()
    if instances is not None:
        problems = fleet.problems(fleet.counts(instances))
        st.set_page_config(page_title=f"({problems}) {TITLE}" if problems else TITLE)
    run_live(_live)  # a change in the store shows on every open screen within a tick, plus a run


def _instances():
    """The kept list, or None when the store can't be read now (the page itself says so)."""
    try:
        return caches.instances()
    except AppError:
        return None


def _live() -> None:
    before = signed_in.signed_in()
    signed_in.check()  # a session ended elsewhere: the login page
    if signed_in.signed_in() is not before or caches.list_is_stale():
        caches.invalidate_instances()
        st.rerun()  # the whole page, from a fresh read (a new role: a new service)
    drop_banners()


def drop_banners() -> None:
    """One banner per number that dropped since this sign-in's first page and is still down, newest
    first; the same on a reload or a new tab of the sign-in (lib.drop_notices)."""
    instances, current = _instances(), signed_in.signed_in()
    if instances is None or current is None:
        return
    notices, session_id = signed_in.context().drop_notices, current.session_id
    news = fleet.news_of_drops(instances, notices.since(session_id), notices.dismissed(session_id))
    now = datetime.now(timezone.utc)
    for instance in news[:MAX_BANNERS]:
        dropped_at = fleet.dropped_at(instance)
        number = format_phone(instance.last_phone_number) or "número desconhecido"
        with st.container(horizontal=True, vertical_alignment="center", key=f"drop-banner-{instance.id}"):
            st.error(f"Caiu: {escape_markdown(instance.name)} · {escape_markdown(number)} · "
                     f"{format_time(dropped_at, now)}", icon=":material/signal_disconnected:", width="stretch")
            st.button("Dispensar", key=f"dismiss-{instance.id}-{dropped_at.timestamp()}",
                      on_click=notices.dismiss, args=(session_id, instance.id, dropped_at))
    if len(news) > MAX_BANNERS:
        st.caption(f"… e mais {len(news) - MAX_BANNERS} quedas: veja \"Caiu\" no resumo da página Configurações.")
