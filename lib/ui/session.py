"""Per-browser-session state: the signed-in user, their Supabase client (one per browser session,
never shared: a shared client would leak one user's session to another), their service and their
cached instance list.

Streamlit reruns the whole script on every click and every polling tick, so what a run shows comes
from here, not from the store: the list is read once and kept, with the store's version at that
moment, until a write invalidates it or the store's version moves (list_is_stale); what is
computed from it (the table) is kept beside it and dropped with it."""

from __future__ import annotations

import json
import logging
import time
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime, timezone
from typing import Callable, Hashable, Iterator, TypeVar

import streamlit as st

from lib.auth import sso
from lib.auth.sessions import COOKIE_NAME
from lib.auth.throttle import client_address as throttle_address
from lib.context import AppContext, app_context
from lib.config.settings import current_settings
from lib.errors import AppError, AuthError, PermissionDenied, ProviderError
from lib.instances import InstanceService
from lib.models import Instance, User
from lib.presentation import escape_markdown
from lib.store.supabase.errors import MSG_EXPIRED
from lib.store.supabase.session import SupabaseSession

log = logging.getLogger(__name__)

USER_KEY = "user"
SERVICE_KEY = "service"
SUPABASE_KEY = "supabase"
SESSION_ID_KEY = "session_id"  # this browser's session cookie id (lib.auth.sessions)
COOKIE_TICKET_KEY = "cookie_ticket"  # to trade for the cookie on the next run
CLEAR_COOKIE_KEY = "clear_cookie"
RESTORE_TRIED_KEY = "restore_tried"
SSO_KEY = "signed_in_by_provider"  # this session came from the identity provider (st.login)
SSO_REFUSED_KEY = "sso_refused"  # (message, e-mail): the provider's sign-in maps to no user here
SSO_USED_KEY = "sso_used"  # the key of a provider's sign-in that had already started a session
LEAVE_PROVIDER_KEY = "leave_provider"  # "Sair": st.logout() at the end of the next full run
USER_CHECKED_KEY = "user_checked_at"
USER_CHECK_SECONDS = 60  # the role is read again at least this often (and before every change)
INSTANCES_KEY = "instances"
DERIVED_KEY = "instances_derived"
CACHE_KEY = "store_cache"
FLASH_KEY = "flash"

T = TypeVar("T")
MSG_UNEXPECTED = "Erro inesperado. Tente novamente; se persistir, avise o suporte."


def context() -> AppContext:
    """Raises ConfigError (shown by app.py) when the configuration is wrong."""
    return app_context(current_settings())


def current_user() -> User | None:
    return st.session_state.get(USER_KEY)


def client_address() -> str | None:
    """The browser's address for the login throttle (see lib.auth.throttle.client_address)."""
    return throttle_address(_text(st.context.ip_address), _text(st.context.headers.get("X-Forwarded-For")),
                            trust_proxy=context().settings.trust_proxy_headers)


def _text(value) -> str:
    """A request detail as text ("" when absent; under AppTest st.context gives mocks)."""
    return value if isinstance(value, str) else ""


def sign_in(email: str, password: str) -> User:
    """Check the credentials (Supabase Auth, or local accounts on the embedded default) and start
    a session for the user. Raises AuthError."""
    ctx = context()
    supabase = None
    if ctx.settings.supabase:
        supabase = SupabaseSession(ctx.settings.supabase)
        user = ctx.supabase_sign_in(supabase, email, password, client_address())
    else:
        user = ctx.accounts.authenticate(email, password, client_address())
    start_session(user, supabase)
    return user


def start_session(user: User, supabase: SupabaseSession | None = None, *, sso: bool = False) -> None:
    """A fresh session state for a signed-in user, and the server's session behind the browser's
    cookie (the cookie itself is set on the next run: cookie_script). `sso`: signed in through the
    identity provider (sso_sign_in)."""
    ctx = context()
    raw_id = ctx.sessions.create(user, user_agent=_text(st.context.headers.get("User-Agent")),
                                 refresh_token=supabase.refresh_token if supabase else None,
                                 method="sso" if sso else "password")
    st.session_state.clear()
    _enter(user, raw_id, supabase, sso=sso)
    st.session_state[COOKIE_TICKET_KEY] = ctx.handoff.offer(raw_id)


def _enter(user: User, raw_id: str, supabase: SupabaseSession | None, *, sso: bool = False) -> None:
    st.session_state[USER_KEY] = user
    st.session_state[SESSION_ID_KEY] = raw_id
    st.session_state[USER_CHECKED_KEY] = time.monotonic()
    st.session_state[SSO_KEY] = sso
    if supabase is not None:
        sessions = context().sessions
        supabase.on_refresh_token = lambda token: sessions.keep_refresh_token(raw_id, token)
        st.session_state[SUPABASE_KEY] = supabase


