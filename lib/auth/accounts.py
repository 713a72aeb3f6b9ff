"""Local accounts for the embedded default (Supabase Auth replaces them in production).
The command line is `python -m lib.users`."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import threading
import time
import uuid
from collections import defaultdict, deque
from typing import Callable

from lib.errors import AuthError, ValidationError
from lib.models import ROLES, User
from lib.store.sqlite import SQLiteDatabase, utc_now_iso

SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
MIN_PASSWORD_LENGTH = 8
MAX_FAILURES = 5
FAILURE_WINDOW_SECONDS = 300.0


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
    email = (email or "").strip().lower()
    if "@" not in email or len(email) > 254 or any(c.isspace() for c in email):
        raise ValidationError("Informe um e-mail válido.")
    return email


class LoginThrottle:
    """After MAX_FAILURES failed logins for one email within the window, refuse further attempts
    until the oldest failure leaves the window."""

    def __init__(self, clock: Callable[[], float] = time.monotonic):
        self.clock = clock
        self._failures: dict[str, deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def seconds_to_wait(self, email: str) -> float:
        with self._lock:
            failures = self._recent(email)
            if len(failures) < MAX_FAILURES:
                return 0.0
            return failures[0] + FAILURE_WINDOW_SECONDS - self.clock()

    def record_failure(self, email: str) -> None:
        with self._lock:
            self._recent(email).append(self.clock())

    def reset(self, email: str) -> None:
        with self._lock:
            self._failures.pop(email, None)

    def _recent(self, email: str) -> deque[float]:
        failures = self._failures[email]
        while failures and failures[0] <= self.clock() - FAILURE_WINDOW_SECONDS:
            failures.popleft()
        return failures


class LocalAccounts:
    def __init__(self, db: SQLiteDatabase, throttle: LoginThrottle | None = None):
        self.db = db
        self.throttle = throttle or LoginThrottle()

    def count(self) -> int:
        with self.db.connect() as conn:
            return conn.execute("select count(*) from users").fetchone()[0]

    def add(self, email: str, password: str, role: str) -> User:
        email = normalize_email(email)
        if role not in ROLES:
            raise ValidationError(f"Papel inválido: escolha entre {', '.join(ROLES)}.")
        if len(password) < MIN_PASSWORD_LENGTH:
            raise ValidationError(f"A senha deve ter pelo menos {MIN_PASSWORD_LENGTH} caracteres.")
        user = User(id=str(uuid.uuid4()), email=email, role=role)
        with self.db.connect() as conn:
            if conn.execute("select 1 from users where email = ?", (email,)).fetchone():
                raise ValidationError("Já existe um usuário com este e-mail.")
            conn.execute(
                "insert into users (id, email, password_hash, role, created_at) values (?, ?, ?, ?, ?)",
                (user.id, email, hash_password(password), role, utc_now_iso()),
            )
        return user

    def add_first_admin(self, email: str, password: str) -> User:
        """Create the first administrator; refused once any user exists."""
        if self.count() > 0:
            raise ValidationError("O primeiro administrador já foi criado. Faça login.")
        return self.add(email, password, "admin")

    def authenticate(self, email: str, password: str) -> User:
        email = (email or "").strip().lower()
        wait = self.throttle.seconds_to_wait(email)
        if wait > 0:
            raise AuthError(f"Muitas tentativas. Aguarde {int(wait // 60) + 1} min e tente novamente.")
        with self.db.connect() as conn:
            row = conn.execute("select id, email, password_hash, role from users where email = ?", (email,)).fetchone()
        if not verify_password(password, row["password_hash"] if row else _DUMMY_HASH) or row is None:
            self.throttle.record_failure(email)
            raise AuthError("E-mail ou senha incorretos.")
        self.throttle.reset(email)
        return User(id=row["id"], email=row["email"], role=row["role"])
