"""Usuários (admins only): the accounts and their roles (local accounts on the embedded default,
Supabase Auth users and their roles in Supabase mode)."""

import streamlit as st

from lib.ui import signed_in
from lib.ui.users import users_page

st.title("Usuários")
signed_in.watch()
if not signed_in.current_user().is_admin:
    st.warning("Apenas administradores gerenciam usuários.")
    st.stop()
users_page()
