"""What differs between the embedded default's local accounts (lib.auth.local_mode) and Supabase
Auth (lib.auth.supabase_mode), behind one interface for lib.auth.signin.SignIn."""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable, Protocol

from lib.models import User

if TYPE_CHECKING:
    from lib.auth.admin import AccountAdmin, SupabaseRoleAdmin
    from lib.auth.sessions import StoredSession
    from lib.auth.signed_in import SignedIn
    from lib.store.base import InstanceStore
    from lib.store.supabase.user_client import SupabaseUserClient


class AccountsMode(Protocol):
    """Whose accounts these are: the embedded default's local accounts or Supabase Auth's."""

    login_note: str  # what the login page says about the mode

    def check_password(self, email: str, password: str, address: str | None) -> tuple[User, SupabaseUserClient | None]:
        """The user for these credentials (throttled), and their Supabase session. AuthError."""

    def setup_code(self) -> str | None:
        """While the first administrator is still to be made, the one-time code that makes them
        (lib.auth.setup_code, made now when missing), else None. StoreError: it can't be written."""

    def first_admin(self, email: str, password: str, setup_code: str) -> User:
        """Make the first administrator (only with the setup code). ValidationError."""

    def resume(self, stored: StoredSession) -> tuple[User | None, SupabaseUserClient | None]:
        """The user of a stored session (None: gone); AuthError when that can't be asked now."""

    def current_user(self, signed_in: SignedIn) -> User | None:
        """The user as the accounts say now (None: signed out, removed or deactivated); AppError
        when that can't be asked now."""

    def user_for_provider(self, email: str) -> User:
        """The user an e-mail the identity provider signed in maps to. AuthError, StoreError."""

    def provider_session(self, user: User, email: str) -> tuple[User, SupabaseUserClient | None]:
        """What a provider's sign-in needs before the session starts. AppError."""

    def provider_unavailable(self) -> str | None:
        """Why the identity provider can't sign anyone in with this configuration, or None."""

    def record_use(self, signed_in: SignedIn) -> None:
        """The person used the app (at most once a minute): their "Último acesso"."""

    def refresh(self, signed_in: SignedIn) -> None:
        """Keep the session's credentials fresh. SessionEnded when refused, AuthError offline."""

    def end(self, signed_in: SignedIn) -> None:
        """Forget the session's credentials (never raises)."""

    def can_change_password(self, signed_in: SignedIn) -> bool:
        """Whether "Alterar senha" is this app's to offer to this person."""

    def change_password(self, signed_in: SignedIn, current: str, new: str, address: str | None) -> None:
        """ValidationError when the current password is wrong or the new one unfit; AuthError when
        the login throttle refuses one more check of the current password."""

    def instance_store(self, signed_in: SignedIn) -> InstanceStore:
        """The instance store as this person reaches it."""

    def user_admin(self, signed_in: SignedIn, *, current_user: Callable[[], User | None],
                   on_change: Callable[[str], None]) -> AccountAdmin | SupabaseRoleAdmin:
        """What the Usuários page manages, for this admin: `current_user` reads the admin again
        before every change, `on_change(user_id)` is told whose account changed."""
