"""The dialogs other than connect and history: create, delete, disconnect, token (kept open across
reruns by lib.ui.dialog_state)."""

from __future__ import annotations

import streamlit as st

from lib.errors import InstanceNotFound
from lib.instances import CreatedInstance
from lib.unsaved import CredentialsNotSaved
from lib.names import MAX_NAME_LENGTH
from lib import fleet
from lib.models import Instance
from lib.provider.base import DELETE
from lib.presentation import escape_markdown, mask_token
from lib.ui import caches, feedback, signed_in
from lib.ui.connect_dialog import open_connect_dialog
from lib.ui.dialog_state import close_after_removal, close_dialog, open_dialog, registered

def token_view(token: str, *, key: str, on_reveal=None) -> None:
    """Masked by default; revealing shows it in a code box with a copy button. `on_reveal` records
    who saw it, once per opening of the toggle; if that fails the token stays masked."""
    recorded = f"{key}-recorded"
    if not st.toggle("Mostrar token", key=key):
        st.session_state.pop(recorded, None)  # hidden again: the next reveal is recorded again
        st.text(f"Token: {mask_token(token)}")
        return
    if on_reveal is not None and not st.session_state.get(recorded):
        with feedback.user_errors("Registrando…") as failed:
            on_reveal()
        if failed:
            return
        st.session_state[recorded] = True
    st.code(token, language=None)


@registered("create")
@st.dialog("Nova instância", on_dismiss=close_dialog)
def create_dialog(result: CreatedInstance | CredentialsNotSaved | None) -> None:
    """The form, then what came of it. The outcome is kept as the dialog's payload, so a rerun
    (e.g. the list refreshing behind the dialog) never takes the new token off the screen."""
    if result is None:
        with st.form("create_instance", border=False, enter_to_submit=False):
            name = st.text_input("Nome da instância", placeholder="WhatsApp Cobrança",
                                 help=f"Até {MAX_NAME_LENGTH} caracteres.")
            st.caption(f"Até {MAX_NAME_LENGTH} caracteres; aparece nos cartões, no histórico e nos alertas.")
            submitted = st.form_submit_button("Criar", type="primary")
        if submitted:
            with feedback.user_errors("Criando instância no provedor…") as failed:
                created = signed_in.service().create(name)
            if not failed or isinstance(failed[0], CredentialsNotSaved):
                caches.invalidate_instances()
                open_dialog("create", failed[0] if failed else created)
                st.rerun()
        return
    if isinstance(result, CredentialsNotSaved):
        st.error(escape_markdown(result.message), icon=":material/warning:")
        st.text(f"ID no provedor: {result.instance_id}")
        st.caption("Token (use o botão de copiar do quadro):")
        st.code(result.token, language=None)  # in full: it may exist nowhere else
        if st.button("Fechar", type="primary"):
            close_dialog()
            st.rerun()
        return
    st.success("Instância criada.")
    if result.events_error:
        st.warning(f"O provedor não aceitou o endereço de eventos do painel ({escape_markdown(result.events_error)}): "
                   "o monitor verifica esta instância sozinho; tente \"Reconfigurar eventos\" depois.",
                   icon=":material/sync_problem:")
    st.text(f"Nome: {result.instance.name}")
    st.text(f"ID no provedor: {result.instance.instance_id}")
    token_view(result.token, key="created_token")
    buttons = st.container(horizontal=True)
    if buttons.button("Conectar agora", type="primary"):
        open_connect_dialog(result.instance)
        st.rerun()
    if buttons.button("Fechar"):
        close_dialog()
        st.rerun()


def _confirm(instance: Instance, question: str, label: str, spinner: str, done: str, act, *,
             danger: bool = True) -> None:
    """The question, and the action behind a button (red when something is lost: its key starts
    with danger-, lib.ui.page) beside "Cancelar"."""
    st.text(question)
    left, right = st.columns(2)
    if right.button("Cancelar", width="stretch"):
        close_dialog()
        st.rerun()
    if left.button(label, type="primary", width="stretch", key="danger-confirm" if danger else "confirm"):
        with feedback.user_errors(spinner) as failed:
            act(instance)
        caches.invalidate_instances()
        if failed and isinstance(failed[0], InstanceNotFound):
            close_after_removal()
        if not failed:
            close_dialog()
            feedback.flash(done.format(name=escape_markdown(instance.name)))
            st.rerun()


@registered("delete")
@st.dialog("Excluir instância", on_dismiss=close_dialog)
def delete_dialog(instance: Instance) -> None:
    if fleet.state(instance) == "gone":
        question = (f"Remover {instance.name} do painel? Ela não existe mais no provedor. O histórico dela fica "
                    "guardado. Esta ação não pode ser desfeita.")
        _confirm(instance, question, "Remover do painel", "Removendo…", "Instância {name} removida do painel.",
                 lambda i: signed_in.service().delete(i))
        return
    if signed_in.service().can(DELETE):
        where = "Ela também será excluída no provedor."
    else:
        where = ("Ela sai só do painel: continua existindo no provedor (o provedor não tem webhook de "
                 "exclusão configurado).")
    question = (f"Excluir a instância {instance.name}? Se estiver conectada, ela será desconectada antes. "
                f"{where} O histórico dela fica guardado. Esta ação não pode ser desfeita.")
    _confirm(instance, question, "Excluir", "Excluindo…", "Instância {name} excluída.",
             lambda i: signed_in.service().delete(i))


@registered("disconnect")
@st.dialog("Desconectar instância", on_dismiss=close_dialog)
def disconnect_dialog(instance: Instance) -> None:
    question = f"Desconectar {instance.name} do WhatsApp? Será preciso ler um novo QR Code para reconectar."
    _confirm(instance, question, "Desconectar", "Desconectando…", "Instância {name} desconectada.",
             lambda i: signed_in.service().disconnect(i))


@registered("restart")
@st.dialog("Reiniciar instância", on_dismiss=close_dialog)
def restart_dialog(instance: Instance) -> None:
    question = (f"Reiniciar a sessão de {instance.name} no provedor? O número continua pareado; a conexão cai "
                "por alguns segundos e volta sozinha.")
    _confirm(instance, question, "Reiniciar", "Reiniciando…", "Instância {name} reiniciada.",
             lambda i: signed_in.service().restart(i), danger=False)


REVEALED_KEY = "revealed_token"  # (instance id, token) while the token dialog is open


def _forget_token() -> None:
    st.session_state.pop(REVEALED_KEY, None)
    close_dialog()


@registered("token")
@st.dialog("Token da instância", on_dismiss=_forget_token)
def token_dialog(instance: Instance) -> None:
    """For admins, in one step: the token shown as the dialog opens (the history records who saw it
    and when, once per opening), with a copy button."""
    st.text(instance.name)
    revealed = st.session_state.get(REVEALED_KEY)
    if revealed is None or revealed[0] != instance.id:
        with feedback.user_errors("Lendo o token…") as failed:
            revealed = st.session_state[REVEALED_KEY] = (instance.id, signed_in.service().reveal_token(instance))
        if failed:
            return
    st.code(revealed[1], language=None)
    st.caption("O histórico registra quem viu o token e quando.")
    if st.button("Fechar"):
        _forget_token()
        st.rerun()
