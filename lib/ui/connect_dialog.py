"""The connect dialog: a QR code to scan or a pairing code to type on the phone, polling the
provider until the phone is connected."""

from __future__ import annotations

import base64
import math
import time
from dataclasses import dataclass, field

import streamlit as st
from streamlit_autorefresh import st_autorefresh

from lib.errors import AppError, InstanceNotFound, ProviderError
from lib.models import Instance
from lib.presentation import escape_markdown, format_pairing_code, format_phone, qr_for_display
from lib.ui import caches, feedback, signed_in
from lib.ui.dialog_state import close_after_removal, close_dialog, open_dialog, registered
from lib.ui.ticks import live_seconds

QR_LIFETIME_SECONDS = 20  # WhatsApp rotates its QR about this often (so does the sandbox)
QR_GIVE_UP_SECONDS = 120  # without a scan (or, once a code was asked for, without it typed): stop polling
QR_WIDTH = 280
TAB_QR = "QR Code"
TAB_CODE = "Código de pareamento"
TAB_KEY = "connect_tab"
PHONE_KEY = "pairing_phone"
PAIRING_STEPS = ("No celular: WhatsApp → Aparelhos conectados → Conectar aparelho → "
                 "Conectar com número de telefone, e digite o código.")
PAIRING_CODE_KEY = "pairing_code"  # the code's container: CSS class st-key-pairing_code


@dataclass
class ConnectState:
    """Everything the dialog knows; kept in st.session_state with it, so a full rerun re-opens it
    as it was (lib.ui.dialogs)."""

    instance: Instance
    qr_png: bytes | None = None
    qr_fetched_at: float = 0.0
    started_at: float = field(default_factory=time.monotonic)  # of the QR path, or of the last code asked for
    tab: str = TAB_QR  # the open tab: the QR is fetched and refreshed only while it is the QR tab
    phone_input: str = ""  # the number last submitted in the code tab, as typed
    pairing_code: str | None = None  # the latest code the provider gave
    pairing_phone: str | None = None  # the digits (with the country code) that code is for
    code_error: str | None = None  # why the last code request failed, shown until the next one


def open_connect_dialog(instance: Instance) -> None:
    open_dialog("connect", ConnectState(instance))  # built on the click: its clock starts now


@registered("connect")
@st.dialog("Conectar instância", on_dismiss=close_dialog)
def connect_dialog(state: ConnectState) -> None:
    """Polls the provider every tick (st_autorefresh inside the dialog reruns only the dialog)."""
    st.text(state.instance.name)
    service = signed_in.service()
    now = time.monotonic()
    if state.qr_png is not None or state.pairing_code is not None:  # first the status: a scan just before
        with feedback.user_errors() as failed:                       # the time limit still counts
            state.instance = service.check_status(state.instance)
        if failed and isinstance(failed[0], InstanceNotFound):
            close_after_removal()
        if not failed and state.instance.status == "connected":
            _connected(state.instance)
    pushed = signed_in.context().pushed_qrs.newer_than(state.instance.instance_id, state.qr_fetched_at)
    if pushed is not None and state.qr_png is not None:  # the provider pushed a new QR: shown at once
        state.qr_png, state.qr_fetched_at = pushed, time.monotonic()
    if now - state.started_at > QR_GIVE_UP_SECONDS:
        _give_up(state)
        return
    # The tabs report which one is open (on_change), so the QR is not fetched while the user is on
    # the code path: with some providers a new QR would also end the pairing code.
    st.session_state[TAB_KEY] = state.tab  # ConnectState decides: a full rerun re-opens the same tab
    qr_tab, code_tab = st.tabs([TAB_QR, TAB_CODE], key=TAB_KEY, on_change=_tab_changed, args=(state,))
    with qr_tab:
        qr_failed = _qr_tab(state)
    with code_tab:
        _code_tab(state)
    if qr_failed or (state.qr_png is None and state.pairing_code is None):
        return  # nothing to wait for (a retry is offered): no polling
    st_autorefresh(interval=round(live_seconds() * 1000), key="connect_poll")


def _connected(instance: Instance) -> None:
    """The phone is connected: the dialog closes and the toast says with which number."""
    close_dialog()
    caches.invalidate_instances()
    name, phone = escape_markdown(instance.name), format_phone(instance.phone_number)
    feedback.flash(f"Instância {name} conectada: {phone}" if phone else f"Instância {name} conectada.")
    st.rerun()


def _data_uri(png: bytes) -> str:
    """The QR inside the dialog's own message (st.image passes a data: URI through): as bytes it
    would be a media file fetched by a second request, which a slow browser can make after the
    next poll has replaced the file (a broken image until the poll after)."""
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def _tab_changed(state: ConnectState) -> None:
    state.tab = st.session_state[TAB_KEY]


