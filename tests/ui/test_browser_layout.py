"""The screen on a phone (390 × 844) in real Chromium: cards whose buttons never overlap, the user's
name and "Sair" reachable, no English hint on the forms, and no table toolbar with its raw CSV export."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, expect

from harness.browser import IDLE, log_in, new_page, settle, signed_in, shown
from harness.seeding import PASSWORD
from harness.server import running_server
from lib.auth.accounts import LocalAccounts
from lib.store.sqlite.database import SQLiteDatabase
from lib.store.sqlite.instances import SQLiteInstanceStore

ADMIN = "admin@example.com"
PHONE = {"width": 390, "height": 844}


@pytest.fixture
def server(tmp_path):
    with running_server(tmp_path / "data") as running:
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
    page = new_page(browser, viewport=PHONE, is_mobile=True, has_touch=True)
    page.goto(server.url)
    page.wait_for_selector(IDLE, state="attached", timeout=60_000)
    expect(page.get_by_text("Press Enter to submit form")).to_have_count(0)
    log_in(page, server.url, ADMIN)
    signed_in(page)
    assert page.evaluate("document.documentElement.lang") == "pt-BR"
    page.screenshot(path=str(tmp_path / "phone.png"), full_page=True)
    first_card = page.locator('[class*="st-key-card-"]').first
    name_box = first_card.locator("strong").first.bounding_box()
    assert name_box["y"] + name_box["height"] <= PHONE["height"], name_box  # on the first screen, unscrolled
    badge_box = first_card.locator(".stMarkdownBadge").first.bounding_box()
    assert badge_box["x"] + badge_box["width"] <= PHONE["width"], badge_box  # the state's chip is not clipped
    for name in ("WhatsApp Cobrança Centro", "Suporte"):
        row = page.locator("strong", has_text=name).locator("xpath=ancestor::div[@data-testid='stHorizontalBlock'][1]")
        card = row.bounding_box()
        buttons = [b.bounding_box() for b in row.get_by_role("button").all() if b.is_visible()]
        assert len(buttons) >= 2, name  # Histórico and Mais, and a main action where the state calls for one
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
    page.get_by_text("Tabela", exact=True).click()
    settle(page)
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
    page.context.close()


def no_sideways_scroll(page: Page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


def test_on_a_phone_the_first_start_and_the_users_page_fit_and_a_new_role_shows_by_itself(tmp_path, browser: Browser):
    def phone():
        return new_page(browser, viewport=PHONE, is_mobile=True, has_touch=True)

    with running_server(tmp_path / "data") as server:
        admin = phone()
        admin.goto(server.url)
        admin.wait_for_selector(IDLE, state="attached", timeout=60_000)
        expect(admin.get_by_text("terminal onde o servidor foi iniciado (make run)", exact=False)).to_be_visible()
        expect(admin.get_by_text("setup_code.txt", exact=False)).to_be_in_viewport()
        assert no_sideways_scroll(admin)
        admin.screenshot(path=str(tmp_path / "first-start.png"), full_page=True)
        code = (server.data_dir / "setup_code.txt").read_text().strip()
        for label, value in (("E-mail", ADMIN), ("Senha", PASSWORD), ("Confirmar senha", PASSWORD),
                             ("Código de configuração", code)):
            admin.get_by_label(label, exact=True).fill(value)
        admin.get_by_label("Código de configuração", exact=True).press("Tab")
        admin.get_by_role("button", name="Criar administrador", exact=True).click()
        signed_in(admin)

        LocalAccounts(SQLiteDatabase.in_dir(server.data_dir)).add("ana@example.com", PASSWORD, "analyst")
        ana = phone()
        log_in(ana, server.url, "ana@example.com")
        expect(ana.get_by_text("Somente leitura: apenas administradores alteram instâncias.")).to_be_visible()

        admin.goto(server.url + "/usuarios")
        admin.wait_for_selector(IDLE, state="attached", timeout=60_000)
        user = admin.get_by_label("Usuário", exact=True)
        user.click()
        admin.get_by_role("option", name="ana@example.com", exact=True).click()
        settle(admin)
        admin.get_by_role("button", name="Desativar", exact=True).click()
        settle(admin)
        expect(admin.get_by_text(shown("Desativar ana@example.com?"))).to_be_in_viewport()
        expect(admin.locator(".st-key-danger-confirm-deactivate button")).to_be_in_viewport()
        assert no_sideways_scroll(admin)
        admin.screenshot(path=str(tmp_path / "users-confirm.png"), full_page=True)
        admin.get_by_role("button", name="Cancelar", exact=True).click()
        settle(admin)

        role = admin.get_by_label("Papel", exact=True).last
        role.click()
        admin.get_by_role("option", name="Administrador", exact=True).click()
        settle(admin)
        admin.get_by_role("button", name="Salvar papel", exact=True).click()
        settle(admin)
        # Ana's page, open all along, becomes an admin's without her touching it.
        expect(ana.get_by_role("button", name="+ Nova instância", exact=True)).to_be_visible(timeout=15_000)
        assert no_sideways_scroll(ana)
        assert "Traceback" not in server.log()
