"""The instances' history: what the events are, how they are recorded, and the arithmetic that turns
them into timelines and uptime.

Every real change writes one event (an append-only row of `instance_events`): the service for
what users do, lib.monitor for what the provider says (through the monitor, a pushed event or a
user's check). An unchanged check writes nothing. Uptime is the time spent connected over the time
the instance's status is known in the window; an instance created inside the window counts from
its creation, a deleted one until its deletion.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from lib.errors import AppError
from lib.models import Instance, InstanceEvent, User
from lib.reasons import reason_text

log = logging.getLogger(__name__)

KIND_LABELS = {
    "created": "Criada",
    "connect_requested": "Conexão solicitada",
    "connected": "Conectada",
    "disconnected": "Desconectada por um usuário",
    "dropped": "Caiu",
    "status_changed": "Status mudou",
    "deleted": "Excluída",
    "token_revealed": "Token exibido",
    "check_failed": "Provedor sem resposta",
    "check_recovered": "Provedor voltou a responder",
    "alert_sent": "Alerta enviado",
    "alert_failed": "Falha ao enviar alerta",
    "restarted": "Reiniciada",
    "renamed": "Renomeada",
    "details_changed": "Dados alterados",
    "imported": "Importada do provedor",
    "events_registered": "Eventos configurados no provedor",
    "stale_event": "Evento atrasado do provedor (ignorado)",
    "gone": "Não existe mais no provedor",
}
KINDS = tuple(KIND_LABELS)
_STATUS_WORDS = {"connected": "conectada", "connecting": "conectando", "disconnected": "desconectada"}
SOURCE_LABELS = {"user": "usuário", "monitor": "monitor", "provider_event": "provedor"}
WINDOWS = {"24 h": timedelta(hours=24), "7 dias": timedelta(days=7), "30 dias": timedelta(days=30)}
MAX_DETAIL = 200


def record(store, event: InstanceEvent) -> None:
    """Append the event; a failure to write history never fails what it records (it is logged)."""
    try:
        store.add_event(replace(event, detail=event.detail[:MAX_DETAIL] if event.detail else None))
    except AppError as exc:
        log.warning("history event %s of instance %s not written: %s", event.kind, event.instance_id, exc.message)


def user_event(instance: Instance, kind: str, user: User, *, from_status: str | None = None,
               to_status: str | None = None, detail: str | None = None) -> InstanceEvent:
    """What a user did to an instance (created, connect_requested, disconnected, deleted, token_revealed)."""
    return InstanceEvent(
        instance_id=instance.id, instance_name=instance.name, kind=kind, source="user",
        from_status=from_status, to_status=to_status,
        phone_number=instance.phone_number or instance.last_phone_number,
        actor_id=user.id, actor_email=user.email, detail=detail,
    )


def transition_event(before: Instance, after: Instance, *, source: str, actor: User | None) -> InstanceEvent | None:
    """The event of a status change the provider reported; None when the status did not change.
    connected → disconnected is a drop: no user asked for it (a user's disconnect is written by
    the service as `disconnected`)."""
    if before.status == after.status:
        return None
    if after.status == "connected":
        kind = "connected"
    elif before.status == "connected" and after.status == "disconnected":
        kind = "dropped"
    else:
        kind = "status_changed"
    return InstanceEvent(
        instance_id=after.id, instance_name=after.name, kind=kind, source=source,
        from_status=before.status, to_status=after.status,
        phone_number=after.phone_number or after.last_phone_number,
        actor_id=actor.id if actor else None, actor_email=actor.email if actor else None,
        detail=reason_text(after.disconnect_reason) if kind == "dropped" else None,
    )


def stale_event(instance: Instance, status: str) -> InstanceEvent:
    """A pushed event older than the last one applied (a late delivery): kept, never applied."""
    return InstanceEvent(
        instance_id=instance.id, instance_name=instance.name, kind="stale_event", source="provider_event",
        detail=f"dizia {_STATUS_WORDS.get(status, status)}; chegou depois de um evento mais novo",
    )


def check_event(instance: Instance, kind: str, *, source: str, actor: User | None, detail: str | None) -> InstanceEvent:
    """check_failed (a failure streak starts) or check_recovered (it ends)."""
    return InstanceEvent(
        instance_id=instance.id, instance_name=instance.name, kind=kind, source=source,
        actor_id=actor.id if actor else None, actor_email=actor.email if actor else None, detail=detail,
    )


# -- timelines and uptime ------------------------------------------------------------------
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
