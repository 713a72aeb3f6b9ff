"""A drop the provider pushes, seen on an open admin page and an open analyst page.

    .venv/bin/python -m bench.drop_pushed [--runs 6]

The product as `make run` starts it: `streamlit run server.py` on the embedded default (SQLite and
the built-in sandbox, which the server tells to push every status change to /api/provider-events
with a secret it made up). Before the server starts, `runs` instances are created and connected at
a sandbox writing the state file of APP_DATA_DIR, which the server's sandbox then loads; the
monitor's first sweep shows them connected. An admin page and an analyst page are open (two
contexts of one headless Chromium). For each run the admin clicks "Simular queda" on one card: the
sandbox drops that phone and pushes the change; every page's cards ask the store every 3 s whether
anything changed and, when it has, the page runs again. Measured from just before the click to the
moment each page's DOM shows "Caiu às" in that card (a MutationObserver timestamps it), with the
moment the store had the drop (the row's status_changed_at). A pause of 1 to 3 s before each
click spreads the clicks over the pages' 3 s check period.
"""

from __future__ import annotations

import time

from bench.measure import BenchServer
from bench.page import seen_at, watch_card
from bench.report import Option, main as bench_main, table, target, work_dir
from harness.browser import badge, card, launch_chromium, new_page, sign_in
from harness.seeding import seed_connected
from lib.config.settings import DEFAULT_LIVE_SECONDS

BUDGET_S = 5.0
ANALYST_EMAIL = "analista@example.com"
DROPPED = "Caiu às"


def _seed(server: BenchServer, runs: int) -> list[str]:
    """Instances connected at the sandbox the server will load (its state file in the data dir)."""
    from lib.provider.sandbox.provider import SandboxProvider
    from lib.provider.sandbox.state import STATE_FILENAME

    with SandboxProvider(state_path=server.data_dir / STATE_FILENAME) as sandbox:
        return seed_connected(server.database, sandbox, runs, prefix="Queda")


def run(runs: int = 6) -> dict:
    from playwright.sync_api import expect, sync_playwright

    from lib.store.sqlite.instances import SQLiteInstanceStore

    server = BenchServer(work_dir("drop-pushed"), instrumented=False)
    names = _seed(server, runs)
    results = []
    with server:
        server.add_user()
        server.add_user(ANALYST_EMAIL, "analyst")
        store = SQLiteInstanceStore(server.database)
        with sync_playwright() as playwright:
            browser = launch_chromium(playwright)
            try:
                admin, analyst = new_page(browser), new_page(browser)
                sign_in(admin, server.url)
                sign_in(analyst, server.url, ANALYST_EMAIL)
                for page in (admin, analyst):
                    for name in names:
                        expect(badge(page, name, "Conectado")).to_be_visible(timeout=30_000)
                for index, name in enumerate(names):
                    admin.wait_for_timeout(1000 + 2000 * index / runs)
                    keys = [watch_card(page, name, DROPPED) for page in (admin, analyst)]
                    card(admin, name).get_by_role("button", name="Mais").click()  # the card's menu holds it
                    drop = admin.get_by_role("button", name="Simular queda", exact=True)
                    drop.wait_for()
                    clicked = time.time()
                    drop.click()
                    admin_seen, analyst_seen = (seen_at(page, key, timeout_s=30)
                                                for page, key in zip((admin, analyst), keys))
                    row = next(i for i in store.list_instances() if i.name == name)
                    results.append({
                        "instance": name,
                        "stored_s": round(row.status_changed_at.timestamp() - clicked, 3),
                        "admin_s": round(admin_seen - clicked, 3),
                        "analyst_s": round(analyst_seen - clicked, 3),
                    })
            finally:
                browser.close()
    worst = max(max(r["admin_s"], r["analyst_s"]) for r in results)
    rows = [(i, r["instance"], f"{r['stored_s']:.2f}", f"{r['admin_s']:.2f}", f"{r['analyst_s']:.2f}")
            for i, r in enumerate(results, 1)]
    return {
        "runs": results,
        "worst_s": worst,
        "table": table(["run", "instance", "in the store s", "admin page s", "analyst page s"], rows),
        "targets": [target(f"pushed drop to both screens (worst of {len(results)} x 2 pages)",
                           f"{worst:.2f} s (admin {', '.join(str(r['admin_s']) for r in results)}; "
                           f"analyst {', '.join(str(r['analyst_s']) for r in results)})",
                           f"<= {BUDGET_S:g} s", worst <= BUDGET_S)],
    }


def describe(args, result: dict) -> list[str]:
    return [
        f"Drop pushed by the provider, from the click on \"Simular queda\" (admin) to \"{DROPPED}\" on the admin's and "
        f"an analyst's page; real server + Chromium, the pages check the store every {DEFAULT_LIVE_SECONDS:g} s",
        result["table"],
    ]


def main(argv: list[str] | None = None) -> int:
    return bench_main(argv, "drop_pushed", __doc__, run, describe, Option("--runs", 6, "drops"))


if __name__ == "__main__":
    raise SystemExit(main())
