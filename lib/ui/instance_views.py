"""The Instâncias tab: cards, table and the dialogs (create, connect, confirm).

A full-app rerun closes any dialog that the run does not call again, so the open dialog is kept
in st.session_state[DIALOG_KEY] and re-opened by `show_open_dialog()` on every run; each
dialog's on_dismiss clears it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable

import pyarrow as pa
import streamlit as st
from streamlit_autorefresh import st_autorefresh

from lib.errors import InstanceNotFound
from lib.instances import MAX_NAME_LENGTH, CreatedInstance, CredentialsNotSaved
from lib.models import STATUSES, Instance
from lib.presentation import (
    STATUS_LABELS,
    format_datetime,
    format_phone,
    instances_table,
    mask_token,
    qr_for_display,
    refresh_summary,
    status_text,
    table_csv,
)
from lib.ui import session

DIALOG_KEY = "open_dialog"
BROWSING_KEY = "browsing_instances"  # set by the read-only list's widgets, see auto_refreshing_instances_section
AUTO_REFRESH_SECONDS = 15
POLL_INTERVAL_MS = 3000
QR_REFRESH_SECONDS = 18  # WhatsApp rotates its QR about every 20 s
QR_GIVE_UP_SECONDS = 120
QR_WIDTH = 280
CARDS_PER_PAGE = 10
CARD_BUTTON_WIDTH = 130  # pixels: the same for every card, so that the buttons line up
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


def _close_dialog() -> None:
    st.session_state.pop(DIALOG_KEY, None)


def _open_dialog(kind: str, payload=None) -> None:
    st.session_state[DIALOG_KEY] = (kind, payload)


def _open_connect_dialog(instance: Instance) -> None:
    _open_dialog("connect", ConnectState(instance))  # built on the click: its clock starts now


# -- dialogs ---------------------------------------------------------------------------------
@st.dialog("Nova instância", on_dismiss=_close_dialog)
def create_dialog(result: CreatedInstance | None) -> None:
    if result is None:
        with st.form("create_instance", border=False):
            name = st.text_input("Nome da instância", max_chars=MAX_NAME_LENGTH, placeholder="WhatsApp Cobrança")
            submitted = st.form_submit_button("Criar", type="primary")
        if submitted:
            with session.user_errors("Criando instância no provedor…") as failed:
                created = session.service().create(name)
            if failed and isinstance(failed[0], CredentialsNotSaved):
                token_view(failed[0].token, key="unsaved_token")
            if not failed:
                session.invalidate_instances()
                _open_dialog("create", created)
                st.rerun()
        return
    st.success("Instância criada.")
    st.text(f"Nome: {result.instance.name}")
    st.text(f"ID no provedor: {result.instance.instance_id}")
    token_view(result.token, key="created_token")
    if st.button("Fechar", type="primary"):
        _close_dialog()
        st.rerun()


def token_view(token: str, *, key: str) -> None:
    """Masked by default; revealing shows it in a code box with a copy button."""
    if st.toggle("Mostrar token", key=key):
        st.code(token, language=None)
    else:
        st.text(f"Token: {mask_token(token)}")


@st.dialog("Conectar instância", on_dismiss=_close_dialog)
def connect_dialog(state: ConnectState) -> None:
    """Polls the provider every tick (st_autorefresh inside the dialog reruns only the dialog)."""
    st.text(state.instance.name)
    service = session.service()
    now = time.monotonic()
    if state.qr_png is not None:  # first the status: a scan just before the time limit still counts
        with session.user_errors() as failed:
            state.instance = service.check_status(state.instance)
        if failed and isinstance(failed[0], InstanceNotFound):
            _close_after_removal()
        if not failed and state.instance.status == "connected":
            _close_dialog()
            session.invalidate_instances()
            session.flash(f"{state.instance.name} conectada: {format_phone(state.instance.phone_number)}")
            st.rerun()
    if now - state.started_at > QR_GIVE_UP_SECONDS:
        st.warning("O QR Code não foi lido em 2 minutos.")
        if st.button("Gerar novo QR", type="primary"):
            _open_dialog("connect", ConnectState(state.instance))
            st.rerun()
        return
    if state.qr_png is None or now - state.qr_fetched_at > QR_REFRESH_SECONDS:
        with session.user_errors("Gerando QR Code…") as failed:
            connecting = service.connect(state.instance)
            state.instance, state.qr_png, state.qr_fetched_at = connecting.instance, connecting.qr.png, time.monotonic()
        if failed and isinstance(failed[0], InstanceNotFound):
            _close_after_removal()
        if failed:
            if st.button("Tentar novamente"):
                st.rerun()
            return
        session.invalidate_instances()
    st.image(qr_for_display(state.qr_png, QR_WIDTH), width=QR_WIDTH, output_format="PNG",
             caption="Escaneie com o WhatsApp: Aparelhos conectados → Conectar aparelho")
    st.caption("Aguardando leitura do QR Code…")
    sandbox = session.context().sandbox
    scan_url = sandbox.scan_url(state.instance.instance_id) if sandbox else None
    if scan_url:
        st.link_button("Simular leitura do QR", scan_url)
    st.html(HIDE_AUTOREFRESH_CSS)
    st_autorefresh(interval=POLL_INTERVAL_MS, key="connect_poll")


def _close_after_removal() -> None:
    """Another admin deleted the instance this dialog works on."""
    _close_dialog()
    session.invalidate_instances()
    session.flash("Instância removida por outro administrador.", icon="ℹ️")
    st.rerun()


CONFIRMATIONS = {
    "delete": ("Excluir", "Excluir a instância {name}? Se estiver conectada, ela será desconectada antes. "
               "Esta ação não pode ser desfeita.", "Excluindo…", "{name} excluída."),
    "disconnect": ("Desconectar", "Desconectar {name} do WhatsApp? Será preciso ler um novo QR Code para reconectar.",
                   "Desconectando…", "{name} desconectada."),
}


@st.dialog("Confirmar", on_dismiss=_close_dialog)
def confirm_dialog(action: str, instance: Instance) -> None:
    label, question, spinner, done = CONFIRMATIONS[action]
    st.text(question.format(name=instance.name))
    left, right = st.columns(2)
    if right.button("Cancelar", width="stretch"):
        _close_dialog()
        st.rerun()
    if left.button(label, type="primary", width="stretch"):
        service = session.service()
        with session.user_errors(spinner) as failed:
            service.delete(instance) if action == "delete" else service.disconnect(instance)
        session.invalidate_instances()
        if failed and isinstance(failed[0], InstanceNotFound):
            _close_after_removal()
        if not failed:
            _close_dialog()
            session.flash(done.format(name=instance.name))
            st.rerun()


DIALOGS = {"create": create_dialog, "connect": connect_dialog}


def show_open_dialog() -> None:
    """Re-open the dialog recorded in the session state (call once per full run)."""
    if DIALOG_KEY not in st.session_state:
        return
    kind, payload = st.session_state[DIALOG_KEY]
    if kind in CONFIRMATIONS:
        confirm_dialog(kind, payload)
    else:
        DIALOGS[kind](payload)


# -- cards and table -------------------------------------------------------------------------
# Every rerun redraws the cards of the page shown, so a card is kept to few elements: a row (a
# horizontal container) of the text and the buttons costs a quarter less than nested columns.
def instance_card(instance: Instance, *, can_act: bool) -> None:
    with st.container(border=True):
        if not can_act:
            _card_text(instance)
            return
        with st.container(horizontal=True, vertical_alignment="center"):
            with st.container():
                _card_text(instance)
            _card_buttons(instance)


def _card_text(instance: Instance) -> None:
    st.text(f"{status_text(instance.status)}  ·  {instance.name}")
    st.text(f"Telefone: {format_phone(instance.phone_number)}  ·  Criada em {format_datetime(instance.created_at)}")


def _card_buttons(instance: Instance) -> None:
    # on_click records the dialog before the run the click starts, which then shows it: one run
    # per click. Opening it in the button's `if` branch would need st.rerun(), a second full run.
    if instance.status == "connected":
        st.button("Desconectar", key=f"disconnect-{instance.id}", width=CARD_BUTTON_WIDTH,
                  on_click=_open_dialog, args=("disconnect", instance))
    else:
        st.button("Conectar", key=f"connect-{instance.id}", type="primary", width=CARD_BUTTON_WIDTH,
                  on_click=_open_connect_dialog, args=(instance,))
    st.button("Excluir", key=f"delete-{instance.id}", width=CARD_BUTTON_WIDTH,
              on_click=_open_dialog, args=("delete", instance))


def instance_cards(instances: list[Instance], *, can_act: bool, on_change: Callable[[], None] | None = None) -> None:
    """One card per instance, CARDS_PER_PAGE at a time (the table below shows them all)."""
    if not instances:
        st.info("Nenhuma instância cadastrada ainda.")
        return
    pages = (len(instances) + CARDS_PER_PAGE - 1) // CARDS_PER_PAGE
    page = 1
    if pages > 1:
        page = st.number_input(f"Página (de {pages})", min_value=1, max_value=pages, step=1, key="cards_page",
                               on_change=on_change)
    for instance in instances[(page - 1) * CARDS_PER_PAGE : page * CARDS_PER_PAGE]:
        instance_card(instance, can_act=can_act)


def instances_table_view(instances: list[Instance], *, on_change: Callable[[], None] | None = None) -> None:
    st.subheader("Todas as instâncias")
    chosen = st.multiselect(
        "Filtrar por status", STATUSES, default=list(STATUSES), format_func=STATUS_LABELS.get, key="status_filter",
        on_change=on_change,
    )
    # Built once per list and filter, not on every rerun: formatting 1000 rows into a DataFrame and
    # converting it to Arrow (what st.dataframe sends) costs as much as the rest of the page. Kept
    # as an Arrow table, st.dataframe only serialises it.
    table = session.derived(
        ("table", tuple(chosen)),
        lambda: pa.Table.from_pandas(instances_table(instances, chosen), preserve_index=False),
    )
    st.dataframe(table, hide_index=True, width="stretch")
    # A callable runs only when the button is clicked (on another thread): no CSV on every rerun.
    st.download_button("Baixar CSV", lambda: table_csv(table.to_pandas()), file_name="instancias.csv", mime="text/csv")


def instances_section(*, can_act: bool, on_change: Callable[[], None] | None = None) -> None:
    """Cards and table from the session's cached list; `on_change` is called when the user changes
    the page of cards or the status filter."""
    with session.user_errors() as failed:
        instances = session.instances()
    if failed:
        if st.button("Tentar novamente", key="reload_instances"):
            session.invalidate_instances()
            st.rerun()
        return
    instance_cards(instances, can_act=can_act, on_change=on_change)
    instances_table_view(instances, on_change=on_change)


def _note_browsing() -> None:
    st.session_state[BROWSING_KEY] = True


@st.fragment(run_every=AUTO_REFRESH_SECONDS)
def auto_refreshing_instances_section() -> None:
    """For read-only roles: re-read the list every AUTO_REFRESH_SECONDS (one store read) without a
    page reload. A fragment rerun caused by the user turning a page or changing the filter is not
    a refresh: it is served from the cached list."""
    if not st.session_state.pop(BROWSING_KEY, False):
        session.invalidate_instances()
    instances_section(can_act=False, on_change=_note_browsing)


def instances_tab() -> None:
    user = session.current_user()
    if not user.is_admin:
        st.caption("Somente leitura: apenas administradores alteram instâncias.")
        auto_refreshing_instances_section()
        return
    show_open_dialog()  # first, so that the cards below reflect what the dialog just changed
    top = st.container(horizontal=True)
    top.button("+ Nova instância", type="primary", on_click=_open_dialog, args=("create", None))  # see _card_buttons
    if top.button("Recarregar"):
        session.invalidate_instances()
    if top.button("Atualizar status", help="Consulta o provedor para todas as instâncias"):
        refresh_all_statuses()
    unsaved_credentials()
    instances_section(can_act=True)


def unsaved_credentials() -> None:
    """Instances the provider created but the store failed to save, kept in the recovery file."""
    service = session.service()
    for item in service.unsaved_instances():
        with st.container(border=True):
            st.warning("Instância criada no provedor mas ainda não salva no banco.", icon="⚠️")
            st.text(f"Nome: {item.name}  ·  ID no provedor: {item.instance_id}")
            token_view(item.token, key=f"unsaved-{item.instance_id}")
            if st.button("Salvar novamente", key=f"save-{item.instance_id}"):
                with session.user_errors("Salvando…") as failed:
                    service.save_unsaved(item.instance_id)
                if not failed:
                    session.invalidate_instances()
                    session.flash(f"{item.name} salva.")
                    st.rerun()


def refresh_all_statuses() -> None:
    with session.user_errors("Consultando o status de todas as instâncias…") as failed:
        results = session.service().refresh_all(session.instances())
    if failed:
        return
    session.invalidate_instances()
    summary, failures = refresh_summary(results)
    if failures.empty:
        st.success(summary)
    else:
        st.warning(summary)
        st.dataframe(failures, hide_index=True)
