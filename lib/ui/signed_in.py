"""The signed-in browser session as Streamlit keeps it. lib.auth.signin decides; this keeps its
answer (a SignedIn: the user, the cookie's session id, their Supabase client in Supabase mode) in
st.session_state, one per browser session and never shared, tells it what the request says
(st.context: the cookie, the address, the user agent), and writes the page's script that sets or
clears the session cookie through the server's route (lib.api)."""

from __future__ import annotations

import json
import time

import streamlit as st

from lib.auth.sessions import COOKIE_NAME
from lib.auth.signed_in import NoAccess, SessionEnded, SignedIn, Started, Visitor
from lib.auth.signin import SignIn
from lib.config.settings import current_settings
from lib.context import AppContext, app_context
from lib.errors import AppError, AuthError
from lib.instances import InstanceService
from lib.models import User
from lib.presentation import escape_markdown
from lib.ui import feedback
from lib.ui.ticks import run_live

SIGNED_IN_KEY = "signed_in"
SERVICE_KEY = "service"
COOKIE_TICKET_KEY = "cookie_ticket"  # to trade for the cookie on the next run
CLEAR_COOKIE_KEY = "clear_cookie"
RESTORE_TRIED_KEY = "restore_tried"
SSO_REFUSED_KEY = "sso_refused"  # (message, e-mail): the provider's sign-in maps to no user here
SSO_USED_KEY = "sso_used"  # the key of a provider's sign-in that had already started a session
LEAVE_PROVIDER_KEY = "leave_provider"  # "Sair": st.logout() at the end of the next full run
USER_CHECKED_KEY = "user_checked_at"  # when the user was last read again (time.monotonic())
USER_CHECK_SECONDS = 60  # the role is read again at least this often (and before every change)
LAST_CHECK_KEY = "session_checked_at"  # when the session was last checked (time.monotonic())


def context() -> AppContext:
    """Raises ConfigError (shown by app.py) when the configuration is wrong."""
    return app_context(current_settings())


def signin() -> SignIn:
    return context().signin


def signed_in() -> SignedIn | None:
    return st.session_state.get(SIGNED_IN_KEY)


def current_user() -> User | None:
    current = signed_in()
    return current.user if current is not None else None


def visitor() -> Visitor:
    return Visitor(client_address(), _text(st.context.headers.get("User-Agent")))


def client_address() -> str | None:
    """The browser's address for the login throttle, as the server decided it (lib.client_address;
    None on the server's own machine)."""
    return _text(st.context.ip_address) or None


def _text(value) -> str:
    """A request detail as text ("" when absent; under AppTest st.context gives mocks)."""
    return value if isinstance(value, str) else ""


# -- starting and ending -----------------------------------------------------------------------------
def sign_in(email: str, password: str) -> None:
    """Raises AuthError."""
    _begin(signin().with_password(email, password, visitor()))


def first_admin(email: str, password: str, setup_code: str) -> None:
    """Raises ValidationError."""
    _begin(signin().first_admin(email, password, setup_code, visitor()))


def _begin(started: Started) -> None:
    """A fresh state for the browser session that just signed in; the cookie is set on the next
    run (cookie_script)."""
    st.session_state.clear()
    _keep(started.signed_in)
    st.session_state[COOKIE_TICKET_KEY] = started.ticket


def _keep(current: SignedIn) -> None:
    st.session_state[SIGNED_IN_KEY] = current
    st.session_state[USER_CHECKED_KEY] = time.monotonic()


def restore() -> None:
    """On a browser session's first run (a reload, a new tab): the session of the cookie, while the
    server still holds it. A cookie that no longer works is cleared."""
    if SIGNED_IN_KEY in st.session_state or st.session_state.get(RESTORE_TRIED_KEY):
        return
    st.session_state[RESTORE_TRIED_KEY] = True
    cookie_id = _text(st.context.cookies.get(COOKIE_NAME))
    if not cookie_id:
        return
    try:
        restored = signin().restore(cookie_id)
    except AuthError as exc:  # Supabase unreachable: the session stays for the next try
        st.session_state[RESTORE_TRIED_KEY] = False
        st.warning(escape_markdown(exc.message), icon=":material/warning:")
        return
    if restored is None:
        st.session_state[CLEAR_COOKIE_KEY] = True
    else:
        _keep(restored)


def sign_out(message: str | None = None, *, leave_provider: bool = False) -> None:
    """End the server's session (the cookie then works nowhere) and this browser session's state.
    `leave_provider` ("Sair"): also clear Streamlit's identity cookie, with st.logout() at the end
    of the next full run (cookie_script), which then takes the browser to the provider's sign-out
    page when the provider has one. Not in this run: the caller reruns, and a rerun after
    st.logout() loses its redirect, while stopping here would leave the signed-in page's fragments
    ticking with the state cleared. A session ended otherwise needs no st.logout(): a provider's
    sign-in starts one session only (lib.auth.sso)."""
    current = signed_in()
    if current is not None:
        signin().sign_out(current)
    st.session_state.clear()
    st.session_state[RESTORE_TRIED_KEY] = True
    st.session_state[CLEAR_COOKIE_KEY] = True
    if message:
        feedback.flash(message, icon=":material/lock:")
    if leave_provider and provider_claims():
        st.session_state[LEAVE_PROVIDER_KEY] = True