def _qr_tab(state: ConnectState) -> bool:
    """The QR, fetched again every qr_refresh_seconds() while this tab is open; True when that failed."""
    due = state.qr_png is None or time.monotonic() - state.qr_fetched_at >= qr_refresh_seconds()
    if due and state.tab == TAB_QR:
        with feedback.user_errors("Gerando QR Code…") as failed:
            connecting = signed_in.service().connect(state.instance)
            if connecting.already_connected:
                _connected(connecting.instance)
            state.instance, state.qr_png, state.qr_fetched_at = connecting.instance, connecting.qr.png, time.monotonic()
        if failed and isinstance(failed[0], InstanceNotFound):
            close_after_removal()
        if failed:
            _retry_or_forget(failed[0], state.instance)
            return True
        if connecting.changed:
            caches.invalidate_instances()
        due = False
    if due:  # the code tab is open: no QR is fetched for it, and an old one would not scan
        st.caption("Um novo QR Code é gerado ao abrir esta aba.")
        return False
    st.image(_data_uri(qr_for_display(state.qr_png, QR_WIDTH)), width=QR_WIDTH,
             caption="Escaneie com o WhatsApp: Aparelhos conectados → Conectar aparelho")
    next_qr = max(0, math.ceil(qr_refresh_seconds() - (time.monotonic() - state.qr_fetched_at)))
    st.caption(f"Aguardando leitura do QR Code… novo QR em {next_qr} s")
    sandbox = signed_in.context().sandbox
    if sandbox is not None:
        st.button("Simular leitura do QR", help="Sandbox: faz o papel do celular que lê o QR",
                  on_click=sandbox.simulate_scan, args=(state.instance.instance_id,))
    return False


def qr_refresh_seconds() -> float:
    """When to ask for the next QR: a tick and a slow reply (2 s) before the old one expires, since
    the dialog only asks on a tick (15 s at the default 3 s tick, 13 s at the slowest, 5 s)."""
    return QR_LIFETIME_SECONDS - live_seconds() - 2


def _code_tab(state: ConnectState) -> None:
    """The number, "Gerar código", then the code, grouped as WhatsApp shows it."""
    st.caption(PAIRING_STEPS)
    # In a form, what is typed reaches the server only on submit: polling ticks never disturb it.
    # (A key, not value=: a value that changed would make a new field and drop what is being typed.)
    with st.form("pairing_code_request", border=False):
        raw = st.text_input("Número do WhatsApp, com DDI e DDD", key=PHONE_KEY, placeholder="+55 11 99999-8888",
                            max_chars=40)
        submitted = st.form_submit_button("Gerar novo código" if state.pairing_code else "Gerar código", type="primary")
    if submitted:
        state.tab = TAB_CODE  # its button was clicked: the user is on this tab
        _request_code(state, raw)
    elif state.code_error:
        st.error(escape_markdown(state.code_error), icon=":material/warning:")
    if state.pairing_code is None:
        return
    with st.container(key=PAIRING_CODE_KEY):
        st.code(format_pairing_code(state.pairing_code), language=None)
    phone = escape_markdown(format_phone("+" + state.pairing_phone))
    st.caption(f"Código para {phone}. Aguardando o código ser digitado no celular…")
    sandbox = signed_in.context().sandbox
    if sandbox is not None:
        st.button("Simular código", help="Sandbox: faz o papel do celular em que se digita o código",
                  on_click=sandbox.simulate_code, args=(state.instance.instance_id, state.pairing_code))


def _request_code(state: ConnectState, raw: str) -> None:
    """Ask the provider for a code for the number typed (the service validates it). A failure is
    shown now and kept in the state, so the next polling tick still shows it."""
    state.phone_input = raw
    with feedback.user_errors("Gerando código de pareamento…") as failed:
        connecting = signed_in.service().connect(state.instance, phone_number=raw)
    if failed:
        if isinstance(failed[0], InstanceNotFound):
            close_after_removal()
        state.code_error = failed[0].message if isinstance(failed[0], AppError) else feedback.MSG_UNEXPECTED
        return
    if connecting.already_connected:  # connected meanwhile (a scan, another admin): no code to type
        _connected(connecting.instance)
    state.instance, state.pairing_code = connecting.instance, connecting.pairing_code
    state.pairing_phone, state.code_error = connecting.pairing_phone, None
    state.started_at = time.monotonic()  # the 2 minutes count from the code the user now has
    if connecting.changed:
        caches.invalidate_instances()


def _give_up(state: ConnectState) -> None:
    """After QR_GIVE_UP_SECONDS without a connection: no more polling, one button to start again."""
    if state.pairing_code is None:
        st.warning("O QR Code não foi lido em 2 minutos.")
        if st.button("Gerar novo QR", type="primary"):
            open_dialog("connect", ConnectState(state.instance))
            st.rerun()
        return
    st.warning("O código de pareamento não foi digitado em 2 minutos.")
    if st.button("Gerar novo código", type="primary"):
        fresh = ConnectState(state.instance, tab=TAB_CODE)
        open_dialog("connect", fresh)
        st.session_state[PHONE_KEY] = state.phone_input  # the field shows the number again
        _request_code(fresh, state.phone_input)  # for the same number
        st.rerun()


def _retry_or_forget(error: Exception, instance: Instance) -> None:
    """After a failed connect: a retry, or, when the provider does not know the instance at all
    (a retry would fail the same way), removing it from the dashboard."""
    if isinstance(error, ProviderError) and error.status_code == 404:
        if st.button("Excluir do painel", type="primary"):
            open_dialog("delete", instance)
            st.rerun()
    elif st.button("Tentar novamente"):
        st.rerun()
