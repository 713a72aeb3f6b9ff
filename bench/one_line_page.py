"""The one-line page bench/rerun.py compares the app with, served by the same Streamlit."""

import streamlit as st

st.text("Configurações")
