"""The server: `streamlit run server.py` (what `make run` does). The UI is app.py; this wires the
routes and the lifespan of lib.api into Streamlit's server (st.App), first in its stack the
middleware that decides each request's client address (lib.client_address), tells the lifespan
this server's own URL, and hands Streamlit the [auth] section of the app's secrets file (st.login
reads it from st.secrets)."""

import streamlit as st
from starlette.middleware import Middleware
from streamlit import config

from lib.api import ROUTES, lifespan
from lib.client_address import ClientAddress
from lib.config.settings import streamlit_secrets


def own_url(path: str) -> str:
    """This server's loopback URL for `path`, from Streamlit's settings."""
    address = config.get_option("server.address") or "127.0.0.1"
    if address in ("0.0.0.0", "::", ""):
        address = "127.0.0.1"
    base = (config.get_option("server.baseUrlPath") or "").strip("/")
    prefix = f"/{base}" if base else ""
    return f"http://{address}:{config.get_option('server.port')}{prefix}{path}"


app = st.App("app.py", routes=ROUTES, lifespan=lifespan(own_url), middleware=[Middleware(ClientAddress)],
             secrets=streamlit_secrets())
