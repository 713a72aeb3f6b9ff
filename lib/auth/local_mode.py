"""The embedded default's accounts (lib.auth.accounts) behind lib.auth.signin.AccountsMode: local
passwords, the first administrator, the app's own "Alterar senha", and the SQLite instance store."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Callable

from lib.auth import sso
from lib.auth.accounts import LocalAccounts
from lib.auth.admin import AccountAdmin
from lib.auth.sessions import SessionStore, StoredSession
from lib.auth.setup_code import discard_setup_code, ensure_setup_code
from lib.auth.signed_in import SignedIn
from lib.models import User
from lib.store.sqlite.database import SQLiteDatabase
from lib.store.sqlite.instances import SQLiteInstanceStore


class LocalMode:
    def __init__(self, accounts: LocalAccounts, database: SQLiteDatabase, sessions: SessionStore, *,
                 data_dir: Path, label: str):
        self.accounts = accounts
        self.database = database
        self.sessions = sessions
        self.data_dir = data_dir
        self.login_note = f"Modo padrão embutido: {label}."

    def check_password(self, email: str, password: str, address: str | None) -> tuple[User, None]:
        return self.accounts.authenticate(email, password, address), None

    def setup_code(self) -> str | None:
        if self.accounts.count() > 0:
            discard_setup_code(self.data_dir)  # e.g. the first admin was added from the command line
            return None
        return ensure_setup_code(self.data_dir)

    def first_admin(self, email: str, password: str, setup_code: str) -> User:
        return self.accounts.add_first_admin(email, password, setup_code, self.data_dir)

    def resume(self, stored: StoredSession) -> tuple[User | None, None]:
        return self._user(stored.user_id, by_provider=stored.sso), None

    def current_user(self, signed_in: SignedIn) -> User | None:
        user = self._user(signed_in.user.id, by_provider=signed_in.by_provider)
        return user if user is not None and user.role is not None else None  # no role: deactivated

    def _user(self, user_id: str, *, by_provider: bool) -> User | None:
        """The local account's user as it is now; a temporary password does not hold up a provider's
        sign-in (the provider checked who it is)."""
        user = self.accounts.current_user(user_id)
        return replace(user, must_change_password=False) if user is not None and by_provider else user

    def user_for_provider(self, email: str) -> User:
        return sso.user_for_email(email, accounts=self.accounts)

    def provider_session(self, user: User, email: str) -> tuple[User, None]:
        self.accounts.record_access(user.id)
        return user, None

    def provider_unavailable(self) -> None:
        return None

    def record_use(self, signed_in: SignedIn) -> None:
        self.accounts.record_access(signed_in.user.id)

    def refresh(self, signed_in: SignedIn) -> None:
        pass  # the session behind the cookie is all there is

    def end(self, signed_in: SignedIn) -> None:
        pass

    def can_change_password(self, signed_in: SignedIn) -> bool:
        return not signed_in.by_provider  # the provider holds the password of whoever it signed in

    def change_password(self, signed_in: SignedIn, current: str, new: str, address: str | None) -> None:
        self.accounts.change_password(signed_in.user.id, current, new, address)

    def instance_store(self, signed_in: SignedIn) -> SQLiteInstanceStore:
        return SQLiteInstanceStore(self.database)

    def user_admin(self, signed_in: SignedIn, *, current_user: Callable[[], User | None],
                   on_change: Callable[[str], None]) -> AccountAdmin:
        return AccountAdmin(self.accounts, self.sessions, current_user, on_change=on_change)
