"""The server: `streamlit run server.py` (what `make run` does). The UI is app.py; this wires the
routes and the lifespan of lib.api into Streamlit's server (st.App)."""

import streamlit as st

from lib.api import ROUTES, lifespan

app = st.App("app.py", routes=ROUTES, lifespan=lifespan)
