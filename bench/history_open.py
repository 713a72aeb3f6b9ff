"""An open Histórico: an instance with 20 000 events against one with 100, in Chromium.

    .venv/bin/python -m bench.history_open [--runs 6]

The product as `make run` starts it (`streamlit run server.py` on the embedded default), with the
status monitor off so that nothing changes while it is measured. Two instances: "Histórico longo",
with 20 000 status events over the last 30 days (one every two minutes or so), and "Histórico
curto", with 100. Each run opens a browser context of its own (a new session: nothing of the
dialog is cached yet), signs in, and clicks "Histórico" on one of the two cards, alternately.
Measured from the click to the dialog drawn: the run over, the uptime of each window, the chart
drawn by Vega (its SVG) and the events table on screen. Issue 9's target: the long history's
median at most 1.5× the short one's.
"""

from __future__ import annotations

import statistics
import time
from datetime import datetime, timedelta, timezone

from bench.measure import BenchServer
from bench.report import Option, main as bench_main, ms, table, target, work_dir
from harness.browser import DIALOG, card, launch_chromium, new_page, sign_in, settle
from harness.seeding import seed_instances

LONG, SHORT = "Histórico longo", "Histórico curto"
EVENT_COUNTS = {LONG: 20_000, SHORT: 100}
SPAN = timedelta(days=30)
GOAL = 1.5


def _seed_history(database, instance_id: str, name: str, count: int, now: datetime) -> None:
    """`count` events of one instance, evenly over the last 30 days: the phone connects and
    drops in turn (what the monitor and the provider's pushes write), in one transaction."""
    step = SPAN / count
    rows = []
    for i in range(count):
        connected = i % 2 == 0
        at = now - SPAN + step * i
        rows.append((instance_id, name, "connected" if connected else "dropped",
                     "disconnected" if connected else "connected", "connected" if connected else "disconnected",
                     "+5511999990000", "monitor", at.isoformat(timespec="microseconds")))
    with database.connect() as conn:
        conn.executemany(
            "insert into instance_events (instance_id, instance_name, kind, from_status, to_status,"
            " phone_number, source, created_at) values (?, ?, ?, ?, ?, ?, ?, ?)", rows)


def _seed(server: BenchServer) -> None:
    from lib.store.sqlite.instances import SQLiteInstanceStore

    seed_instances(server.database, 1, prefix=LONG)
    seed_instances(server.database, 1, prefix=SHORT)
    now = datetime.now(timezone.utc)
    store = SQLiteInstanceStore(server.database)
    for instance in store.list_instances():
        name = LONG if instance.name.startswith(LONG) else SHORT
        store_name = instance.name
        _seed_history(server.database, instance.id, store_name, EVENT_COUNTS[name], now)


def _open_history(page, name: str) -> float:
    """Seconds from the click on the card's Histórico to the dialog drawn."""
    from playwright.sync_api import expect

    button = card(page, name).get_by_role("button", name="Histórico", exact=True)
    started = time.perf_counter()
    button.click()
    settle(page, timeout_ms=60_000)
    dialog = page.locator(DIALOG)
    expect(dialog.get_by_test_id("stMetric").first).to_be_visible(timeout=60_000)  # "Online em 24 h", "… desde 29/11"
    expect(dialog.locator('[data-testid="stVegaLiteChart"] :is(canvas, svg.marks)').first).to_be_visible(timeout=60_000)
    expect(dialog.locator('[data-testid="stDataFrame"]')).to_be_visible(timeout=60_000)
    return time.perf_counter() - started


def run(runs: int = 6) -> dict:
    from playwright.sync_api import sync_playwright

    server = BenchServer(work_dir("history-open"), env={"MONITOR_INTERVAL_SECONDS": "0"}, instrumented=False)
    _seed(server)
    names = {LONG: f"{LONG} 0000", SHORT: f"{SHORT} 0000"}
    seconds: dict[str, list[float]] = {LONG: [], SHORT: []}
    with server:
        server.add_user()
        with sync_playwright() as playwright:
            browser = launch_chromium(playwright)
            try:
                for index in range(2 * runs):
                    which = (SHORT, LONG)[index % 2]
                    page = new_page(browser)
                    sign_in(page, server.url)
                    seconds[which].append(_open_history(page, names[which]))
                    page.context.close()
            finally:
                browser.close()
    medians = {which: statistics.median(values) for which, values in seconds.items()}
    ratio = medians[LONG] / medians[SHORT]
    rows = [(which, EVENT_COUNTS[which], len(values), ms(medians[which]), ms(max(values)))
            for which, values in seconds.items()]
    result = {
        "runs": runs,
        "events": EVENT_COUNTS,
        "seconds": {which: [round(v, 3) for v in values] for which, values in seconds.items()},
        "median_ms": {which: ms(v) for which, v in medians.items()},
        "ratio": round(ratio, 2),
        "table": table(["instance", "events", "runs", "median ms", "max ms"], rows),
        "targets": [target("Histórico open, 20 000 vs 100 events (Chromium)",
                           f"{ms(medians[LONG])} vs {ms(medians[SHORT])} ms median ({ratio:.2f}×)",
                           f"≤ {GOAL}×", ratio <= GOAL)],
    }
    return result


def describe(args, result: dict) -> list[str]:
    return [result["table"]]


def main(argv: list[str] | None = None) -> int:
    return bench_main(argv, "history_open", __doc__, run, describe, Option("--runs", 6, "opens of each Histórico"))


if __name__ == "__main__":
    raise SystemExit(main())
