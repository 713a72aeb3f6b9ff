"""Usuários (admins only): the accounts and their roles."""

import streamlit as st

from lib.ui import session
from lib.ui.users import users_page

st.title("Usuários")
if not session.current_user().is_admin:
    st.warning("Apenas administradores gerenciam usuários.")
    st.stop()
users_page()
