"""Usuários (admins only): the accounts and their roles (local accounts on the embedded default,
Supabase Auth users and their roles in Supabase mode)."""

import streamlit as st

from lib.ui import session
from lib.ui.users import supabase_users_page, users_page

st.title("Usuários")
if not session.current_user().is_admin:
    st.warning("Apenas administradores gerenciam usuários.")
    st.stop()
if session.context().settings.supabase:
    supabase_users_page()
else:
    users_page()
