"""Entry point: `streamlit run app.py`. Routes to the login page until someone signs in."""

import streamlit as st

from lib.backend import freeze_startup_heap
from lib.errors import ConfigError
from lib.presentation import ROLE_LABELS, escape_markdown
from lib.ui import session

st.set_page_config(page_title="Instâncias WhatsApp", page_icon="💬", layout="wide")

try:
    session.context()
except ConfigError as exc:
    st.error(escape_markdown(exc.message), icon="🛑")
    st.stop()
freeze_startup_heap()


session.keep_session_fresh()
session.show_flash()
user = session.current_user()
if user is None:
    pages = [st.Page("pages/login.py", title="Entrar", icon="🔐")]
else:
    pages = [st.Page("pages/configuracoes.py", title="Configurações", icon="⚙️")]
    with st.sidebar:
        st.text(f"{user.email}\n{ROLE_LABELS.get(user.role, 'sem papel')}")
        if st.button("Sair", icon="🚪"):
            session.sign_out()
            st.rerun()
st.navigation(pages).run()
