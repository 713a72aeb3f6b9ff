"""A status sweep against Evolution API: one listing request, however many instances.

    .venv/bin/python -m bench.sweep_evolution [--instances 1000] [--latency-ms 100] [--sweeps 3]
                                              [--interval 6] [--seconds 30]

The Evolution double in its own process (bench.evolution_double) holds the fleet of
harness.seeding.seed_fleet (5 % closed by WhatsApp, the rest open) and answers every request
`latency_ms` late; a real SQLite file holds the same fleet, as the app last saw it, so a sweep finds
nothing changed. Two parts:

1. The real StatusMonitor with EvolutionProvider, in this process: `sweeps` sweeps, each timed end
   to end (lease, read, the listing, the comparison, the one write) with the requests the double
   served meanwhile (its own count) and this process's CPU.
2. The app's server (`streamlit run server.py`, PROVIDER=evolution against the double), its CPU
   scaled to the default 60 s interval as bench.monitor_cpu does: sweeping every `interval` s for
   `seconds`, then divided by the speed-up, plus the same server's share with its monitor off for the
   time left. Its sweeps are counted from the double's listing requests.
"""

from __future__ import annotations

import time

from bench.counting import CallCounter, store_and_webhook_counter
from bench.evolution_double import API_KEY, DoubleProcess, double_process, fleet_credentials
from bench.measure import BenchServer
from bench.monitor_cpu import measure_cpu, scaled_share
from bench.report import Option, main as bench_main, table, target, work_dir
from harness.seeding import seed_fleet
from lib.config.settings import DEFAULT_MONITOR_INTERVAL_SECONDS

LISTING = "GET /instance/fetchInstances"
SWEEP_BUDGET_S = 1.5
CPU_BUDGET_PCT = 1.0


def _served(double: DoubleProcess, before: dict[str, int]) -> dict[str, int]:
    """Requests the double served since `before` (its counts then), by method and route."""
    return {route: n - before.get(route, 0) for route, n in double.counts().items() if n > before.get(route, 0)}


def _sweeps(double: DoubleProcess, instances: int, sweeps: int) -> list[dict]:
    from lib.monitor import StatusMonitor
    from lib.provider.evolution import EvolutionProvider
    from lib.store.sqlite.database import SQLiteDatabase
    from lib.store.sqlite.instances import SQLiteInstanceStore

    database = SQLiteDatabase.in_dir(work_dir("sweep-evolution"))
    seed_fleet(database, instances, credentials=fleet_credentials(instances))
    monitor = StatusMonitor(SQLiteInstanceStore(database), EvolutionProvider(double.url, API_KEY),
                            interval_seconds=DEFAULT_MONITOR_INTERVAL_SECONDS)
    runs = []
    for _ in range(sweeps):
        before = double.counts()
        with store_and_webhook_counter() as counter:
            started, cpu = time.perf_counter(), time.process_time()
            results = monitor.sweep() or []
            elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
        counts = {label.split(".")[-1]: n for label, n in counter.counts.items()}
        runs.append({
            "seconds": round(elapsed, 3),
            "cpu_seconds": round(cpu, 3),
            "checked": len(results),
            "changed": sum(r.changed for r in results),
            "errors": sum(1 for r in results if r.error),
            "requests": _served(double, before),
            "store_reads": {name: counts[name] for name in CallCounter.READS if name in counts},
            "store_writes": {name: counts[name] for name in CallCounter.WRITES if name in counts},
        })
    return runs


def _server_cpu(double: DoubleProcess, instances: int, interval: float, seconds: float) -> dict:
    """The app's server against the double: its CPU with the monitor off, then sweeping every `interval` s."""
    work = work_dir("sweep-evolution-cpu")  # one data dir for both servers, one after the other
    provider = {"PROVIDER": "evolution", "PROVIDER_URL": double.url, "PROVIDER_API_KEY": API_KEY}
    idle_server, monitored = (BenchServer(work, instrumented=False,
                                          env={**provider, "MONITOR_INTERVAL_SECONDS": f"{every:g}"})
                              for every in (0, interval))
    seed_fleet(monitored.database, instances, credentials=fleet_credentials(instances))
    with idle_server:
        time.sleep(5)  # start-up over
        idle_cpu = measure_cpu(idle_server, seconds)
    with monitored:
        deadline = time.monotonic() + 60
        while double.counts().get(LISTING, 0) == 0:  # the first sweep, at start-up
            if time.monotonic() > deadline:
                raise RuntimeError(f"the server did not sweep in 60 s:\n{monitored.log()}")
            time.sleep(0.1)
        time.sleep(2.0)  # its end
        before = double.counts()
        cpu = measure_cpu(monitored, seconds)
        served = _served(double, before)
    return {"idle_cpu_s": round(idle_cpu, 3), "cpu_s": round(cpu, 3), "sweeps": served.get(LISTING, 0),
            "requests": served, **{k: round(v, 3) for k, v in scaled_share(cpu, idle_cpu, seconds, interval).items()}}


