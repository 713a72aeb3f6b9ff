"""Signing in and staying signed in: the one entry point for both modes, with no streamlit.

SignIn decides; lib.ui.signed_in keeps its answer (a SignedIn, lib.auth.signed_in) in the browser
session's state and hands it what the request says (a Visitor). What differs between the embedded default's local
accounts and Supabase Auth lives behind one interface, AccountsMode (lib.auth.modes: local_mode.py,
supabase_mode.py), so no caller asks which mode it is in:

- a password sign-in, the first administrator, and a single sign-on (lib.auth.sso) each start the
  server's session behind the browser's cookie (lib.auth.sessions) and a one-time ticket the page
  trades for that cookie;
- a reload finds the session again from the cookie (restore); the periodic re-check reads the user
  again and ends a session the server no longer holds; signing out ends it everywhere.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import replace
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Callable, Mapping

from lib.auth import sso
from lib.auth.accounts import MSG_NO_EMAIL, MSG_NO_PASSWORD
from lib.auth.sessions import CookieHandoff, SessionStore
from lib.auth.signed_in import MSG_ENDED, NoAccess, ProviderSignIn, SessionEnded, SignedIn, Started, Visitor
from lib.errors import AppError, AuthError, ValidationError
from lib.models import User

if TYPE_CHECKING:
    from lib.auth.admin import AccountAdmin, SupabaseRoleAdmin
    from lib.auth.modes import AccountsMode
    from lib.instances import InstanceService
    from lib.store.base import InstanceStore
    from lib.store.supabase.user_client import SupabaseUserClient  # supabase-py is slow to import

    ServiceFactory = Callable[[User, InstanceStore, Callable[[], User | None]], InstanceService]

log = logging.getLogger(__name__)

CHANGES_KEPT_SECONDS = 300.0  # who an admin changed, remembered for the open pages' next checks


class SignIn:
    def __init__(self, mode: AccountsMode, sessions: SessionStore, handoff: CookieHandoff, *,
                 services: ServiceFactory, provider_configured: bool):
        self.mode = mode
        self.sessions = sessions
        self.handoff = handoff
        self._services = services
        self.provider_configured = provider_configured  # [auth] is configured: single sign-on
        self._changed: dict[str, float] = {}  # user id -> when an admin last changed them (monotonic)
        self._changed_lock = threading.Lock()

    @property
    def login_note(self) -> str:
        return self.mode.login_note

    # -- starting a session -------------------------------------------------------------------------
    def with_password(self, email: str, password: str, visitor: Visitor) -> Started:
        """Check the credentials and start a session. Raises ValidationError for an empty field
        (the e-mail asked first; nothing is checked or counted then), AuthError."""
        if not (email or "").strip():
            raise ValidationError(MSG_NO_EMAIL)
        if not password:
            raise ValidationError(MSG_NO_PASSWORD)
        user, supabase = self.mode.check_password(email, password, visitor.address)
        return self._start(user, supabase, visitor, by_provider=False)

    def first_start(self) -> bool:
        """Whether the first administrator is still to be made. StoreError: see setup_code."""
        return self.mode.setup_code() is not None

    def setup_code(self) -> str | None:
        return self.mode.setup_code()

    def first_admin(self, email: str, password: str, setup_code: str, visitor: Visitor) -> Started:
        return self._start(self.mode.first_admin(email, password, setup_code), None, visitor, by_provider=False)

    def provider_unavailable(self) -> str | None:
        return self.mode.provider_unavailable()

    def with_provider(self, claims: Mapping, visitor: Visitor, *, used_key: str | None = None) -> ProviderSignIn:
        """Right after the identity provider's sign-in (st.user's claims): a session for the user
        the e-mail maps to, started as a password sign-in starts one. Only a recent sign-in counts,
        and only once (lib.auth.sso): after "Sair", or after an admin ended the session, the login
        page shows again instead of a session made again from Streamlit's identity cookie.
        `used_key`: a sign-in this browser found used already. Raises NoAccess when the e-mail maps
        to no user here, AppError when the store can't be asked (try again later)."""
        email = str(claims.get("email") or "")
        try:
            identity = sso.identity(claims)
            if identity is None or not identity.fresh(datetime.now(timezone.utc)):
                return ProviderSignIn()  # an old sign-in: the login page offers the provider again
            if identity.key == used_key:
                return ProviderSignIn()  # found used on an earlier run: no need to ask the store again
            email = identity.email
            user = self.mode.user_for_provider(identity.email)
        except AuthError as exc:
            raise NoAccess(exc.message, email[:254]) from None
        if not self.sessions.claim_sign_in(identity.key, keep=sso.FRESH + sso.CLOCK_SKEW):
            return ProviderSignIn(used_key=identity.key)  # it started a session already (ended since, or in another tab)
        try:
            user, supabase = self.mode.provider_session(user, identity.email)
        except AppError as exc:
            raise NoAccess(exc.message, identity.email) from None
        log.info("single sign-on: session started for a %s", user.role)
        return ProviderSignIn(started=self._start(user, supabase, visitor, by_provider=True))

    def _start(self, user: User, supabase: SupabaseUserClient | None, visitor: Visitor, *, by_provider: bool) -> Started:
        raw_id = self.sessions.create(user, user_agent=visitor.user_agent,
                                      refresh_token=supabase.refresh_token if supabase else None,
                                      method="sso" if by_provider else "password")
        return Started(self._enter(user, raw_id, supabase, by_provider), self.handoff.offer(raw_id))

    def _enter(self, user: User, raw_id: str, supabase: SupabaseUserClient | None, by_provider: bool) -> SignedIn:
        if supabase is not None:  # Supabase rotates refresh tokens: the server keeps the newest
            sessions = self.sessions
            supabase.on_refresh_token = lambda token: sessions.keep_refresh_token(raw_id, token)
        return SignedIn(user, raw_id, by_provider, supabase)

    # -- staying signed in ------------------------------------------------------------------------
    def restore(self, cookie_id: str) -> SignedIn | None:
        """A reload or a new tab: the session of the browser's cookie, while the server still holds
        it. None: the cookie no longer works (the session is ended; clear the cookie). Raises
        AuthError when Supabase can't be reached (the session stays, for the next try)."""
        stored = self.sessions.resume(cookie_id)
        user, supabase = None, None
        if stored is not None and not (stored.sso and not self.provider_configured):  # else: a provider no longer configured
            user, supabase = self.mode.resume(stored)
        if user is None:
            self.sessions.end(cookie_id)
            return None
        signed_in = self._enter(user, cookie_id, supabase, stored.sso)
        if supabase is not None:
            self.sessions.keep_refresh_token(cookie_id, supabase.refresh_token)
        return signed_in

    def check(self, signed_in: SignedIn, *, reread: bool, since: float, touch: bool = False) -> SignedIn:
        """Every run, and every few seconds while a page is open: the session as the server holds it
        now. Raises SessionEnded when the server no longer holds it (signed out in another browser
        with the same cookie, ended by an admin, expired; deactivating a user and resetting a
        password end their sessions) or the user is gone. The user is read again when `reread` (at
        least once a minute) or when an admin changed them on this server since `since`
        (time.monotonic()); a new role applies at once. Unchanged when the accounts can't be asked
        now. `touch`: the person is using the page (it keeps the session from going idle)."""
        self._require_session(signed_in, touch=touch)
        if not reread and not self._changed_since(signed_in.user.id, since):
            return signed_in
        try:
            fresh = self.mode.current_user(signed_in)
        except AppError:
            return signed_in  # the store is unreachable: ask again next time
        if fresh is None:
            raise SessionEnded(MSG_ENDED)
        return signed_in if fresh == signed_in.user else replace(signed_in, user=fresh)

    def current_user(self, signed_in: SignedIn) -> User | None:
        """The user as the server holds them this moment, for a change about to run (the service and
        the user admin ask before every one). Raises SessionEnded when the session is over."""
        self._require_session(signed_in, touch=False)
        return self.mode.current_user(signed_in)

    def _require_session(self, signed_in: SignedIn, *, touch: bool) -> None:
        stored = self.sessions.resume(signed_in.session_id, touch=touch)
        if stored is None or (signed_in.by_provider and not self.provider_configured):  # a provider no longer configured
            raise SessionEnded(MSG_ENDED)
        if stored.touched:
            self.mode.record_use(signed_in)

    def note_change(self, user_id: str) -> None:
        """An admin changed this user (role, activation, password, sessions): their open pages read
        them again at their next check instead of within the minute."""
        with self._changed_lock:
            now = time.monotonic()
            for old in [u for u, at in self._changed.items() if at < now - CHANGES_KEPT_SECONDS]:
                del self._changed[old]
            self._changed[user_id] = now

    def _changed_since(self, user_id: str, since: float) -> bool:
        with self._changed_lock:
            return self._changed.get(user_id, float("-inf")) >= since

    def keep_fresh(self, signed_in: SignedIn) -> None:
        """At the top of every run (Supabase mode: refresh an expired access token, so an idle tab
        keeps working). Raises SessionEnded when refused, AuthError when Supabase is unreachable."""
        self.mode.refresh(signed_in)

    def sign_out(self, signed_in: SignedIn) -> None:
        """End the server's session (the cookie then works nowhere) and forget its credentials."""
        self.sessions.end(signed_in.session_id)
        self.mode.end(signed_in)

    # -- what a signed-in person does -------------------------------------------------------------
    def can_change_password(self, signed_in: SignedIn) -> bool:
        return self.mode.can_change_password(signed_in)

    def change_password(self, signed_in: SignedIn, current: str, new: str, visitor: Visitor) -> Started:
        """The person's own password (the current one checked under the login throttle). Every
        session of theirs ends, this browser's too, which goes on under a new session id (as
        Django's update_session_auth_hash cycles the key): a copy of any of their cookies, this
        browser's included, works nowhere after it."""
        self.mode.change_password(signed_in, current, new, visitor.address)
        self.sessions.end_all(signed_in.user.id)
        user = replace(signed_in.user, must_change_password=False)
        return self._start(user, signed_in.supabase, visitor, by_provider=signed_in.by_provider)

    def service(self, signed_in: SignedIn) -> InstanceService:
        """The instance service of this signed-in session: it acts with the person's own rights and
        reads the user, and checks the session, again before every change."""
        return self._services(signed_in.user, self.mode.instance_store(signed_in),
                              lambda: self.current_user(signed_in))

    def user_admin(self, signed_in: SignedIn) -> AccountAdmin | SupabaseRoleAdmin:
        """What the Usuários page manages, as this admin (checked, session included, before every
        change); whoever it changes sees it at their open pages' next check."""
        return self.mode.user_admin(signed_in, current_user=lambda: self.current_user(signed_in),
                                    on_change=self.note_change)
