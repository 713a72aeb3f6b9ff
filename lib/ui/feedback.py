"""What the screens tell a person about what just happened: a toast carried over to the next run
(flash), and every failure as one short pt-BR message, never a traceback (user_errors)."""

from __future__ import annotations

import logging
from contextlib import contextmanager
from typing import Iterator

import streamlit as st

from lib.errors import AppError, PermissionDenied, ProviderError
from lib.presentation import escape_markdown

log = logging.getLogger(__name__)

FLASH_KEY = "flash"
REFUSED_KEY = "permission_refused"  # a change was refused: the role may have changed (lib.ui.signed_in.check)
MSG_UNEXPECTED = "Erro inesperado. Tente novamente; se persistir, avise o suporte."


def flash(message: str, icon: str = ":material/check_circle:") -> None:
    """A toast shown on the next full run (a toast raised right before st.rerun() is lost)."""
    st.session_state[FLASH_KEY] = (message, icon)


def show_flash() -> None:
    if FLASH_KEY in st.session_state:
        message, icon = st.session_state.pop(FLASH_KEY)
        st.toast(message, icon=icon)


@contextmanager
def user_errors(spinner: str | None = None) -> Iterator[list]:
    """Run a slow call under a spinner; an AppError becomes st.error with its pt-BR message and
    anything else a generic message (logged, never shown as a traceback). The yielded list gets
    the error so callers can tell success from failure."""
    failures: list[Exception] = []
    try:
        if spinner:
            with st.spinner(spinner):
                yield failures
        else:
            yield failures
    except AppError as exc:
        failures.append(exc)
        st.error(escape_markdown(exc.message), icon=":material/warning:")
        if isinstance(exc, PermissionDenied):  # the role changed: the next run reads it again
            st.session_state[REFUSED_KEY] = True
        if isinstance(exc, ProviderError) and not exc.retryable:
            st.caption("Tentar de novo não deve resolver: confira a configuração dos webhooks com o suporte.")
    except Exception as exc:  # noqa: BLE001 - last line of defence: no traceback on screen
        failures.append(exc)
        log.exception("unexpected error")
        st.error(MSG_UNEXPECTED, icon=":material/warning:")
