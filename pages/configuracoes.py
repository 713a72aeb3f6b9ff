"""Configurações: tabs Instâncias, Atividade, Templates and Régua de Cobrança."""

import streamlit as st

from lib.ui import live, signed_in
from lib.ui.activity import activity_tab
from lib.ui.instances_tab import instances_tab

user = signed_in.current_user()
if user.role is None:
    st.title("Configurações")
    st.warning("Sem acesso: peça a um administrador.")
    signed_in.watch()  # a role given meanwhile shows within seconds
    st.stop()
live.follow()  # the drops, on every page, above it
st.title("Configurações")

instances, activity, templates, dunning = st.tabs(["Instâncias", "Atividade", "Templates", "Régua de Cobrança"])
with instances:
    instances_tab()
with activity:
    activity_tab()
with templates:
    st.info("Templates de mensagens: em breve.")
with dunning:
    st.info("Régua de cobrança: em breve.")
