"""Supabase Auth behind lib.auth.signin.AccountsMode: every signed-in person gets their own Supabase
session and client (lib.store.supabase.user_client.SupabaseUserClient), so row-level security decides
what they read and write; the server's service-role store (when configured) only maps a single
sign-on's e-mail to its role and makes the one-time sign-in link that follows."""

from __future__ import annotations

from typing import Callable

from lib.auth import sso
from lib.auth.accounts import MSG_BAD_LOGIN, normalize_email
from lib.auth.admin import SupabaseRoleAdmin
from lib.auth.sessions import SessionStore, StoredSession
from lib.auth.signed_in import SessionEnded, SignedIn
from lib.auth.throttle import LoginThrottle
from lib.config.settings import SupabaseSettings
from lib.errors import AuthError, PermissionDenied, ValidationError
from lib.models import User
from lib.store.supabase.errors import MSG_EXPIRED
from lib.store.supabase.instances import SupabaseInstanceStore
from lib.store.supabase.server import SupabaseServerStore
from lib.store.supabase.user_client import SupabaseUserClient

MSG_NOT_HERE = "No modo Supabase as contas e as senhas ficam no Supabase Auth."


class SupabaseMode:
    def __init__(self, settings: SupabaseSettings, throttle: LoginThrottle, sessions: SessionStore,
                 server_store: Callable[[], SupabaseServerStore | None], *, label: str):
        self.settings = settings
        self.throttle = throttle
        self.sessions = sessions
        self.server_store = server_store  # None without the service-role key
        self.login_note = f"Modo: {label}. Entre com sua conta do Supabase."

    def check_password(self, email: str, password: str, address: str | None) -> tuple[User, SupabaseUserClient]:
        """Supabase Auth checks the password, behind the same throttle as the local accounts: Supabase's
        own limits see only this server's address, so they would let one attacker lock everyone out."""
        try:
            counted_as = normalize_email(email)
        except ValidationError:
            raise AuthError(MSG_BAD_LOGIN) from None
        session = SupabaseUserClient(self.settings)
        return self.throttle.guard(counted_as, address, lambda: session.sign_in(counted_as, password)), session

    def setup_code(self) -> None:
        return None  # the first admin is given in SQL (README, Production: Supabase)

    def first_admin(self, email: str, password: str, setup_code: str) -> User:
        raise PermissionDenied(MSG_NOT_HERE)

    def resume(self, stored: StoredSession) -> tuple[User | None, SupabaseUserClient | None]:
        session = SupabaseUserClient(self.settings)
        try:
            return session.restore(stored.refresh_token), session
        except AuthError as exc:
            if exc.message != MSG_EXPIRED:  # Supabase unreachable: the session stays for the next try
                raise
        return None, None

    def current_user(self, signed_in: SignedIn) -> User | None:
        return signed_in.supabase.current_user()  # a user without a role stays, and sees "Sem acesso"

    def user_for_provider(self, email: str) -> User:
        return sso.user_for_email(email, directory=self.server_store())

    def provider_session(self, user: User, email: str) -> tuple[User, SupabaseUserClient]:
        """The person's own Supabase session, through a one-time sign-in link the server asks for."""
        session = SupabaseUserClient(self.settings)
        return session.sign_in_with_link(self.server_store().sign_in_link(email)), session

    def provider_unavailable(self) -> str | None:
        return sso.MSG_NEEDS_SERVICE_KEY if self.server_store() is None else None

    def record_use(self, signed_in: SignedIn) -> None:
        pass  # Supabase Auth keeps the last sign-in; the Usuários page adds this server's sessions (user_admin)

    def refresh(self, signed_in: SignedIn) -> None:
        """Auto-refresh is off: an expired access token is refreshed here. A rejected refresh token
        ends the session; Supabase unreachable keeps it (AuthError), for the next run."""
        supabase = signed_in.supabase
        try:
            supabase.refresh_if_needed()
        except AuthError:
            if supabase.user is not None:
                raise
        if supabase.user is None:  # refresh token rejected, here or during a store call
            raise SessionEnded(MSG_EXPIRED)

    def end(self, signed_in: SignedIn) -> None:
        signed_in.supabase.sign_out()

    def can_change_password(self, signed_in: SignedIn) -> bool:
        return False

    def change_password(self, signed_in: SignedIn, current: str, new: str, address: str | None) -> None:
        raise PermissionDenied(MSG_NOT_HERE)

    def instance_store(self, signed_in: SignedIn) -> SupabaseInstanceStore:
        """The person's own rights; what the provider says during their checks is the server's to
        write in the history (SupabaseInstanceStore), when the server has its key."""
        server = self.server_store()
        return signed_in.supabase.store(server.add_event if server is not None else None)

    def user_admin(self, signed_in: SignedIn, *, current_user: Callable[[], User | None],
                   on_change: Callable[[str], None]) -> SupabaseRoleAdmin:
        return SupabaseRoleAdmin(signed_in.supabase, self.server_store(), current_user=current_user,
                                 on_change=on_change, last_seen=self.sessions.last_seen)
