"""Every benchmark in turn, then the summary of the targets: `make bench`, or

    .venv/bin/python -m bench.run_all [--only rerun,tick,...] [--load-poll-seconds 15]

The scripts: rerun (a full rerun of the admin page in Chromium), tick (the connect dialog's polling), scan_to_screen,
refresh_all ("Verificar agora"), sweep (one monitor sweep of 1000 instances), sweep_evolution (the
same against Evolution API: one listing request, and the server's CPU), drop_pushed and
drop_polled (a phone's drop on the open screens, told by the provider or found by the monitor),
drop_banner (a pushed drop's banner on a page showing page 3 of 60 and of 1000 instances),
monitor_cpu (the server's CPU with 1000 instances monitored), idle (an open page left alone).
Each runs in its own process (its own AppTest contexts, servers and environment), prints its
table and updates its key of bench/results.json; a run of them all starts that file afresh, a run
of some (--only) updates their keys and keeps the others. Memory comes from
bench/load.py (20 Chromium sessions, server RSS read from /proc), whose report is kept under the
key "memory". Targets are compared and reported, never asserted: the exit status is 0 whenever
every script ran to the end, whether or not each target was met.

The machine may be shared: for each script, the CPU that other processes used meanwhile (the
machine's busy time from /proc/stat minus the script's own processes, from getrusage) is printed
and kept under the key "machine", as context for the figures.
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.measure import machine_busy_seconds
from bench.report import RESULTS_PATH, Option, main as bench_main, save_results, table, target, targets_table
from harness.server import ROOT

SCRIPTS = ("rerun", "tick", "scan_to_screen", "refresh_all", "sweep", "sweep_evolution", "drop_pushed", "drop_polled",
           "drop_banner", "monitor_cpu", "idle", "history_open", "alert_hang")
SCRIPT_TIMEOUT_S = 15 * 60
STOP_GRACE_S = 20
LOAD_SESSIONS = 20


_machine: dict[str, dict] = {}  # script -> the machine's load meanwhile, see _run


def _own_cpu_seconds() -> float:
    """CPU of the scripts run so far and everything they started (once waited for)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _stop_group(process: subprocess.Popen) -> None:
    """Stop a script with everything it started (its server, its browser): they share the process
    group it leads. SIGTERM first, so that it can stop them itself; then SIGKILL for what is left."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=STOP_GRACE_S)
    time.sleep(2)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def _run(args: list[str]) -> bool:
    print(f"\n=== {' '.join(args)}", flush=True)
    started, own, (busy, _) = time.monotonic(), _own_cpu_seconds(), machine_busy_seconds()
    process = subprocess.Popen([sys.executable, "-m", *args], cwd=ROOT, start_new_session=True)
    try:
        code = process.wait(timeout=SCRIPT_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        _stop_group(process)
        print(f"!!! {args[0]} did not finish in {SCRIPT_TIMEOUT_S} s (stopped)", flush=True)
        return False
    except KeyboardInterrupt:  # in its own session, the script does not get the terminal's Ctrl-C
        _stop_group(process)
        raise
    wall = time.monotonic() - started
    own, busy = _own_cpu_seconds() - own, machine_busy_seconds()[0] - busy
    load = _machine[args[0].removeprefix("bench.")] = {
        "seconds": round(wall), "own_pct_of_one_core": round(100 * own / wall),
        "others_pct_of_one_core": round(100 * max(busy - own, 0) / wall), "cores": os.cpu_count()}
    print(f"=== {args[0]}: exit {code} after {wall:.0f} s; meanwhile the benchmark used "
          f"{load['own_pct_of_one_core']} % of one core, other processes {load['others_pct_of_one_core']} % "
          f"({load['cores']} cores)", flush=True)
    return code == 0


def _memory(poll_seconds: float) -> bool:
    """bench.load with 20 sessions; its server RSS figures go under results["memory"]."""
    out = Path(tempfile.mkdtemp(prefix="bench-memory-")) / "load.json"
    finished = _run(["bench.load", "--sessions", str(LOAD_SESSIONS), "--poll-seconds", str(poll_seconds),
                     "--out", str(out)])
    if not out.exists():
        return False
    report = json.loads(out.read_text(encoding="utf-8"))
    summary = report["summary"]
    rss = summary["rss_mb"]
    save_results("memory", {
        "sessions": summary["sessions"],
        "rss_mb": rss,
        "load_ok": summary["ok"],
        "tick_ms_p50": summary["tick_ms_p50"],
        "tick_ms_p95": summary["tick_ms_p95"],
        "card_check_ms_p50": summary["card_check_ms_p50"],
        "card_check_ms_p95": summary["card_check_ms_p95"],
        "targets": [target(f"server RSS, {summary['sessions']} sessions logged in",
                           f"{rss.get('after_login')} MB (dialogs open {rss.get('dialogs_open')} MB, "
                           f"peak {rss.get('peak')} MB)", "reported (no figure set)", summary["ok"])],
    })
    return finished


def run(only: str, load_poll_seconds: float) -> dict:
    """Run the chosen scripts, each in its own process; keep the machine's load meanwhile."""
    chosen = [name.strip() for name in only.split(",") if name.strip()]
    if set(chosen) == {*SCRIPTS, "memory"}:
        RESULTS_PATH.unlink(missing_ok=True)
    finished = {}
    for name in chosen:
        finished[name] = _memory(load_poll_seconds) if name == "memory" else _run([f"bench.{name}"])
    results = json.loads(RESULTS_PATH.read_text(encoding="utf-8")) if RESULTS_PATH.exists() else {}
    save_results("machine", {**results.get("machine", {}), **_machine})
    failed = [name for name, ok in finished.items() if not ok]
    return {"ok": not failed, "failed": failed,
            "chosen_targets": [t for name in chosen for t in results.get(name, {}).get("targets", [])]}


def describe(args, result: dict) -> list[str]:
    lines = ["", "=== Summary (bench/results.json)", targets_table(result["chosen_targets"]), "",
             "CPU meanwhile, % of one core (the benchmark's own processes / other processes on the machine):",
             table(["script", "seconds", "own", "others"],
                   [(name, m["seconds"], m["own_pct_of_one_core"], m["others_pct_of_one_core"])
                    for name, m in _machine.items()])]
    if result["failed"]:
        lines += ["", f"scripts that did not run to the end: {', '.join(result['failed'])}"]
    return lines


def main(argv: list[str] | None = None) -> int:
    return bench_main(argv, "run_all", __doc__, run, describe,
                      Option("--only", ",".join((*SCRIPTS, "memory")), "comma-separated subset of"),
                      Option("--load-poll-seconds", 15.0, "how long the 20 load sessions poll"),
                      save=False)  # every script saves its own key


if __name__ == "__main__":
    raise SystemExit(main())
