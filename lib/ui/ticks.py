"""How often an open page follows the store, its session and the connect dialog's QR without a
click: every Settings.live_seconds ([app] live_seconds, APP_LIVE_SECONDS; 3 s unless configured)."""

from __future__ import annotations

import streamlit as st

from lib.config.settings import current_settings


def live_seconds() -> float:
    return current_settings().live_seconds


def run_live(fragment, /, *args, **kwargs):
    """`fragment(*args, **kwargs)` drawn as a Streamlit fragment that runs again every tick. Made a
    fragment at each call, not at import, so that the setting is the configured one; Streamlit
    knows a fragment by its function and its place on the page, so it is the same one every run.

    The fragment sits alone in a container that the full run draws (call this from the full run,
    not from inside another fragment). When a run of the fragment (a tick, a click on one of its
    buttons) is queued behind a full run whose messages are not all sent yet, Streamlit 1.67 drops
    that full run's unsent messages of the fragment but still tells the browser the run finished;
    the browser then removes the fragment's old block as stale, and every later element on the page
    moves up one place, so the next message for one of them breaks the page ("Cannot set a node at
    a delta path"). Alone in its container, a lost block moves nothing: its own run draws it again.
    The container's key lets the page's style collapse it while it shows nothing (lib.ui.page)."""
    with st.container(key=f"live-{fragment.__name__}"):
        return st.fragment(fragment, run_every=live_seconds())(*args, **kwargs)
