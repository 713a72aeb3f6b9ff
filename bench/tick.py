"""Polling tick: the connect dialog open, the provider answering "connecting" (status unchanged).

    .venv/bin/python -m bench.tick [--ticks 8]

Two measurements, because neither tool sees everything:

1. Real server + Chromium (the tick as it happens): `streamlit run server.py` under
   bench.instrumented, webhooks pointed at a sandbox provider in this process (latency 0), one
   admin with the dialog open for `ticks` polling intervals. For each dialog tick (a run of the
   dialog's fragment, triggered by st_autorefresh) the server records its own time, the time spent
   in webhook calls and the calls it made to the store and to the webhooks; the sandbox counts the
   status requests it answered for that instance (the status monitor's sweeps ask too); the page
   records, from data-test-script-state, how long the run lasted as the browser saw it (for an
   autorefresh tick the page only notices the run when the server's first message arrives, so
   this is "run noticed -> run finished", not the full round trip). Meanwhile the cards' own 3 s
   check (the live_cards fragment) runs too: its runs are reported apart.
2. AppTest (in-process counting): a full rerun of the page with the dialog open, which is what a
   tick does plus everything else on the page, so an upper bound: calls counted by wrapping the
   store and webhook client classes.
"""

from __future__ import annotations

import statistics
import time

from bench.counting import CallCounter, store_and_webhook_counter
from bench.measure import BenchServer
from bench.page import POLL_INTERVAL_S, RUN_OBSERVER
from bench.provider import BenchSandbox
from bench.report import Option, main as bench_main, table, target, work_dir
from harness.apptest import admin_apptest, isolated_env
from harness.browser import DIALOG, card, launch_chromium, new_page, sign_in, settle
from harness.seeding import instance_ids, seed_instances

SERVER_BUDGET_MS = 20.0


def _reads(calls: dict) -> int:
    return sum(n for key, n in calls.items() if key.startswith("store.read."))


def _writes(calls: dict) -> int:
    return sum(n for key, n in calls.items() if key.startswith("store.write."))


def _store_calls(counts: dict, names: tuple[str, ...]) -> int:
    return sum(counts.get(f"SQLiteInstanceStore.{name}", 0) for name in names)


def _merged_calls(runs: list[dict]) -> dict:
    merged: dict[str, int] = {}
    for run in runs:
        for key, n in run["calls"].items():
            merged[key] = merged.get(key, 0) + n
    return merged


def measure_browser(ticks: int) -> dict:
    from playwright.sync_api import expect, sync_playwright

    work = work_dir("tick")
    with BenchSandbox(latency_ms=0) as provider, BenchServer(work, provider.webhook_settings()) as server:
        server.add_user()
        *_, name = seed_instances(server.database, 20, webhooks=provider.webhook_settings())  # the newest: first card
        instance_id = instance_ids(server.database)[name]
        with sync_playwright() as playwright:
            browser = launch_chromium(playwright)
            try:
                page = new_page(browser, RUN_OBSERVER)
                sign_in(page, server.url)
                card(page, name).get_by_role("button", name="Conectar", exact=True).click()
                settle(page)
                dialog = page.locator(DIALOG)
                expect(dialog.get_by_text("Aguardando leitura do QR Code…")).to_be_visible(timeout=20_000)
                started = time.time()
                page.wait_for_timeout(ticks * POLL_INTERVAL_S * 1000 + 1000)
                ended = time.time()
                status_answered = len([t for t in provider.status_times(instance_id, after=started) if t <= ended])
                browser_runs = page.evaluate("window.__benchRuns")
                expect(dialog.get_by_text("Aguardando leitura do QR Code…")).to_be_visible()
            finally:
                browser.close()
        runs = [r for r in server.runs(since=started) if r["start"] <= ended]
    tick_runs = [r for r in runs if "connect_dialog" in (r["fragments"] or ())]
    card_runs = [r for r in runs if "live_cards" in (r["fragments"] or ())]
    full_runs = [r for r in runs if not r["fragment"]]

    def seen_by_browser(run: dict) -> float | None:
        """The page's view of this run (state leaves notRunning -> back to notRunning, ms): the page
        run nearest in time (ticks are 3 s apart; the two clocks agree only to some 100 ms)."""
        start_ms = run["start"] * 1000
        nearest = min(browser_runs, key=lambda b: abs(b[0] - start_ms), default=None)
        if nearest is None or abs(nearest[0] - start_ms) > 1000:
            return None
        return nearest[2] - nearest[0]

    browser_ms = [seen_by_browser(r) for r in tick_runs]
    rows = []
    for i, (r, seen) in enumerate(zip(tick_runs, browser_ms), 1):
        calls = r["calls"]
        rows.append((i, f"{r['ms']:.1f}", f"{r['cpu_ms']:.1f}", f"{r['webhook_ms']:.1f}",
                     f"{r['ms'] - r['webhook_ms']:.1f}", calls.get("webhook.status", 0), calls.get("webhook.connect", 0),
                     _reads(calls), _writes(calls), "—" if seen is None else f"{seen:.0f}"))
    browser_ms = [b for b in browser_ms if b is not None]
    beyond = [r["ms"] - r["webhook_ms"] for r in tick_runs]
    return {
        "ticks": len(tick_runs),
        "full_runs_while_polling": len(full_runs),
        "card_checks": len(card_runs),
        "card_check_calls": _merged_calls(card_runs),
        "card_check_ms_median": round(statistics.median(r["ms"] for r in card_runs), 2) if card_runs else None,
        "status_calls_per_tick": [r["calls"].get("webhook.status", 0) for r in tick_runs],
        "store_reads_per_tick": [_reads(r["calls"]) for r in tick_runs],
        "store_writes_per_tick": [_writes(r["calls"]) for r in tick_runs],
        "qr_refreshes": sum(r["calls"].get("webhook.connect", 0) for r in tick_runs),
        "sandbox_status_requests": status_answered,
        "server_ms": [r["ms"] for r in tick_runs],
        "webhook_ms": [r["webhook_ms"] for r in tick_runs],
        "server_cpu_ms": [r["cpu_ms"] for r in tick_runs],
        "server_beyond_webhook_ms": [round(b, 3) for b in beyond],
        "server_beyond_webhook_ms_median": round(statistics.median(beyond), 2) if beyond else None,
        "server_beyond_webhook_ms_max": round(max(beyond), 2) if beyond else None,
        "browser_tick_ms": [round(b, 1) for b in browser_ms],
        "browser_tick_ms_median": round(statistics.median(browser_ms), 1) if browser_ms else None,
        "table": table(["tick", "server ms", "server CPU ms", "webhook ms", "server - webhook", "status calls",
                        "connect calls", "store reads", "store writes", "browser ms"], rows),
    }


