"""What the Usuários page does with local accounts (embedded mode), for an admin checked again
before every change: add with a temporary password, change a role, deactivate and reactivate
(which ends the user's sessions), reset a password, end a user's sessions."""

from __future__ import annotations

from dataclasses import dataclass

from lib.auth.accounts import Account, LocalAccounts
from lib.auth.sessions import SessionStore
from lib.errors import PermissionDenied
from lib.models import User


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
