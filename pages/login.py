"""Login page; on the embedded default with no user yet, it creates the first administrator."""

import streamlit as st

from lib.ui import session

context = session.context()
accounts = context.accounts  # None in Supabase mode: Supabase Auth holds the accounts
first_admin = accounts is not None and accounts.count() == 0

_, middle, _ = st.columns([1, 2, 1])
with middle:
    st.title("Instâncias WhatsApp · Cobrança")
    if context.settings.supabase is None:
        st.info(f"Modo padrão embutido: {context.mode_label}. Nada precisa ser configurado.", icon="ℹ️")
    else:
        st.caption(f"Modo: {context.mode_label}. Entre com sua conta do Supabase.")

    with st.form("login"):
        st.subheader("Criar primeiro administrador" if first_admin else "Entrar")
        email = st.text_input("E-mail")
        password = st.text_input("Senha", type="password")
        if first_admin:
            confirmation = st.text_input("Confirmar senha", type="password")
        submitted = st.form_submit_button("Criar administrador" if first_admin else "Entrar", type="primary")

    if submitted and first_admin and password != confirmation:
        st.error("As senhas não conferem.")
    elif submitted:
        with session.user_errors("Entrando…") as failed:
            if first_admin:
                session.start_session(accounts.add_first_admin(email, password))
            else:
                session.sign_in(email, password)
        if not failed:
            st.rerun()
