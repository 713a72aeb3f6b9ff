"""The login throttle: how many password checks an attacker gets.

Attempts are counted, not failures, and counted *before* the password is checked (reserve), so
ten parallel wrong attempts get at most MAX_PER_ACCOUNT checks. Two limits, each over
WINDOW_SECONDS: MAX_PER_ACCOUNT attempts for one e-mail *from one client address* (so an attacker
elsewhere cannot lock the real user out), and MAX_PER_ADDRESS attempts from one address whatever
the e-mail (so one address cannot try many accounts). A successful login gives back its
reservations. Memory is bounded: at most MAX_KEYS counters, oldest dropped first, keys hashed to
a fixed size, so 100 000 different e-mails cost a few MB at most.
"""

from __future__ import annotations

import hashlib
import math
import threading
import time
from typing import Callable, TypeVar

from lib.errors import AuthError

MAX_PER_ACCOUNT = 5
MAX_PER_ADDRESS = 30
WINDOW_SECONDS = 300.0
MAX_KEYS = 20_000
T = TypeVar("T")


class LoginThrottle:
    def __init__(self, clock: Callable[[], float] = time.monotonic):
        self.clock = clock
        self._attempts: dict[bytes, list[float]] = {}  # insertion order = least recently used first
        self._lock = threading.Lock()

    def reserve(self, email: str, address: str | None) -> tuple[bytes, bytes]:
        """Count one attempt for this e-mail from this address; AuthError saying how long to wait when
        a limit is reached (nothing is counted then). Returns what to give to release()."""
        keys = (_key("account", email, address), _key("address", address or "?"))
        limits = (MAX_PER_ACCOUNT, MAX_PER_ADDRESS)
        with self._lock:
            now = self.clock()
            recent = [self._recent(key, now) for key in keys]
            full = next((attempts for attempts, limit in zip(recent, limits) if len(attempts) >= limit), None)
            if full is None:
                for attempts in recent:
                    attempts.append(now)
            for key, attempts in zip(keys, recent):
                self._store(key, attempts)
        if full is not None:
            wait = full[0] + WINDOW_SECONDS - now
            raise AuthError(f"Muitas tentativas. Aguarde {math.ceil(wait / 60)} min e tente novamente.")
        return keys

    def release(self, keys: tuple[bytes, bytes]) -> None:
        """The attempt succeeded: it does not count against the account or the address."""
        with self._lock:
            for key in keys:
                attempts = self._attempts.get(key)
                if attempts:
                    attempts.pop()

    def guard(self, email: str, address: str | None, check: Callable[[], T]) -> T:
        """Count an attempt, then `check()` the password; a success gives the attempt back, a
        failure (it raises) keeps it counted."""
        reservation = self.reserve(email, address)
        result = check()
        self.release(reservation)
        return result

    def _recent(self, key: bytes, now: float) -> list[float]:
        """The key's attempts still in the window (taken out: _store puts them back, most recent)."""
        attempts = self._attempts.pop(key, [])
        return [t for t in attempts if t > now - WINDOW_SECONDS]

    def _store(self, key: bytes, attempts: list[float]) -> None:
        if not attempts:
            return  # nothing left to remember
        self._attempts[key] = attempts  # re-inserted: now the most recently used
        while len(self._attempts) > MAX_KEYS:
            del self._attempts[next(iter(self._attempts))]

    def __len__(self) -> int:
        return len(self._attempts)


def _key(*parts: str | None) -> bytes:
    return hashlib.blake2b("\0".join(p or "" for p in parts).encode(), digest_size=16).digest()
