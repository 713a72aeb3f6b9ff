"""The page survives a fault of Streamlit's own, in real Chromium against the real server: on every
full run after the first, what the run draws inside the fragments that follow the store every tick
(the live part above the page, the cards) is lost on the way to the browser, while the run's
"finished" message arrives (tests/support/lost_fragment_messages.py plays it; Streamlit 1.67 does it
by itself on a busy machine). The heading, the tabs and the cards stay on the page, the cards come
back with the next tick, and the browser reports no error: without each fragment alone in a
container of its own (lib.ui.ticks), the first full run back on Instâncias broke the whole page
("Cannot set a node at a delta path").

Also here: a live part with nothing to show takes no room (lib.ui.page's style)."""

from __future__ import annotations

from playwright.sync_api import Browser, Page, expect

from harness.browser import card, new_page, settle, sign_in_by_cookie
from harness.server import AppServer
from lib.store.sqlite.instances import SQLiteInstanceStore

NAMES = ("Cobrança Centro", "Suporte")
TICK_SECONDS = "1"  # the fastest the app allows: the lost cards come back within a second


def page_in_place(page: Page, errors: list[str]) -> None:
    assert errors == []
    expect(page.get_by_role("heading", name="Configurações")).to_have_count(1)
    expect(page.get_by_role("tab")).to_have_count(4)
    for name in NAMES:
        expect(card(page, name)).to_be_visible(timeout=15_000)
    assert errors == []


def test_the_page_survives_full_runs_whose_ticking_fragments_never_arrive(browser: Browser, tmp_path):
    server = AppServer(tmp_path, env={"APP_LIVE_SECONDS": TICK_SECONDS}, runner="tests.support.lost_fragment_messages")
    server.add_user()
    store = SQLiteInstanceStore(server.database)
    for number, name in enumerate(NAMES):
        store.insert_instance(instance_id=f"sbx-{number}", token=f"t{number}", name=name, created_by=None)
    errors: list[str] = []
    try:
        with server:
            page = new_page(browser)
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            sign_in_by_cookie(page, server)
            page_in_place(page, errors)
            for tab in ("Atividade", "Instâncias"):  # a click on a tab is a full run
                page.get_by_role("tab", name=tab).click()
                settle(page)
            page_in_place(page, errors)
            page.get_by_role("button", name="Verificar agora").click()  # a full run from a button
            settle(page)
            page_in_place(page, errors)
            page.reload()  # a new browser session: its first run, then its ticks
            settle(page)
            page_in_place(page, errors)
            # No drop to announce: the live part above the heading is there, and takes no room.
            expect(page.locator('[class*="st-key-live-_live"]')).to_have_count(1)
            expect(page.locator('[class*="st-key-live-_live"]')).to_be_hidden()
    finally:
        print(f"--- page errors: {errors}\n--- streamlit log ---\n{server.log()}")
