"""A drop the provider does NOT push, seen on an open admin page within the monitor's interval.

    .venv/bin/python -m bench.drop_polled [--runs 5] [--interval 10]

`streamlit run server.py` with MONITOR_INTERVAL_SECONDS=`interval` and its webhooks pointed at a
sandbox provider in this process that never pushes (nobody tells it where): the app learns of a
drop only from the status monitor's next sweep. `runs` instances are connected at that sandbox (the
monitor's first sweep shows them connected) and an admin page is open. For each run the bench
waits for the monitor's status call for one instance, then an offset that sweeps the interval (0,
interval/runs, ...: 0 is the worst case, a drop just after the sweep asked), drops that phone at
the sandbox (SandboxProvider.simulate_drop, in this process) and measures until the admin page's
DOM shows "Caiu às" in that card (a MutationObserver timestamps it); also when the next sweep
asked (detection). Target: the interval + 5 s.
"""

from __future__ import annotations

import time

from bench.measure import BenchServer
from bench.page import seen_at, watch_card
from bench.provider import BenchSandbox
from bench.report import Option, main as bench_main, table, target, work_dir
from harness.browser import badge, launch_chromium, new_page, sign_in
from harness.seeding import instance_ids, seed_connected
from lib.config.settings import DEFAULT_LIVE_SECONDS

MARGIN_S = 5.0
DROPPED = "Caiu às"


def _next_check(provider: BenchSandbox, instance_id: str, after: float, timeout: float) -> float:
    """Epoch time of the first status call for `instance_id` answered after `after`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        answered = provider.status_times(instance_id, after=after)
        if answered:
            return answered[0]
        time.sleep(0.01)
    raise RuntimeError(f"no status call for {instance_id} in {timeout:g} s: is the monitor sweeping?")


def run(runs: int = 5, interval: float = 10.0) -> dict:
    from playwright.sync_api import expect, sync_playwright

    budget = interval + MARGIN_S
    results = []
    with BenchSandbox(latency_ms=0) as provider:
        server = BenchServer(work_dir("drop-polled"), provider.webhook_settings(),
                           env={"MONITOR_INTERVAL_SECONDS": f"{interval:g}"}, instrumented=False)
        names = seed_connected(server.database, provider, runs, prefix="Silenciosa")
        ids = instance_ids(server.database)
        with server, sync_playwright() as playwright:
            server.add_user()
            browser = launch_chromium(playwright)
            try:
                admin = new_page(browser)
                sign_in(admin, server.url)
                for name in names:
                    expect(badge(admin, name, "Conectado")).to_be_visible(timeout=(interval + 30) * 1000)
                for index, name in enumerate(names):
                    offset = interval * index / runs
                    checked = _next_check(provider, ids[name], time.time(), timeout=interval + 10)
                    key = watch_card(admin, name, DROPPED)
                    time.sleep(max(0.0, checked + offset - time.time()))
                    dropped = time.time()
                    if not provider.simulate_drop(ids[name]):
                        raise RuntimeError(f"{name} was not connected at the sandbox")
                    seen = seen_at(admin, key, timeout_s=budget + 30)
                    detected = _next_check(provider, ids[name], dropped, timeout=interval + 10)
                    results.append({
                        "instance": name,
                        "offset_s": round(dropped - checked, 3),
                        "detected_s": round(detected - dropped, 3),
                        "drop_to_screen_s": round(seen - dropped, 3),
                    })
            finally:
                browser.close()
    worst = max(r["drop_to_screen_s"] for r in results)
    rows = [(i, r["instance"], f"{r['offset_s']:.2f}", f"{r['detected_s']:.2f}", f"{r['drop_to_screen_s']:.2f}")
            for i, r in enumerate(results, 1)]
    return {
        "interval_s": interval,
        "runs": results,
        "worst_s": worst,
        "table": table(["run", "instance", "drop after the sweep asked s", "next sweep asked s", "drop to screen s"],
                       rows),
        "targets": [target(f"drop not pushed to the admin's screen, interval {interval:g} s (worst of {len(results)})",
                           f"{worst:.2f} s ({', '.join(str(r['drop_to_screen_s']) for r in results)})",
                           f"<= interval + {MARGIN_S:g} s = {budget:g} s", worst <= budget)],
    }


def describe(args, result: dict) -> list[str]:
    return [
        f"Drop not pushed (a provider without events), from the drop at the provider to \"{DROPPED}\" on the admin's "
        f"page; real server + Chromium, monitor every {args.interval:g} s, the page checks the store every "
        f"{DEFAULT_LIVE_SECONDS:g} s",
        result["table"],
    ]


def main(argv: list[str] | None = None) -> int:
    return bench_main(argv, "drop_polled", __doc__, run, describe,
                      Option("--runs", 5, "drops"), Option("--interval", 10.0, "MONITOR_INTERVAL_SECONDS"))


if __name__ == "__main__":
    raise SystemExit(main())
