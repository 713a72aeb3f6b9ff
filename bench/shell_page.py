"""The frame of the signed-in admin page with nothing in it, for bench/rerun.py: what app.py and
pages/configuracoes.py draw on every run before any content (the page's settings and style, the
sidebar with the user and "Sair", the navigation, the title and the four tabs, one line in the
open one, the only one drawn),
with the heap frozen after start-up as app.py freezes it. The floor a full rerun of that page
cannot go under, whatever its content."""

import streamlit as st

from lib.context import freeze_startup_heap
from lib.ui import page

st.set_page_config(page_title="Instâncias WhatsApp", page_icon="static/favicon.png", layout="wide")
page.decorate()
freeze_startup_heap()


def configuracoes() -> None:
    st.title("Configurações")
    labels = ["Instâncias", "Atividade", "Templates", "Régua de Cobrança"]
    for tab, label in zip(st.tabs(labels, key="settings_tab", on_change="rerun"), labels):
        if tab.open:
            tab.text(label)


def usuarios() -> None:
    st.title("Usuários")


def senha() -> None:
    st.title("Alterar senha")


pages = [st.Page(configuracoes, title="Configurações", icon=":material/settings:"),
         st.Page(usuarios, title="Usuários", icon=":material/group:"),
         st.Page(senha, title="Alterar senha", icon=":material/password:")]
with st.sidebar:
    st.text("admin@example.com\nAdministrador")
    st.button("Sair", icon=":material/logout:")
st.navigation(pages).run()
