"""Status check of all instances ("Verificar agora": InstanceService.refresh_all, the status
monitor's check_all on the admin's click).

    .venv/bin/python -m bench.refresh_all [--instances 200] [--latency-ms 100]

The provider is the sandbox in its own process (bench.provider), answering every status call
`latency_ms` late. Among the instances one fails (HTTP 500) and one is slow (1 s more, and the
oldest, so the last in the list: it starts last, the worst place for it); 20 others were connected
at the provider meanwhile, so their rows change. Before each run every row is set back to
disconnected with no failed check, so that each run has the same work: N status calls, and 22
writes (one per changed row, one marking the unchanged rows checked, one recording the failure).
Reported: when all were done, and when all but the slow one were (an instance is done when its
status call returned).

Runs: refresh_all over all N with 16 and with 32 calls in flight (MAX_PARALLEL_CALLS, patched for
the run), and the same code with 1 (sequential) over 20 of them, extrapolated to N (said so in the
table). Status calls and store writes are counted in-process.
"""

from __future__ import annotations

import time
from contextlib import contextmanager

from bench.counting import CallCounter
from bench.provider import provider_process
from bench.report import Option, main as bench_main, table, target, work_dir
from harness.seeding import seed_instances

SLOW_SECONDS = 1.0
FAILING, SLOW = "Falha 0000", "Lenta 0000"  # the names seed_instances gives them
CHANGED = 20
SEQUENTIAL_SAMPLE = 20
BUDGET_S = 1.5


@contextmanager
def parallel_calls(workers: int):
    """check_all's pool size and the client's connection pool (read when a client is built)."""
    import lib.checks
    import lib.provider.http

    saved = lib.checks.MAX_PARALLEL_CALLS, lib.provider.http.MAX_PARALLEL_CALLS
    lib.checks.MAX_PARALLEL_CALLS = lib.provider.http.MAX_PARALLEL_CALLS = workers
    try:
        yield
    finally:
        lib.checks.MAX_PARALLEL_CALLS, lib.provider.http.MAX_PARALLEL_CALLS = saved


def _product_note(workers: int) -> str:
    from lib.provider.http import MAX_PARALLEL_CALLS

    return " (product setting)" if workers == MAX_PARALLEL_CALLS else ""


