"""The Atividade tab (every event, filtered, as CSV), and the alerts' banner and test for admins."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone

import pandas as pd
import streamlit as st

from lib import fleet, history
from lib.models import Instance, InstanceEvent
from lib.presentation import DISPLAY_TIMEZONE, escape_markdown, format_datetime, table_csv
from lib.ui import caches, feedback, signed_in
from lib.ui.column_widths import Fitted
from lib.ui.history import event_table, fitted_events, show_events

ACTIVITY_LIMIT = 5000
# In the order that matters on a phone (Quando and O que pinned, lib.ui.history.show_events).
ACTIVITY_COLUMNS = ["Quando", "O que", "Instância", "Detalhe", "Etiquetas", "Por", "De", "Para", "Número"]
CHOICES = {"select_all": False, "width": 240}  # no English "Select all" (lib.ui.page says "No results" in pt-BR)
ANY_OWNER = "__any__"  # the owner filter's "todos"


def activity_tab() -> None:
    """Every event, for every role: filters by period, kind, instance, person, and the instances'
    tags and owner as they are now; "1 evento" / "N eventos"; CSV."""
    service = signed_in.service()
    today = datetime.now(DISPLAY_TIMEZONE).date()
    with st.container(horizontal=True, vertical_alignment="bottom", key="activity-period"):
        period = st.date_input("Período", (today - timedelta(days=7), today), max_value=today, format="DD/MM/YYYY",
                               key="activity_period", width=240)
        kinds = st.multiselect("Tipo", history.KINDS, format_func=history.KIND_LABELS.get, key="activity_kinds",
                               placeholder="Todos", **CHOICES)
    start, end = _period(period)
    with feedback.user_errors("Lendo a atividade…") as failed:
        events = caches.cached(("activity", start, end, tuple(kinds)), lambda: service.history(
            since=start, until=end, kinds=list(kinds) or None, limit=ACTIVITY_LIMIT))
        instances = {i.id: i for i in caches.instances()}
        owners = caches.cached(("owners",), lambda: service.owner_emails())
    if failed:
        return
    chosen = _filters(events, list(instances.values()), owners)
    shown = [e for e in events if chosen.keeps(e, instances.get(e.instance_id))]
    table, fit = caches.cached(("activity-table", start, end, tuple(kinds), chosen), lambda: _table(
        shown, {i.id: i.tags for i in instances.values()}))
    count = "1 evento" if len(shown) == 1 else f"{len(shown)} eventos"
    st.caption(count + (f" (os {ACTIVITY_LIMIT} mais recentes do período)" if len(events) == ACTIVITY_LIMIT else ""))
    if shown:
        show_events(table, fit)
        st.download_button("Baixar CSV", lambda: table_csv(table), file_name="atividade.csv", mime="text/csv",
                           key="activity_csv")
    else:
        st.info("Nenhum evento com estes filtros no período escolhido.")
    if signed_in.current_user().is_admin:
        alerts_section()


def _filters(events: list[InstanceEvent], instances: list[Instance], owners: dict[str, str]) -> history.EventFilters:
    """Instance and person (those in the events read), tags (when some are in use) and owner (when
    some instance has one)."""
    with st.container(horizontal=True, vertical_alignment="bottom", key="activity-filters"):
        names = st.multiselect("Instância", sorted({e.instance_name for e in events}, key=fleet.plain),
                               key="activity_names", placeholder="Todas", **CHOICES)
        people = st.multiselect("Pessoa", sorted({history.person(e) for e in events}), key="activity_people",
                                placeholder="Todas", **CHOICES)
        tags = fleet.tags_of(instances)
        chosen_tags = st.multiselect("Etiquetas", tags, key="activity_tags", placeholder="Todas",
                                     **CHOICES) if tags else []
        owner = ANY_OWNER
        if owners:
            labels = {ANY_OWNER: "Todos", fleet.NO_OWNER: "Sem responsável", **owners}
            owner = st.selectbox("Responsável", [ANY_OWNER, fleet.NO_OWNER, *sorted(owners, key=owners.get)],
                                 format_func=labels.get, key="activity_owner", width=220)
    return history.EventFilters(tuple(names), tuple(people), fleet.Filters(
        tags=tuple(chosen_tags), owner=None if owner == ANY_OWNER else owner))


def _table(events: list[InstanceEvent], tags: dict[str, tuple[str, ...]]) -> tuple[pd.DataFrame, Fitted]:
    """The events' rows, and their columns' widths measured over all of them (once per filter)."""
    table = event_table(events, ACTIVITY_COLUMNS, tags)
    return table, fitted_events(table)


def _period(chosen) -> tuple[datetime, datetime]:
    """The chosen days, whole, in São Paulo time, as UTC bounds (one day chosen: that day)."""
    days = list(chosen) if isinstance(chosen, (tuple, list)) else [chosen]
    first: date = days[0]
    last: date = days[-1] if len(days) > 1 else first
    start = datetime.combine(first, time.min, DISPLAY_TIMEZONE)
    end = datetime.combine(last + timedelta(days=1), time.min, DISPLAY_TIMEZONE)
    return start.astimezone(timezone.utc), end.astimezone(timezone.utc)


def alerts_section() -> None:
    """For admins: where alerts go (channel kinds, never the URLs) and a test."""
    st.subheader("Alertas")
    context = signed_in.context()
    sender = context.alert_sender()
    if sender is None:
        st.caption("Nenhum canal de alerta configurado: defina alerts.urls (ALERT_URLS) com URLs do Apprise "
                   "(Telegram, Slack, e-mail…) para ser avisado das quedas.")
        return
    st.caption(f"Canais configurados: {escape_markdown(', '.join(sender.channels()))}.")
    if st.button("Enviar alerta de teste", key="test_alert"):
        with feedback.user_errors("Enviando alerta de teste…") as failed:
            reason = signed_in.service().send_test_alert(sender, context.settings.public_url)
        if failed:
            return
        if reason:
            st.error(f"O alerta de teste falhou: {escape_markdown(reason)}", icon=":material/warning:")
        else:
            st.success("Alerta de teste enviado.", icon=":material/check_circle:")


def alert_failure_banner() -> None:
    """One banner for admins while the last alert outcome is a failure."""
    with feedback.user_errors() as failed:
        event = caches.cached(("alert-banner",), lambda: signed_in.service().alert_failure())
    if not failed and event is not None:
        st.error(f"Os alertas não estão chegando: a última tentativa ({format_datetime(event.created_at)}) falhou: "
                 f"{escape_markdown(event.detail or '')}", icon=":material/notifications_off:")
