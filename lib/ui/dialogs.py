"""The dialogs other than connect and history: create, delete, disconnect, token (kept open across
reruns by lib.ui.dialog_state)."""

from __future__ import annotations

import streamlit as st

from lib.errors import InstanceNotFound
from lib.instances import CreatedInstance
from lib.unsaved import CredentialsNotSaved
from lib.names import MAX_NAME_LENGTH
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
        st.error(escape_markdown(result.message), icon="⚠️")
        st.text(f"ID no provedor: {result.instance_id}")
        st.caption("Token (use o botão de copiar do quadro):")
        st.code(result.token, language=None)  # in full: it may exist nowhere else
        if st.button("Fechar", type="primary"):
            close_dialog()
            st.rerun()
        return
    st.success("Instância criada.")
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


def _confirm(instance: Instance, question: str, label: str, spinner: str, done: str, act) -> None:
    st.text(question)
    left, right = st.columns(2)
    if right.button("Cancelar", width="stretch"):
        close_dialog()
        st.rerun()
    if left.button(label, type="primary", width="stretch", key="danger-confirm"):
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
    if signed_in.service().can(DELETE):
        where = "Ela também será excluída no provedor."
    else:
        where = ("Ela sai só do painel: continua existindo no provedor (o provedor não tem webhook de "
                 "exclusão configurado).")
    question = (f"Excluir a instância {instance.name}? Se estiver conectada, ela será desconectada antes. "
                f"{where} O histórico dela fica guardado. Esta ação não pode ser desfeita.")
    _confirm(instance, question, "Excluir", "Excluindo…", "{name} excluída.", lambda i: signed_in.service().delete(i))


@registered("disconnect")
@st.dialog("Desconectar instância", on_dismiss=close_dialog)
def disconnect_dialog(instance: Instance) -> None:
    question = f"Desconectar {instance.name} do WhatsApp? Será preciso ler um novo QR Code para reconectar."
    _confirm(instance, question, "Desconectar", "Desconectando…", "{name} desconectada.",
             lambda i: signed_in.service().disconnect(i))


@registered("token")
@st.dialog("Token da instância", on_dismiss=close_dialog)
def token_dialog(instance: Instance) -> None:
    """For admins: the token, masked until revealed; revealing is written to the history."""
    st.text(instance.name)
    service = signed_in.service()
    with feedback.user_errors("Lendo o token…") as failed:
        token = service.token(instance.id)
    if not failed:
        token_view(token, key=f"token-{instance.id}", on_reveal=lambda: service.reveal_token(instance))
        st.caption("Ao mostrar o token, o histórico registra quem viu e quando.")

