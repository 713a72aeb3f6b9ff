"""The screen on a phone (390 × 844) in real Chromium: cards whose buttons never overlap, the user's
name and "Sair" reachable, no English hint on the forms, and no table toolbar with its raw CSV export."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, Page, expect

from lib.auth.accounts import LocalAccounts
from lib.store.sqlite.database import SQLiteDatabase
from lib.store.sqlite.instances import SQLiteInstanceStore
from tests.support.server import streamlit_server
from tests.ui.test_browser import IDLE, PASSWORD, browser, settle  # noqa: F401 - browser fixture
from tests.ui.test_browser import log_in, signed_in

ADMIN = "admin@example.com"
PHONE = {"width": 390, "height": 844}


@pytest.fixture
def server(tmp_path):
    with streamlit_server(tmp_path / "data") as running:
        database = SQLiteDatabase.in_dir(running.data_dir)
        LocalAccounts(database).add(ADMIN, PASSWORD, "admin")
        store = SQLiteInstanceStore(database)
        live = store.insert_instance(instance_id="sbx-1", token="t1", name="WhatsApp Cobrança Centro", created_by=None)
        store.update_status(live.id, status="connected", phone_number="+5511999998888")
        store.insert_instance(instance_id="sbx-2", token="t2", name="Suporte", created_by=None)
        yield running


def boxes_overlap(a: dict, b: dict) -> bool:
    return not (a["x"] + a["width"] <= b["x"] or b["x"] + b["width"] <= a["x"]
                or a["y"] + a["height"] <= b["y"] or b["y"] + b["height"] <= a["y"])


def test_on_a_phone_cards_buttons_never_overlap_and_sair_is_reachable(server, browser: Browser, tmp_path):
    context = browser.new_context(viewport=PHONE, locale="pt-BR", is_mobile=True, has_touch=True)
    context.set_default_timeout(20_000)
    page = context.new_page()
    page.goto(server.url)
    page.wait_for_selector(IDLE, state="attached", timeout=60_000)
    expect(page.get_by_text("Press Enter to submit form")).to_have_count(0)
    log_in(page, server.url, ADMIN)
    signed_in(page)
    assert page.evaluate("document.documentElement.lang") == "pt-BR"
    page.screenshot(path=str(tmp_path / "phone.png"), full_page=True)
    for name in ("WhatsApp Cobrança Centro", "Suporte"):
        row = page.locator("strong", has_text=name).locator("xpath=ancestor::div[@data-testid='stHorizontalBlock'][1]")
        card = row.bounding_box()
        buttons = [b.bounding_box() for b in row.get_by_role("button").all() if b.is_visible()]
        assert len(buttons) >= 3, name  # main action, Histórico, Mais
        for box in buttons:
            assert box["x"] >= card["x"] - 1 and box["x"] + box["width"] <= card["x"] + card["width"] + 1, (name, box)
            assert box["x"] + box["width"] <= PHONE["width"], (name, box)  # nothing off screen
        for i, first in enumerate(buttons):
            for second in buttons[i + 1:]:
                assert not boxes_overlap(first, second), (name, first, second)
        text = row.locator("strong", has_text=name).bounding_box()
        assert all(not boxes_overlap(text, box) for box in buttons), name
    # Typing in the search shows no English hint ("Press Enter to apply").
    page.get_by_label("Buscar", exact=True).press_sequentially("Cob")
    expect(page.get_by_text(re.compile("Press Enter")).filter(visible=True)).to_have_count(0)
    page.get_by_label("Buscar", exact=True).fill("")
    page.get_by_label("Buscar", exact=True).press("Enter")
    settle(page)
    # The table's own toolbar (English, and an export without the formula guard) is not there.
    table = page.locator('[data-testid="stDataFrame"]').first
    table.hover()
    expect(page.get_by_role("button", name="Download as CSV")).to_have_count(0)
    expect(page.get_by_role("button", name="Baixar CSV")).to_be_visible()
    # The user's name and "Sair" are a tap away on a phone: the sidebar opens from the header.
    page.get_by_test_id("stExpandSidebarButton").click()
    expect(page.get_by_role("button", name="Sair")).to_be_in_viewport()
    expect(page.get_by_text(ADMIN)).to_be_in_viewport()
    page.get_by_role("button", name="Sair").click()
    settle(page)
    expect(page.get_by_role("button", name="Entrar", exact=True)).to_be_visible()
    context.close()
