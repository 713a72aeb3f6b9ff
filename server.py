"""The server: `streamlit run server.py` (what `make run` does). The UI is app.py; this wires the
routes and the lifespan of lib.api into Streamlit's server (st.App), and hands Streamlit the
[auth] section of the app's secrets file (st.login reads it from st.secrets)."""

import streamlit as st

from lib.api import ROUTES, lifespan
from lib.config import streamlit_secrets

app = st.App("app.py", routes=ROUTES, lifespan=lifespan, secrets=streamlit_secrets())