def restore_session() -> None:
    """On a browser session's first run (a reload, a new tab): the user of the session cookie, while
    the server still holds that session. A cookie that no longer works is cleared."""
    if USER_KEY in st.session_state or st.session_state.get(RESTORE_TRIED_KEY):
        return
    st.session_state[RESTORE_TRIED_KEY] = True
    raw_id = _text(st.context.cookies.get(COOKIE_NAME))
    if not raw_id:
        return
    ctx = context()
    stored = ctx.sessions.resume(raw_id)
    user, supabase = None, None
    if stored is not None and stored.sso and ctx.settings.sso is None:
        pass  # signed in through an identity provider no longer configured: that session is over
    elif stored is not None and ctx.settings.supabase:
        supabase = SupabaseSession(ctx.settings.supabase)
        try:
            user = supabase.restore(stored.refresh_token)
        except AuthError as exc:
            if exc.message != MSG_EXPIRED:  # Supabase unreachable: the session stays for the next try
                st.session_state[RESTORE_TRIED_KEY] = False
                st.warning(escape_markdown(exc.message), icon="⚠️")
                return
    elif stored is not None:
        user = _local_user(stored.user_id, sso=stored.sso)
    if user is None:
        ctx.sessions.end(raw_id)
        st.session_state[CLEAR_COOKIE_KEY] = True
        return
    _enter(user, raw_id, supabase, sso=stored.sso)
    if supabase is not None:
        ctx.sessions.keep_refresh_token(raw_id, supabase.refresh_token)


def sign_out(message: str | None = None, *, leave_provider: bool = False) -> None:
    """End the server's session (the cookie then works nowhere) and this browser session's state.
    `leave_provider` ("Sair"): also clear Streamlit's identity cookie, with st.logout() at the end
    of the next full run (cookie_script), which then takes the browser to the provider's sign-out
    page when the provider has one. Not in this run: the caller reruns, and a rerun after
    st.logout() loses its redirect, while stopping here would leave the signed-in page's fragments
    ticking with the state cleared. A session ended otherwise needs no st.logout(): a provider's
    sign-in starts one session only (lib.auth.sso)."""
    context().sessions.end(st.session_state.get(SESSION_ID_KEY))
    if SUPABASE_KEY in st.session_state:
        st.session_state[SUPABASE_KEY].sign_out()
    st.session_state.clear()
    st.session_state[RESTORE_TRIED_KEY] = True
    st.session_state[CLEAR_COOKIE_KEY] = True
    if message:
        flash(message, icon="🔒")
    if leave_provider and provider_claims():
        st.session_state[LEAVE_PROVIDER_KEY] = True


# -- single sign-on (lib.auth.sso) ---------------------------------------------------------------
def provider_claims() -> dict:
    """st.user's claims while someone is signed in at the identity provider, else {}."""
    try:
        claims = st.user.to_dict()
    except Exception:  # noqa: BLE001 - no [auth] section where Streamlit looks: nobody is
        return {}
    return claims if claims.get("is_logged_in") is True else {}


def sso_sign_in() -> None:
    """Right after the identity provider's sign-in (st.login): the app's own session for the user
    the e-mail maps to, started as a password login starts it. Only a recent sign-in counts, and
    only once (lib.auth.sso): a reload after "Sair", or after an admin ended the session, finds the
    login page, not a session made again from Streamlit's identity cookie. An e-mail that maps to
    no user is remembered for this browser session; the login page says so (sso_refusal)."""
    ctx = context()
    if ctx.settings.sso is None or current_user() is not None or st.session_state.get(LEAVE_PROVIDER_KEY):
        return
    claims = provider_claims()
    if not claims:
        st.session_state.pop(SSO_REFUSED_KEY, None)
        return
    if SSO_REFUSED_KEY in st.session_state:
        return
    email = str(claims.get("email") or "")
    try:
        identity = sso.identity(claims)
        if identity is None or not identity.fresh(datetime.now(timezone.utc)):
            return  # an old sign-in: the login page offers the provider again
        if st.session_state.get(SSO_USED_KEY) == identity.key:
            return  # found used on an earlier run: no need to ask the store again
        email = identity.email
        user = ctx.sso_user(identity.email)
    except AuthError as exc:
        st.session_state[SSO_REFUSED_KEY] = (exc.message, email[:254])
        return
    except AppError as exc:  # the store is unreachable: try again on the next run
        st.warning(escape_markdown(exc.message), icon="⚠️")
        return
    if not ctx.sessions.claim_sign_in(identity.key, keep=sso.FRESH + sso.CLOCK_SKEW):
        st.session_state[SSO_USED_KEY] = identity.key
        return  # this sign-in already started a session (since ended, or in another tab)
    supabase = None
    if ctx.accounts is not None:
        ctx.accounts.record_login(user.id)
    else:  # Supabase mode: the person's own Supabase session, through a one-time sign-in link
        supabase = SupabaseSession(ctx.settings.supabase)
        try:
            user = supabase.sign_in_with_link(ctx.server_store().sign_in_link(identity.email))
        except AppError as exc:
            st.session_state[SSO_REFUSED_KEY] = (exc.message, identity.email)
            return
    log.info("single sign-on: session started for a %s", user.role)
    start_session(user, supabase, sso=True)


