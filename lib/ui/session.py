"""Per-browser-session state: the signed-in user, their Supabase client (one per browser session,
never shared: a shared client would leak one user's session to another), their service and their
cached instance list.

Streamlit reruns the whole script on every click and every polling tick, so what a run shows comes
from here, not from the store: the list is read once and kept, with the store's version at that
moment, until a write invalidates it or the store's version moves (list_is_stale); what is
computed from it (the table) is kept beside it and dropped with it."""

from __future__ import annotations

import logging
import time
from contextlib import contextmanager
from typing import Callable, Hashable, Iterator, TypeVar

import streamlit as st

from lib.backend import AppContext, app_context
from lib.config import current_settings
from lib.errors import AppError, AuthError, WebhookError
from lib.instances import InstanceService
from lib.models import Instance, User
from lib.presentation import escape_markdown
from lib.store.supabase import MSG_EXPIRED, SupabaseSession

log = logging.getLogger(__name__)

USER_KEY = "user"
SERVICE_KEY = "service"
SUPABASE_KEY = "supabase"
INSTANCES_KEY = "instances"
DERIVED_KEY = "instances_derived"
CACHE_KEY = "store_cache"
FLASH_KEY = "flash"

T = TypeVar("T")


def context() -> AppContext:
    """Raises ConfigError (shown by app.py) when the configuration is wrong."""
    return app_context(current_settings())


def current_user() -> User | None:
    return st.session_state.get(USER_KEY)


def sign_in(email: str, password: str) -> User:
    """Check the credentials (Supabase Auth, or local accounts on the embedded default) and start
    a fresh session state for the user. Raises AuthError."""
    ctx = context()
    supabase = None
    if ctx.settings.supabase:
        supabase = SupabaseSession(ctx.settings.supabase)
        user = supabase.sign_in(email, password)
    else:
        user = ctx.accounts.authenticate(email, password)
    start_session(user)
    if supabase:
        st.session_state[SUPABASE_KEY] = supabase
    return user


def start_session(user: User) -> None:
    """A fresh session state for a signed-in user (also for the first admin, just created)."""
    st.session_state.clear()
    st.session_state[USER_KEY] = user


def sign_out() -> None:
    if SUPABASE_KEY in st.session_state:
        st.session_state[SUPABASE_KEY].sign_out()
    st.session_state.clear()


def keep_session_fresh() -> None:
    """At the top of every run: refresh an expired Supabase session (auto-refresh is off, so an
    idle tab keeps working after an hour). A rejected refresh token signs the user out."""
    supabase = st.session_state.get(SUPABASE_KEY)
    if supabase is None:
        return
    try:
        supabase.refresh_if_needed()
    except AuthError as exc:
        if supabase.user is not None:  # Supabase unreachable: keep the session, retry next run
            st.warning(escape_markdown(exc.message), icon="⚠️")
            return
    if supabase.user is None:  # refresh token rejected, here or during a store call
        sign_out()
        flash(MSG_EXPIRED, icon="🔒")


def service() -> InstanceService:
    if SERVICE_KEY not in st.session_state:
        supabase = st.session_state.get(SUPABASE_KEY)
        store = supabase.store() if supabase else None
        st.session_state[SERVICE_KEY] = context().service(current_user(), store)
    return st.session_state[SERVICE_KEY]


def instances() -> list[Instance]:
    """The instance list, read once and kept until a write invalidates it or the store changes."""
    if INSTANCES_KEY not in st.session_state:
        store = service().store
        version = store.version()  # before the read: a write in between makes it stale, never lost
        st.session_state[INSTANCES_KEY] = (version, service().list_instances())
    return st.session_state[INSTANCES_KEY][1]


def list_is_stale() -> bool:
    """Whether the store changed since the list was read (a monitor sweep, a provider event,
    another session's action): one cheap question to the store, no read of the list."""
    cached = st.session_state.get(INSTANCES_KEY)
    if cached is None:
        return False
    try:
        return service().store.version() != cached[0]
    except AppError:  # the store is unreachable: keep showing what was read, ask again next time
        return False


def derived(key: Hashable, build: Callable[[], T]) -> T:
    """A value computed from the cached list (e.g. the table for one status filter), built on the
    first run that asks for `key` and dropped with the list. Only the latest key is kept: a session
    looks at one filter at a time, and 1000-row tables per filter would add up over sessions."""
    cached = st.session_state.get(DERIVED_KEY)
    if cached is None or cached[0] != key:
        cached = (key, build())
        st.session_state[DERIVED_KEY] = cached
    return cached[1]


def cached(key: Hashable, build: Callable[[], T]) -> T:
    """A value read or computed from the store (history, stats), kept until the store changes or the
    minute turns (their windows slide with time): computed once per change, not per rerun."""
    listed = st.session_state.get(INSTANCES_KEY)
    stamp = (listed[0] if listed else service().store.version(), int(time.time() // 60))
    cache = st.session_state.get(CACHE_KEY)
    if cache is None or cache[0] != stamp:  # everything kept belongs to one stamp: no pile-up
        cache = st.session_state[CACHE_KEY] = (stamp, {})
    values = cache[1]
    if key not in values:
        values[key] = build()
    return values[key]


def invalidate_instances() -> None:
    st.session_state.pop(INSTANCES_KEY, None)
    st.session_state.pop(DERIVED_KEY, None)


def flash(message: str, icon: str = "✅") -> None:
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
        st.error(escape_markdown(exc.message), icon="⚠️")
        if isinstance(exc, WebhookError) and not exc.retryable:
            st.caption("Tentar de novo não deve resolver: confira a configuração dos webhooks com o suporte.")
    except Exception as exc:  # noqa: BLE001 - last line of defence: no traceback on screen
        failures.append(exc)
        log.exception("unexpected error")
        st.error("Erro inesperado. Tente novamente; se persistir, avise o suporte.", icon="⚠️")
