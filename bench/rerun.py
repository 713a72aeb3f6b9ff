"""Page rerun in real Chromium: a full rerun of the signed-in admin's page (Configurações,
Instâncias) with 0, 60 and 1000 instances (5 % dropped), against a one-line Streamlit page and the
admin page's frame with nothing in it (bench/shell_page.py: the floor of that page).

    .venv/bin/python -m bench.rerun [--repetitions 21] [--sizes 0,60,1000]

Each page has its own server (`streamlit run`, under bench.instrumented, monitor off so that the
store does not change meanwhile; the one-line page is bench/one_line_page.py and the frame
bench/shell_page.py, served by the same Streamlit with the same configuration) and its own tab of one headless Chromium. A rerun is
Streamlit's shortcut, the key "r", pressed on the page, and lasts from the key going down to the
frame painted after the DOM's last change once the run's script_finished message has come
(bench.page.RERUN_RECORDER; the page must then stay quiet for QUIET_MS). Per rerun also: the CPU
time of the page's main thread (DevTools' TaskDuration in thread time: the browser's work, which a
loaded machine does not inflate as it does the wall time), the page's HTML elements after it, the forward
messages and their bytes, and the server's CPU over
the run (the whole process: the script thread and the event loop sending its messages; and the
script thread alone). The fragments' 3 s ticks
are held back on every page while the benchmark runs, so that the reruns are the only runs.

The pages take turns, one rerun each, `repetitions` times (after WARMUP reruns each), so that a busy
moment of the machine weighs on all of them alike; the figures are medians.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass, field

from bench.measure import BenchServer
from bench.page import rerun_recorder
from bench.report import Option, main as bench_main, table, target, work_dir
from harness.browser import launch_chromium, new_page, open_app, sign_in_by_cookie
from harness.seeding import seed_fleet
from lib.config.settings import DEFAULT_LIVE_SECONDS

WARMUP = 3
QUIET_MS = 300  # no message, no change of the DOM for this long: the rerun is over
ONE_LINE = "one-line page"
FRAME = "the admin page's frame"  # bench/shell_page.py: the floor of the admin page
SLACK = 1.3  # the targets: within 30 % of what the page is compared with
# DevTools' Performance metrics (seconds the page's main thread spent) -> the figures' names
BROWSER_METRICS = {"TaskDuration": "browser_ms", "ScriptDuration": "browser_script_ms",
                   "RecalcStyleDuration": "browser_style_ms", "LayoutDuration": "browser_layout_ms"}
FINISHED_FULL_RUN = 0  # ForwardMsg.script_finished: FINISHED_SUCCESSFULLY (a full run, not a fragment's)

RERUN_DONE = r"""
([quiet, full]) => {
  const w = window.__rerun, now = performance.now();
  return w.key !== null && w.messages.some(([t, , status]) => t >= w.key && status === full)
    && now - Math.max(w.lastMessage, w.lastMutation, w.lastFrame) >= quiet;
}
"""
RERUN_FIGURES = r"""
() => {
  const w = window.__rerun, after = w.messages.filter(([t]) => t >= w.key);
  return {key: w.key, lastFrame: w.lastFrame, lastMessage: after.length ? after[after.length - 1][0] : null,
          messages: after.length, bytes: after.reduce((sum, [, bytes]) => sum + bytes, 0),
          requests: w.requests.filter(([t]) => t >= w.key).map(([, fragment]) => fragment),
          elements: document.getElementsByTagName('*').length};
}
"""


@dataclass
class Subject:
    """One page measured: its server, its tab, and what each of its reruns cost."""

    label: str
    server: BenchServer
    signed_in: bool = True  # the admin's pages; the one-line page and the frame need no one
    page: object = None
    cdp: object = None  # the page's DevTools session: its main thread's busy time
    samples: list[dict] = field(default_factory=list)


def _subjects(sizes: list[int]) -> list[Subject]:
    work = work_dir("rerun")
    subjects = [Subject(ONE_LINE, BenchServer(work / "one-line", script="bench/one_line_page.py"), signed_in=False),
                Subject(FRAME, BenchServer(work / "frame", script="bench/shell_page.py"), signed_in=False)]
    for size in sizes:
        server = BenchServer(work / f"admin-{size}", env={"MONITOR_INTERVAL_SECONDS": "0"})
        seed_fleet(server.database, size)
        server.add_user()
        subjects.append(Subject(f"admin, {size} instances", server))
    return subjects


def _rerun(subject: Subject) -> dict:
    """Press "r" on the page and wait for the run to be painted; what it cost."""
    page, since = subject.page, time.time()
    page.evaluate("() => { window.__rerun.key = null; }")
    busy = _main_thread_seconds(subject)
    page.keyboard.press("r")
    page.wait_for_function(RERUN_DONE, arg=[QUIET_MS, FINISHED_FULL_RUN], timeout=60_000, polling=50)
    busy = {name: seconds - busy[name] for name, seconds in _main_thread_seconds(subject).items()}
    figures = page.evaluate(RERUN_FIGURES)
    if any(figures["requests"]) or figures["requests"].count(False) != 1:
        raise RuntimeError(f"{subject.label}: expected one full rerun request, saw {figures['requests']}")
    runs = [r for r in subject.server.runs(since) if not r["fragment"]]
    if len(runs) != 1:
        raise RuntimeError(f"{subject.label}: expected one full run at the server, saw {len(runs)}")
    run = runs[0]
    return {
        "ms": round(figures["lastFrame"] - figures["key"], 1),
        "last_message_ms": round(figures["lastMessage"] - figures["key"], 1),
        **{key: round(busy[name] * 1000, 1) for name, key in BROWSER_METRICS.items()},
        "html_elements": figures["elements"],
        "messages": figures["messages"],
        "bytes": figures["bytes"],
        "server_ms": run["ms"],
        "server_cpu_ms": run["process_cpu_ms"],
        "script_cpu_ms": run["cpu_ms"],
        "store_reads": sum(n for label, n in run["calls"].items() if label.startswith("store.read.")),
    }


def _main_thread_seconds(subject: Subject) -> dict[str, float]:
    """The CPU time the page's main thread has spent so far (DevTools' TaskDuration, in thread
    time), and on what (scripts, style, layout): what its work costs the browser, which a busy
    machine does not inflate as it does the wall time."""
    metrics = subject.cdp.send("Performance.getMetrics")["metrics"]
    return {m["name"]: m["value"] for m in metrics if m["name"] in BROWSER_METRICS}


def _median(samples: list[dict], key: str) -> float:
    return statistics.median(s[key] for s in samples)


def _measure(subjects: list[Subject], repetitions: int) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        try:
            for subject in subjects:
                subject.page = new_page(browser, rerun_recorder(DEFAULT_LIVE_SECONDS * 1000))
                subject.cdp = subject.page.context.new_cdp_session(subject.page)
                subject.cdp.send("Performance.enable", {"timeDomain": "threadTicks"})  # durations in CPU time
                if subject.signed_in:
                    sign_in_by_cookie(subject.page, subject.server)
                else:
                    open_app(subject.page, subject.server.url)
                subject.page.evaluate("() => { window.__rerun.holdTicks = true; }")
            for turn in range(WARMUP + repetitions):
                for subject in subjects:
                    sample = _rerun(subject)
                    if turn >= WARMUP:
                        subject.samples.append(sample)
        finally:
            browser.close()


def _figures(samples: list[dict], one_line: float, empty: float) -> dict:
    median = _median(samples, "ms")
    return {
        "median_ms": median,
        "min_ms": min(s["ms"] for s in samples),
        "max_ms": max(s["ms"] for s in samples),
        "last_message_ms": _median(samples, "last_message_ms"),
        **{key: _median(samples, key) for key in (*BROWSER_METRICS.values(), "html_elements")},
        "ratio_to_one_line": round(median / one_line, 2),
        "ratio_to_0_instances": round(median / empty, 2),
        "messages": _median(samples, "messages"),
        "kb": round(_median(samples, "bytes") / 1024, 1),
        "server_ms": _median(samples, "server_ms"),
        "server_cpu_ms": _median(samples, "server_cpu_ms"),
        "script_cpu_ms": _median(samples, "script_cpu_ms"),
        "store_reads": sum(s["store_reads"] for s in samples),
        "samples": samples,
    }


def _row(label: str, f: dict) -> tuple:
    return (label, f"{f['median_ms']:.1f}", f"{f['min_ms']:.1f}", f"{f['max_ms']:.1f}", f"{f['last_message_ms']:.1f}",
            f"{f['browser_ms']:.1f} ({f['browser_script_ms']:.0f}/{f['browser_style_ms']:.0f}/"
            f"{f['browser_layout_ms']:.0f})", f"{f['html_elements']:g}", f"{f['ratio_to_one_line']:.2f}x",
            f"{f['ratio_to_0_instances']:.2f}x", f"{f['messages']:g}", f"{f['kb']:.1f}", f"{f['server_ms']:.1f}",
            f"{f['server_cpu_ms']:.1f}", f"{f['script_cpu_ms']:.1f}", f["store_reads"])


def _per_message(page: dict, empty: dict) -> dict:
    """What each message a page sends beyond the empty page's costs, on average: Streamlit's cost
    per element (wall time, the browser's CPU, the server's)."""
    extra = page["messages"] - empty["messages"]
    return {key: round((page[key] - empty[key]) / extra, 2) if extra else None
            for key in ("median_ms", "browser_ms", "server_cpu_ms")}


def run(repetitions: int = 21, sizes: str = "0,60,1000") -> dict:
    chosen = [int(size) for size in sizes.split(",") if size.strip()]
    if 0 not in chosen:
        raise ValueError("--sizes must include 0 (the empty page the others are compared with)")
    subjects = _subjects(chosen)
    started = []
    try:
        for subject in subjects:
            started.append(subject.server.start())
        _measure(subjects, repetitions)
    finally:
        for server in started:
            server.stop()
    one_line = _median(subjects[0].samples, "ms")
    empty = _median(next(s for s in subjects if s.label == "admin, 0 instances").samples, "ms")
    figures = {subject.label: _figures(subject.samples, one_line, empty) for subject in subjects}
    largest, empty_page = figures[f"admin, {max(chosen)} instances"], figures["admin, 0 instances"]
    reads = sum(f["store_reads"] for label, f in figures.items() if label not in (ONE_LINE, FRAME))
    targets = [
        target(f"rerun, {max(chosen)} instances (Chromium)", f"{largest['ratio_to_0_instances']:.2f}x the empty page "
               f"({largest['median_ms']:.0f} ms against {empty:.0f} ms)", f"<= {SLACK:g}x",
               largest["ratio_to_0_instances"] <= SLACK),
        target("rerun, empty admin page (Chromium)", f"{empty_page['ratio_to_one_line']:.2f}x a "
               f"one-line page ({empty:.0f} ms against {one_line:.0f} ms)", f"<= {SLACK:g}x",
               empty_page["ratio_to_one_line"] <= SLACK),
        target("rerun store reads (cached list)", f"{reads} in {repetitions * len(chosen)} reruns", "0", reads == 0),
    ]
    text = table(["page", "median ms", "min ms", "max ms", "last message ms", "browser CPU ms (script/style/layout)",
                  "HTML elements", "vs one-line", "vs 0 inst.", "messages", "KB", "server ms", "server CPU ms",
                  "script CPU ms", "store reads"], [_row(label, f) for label, f in figures.items()])
    return {"repetitions": repetitions, "figures": figures, "per_message": _per_message(largest, empty_page),
            "targets": targets, "table": text}


def describe(args, result: dict) -> list[str]:
    each = result["per_message"]
    return [f"Full rerun in Chromium, key \"r\" to the frame painted after the last change (median of "
            f"{args.repetitions}, pages in turn); messages and KB sent by the server per rerun; server CPU over "
            "the run (process, script thread)", result["table"],
            f"Each message beyond the empty page's ({max(int(s) for s in args.sizes.split(','))} instances): "
            f"{each['median_ms']} ms of wall time, {each['browser_ms']} ms of the browser's CPU, "
            f"{each['server_cpu_ms']} ms of the server's"]


def main(argv: list[str] | None = None) -> int:
    return bench_main(argv, "rerun", __doc__, run, describe, Option("--repetitions", 21, "measured reruns per page"),
                      Option("--sizes", "0,60,1000", "instances in the admin pages' stores"))


if __name__ == "__main__":
    raise SystemExit(main())
