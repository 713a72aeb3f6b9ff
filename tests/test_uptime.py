"""The uptime arithmetic (lib.uptime) on crafted histories, and read from a real SQLite file."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from lib import uptime as uptimes
from lib.models import InstanceEvent
from lib.store.sqlite.instances import SQLiteInstanceStore
from lib.uptime import Segment, buckets, card_stats, format_uptime, instance_windows, segments, uptime

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=timezone.utc)


def ev(kind, to_status, minutes, instance_id="i") -> InstanceEvent:
    return InstanceEvent(instance_id, "Cobrança", kind, "monitor", to_status=to_status,
                         created_at=T0 + timedelta(minutes=minutes), id=minutes)


def test_uptime_counts_connected_time_over_known_time():
    start, end = T0, T0 + timedelta(hours=1)
    before = ev("connected", "connected", -30)
    events = [ev("dropped", "disconnected", 15), ev("connected", "connected", 45)]
    timeline = segments(before, events, start, end)
    assert [(s.status, s.seconds) for s in timeline] == [("connected", 900), ("disconnected", 1800), ("connected", 900)]
    assert uptime(timeline) == pytest.approx(0.5)


def test_an_instance_created_inside_the_window_counts_from_its_creation():
    start, end = T0, T0 + timedelta(hours=4)
    events = [ev("created", "disconnected", 120), ev("connected", "connected", 180)]
    timeline = segments(None, events, start, end)
    assert timeline[0] == Segment(start, T0 + timedelta(hours=2), None)  # did not exist: not counted
    assert uptime(timeline) == pytest.approx(0.5)  # 1 h connected of the 2 h it existed


def test_a_deleted_instance_and_a_new_one_with_the_same_name_have_separate_histories(database):
    store = SQLiteInstanceStore(database)
    for event in (ev("created", "disconnected", 0, "old"), ev("connected", "connected", 10, "old"),
                  InstanceEvent("old", "Cobrança", "deleted", "user", from_status="connected",
                                created_at=T0 + timedelta(minutes=30)),
                  ev("created", "disconnected", 40, "new")):
        store.add_event(event)
    end = T0 + timedelta(hours=1)
    old = segments(store.status_before(["old"], T0).get("old"), store.events(instance_ids=["old"]), T0, end)
    new = segments(None, store.events(instance_ids=["new"]), T0, end)
    assert uptime(old) == pytest.approx(20 / 30)  # connected 20 of the 30 min it existed
    assert uptime(new) == 0.0
    later = T0 + timedelta(hours=2)  # a window after the deletion knows nothing of the old one
    assert segments(store.status_before(["old"], later).get("old"), [], later, later + timedelta(hours=1))[0].status is None


def test_a_window_with_no_events_takes_the_status_from_before_it_or_knows_nothing():
    start, end = T0, T0 + timedelta(hours=24)
    assert uptime(segments(ev("connected", "connected", -600), [], start, end)) == 1.0
    assert uptime(segments(None, [], start, end)) is None
    assert format_uptime(None) == "sem dados"


def test_a_one_minute_drop_stays_visible_in_a_month_chart():
    start, end = T0, T0 + timedelta(days=30)
    events = [ev("dropped", "disconnected", 600), ev("connected", "connected", 601)]
    chart = buckets(segments(ev("connected", "connected", -1), events, start, end), start, end, 288)
    assert [s.status for s in chart] == ["connected", "disconnected", "connected"]
    assert chart[0].start == start and chart[-1].end == end


@pytest.mark.parametrize("value, text", [(1.0, "100 %"), (0.97, "97 %"), (0.9995, "99,9 %"), (0.0, "0 %")])
def test_uptime_reads_in_portuguese_and_never_rounds_up_to_100(value, text):
    assert format_uptime(value) == text


def test_card_stats_and_windows_read_from_the_store(database):
    store = SQLiteInstanceStore(database)
    row = store.insert_instance(instance_id="p", token="t", name="Cobrança", created_by=None)
    now = datetime.now(timezone.utc)
    for minutes_ago, kind, status in ((3 * 24 * 60, "connected", "connected"), (120, "dropped", "disconnected"),
                                       (60, "connected", "connected")):
        store.add_event(InstanceEvent(row.id, row.name, kind, "monitor", to_status=status,
                                      created_at=now - timedelta(minutes=minutes_ago)))
    stats = card_stats(store, [row], now)[row.id]
    assert stats.drops_7d == 1 and stats.uptime_24h == pytest.approx(23 / 24, abs=0.001)
    windows = instance_windows(store, row, now)
    assert list(windows) == list(uptimes.WINDOWS)
    assert windows["24 h"].uptime == pytest.approx(23 / 24, abs=0.001)
    assert any(s.status == "disconnected" for s in windows["30 dias"].buckets)
