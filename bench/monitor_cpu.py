"""Server CPU with many instances monitored and no browser open.

    .venv/bin/python -m bench.monitor_cpu [--instances 1000] [--interval 6] [--seconds 30]

The target is about the product's default: at most 5 % of one core, averaged over 5 minutes, with
MONITOR_INTERVAL_SECONDS=60 (5 sweeps). Scaled down to keep `make bench` short: the server sweeps
every `interval` s (6 s: 10x as often) for `seconds` (30 s: the same 5 sweeps); the CPU it used is
divided by the 5 minutes those sweeps stand for, which is its CPU share divided by 10. That leaves
out what the server costs with nothing to do during the other 4.5 minutes, so the same server is
also measured with its monitor off (MONITOR_INTERVAL_SECONDS=0) over `seconds`, and that idle share
is added for the time the scaled window does not cover. Both figures are reported.

`streamlit run server.py` (not instrumented) on a store of `instances` rows, webhooks pointed at a
sandbox provider in this process answering `latency_ms` late (the provider's CPU is this process's,
not the server's). The server's CPU is its utime + stime from /proc/PID/stat; the sweeps in the
window are counted from the status calls the provider answered.
"""

from __future__ import annotations

import time

from bench.measure import BenchServer
from bench.provider import BenchSandbox
from bench.report import Option, main as bench_main, table, target, work_dir
from harness.seeding import seed_instances
from lib.config.settings import DEFAULT_MONITOR_INTERVAL_SECONDS

BUDGET_PCT = 5.0
AVERAGED_OVER_S = 300.0


def measure_cpu(server: BenchServer, seconds: float) -> float:
    """CPU seconds the server used over the next `seconds`."""
    before = server.cpu_seconds()
    time.sleep(seconds)
    after = server.cpu_seconds()
    if before is None or after is None:
        raise RuntimeError(f"the server died:\n{server.log()}")
    return after - before


def _wait_first_sweep(provider: BenchSandbox, instances: int, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while provider.status_calls < instances:
        if time.monotonic() > deadline:
            raise RuntimeError(f"the first sweep did not finish in {timeout:g} s ({provider.status_calls} calls)")
        time.sleep(0.1)
    time.sleep(1.0)  # its last writes


def scaled_share(cpu: float, idle_cpu: float, seconds: float, interval: float) -> dict[str, float]:
    """The server's share of one core at the default interval, in %, from `cpu` seconds used over
    `seconds` while sweeping every `interval` s and `idle_cpu` over as long with the monitor off:
    the measured share divided by the speed-up, plus the idle share for the time that leaves out."""
    scale = DEFAULT_MONITOR_INTERVAL_SECONDS / interval
    measured_pct, idle_pct = 100 * cpu / seconds, 100 * idle_cpu / seconds
    scaled_pct = measured_pct / scale  # = cpu / (seconds * scale): the same sweeps over the longer time
    return {"scale": scale, "measured_pct": measured_pct, "idle_pct": idle_pct, "scaled_pct": scaled_pct,
            "estimate_pct": scaled_pct + idle_pct * (1 - 1 / scale)}


def run(instances: int = 1000, interval: float = 6.0, seconds: float = 30.0, latency_ms: int = 100) -> dict:
    with BenchSandbox(latency_ms=0) as provider:
        work = work_dir("monitor-cpu")  # one data dir for both servers, one after the other
        idle_server, monitored = (BenchServer(work, provider.webhook_settings(), instrumented=False,
                                            env={"MONITOR_INTERVAL_SECONDS": f"{every:g}"}) for every in (0, interval))
        seed_instances(monitored.database, instances, webhooks=provider.webhook_settings(), prefix="CPU")
        provider.latency_ms = latency_ms  # seeded without it; the sweeps wait for it
        with idle_server:
            time.sleep(5)  # start-up over
            idle_cpu = measure_cpu(idle_server, seconds)
        with monitored:
            _wait_first_sweep(provider, instances)
            start = time.time()
            cpu = measure_cpu(monitored, seconds)
            calls = len([t for t in provider.status_times(after=start) if t <= start + seconds])
    sweeps = calls / instances
    share = scaled_share(cpu, idle_cpu, seconds, interval)
    scaled_pct, estimate_pct, measured_pct, idle_pct = (share[k] for k in ("scaled_pct", "estimate_pct",
                                                                             "measured_pct", "idle_pct"))
    rows = [
        ("monitor off (idle server)", f"{seconds:g}", f"{idle_cpu:.2f}", "0", f"{idle_pct:.2f}", "", ""),
        (f"monitor every {interval:g} s", f"{seconds:g}", f"{cpu:.2f}", f"{sweeps:.1f}", f"{measured_pct:.2f}",
         f"{cpu / sweeps:.2f}" if sweeps else "—", f"{scaled_pct:.2f} (+ idle {estimate_pct - scaled_pct:.2f} "
         f"= {estimate_pct:.2f})"),
    ]
    scale = share["scale"]
    return {
        "instances": instances,
        "latency_ms": latency_ms,
        "interval_s": interval,
        "seconds": seconds,
        "idle_cpu_s": round(idle_cpu, 3),
        "cpu_s": round(cpu, 3),
        "sweeps": round(sweeps, 2),
        "cpu_per_sweep_s": round(cpu / sweeps, 3) if sweeps else None,
        "measured_pct": round(measured_pct, 2),
        "scaled_pct": round(scaled_pct, 2),
        "estimate_pct": round(estimate_pct, 2),
        "table": table(["server", "window s", "CPU s", "sweeps", "% of one core",
                        "CPU s per sweep", f"scaled to every {DEFAULT_MONITOR_INTERVAL_SECONDS:g} s, %"], rows),
        "targets": [target(
            f"server CPU, {instances} instances, no browser, every {DEFAULT_MONITOR_INTERVAL_SECONDS:g} s",
            f"{estimate_pct:.2f} % of one core ({measured_pct:.2f} % sweeping every {interval:g} s for "
            f"{seconds:g} s, / {scale:g} = {scaled_pct:.2f} %, + idle {idle_pct:.2f} % for the rest)",
            f"<= {BUDGET_PCT:g} % over {AVERAGED_OVER_S / 60:g} min", estimate_pct <= BUDGET_PCT)],
    }


def describe(args, result: dict) -> list[str]:
    scale = DEFAULT_MONITOR_INTERVAL_SECONDS / args.interval
    return [
        f"Server CPU, {args.instances} instances monitored (provider latency {args.latency_ms} ms), no browser. "
        f"Scaled: {args.interval:g} s interval for {args.seconds:g} s = {scale:g}x the sweeps per unit time of "
        f"{DEFAULT_MONITOR_INTERVAL_SECONDS:g} s, so the same {args.seconds * scale / DEFAULT_MONITOR_INTERVAL_SECONDS:g} sweeps as "
        f"{args.seconds * scale / 60:g} min at {DEFAULT_MONITOR_INTERVAL_SECONDS:g} s: CPU share / {scale:g}, plus the idle "
        f"server's share for the time left",
        result["table"],
    ]


def main(argv: list[str] | None = None) -> int:
    return bench_main(argv, "monitor_cpu", __doc__, run, describe,
                      Option("--instances", 1000), Option("--interval", 6.0, "MONITOR_INTERVAL_SECONDS"),
                      Option("--seconds", 30.0, "measured window"), Option("--latency-ms", 100))


if __name__ == "__main__":
    raise SystemExit(main())
