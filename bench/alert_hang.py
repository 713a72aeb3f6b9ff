"""Sweeps while an alert is stuck at a receiver that hangs.

    .venv/bin/python -m bench.alert_hang [--instances 200] [--latency-ms 100] [--sweeps 3]

A real SQLite file, the sandbox provider in its own process (bench.provider) answering every status
call `latency_ms` late, and the tests' loopback receiver (tests/support/receiver.py) holding every
request for up to 60 s, Apprise and the sender (its limit raised to match) waiting for it as long.
First `sweeps` sweeps of a monitor without alerts (the baseline); then a monitor whose alerts go
through Apprise to the hanging receiver: a phone drops (a provider event), the alert is sent and
hangs there, and `sweeps` more sweeps run while it hangs. Issue 9's target: the sweeps with the
alert stuck take at most 1 s longer than the baseline (median against median), and the alert is
still unanswered after them.
"""

from __future__ import annotations

import statistics
import time

from bench.provider import provider_process
from bench.report import Option, main as bench_main, table, target, work_dir
from harness.seeding import seed_instances
from tests.support.receiver import Receiver  # the tests' loopback receiver, told to hang

HANG_S = 60  # Receiver holds a request until released, at most this long
GOAL_S = 1.0


def _timed_sweeps(monitor, sweeps: int) -> list[float]:
    seconds = []
    for _ in range(sweeps):
        started = time.perf_counter()
        monitor.sweep()
        seconds.append(time.perf_counter() - started)
    return seconds


def run(instances: int = 200, latency_ms: int = 100, sweeps: int = 3) -> dict:
    from lib.alerts.rules import AlertRules
    from lib.alerts.sender import AlertSender
    from lib.config.settings import AlertSettings
    from lib.checks import apply_event
    from lib.monitor import StatusMonitor
    from lib.provider.base import ProviderEvent
    from lib.provider.webhooks import WebhookClient
    from lib.store.sqlite.database import SQLiteDatabase
    from lib.store.sqlite.instances import SQLiteInstanceStore

    database = SQLiteDatabase.in_dir(work_dir("alert-hang"))
    receiver = Receiver()
    receiver.hang.set()
    url = f"json://127.0.0.1:{receiver.port}/?rto={HANG_S}"  # Apprise waits as long as it hangs
    try:
        with provider_process(latency_ms=latency_ms) as webhooks:
            seed_instances(database, instances, webhooks=webhooks, prefix="Alerta")
            store, client = SQLiteInstanceStore(database), WebhookClient(webhooks)
            without_alerts = StatusMonitor(store, client, interval_seconds=60)
            baseline = _timed_sweeps(without_alerts, sweeps)
            without_alerts.stop()  # gives the lease up to the next one

            sender = AlertSender((url,), limit_seconds=HANG_S)  # the sender stays stuck through the sweeps
            rules = AlertRules(store, AlertSettings(urls=(url,)), sender)
            monitor = StatusMonitor(store, client, interval_seconds=60, alerts=rules)
            monitor.sweep()  # takes the lease: the alerts start from here
            dropped = store.list_instances()[0]
            apply_event(store, ProviderEvent(dropped.instance_id, "connected", "+5511999990000"))
            apply_event(store, ProviderEvent(dropped.instance_id, "disconnected", None))
            rules.poll()  # the drop is alerted at once...
            if not receiver.waiting.wait(30):
                raise RuntimeError("the drop's alert never reached the receiver")
            hanging = _timed_sweeps(monitor, sweeps)  # ...and hangs there meanwhile
            still_hanging = not rules.sender.idle()  # the alert was still at the receiver after them
    finally:
        receiver.close()
    delay = statistics.median(hanging) - statistics.median(baseline)
    rows = [("no alerts", *(f"{s:.2f}" for s in baseline)), ("alert hanging", *(f"{s:.2f}" for s in hanging))]
    return {
        "instances": instances,
        "latency_ms": latency_ms,
        "baseline_seconds": [round(s, 3) for s in baseline],
        "hanging_seconds": [round(s, 3) for s in hanging],
        "alert_still_hanging": still_hanging,
        "table": table(["sweeps", *(f"#{i}" for i in range(1, sweeps + 1))], rows),
        "targets": [target(f"sweep {instances} x {latency_ms} ms with an alert hanging {HANG_S} s at its receiver",
                           f"{delay:+.2f} s against the median without alerts (the alert still unanswered "
                           f"after them: {'yes' if still_hanging else 'no'})", f"<= {GOAL_S:g} s later, alert unanswered",
                           delay <= GOAL_S and still_hanging)],
    }


def describe(args, result: dict) -> list[str]:
    return [f"Seconds per sweep ({args.instances} instances, {args.latency_ms} ms per status call)", result["table"]]


def main(argv: list[str] | None = None) -> int:
    return bench_main(argv, "alert_hang", __doc__, run, describe,
                      Option("--instances", 200), Option("--latency-ms", 100), Option("--sweeps", 3))


if __name__ == "__main__":
    raise SystemExit(main())
