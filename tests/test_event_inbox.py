"""The events route's memory: unknown instances logged at most once a minute per id, the newest
pushed QR per instance."""

from __future__ import annotations

import logging

from lib.event_inbox import PushedQrs, UnknownInstances
from tests.support.sandbox import FakeClock


def test_an_unknown_instance_is_counted_every_time_and_logged_once_a_minute(caplog):
    caplog.set_level(logging.INFO)
    clock = FakeClock()
    unknown = UnknownInstances(clock=clock)
    for _ in range(5):
        unknown.note("fantasma", "evolution")
    unknown.note("outra", "generic")
    clock.advance(59)
    unknown.note("fantasma", "evolution")
    clock.advance(2)
    unknown.note("fantasma", "evolution")
    lines = [r.getMessage() for r in caplog.records if "does not have" in r.getMessage()]
    assert unknown.count == 8
    assert lines == ["provider event for an instance the dashboard does not have: 'fantasma' (evolution)",
                     "provider event for an instance the dashboard does not have: 'outra' (generic)",
                     "provider event for an instance the dashboard does not have: 'fantasma' (evolution)"]


def test_a_pushed_qr_is_shown_only_when_newer_than_what_the_dialog_has():
    clock = FakeClock()
    qrs = PushedQrs(clock=clock)
    assert qrs.newer_than("i", 0.0) is None
    clock.advance(5)
    qrs.put("i", b"png-1")
    assert qrs.newer_than("i", clock() - 1) == b"png-1" and qrs.newer_than("i", clock()) is None
