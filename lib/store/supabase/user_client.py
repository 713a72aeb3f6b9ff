"""A signed-in person's Supabase client (SupabaseUserClient), one per browser: Supabase Auth
sign-in, restore and refresh, the user-admin functions (admins), and the requests its store runs
with the person's rights."""

from __future__ import annotations

import base64
import json
import logging
import threading
from dataclasses import replace
from typing import Any, Callable

import httpx
from postgrest import APIError
from supabase import Client, create_client
from supabase.lib.client_options import SyncClientOptions  # exported by `supabase` as ClientOptions
from supabase_auth.errors import AuthApiError, AuthRetryableError
from supabase_auth.errors import AuthError as GoTrueError
from supabase_auth.types import AuthChangeEvent, Session

from lib.config.settings import SupabaseSettings
from lib.errors import AppError, AuthError, StoreError
from lib.models import ROLES, InstanceEvent, User
from lib.store.supabase.errors import (
    HTTP_TIMEOUT_SECONDS, MSG_EXPIRED, MSG_OFFLINE, is_jwt_error, store_error,
)
from lib.store.supabase.instances import SupabaseInstanceStore
from lib.store.supabase.roles import UserAdminCalls

log = logging.getLogger(__name__)

ROLE_CLAIM = "user_role"  # set by a custom access-token hook, when the project has one

