"""The Histórico dialog of one instance (timeline, uptime, events) and the events' table it shares
with the Atividade tab (lib.ui.activity)."""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from lib import history, uptime
from lib.models import Instance, InstanceEvent
from lib.presentation import (
    DISPLAY_TIMEZONE, STATUS_LABELS, escape_markdown, format_datetime, format_phone,
)
from lib.ui import caches, feedback, signed_in
from lib.ui.dialog_state import close_dialog, registered

EVENTS_SHOWN = 200  # newest events in the Histórico dialog; the Atividade tab filters and exports them all
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
            "Por": person(e),
            "Detalhe": e.detail or "",
        }
        for e in events
    ], columns=EVENT_COLUMNS)


def _timeline_chart(view: uptime.WindowView) -> alt.Chart:
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
        column.metric(f"Online em {label}", uptime.format_uptime(view.uptime))
    window = st.segmented_control("Período", list(views), default="24 h", key=f"history-window-{instance.id}")
    st.altair_chart(_timeline_chart(views[window or "24 h"]), width="stretch")
    if not events:
        st.info("Nenhum evento registrado para esta instância ainda.")
        return
    st.dataframe(event_table(events), hide_index=True, width="stretch")
    if len(events) == EVENTS_SHOWN:
        st.caption(f"Os {EVENTS_SHOWN} eventos mais recentes; a aba Atividade mostra todos.")


def person(event: InstanceEvent) -> str:
    return event.actor_email or history.SOURCE_LABELS.get(event.source, event.source)
