"""Local accounts for the embedded default (Supabase Auth replaces them in production): passwords,
roles, deactivation, temporary passwords, and the first administrator (with the one-time setup
code of lib.auth.setup_code).
The command line is `python -m lib.auth` (or `python -m lib.users`)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import secrets
import string
import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from lib.auth.setup_code import discard_setup_code, read_setup_code
from lib.auth.throttle import LoginThrottle
from lib.errors import AuthError, ValidationError
from lib.models import ROLES, User
from lib.store.sqlite.database import SQLiteDatabase, utc_now_iso

log = logging.getLogger(__name__)

SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
MIN_PASSWORD_LENGTH = 8
MAX_EMAIL_LENGTH = 254
MAX_PASSWORD_LENGTH = 1024
MSG_BAD_LOGIN = "E-mail ou senha incorretos."
MSG_LAST_ADMIN = "É preciso manter pelo menos um administrador ativo."
MSG_WRONG_CURRENT = "A senha atual não confere."
MSG_NO_EMAIL = "Informe o e-mail."
MSG_NO_PASSWORD = "Informe a senha."
MSG_FIRST_ADMIN_EXISTS = "O primeiro administrador já foi criado. Faça login."
ACCOUNT_COLUMNS = "id, email, role, active, must_change_password, password_hash, created_at, last_login_at"


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P)
    b64 = base64.b64encode
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${b64(salt).decode()}${b64(digest).decode()}"


def verify_password(password: str, stored: str) -> bool:
    try:
        _, n, r, p, salt, digest = stored.split("$")
        expected = base64.b64decode(digest)
        actual = hashlib.scrypt(password.encode(), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, expected)


# A valid hash to verify against when the email is unknown, so that both cases cost the same.
_DUMMY_HASH = hash_password(secrets.token_urlsafe(16))


def normalize_email(email: str) -> str:
    """Trimmed, lower-case; the length is checked before anything else is done with it."""
    email = email or ""
    if len(email) > MAX_EMAIL_LENGTH + 64:  # room for surrounding spaces, not for a megabyte
        raise ValidationError("Informe um e-mail válido.")
    email = email.strip().lower()
    if not email:
        raise ValidationError(MSG_NO_EMAIL)
    if "@" not in email or len(email) > MAX_EMAIL_LENGTH or any(c.isspace() for c in email):
        raise ValidationError("Informe um e-mail válido.")
    return email


def temporary_password() -> str:
    """12 characters that read unambiguously (no 0/O, 1/l/I)."""
    alphabet = "".join(c for c in string.ascii_letters + string.digits if c not in "0O1lI")
    return "".join(secrets.choice(alphabet) for _ in range(12))


def _check_password(password: str) -> None:
    if not password:
        raise ValidationError(MSG_NO_PASSWORD)
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationError(f"A senha deve ter pelo menos {MIN_PASSWORD_LENGTH} caracteres.")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise ValidationError("Senha longa demais.")


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise ValidationError(f"Papel inválido: escolha entre {', '.join(ROLES)}.")


@dataclass(frozen=True)
class Account:
    """A local account as the Usuários page lists it (never the password hash)."""

    id: str
    email: str
    role: str
    active: bool
    must_change_password: bool
    has_password: bool  # False: it signs in only through single sign-on
    created_at: datetime
    last_login_at: datetime | None

    @property
    def user(self) -> User:
        return User(id=self.id, email=self.email, role=self.role if self.active else None,
                    must_change_password=self.must_change_password)


def _account(row) -> Account:
    return Account(
        id=row["id"], email=row["email"], role=row["role"], active=bool(row["active"]),
        must_change_password=bool(row["must_change_password"]), has_password=bool(row["password_hash"]),
        created_at=datetime.fromisoformat(row["created_at"]),
        last_login_at=datetime.fromisoformat(row["last_login_at"]) if row["last_login_at"] else None,
    )


class LocalAccounts:
    def __init__(self, db: SQLiteDatabase, throttle: LoginThrottle | None = None):
        self.db = db
        self.throttle = throttle if throttle is not None else LoginThrottle()

    # -- reading -------------------------------------------------------------------------------
    def count(self) -> int:
        with self.db.connect() as conn:
            return conn.execute("select count(*) from users").fetchone()[0]

    def list(self) -> list[Account]:
        with self.db.connect() as conn:
            rows = conn.execute(f"select {ACCOUNT_COLUMNS} from users order by email").fetchall()
        return [_account(r) for r in rows]

    def get(self, user_id: str) -> Account | None:
        with self.db.connect() as conn:
            row = conn.execute(f"select {ACCOUNT_COLUMNS} from users where id = ?", (user_id,)).fetchone()
        return _account(row) if row else None

    def find(self, email: str) -> Account | None:
        with self.db.connect() as conn:
            row = conn.execute(f"select {ACCOUNT_COLUMNS} from users where email = ?", (normalize_email(email),)).fetchone()
        return _account(row) if row else None

    def current_user(self, user_id: str) -> User | None:
        """The user as the store says now (role re-read; None when deleted; no role when inactive)."""
        account = self.get(user_id)
        return account.user if account else None

    # -- adding -----------------------------------------------------------------------------------
    def add(self, email: str, password: str | None, role: str, *, must_change_password: bool = False) -> User:
        """A new account; `password` None: single sign-on only (it has no password to check)."""
        email = normalize_email(email)
        _check_role(role)
        if password is not None:
            _check_password(password)
        user = User(id=str(uuid.uuid4()), email=email, role=role, must_change_password=must_change_password)
        with self.db.connect() as conn:
            if conn.execute("select 1 from users where email = ?", (email,)).fetchone():
                raise ValidationError("Já existe um usuário com este e-mail.")
            conn.execute(
                "insert into users (id, email, password_hash, role, created_at, must_change_password)"
                " values (?, ?, ?, ?, ?, ?)",
                (user.id, email, hash_password(password) if password else "", role, utc_now_iso(),
                 int(must_change_password)),
            )
        return user

    def add_with_temporary_password(self, email: str, role: str) -> tuple[User, str]:
        """A new account whose temporary password (returned, shown once) must be changed at first login."""
        password = temporary_password()
        return self.add(email, password, role, must_change_password=True), password

    def add_first_admin(self, email: str, password: str, setup_code: str, data_dir: Path) -> User:
        """The first administrator: only with the setup code (never an empty one, never one made
        here: the login page or the server's start made it), and only while there is no user at
        all, checked and inserted in one statement (two browsers at once: one admin). Once an admin
        exists the code is discarded."""
        email = normalize_email(email)  # what the form asks, in its order: e-mail, password, code
        _check_password(password)
        expected, given = read_setup_code(data_dir), (setup_code or "").strip().upper()
        if expected is None or not given or not hmac.compare_digest(given.encode(), expected.encode()):
            if self.count() > 0:
                discard_setup_code(data_dir)
                raise ValidationError(MSG_FIRST_ADMIN_EXISTS)
            raise ValidationError("Informe o código de configuração: veja o terminal onde o servidor foi iniciado."
                                  if not given else
                                  "Código de configuração incorreto: veja o terminal onde o servidor foi iniciado.")
        user = User(id=str(uuid.uuid4()), email=email, role="admin")
        with self.db.connect() as conn:
            inserted = conn.execute(
                "insert into users (id, email, password_hash, role, created_at)"
                " select ?, ?, ?, 'admin', ? where not exists (select 1 from users)",
                (user.id, email, hash_password(password), utc_now_iso()),
            ).rowcount
        discard_setup_code(data_dir)
        if not inserted:
            raise ValidationError(MSG_FIRST_ADMIN_EXISTS)
        return user

    # -- signing in --------------------------------------------------------------------------------
    def authenticate(self, email: str, password: str, address: str | None = None) -> User:
        """The user for this e-mail and password, throttled per (e-mail, address) and per address.
        Raises AuthError (the same message for an unknown e-mail and a wrong password)."""
        try:
            email = normalize_email(email)
        except ValidationError:
            raise AuthError(MSG_BAD_LOGIN) from None
        password = (password or "")[:MAX_PASSWORD_LENGTH]
        row = self.throttle.guard(email, address, lambda: self._checked(email, password))
        self.record_access(row["id"])
        return _account(row).user

    def _checked(self, email: str, password: str):
        """The account's row when the password is right and the account active; else AuthError."""
        with self.db.connect() as conn:
            row = conn.execute(f"select {ACCOUNT_COLUMNS} from users where email = ?", (email,)).fetchone()
        stored = row["password_hash"] if row is not None and row["password_hash"] else _DUMMY_HASH
        if not verify_password(password, stored) or row is None or not row["password_hash"]:
            raise AuthError(MSG_BAD_LOGIN)
        if not row["active"]:
            raise AuthError("Usuário desativado: peça a um administrador.")
        return row

    def record_access(self, user_id: str) -> None:
        """The person used the app now: signed in, or, signed in, at most once a minute after
        (Usuários' "Último acesso")."""
        with self.db.connect() as conn:
            conn.execute("update users set last_login_at = ? where id = ?", (utc_now_iso(), user_id))

    # -- managing ----------------------------------------------------------------------------------
    def set_role(self, user_id: str, role: str) -> None:
        _check_role(role)
        self._update_keeping_an_admin(user_id, "role = ?", (role,))

    def set_active(self, user_id: str, active: bool) -> None:
        self._update_keeping_an_admin(user_id, "active = ?", (int(active),))

    def reset_password(self, user_id: str) -> str:
        """A new temporary password (returned, shown once), to be changed at the next login."""
        password = temporary_password()
        self._update(user_id, "password_hash = ?, must_change_password = 1", (hash_password(password),))
        return password

    def change_password(self, user_id: str, current: str, new: str, address: str | None = None) -> None:
        """The current password is checked under the login throttle (the same count and limits as
        signing in with this e-mail from this address)."""
        account = self.get(user_id)
        if account is None:
            raise ValidationError(MSG_WRONG_CURRENT)
        current = (current or "")[:MAX_PASSWORD_LENGTH]
        self.throttle.guard(account.email, address, lambda: self._current_password_matches(user_id, current))
        _check_password(new)
        if new == current:
            raise ValidationError("A nova senha deve ser diferente da atual.")
        self._update(user_id, "password_hash = ?, must_change_password = 0", (hash_password(new),))

    def _current_password_matches(self, user_id: str, current: str) -> None:
        with self.db.connect() as conn:
            row = conn.execute("select password_hash from users where id = ?", (user_id,)).fetchone()
        if row is None or not row["password_hash"] or not verify_password(current, row["password_hash"]):
            raise ValidationError(MSG_WRONG_CURRENT)

    def _update(self, user_id: str, assignments: str, values: tuple) -> None:
        with self.db.connect() as conn:
            if conn.execute(f"update users set {assignments} where id = ?", (*values, user_id)).rowcount == 0:
                raise ValidationError("Usuário não encontrado.")

    def _update_keeping_an_admin(self, user_id: str, assignments: str, values: tuple) -> None:
        """Change, then check in the same transaction that an active admin remains (SQLite writes one
        transaction at a time, so two admins demoting each other at once cannot both succeed)."""
        with self.db.connect() as conn:
            conn.execute("begin immediate")
            if conn.execute(f"update users set {assignments} where id = ?", (*values, user_id)).rowcount == 0:
                raise ValidationError("Usuário não encontrado.")
            if conn.execute("select count(*) from users where role = 'admin' and active = 1").fetchone()[0] == 0:
                raise ValidationError(MSG_LAST_ADMIN)
