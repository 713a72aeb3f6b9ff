"""History on screen: the Histórico dialog of one instance (timeline, uptime, events) and the
Atividade tab (every event, filtered, as CSV), plus the alerts' banner and test for admins."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone

import altair as alt
import pandas as pd
import streamlit as st

from lib import history
from lib.models import Instance, InstanceEvent
from lib.presentation import (
    DISPLAY_TIMEZONE, STATUS_LABELS, escape_markdown, format_datetime, format_phone, table_csv,
)
from lib.ui import caches, feedback, signed_in
from lib.ui.dialog_state import close_dialog, registered

EVENTS_SHOWN = 200  # newest events in the Histórico dialog; the Atividade tab filters and exports them all
ACTIVITY_LIMIT = 5000
TIMELINE_COLORS = {"Conectado": "#2E7D32", "Conectando": "#F9A825", "Desconectado": "#C62828", "Sem dados": "#BDBDBD"}
EVENT_COLUMNS = ["Quando", "Instância", "O que", "De", "Para", "Número", "Por", "Detalhe"]


def event_table(events: list[InstanceEvent]) -> pd.DataFrame:
    return pd.DataFrame([
        {
            "Quando": format_datetime(e.created_at),
            "Instância": e.instance_name,
            "O que": history.KIND_LABELS.get(e.kind, e.kind),
            "De": STATUS_LABELS.get(e.from_status, ""),
            "Para": STATUS_LABELS.get(e.to_status, ""),
            "Número": format_phone(e.phone_number),
            "Por": _person(e),
            "Detalhe": e.detail or "",
        }
        for e in events
    ], columns=EVENT_COLUMNS)


def _timeline_chart(view: history.WindowView) -> alt.Chart:
    """Bars over time coloured as the status icons. Times are São Paulo's, drawn as they are (a
    UTC scale over local times), whatever the browser's own time zone."""
    rows = [
        {
            "início": s.start.astimezone(DISPLAY_TIMEZONE).replace(tzinfo=None),
            "fim": s.end.astimezone(DISPLAY_TIMEZONE).replace(tzinfo=None),
            "status": STATUS_LABELS.get(s.status, "Sem dados"),
            "de": format_datetime(s.start),
            "até": format_datetime(s.end),
        }
        for s in view.buckets
    ]
    return alt.Chart(pd.DataFrame(rows)).mark_bar(height=28).encode(
        x=alt.X("início:T", title=None, scale=alt.Scale(type="utc"), axis=alt.Axis(format="%d/%m %H:%M")),
        x2="fim:T",
        color=alt.Color("status:N", title=None, legend=alt.Legend(orient="bottom"),
                        scale=alt.Scale(domain=list(TIMELINE_COLORS), range=list(TIMELINE_COLORS.values()))),
        tooltip=[alt.Tooltip("status:N", title="Status"), alt.Tooltip("de:N", title="De"),
                 alt.Tooltip("até:N", title="Até")],
    ).properties(height=70)


@registered("history")
@st.dialog("Histórico", width="large", on_dismiss=close_dialog)
def history_dialog(instance: Instance) -> None:
    st.markdown(f"**{escape_markdown(instance.name)}**")
    service = signed_in.service()
    with feedback.user_errors("Lendo o histórico…") as failed:
        # Computed once per store version (a change) and minute (the windows slide), not per rerun.
        views = caches.cached(("history", instance.id), lambda: service.instance_windows(instance))
        events = caches.cached(("history-events", instance.id),
                               lambda: service.history(instance_ids=[instance.id], limit=EVENTS_SHOWN))
    if failed:
        return
    columns = st.columns(len(views))
    for column, (label, view) in zip(columns, views.items()):
        column.metric(f"Online em {label}", history.format_uptime(view.uptime))
    window = st.segmented_control("Período", list(views), default="24 h", key=f"history-window-{instance.id}")
    st.altair_chart(_timeline_chart(views[window or "24 h"]), width="stretch")
    if not events:
        st.info("Nenhum evento registrado para esta instância ainda.")
        return
    st.dataframe(event_table(events), hide_index=True, width="stretch")
    if len(events) == EVENTS_SHOWN:
        st.caption(f"Os {EVENTS_SHOWN} eventos mais recentes; a aba Atividade mostra todos.")


def activity_tab() -> None:
    """Every event, for every role: filters by instance, kind, person and period; CSV."""
    service = signed_in.service()
    today = datetime.now(DISPLAY_TIMEZONE).date()
    left, right = st.columns([1, 2])
    period = left.date_input("Período", (today - timedelta(days=7), today), max_value=today, format="DD/MM/YYYY",
                             key="activity_period")
    kinds = right.multiselect("Tipo", history.KINDS, format_func=history.KIND_LABELS.get, key="activity_kinds",
                              placeholder="Todos")
    start, end = _period(period)
    with feedback.user_errors("Lendo a atividade…") as failed:
        events = caches.cached(("activity", start, end, tuple(kinds)), lambda: service.history(
            since=start, until=end, kinds=list(kinds) or None, limit=ACTIVITY_LIMIT))
    if failed:
        return
    names = sorted({e.instance_name for e in events})
    people = sorted({_person(e) for e in events})
    left, right = st.columns(2)
    chosen_names = left.multiselect("Instância", names, key="activity_names", placeholder="Todas")
    chosen_people = right.multiselect("Pessoa", people, key="activity_people", placeholder="Todas")
    shown = [e for e in events if (not chosen_names or e.instance_name in chosen_names)
             and (not chosen_people or _person(e) in chosen_people)]
    table = caches.cached(("activity-table", start, end, tuple(kinds), tuple(chosen_names), tuple(chosen_people)),
                          lambda: event_table(shown))
    st.caption(f"{len(shown)} eventos" + (f" (os {ACTIVITY_LIMIT} mais recentes do período)"
                                          if len(events) == ACTIVITY_LIMIT else ""))
    if shown:
        st.dataframe(table, hide_index=True, width="stretch")
        st.download_button("Baixar CSV", lambda: table_csv(table), file_name="atividade.csv", mime="text/csv",
                           key="activity_csv")
    else:
        st.info("Nenhum evento com estes filtros no período escolhido.")
    if signed_in.current_user().is_admin:
        alerts_section()


def _person(event: InstanceEvent) -> str:
    return event.actor_email or history.SOURCE_LABELS.get(event.source, event.source)


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
