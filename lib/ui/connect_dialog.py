"""The connect dialog: QR code, polling the provider until the phone has scanned it."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import streamlit as st
from streamlit_autorefresh import st_autorefresh

from lib.errors import InstanceNotFound, WebhookError
from lib.models import Instance
from lib.presentation import escape_markdown, format_phone, qr_for_display
from lib.ui import session
from lib.ui.dialogs import close_after_removal, close_dialog, open_dialog

POLL_INTERVAL_MS = 3000
# WhatsApp rotates its QR about every 20 s (so does the sandbox). A tick comes every 3 s, so asking
# at 15 s gets the new QR before the old one expires, with a tick and a slow reply to spare.
QR_REFRESH_SECONDS = 15
QR_GIVE_UP_SECONDS = 120
QR_WIDTH = 280
# The autorefresh component is an invisible timer; without this its element box leaves a gap.
HIDE_AUTOREFRESH_CSS = (
    '<style>[data-testid="stElementContainer"]:has(iframe[title="streamlit_autorefresh.st_autorefresh"])'
    "{display: none;}</style>"
)


@dataclass
class ConnectState:
    instance: Instance
    qr_png: bytes | None = None
    qr_fetched_at: float = 0.0
    started_at: float = field(default_factory=time.monotonic)


def open_connect_dialog(instance: Instance) -> None:
    open_dialog("connect", ConnectState(instance))  # built on the click: its clock starts now


@st.dialog("Conectar instância", on_dismiss=close_dialog)
def connect_dialog(state: ConnectState) -> None:
    """Polls the provider every tick (st_autorefresh inside the dialog reruns only the dialog)."""
    st.text(state.instance.name)
    service = session.service()
    now = time.monotonic()
    if state.qr_png is not None:  # first the status: a scan just before the time limit still counts
        with session.user_errors() as failed:
            state.instance = service.check_status(state.instance)
        if failed and isinstance(failed[0], InstanceNotFound):
            close_after_removal()
        if not failed and state.instance.status == "connected":
            close_dialog()
            session.invalidate_instances()
            name = escape_markdown(state.instance.name)
            session.flash(f"{name} conectada: {format_phone(state.instance.phone_number)}")
            st.rerun()
    if now - state.started_at > QR_GIVE_UP_SECONDS:
        st.warning("O QR Code não foi lido em 2 minutos.")
        if st.button("Gerar novo QR", type="primary"):
            open_dialog("connect", ConnectState(state.instance))
            st.rerun()
        return
    if state.qr_png is None or now - state.qr_fetched_at >= QR_REFRESH_SECONDS:
        with session.user_errors("Gerando QR Code…") as failed:
            connecting = service.connect(state.instance)
            state.instance, state.qr_png, state.qr_fetched_at = connecting.instance, connecting.qr.png, time.monotonic()
        if failed and isinstance(failed[0], InstanceNotFound):
            close_after_removal()
        if failed:
            _retry_or_forget(failed[0], state.instance)
            return
        session.invalidate_instances()
    st.image(qr_for_display(state.qr_png, QR_WIDTH), width=QR_WIDTH, output_format="PNG",
             caption="Escaneie com o WhatsApp: Aparelhos conectados → Conectar aparelho")
    next_qr = max(0, math.ceil(QR_REFRESH_SECONDS - (time.monotonic() - state.qr_fetched_at)))
    st.caption(f"Aguardando leitura do QR Code… novo QR em {next_qr} s")
    sandbox = session.context().sandbox
    if sandbox is not None:
        st.button("Simular leitura do QR", help="Sandbox: faz o papel do celular que lê o QR",
                  on_click=sandbox.simulate_scan, args=(state.instance.instance_id,))
    st.html(HIDE_AUTOREFRESH_CSS)
    st_autorefresh(interval=POLL_INTERVAL_MS, key="connect_poll")


def _retry_or_forget(error: Exception, instance: Instance) -> None:
    """After a failed connect: a retry, or, when the provider does not know the instance at all
    (a retry would fail the same way), removing it from the dashboard."""
    if isinstance(error, WebhookError) and error.status_code == 404:
        if st.button("Excluir do painel", type="primary"):
            open_dialog("delete", instance)
            st.rerun()
    elif st.button("Tentar novamente"):
        st.rerun()
