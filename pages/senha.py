"""Alterar senha (embedded mode): every user, with the current password; after a login with a
temporary password, the only page until the new one is set."""

import streamlit as st

from lib.auth.accounts import MIN_PASSWORD_LENGTH
from lib.ui import feedback, live, signed_in

user = signed_in.current_user()
if user.must_change_password or user.role is None:
    signed_in.watch()  # the session and the role only: nothing else is shown yet
else:
    live.follow()  # the session, the store's changes, the drops
st.title("Defina sua senha" if user.must_change_password else "Alterar senha")
if user.must_change_password:
    st.info("Você entrou com uma senha temporária. Defina a sua para continuar.", icon=":material/key:")
with st.form("change_password", enter_to_submit=False):
    current = st.text_input("Senha atual" if not user.must_change_password else "Senha temporária", type="password")
    new = st.text_input("Nova senha", type="password", help=f"Pelo menos {MIN_PASSWORD_LENGTH} caracteres.")
    confirmation = st.text_input("Confirmar nova senha", type="password")
    submitted = st.form_submit_button("Salvar nova senha", type="primary")
if submitted and new != confirmation:
    st.error("As senhas não conferem.")
elif submitted:
    with feedback.user_errors("Salvando…") as failed:
        signed_in.change_password(current, new)
    if not failed:
        feedback.flash("Senha alterada.")
        st.rerun()
