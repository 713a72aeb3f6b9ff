"""The dialogs other than connect (create, confirm) and the record of which dialog is open.

A full-app rerun closes any dialog that the run does not call again, so the open dialog is kept
in st.session_state[DIALOG_KEY] and re-opened on every run (lib.ui.instances_tab.show_open_dialog);
each dialog's on_dismiss clears it.
"""

from __future__ import annotations

import streamlit as st

from lib.errors import InstanceNotFound
from lib.instances import MAX_NAME_LENGTH, CreatedInstance, CredentialsNotSaved
from lib.models import Instance
from lib.presentation import escape_markdown, mask_token
from lib.ui import session

DIALOG_KEY = "open_dialog"


def close_dialog() -> None:
    st.session_state.pop(DIALOG_KEY, None)


def open_dialog(kind: str, payload=None) -> None:
    st.session_state[DIALOG_KEY] = (kind, payload)


def close_after_removal() -> None:
    """Another admin deleted the instance this dialog works on."""
    close_dialog()
    session.invalidate_instances()
    session.flash("Instância removida por outro administrador.", icon="ℹ️")
    st.rerun()


def token_view(token: str, *, key: str) -> None:
    """Masked by default; revealing shows it in a code box with a copy button."""
    if st.toggle("Mostrar token", key=key):
        st.code(token, language=None)
    else:
        st.text(f"Token: {mask_token(token)}")


@st.dialog("Nova instância", on_dismiss=close_dialog)
def create_dialog(result: CreatedInstance | CredentialsNotSaved | None) -> None:
    """The form, then what came of it. The outcome is kept as the dialog's payload, so a rerun
    (e.g. the list refreshing behind the dialog) never takes the new token off the screen."""
    if result is None:
        with st.form("create_instance", border=False):
            name = st.text_input("Nome da instância", max_chars=MAX_NAME_LENGTH, placeholder="WhatsApp Cobrança")
            submitted = st.form_submit_button("Criar", type="primary")
        if submitted:
            with session.user_errors("Criando instância no provedor…") as failed:
                created = session.service().create(name)
            if not failed or isinstance(failed[0], CredentialsNotSaved):
                session.invalidate_instances()
                open_dialog("create", failed[0] if failed else created)
                st.rerun()
        return
    if isinstance(result, CredentialsNotSaved):
        st.error(escape_markdown(result.message), icon="⚠️")
        st.text(f"ID no provedor: {result.instance_id}")
        st.caption("Token (use o botão de copiar do quadro):")
        st.code(result.token, language=None)  # in full: it may exist nowhere else
    else:
        st.success("Instância criada.")
        st.text(f"Nome: {result.instance.name}")
        st.text(f"ID no provedor: {result.instance.instance_id}")
        token_view(result.token, key="created_token")
    if st.button("Fechar", type="primary"):
        close_dialog()
        st.rerun()


CONFIRMATIONS = {
    "delete": ("Excluir", "Excluir a instância {name}? Se estiver conectada, ela será desconectada antes. "
               "Esta ação não pode ser desfeita.", "Excluindo…", "{name} excluída."),
    "disconnect": ("Desconectar", "Desconectar {name} do WhatsApp? Será preciso ler um novo QR Code para reconectar.",
                   "Desconectando…", "{name} desconectada."),
}


@st.dialog("Confirmar", on_dismiss=close_dialog)
def confirm_dialog(action: str, instance: Instance) -> None:
    label, question, spinner, done = CONFIRMATIONS[action]
    st.text(question.format(name=instance.name))
    left, right = st.columns(2)
    if right.button("Cancelar", width="stretch"):
        close_dialog()
        st.rerun()
    if left.button(label, type="primary", width="stretch"):
        service = session.service()
        with session.user_errors(spinner) as failed:
            service.delete(instance) if action == "delete" else service.disconnect(instance)
        session.invalidate_instances()
        if failed and isinstance(failed[0], InstanceNotFound):
            close_after_removal()
        if not failed:
            close_dialog()
            session.flash(done.format(name=escape_markdown(instance.name)))
            st.rerun()
