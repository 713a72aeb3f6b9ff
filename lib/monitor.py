"""The status monitor: the provider's word, written to the store without anyone clicking.

One `StatusMonitor` per server process (started by the server's lifespan, never per browser
session) asks the provider about every instance every `interval_seconds` (lib.checks: one request
when the provider lists its instances, else at most MAX_PARALLEL_CALLS calls in flight) and writes
only what changed. It holds a lease, so several replicas never sweep twice.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from datetime import datetime, timedelta, timezone
from typing import Callable

from lib.alerts.rules import CONFIRM_SECONDS, AlertRules
from lib.checks import MONITOR, check_all
from lib.errors import AppError
from lib.models import CheckResult, Instance
from lib.provider.base import Provider
from lib.store.base import ServerStore

log = logging.getLogger(__name__)

MIN_LEASE_SECONDS = 60
ALERT_POLL_SECONDS = 5.0  # how soon a drop pushed by the provider is alerted
STUCK_CONNECTING = timedelta(minutes=3)  # connecting longer than this: asked again within a minute
STUCK_CHECK_SECONDS = 60.0  # between sweeps further apart than STUCK_CONNECTING


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