def signed_in_by_provider() -> bool:
    return bool(st.session_state.get(SSO_KEY))


def sso_refusal() -> tuple[str, str] | None:
    """(message, e-mail) when the provider's sign-in maps to no user here, for the login page."""
    return st.session_state.get(SSO_REFUSED_KEY)


def check_user() -> None:
    """At least once a minute: the user as the accounts say now. A removed or deactivated user, or a
    session ended by an admin, is signed out; a new role applies at once."""
    user = current_user()
    checked = st.session_state.get(USER_CHECKED_KEY, 0.0)
    if user is None or time.monotonic() - checked < USER_CHECK_SECONDS:
        return
    st.session_state[USER_CHECKED_KEY] = time.monotonic()
    ctx = context()
    supabase = st.session_state.get(SUPABASE_KEY)
    signed_in_by_provider = st.session_state.get(SSO_KEY, False)
    try:
        if supabase is not None:
            fresh = supabase.current_user()
        else:
            fresh = _local_user(user.id, sso=signed_in_by_provider)
    except AppError:
        return  # the store is unreachable: ask again next time
    ended = ctx.sessions.resume(st.session_state.get(SESSION_ID_KEY)) is None
    ended = ended or (signed_in_by_provider and ctx.settings.sso is None)
    if fresh is None or ended or (supabase is None and fresh.role is None):
        sign_out("Sua sessão foi encerrada. Entre novamente.")
        st.rerun()
    if fresh != user:
        st.session_state[USER_KEY] = fresh
        st.session_state.pop(SERVICE_KEY, None)
        invalidate_instances()


def _local_user(user_id: str, *, sso: bool) -> User | None:
    """The local account's user as it is now; a temporary password does not hold up a provider's
    sign-in (the provider checked who it is)."""
    user = context().accounts.current_user(user_id)
    return replace(user, must_change_password=False) if user is not None and sso else user


def password_changed() -> None:
    """The user has a password of their own now (a temporary one was changed)."""
    user = current_user()
    st.session_state[USER_KEY] = replace(user, must_change_password=False)


def cookie_script() -> None:
    """Set or clear the session cookie through the server's route (lib.api), from the page; after
    "Sair" from a provider's sign-in, clear Streamlit's identity cookie too (st.logout(), last)."""
    base = (st.get_option("server.baseUrlPath") or "").strip("/")
    path = f"/{base}/api/session" if base else "/api/session"
    ticket = st.session_state.pop(COOKIE_TICKET_KEY, None)
    if ticket:
        body = json.dumps({"ticket": ticket})
        st.html(f"<script>fetch({json.dumps(path)}, {{method: 'POST', credentials: 'same-origin', "
                f"headers: {{'Content-Type': 'application/json'}}, body: {json.dumps(body)}}});</script>",
                unsafe_allow_javascript=True)
    if st.session_state.pop(CLEAR_COOKIE_KEY, False):
        st.html(f"<script>fetch({json.dumps(path)}, {{method: 'DELETE', credentials: 'same-origin'}});</script>",
                unsafe_allow_javascript=True)
    if st.session_state.pop(LEAVE_PROVIDER_KEY, False):
        st.logout()


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
        sign_out(MSG_EXPIRED)


def service() -> InstanceService:
    if SERVICE_KEY not in st.session_state:
        supabase = st.session_state.get(SUPABASE_KEY)
        store, reload_user = (supabase.store(), supabase.current_user) if supabase else (None, None)
        st.session_state[SERVICE_KEY] = context().service(current_user(), store, reload_user)
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
        if isinstance(exc, PermissionDenied):  # the role changed: the next run reads it again
            st.session_state[USER_CHECKED_KEY] = 0.0
        if isinstance(exc, ProviderError) and not exc.retryable:
            st.caption("Tentar de novo não deve resolver: confira a configuração dos webhooks com o suporte.")
    except Exception as exc:  # noqa: BLE001 - last line of defence: no traceback on screen
        failures.append(exc)
        log.exception("unexpected error")
        st.error(MSG_UNEXPECTED, icon="⚠️")
