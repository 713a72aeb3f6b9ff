"""One status monitor sweep (StatusMonitor.sweep) over many instances.

    .venv/bin/python -m bench.sweep [--instances 1000] [--latency-ms 100] [--sweeps 3]

A real SQLite file, and the sandbox provider in its own process (bench.provider) answering every
status call `latency_ms` late. Every instance is disconnected at the provider and in the store,
so every sweep finds nothing changed: it should ask the provider once per instance, MAX_PARALLEL_CALLS
at a time, read the rows and their tokens once and write once (mark_checked). The floor is
instances x latency / MAX_PARALLEL_CALLS; the first sweep also opens the client's connections.
Store and webhook calls are counted in-process, and the CPU this process spent (the monitor's: the
provider's is its own process's).
"""

from __future__ import annotations

import time

from bench.counting import CallCounter, store_and_webhook_counter
from bench.provider import provider_process
from bench.report import Option, main as bench_main, table, target, work_dir
from harness.seeding import seed_instances

SLACK = 1.3  # the target: within 30 % of the floor


def run(instances: int = 1000, latency_ms: int = 100, sweeps: int = 3) -> dict:
    from lib.monitor import StatusMonitor
    from lib.provider.http import MAX_PARALLEL_CALLS
    from lib.provider.webhooks import WebhookClient
    from lib.store.sqlite.database import SQLiteDatabase
    from lib.store.sqlite.instances import SQLiteInstanceStore

    database = SQLiteDatabase.in_dir(work_dir("sweep"))
    runs = []
    with provider_process(latency_ms=latency_ms) as webhooks:
        seed_instances(database, instances, webhooks=webhooks, prefix="Varredura")
        monitor = StatusMonitor(SQLiteInstanceStore(database), WebhookClient(webhooks), interval_seconds=60)
        for _ in range(sweeps):
            with store_and_webhook_counter() as counter:
                started, cpu = time.perf_counter(), time.process_time()
                results = monitor.sweep()
                elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
            counts = {label.split(".")[-1]: n for label, n in counter.counts.items()}
            runs.append({
                "seconds": round(elapsed, 3),
                "cpu_seconds": round(cpu, 3),
                "checked": len(results or []),
                "changed": sum(r.changed for r in results or []),
                "errors": sum(1 for r in results or [] if r.error),
                "status_calls": counts.get("status", 0),
                "store_reads": {name: counts[name] for name in CallCounter.READS if name in counts},
                "store_writes": {name: counts[name] for name in CallCounter.WRITES if name in counts},
                "lease_claims": counts.get("claim_lease", 0),
            })
    floor = instances * latency_ms / 1000 / MAX_PARALLEL_CALLS
    budget = SLACK * floor
    worst = max(r["seconds"] for r in runs)
    rows = [(i, f"{r['seconds']:.2f}", f"{r['seconds'] / floor:.2f}x", f"{r['cpu_seconds']:.2f}", r["checked"],
             r["changed"], r["errors"],
             r["status_calls"], r["store_reads"], r["store_writes"], r["lease_claims"])
            for i, r in enumerate(runs, 1)]
    unchanged_writes = runs[-1]["store_writes"]
    return {
        "instances": instances,
        "latency_ms": latency_ms,
        "parallel_calls": MAX_PARALLEL_CALLS,
        "floor_seconds": round(floor, 3),
        "runs": runs,
        "table": table(["sweep", "seconds", "vs floor", "CPU s", "checked", "changed", "errors", "status calls",
                        "store reads", "store writes", "lease claims"], rows),
        "targets": [
            target(f"sweep {instances} x {latency_ms} ms (worst of {len(runs)})",
                   f"{worst:.2f} s = {worst / floor:.2f}x the floor {floor:g} s "
                   f"(each: {', '.join(str(r['seconds']) for r in runs)} s)",
                   f"<= {SLACK:g}x floor = {budget:.2f} s", worst <= budget),
            target("sweep with nothing changed: store writes", f"{unchanged_writes} ({runs[-1]['status_calls']} status "
                   f"calls, reads {runs[-1]['store_reads']})", "1 mark_checked, 1 status call per instance",
                   all(r["store_writes"] == {"mark_checked": 1} and r["status_calls"] == instances
                       and r["store_reads"] == {"instances_with_tokens": 1} for r in runs)),
        ],
    }


def describe(args, result: dict) -> list[str]:
    return [
        f"Status monitor sweep: {args.instances} instances, provider latency {args.latency_ms} ms per status call "
        f"(own process), {result['parallel_calls']} calls in flight, nothing changed; floor "
        f"{args.instances} x {args.latency_ms / 1000:g} s / {result['parallel_calls']} = {result['floor_seconds']:g} s",
        result["table"],
    ]


def main(argv: list[str] | None = None) -> int:
    return bench_main(argv, "sweep", __doc__, run, describe,
                      Option("--instances", 1000), Option("--latency-ms", 100), Option("--sweeps", 3))


if __name__ == "__main__":
    raise SystemExit(main())
