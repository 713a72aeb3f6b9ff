"""Single sign-on: who a person signed in by an identity provider is here.

Streamlit's st.login (OpenID Connect: Google Workspace, Microsoft Entra, Okta, Keycloak…) signs the
person in at the provider and keeps the ID token's claims in its own identity cookie (st.user).
This module turns those claims into one of the app's users, through the same accounts and roles
as a password login:

- embedded default: the local account with that e-mail (made on the Usuários page or with
  `python -m lib.auth add`; it may have no password), and it must be active;
- Supabase mode: the Supabase Auth user with that e-mail and their role in `user_roles`, read by
  the server with the service-role key (SupabaseServerStore.role_for_email); the person then gets
  their own Supabase session from a one-time sign-in link (lib.auth.signin.SignIn.with_provider), so
  row-level security applies to them as to anyone.

The app then starts its own session (lib.auth.signin), so reloads, expiry and "Sair"
work as for a password. A provider's sign-in counts only while it is recent (FRESH) and starts one
session, once (lib.auth.sessions.SessionStore.claim_sign_in): whatever ends that session ("Sair",
an admin, idle or absolute expiry, a deactivation) is not undone by the identity cookie, which
Streamlit keeps for 30 days. Signing in again means going through the provider again.

Nothing here imports streamlit. Tokens never reach this module: only the ID token's claims.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Mapping, Protocol

from lib.auth.accounts import normalize_email
from lib.errors import AuthError, ValidationError
from lib.models import ROLES, User

if TYPE_CHECKING:
    from lib.auth.accounts import LocalAccounts

MSG_NO_ACCESS = "Sem acesso: peça a um administrador."
MSG_NO_EMAIL = "O provedor não informou um e-mail confirmado para esta conta: peça a um administrador."
MSG_NEEDS_SERVICE_KEY = (
    "Entrar pelo provedor não está disponível: no modo Supabase o servidor precisa da chave de serviço "
    "(SUPABASE_SERVICE_ROLE_KEY, ou service_role_key na seção [supabase] do secrets.toml) para ler o papel "
    "de cada e-mail. Entre com e-mail e senha ou peça ao suporte."
)
FRESH = timedelta(minutes=10)  # a provider's sign-in older than this starts no session
CLOCK_SKEW = timedelta(minutes=2)  # the provider's clock may run this much ahead of ours


class RoleDirectory(Protocol):
    """What Supabase mode asks (SupabaseServerStore, with the service-role key)."""

    def role_for_email(self, email: str) -> tuple[str, str | None] | None:
        """(user id, role or None) of the Supabase Auth user with this e-mail; None: no such user."""


@dataclass(frozen=True)
class Identity:
    """A person as the identity provider signed them in (from st.user's claims)."""

    email: str
    issued_at: datetime | None  # the ID token's iat
    key: str = field(repr=False)  # tells this sign-in at the provider from every other one

    def fresh(self, now: datetime) -> bool:
        """Whether the sign-in is recent enough to start a session."""
        return self.issued_at is not None and -CLOCK_SKEW <= now - self.issued_at <= FRESH


def identity(claims: Mapping) -> Identity | None:
    """The identity in st.user's claims; None when nobody is signed in at the provider. Raises
    AuthError(MSG_NO_EMAIL) when the provider gave no usable e-mail, or said it is unconfirmed."""
    if claims.get("is_logged_in") is not True:
        return None
    if str(claims.get("email_verified", "")).strip().lower() == "false":
        raise AuthError(MSG_NO_EMAIL)  # e.g. an e-mail the person typed into their account, unchecked
    raw = claims.get("email")
    try:
        email = normalize_email(raw if isinstance(raw, str) else "")
    except ValidationError:
        raise AuthError(MSG_NO_EMAIL) from None
    issued_at = claims.get("iat")
    when = None
    if isinstance(issued_at, (int, float)) and not isinstance(issued_at, bool):
        when = datetime.fromtimestamp(issued_at, timezone.utc)
    # iss + sub name the person at the provider; iat and the nonce (random per sign-in) this sign-in.
    parts = (claims.get("provider"), claims.get("iss"), claims.get("sub"), issued_at, claims.get("nonce"), email)
    key = hashlib.sha256("\x1f".join(str(part) for part in parts).encode()).hexdigest()
    return Identity(email=email, issued_at=when, key=key)


def user_for_email(email: str, *, accounts: LocalAccounts | None = None,
                   directory: RoleDirectory | None = None) -> User:
    """The user a signed-in e-mail maps to: the active local account with it (embedded default),
    or the Supabase Auth user with it and their role (Supabase mode, `directory` being the server's
    store). Raises AuthError: MSG_NO_ACCESS for an unknown or deactivated e-mail or one without a
    role, MSG_NEEDS_SERVICE_KEY in Supabase mode without the service-role key (no directory). A
    store that can't be reached raises its StoreError."""
    email = normalize_email(email)
    if accounts is not None:
        account = accounts.find(email)
        if account is None or not account.active or account.role not in ROLES:
            raise AuthError(MSG_NO_ACCESS)
        return replace(account.user, must_change_password=False)  # the provider checked who it is
    if directory is None:
        raise AuthError(MSG_NEEDS_SERVICE_KEY)
    found = directory.role_for_email(email)
    if found is None:
        raise AuthError(MSG_NO_ACCESS)
    user_id, role = found
    if not user_id or role not in ROLES:
        raise AuthError(MSG_NO_ACCESS)
    return User(id=str(user_id), email=email, role=role)
