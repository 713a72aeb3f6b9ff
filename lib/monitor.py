"""The status monitor: the provider's word, written to the store without anyone clicking.

One `StatusMonitor` per server process (started by the server's lifespan, never per browser
session) asks the provider for every instance's status every `interval_seconds`, at most
MAX_PARALLEL_CALLS calls in flight, and writes only what changed. The same checks serve an
admin's "Verificar agora" and the connect dialog's polling (lib.instances), and pushed provider
events are applied the same way (apply_event).

Every status write is a compare-and-set on the status read before the call, so a late reply never
undoes a user's action. A failed check leaves the status alone and records the message; after
FAILURES_BEFORE_NO_ANSWER failures in a row the card says the provider has not answered since the
last good check, and the row is not written again until the streak ends.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from typing import Callable

from lib import history
from lib.alerts.rules import CONFIRM_SECONDS, AlertRules
from lib.errors import AppError, InstanceNotFound, ProviderError
from lib.models import FAILURES_BEFORE_NO_ANSWER, CheckResult, Instance, Origin
from lib.provider.base import LIST, Provider, ProviderEvent, RemoteInstance, StatusReply
from lib.provider.http import MAX_PARALLEL_CALLS, MSG_INSTANCE_UNKNOWN
from lib.store.base import InstanceStore, ServerStore

log = logging.getLogger(__name__)

MIN_LEASE_SECONDS = 60
ALERT_POLL_SECONDS = 5.0  # how soon a drop pushed by the provider is alerted
STUCK_CONNECTING = timedelta(minutes=3)  # connecting longer than this: asked again within a minute
STUCK_CHECK_SECONDS = 60.0  # between sweeps further apart than STUCK_CONNECTING


MONITOR = Origin("monitor")
PROVIDER_EVENT = Origin("provider_event")


def apply_status(store: InstanceStore, instance: Instance, status: str, phone_number: str | None,
                 origin: Origin) -> Instance | None:
    """Write what the provider said, if it differs from `instance` (the row as read before asking),
    with its history event. Returns the row as stored afterwards, or None when nothing differed (the
    caller marks it checked). A connected reply without a number keeps the number already known."""
    phone = (phone_number or instance.phone_number) if status == "connected" else None
    if (status, phone) == (instance.status, instance.phone_number):
        return None
    after = store.record_check(instance.id, status=status, phone_number=phone, expected_status=instance.status)
    if after.status == status:  # else the compare-and-set refused: whoever changed it wrote its own event
        event = history.transition_event(instance, after, source=origin.source, actor=origin.actor)
        if event:
            history.record(store, event)
        _check_recovered(store, instance, origin)
    return after


def record_failure(store: InstanceStore, instance: Instance, message: str, origin: Origin) -> None:
    """Keep a failed check's message on the row (the status stays as it was); once the streak has
    reached FAILURES_BEFORE_NO_ANSWER with the same message there is nothing new to write. The
    history gets the start of a streak, not every failure."""
    if instance.check_failures >= FAILURES_BEFORE_NO_ANSWER and instance.last_error == message:
        return
    try:
        store.record_check_failure(instance.id, error=message, max_failures=FAILURES_BEFORE_NO_ANSWER)
    except InstanceNotFound:
        raise  # deleted meanwhile: that, not the provider's failure, is the news
    except AppError:
        return  # the store is down: the check's own error says enough
    if instance.check_failures == 0:
        history.record(store, history.check_event(instance, "check_failed", source=origin.source,
                                                  actor=origin.actor, detail=message))


def _check_recovered(store: InstanceStore, instance: Instance, origin: Origin) -> None:
    """A check answered after a failure streak: the history gets its end."""
    if instance.check_failures:
        history.record(store, history.check_event(instance, "check_recovered", source=origin.source,
                                                  actor=origin.actor, detail=None))


def check_status(store: InstanceStore, provider: Provider, instance: Instance, token: str,
                 origin: Origin) -> Instance:
    """Ask the provider for one instance and record the answer; returns the row as stored after it.
    Raises the ProviderError of a failed check, after recording it."""
    try:
        reply = provider.status(instance.instance_id, token)
    except ProviderError as exc:
        record_failure(store, instance, exc.message, origin)  # raises InstanceNotFound if it is gone
        raise
    after = apply_status(store, instance, reply.status, reply.phone_number, origin)
    if after is None and (instance.last_error or instance.check_failures):
        store.mark_checked([instance.id])
        _check_recovered(store, instance, origin)
    return after or instance


def check_all(
    store: InstanceStore, provider: Provider, instances: list[Instance], token_of: Callable[[Instance], str],
    origin: Origin,
) -> list[CheckResult]:
    """The provider's word on every instance: one request listing them all when the provider can
    (lib.provider.base.LIST; an instance missing from the list is unknown there), else one status
    call per instance, at most MAX_PARALLEL_CALLS in flight, so one slow or failing instance
    neither holds up nor fails the others (also the fallback when the list fails). Changes are
    written one by one; the rows that answered unchanged are marked checked together, in one write."""
    unchanged: list[Instance] = []
    if not instances:
        return []
    listed = _listed(provider)

    def check(instance: Instance) -> CheckResult:
        try:
            reply = _listed_reply(listed, instance) if listed is not None else provider.status(
                instance.instance_id, token_of(instance))
            after = apply_status(store, instance, reply.status, reply.phone_number, origin)
        except ProviderError as exc:
            try:
                record_failure(store, instance, exc.message, origin)
            except InstanceNotFound as gone:
                return CheckResult(instance, error=gone.message)
            return CheckResult(instance, error=exc.message)
        except AppError as exc:
            return CheckResult(instance, error=exc.message)
        if after is None:
            unchanged.append(instance)
        return CheckResult(instance, after=after or instance)

    if listed is not None:
        results = [check(instance) for instance in instances]
    else:
        with ThreadPoolExecutor(max_workers=min(MAX_PARALLEL_CALLS, len(instances))) as pool:
            results = list(pool.map(check, instances))
    if unchanged:
        store.mark_checked([instance.id for instance in unchanged])
        for instance in unchanged:
            _check_recovered(store, instance, origin)
    return results


def _listed(provider: Provider) -> dict[str, RemoteInstance] | None:
    """Every instance at the provider by its id, in one request; None when the provider cannot list
    them or the list failed (then each instance is asked about on its own)."""
    if LIST not in provider.capabilities:
        return None
    try:
        return {remote.instance_id: remote for remote in provider.list_instances()}
    except ProviderError as exc:
        log.warning("listing the provider's instances failed (%s): asking about each one", exc.message)
        return None


def _listed_reply(listed: dict[str, RemoteInstance], instance: Instance) -> StatusReply:
    remote = listed.get(instance.instance_id)
    if remote is None:
        raise ProviderError(MSG_INSTANCE_UNKNOWN, action="status", retryable=False, status_code=404)
    return StatusReply(remote.status, remote.phone_number, remote.reason)


def apply_event(store: ServerStore, event: ProviderEvent) -> Instance | None:
    """Apply a status change the provider pushed. Returns the row after it, or None when no
    instance has that provider id (nothing is written)."""
    instance = store.find_by_instance_id(event.instance_id)
    if instance is None:
        return None
    after = apply_status(store, instance, event.status, event.phone_number, PROVIDER_EVENT)
    if after is None:
        store.mark_checked([instance.id])
        _check_recovered(store, instance, PROVIDER_EVENT)
        return instance
    return after


class StatusMonitor:
    """Sweeps every instance every `interval_seconds` on a daemon thread, while it holds the lease
    (several app replicas on one database: only one sweeps). The holder also runs the alerts (lib.alerts:
    reading the history every ALERT_POLL_SECONDS, and checking a drop a second time CONFIRM_SECONDS
    after the sweep that found it) and prunes the history once a day."""

    def __init__(
        self,
        store: ServerStore,
        provider: Provider,
        *,
        interval_seconds: float,
        alerts: AlertRules | None = None,
        retention_days: int = 180,
        holder: str | None = None,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.store = store
        self.provider = provider
        self.interval_seconds = interval_seconds
        self.alerts = alerts
        self.retention = timedelta(days=retention_days)
        self.holder = holder or f"monitor-{uuid.uuid4()}"
        self.holding = False
        self.last_sweep_at: datetime | None = None
        self.instances = 0
        self._clock = clock
        self._confirm_at: float | None = None
        self._pruned_at: datetime | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def lease_seconds(self) -> int:
        return int(max(3 * self.interval_seconds, MIN_LEASE_SECONDS))

    def sweep(self) -> list[CheckResult] | None:
        """One pass over every instance; None when another process holds the lease."""
        holding = self.store.claim_lease(self.holder, self.lease_seconds)
        if holding and not self.holding and self.alerts:
            self.alerts.start()  # a new holder: what happened before it is not news
        self.holding = holding
        if not holding:
            return None
        results = self._check(self.store.instances_with_tokens())
        self.instances = len(results)
        self.last_sweep_at = datetime.now(timezone.utc)
        changed = [r for r in results if r.changed]
        failed = [r for r in results if r.error]
        if changed or failed:
            log.info("status sweep: %d instances, %d changed, %d failed", len(results), len(changed), len(failed))
        self._prune_history()
        return results

    def confirm_drops(self) -> list[CheckResult]:
        """Check again the instances a check found dropped (the alerts' second check)."""
        self._confirm_at = None
        pending = {instance.id for instance in self.alerts.pending}
        return self._check([(i, token) for i, token in self.store.instances_with_tokens() if i.id in pending])

    def check_stuck_connecting(self) -> list[CheckResult]:
        """Ask again about the instances connecting for longer than STUCK_CONNECTING (an abandoned
        QR), so that they show what the provider says even when sweeps are further apart."""
        since = datetime.now(timezone.utc) - STUCK_CONNECTING
        stuck = [(instance, token) for instance, token in self.store.instances_with_tokens()
                 if instance.status == "connecting" and (instance.status_changed_at or instance.created_at) < since]
        return self._check(stuck) if stuck else []

    def _check(self, pairs: list[tuple[Instance, str]]) -> list[CheckResult]:
        tokens = {instance.id: token for instance, token in pairs}
        results = check_all(self.store, self.provider, [instance for instance, _ in pairs], lambda i: tokens[i.id], MONITOR)
        if self.alerts:
            self.alerts.after_check([r.after or r.before for r in results])
            self.alerts.poll()  # the drops this check found wait for the next one
            if self.alerts.pending and self._confirm_at is None:
                self._confirm_at = self._clock() + CONFIRM_SECONDS
        return results

    def _prune_history(self) -> None:
        now = datetime.now(timezone.utc)
        if self._pruned_at is None or now - self._pruned_at > timedelta(days=1):
            self._pruned_at = now
            removed = self.store.prune_events(now - self.retention)
            if removed:
                log.info("history: %d events older than %d days removed", removed, self.retention.days)

    def start(self) -> "StatusMonitor":
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="status-monitor", daemon=True)
            self._thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Stop sweeping and give the lease up, so a restarted server sweeps at once."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        try:
            self.store.release_lease(self.holder)
        except AppError as exc:  # it expires by itself
            log.warning("status monitor lease not released: %s", exc.message)

    def _run(self) -> None:
        next_sweep = self._clock()
        stuck_checks = self.interval_seconds > STUCK_CONNECTING.total_seconds()  # else every sweep does it
        next_stuck_check = next_sweep + STUCK_CHECK_SECONDS
        while not self._stop.is_set():
            try:
                if self._clock() >= next_sweep:
                    next_sweep = self._clock() + self.interval_seconds
                    self.sweep()
                elif stuck_checks and self._clock() >= next_stuck_check:
                    next_stuck_check = self._clock() + STUCK_CHECK_SECONDS  # also when not holding: no busy loop
                    if self.holding:
                        self.check_stuck_connecting()
                elif self.alerts and self.holding:
                    if self._confirm_at is not None and self._clock() >= self._confirm_at:
                        self.confirm_drops()  # its check polls the history too
                    else:
                        self.alerts.poll()
            except Exception:  # noqa: BLE001 - a store outage must not end the monitor
                log.exception("status monitor pass failed")
            wakes = [next_sweep] + ([next_stuck_check] if stuck_checks else [])
            wake = min(wakes + ([self._clock() + ALERT_POLL_SECONDS] if self.alerts else []))
            self._stop.wait(max(0.0, wake - self._clock()))
