"""The arithmetic that turns the history (lib.history) into timelines and uptime.

Uptime is the time spent connected over the time the instance's status is known in the window; an
instance created inside the window counts from its creation, a deleted one until its deletion.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from lib.models import Instance, InstanceEvent

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


def drops(events: list[InstanceEvent]) -> int:
    return sum(e.kind == "dropped" for e in events)


def format_uptime(value: float | None) -> str:
    """"97 %", "99,9 %" (rounded down: a minute offline never shows as 100 %), or "sem dados"."""
    if value is None:
        return "sem dados"
    percent = math.floor(value * 1000) / 10
    return f"{percent:.1f}".rstrip("0").rstrip(".").replace(".", ",") + " %"


# -- what the screens show -----------------------------------------------------------------
@dataclass(frozen=True)
class CardStats:
    uptime_24h: float | None
    drops_7d: int


@dataclass(frozen=True)
class WindowView:
    uptime: float | None
    buckets: list[Segment]


CHART_BUCKETS = 288  # slices of a window on the chart: 5 min over 24 h, 35 min over 30 days


def card_stats(store, instances: list[Instance], now: datetime) -> dict[str, CardStats]:
    """Uptime over 24 h and drops over 7 days of each instance: two queries for all of them."""
    ids = [i.id for i in instances]
    if not ids:
        return {}
    day_ago, week_ago = now - WINDOWS["24 h"], now - WINDOWS["7 dias"]
    by_instance: dict[str, list[InstanceEvent]] = {instance_id: [] for instance_id in ids}
    for event in store.events(instance_ids=ids, since=week_ago, oldest_first=True):
        by_instance[event.instance_id].append(event)
    before = store.status_before(ids, day_ago)
    stats = {}
    for instance_id, mine in by_instance.items():
        timeline = segments(before.get(instance_id), [e for e in mine if e.created_at >= day_ago], day_ago, now)
        stats[instance_id] = CardStats(uptime(timeline), drops(mine))
    return stats


def instance_windows(store, instance: Instance, now: datetime) -> dict[str, WindowView]:
    """Uptime and the chart's slices of one instance for each window: read once (the events of the
    longest window), computed once; the caller keeps it until the store changes."""
    longest = max(WINDOWS.values())
    events = store.events(instance_ids=[instance.id], since=now - longest, oldest_first=True)
    views = {}
    for label, length in WINDOWS.items():
        start = now - length
        before = [e for e in events if e.created_at < start and sets_status(e)]
        initial = before[-1] if before else store.status_before([instance.id], start).get(instance.id)
        timeline = segments(initial, events, start, now)
        views[label] = WindowView(uptime(timeline), buckets(timeline, start, now, CHART_BUCKETS))
    return views
