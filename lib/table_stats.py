"""What the instances table says of each instance's history: its uptime over 7 days (the same
arithmetic as the cards' and Histórico's, lib.uptime: counted from the first connection, none
before it) and its last drop within 30 days."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from lib import uptime
from lib.models import Instance, InstanceEvent

LAST_DROP_WINDOW = timedelta(days=30)  # an older drop leaves "Última queda" empty
IDS_PER_QUERY = 150  # a PostgREST filter lists them in the URL: 150 ids stay well under its limits


@dataclass(frozen=True)
class TableStats:
    uptime_7d: float | None  # 0..1 since the first connection; None: not connected yet, or nothing known
    last_drop: datetime | None


def table_stats(store, instances: list[Instance], now: datetime) -> dict[str, TableStats]:
    """Per instance id: three queries per IDS_PER_QUERY instances."""
    ids = [i.id for i in instances]
    week_ago = now - uptime.WINDOWS["7 dias"]
    week: dict[str, list[InstanceEvent]] = {instance_id: [] for instance_id in ids}
    last_drops: dict[str, datetime] = {}
    for start in range(0, len(ids), IDS_PER_QUERY):
        chunk = ids[start:start + IDS_PER_QUERY]
        for event in store.events(instance_ids=chunk, since=week_ago, oldest_first=True):
            week[event.instance_id].append(event)
        for event in store.events(instance_ids=chunk, kinds=["dropped"], since=now - LAST_DROP_WINDOW):
            last_drops.setdefault(event.instance_id, event.created_at)  # newest first: the first is the last
    before = store.status_before(ids, week_ago) if ids else {}
    return {i.id: TableStats(uptime.measure(uptime.segments(before.get(i.id), week[i.id], week_ago, now), week_ago,
                                            now, i.first_connected_at).share, last_drops.get(i.id))
            for i in instances}
