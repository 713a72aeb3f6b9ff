"""The arithmetic that turns the history (lib.history) into timelines and uptime.

Uptime is the time spent connected over the time the instance's status is known in the window,
counted from its first connection: before it there is nothing to measure ("ainda não conectada",
not 0 %), and a window longer than the instance's connected life says over what span it was
measured ("100 % desde 14:02"). A deleted instance counts until its deletion.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from lib.models import Instance, InstanceEvent
from lib.presentation import format_since

WINDOWS = {"24 h": timedelta(hours=24), "7 dias": timedelta(days=7), "30 dias": timedelta(days=30)}


def sets_status(event: InstanceEvent) -> bool:
    """Whether the event tells what the status is from then on (a deletion ends it)."""
    return event.to_status is not None or event.kind == "deleted"


@dataclass(frozen=True)
class Segment:
    start: datetime
    end: datetime
    status: str | None  # None: the instance did not exist, or its status is unknown
    changes: int = 0  # a busy window's stretch (lib.uptime.stretches): the changes in it; 0: one status

    @property
    def seconds(self) -> float:
        return (self.end - self.start).total_seconds()


def segments(before: InstanceEvent | None, events: list[InstanceEvent], start: datetime, end: datetime) -> list[Segment]:
    """The instance's status over [start, end): `before` is its last status-setting event before
    `start` (None: it did not exist yet, or nothing is known), `events` those inside the window."""
    status = before.to_status if before is not None else None
    moments = [e for e in sorted(events, key=lambda e: (e.created_at, e.id or 0))
               if sets_status(e) and start <= e.created_at < end]
    result, since = [], start
    for event in moments:
        if event.created_at > since:
            result.append(Segment(since, event.created_at, status))
        status, since = event.to_status, event.created_at
    if end > since:
        result.append(Segment(since, end, status))
    return result


def uptime(timeline: list[Segment]) -> float | None:
    """Share of the known time spent connected (0..1); None when nothing is known in the window."""
    known = sum(s.seconds for s in timeline if s.status is not None)
    if known <= 0:
        return None
    return sum(s.seconds for s in timeline if s.status == "connected") / known


def clip(timeline: list[Segment], start: datetime) -> list[Segment]:
    """The part of the timeline from `start` on (a shorter window of the same timeline)."""
    return [Segment(max(s.start, start), s.end, s.status) for s in timeline if s.end > start]


@dataclass(frozen=True)
class Uptime:
    """Uptime over a window: `share` of the known time connected (None: nothing known), `since` the
    first connection when it came after the window's start (the span measured is shorter), and
    `connected_yet` False before the first connection (nothing to measure)."""

    share: float | None
    since: datetime | None = None
    connected_yet: bool = True


NOT_CONNECTED_YET = Uptime(None, connected_yet=False)


def measure(timeline: list[Segment], start: datetime, end: datetime, first_connected_at: datetime | None) -> Uptime:
    """The uptime of the timeline over [start, end), counted from the first connection. Inside the
    window that is the first connected segment (its event: the row's first_connected_at is written
    a moment before it, and that moment is no disconnection); the row's time when the history
    lacks the event."""
    if first_connected_at is None or first_connected_at >= end:
        return NOT_CONNECTED_YET
    if first_connected_at <= start:
        return Uptime(uptime(timeline))
    since = next((s.start for s in timeline if s.status == "connected"), first_connected_at)
    return Uptime(uptime(clip(timeline, since)), since)


def format_uptime(value: float | None) -> str:
    """"97 %", "99,9 %" (rounded down: a minute offline never shows as 100 %), or "sem dados"."""
    if value is None:
        return "sem dados"
    percent = math.floor(value * 1000) / 10
    return f"{percent:.1f}".rstrip("0").rstrip(".").replace(".", ",") + " %"


# -- what the screens show -----------------------------------------------------------------
@dataclass(frozen=True)
class CardStats:
    """What a card says: uptime over 24 h and 7 days (with their spans), drops over 7 days."""

    uptime_24h: Uptime
    uptime_7d: Uptime
    drops_7d: int


@dataclass(frozen=True)
class WindowView:
    """A window's uptime and chart: each segment from one real status change to the next (never a
    slice of the window: a drop at 17:15 starts at 17:15), and those too thin to see on a phone,
    which the chart draws a few pixels wide, its tooltip still saying their real times."""

    uptime: Uptime
    timeline: list[Segment]
    short: list[Segment]  # earlier segments of a known status, too thin to see: ticks on top
    current: Segment | None  # the status now when too thin to see: drawn at the bar's end


# Narrower than this share of a window, a segment is a hairline on a phone's chart (~350 px: 4 px).
THIN_SHARE = 1 / 80
# More changes than this in a window and the chart would draw a mark for each, thousands where no
# screen has the pixels: it draws STRETCHES equal stretches instead, each in the worst status it
# was in (a drop of a minute still shows) and saying how many changes it holds.
MOST_SEGMENTS_DRAWN = 300
STRETCHES = 240
WORST_FIRST = ("disconnected", "connecting", "connected")


def stretches(timeline: list[Segment], start: datetime, end: datetime) -> list[Segment]:
    """The window cut in STRETCHES equal stretches: each the worst status it was in (WORST_FIRST;
    None when unknown throughout) with the changes of status that happened in it."""
    step = (end - start) / STRETCHES
    result, index = [], 0
    for n in range(STRETCHES):
        low, high = start + step * n, start + step * (n + 1)
        time_in: dict[str | None, float] = {}
        changes = 0
        while index < len(timeline) and timeline[index].start < high:
            segment = timeline[index]
            changes += low <= segment.start and segment.start > start  # a change happened here
            time_in[segment.status] = time_in.get(segment.status, 0.0) + (
                min(segment.end, high) - max(segment.start, low)).total_seconds()
            if segment.end > high:
                break
            index += 1
        status = next((s for s in WORST_FIRST if time_in.get(s, 0) > 0), None)
        result.append(Segment(low, high, status, changes=changes))
    return result


def window_view(timeline: list[Segment], start: datetime, end: datetime, first_connected_at: datetime | None) -> WindowView:
    """The view of the window [start, end) of the timeline (a busy one drawn in stretches)."""
    mine = clip(timeline, start)
    thin = (end - start) * THIN_SHARE
    current = mine[-1] if mine and mine[-1].end - mine[-1].start < thin else None
    measured = measure(mine, start, end, first_connected_at)
    if len(mine) > MOST_SEGMENTS_DRAWN:
        return WindowView(measured, stretches(mine, start, end), [], current)
    short = [s for s in mine[:-1] if s.status is not None and s.end - s.start < thin]
    return WindowView(measured, mine, short, current)


def _by_instance(events: list[InstanceEvent], ids: list[str]) -> dict[str, list[InstanceEvent]]:
    found: dict[str, list[InstanceEvent]] = {instance_id: [] for instance_id in ids}
    for event in events:
        found[event.instance_id].append(event)
    return found


def card_stats(store, instances: list[Instance], now: datetime) -> dict[str, CardStats]:
    """Uptime over 24 h and 7 days, drops over 7 days of each instance: two queries for all of
    them (the week's events and the status before it; the day is the end of the week)."""
    ids = [i.id for i in instances]
    if not ids:
        return {}
    day_ago, week_ago = now - WINDOWS["24 h"], now - WINDOWS["7 dias"]
    events = _by_instance(store.events(instance_ids=ids, since=week_ago, oldest_first=True), ids)
    before = store.status_before(ids, week_ago)
    stats = {}
    for instance in instances:
        mine = events[instance.id]
        week = segments(before.get(instance.id), mine, week_ago, now)
        stats[instance.id] = CardStats(
            measure(clip(week, day_ago), day_ago, now, instance.first_connected_at),
            measure(week, week_ago, now, instance.first_connected_at),
            sum(e.kind == "dropped" for e in mine))
    return stats


def instance_windows(store, instance: Instance, now: datetime) -> dict[str, WindowView]:
    """Uptime and the chart of one instance for each window: the longest window's timeline read
    once (its events and the status before it), the shorter ones cut from it; the caller keeps it
    until the store changes."""
    longest = now - max(WINDOWS.values())
    events = store.events(instance_ids=[instance.id], since=longest, oldest_first=True)
    timeline = segments(store.status_before([instance.id], longest).get(instance.id), events, longest, now)
    return {label: window_view(timeline, now - length, now, instance.first_connected_at)
            for label, length in WINDOWS.items()}


def uptime_text(value: Uptime, window: str, now: datetime) -> str:
    """"97 % em 24 h", "100 % desde 14:02" (the span measured is shorter), "ainda não conectada"."""
    if not value.connected_yet:
        return "ainda não conectada"
    if value.since is not None:
        return f"{format_uptime(value.share)} desde {format_since(value.since, now)}"
    return f"{format_uptime(value.share)} em {window}"


def uptime_metrics(views: dict[str, WindowView], now: datetime) -> list[tuple[str, str]]:
    """Histórico's figures, (label, value): one per window, until a window reaches back to the
    first connection; the longer ones measure that same span, so it is said once ("Online desde
    29/11")."""
    metrics = []
    for window, view in views.items():
        if not view.uptime.connected_yet:
            return [("Online", "Ainda não conectada")]
        if view.uptime.since is not None:
            metrics.append((f"Online desde {format_since(view.uptime.since, now)}", format_uptime(view.uptime.share)))
            break
        metrics.append((f"Online em {window}", format_uptime(view.uptime.share)))
    return metrics
