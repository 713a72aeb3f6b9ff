"""Configurações: tabs Instâncias, Atividade, Templates and Régua de Cobrança; only the open one is drawn."""

import streamlit as st

from lib.ui import live, signed_in
from lib.ui.activity import activity_tab
from lib.ui.instances_tab import instances_tab

TAB_KEY, CHOSEN_KEY = "settings_tab", "settings_tab_chosen"
TABS = {
    "Instâncias": instances_tab,
    "Atividade": activity_tab,
    "Templates": lambda: st.info("Templates de mensagens: em breve."),
    "Régua de Cobrança": lambda: st.info("Régua de cobrança: em breve."),
}

user = signed_in.current_user()
if user.role is None:
    st.title("Configurações")
    st.warning("Sem acesso: peça a um administrador.")
    signed_in.watch()  # a role given meanwhile shows within seconds
    st.stop()
live.follow()  # the drops, on every page, above it
st.title("Configurações")

# Only the open tab is drawn (a click on a tab is a run). The open tab is also kept apart from the
# tabs' own state and given back to them when a run comes without it (the first run back from
# another page; AppTest's runs, which know no tabs), instead of opening the first tab again.
if TAB_KEY not in st.session_state and CHOSEN_KEY in st.session_state:
    st.session_state[TAB_KEY] = st.session_state[CHOSEN_KEY]
tabs = dict(zip(TABS, st.tabs(list(TABS), key=TAB_KEY, on_change="rerun")))
for label, draw in TABS.items():
    if tabs[label].open:
        st.session_state[CHOSEN_KEY] = label
        with tabs[label]:
            draw()
