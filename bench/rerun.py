"""Page rerun: the Configurações/Instâncias page under AppTest, signed in as admin, with 0, 100 and
1000 instances in the store, against a one-line Streamlit page.

    .venv/bin/python -m bench.rerun [--reruns 25]

Each rerun is a full run of app.py and the page (tests/test_app_ui.App: what the real server does
on every click). The pages are measured round-robin, one rerun of each in turn, so that a busy
moment of the machine weighs on all of them alike; the figure is the median. Store reads and
webhook calls made during the measured reruns are counted too (the list is cached per session,
so they should be 0). Beside the wall time, the CPU time of this process during the rerun (the
script thread and AppTest's own), which a busy machine disturbs less.

AppTest compiles app.py and the page again on every run (its script cache is per run, the real
server's is not); that cost is in every figure here, the one-line page's included.
"""

from __future__ import annotations

import os
import statistics
import time
from collections import Counter
from pathlib import Path

from bench.counting import CallCounter, store_and_webhook_counter
from bench.report import Option, main as bench_main, ms, table, target, work_dir
from harness.apptest import admin_apptest, isolated_env

SIZES = (0, 100, 1000)
WARMUP_RUNS = 3
BASELINE_SCRIPT = 'import streamlit as st; st.text("Configurações")\n'


def _baseline(work: Path):
    from streamlit.testing.v1 import AppTest

    script = work / "one_line.py"
    script.write_text(BASELINE_SCRIPT, encoding="utf-8")
    return AppTest.from_file(str(script), default_timeout=60).run()


def run(reruns: int = 25) -> dict:
    work = work_dir("rerun")
    pages = {}  # label -> (AppTest, data dir)
    isolated_env(work)
    pages["one-line page"] = (_baseline(work), work)
    for size in SIZES:
        data_dir = work / f"data-{size}"
        isolated_env(data_dir)
        at, _ = admin_apptest(data_dir, size)
        pages[f"admin, {size} instances"] = (at, data_dir)

    def rerun(at, data_dir) -> tuple[float, float]:
        os.environ["APP_DATA_DIR"] = str(data_dir)  # the settings follow it on every run
        started, cpu = time.perf_counter(), time.process_time()
        at.run()
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
        if at.exception:
            raise RuntimeError(f"the page raised: {at.exception[0].value}")
        return elapsed, cpu

    times: dict[str, list[float]] = {label: [] for label in pages}
    cpu_times: dict[str, list[float]] = {label: [] for label in pages}
    calls: dict[str, Counter] = {label: Counter() for label in pages}
    for label, (at, data_dir) in pages.items():
        for _ in range(WARMUP_RUNS):  # the first rerun reads the list: not what is measured
            rerun(at, data_dir)
    for _ in range(reruns):
        for label, (at, data_dir) in pages.items():
            with store_and_webhook_counter() as counter:
                elapsed, cpu = rerun(at, data_dir)
            times[label].append(elapsed)
            cpu_times[label].append(cpu)
            calls[label].update(counter.counts)

    baseline = statistics.median(times["one-line page"])
    empty = statistics.median(times["admin, 0 instances"])
    baseline_cpu = statistics.median(cpu_times["one-line page"])
    rows, figures = [], {}
    for label, values in times.items():
        median = statistics.median(values)
        counted = calls[label]
        figures[label] = {
            "median_ms": ms(median),
            "min_ms": ms(min(values)),
            "max_ms": ms(max(values)),
            "ratio_to_one_line": round(median / baseline, 2),
            "ratio_to_0_instances": round(median / empty, 2),
            "cpu_median_ms": ms(statistics.median(cpu_times[label])),
            "cpu_ratio_to_one_line": round(statistics.median(cpu_times[label]) / baseline_cpu, 2),
            "store_reads": sum(counted[f"SQLiteInstanceStore.{name}"] for name in CallCounter.READS),
            "store_writes": sum(counted[f"SQLiteInstanceStore.{name}"] for name in CallCounter.WRITES),
            "webhook_calls": sum(n for key, n in counted.items() if key.startswith("WebhookClient.")),
        }
        f = figures[label]
        rows.append((label, f"{f['median_ms']:.1f}", f"{f['min_ms']:.1f}", f"{f['max_ms']:.1f}",
                     f"{f['ratio_to_one_line']:.2f}x", f"{f['ratio_to_0_instances']:.2f}x",
                     f"{f['cpu_median_ms']:.1f}", f"{f['cpu_ratio_to_one_line']:.2f}x",
                     f["store_reads"], f["webhook_calls"]))
    at100, at1000 = figures["admin, 100 instances"], figures["admin, 1000 instances"]
    targets = [
        target("rerun, 100 instances", f"{at100['ratio_to_one_line']:.2f}x one-line page",
               "<= 1.5x", at100["ratio_to_one_line"] <= 1.5),
        target("rerun, 1000 instances", f"{at1000['ratio_to_one_line']:.2f}x one-line page",
               "<= 3x", at1000["ratio_to_one_line"] <= 3),
        target("rerun store reads (cached list)",
               f"{sum(f['store_reads'] for f in figures.values())} in {reruns * len(SIZES)} reruns", "0",
               sum(f["store_reads"] for f in figures.values()) == 0),
    ]
    text = table(["page", "median ms", "min ms", "max ms", "vs one-line", "vs 0 inst.", "CPU ms", "CPU vs one-line",
                  "store reads", "webhooks"], rows)
    return {"reruns": reruns, "figures": figures, "targets": targets, "table": text}


def describe(args, result: dict) -> list[str]:
    return [f"Page rerun under AppTest (median of {args.reruns} reruns each, round-robin)", result["table"]]


def main(argv: list[str] | None = None) -> int:
    return bench_main(argv, "rerun", __doc__, run, describe, Option("--reruns", 25, "measured reruns per page"))


if __name__ == "__main__":
    raise SystemExit(main())