def measure(instances: int, latency_ms: int) -> list[dict]:
    from lib.instances import InstanceService
    from lib.models import User
    from lib.presentation import refresh_summary
    from lib.store.recovery import CredentialRecovery
    from lib.store.sqlite.database import SQLiteDatabase
    from lib.store.sqlite.instances import SQLiteInstanceStore
    from lib.provider.webhooks import WebhookClient

    work = work_dir("refresh")
    database = SQLiteDatabase.in_dir(work)
    admin = User(id="bench-admin", email="admin@example.com", role="admin")
    with provider_process(latency_ms=latency_ms, auto_scan_seconds=0, failing=(FAILING,),
                          slow={SLOW: SLOW_SECONDS}) as webhooks:
        names = seed_instances(database, instances - 2, webhooks=webhooks, prefix="Refresh")
        seed_instances(database, 1, webhooks=webhooks, prefix="Falha")
        seed_instances(database, 1, webhooks=webhooks, prefix="Lenta")
        with database.connect() as conn:  # the oldest: the last in the list
            conn.execute("update instances set created_at = '2025-01-01T00:00:00.000000+00:00' where name = ?", (SLOW,))
        store = SQLiteInstanceStore(database)
        by_name = {i.name: i for i in store.list_instances()}
        client = WebhookClient(webhooks)
        for name in names[:CHANGED]:  # connect → auto-scan: connected at the next status call
            client.connect(by_name[name].instance_id, store.instance_token(by_name[name].id))

        def one_run(workers: int, subset: set | None = None) -> dict:
            with database.connect() as conn:  # every run finds the same 20 rows to change, no failure streak
                conn.execute("update instances set status = 'disconnected', phone_number = null, last_error = null,"
                             " check_failures = 0")
            with parallel_calls(workers):
                client = WebhookClient(webhooks)
                service = InstanceService(store, client, admin, CredentialRecovery(work))
                chosen = [i for i in service.list_instances() if subset is None or i.name in subset]
                name_of = {i.instance_id: i.name for i in chosen}
                for i in chosen:  # tokens read ahead, as a session that has shown its cards would have them
                    service.token(i.id)
                done: dict[str, float] = {}  # instance name -> when its status call returned
                with CallCounter({SQLiteInstanceStore: CallCounter.WRITES, WebhookClient: ("status",)}) as counter:
                    status = client.status  # the counted one

                    def timed_status(instance_id, token):
                        try:
                            return status(instance_id, token)
                        finally:
                            done[name_of[instance_id]] = time.perf_counter()

                    client.status = timed_status
                    started = time.perf_counter()
                    results = service.refresh_all(chosen)
                    elapsed = time.perf_counter() - started
            others = [t for name, t in done.items() if name != SLOW]
            summary, _, failures = refresh_summary(results)
            return {
                "workers": workers,
                "instances": len(chosen),
                "seconds": round(elapsed, 3),
                "others_done_seconds": round(max(others) - started, 3) if others else None,
                "status_calls": counter.counts.get("WebhookClient.status", 0),
                "store_writes": counter.total(CallCounter.WRITES),
                "writes": {label.split(".")[-1]: n for label, n in counter.counts.items()
                           if label.startswith("SQLiteInstanceStore.")},
                "changed": sum(r.changed for r in results),
                "errors": {r.before.name: r.error for r in results if r.error},
                "slow_ok": any(r.before.name == SLOW and r.after is not None for r in results),
                "summary": summary,
                "failures_table": failures.to_dict("records"),
            }

        sample = set(names[CHANGED - SEQUENTIAL_SAMPLE // 2: CHANGED + SEQUENTIAL_SAMPLE // 2])  # 10 changed, 10 not
        runs = [one_run(16), one_run(32), one_run(1, subset=sample)]
    runs[2]["extrapolated_seconds"] = round(runs[2]["seconds"] * instances / SEQUENTIAL_SAMPLE, 1)
    return runs


def run(instances: int = 200, latency_ms: int = 100) -> dict:
    runs = measure(instances, latency_ms)
    rows = []
    for r in runs:
        seconds = f"{r['seconds']:.2f}"
        if "extrapolated_seconds" in r:
            seconds += f" (x{instances // SEQUENTIAL_SAMPLE} = {r['extrapolated_seconds']:.1f} for {instances})"
        others = "" if r["workers"] == 1 else f"{r['others_done_seconds']:.2f}"
        rows.append(("sequential" if r["workers"] == 1 else f"{r['workers']} workers", r["instances"],
                     seconds, others, r["status_calls"], r["changed"], r["store_writes"], len(r["errors"]),
                     "yes" if r["slow_ok"] else "—"))
    parallel = [r for r in runs if r["workers"] > 1]
    targets = []
    for r in runs:
        if r["workers"] > 1:
            note = _product_note(r["workers"])
            label = f"refresh all {instances} x {latency_ms} ms, {r['workers']} workers{note}"
            targets.append(target(label, f"{r['seconds']:.2f} s", f"<= {BUDGET_S:g} s", r["seconds"] <= BUDGET_S))
            targets.append(target("  the same, all but the slow one", f"{r['others_done_seconds']:.2f} s",
                                  f"<= {BUDGET_S:g} s", r["others_done_seconds"] <= BUDGET_S))
    expected_writes = {"record_check": CHANGED, "mark_checked": 1, "record_check_failure": 1}
    targets.append(target(
        "refresh all: calls, writes, faults",
        f"{parallel[0]['status_calls']} status calls, {parallel[0]['changed']} changed, writes {parallel[0]['writes']}, "
        f"errors {list(parallel[0]['errors'])}, slow one {'OK' if parallel[0]['slow_ok'] else 'missing'}",
        f"{instances} calls, {CHANGED} record_check (one per changed row), 1 mark_checked (the unchanged), "
        f"1 record_check_failure, only {FAILING} failed",
        all(r["status_calls"] == instances and r["changed"] == CHANGED and r["writes"] == expected_writes
            and list(r["errors"]) == [FAILING] and r["slow_ok"] for r in parallel)))
    return {
        "instances": instances,
        "latency_ms": latency_ms,
        "slow_seconds": SLOW_SECONDS,
        "runs": runs,
        "table": table(["run", "instances", "all done s", "all but the slow one s", "status calls",
                        "changed", "store writes", "errors", "slow one OK"], rows),
        "targets": targets,
    }


def describe(args, result: dict) -> list[str]:
    return [
        f"Verificar agora (refresh all): {args.instances} instances, provider latency {args.latency_ms} ms per status call, "
        f"one failing ({FAILING}), one {SLOW_SECONDS:g} s slower ({SLOW}), {CHANGED} changed",
        result["table"],
        f"as shown to the admin: {result['runs'][0]['summary']}; failures: {result['runs'][0]['failures_table']}",
    ]


def main(argv: list[str] | None = None) -> int:
    return bench_main(argv, "refresh_all", __doc__, run, describe, Option("--instances", 200), Option("--latency-ms", 100))


if __name__ == "__main__":
    raise SystemExit(main())
