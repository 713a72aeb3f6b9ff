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


_SEVERITY = {"disconnected": 3, "connecting": 2, "connected": 1}


def buckets(timeline: list[Segment], start: datetime, end: datetime, count: int) -> list[Segment]:
    """The timeline in `count` equal slices, each with the worst status seen in it (any time
    disconnected makes it red), equal neighbours merged: what a chart of a month can draw, with
    a one-minute drop still visible."""
    width = (end - start) / count
    result: list[Segment] = []
    first = 0  # the timeline is in order: each slice starts looking where the previous one did
    for index in range(count):
        left, right = start + index * width, start + (index + 1) * width
        while first < len(timeline) and timeline[first].end <= left:
            first += 1
        seen, at = set(), first
        while at < len(timeline) and timeline[at].start < right:
            if timeline[at].status:
                seen.add(timeline[at].status)
            at += 1
        status = max(seen, key=_SEVERITY.get) if seen else None
        if result and result[-1].status == status:
            result[-1] = Segment(result[-1].start, right, status)
        else:
            result.append(Segment(left, right, status))
    return result


def clip(timeline: list[Segment], start: datetime) -> list[Segment]:
    """The part of the timeline from `start` on (a shorter window of the same timeline)."""
    return [Segment(max(s.start, start), s.end, s.status) for s in timeline if s.end > start]


def short_segments(timeline: list[Segment], chart: list[Segment], width: timedelta) -> list[Segment]:
    """The segments shorter than a slice of the chart whose status the slice they start in does not
    show (a one-minute connection in a red slice): drawn on top, so that every change is seen."""
    found, at = [], 0
    for segment in timeline:
        if segment.status is None or segment.end - segment.start >= width:
            continue
        while at + 1 < len(chart) and chart[at].end <= segment.start:
            at += 1
        if chart and chart[at].status != segment.status:
            found.append(segment)
    return found


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
    uptime: Uptime
    buckets: list[Segment]  # the chart's slices
    short: list[Segment]  # what the slices hide (short_segments), drawn on top


CHART_BUCKETS = 288  # slices of a window on the chart: 5 min over 24 h, 35 min over 30 days


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
    views = {}
    for label, length in WINDOWS.items():
        start = now - length
        mine = clip(timeline, start)
        chart = buckets(mine, start, now, CHART_BUCKETS)
        views[label] = WindowView(measure(mine, start, now, instance.first_connected_at), chart,
                                  short_segments(mine, chart, length / CHART_BUCKETS))
    return views


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
