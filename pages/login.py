"""Login page; on the embedded default with no user yet, it creates the first administrator (with
the one-time setup code the server printed when it started)."""

import streamlit as st

from lib.auth.accounts import ensure_setup_code, setup_code_path
from lib.ui import session

context = session.context()
accounts = context.accounts  # None in Supabase mode: Supabase Auth holds the accounts
first_admin = accounts is not None and accounts.count() == 0
if first_admin:
    ensure_setup_code(context.settings.data_dir)

_, middle, _ = st.columns([1, 2, 1])
with middle:
    st.title("Instâncias WhatsApp · Cobrança")
    if context.settings.supabase is None:
        st.info(f"Modo padrão embutido: {context.mode_label}. Nada precisa ser configurado.", icon="ℹ️")
    else:
        st.caption(f"Modo: {context.mode_label}. Entre com sua conta do Supabase.")

    with st.form("login", enter_to_submit=False):
        st.subheader("Criar primeiro administrador" if first_admin else "Entrar")
        email = st.text_input("E-mail", max_chars=254)
        password = st.text_input("Senha", type="password")
        if first_admin:
            confirmation = st.text_input("Confirmar senha", type="password")
            code = st.text_input(
                "Código de configuração",
                help="Impresso no terminal onde o servidor foi iniciado (make run) e guardado em "
                     f"{setup_code_path(context.settings.data_dir)}.",
            )
        submitted = st.form_submit_button("Criar administrador" if first_admin else "Entrar", type="primary")

    if submitted and first_admin and password != confirmation:
        st.error("As senhas não conferem.")
    elif submitted:
        with session.user_errors("Entrando…") as failed:
            if first_admin:
                session.start_session(accounts.add_first_admin(email, password, code, context.settings.data_dir))
            else:
                session.sign_in(email, password)
        if not failed:
            st.rerun()
