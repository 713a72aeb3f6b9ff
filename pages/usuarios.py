"""Usuários (admins only): the accounts and their roles (local accounts on the embedded default,
Supabase Auth users and their roles in Supabase mode)."""

import streamlit as st

from lib.ui import live, signed_in
from lib.ui.users import users_page

live.follow()  # the session, the store's changes, the drops
st.title("Usuários")
if not signed_in.current_user().is_admin:
    st.warning("Apenas administradores gerenciam usuários.")
    st.stop()
users_page()
