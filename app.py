"""The UI script (server.py serves it): routes to the login page until someone signs in, restores
a signed-in user from the session cookie on a reload, and starts the session of someone the
identity provider just signed in (single sign-on, when [auth] is configured)."""

import streamlit as st

from lib.context import freeze_startup_heap
from lib.errors import ConfigError
from lib.presentation import ROLE_LABELS, escape_markdown
from lib.ui import feedback, page, signed_in
from lib.ui import activity, history, instances_tab, users  # noqa: F401 - the pages' modules, imported before the heap is frozen

# A favicon of our own: a Material icon's is fetched from Google's servers, an emoji needs an emoji font.
st.set_page_config(page_title="Instâncias WhatsApp", page_icon="static/favicon.png", layout="wide")
page.decorate()

try:
    signed_in.context()
except ConfigError as exc:
    st.error(escape_markdown(exc.message), icon=":material/block:")
    st.stop()
freeze_startup_heap()


signed_in.restore()
signed_in.keep_fresh()
signed_in.check(touch=True)
signed_in.provider_sign_in()
feedback.show_flash()
user = signed_in.current_user()
if user is None:
    pages = [st.Page("pages/login.py", title="Entrar", icon=":material/login:")]
elif user.must_change_password:  # signed in with a temporary password: nothing else until it is changed
    pages = [st.Page("pages/senha.py", title="Defina sua senha", icon=":material/password:", url_path="definir-senha")]
else:
    pages = [st.Page("pages/configuracoes.py", title="Configurações", icon=":material/settings:")]
    if user.is_admin:
        pages.append(st.Page("pages/usuarios.py", title="Usuários", icon=":material/group:"))
    if signed_in.can_change_password():
        pages.append(st.Page("pages/senha.py", title="Alterar senha", icon=":material/password:"))
if user is not None:
    with st.sidebar:
        st.text(f"{user.email}\n{ROLE_LABELS.get(user.role, 'sem papel')}")
        if st.button("Sair", icon=":material/logout:"):
            signed_in.sign_out(leave_provider=True)
            st.rerun()
st.navigation(pages).run()
signed_in.cookie_script()
