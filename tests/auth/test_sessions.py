"""Server-side sessions behind the cookie: only the id's hash is stored, idle and absolute expiry on
a controllable clock, ending one or all, and the one-time tickets that trade for the cookie."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from lib.auth.sessions import TICKET_SECONDS, CookieHandoff, SessionStore
from lib.models import User

ANA = User(id="u-ana", email="ana@example.com", role="analyst")


class Clock:
    def __init__(self):
        self.now = datetime(2026, 11, 29, 8, 0, tzinfo=timezone.utc)

    def __call__(self):
        return self.now


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def sessions(database, clock):
    return SessionStore(database, idle=timedelta(hours=12), absolute=timedelta(days=7), clock=clock)


def test_the_cookie_id_is_random_and_only_its_hash_is_stored(sessions, database):
    first, second = sessions.create(ANA, user_agent="Firefox"), sessions.create(ANA, user_agent="Firefox")
    assert first != second and len(first) >= 43  # 256 bits, url-safe
    with database.connect() as conn:
        stored = [tuple(row) for row in conn.execute("select * from app_sessions")]
    assert stored and not any(first in str(row) or second in str(row) for row in stored)
    session = sessions.resume(first)
    assert (session.user_id, session.email, session.user_agent) == ("u-ana", "ana@example.com", "Firefox")
    assert sessions.resume("forged-" + first) is None and sessions.resume(None) is None


def test_a_session_ends_after_twelve_idle_hours(sessions, clock):
    raw = sessions.create(ANA, user_agent=None)
    for _ in range(10):  # used every 11 hours: alive
        clock.now += timedelta(hours=11)
        assert sessions.resume(raw) is not None
    clock.now += timedelta(hours=12)  # a laptop asleep overnight and then some
    assert sessions.resume(raw) is None
    assert sessions.count(ANA.id) == 0  # deleted, not just refused


def test_a_session_ends_seven_days_after_the_login_however_used(sessions, clock):
    login = clock.now
    raw = sessions.create(ANA, user_agent=None)
    while clock.now + timedelta(hours=6) < login + timedelta(days=7):
        clock.now += timedelta(hours=6)  # used all along, never idle long
        assert sessions.resume(raw) is not None
    clock.now = login + timedelta(days=7, minutes=-1)
    assert sessions.resume(raw) is not None
    clock.now = login + timedelta(days=7, seconds=1)
    assert sessions.resume(raw) is None


def test_ending_one_or_all_sessions(sessions):
    laptop, phone = sessions.create(ANA, user_agent="laptop"), sessions.create(ANA, user_agent="phone")
    other = sessions.create(User("u-bia", "bia@example.com", "admin"), user_agent=None)
    sessions.end(laptop)
    assert sessions.resume(laptop) is None and sessions.resume(phone) is not None
    assert sessions.end_all(ANA.id) == 1
    assert sessions.resume(phone) is None and sessions.resume(other) is not None


def test_the_supabase_refresh_token_stays_on_the_server_and_follows_rotation(sessions):
    raw = sessions.create(ANA, user_agent=None, refresh_token="refresh-1")
    sessions.keep_refresh_token(raw, "refresh-2")
    session = sessions.resume(raw)
    assert session.refresh_token == "refresh-2" and "refresh-2" not in repr(session)


def test_a_ticket_trades_for_the_cookie_once_and_only_while_fresh():
    now = [100.0]
    handoff = CookieHandoff(clock=lambda: now[0])
    ticket = handoff.offer("raw-session-id")
    assert handoff.take("not-" + ticket) is None
    assert handoff.take(ticket) == "raw-session-id"
    assert handoff.take(ticket) is None  # once
    late = handoff.offer("another")
    now[0] += TICKET_SECONDS + 1
    assert handoff.take(late) is None
