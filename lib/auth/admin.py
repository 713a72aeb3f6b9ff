"""What the Usuários page does, for an admin checked again before every change.

Embedded mode (AccountAdmin, local accounts): add with a temporary password, change a role,
deactivate and reactivate (which ends the user's sessions), reset a password, end a user's sessions.

Supabase mode (SupabaseRoleAdmin): list who holds a role, give a role by e-mail to an existing
Supabase Auth user, change it, take it away, and invite someone by e-mail (when the server has the
service-role key). The database checks the admin on every call (the functions of
supabase/migrations/20261203000000_user_admin.sql)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from lib.auth.accounts import Account, LocalAccounts
from lib.auth.sessions import SessionStore
from lib.errors import AppError, PermissionDenied, StoreError
from lib.models import User

if TYPE_CHECKING:  # RoleHolder: what SupabaseRoleAdmin.holders() lists, for the screens to name
    from lib.store.supabase.server import SupabaseServerStore
    from lib.store.supabase.session import RoleHolder, SupabaseSession


@dataclass(frozen=True)
class AccountRow:
    account: Account
    open_sessions: int


class AccountAdmin:
    def __init__(self, accounts: LocalAccounts, sessions: SessionStore, admin: User):
        self.accounts = accounts
        self.sessions = sessions
        self.admin = admin

    def list(self) -> list[AccountRow]:
        self._require_admin()
        return [AccountRow(a, self.sessions.count(a.id)) for a in self.accounts.list()]

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

    def set_active(self, user_id: str, active: bool) -> None:
        self._require_admin()
        self.accounts.set_active(user_id, active)
        if not active:
            self.sessions.end_all(user_id)

    def reset_password(self, user_id: str) -> str:
        """A new temporary password (to show once); the user's sessions end."""
        self._require_admin()
        password = self.accounts.reset_password(user_id)
        self.sessions.end_all(user_id)
        return password

    def end_sessions(self, user_id: str) -> int:
        self._require_admin()
        return self.sessions.end_all(user_id)

    def _require_admin(self) -> None:
        current = self.accounts.current_user(self.admin.id)
        if current is None or not current.is_admin:
            raise PermissionDenied("Apenas administradores gerenciam usuários.")


class SupabaseRoleAdmin:
    """Roles in Supabase mode, through the signed-in admin's own Supabase session (the database
    refuses anyone else). `server` is the process's store with the service-role key, used for
    invitations only; None when the key is not configured (no invitations)."""

    def __init__(self, session: SupabaseSession, server: SupabaseServerStore | None = None):
        self.session = session
        self.server = server

    @property
    def can_invite(self) -> bool:
        return self.server is not None

    def holders(self) -> list[RoleHolder]:
        return self.session.role_holders()

    def grant(self, email: str, role: str) -> str:
        """The user's id; ValidationError when nobody has the e-mail."""
        return self.session.grant_role(email, role)

    def revoke(self, user_id: str) -> None:
        self.session.revoke_role(user_id)

    def invite(self, email: str, role: str) -> bool:
        """Send Supabase's invitation e-mail and give the role; True when an invitation went out,
        False when the e-mail already had an account (it only gets the role). The admin is checked
        by the database before anything is sent with the service-role key: finding the user is an
        admin-only call."""
        if self.server is None:
            raise PermissionDenied("Convites precisam de SUPABASE_SERVICE_ROLE_KEY no servidor.")
        existing = self.session.find_user(email)
        if existing is None:
            self.server.invite(email)
        try:
            self.session.grant_role(email, role)
        except AppError as exc:
            if existing is not None:
                raise
            raise StoreError(f"Convite enviado, mas o papel não foi dado: {exc.message} Tente de novo em “Dar papel”.") from exc
        return existing is None
