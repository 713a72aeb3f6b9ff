"""What signing in answers (lib.auth.signin): a signed-in browser session (SignedIn), the browser
asking (Visitor), a session just started (Started), and the ways a session ends or is refused."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from lib.errors import AuthError
from lib.models import User

if TYPE_CHECKING:
    from lib.store.supabase.user_client import SupabaseUserClient  # supabase-py is slow to import

MSG_ENDED = "Sua sessão foi encerrada. Entre novamente."


class SessionEnded(AuthError):
    """The browser's session is over (ended elsewhere, expired, refused by Supabase): sign the
    browser out and tell the person this message."""


class NoAccess(AuthError):
    """The identity provider signed in someone who has no access here; `email` is the one the
    provider gave (for the login page to show)."""

    def __init__(self, message: str, email: str):
        super().__init__(message)
        self.email = email


@dataclass(frozen=True)
class Visitor:
    """What the sign-in needs to know about the browser asking."""

    address: str | None  # the client address the login throttle counts under
    user_agent: str = ""


@dataclass(frozen=True)
class SignedIn:
    """A signed-in browser session (kept in its own state, never shared)."""

    user: User
    session_id: str = field(repr=False)  # the cookie's random id: the server's session
    by_provider: bool = False  # signed in through the identity provider (st.login)
    # The person's own Supabase Auth session and client (Supabase mode), else None.
    supabase: SupabaseUserClient | None = field(default=None, repr=False, compare=False)


@dataclass(frozen=True)
class Started:
    """A session just started: who, and the one-time ticket the page trades for the cookie."""

    signed_in: SignedIn
    ticket: str = field(repr=False)


@dataclass(frozen=True)
class ProviderSignIn:
    """What a provider's sign-in came to: a session `started`, or none because this sign-in had
    started one already (`used_key`: remember it, so the login page does not ask again)."""

    started: Started | None = None
    used_key: str | None = None
