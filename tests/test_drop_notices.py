"""lib.drop_notices: what each sign-in has been told of the drops, kept per sign-in and bounded."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from lib.drop_notices import DropNotices

START = datetime(2026, 12, 5, 12, 0, tzinfo=timezone.utc)


def test_a_sign_in_keeps_since_when_and_what_it_dismissed_and_another_has_its_own():
    moments = iter([START, START + timedelta(hours=1)])
    notices = DropNotices(clock=lambda: next(moments))
    assert notices.since("cookie-a") == START
    notices.dismiss("cookie-a", "inst-1", START + timedelta(minutes=5))
    assert notices.since("cookie-a") == START  # a reload: the same sign-in
    assert notices.dismissed("cookie-a") == {("inst-1", START + timedelta(minutes=5))}
    assert (notices.since("cookie-b"), notices.dismissed("cookie-b")) == (START + timedelta(hours=1), frozenset())


def test_at_most_ten_thousand_sign_ins_are_kept_the_least_recently_seen_forgotten_first():
    ticks = iter(range(100_000))
    notices = DropNotices(clock=lambda: START + timedelta(seconds=next(ticks)))
    for n in range(10_000):
        notices.since(f"cookie-{n}")
    notices.since("cookie-0")  # seen again: now the most recent
    notices.since("cookie-new")  # the 10 001st: cookie-1 goes
    assert notices.since("cookie-0") == START
    assert notices.since("cookie-1") > START + timedelta(seconds=10_000)  # forgotten: starts again now
    assert "cookie-1" not in repr(notices.__dict__)  # the cookie's id is kept hashed, never as given
