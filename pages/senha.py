"""Alterar senha (embedded mode): every user, with the current password; after a login with a
temporary password, the only page until the new one is set."""

import streamlit as st

from lib.auth.accounts import MIN_PASSWORD_LENGTH
from lib.ui import session

user = session.current_user()
accounts = session.context().accounts
st.title("Defina sua senha" if user.must_change_password else "Alterar senha")
if user.must_change_password:
    st.info("Você entrou com uma senha temporária. Defina a sua para continuar.", icon="🔑")
with st.form("change_password", enter_to_submit=False):
    current = st.text_input("Senha atual" if not user.must_change_password else "Senha temporária", type="password")
    new = st.text_input("Nova senha", type="password", help=f"Pelo menos {MIN_PASSWORD_LENGTH} caracteres.")
    confirmation = st.text_input("Confirmar nova senha", type="password")
    submitted = st.form_submit_button("Salvar nova senha", type="primary")
if submitted and new != confirmation:
    st.error("As senhas não conferem.")
elif submitted:
    with session.user_errors("Salvando…") as failed:
        accounts.change_password(user.id, current, new)
    if not failed:
        session.password_changed()
        session.flash("Senha alterada.")
        st.rerun()
