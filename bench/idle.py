"""An idle open session: what a signed-in page left open costs the store and the provider.

    .venv/bin/python -m bench.idle [--seconds 30] [--instances 20]

`streamlit run server.py` under bench.instrumented (the monitor at its default interval), webhooks
pointed at a sandbox provider in this process, `instances` instances; one admin page in headless
Chromium, signed in, then left alone for `seconds`. Every 3 s the cards' fragment asks the store
whether anything changed (SQLiteInstanceStore.version: an in-process counter, no query on the
embedded store) and redraws the cards; the list is read again only when the store changed (a
sweep marks rows checked, so a sweep in the window costs one read). Reported from the server's
own records of that page's runs: fragment ticks, full runs, store reads (list_instances...), store
version checks and webhook calls; and what the server did meanwhile outside any run (the monitor's
sweeps: its lease claims, status calls and writes), so that a re-read can be told apart.

On Supabase the same check is one small RPC per tick (instances_version), asserted in
tests/ui/test_app_supabase.py; it is not measured here.
"""

from __future__ import annotations

import time

from bench.instrumented import BACKGROUND_DUMP_S
from bench.measure import BenchServer
from bench.report import Option, main as bench_main, table, target, work_dir
from harness.browser import badge, launch_chromium, new_page, sign_in
from harness.seeding import seed_instances
from lib.provider.sandbox.provider import SandboxProvider
from lib.config.settings import DEFAULT_LIVE_SECONDS


def _count(runs: list[dict], prefix: str) -> int:
    return sum(n for run in runs for label, n in run["calls"].items() if label.startswith(prefix))


def run(seconds: float = 30.0, instances: int = 20) -> dict:
    from playwright.sync_api import expect, sync_playwright

    with SandboxProvider() as provider:
        server = BenchServer(work_dir("idle"), provider.webhook_settings())
        *_, newest = seed_instances(server.database, instances, webhooks=provider.webhook_settings(), prefix="Ociosa")
        with server, sync_playwright() as playwright:
            server.add_user()
            browser = launch_chromium(playwright)
            try:
                page = new_page(browser)
                sign_in(page, server.url)
                expect(badge(page, newest, "Desconectado")).to_be_visible()
                page.wait_for_timeout(DEFAULT_LIVE_SECONDS * 1000)  # the runs of signing in are over
                background = server.background()
                start = time.time()
                page.wait_for_timeout(seconds * 1000)
                end = time.time()
                time.sleep(2 * BACKGROUND_DUMP_S)
                background = {label: n - background.get(label, 0) for label, n in server.background().items()
                              if n != background.get(label, 0)}
            finally:
                browser.close()
            runs = [r for r in server.runs(since=start) if r["start"] <= end]
    ticks = [r for r in runs if r["fragment"]]
    full = [r for r in runs if not r["fragment"]]
    figures = {
        "seconds": seconds,
        "instances": instances,
        "fragment_ticks": len(ticks),
        "fragments": sorted({name for r in ticks for name in r["fragments"] or ()}),
        "full_runs": len(full),
        "list_reads": sum(r["calls"].get("store.read.list_instances", 0) for r in runs),
        "store_reads": _count(runs, "store.read."),
        "store_writes": _count(runs, "store.write."),
        "version_checks": sum(r["calls"].get("store.other.version", 0) for r in runs),
        "webhook_calls": _count(runs, "webhook."),
        "outside_runs": background,
        "sweeps_in_window": background.get("store.other.claim_lease", 0),
        "tick_ms_median": sorted(r["ms"] for r in ticks)[len(ticks) // 2] if ticks else None,
        "tick_cpu_ms_median": sorted(r["cpu_ms"] for r in ticks)[len(ticks) // 2] if ticks else None,
    }
    f = figures
    rows = [(f"{seconds:g}", f["fragment_ticks"], ", ".join(f["fragments"]), f["full_runs"], f["version_checks"],
             f["list_reads"], f["store_reads"], f["store_writes"], f["webhook_calls"], f["sweeps_in_window"],
             f["tick_ms_median"], f["tick_cpu_ms_median"])]
    figures["table"] = table(["idle s", "ticks", "fragments", "full runs", "version checks", "list reads",
                              "all reads", "writes", "webhook calls", "sweeps meanwhile", "tick ms (median)",
                              "tick CPU ms (median)"], rows)
    figures["targets"] = [
        target(f"idle admin page, {seconds:g} s: webhook calls", f"{f['webhook_calls']} (outside the page's runs "
               f"meanwhile: {background or 'nothing'})", "0", f["webhook_calls"] == 0),
        target(f"idle admin page, {seconds:g} s: store queries",
               f"{f['store_reads']} reads ({f['list_reads']} list), {f['version_checks']} version checks "
               f"(in-process counter, no query) in {f['fragment_ticks']} ticks; {f['sweeps_in_window']} sweeps meanwhile",
               "<= 1 small query per tick; embedded: 0, list read only after a sweep",
               f["store_reads"] == f["list_reads"] <= f["sweeps_in_window"]
               and f["fragment_ticks"] >= seconds / DEFAULT_LIVE_SECONDS - 2),
    ]
    return figures


def describe(args, result: dict) -> list[str]:
    return [
        f"An idle admin page ({args.instances} instances), real server (instrumented) + Chromium; the cards check the "
        f"store every {DEFAULT_LIVE_SECONDS:g} s",
        result["table"],
    ]


def main(argv: list[str] | None = None) -> int:
    return bench_main(argv, "idle", __doc__, run, describe, Option("--seconds", 30.0), Option("--instances", 20))


if __name__ == "__main__":
    raise SystemExit(main())
