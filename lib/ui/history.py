"""The Histórico dialog of one instance (timeline, uptime, events) and the events' table it shares
with the Atividade tab (lib.ui.activity)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import altair as alt
import pandas as pd
import streamlit as st

from lib import history, uptime
from lib.models import Instance, InstanceEvent
from lib.presentation import DISPLAY_TIMEZONE, STATUS_LABELS, escape_markdown, format_datetime, format_phone
from lib.ui import caches, feedback, signed_in
from lib.ui.column_widths import Fitted, fitted
from lib.ui.dialog_state import close_dialog, registered

EVENTS_SHOWN = 200  # newest events in the Histórico dialog; the Atividade tab filters and exports them all
BAR_PIXELS = 28
CHART_PIXELS = 120  # the bar, its axis and the legend under it (two columns: it fits a phone)
TICK_PIXELS = 4  # the width of a segment too thin to see, drawn on top of the bars
TIMELINE_COLORS = {"Conectado": "#2E7D32", "Conectando": "#F9A825", "Desconectado": "#C62828", "Sem dados": "#BDBDBD"}
# In the order that matters on a phone: when and what first (pinned), then the rest.
HISTORY_COLUMNS = ["Quando", "O que", "Detalhe", "Por", "De", "Para", "Número", "Instância"]
PINNED_COLUMNS = ("Quando", "O que")
# The widest the free texts' columns may be (a longer text wraps): an instance's name as on the
# fleet's table, a detail of up to 200 characters in a few lines, e-mails, tags.
EVENT_MOST_PX = {"Instância": 260, "Detalhe": 300, "Por": 280, "Etiquetas": 300}


def event_table(events: list[InstanceEvent], columns: list[str] = HISTORY_COLUMNS,
                tags: dict[str, tuple[str, ...]] | None = None) -> pd.DataFrame:
    """The events as rows; `tags`: the instances' tags now, by instance id ("Etiquetas")."""
    tags = tags or {}
    return pd.DataFrame([
        {
            "Quando": format_datetime(e.created_at),
            "O que": history.KIND_LABELS.get(e.kind, e.kind),
            "Instância": e.instance_name,
            "Detalhe": e.detail or "",
            "Etiquetas": ", ".join(tags.get(e.instance_id, ())),
            "Por": history.person(e),
            "De": STATUS_LABELS.get(e.from_status, ""),
            "Para": STATUS_LABELS.get(e.to_status, ""),
            "Número": format_phone(e.phone_number),
        }
        for e in events
    ], columns=columns)


def fitted_events(table: pd.DataFrame) -> Fitted:
    """The events' columns as wide as their longest text over every row, not the grid's first 10
    (lib.ui.column_widths)."""
    return fitted(table, EVENT_MOST_PX)


def show_events(table: pd.DataFrame, fit: Fitted) -> None:
    """The table with when and what pinned: on a phone they stay while the rest scrolls sideways."""
    st.dataframe(table, hide_index=True, width="stretch", row_height=fit.row_height, column_config={
        name: st.column_config.TextColumn(name, width=fit.widths[name], pinned=name in PINNED_COLUMNS)
        for name in table.columns})


def _rows(segments: list[uptime.Segment]) -> pd.DataFrame:
    """Segments with their times and tooltip texts, in São Paulo time whatever the browser's."""
    return pd.DataFrame([
        {
            "início": _wall_time(s.start),
            "fim": _wall_time(s.end),
            "meio": _wall_time(s.start + (s.end - s.start) / 2),
            "status": STATUS_LABELS.get(s.status, "Sem dados"),
            "de": format_datetime(s.start),
            "até": format_datetime(s.end),
            "mudanças": s.changes or "",
        }
        for s in segments
    ], columns=["início", "fim", "meio", "status", "de", "até", "mudanças"])


def _wall_time(moment: datetime) -> str:
    """São Paulo's wall time written as if it were UTC ("…T14:02:00Z"): the chart reads it as UTC
    and draws it on a UTC scale, so the browser's own time zone never shifts it (a time without a
    zone would be read in the browser's)."""
    return moment.astimezone(DISPLAY_TIMEZONE).replace(tzinfo=None).isoformat(timespec="seconds") + "Z"


def _timeline_chart(view: uptime.WindowView) -> alt.LayerChart:
    """Bars over time coloured as the status icons, each from its real start to its real end, in
    São Paulo time (axis and tooltips). What is too thin to see stays a few pixels wide: a one-minute
    connection drawn on top as a tick at its middle, and the status now as a tick inside the bar's
    end (never hidden by the change before it); their tooltips say their real times."""
    length = view.timeline[-1].end - view.timeline[0].start
    # A UTC scale formats its ticks in UTC (an axis formatType would undo the format); not widened
    # to round times: the bar is the window.
    scale = alt.Scale(type="utc", nice=False)
    # Over days, one label a day (a tick every few hours would repeat each date).
    axis = alt.Axis(title=None, format="%H:%M") if length <= timedelta(days=1) else alt.Axis(
        title=None, format="%d/%m", tickCount={"interval": "day", "step": 1})
    color = alt.Color("status:N", title=None, legend=alt.Legend(orient="bottom", columns=2),
                      scale=alt.Scale(domain=list(TIMELINE_COLORS), range=list(TIMELINE_COLORS.values())))
    tooltip = [alt.Tooltip("status:N", title="Status"), alt.Tooltip("de:N", title="De"),
               alt.Tooltip("até:N", title="Até")]
    if any(s.changes for s in view.timeline):  # a busy window's stretches: the worst status in each
        tooltip = [alt.Tooltip("status:N", title="Pior status"), *tooltip[1:],
                   alt.Tooltip("mudanças:N", title="Mudanças")]
    bars = alt.Chart(_rows(view.timeline)).mark_bar(height=BAR_PIXELS).encode(
        x=alt.X("início:T", scale=scale, axis=axis), x2="fim:T", color=color, tooltip=tooltip)
    tick = {"thickness": TICK_PIXELS, "size": BAR_PIXELS, "opacity": 1}
    ticks = alt.Chart(_rows(view.short)).mark_tick(**tick).encode(
        x=alt.X("meio:T", scale=scale, axis=axis), color=color, tooltip=tooltip)
    now = alt.Chart(_rows([view.current] if view.current else [])).mark_tick(**tick, xOffset=-TICK_PIXELS / 2).encode(
        x=alt.X("fim:T", scale=scale, axis=axis), color=color, tooltip=tooltip)
    return alt.layer(bars, ticks, now).properties(height=BAR_PIXELS)


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
    metrics = uptime.uptime_metrics(views, datetime.now(timezone.utc))
    for column, (label, value) in zip(st.columns(len(metrics)), metrics):
        column.metric(label, value)
    window = st.segmented_control("Período", list(views), default="24 h", key=f"history-window-{instance.id}")
    # Its toolbar (English, and "Show data" shows the drawing's columns) is hidden (lib.ui.page).
    with st.container(key="history-chart"):
        st.altair_chart(_timeline_chart(views[window or "24 h"]), width="stretch", height=CHART_PIXELS)
    if not events:
        st.info("Nenhum evento registrado para esta instância ainda.")
        return
    table = event_table(events)
    show_events(table, fitted_events(table))
    if len(events) == EVENTS_SHOWN:
        st.caption(f"Os {EVENTS_SHOWN} eventos mais recentes; a aba Atividade mostra todos.")
