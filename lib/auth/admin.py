"""What the Usuários page does, for an admin checked again (their session included) before every
change; whoever a change touches is told to their open pages (`on_change`, lib.auth.signin).

Embedded mode (AccountAdmin, local accounts): add with a temporary password, change a role,
deactivate and reactivate (which ends the user's sessions), reset a password, end a user's sessions.

Supabase mode (SupabaseRoleAdmin): list who holds a role, give a role by e-mail to an existing
Supabase Auth user, change it, take it away, and invite someone by e-mail (when the server has the
service-role key). The database checks the admin on every call (the functions of
supabase/migrations/20261203000000_user_admin.sql)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING, Callable

from lib.auth.accounts import Account, LocalAccounts
from lib.auth.sessions import SessionStore
from lib.errors import AppError, PermissionDenied, StoreError
from lib.models import User

if TYPE_CHECKING:  # RoleHolder: what SupabaseRoleAdmin.holders() lists, for the screens to name
    from lib.store.supabase.server import SupabaseServerStore
    from lib.store.supabase.roles import RoleHolder
    from lib.store.supabase.user_client import SupabaseUserClient


MSG_NOT_ADMIN = "Apenas administradores gerenciam usuários."


@dataclass(frozen=True)
class AccountRow:
    account: Account
    open_sessions: int


def _nobody(user_id: str) -> None:
    pass


class AccountAdmin:
    """`current_user` reads the acting admin again (None: gone; SessionEnded: their session is
    over); the command line's is always its own administrator."""

    def __init__(self, accounts: LocalAccounts, sessions: SessionStore, current_user: Callable[[], User | None],
                 *, on_change: Callable[[str], None] = _nobody):
        self.accounts = accounts
        self.sessions = sessions
        self.current_user = current_user
        self.on_change = on_change

    def list(self) -> list[AccountRow]:
        self._require_admin()
        return [AccountRow(a, self.sessions.count(a.id)) for a in self.accounts.list()]

    def people(self) -> dict[str, str]:
        """Who can own an instance ("Responsável"): every active account, id → e-mail."""
        self._require_admin()
        return {a.id: a.email for a in self.accounts.list() if a.active}

    def add(self, email: str, role: str) -> tuple[User, str]:
        """The new user and their temporary password (to show once)."""
        self._require_admin()
        return self.accounts.add_with_temporary_password(email, role)

    def add_without_password(self, email: str, role: str) -> User:
        """A new user who signs in only through the identity provider (single sign-on)."""
        self._require_admin()
        return self.accounts.add(email, None, role)

    def set_role(self, user_id: str, role: str) -> None:
        self._require_admin()
        self.accounts.set_role(user_id, role)
        self.on_change(user_id)

    def set_active(self, user_id: str, active: bool) -> None:
        self._require_admin()
        self.accounts.set_active(user_id, active)
        if not active:
            self.sessions.end_all(user_id)
        self.on_change(user_id)

    def reset_password(self, user_id: str) -> str:
        """A new temporary password (to show once); the user's sessions end."""
        self._require_admin()
        password = self.accounts.reset_password(user_id)
        self.sessions.end_all(user_id)
        self.on_change(user_id)
        return password

    def end_sessions(self, user_id: str) -> int:
        self._require_admin()
        ended = self.sessions.end_all(user_id)
        self.on_change(user_id)
        return ended

    def _require_admin(self) -> None:
        current = self.current_user()
        if current is None or not current.is_admin:
            raise PermissionDenied(MSG_NOT_ADMIN)


class SupabaseRoleAdmin:
    """Roles in Supabase mode, through the signed-in admin's own Supabase session (the database
    refuses anyone else). `server` is the process's store with the service-role key, used for
    invitations only; None when the key is not configured (no invitations). `current_user`, when
    given, reads the acting admin again before every change (their session in this app included:
    SessionEnded once it is over, whatever the Supabase tokens still allow)."""

    def __init__(self, session: SupabaseUserClient, server: SupabaseServerStore | None = None, *,
                 current_user: Callable[[], User | None] | None = None, on_change: Callable[[str], None] = _nobody,
                 last_seen: Callable[[list[str]], dict[str, datetime]] | None = None):
        self.session = session
        self.server = server
        self.current_user = current_user
        self.on_change = on_change
        self.last_seen = last_seen  # when each user last used this server (lib.auth.sessions)

    @property
    def can_invite(self) -> bool:
        return self.server is not None

    def holders(self) -> list[RoleHolder]:
        """Who holds a role; their last access is their last sign-in at Supabase Auth, or their
        last use of a session still open on this server when that is later."""
        holders = self.session.role_holders()
        seen = self.last_seen([h.user_id for h in holders]) if self.last_seen else {}
        return [replace(h, last_sign_in_at=max(filter(None, (h.last_sign_in_at, seen.get(h.user_id)))))
                if h.user_id in seen else h for h in holders]

    def people(self) -> dict[str, str]:
        """Who can own an instance ("Responsável"): everyone holding a role, id → e-mail."""
        self._require_admin()
        return {h.user_id: h.email for h in self.session.role_holders()}

    def grant(self, email: str, role: str) -> str:
        """The user's id; ValidationError when nobody has the e-mail."""
        self._require_admin()
        user_id = self.session.grant_role(email, role)
        self.on_change(user_id)
        return user_id

    def revoke(self, user_id: str) -> None:
        self._require_admin()
        self.session.revoke_role(user_id)
        self.on_change(user_id)

    def invite(self, email: str, role: str) -> bool:
        """Send Supabase's invitation e-mail and give the role; True when an invitation went out,
        False when the e-mail already had an account (it only gets the role). The admin is checked
        by the database before anything is sent with the service-role key: finding the user is an
        admin-only call."""
        if self.server is None:
            raise PermissionDenied("Convites precisam de SUPABASE_SERVICE_ROLE_KEY no servidor.")
        self._require_admin()
        existing = self.session.find_user(email)
        if existing is None:
            self.server.invite(email)
        try:
            self.on_change(self.session.grant_role(email, role))
        except AppError as exc:
            if existing is not None:
                raise
            raise StoreError(f"Convite enviado, mas o papel não foi dado: {exc.message} Tente de novo em “Dar papel”.") from exc
        return existing is None

    def _require_admin(self) -> None:
        if self.current_user is None:
            return  # the database checks the admin on every call
        current = self.current_user()
        if current is None or not current.is_admin:
            raise PermissionDenied(MSG_NOT_ADMIN)
