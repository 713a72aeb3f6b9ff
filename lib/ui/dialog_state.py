"""Which dialog is open, and how each kind of dialog is drawn again.

A full-app rerun closes any dialog that the run does not call again, so the open dialog is kept
in st.session_state[DIALOG_KEY] and drawn again on every full run (show_open_dialog); each
dialog's on_dismiss clears it. Every dialog module registers its kinds here (`registered`), and
imports nothing of the other dialog modules to open them: open_dialog(kind, payload) is enough.
"""

from __future__ import annotations

from typing import Callable

import streamlit as st

from lib.ui import caches, feedback

DIALOG_KEY = "open_dialog"
_DIALOGS: dict[str, Callable] = {}


def registered(kind: str) -> Callable[[Callable], Callable]:
    """Decorator: the dialog drawn for `kind` (applied over st.dialog)."""

    def register(dialog: Callable) -> Callable:
        _DIALOGS[kind] = dialog
        return dialog

    return register


def open_dialog(kind: str, payload=None) -> None:
    st.session_state[DIALOG_KEY] = (kind, payload)


def close_dialog() -> None:
    st.session_state.pop(DIALOG_KEY, None)


def show_open_dialog() -> None:
    """Draw the dialog recorded in the session state again (call once per full run)."""
    if DIALOG_KEY in st.session_state:
        kind, payload = st.session_state[DIALOG_KEY]
        _DIALOGS[kind](payload)


def close_after_removal() -> None:
    """Another admin deleted the instance this dialog works on."""
    close_dialog()
    caches.invalidate_instances()
    feedback.flash("Instância removida por outro administrador.", icon=":material/info:")
    st.rerun()
