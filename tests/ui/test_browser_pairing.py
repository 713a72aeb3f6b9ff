"""Connecting by pairing code in real Chromium against the real server (embedded default, sandbox):
the tab (the server is told which one is open: no QR is fetched for the hidden QR tab), the number
refused then accepted, the code shown large and grouped, the tab kept through a full rerun of the
page, back to the QR tab and again, and "Simular código" connecting the number typed. And the QR
arrives with the dialog's own message, not as a second request that a slow browser could make after
the next poll had replaced the image (a broken image, seen under load)."""

from __future__ import annotations

import json
import re
from urllib.parse import urlsplit

import pytest
import requests
from playwright.sync_api import Browser, expect

from harness.browser import DIALOG, badge, card, new_page, settle, sign_in_by_cookie
from harness.seeding import PASSWORD
from harness.server import running_server
from lib.auth.accounts import LocalAccounts
from lib.store.sqlite.database import SQLiteDatabase
from lib.store.sqlite.instances import SQLiteInstanceStore
from tests.ui.test_browser import SEEN_WITHOUT_A_CLICK_MS, TIME, create

ADMIN = "admin@example.com"
INSTANCE, OTHER = "Cobrança", "Reserva"
EVENTS_SECRET = "segredo-do-teste"
QR_NOT_FETCHED = "Um novo QR Code é gerado ao abrir esta aba."


@pytest.fixture
def server(tmp_path):
    with running_server(tmp_path / "data", {"EVENTS_SECRET": EVENTS_SECRET}) as running:
        LocalAccounts(SQLiteDatabase.in_dir(running.data_dir)).add(ADMIN, PASSWORD, "admin")
        yield running


def test_an_admin_connects_by_pairing_code(server, browser: Browser, tmp_path):
    page = new_page(browser)
    try:
        _journey(server, page, tmp_path)
    except BaseException:
        page.screenshot(path=str(tmp_path / "failure.png"), full_page=True)
        print(f"screenshot in {tmp_path}")
        raise
    log = server.log()
    assert "Traceback" not in log and "Uncaught app execution" not in log, log


def test_the_qr_shows_without_a_request_of_its_own(server, browser: Browser):
    page = new_page(browser)
    media_requests: list[str] = []
    page.route(lambda url: urlsplit(url).path.startswith("/media/"),  # the app's media files, not /static/media
               lambda route: (media_requests.append(route.request.url), route.abort()))
    sign_in_by_cookie(page, server, ADMIN)
    create(page, INSTANCE)
    card(page, INSTANCE).get_by_role("button", name="Conectar", exact=True).click()
    settle(page)
    qr = page.locator(DIALOG).get_by_role("img").first
    expect(qr).to_be_visible(timeout=20_000)
    page.wait_for_function("img => img.complete", arg=qr.element_handle())
    assert qr.evaluate("img => img.naturalWidth") == 280  # drawn, at the dialog's width (QR_WIDTH)
    assert media_requests == []


def _journey(server, page, tmp_path) -> None:
    sign_in_by_cookie(page, server, ADMIN)
    create(page, INSTANCE)
    create(page, OTHER)
    card(page, INSTANCE).get_by_role("button", name="Conectar", exact=True).click()
    settle(page)
    dialog = page.locator(DIALOG)
    expect(dialog.locator("img").first).to_be_visible(timeout=20_000)  # the QR tab comes first

    code_tab = dialog.get_by_role("tab", name="Código de pareamento")
    code_tab.click()
    settle(page)
    expect(code_tab).to_have_attribute("aria-selected", "true")
    expect(dialog.get_by_text(re.compile("Conectar com número de telefone"))).to_be_visible()
    phone = dialog.get_by_label("Número do WhatsApp, com DDI e DDD", exact=True)
    phone.fill("(11) 98765-4321")
    expect(page.get_by_text(re.compile("Press Enter")).filter(visible=True)).to_have_count(0)  # Streamlit's hint
    dialog.get_by_role("button", name="Gerar código", exact=True).click()
    settle(page)
    expect(dialog.get_by_text("Falta o DDI: coloque +55 antes do DDD, ex.: +55 11 99999-8888.")).to_be_visible()

    phone.fill("+55 11 98765-4321")
    dialog.get_by_role("button", name="Gerar código", exact=True).click()
    settle(page)
    code = dialog.locator(".st-key-pairing_code code")
    expect(code).to_have_text(re.compile(r"^[A-Z2-9]{4}-[A-Z2-9]{4}$"), timeout=20_000)
    size = float(code.evaluate("element => getComputedStyle(element).fontSize").removesuffix("px"))
    assert size >= 30, f"the code is not shown large: {size}px"
    expect(dialog.get_by_text(re.compile(r"^Código para \+55 11 98765-4321\. Aguardando"))).to_be_visible()
    page.screenshot(path=str(tmp_path / "pairing-code.png"))

    # A pushed event about the other instance reruns the whole page: the dialog comes back on its tab.
    other = next(i for i in SQLiteInstanceStore(SQLiteDatabase.in_dir(server.data_dir)).list_instances()
                 if i.name == OTHER)
    reply = requests.post(f"{server.url}/api/provider-events", timeout=10, headers={"X-Webhook-Secret": EVENTS_SECRET},
                          data=json.dumps({"instance_id": other.instance_id, "status": "connecting"}))
    assert reply.status_code == 202
    expect(badge(page, OTHER, "Aguardando QR")).to_be_visible(timeout=SEEN_WITHOUT_A_CLICK_MS)
    settle(page)
    expect(code_tab).to_have_attribute("aria-selected", "true")
    expect(code).to_have_text(re.compile(r"^[A-Z2-9]{4}-[A-Z2-9]{4}$"))
    # The server knows which tab is open: once the QR is due (15 s after the dialog opened: the
    # steps above took part of that), it is not fetched for the hidden tab.
    expect(dialog.get_by_text(QR_NOT_FETCHED)).to_be_attached(timeout=30_000)

    qr_tab = dialog.get_by_role("tab", name="QR Code")  # back to the QR: a new one at once, the code still valid
    qr_tab.click()
    settle(page)
    expect(qr_tab).to_have_attribute("aria-selected", "true")
    expect(dialog.locator("img").first).to_be_visible(timeout=20_000)
    expect(dialog.get_by_text(QR_NOT_FETCHED)).to_have_count(0)
    dialog.get_by_role("tab", name="Código de pareamento").click()
    settle(page)
    dialog.get_by_role("button", name="Simular código", exact=True).click()
    expect(page.locator(DIALOG)).to_have_count(0, timeout=15_000)
    settle(page)
    expect(card(page, INSTANCE).get_by_text(re.compile(rf"^Conectada desde {TIME}  ·  \+55 11 98765-4321"))).to_be_visible()