MSG_BAD_LOGIN = "E-mail ou senha incorretos."
MSG_UNCONFIRMED = "E-mail ainda não confirmado. Verifique sua caixa de entrada."
# Managing users (supabase/migrations/20261203000000_user_admin.sql).
class SupabaseUserClient(UserAdminCalls):
    """The Supabase client of one browser session and the user signed in with it.

    Keep it in st.session_state. Call refresh_if_needed() at the top of every script run."""

    def __init__(self, settings: SupabaseSettings):
        # Fresh options (and so a fresh in-memory session storage) for every client; one httpx
        # client per session, shared by auth and PostgREST, with a timeout fit for a UI.
        options = SyncClientOptions(
            auto_refresh_token=False,  # no background timer threads; refreshed on demand instead
            persist_session=True,
            httpx_client=httpx.Client(timeout=HTTP_TIMEOUT_SECONDS),
        )
        self._client: Client = create_client(settings.url, settings.anon_key, options=options)
        self._user: User | None = None
        self._access_token: str | None = None
        self._refresh_token: str | None = None
        self._lock = threading.Lock()
        # Told each new refresh token (Supabase rotates them): the server keeps the newest with the
        # browser's session (lib.auth.sessions), so a reload can sign in again.
        self.on_refresh_token: Callable[[str | None], None] | None = None
        self._client.auth.on_auth_state_change(self._on_auth_event)

    @property
    def user(self) -> User | None:
        return self._user

    @property
    def refresh_token(self) -> str | None:
        return self._refresh_token

    def store(self, system_events: Callable[[InstanceEvent], InstanceEvent] | None = None) -> SupabaseInstanceStore:
        """The instances with this person's rights; `system_events` writes the history events that
        are the server's (SupabaseServerStore.add_event, when the server has its key)."""
        return SupabaseInstanceStore(self._execute, system_events)

    def sign_in(self, email: str, password: str) -> User:
        try:
            response = self._client.auth.sign_in_with_password(
                {"email": (email or "").strip(), "password": password or ""}
            )
        except GoTrueError as exc:
            raise _sign_in_error(exc) from None
        except httpx.TransportError:
            raise AuthError(MSG_OFFLINE) from None
        return self._signed_in(response, email)

    def _signed_in(self, response, email: str) -> User:
        """The user of a fresh sign-in's response, with their role."""
        if response.session is None or response.user is None:
            raise AuthError("Não foi possível entrar. Tente novamente.")
        try:
            role = self._read_role(response.session)
        except AppError as exc:
            self._clear_local_session()
            raise AuthError(exc.message) from None
        self._user = User(id=response.user.id, email=response.user.email or email, role=role)
        return self._user

    def sign_in_with_link(self, token_hash: str) -> User:
        """Sign in with a one-time link's token (SupabaseServerStore.sign_in_link, for a person the
        identity provider signed in): from here on this session is theirs, as after a password."""
        try:
            response = self._client.auth.verify_otp({"type": "magiclink", "token_hash": token_hash})
        except GoTrueError as exc:
            raise _sign_in_error(exc) from None
        except httpx.TransportError:
            raise AuthError(MSG_OFFLINE) from None
        return self._signed_in(response, response.user.email if response.user else "")

    def restore(self, refresh_token: str | None) -> User:
        """Sign in again from the refresh token the server kept with the browser's session (a
        reload, a new tab). Raises AuthError (MSG_EXPIRED when Supabase refuses it)."""
        if not refresh_token:
            raise AuthError(MSG_EXPIRED)
        try:
            response = self._client.auth.refresh_session(refresh_token)
        except Exception as exc:  # noqa: BLE001 - classified by _refresh_failed
            raise self._refresh_failed(exc) from None
        if response.session is None or response.user is None:
            raise AuthError(MSG_EXPIRED)
        try:
            role = self._read_role(response.session)
        except AppError as exc:
            raise AuthError(exc.message) from None
        self._user = User(id=response.user.id, email=response.user.email or "", role=role)
        return self._user

    def current_user(self) -> User | None:
        """The user with the role read again now (a demoted admin loses it at once); None when
        signed out. Raises AppError when Supabase cannot be asked."""
        if self._user is None:
            return None
        session = self._client.auth.get_session()
        if session is None:
            self._clear_local_session()
            return None
        self._user = replace(self._user, role=self._read_role(session))
        return self._user

    def sign_out(self) -> None:
        """Forget the session here and revoke it on the server if possible; never raises, since
        the local state is cleared either way."""
        self._user = None
        try:
            self._client.auth.sign_out({"scope": "local"})
        except Exception as exc:  # noqa: BLE001 - offline or already revoked: nothing to do
            log.info("Supabase sign-out request failed (%s); signed out locally", type(exc).__name__)
            self._clear_local_session()

    def refresh_if_needed(self) -> User | None:
        """Refresh the access token when it has expired (Supabase issues 1-hour tokens), so a
        long-open tab keeps working. Returns the signed-in user, or None.

        Raises AuthError: MSG_EXPIRED when the refresh token was rejected (the user is then
        signed out here, `user` is None), MSG_OFFLINE when Supabase could not be reached (the
        session is kept for the next try)."""
        if self._user is None:
            return None
        with self._lock:
            try:
                # get_session() refreshes through GoTrue when expires_at is (nearly) past.
                session = self._client.auth.get_session()
            except Exception as exc:  # noqa: BLE001 - classified below
                raise self._refresh_failed(exc) from None
        if session is None:
            self._clear_local_session()
            raise AuthError(MSG_EXPIRED)
        return self._user

    # --- internals shared with the store ---------------------------------------------------

    def _execute(self, build_query: Callable[[Client], Any],
                 errors: dict[str, Callable[[], AppError]] | None = None) -> Any:
        """Run the PostgREST request that build_query(client) makes and return its data, mapping
        errors to AppErrors (`errors`: the caller's own, by SQLSTATE, before the usual ones). A
        request rejected for an expired JWT is retried once after a token refresh; the query is
        rebuilt because a builder keeps the headers it was created with."""
        for attempt in (1, 2):
            sent_token = self._access_token
            try:
                return build_query(self._client).execute().data
            except APIError as exc:
                if is_jwt_error(exc):
                    if attempt == 1 and self._refresh_token is not None:
                        self._refresh_after_rejection(sent_token)
                        continue
                    self._clear_local_session()
                    raise AuthError(MSG_EXPIRED) from exc
                if errors and exc.code in errors:
                    raise errors[exc.code]() from exc
                raise store_error(exc) from exc
            except httpx.TransportError as exc:  # connect errors, timeouts, dropped connections
                raise StoreError(MSG_OFFLINE) from exc
        raise AssertionError("unreachable")

    def _refresh_after_rejection(self, sent_token: str | None) -> None:
        with self._lock:
            if self._access_token != sent_token:
                return  # refreshed meanwhile (another run of this browser session)
            try:
                # With the token passed explicitly, refresh_session() skips get_session(),
                # which could refresh a second time.
                self._client.auth.refresh_session(self._refresh_token)
            except Exception as exc:  # noqa: BLE001 - classified below
                raise self._refresh_failed(exc) from None

    def _refresh_failed(self, exc: Exception) -> AuthError:
        if isinstance(exc, (AuthRetryableError, httpx.TransportError)):
            return AuthError(MSG_OFFLINE)
        log.info("Supabase token refresh rejected (%s); signing out", type(exc).__name__)
        self._clear_local_session()
        return AuthError(MSG_EXPIRED)

    def _clear_local_session(self) -> None:
        """Sign out without a network call (sign_out() would first try to refresh an expired
        session). Uses supabase-auth internals, checked against 2.34.1."""
        self._user = None
        auth = self._client.auth
        auth._remove_session()
        auth._notify_all_subscribers("SIGNED_OUT", None)  # resets the client's bearer to the anon key

    def _on_auth_event(self, event: AuthChangeEvent, session: Session | None) -> None:
        self._access_token = session.access_token if session else None
        refresh_token = session.refresh_token if session else None
        if refresh_token != self._refresh_token:
            self._refresh_token = refresh_token
            if self.on_refresh_token is not None:
                self.on_refresh_token(refresh_token)

    def _read_role(self, session: Session) -> str | None:
        """The role from the access token's `user_role` claim when a hook sets it, else from
        user_roles (own rows only, by RLS). The claim is read without verifying the signature:
        the token came straight from GoTrue, and the database enforces access on its own."""
        claimed = _jwt_claims(session.access_token).get(ROLE_CLAIM)
        if claimed in ROLES:
            return claimed
        rows = self._execute(
            lambda c: c.table("user_roles").select("role").eq("user_id", session.user.id)
        )
        roles = {row.get("role") for row in rows or []}
        return next((role for role in ROLES if role in roles), None)  # ROLES: most privileged first



def _jwt_claims(token: str) -> dict:
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError):
        return {}
    return claims if isinstance(claims, dict) else {}


def _sign_in_error(exc: GoTrueError) -> AuthError:
    if isinstance(exc, AuthRetryableError):  # no response, or a gateway 5xx
        return AuthError(MSG_OFFLINE)
    message = (exc.message or "").lower()
    if exc.code == "invalid_credentials" or "invalid login credentials" in message:
        return AuthError(MSG_BAD_LOGIN)
    if exc.code == "email_not_confirmed" or "email not confirmed" in message:
        return AuthError(MSG_UNCONFIRMED)
    if exc.code in ("over_request_rate_limit", "over_email_send_rate_limit") or (
        isinstance(exc, AuthApiError) and exc.status == 429
    ):
        return AuthError("Muitas tentativas. Aguarde alguns minutos e tente novamente.")
    log.warning("Supabase sign-in failed: %s (%s)", type(exc).__name__, exc.code)
    return AuthError("Não foi possível entrar. Tente novamente.")
