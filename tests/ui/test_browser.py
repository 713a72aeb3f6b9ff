"""End-to-end: the real `streamlit run app.py` (embedded default: SQLite + sandbox provider) in Chromium.

One journey: first admin → new instance → connect through the sandbox QR → disconnect → delete.
Needs Debian's Chromium at /usr/bin/chromium (Playwright's own browsers are not downloaded).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from playwright.sync_api import Page, expect, sync_playwright

from bench.common import CHROMIUM, CHROMIUM_ARGS
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from tests.support.server import streamlit_server as running_server


APP = '[data-testid="stApp"]'
IDLE = '[data-testid="stApp"][data-test-script-state="notRunning"]'
BUSY = '[data-testid="stApp"]:not([data-test-script-state="notRunning"])'
DIALOG = '[role="dialog"]'
PHONE = r"\+55 11 9\d{4}-\d{4}"
INSTANCE = "WhatsApp Cobrança"
ADMIN_EMAIL = "admin@example.com"
ADMIN_PASSWORD = "s3nha-forte-123"

# -- server -----------------------------------------------------------------------------------
@pytest.fixture
def streamlit_server(tmp_path):
    with running_server(tmp_path / "data") as server:
        yield server


@pytest.fixture
def page(streamlit_server):
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="pt-BR")
            context.set_default_timeout(20_000)
            yield context.new_page()
        finally:
            browser.close()


# -- helpers ----------------------------------------------------------------------------------
def settle(page: Page, *, start_timeout_ms: int = 1_000, timeout_ms: int = 30_000) -> None:
    """Wait until the script run triggered by the last interaction is over.

    A click reaches the server asynchronously, so first give the run a moment to start (it may
    also have started and finished already, which is fine), then wait for the idle state.
    """
    try:
        page.wait_for_selector(BUSY, state="attached", timeout=start_timeout_ms)
    except PlaywrightTimeoutError:
        pass
    page.wait_for_selector(IDLE, state="attached", timeout=timeout_ms)


def card(page: Page):
    """The bordered container of the (only) instance card."""
    return page.locator('[data-testid="stVerticalBlock"]').filter(
        has=page.get_by_text(re.compile(rf"·\s+{re.escape(INSTANCE)}$"))
    ).filter(has=page.get_by_role("button", name="Excluir", exact=True)).last


def confirm(page: Page, label: str) -> None:
    dialog = page.locator(DIALOG)
    expect(dialog).to_have_count(1)
    expect(dialog.get_by_text("Confirmar", exact=True)).to_be_visible()
    primary = dialog.get_by_role("button", name=label, exact=True)
    expect(primary).to_be_visible()
    primary.click()
    settle(page)
    expect(page.locator(DIALOG)).to_have_count(0, timeout=20_000)


# -- the journey ------------------------------------------------------------------------------
def test_admin_creates_connects_disconnects_and_deletes_an_instance(streamlit_server, page: Page, tmp_path):
    try:
        _journey(streamlit_server, page, tmp_path)
    except BaseException:
        page.screenshot(path=str(tmp_path / "failure.png"), full_page=True)
        print(f"screenshots in {tmp_path}")
        raise
    log = streamlit_server.log()
    assert "Traceback" not in log, log
    assert "Uncaught app execution" not in log, log


def _journey(streamlit_server, page: Page, tmp_path: Path) -> None:
    page.goto(streamlit_server.url)
    page.wait_for_selector(IDLE, state="attached", timeout=60_000)

    # 1. First administrator.
    expect(page.get_by_text("Criar primeiro administrador")).to_be_visible(timeout=30_000)
    page.get_by_label("E-mail", exact=True).fill(ADMIN_EMAIL)
    page.get_by_label("E-mail", exact=True).press("Tab")
    page.get_by_label("Senha", exact=True).fill(ADMIN_PASSWORD)
    page.get_by_label("Senha", exact=True).press("Tab")
    page.get_by_label("Confirmar senha", exact=True).fill(ADMIN_PASSWORD)
    page.get_by_label("Confirmar senha", exact=True).press("Tab")
    page.get_by_role("button", name="Criar administrador", exact=True).click()
    settle(page)
    expect(page.get_by_role("heading", name="Configurações")).to_be_visible(timeout=30_000)
    expect(page.get_by_role("tab", name="Instâncias")).to_be_visible()
    expect(page.get_by_test_id("stSidebar").get_by_text(ADMIN_EMAIL)).to_be_visible()
    expect(page.get_by_text("Nenhuma instância cadastrada ainda.")).to_be_visible()

    # 2. New instance.
    page.get_by_role("button", name="+ Nova instância", exact=True).click()
    settle(page)
    dialog = page.locator(DIALOG)
    expect(dialog.get_by_text("Nova instância", exact=True)).to_be_visible()
    name_input = dialog.get_by_label("Nome da instância", exact=True)
    name_input.fill(INSTANCE)
    name_input.press("Tab")
    dialog.get_by_role("button", name="Criar", exact=True).click()
    settle(page)
    expect(dialog.get_by_text("Instância criada.")).to_be_visible(timeout=20_000)
    expect(dialog.get_by_text(re.compile(r"^Token: "))).to_be_visible()
    expect(dialog.get_by_text("Mostrar token")).to_be_visible()
    dialog.get_by_role("button", name="Fechar", exact=True).click()
    settle(page)
    expect(page.locator(DIALOG)).to_have_count(0)
    expect(card(page).get_by_text(f"🔴 Desconectado  ·  {INSTANCE}")).to_be_visible()
    expect(card(page).get_by_text("Telefone: —", exact=False)).to_be_visible()

    # 3. Connect: QR dialog, nothing empty shown for the polling component.
    card(page).get_by_role("button", name="Conectar", exact=True).click()
    settle(page)
    dialog = page.locator(DIALOG)
    expect(dialog.get_by_text("Conectar instância", exact=True)).to_be_visible()
    expect(dialog.locator("img").first).to_be_visible(timeout=20_000)
    expect(dialog.get_by_text("Aguardando leitura do QR Code…")).to_be_visible()
    qr_box = dialog.locator("img").first.bounding_box()
    assert qr_box is not None and qr_box["width"] > 100 and qr_box["height"] > 100, qr_box
    poller = dialog.locator('iframe[title*="autorefresh"]')
    expect(poller).to_have_count(1, timeout=10_000)  # the poller is there, inside the dialog...
    poller_box = poller.bounding_box()
    assert not poller.is_visible() or poller_box is None or poller_box["height"] <= 1, (
        f"the streamlit-autorefresh iframe shows as an empty box in the connect dialog: {poller_box}"
    )
    page.screenshot(path=str(tmp_path / "connect-dialog.png"))

    # 4. Scan the QR in a new tab, as a phone would; the dialog notices by polling.
    with page.context.expect_page() as new_page_info:
        dialog.get_by_role("link", name="Simular leitura do QR").click()
    scan_page = new_page_info.value
    scan_page.wait_for_load_state()
    expect(scan_page.get_by_role("heading")).to_contain_text("QR lido")
    expect(scan_page.get_by_text(re.compile(r"Número conectado: \+55119\d{8}"))).to_be_visible()
    scan_page.close()

    page.bring_to_front()
    expect(page.locator(DIALOG)).to_have_count(0, timeout=15_000)  # polls every 3 s
    toast = page.get_by_test_id("stToast").filter(has_text=re.compile(rf"{re.escape(INSTANCE)} conectada: {PHONE}"))
    expect(toast).to_be_visible()  # before settle(): a toast goes away after a few seconds
    settle(page)
    expect(card(page).get_by_text(f"🟢 Conectado  ·  {INSTANCE}")).to_be_visible()
    expect(card(page).get_by_text(re.compile(rf"^Telefone: {PHONE}  ·  Criada em \d\d/\d\d/\d{{4}} \d\d:\d\d$"))).to_be_visible()
    expect(card(page).get_by_role("button", name="Conectar", exact=True)).to_have_count(0)
    page.screenshot(path=str(tmp_path / "connected.png"), full_page=True)

    # 5. Disconnect.
    card(page).get_by_role("button", name="Desconectar", exact=True).click()
    settle(page)
    confirm(page, "Desconectar")
    expect(card(page).get_by_text(f"🔴 Desconectado  ·  {INSTANCE}")).to_be_visible()
    expect(card(page).get_by_text("Telefone: —", exact=False)).to_be_visible()
    expect(card(page).get_by_role("button", name="Conectar", exact=True)).to_be_visible()

    # 6. Delete.
    card(page).get_by_role("button", name="Excluir", exact=True).click()
    settle(page)
    confirm(page, "Excluir")
    expect(page.get_by_text("Nenhuma instância cadastrada ainda.")).to_be_visible()
    expect(page.get_by_role("button", name="Excluir", exact=True)).to_have_count(0)
