"""Deciding which alerts to send (AlertRules) and recording what became of them."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone
from typing import Callable

from lib import history
from lib.alerts.message import ALERT_LABELS, Alert, compose
from lib.alerts.sender import AlertSender
from lib.config.settings import AlertSettings
from lib.errors import AppError
from lib.models import Instance, InstanceEvent, User

log = logging.getLogger(__name__)

STUCK_AFTER = timedelta(minutes=10)
UNSTABLE_DROPS = 4
UNSTABLE_WINDOW = timedelta(hours=1)
CONFIRM_SECONDS = 15.0  # the second check of a drop the monitor found


def record_outcome(store, alert: Alert, reason: str | None, *, actor: User | None = None) -> None:
    """alert_sent / alert_failed in the history; the detail names the kind first (see AlertRules).
    `actor`: the admin who sent a test; None for the monitor's alerts."""
    label = ALERT_LABELS[alert.kind]
    instance = alert.instance
    history.record(store, InstanceEvent(
        instance_id=instance.id if instance else None,
        instance_name=instance.name if instance else "(teste de alerta)",
        kind="alert_failed" if reason else "alert_sent",
        source="user" if actor else "monitor",
        phone_number=(instance.phone_number or instance.last_phone_number) if instance else None,
        actor_id=actor.id if actor else None,
        actor_email=actor.email if actor else None,
        detail=f"{label}: {reason}" if reason else f"{label}: {alert.title}",
    ))
    if reason:
        log.warning("alert %s not sent: %s", alert.kind, reason)


def alert_banner(store) -> InstanceEvent | None:
    """The last alert outcome when it was a failure (admins see it until the next success)."""
    latest = store.events(kinds=["alert_sent", "alert_failed"], limit=1)
    return latest[0] if latest and latest[0].kind == "alert_failed" else None


# What undoes each kind: once it was sent, the kind is news again whatever its cooldown.
_OPPOSITE = {"dropped": "recovered", "unstable": "recovered", "recovered": "dropped"}


class AlertRules:
    """Decides what to send. Fed by the monitor of the lease holder: poll() reads the history
    written since the last call (whoever wrote it, in whichever replica), after_check() sees the
    rows as a sweep (or a confirmation check) left them."""

    def __init__(self, store, settings: AlertSettings, sender: AlertSender, *, public_url: str | None = None,
                 clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc)):
        self.store = store
        self.settings = settings
        self.sender = sender
        self.public_url = public_url
        self.clock = clock
        self._cursor: int | None = None
        self._pending: dict[str, Instance] = {}  # found dropped by a check: confirmed by the next one
        self._down_since: dict[str, datetime] = {}  # a drop was alerted: the next connection is news
        self._stuck: dict[str, datetime] = {}  # stuck connecting, alerted for this status_changed_at
        # (instance, kind) -> (when, order): the last alert of each kind; the order tells which of
        # two alerts came last even at the same instant.
        self._last_sent: dict[tuple[str, str], tuple[datetime, int]] = {}

    @property
    def pending(self) -> list[Instance]:
        return list(self._pending.values())

    def start(self) -> None:
        """(Re)start from now: what happened before is not news. The cooldowns of alerts already
        sent (by this process or another replica) are read back from the history."""
        self._cursor = self.store.last_event_id()
        since = self.clock() - self._cooldown
        for event in self.store.events(kinds=["alert_sent"], since=since):
            kind = next((k for k, label in ALERT_LABELS.items() if (event.detail or "").startswith(label + ":")), None)
            if kind and event.instance_id:
                self._last_sent[(event.instance_id, kind)] = (event.created_at, event.id or 0)

    def poll(self) -> None:
        """Read the history since the last call and act on it."""
        if self._cursor is None:
            self.start()
            return
        for event in self.store.events(after_id=self._cursor, oldest_first=True):
            self._cursor = max(self._cursor, event.id)
            self._on_event(event)

    def after_check(self, instances: list[Instance]) -> None:
        """The rows as a check just left them. The check is the second one for the drops found
        before it: still disconnected means down."""
        now = self.clock()
        by_id = {i.id: i for i in instances}
        for instance_id in list(self._pending):
            current = by_id.get(instance_id)
            if current is None:
                continue
            del self._pending[instance_id]
            if current.status == "disconnected":
                self._drop(current)
        for instance in instances:
            since = instance.status_changed_at
            if instance.status != "connecting" or since is None:
                self._stuck.pop(instance.id, None)
            elif now - since > STUCK_AFTER and self._stuck.get(instance.id) != since:
                self._stuck[instance.id] = since
                self._send("stuck_connecting", instance)

    # -- rules -------------------------------------------------------------------------------
    def _on_event(self, event: InstanceEvent) -> None:
        if event.kind == "dropped":
            instance = self._instance(event.instance_id)
            if instance is None or instance.status != "disconnected":
                return  # back already (or deleted): nothing to say
            if event.source == "provider_event":
                self._drop(instance)
            else:
                self._pending[instance.id] = instance
        elif event.kind == "connected" and event.instance_id in self._down_since:
            down_since = self._down_since.pop(event.instance_id)
            instance = self._instance(event.instance_id)
            if instance is not None and not self._unstable(instance.id):
                self._send("recovered", instance, down_since=down_since)
        elif event.kind == "deleted":
            for table in (self._pending, self._down_since, self._stuck):
                table.pop(event.instance_id, None)

    def _drop(self, instance: Instance) -> None:
        drops = self._unstable(instance.id)
        told = self._send("unstable", instance, drops=drops) if drops else self._send("dropped", instance)
        if told:  # its end will be news too
            self._down_since[instance.id] = instance.dropped_at or instance.status_changed_at or self.clock()

    def _unstable(self, instance_id: str) -> int:
        """The drops of the last hour, when they make the instance unstable; else 0."""
        recent = self.store.events(instance_ids=[instance_id], kinds=["dropped"], since=self.clock() - UNSTABLE_WINDOW)
        return len(recent) if len(recent) >= UNSTABLE_DROPS else 0

    def _instance(self, instance_id: str | None) -> Instance | None:
        try:
            return self.store.get_instance(instance_id) if instance_id else None
        except AppError:
            return None

    @property
    def _cooldown(self) -> timedelta:
        return timedelta(minutes=self.settings.cooldown_minutes)

    def _send(self, kind: str, instance: Instance, **details) -> bool:
        """Send unless the kind is off or was sent for this instance within the cooldown. The
        cooldown never hides a change back: a drop after an alerted recovery (or a recovery after
        an alerted drop) is always sent; four drops in an hour are one "instável" instead. True when
        the team has been told (now or within the cooldown)."""
        if ("dropped" if kind == "unstable" else kind) not in self.settings.on:
            return False
        now = self.clock()
        last = self._last_sent.get((instance.id, kind))
        back = self._last_sent.get((instance.id, _OPPOSITE.get(kind, kind)))
        if last is not None and now - last[0] < self._cooldown and not (back is not None and back[1] > last[1]):
            return True
        self._last_sent[(instance.id, kind)] = (now, max((order for _, order in self._last_sent.values()), default=0) + 1)
        alert = compose(kind, instance, now=now, public_url=self.public_url, **details)
        self.sender.submit(alert, lambda sent, reason: record_outcome(self.store, sent, reason))
        return True
