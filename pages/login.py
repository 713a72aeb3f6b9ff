"""Login page; on the embedded default with no user yet, it creates the first administrator (with
the one-time setup code the server printed when it started). With single sign-on configured
([auth]) it also offers "Entrar com <provedor>" (st.login); someone the provider signed in whose
e-mail maps to no user here sees why, and a button to leave the provider's sign-in."""

import streamlit as st

from lib.auth.setup_code import SETUP_CODE_FILENAME
from lib.config.sso import SSO_DEFAULT_PROVIDER
from lib.presentation import escape_markdown
from lib.ui import feedback, signed_in

signin = signed_in.signin()
with feedback.user_errors() as failed:  # a full disk: no setup code can be written
    first_admin = signin.first_start()
if failed:
    st.stop()
providers = signed_in.context().settings.sso

_, middle, _ = st.columns([1, 2, 1])
with middle:
    st.title("Instâncias WhatsApp · Cobrança")
    refusal = signed_in.sso_refusal()
    if refusal:  # signed in at the provider with an e-mail that has no access here
        message, email = refusal
        st.error(escape_markdown(message), icon=":material/block:")
        if email:
            st.caption(f"Conta no provedor: {escape_markdown(email)}")
        if st.button("Sair", icon=":material/logout:", key="sso-leave"):
            st.logout()
        st.stop()

    st.info(signin.login_note, icon=":material/info:")
    if first_admin:
        st.info("**Primeiro acesso:** crie o administrador. Você vai precisar do **código de configuração**, "
                "impresso no terminal onde o servidor foi iniciado (make run) e guardado no arquivo "
                f"{SETUP_CODE_FILENAME}, na pasta de dados do servidor (APP\\_DATA\\_DIR; por padrão, data).",
                icon=":material/key:")

    if providers and not first_admin:
        unavailable = signin.provider_unavailable()
        if unavailable:
            st.warning(unavailable, icon=":material/warning:")
        else:
            for provider in providers.providers:
                if st.button(f"Entrar com {escape_markdown(provider.label)}", key=f"sso-{provider.name}", icon=":material/key:", width="stretch"):
                    st.login(None if provider.name == SSO_DEFAULT_PROVIDER else provider.name)
        st.caption("ou entre com e-mail e senha:")

    with st.form("login", enter_to_submit=False):
        st.subheader("Criar primeiro administrador" if first_admin else "Entrar")
        email = st.text_input("E-mail", max_chars=254)
        password = st.text_input("Senha", type="password")
        if first_admin:
            confirmation = st.text_input("Confirmar senha", type="password")
            code = st.text_input("Código de configuração", placeholder="XXXX-XXXX-XXXX")
        submitted = st.form_submit_button("Criar administrador" if first_admin else "Entrar", type="primary")

    if submitted and first_admin and password != confirmation:
        st.error("As senhas não conferem.")
    elif submitted:
        with feedback.user_errors("Entrando…") as failed:
            if first_admin:
                signed_in.first_admin(email, password, code)
            else:
                signed_in.sign_in(email, password)
        if not failed:
            st.rerun()
