"""The uptime arithmetic (lib.uptime) on crafted histories, and read from a real SQLite file."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest

from lib.models import InstanceEvent
from lib.store.sqlite.instances import SQLiteInstanceStore
from lib.ui.card import stats_line
from lib.uptime import (
    NOT_CONNECTED_YET, CardStats, Segment, Uptime, card_stats, format_uptime, instance_windows, segments, uptime,
    uptime_metrics, window_view,
)

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
    view = window_view(segments(ev("connected", "connected", -1), events, start, end), start, end, T0)
    drop = Segment(T0 + timedelta(minutes=600), T0 + timedelta(minutes=601), "disconnected")
    assert view.timeline == [Segment(start, drop.start, "connected"), drop, Segment(drop.end, end, "connected")]
    assert view.short == [drop] and view.current is None  # drawn a few pixels wide; now: the green bar


@pytest.mark.parametrize("value, text", [(1.0, "100 %"), (0.97, "97 %"), (0.9995, "99,9 %"), (0.0, "0 %")])
def test_uptime_reads_in_portuguese_and_never_rounds_up_to_100(value, text):
    assert format_uptime(value) == text


# -- honest uptime: from the first connection, with the span measured -------------------------------
NOW = datetime(2026, 12, 3, 17, 2, tzinfo=timezone.utc)  # 14:02 in São Paulo


def crafted(store, name: str, moments: list[tuple[timedelta, str, str]], first_connected: timedelta | None,
            now: datetime = NOW):
    """An instance row with its events (how long before `now`, kind, status it set), as the row is
    read with the first connection the store kept for it."""
    row = store.insert_instance(instance_id=f"p-{name}", token="t", name=name, created_by=None)
    for ago, kind, status in moments:
        store.add_event(InstanceEvent(row.id, row.name, kind, "monitor", to_status=status, created_at=now - ago))
    return replace(row, first_connected_at=None if first_connected is None else now - first_connected)


def minutes(n: float) -> timedelta:
    return timedelta(minutes=n)


def hours(n: float) -> timedelta:
    return timedelta(hours=n)


def test_a_two_minute_old_number_connected_for_one_minute_is_100_percent_since_it_connected(database):
    store = SQLiteInstanceStore(database)
    # created 2 min ago, the QR shown, scanned 1 min ago: not 50 % (or 17 %), but 100 % since 14:01
    row = crafted(store, "Nova", [(minutes(2), "created", "disconnected"), (minutes(1.5), "connect_requested", "connecting"),
                                  (minutes(1), "connected", "connected")], first_connected=minutes(1))
    stats = card_stats(store, [row], NOW)[row.id]
    assert stats == CardStats(Uptime(1.0, since=NOW - minutes(1)), Uptime(1.0, since=NOW - minutes(1)), 0)
    assert stats_line(stats, NOW) == "Online 100 % desde 14:01  ·  nenhuma queda"
    windows = instance_windows(store, row, NOW)
    assert uptime_metrics(windows, NOW) == [("Online desde 14:01", "100 %")]
    # the half minutes before it drawn as ticks, the minute connected (the status now) at the bar's end
    view = windows["24 h"]
    assert [(s.status, s.start, s.end) for s in view.short] == [
        ("disconnected", NOW - minutes(2), NOW - minutes(1.5)), ("connecting", NOW - minutes(1.5), NOW - minutes(1))]
    assert view.current == Segment(NOW - minutes(1), NOW, "connected")


def test_the_windows_differ_as_the_history_does(database):
    store = SQLiteInstanceStore(database)
    # connected 3 days ago, down 1 h yesterday (20 h to 19 h ago)
    three_days = crafted(store, "Três dias", [(hours(72) + minutes(5), "created", "disconnected"),
                                              (hours(72), "connected", "connected"), (hours(20), "dropped", "disconnected"),
                                              (hours(19), "connected", "connected")], first_connected=hours(72))
    # connected 10 days ago; down 3 h 9 days ago, 2 h 5 days ago, 1 h yesterday
    ten_days = crafted(store, "Dez dias", [(hours(240), "connected", "connected"),
                                           (hours(216), "dropped", "disconnected"), (hours(213), "connected", "connected"),
                                           (hours(120), "dropped", "disconnected"), (hours(118), "connected", "connected"),
                                           (hours(20), "dropped", "disconnected"), (hours(19), "connected", "connected")],
                       first_connected=hours(240))
    stats = card_stats(store, [three_days, ten_days], NOW)
    # 23 of 24 h; 71 of the 72 h since it connected (30/11 at 14:02 in São Paulo)
    assert stats[three_days.id] == CardStats(Uptime(pytest.approx(23 / 24)), Uptime(pytest.approx(71 / 72), NOW - hours(72)),
                                             1)
    assert stats_line(stats[three_days.id], NOW) == "Online 95,8 % em 24 h  ·  1 queda desde 30/11"
    assert uptime_metrics(instance_windows(store, three_days, NOW), NOW) == [
        ("Online em 24 h", "95,8 %"), ("Online desde 30/11", "98,6 %")]
    # 23 of 24 h; 165 of 168 h in 7 days; 234 of the 240 h since it connected (23/11)
    assert stats[ten_days.id] == CardStats(Uptime(pytest.approx(23 / 24)), Uptime(pytest.approx(165 / 168)), 2)
    assert stats_line(stats[ten_days.id], NOW) == "Online 95,8 % em 24 h  ·  2 quedas em 7 dias"
    assert uptime_metrics(instance_windows(store, ten_days, NOW), NOW) == [
        ("Online em 24 h", "95,8 %"), ("Online em 7 dias", "98,2 %"), ("Online desde 23/11", "97,5 %")]


def test_before_the_first_connection_there_is_nothing_to_measure(database):
    store = SQLiteInstanceStore(database)
    waiting = crafted(store, "Esperando", [(hours(30), "created", "disconnected"),
                                           (minutes(3), "connect_requested", "connecting")], first_connected=None)
    stats = card_stats(store, [waiting], NOW)[waiting.id]
    assert stats == CardStats(NOT_CONNECTED_YET, NOT_CONNECTED_YET, 0)
    assert stats_line(stats, NOW) == "Online: ainda não conectada"  # not "0 %"
    assert uptime_metrics(instance_windows(store, waiting, NOW), NOW) == [("Online", "Ainda não conectada")]


def test_card_stats_read_the_store_twice_for_every_instance_at_once(database):
    store = SQLiteInstanceStore(database)
    rows = [crafted(store, f"N{n}", [(hours(30), "connected", "connected"), (hours(2), "dropped", "disconnected")],
                    first_connected=hours(30)) for n in range(5)]
    calls = []

    class Counting:
        def events(self, **filters):
            calls.append("events")
            return store.events(**filters)

        def status_before(self, ids, at):
            calls.append("status_before")
            return store.status_before(ids, at)

    stats = card_stats(Counting(), rows, NOW)
    assert calls == ["events", "status_before"]
    assert [(s.uptime_24h.share, s.drops_7d) for s in stats.values()] == [(pytest.approx(22 / 24), 1)] * 5


def test_a_one_minute_connection_stays_visible_in_a_red_month():
    start, end = T0, T0 + timedelta(days=30)
    events = [ev("connected", "connected", 600), ev("dropped", "disconnected", 601)]
    view = window_view(segments(ev("dropped", "disconnected", -1), events, start, end), start, end, T0)
    assert view.short == [Segment(T0 + timedelta(minutes=600), T0 + timedelta(minutes=601), "connected")]


# -- the chart: segments at their real events ------------------------------------------------------
DROPPED_AT = datetime(2026, 12, 5, 20, 15, tzinfo=timezone.utc)  # 17:15 in São Paulo


def test_a_drop_at_17_15_is_drawn_from_17_15_and_nothing_before_the_instance_existed(database):
    store = SQLiteInstanceStore(database)
    now = datetime(2026, 12, 5, 20, 19, 28, tzinfo=timezone.utc)  # 17:19:28, not on any slice's edge
    created, connected = datetime(2026, 12, 5, 20, 10, tzinfo=timezone.utc), datetime(2026, 12, 5, 20, 10, 30,
                                                                                     tzinfo=timezone.utc)
    row = crafted(store, "0005", [(now - created, "created", "disconnected"), (now - connected, "connected", "connected"),
                                  (now - DROPPED_AT, "dropped", "disconnected")], first_connected=now - connected, now=now)
    for window, view in instance_windows(store, row, now).items():
        assert view.timeline == [
            Segment(now - {"24 h": hours(24), "7 dias": hours(168), "30 dias": hours(720)}[window], created, None),
            Segment(created, connected, "disconnected"),
            Segment(connected, DROPPED_AT, "connected"),
            Segment(DROPPED_AT, now, "disconnected"),
        ], window


def test_the_status_now_is_drawn_at_the_bar_s_end_even_after_a_one_minute_connection(database):
    # down for the last 9 minutes, after a minute connected: on a phone both are thinner than a tick
    store = SQLiteInstanceStore(database)
    row = crafted(store, "Caída", [(hours(30), "created", "disconnected"), (minutes(10), "connected", "connected"),
                                   (minutes(9), "dropped", "disconnected")], first_connected=minutes(10))
    view = instance_windows(store, row, NOW)["24 h"]
    assert view.short == [Segment(NOW - minutes(10), NOW - minutes(9), "connected")]
    assert view.current == Segment(NOW - minutes(9), NOW, "disconnected")  # drawn last, inside the end
    # 20 minutes down is wider than a tick on a phone (24 h / 80 = 18 min): the bar itself shows it
    row = crafted(store, "Longe", [(hours(30), "created", "disconnected"), (minutes(21), "connected", "connected"),
                                   (minutes(20), "dropped", "disconnected")], first_connected=minutes(21))
    assert instance_windows(store, row, NOW)["24 h"].current is None


def test_a_busy_month_is_drawn_in_240_stretches_each_in_its_worst_status_with_its_changes():
    from lib.uptime import Segment, window_view

    start = NOW - timedelta(days=30)
    step = timedelta(days=30) / 20_000  # 20 000 changes: connected 3 parts in 4, then a drop
    timeline = [Segment(start + step * i, start + step * (i + 1), "disconnected" if i % 4 == 3 else "connected")
                for i in range(19_999)] + [Segment(start + step * 19_999, NOW, "connected")]
    timeline[:84] = [Segment(start, start + step * 84, "connected")]  # the first stretch without a drop
    view = window_view(timeline, start, NOW, start)
    assert len(view.timeline) == 240 and view.short == []  # not 20 000 marks
    assert [s.status for s in view.timeline[:2]] == ["connected", "disconnected"]  # any drop shows in its stretch
    assert {s.status for s in view.timeline[1:]} == {"disconnected"}
    assert sum(s.changes for s in view.timeline) == len(timeline) - 1  # every change, in the stretch it happened in
    assert view.timeline[0].start == start and view.timeline[-1].end == NOW
    assert view.uptime.share == pytest.approx(0.75, abs=0.01)  # measured on the real segments, not the stretches
    calm = window_view(timeline[:300], start, start + step * 300, start)
    assert calm.timeline == timeline[:300] and all(s.changes == 0 for s in calm.timeline)  # 300: each drawn
