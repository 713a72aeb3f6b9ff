"""Sessions that survive a reload: a cookie holding only a random id, the session kept by the server.

After a login the browser gets, through the server's own route (lib.api, so the cookie can be
HttpOnly), a cookie with 256 random bits and nothing else. The server keeps the session in its
SQLite file under the SHA-256 of that id (the id itself is never stored): the user, when it was
created and last seen, when it expires, the browser's user agent and, in Supabase mode, the user's
refresh token (never in the cookie). A reload, a new tab or a laptop waking up finds the session
again until it has been idle IDLE or alive ABSOLUTE (settings); "Sair" ends it on the server, so
the old cookie no longer works anywhere.

A single sign-on (lib.auth.sso) starts the same kind of session, marked `method = 'sso'`. The
provider's sign-in that led to it is recorded (claim_sign_in): it starts one session, once, so
nothing that ends the session here is undone by Streamlit's identity cookie still being there.

The script cannot set a cookie (it talks over a websocket), so the login hands a one-time ticket
to the page, whose script posts it to /api/session; the route answers with Set-Cookie. Tickets
live in this process's memory for TICKET_SECONDS and are good once.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from typing import Callable

from lib.models import User
from lib.store.sqlite.database import SQLiteDatabase

COOKIE_NAME = "painel_sessao"
TOUCH_EVERY = timedelta(minutes=1)  # last_seen_at is written at most this often
TICKET_SECONDS = 60.0
MAX_TICKETS = 10_000


def _hash(raw_id: str) -> str:
    return hashlib.sha256(raw_id.encode()).hexdigest()


def _now() -> datetime:
    return datetime.now(timezone.utc)


@dataclass(frozen=True)
class StoredSession:
    user_id: str
    email: str
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime
    user_agent: str | None
    refresh_token: str | None = field(default=None, repr=False)
    method: str = "password"  # or "sso": signed in through an identity provider
    touched: bool = False  # this lookup marked it seen (the person used the app: see resume)

    @property
    def sso(self) -> bool:
        return self.method == "sso"


class SessionStore:
    def __init__(self, db: SQLiteDatabase, *, idle: timedelta, absolute: timedelta,
                 clock: Callable[[], datetime] = _now):
        self.db = db
        self.idle = idle
        self.absolute = absolute
        self.clock = clock

    def create(self, user: User, *, user_agent: str | None, refresh_token: str | None = None,
               method: str = "password") -> str:
        """A new session; returns the cookie's random id (the only time it exists outside the cookie).
        `method`: "password", or "sso" for a sign-in through an identity provider."""
        raw_id = secrets.token_urlsafe(32)
        now = self.clock()
        with self.db.connect() as conn:
            conn.execute("delete from app_sessions where expires_at < ? or last_seen_at < ?",
                         (now.isoformat(), (now - self.idle).isoformat()))
            conn.execute(
                "insert into app_sessions (id_hash, user_id, email, created_at, last_seen_at, expires_at, user_agent,"
                " refresh_token, method) values (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (_hash(raw_id), user.id, user.email, now.isoformat(), now.isoformat(),
                 (now + self.absolute).isoformat(), (user_agent or "")[:300], refresh_token,
                 "sso" if method == "sso" else "password"),
            )
        return raw_id

    def resume(self, raw_id: str | None, *, touch: bool = True) -> StoredSession | None:
        """The live session of this cookie id, or None (unknown, ended, idle too long, too old: an
        expired one is deleted). `touch`: mark it seen (at most once a minute); the live parts of
        an open page check it without touching, so that they alone do not keep it alive."""
        if not raw_id or len(raw_id) > 100:
            return None
        key, now = _hash(raw_id), self.clock()
        with self.db.connect() as conn:
            row = conn.execute("select * from app_sessions where id_hash = ?", (key,)).fetchone()
            if row is None:
                return None
            session = StoredSession(
                user_id=row["user_id"], email=row["email"], created_at=datetime.fromisoformat(row["created_at"]),
                last_seen_at=datetime.fromisoformat(row["last_seen_at"]),
                expires_at=datetime.fromisoformat(row["expires_at"]), user_agent=row["user_agent"],
                refresh_token=row["refresh_token"], method=row["method"],
            )
            if now >= session.expires_at or now - session.last_seen_at >= self.idle:
                conn.execute("delete from app_sessions where id_hash = ?", (key,))
                return None
            if touch and now - session.last_seen_at >= TOUCH_EVERY:
                conn.execute("update app_sessions set last_seen_at = ? where id_hash = ?", (now.isoformat(), key))
                session = replace(session, last_seen_at=now, touched=True)
        return session

    def end(self, raw_id: str | None) -> None:
        if raw_id:
            with self.db.connect() as conn:
                conn.execute("delete from app_sessions where id_hash = ?", (_hash(raw_id),))

    def end_all(self, user_id: str) -> int:
        """End every session of a user (deactivated, or on an admin's request)."""
        with self.db.connect() as conn:
            return conn.execute("delete from app_sessions where user_id = ?", (user_id,)).rowcount

    def last_seen(self, user_ids: list[str]) -> dict[str, datetime]:
        """When each of these users last used a session of theirs that is still open (those ended
        are gone), by user id."""
        if not user_ids:
            return {}
        with self.db.connect() as conn:
            rows = conn.execute(
                f"select user_id, max(last_seen_at) from app_sessions where user_id in ({', '.join('?' * len(user_ids))})"
                " group by user_id", user_ids).fetchall()
        return {row[0]: datetime.fromisoformat(row[1]) for row in rows}

    def count(self, user_id: str) -> int:
        with self.db.connect() as conn:
            return conn.execute("select count(*) from app_sessions where user_id = ?", (user_id,)).fetchone()[0]

    def claim_sign_in(self, identity_key: str, *, keep: timedelta) -> bool:
        """Record that the identity provider's sign-in `identity_key` starts a session: True the
        first time, False ever after (a second tab, a reload after "Sair", a session an admin
        ended). Records older than `keep` are dropped (by then the sign-in is too old to count)."""
        now = self.clock()
        with self.db.connect() as conn:
            conn.execute("delete from sso_sign_ins where used_at < ?", ((now - keep).isoformat(),))
            return conn.execute(
                "insert into sso_sign_ins (identity_hash, used_at) values (?, ?) on conflict do nothing",
                (_hash(identity_key), now.isoformat()),
            ).rowcount == 1

    def keep_refresh_token(self, raw_id: str, refresh_token: str | None) -> None:
        """Supabase rotates refresh tokens: the newest one replaces the stored one."""
        with self.db.connect() as conn:
            conn.execute("update app_sessions set refresh_token = ? where id_hash = ?", (refresh_token, _hash(raw_id)))


class CookieHandoff:
    """One-time tickets that trade for the session cookie at /api/session (see the module's doc)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic):
        self.clock = clock
        self._tickets: dict[str, tuple[str, float]] = {}
        self._lock = threading.Lock()

    def offer(self, raw_id: str) -> str:
        ticket = secrets.token_urlsafe(32)
        with self._lock:
            now = self.clock()
            for key in [k for k, (_, expires) in self._tickets.items() if expires < now]:
                del self._tickets[key]
            while len(self._tickets) >= MAX_TICKETS:
                del self._tickets[next(iter(self._tickets))]
            self._tickets[_hash(ticket)] = (raw_id, now + TICKET_SECONDS)
        return ticket

    def take(self, ticket: str | None) -> str | None:
        """The session id for a ticket, once; None for an unknown, used or expired ticket."""
        if not ticket or len(ticket) > 100:
            return None
        with self._lock:
            raw_id, expires = self._tickets.pop(_hash(ticket), (None, 0.0))
        return raw_id if raw_id and self.clock() <= expires else None