def measure_apptest(reruns: int = 5) -> dict:
    """Full reruns with the dialog open, calls counted in-process."""
    from lib.context import app_context
    from lib.config.settings import current_settings
    from tests.support.app_ui import button, texts

    data = work_dir("tick-apptest")
    isolated_env(data)
    context = app_context(current_settings())
    [name] = seed_instances(context.database, 1, webhooks=context.sandbox.webhook_settings())
    at, _ = admin_apptest(data)
    button(at, "Conectar").click().run()
    if "Aguardando leitura do QR Code…" not in texts(at):
        raise RuntimeError(f"connect dialog not open for {name}")
    per_run = []
    for _ in range(reruns):
        with store_and_webhook_counter() as counter:
            at.run()
        per_run.append(dict(counter.counts))
    return {
        "reruns": reruns,
        "status_calls_per_rerun": [c.get("WebhookClient.status", 0) for c in per_run],
        "other_webhook_calls_per_rerun": [sum(n for k, n in c.items() if k.startswith("WebhookClient.")
                                              and k != "WebhookClient.status") for c in per_run],
        "store_reads_per_rerun": [_store_calls(c, CallCounter.READS) for c in per_run],
        "store_writes_per_rerun": [_store_calls(c, CallCounter.WRITES) for c in per_run],
    }


def run(ticks: int = 8) -> dict:
    browser = measure_browser(ticks)
    apptest = measure_apptest()
    ok_status = browser["ticks"] > 0 and all(n == 1 for n in browser["status_calls_per_tick"])
    ok_reads = browser["ticks"] > 0 and not any(browser["store_reads_per_tick"])
    beyond_median = browser["server_beyond_webhook_ms_median"]
    cpu = browser["server_cpu_ms"]
    targets = [
        target("tick: status calls", f"{browser['status_calls_per_tick']} (sandbox answered "
               f"{browser['sandbox_status_requests']} for that instance in {browser['ticks']} ticks)", "exactly 1 per tick", ok_status),
        target("tick: store reads", f"{browser['store_reads_per_tick']}", "0 per tick", ok_reads),
        target("tick: server time beyond webhook",
               f"median {beyond_median} ms, max {browser['server_beyond_webhook_ms_max']} ms "
               f"(CPU median {round(statistics.median(cpu), 2) if cpu else None} ms)",
               f"<= {SERVER_BUDGET_MS:g} ms (median)", beyond_median is not None and beyond_median <= SERVER_BUDGET_MS),
        target("full rerun with dialog (AppTest)",
               f"status {apptest['status_calls_per_rerun']}, reads {apptest['store_reads_per_rerun']}",
               "1 status call, 0 reads", set(apptest["status_calls_per_rerun"]) == {1}
               and not any(apptest["store_reads_per_rerun"])),
    ]
    return {"browser": browser, "apptest": apptest, "targets": targets}


def describe(args, result: dict) -> list[str]:
    b, a = result["browser"], result["apptest"]
    return [
        f"Polling tick, real server + Chromium, sandbox latency 0 ({b['ticks']} dialog ticks; "
        f"{b['full_runs_while_polling']} full runs meanwhile; QR refreshed {b['qr_refreshes']}x)",
        b["table"],
        f"browser-observed tick (run noticed by the page -> finished), median: {b['browser_tick_ms_median']} ms",
        f"the cards' own checks meanwhile: {b['card_checks']} runs, median {b['card_check_ms_median']} ms, "
        f"calls {b['card_check_calls']}",
        "",
        f"AppTest, {a['reruns']} full reruns with the dialog open (upper bound of a tick): "
        f"status calls {a['status_calls_per_rerun']}, other webhook calls {a['other_webhook_calls_per_rerun']}, "
        f"store reads {a['store_reads_per_rerun']}, store writes {a['store_writes_per_rerun']}",
    ]


def main(argv: list[str] | None = None) -> int:
    return bench_main(argv, "tick", __doc__, run, describe, Option("--ticks", 8, "polling intervals observed"))


if __name__ == "__main__":
    raise SystemExit(main())