def run(instances: int = 1000, latency_ms: int = 100, sweeps: int = 3, interval: float = 6.0,
        seconds: float = 30.0) -> dict:
    with double_process(instances, latency_ms) as double:
        runs = _sweeps(double, instances, sweeps)
        server = _server_cpu(double, instances, interval, seconds)
    worst = max(r["seconds"] for r in runs)
    one_request = all(r["requests"] == {LISTING: 1} for r in runs)
    rows = [(i, f"{r['seconds']:.3f}", f"{r['cpu_seconds']:.3f}", r["checked"], r["changed"], r["errors"],
             ", ".join(f"{route}: {n}" for route, n in r["requests"].items()), r["store_reads"], r["store_writes"])
            for i, r in enumerate(runs, 1)]
    per_sweep = server["cpu_s"] / server["sweeps"] if server["sweeps"] else None
    return {
        "instances": instances,
        "latency_ms": latency_ms,
        "runs": runs,
        "server": server,
        "table": table(["sweep", "seconds", "CPU s", "checked", "changed", "errors", "requests to the provider",
                        "store reads", "store writes"], rows),
        "server_table": table(
            ["server", "window s", "CPU s", "sweeps", "% of one core", f"scaled to every "
             f"{DEFAULT_MONITOR_INTERVAL_SECONDS:g} s, %"],
            [("monitor off", f"{seconds:g}", server["idle_cpu_s"], 0, f"{server['idle_pct']:.2f}", ""),
             (f"monitor every {interval:g} s", f"{seconds:g}", server["cpu_s"], server["sweeps"],
              f"{server['measured_pct']:.2f}", f"{server['scaled_pct']:.2f} + idle "
              f"{server['estimate_pct'] - server['scaled_pct']:.2f} = {server['estimate_pct']:.2f}")]),
        "targets": [
            target(f"Evolution sweep, {instances} instances: requests to the provider",
                   "; ".join(", ".join(f"{route}: {n}" for route, n in r["requests"].items()) for r in runs),
                   f"1 ({LISTING}) per sweep", one_request),
            target(f"Evolution sweep {instances} x {latency_ms} ms, end to end (worst of {len(runs)})",
                   f"{worst:.3f} s (each: {', '.join(str(r['seconds']) for r in runs)} s)",
                   f"<= {SWEEP_BUDGET_S:g} s", worst <= SWEEP_BUDGET_S),
            target(f"server CPU, Evolution, {instances} instances, every {DEFAULT_MONITOR_INTERVAL_SECONDS:g} s",
                   f"{server['estimate_pct']:.2f} % of one core ({server['measured_pct']:.2f} % sweeping every "
                   f"{interval:g} s for {seconds:g} s, {server['sweeps']} sweeps"
                   f"{f', {per_sweep:.3f} s of CPU each' if per_sweep else ''}; idle {server['idle_pct']:.2f} %)",
                   f"<= {CPU_BUDGET_PCT:g} %", server["estimate_pct"] <= CPU_BUDGET_PCT),
        ],
    }


def describe(args, result: dict) -> list[str]:
    return [
        f"Status sweep with Evolution API: {args.instances} instances at the double (own process), "
        f"{args.latency_ms} ms per request, nothing changed; StatusMonitor in this process",
        result["table"],
        "",
        f"The app's server (PROVIDER=evolution), no browser: CPU over {args.seconds:g} s",
        result["server_table"],
    ]


def main(argv: list[str] | None = None) -> int:
    return bench_main(argv, "sweep_evolution", __doc__, run, describe,
                      Option("--instances", 1000), Option("--latency-ms", 100), Option("--sweeps", 3),
                      Option("--interval", 6.0, "MONITOR_INTERVAL_SECONDS of the measured server"),
                      Option("--seconds", 30.0, "measured window of the server"))


if __name__ == "__main__":
    raise SystemExit(main())
