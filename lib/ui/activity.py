"""The Atividade tab (every event, filtered, as CSV), and the alerts' banner and test for admins."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone

import streamlit as st

from lib import history
from lib.presentation import DISPLAY_TIMEZONE, escape_markdown, format_datetime, table_csv
from lib.ui import caches, feedback, signed_in
from lib.ui.history import event_table, person

ACTIVITY_LIMIT = 5000


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
    people = sorted({person(e) for e in events})
    left, right = st.columns(2)
    chosen_names = left.multiselect("Instância", names, key="activity_names", placeholder="Todas")
    chosen_people = right.multiselect("Pessoa", people, key="activity_people", placeholder="Todas")
    shown = [e for e in events if (not chosen_names or e.instance_name in chosen_names)
             and (not chosen_people or person(e) in chosen_people)]
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