def keep_fresh() -> None:
    """At the top of every run: the session's credentials kept fresh (Supabase mode refreshes an
    expired access token, so an idle tab keeps working); a refused refresh signs the user out."""
    current = signed_in()
    if current is None:
        return
    try:
        signin().keep_fresh(current)
    except SessionEnded as exc:
        sign_out(exc.message)
    except AuthError as exc:  # Supabase unreachable: keep the session, retry next run
        st.warning(escape_markdown(exc.message), icon=":material/warning:")


def check(*, touch: bool = False) -> None:
    """Every run (`touch`: app.py's, the person is using the page) and every tick of the live parts
    of a page: the session as the server holds it now (lib.auth.signin.SignIn.check). One that
    ended elsewhere signs this browser out at once and shows the login page; the user is read again
    at least once a minute, after a refused change, and as soon as an admin changed them on this
    server (a new role applies at once, with a new service: lib.ui.caches reads again)."""
    current = signed_in()
    if current is None:
        return
    now = time.monotonic()
    since = st.session_state.get(LAST_CHECK_KEY, 0.0)
    reread = now - st.session_state.get(USER_CHECKED_KEY, 0.0) >= USER_CHECK_SECONDS
    reread = st.session_state.pop(feedback.REFUSED_KEY, False) or reread
    st.session_state[LAST_CHECK_KEY] = now
    try:
        fresh = signin().check(current, reread=reread, since=since, touch=touch)
    except SessionEnded as exc:
        sign_out(exc.message)
        st.rerun()  # the whole app, from a fragment too: the login page
    if reread:
        st.session_state[USER_CHECKED_KEY] = now
    if fresh is not current:
        st.session_state[SIGNED_IN_KEY] = fresh
        st.session_state.pop(SERVICE_KEY, None)


def watch() -> None:
    """For a person without access yet (no role, or a temporary password; lib.ui.live follows
    everyone else): the session checked every few seconds, the page drawn again when the user
    changed (a role given meanwhile shows within seconds)."""
    run_live(_watch)


def _watch() -> None:
    before = signed_in()
    check()
    if signed_in() is not before:
        st.rerun()


# -- single sign-on (lib.auth.sso) ---------------------------------------------------------------
def provider_claims() -> dict:
    """st.user's claims while someone is signed in at the identity provider, else {}."""
    try:
        claims = st.user.to_dict()
    except Exception:  # noqa: BLE001 - no [auth] section where Streamlit looks: nobody is
        return {}
    return claims if claims.get("is_logged_in") is True else {}


def provider_sign_in() -> None:
    """Right after the identity provider's sign-in (st.login): the app's own session for the user
    the e-mail maps to (lib.auth.signin.SignIn.with_provider). An e-mail that maps to no user is
    remembered for this browser session; the login page says so (sso_refusal)."""
    if not signin().provider_configured or signed_in() is not None or st.session_state.get(LEAVE_PROVIDER_KEY):
        return
    claims = provider_claims()
    if not claims:
        st.session_state.pop(SSO_REFUSED_KEY, None)
        return
    if SSO_REFUSED_KEY in st.session_state:
        return
    try:
        outcome = signin().with_provider(claims, visitor(), used_key=st.session_state.get(SSO_USED_KEY))
    except NoAccess as exc:
        st.session_state[SSO_REFUSED_KEY] = (exc.message, exc.email)
        return
    except AppError as exc:  # the store is unreachable: try again on the next run
        st.warning(escape_markdown(exc.message), icon=":material/warning:")
        return
    if outcome.used_key:
        st.session_state[SSO_USED_KEY] = outcome.used_key
    if outcome.started:
        _begin(outcome.started)


def signed_in_by_provider() -> bool:
    current = signed_in()
    return current is not None and current.by_provider


def sso_refusal() -> tuple[str, str] | None:
    """(message, e-mail) when the provider's sign-in maps to no user here, for the login page."""
    return st.session_state.get(SSO_REFUSED_KEY)


# -- what the signed-in person does -----------------------------------------------------------------
def service() -> InstanceService:
    if SERVICE_KEY not in st.session_state:
        st.session_state[SERVICE_KEY] = signin().service(signed_in())
    return st.session_state[SERVICE_KEY]


def user_admin():
    """What the Usuários page manages (lib.auth.admin: AccountAdmin or SupabaseRoleAdmin), as the
    signed-in admin."""
    return signin().user_admin(signed_in())


def can_change_password() -> bool:
    current = signed_in()
    return current is not None and signin().can_change_password(current)


def change_password(current_password: str, new_password: str) -> None:
    """Every other session of the person ends; this one goes on under a new id (a new cookie on
    the next run). Raises ValidationError, or AuthError from the login throttle."""
    started = signin().change_password(signed_in(), current_password, new_password, visitor())
    _keep(started.signed_in)
    st.session_state.pop(SERVICE_KEY, None)  # it acted for the session that ended
    st.session_state[COOKIE_TICKET_KEY] = started.ticket


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
