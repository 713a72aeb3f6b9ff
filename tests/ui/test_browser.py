"""End-to-end: the real server (`streamlit run server.py`: embedded default, SQLite + sandbox
provider, status monitor, alerts to a loopback receiver through Apprise) in Chromium.

One journey: first admin → new instance → a dialog that survives a refresh → connect through the
sandbox → an analyst signs in beside the admin → "Simular queda": both screens show the drop, with
the last number, without a click, the receiver gets the alert, and Histórico shows the red
segment → reconnect, disconnect, delete → restart the server on the same data folder: an instance
created before still connects.
Needs Debian's Chromium at /usr/bin/chromium (Playwright's own browsers are not downloaded).
"""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import requests
from PIL import Image
from playwright.sync_api import Browser, Page, expect

from harness.browser import DIALOG, IDLE, badge, card, log_in, new_page, settle, signed_in
from harness.seeding import PASSWORD
from harness.server import running_server
from lib.auth.accounts import LocalAccounts
from lib.store.sqlite.database import SQLiteDatabase
from lib.store.sqlite.instances import SQLiteInstanceStore
from tests.support.receiver import Receiver

PHONE = r"\+55 11 9\d{4}-\d{4}"
TIME = r"\d\d:\d\d"
INSTANCE = "WhatsApp Cobrança"
SPARE = "Reserva"
ADMIN_EMAIL, ANALYST_EMAIL = "admin@example.com", "analista@example.com"
EVENTS_SECRET = "segredo-do-teste"
SEEN_WITHOUT_A_CLICK_MS = 20_000  # generous: how fast is measured by bench/, not asserted here


# -- helpers ----------------------------------------------------------------------------------
def more(page: Page, name: str, action: str) -> None:
    """Click `action` in the card's "Mais" menu."""
    card(page, name).get_by_role("button", name="Mais").click()
    page.get_by_role("button", name=action, exact=True).click()


def confirm(page: Page, label: str) -> None:
    dialog = page.locator(DIALOG)
    expect(dialog).to_have_count(1)
    expect(dialog.get_by_text(f"{label} instância", exact=True)).to_be_visible()  # titled with the action
    primary = dialog.get_by_role("button", name=label, exact=True)
    primary.click()
    settle(page)
    expect(page.locator(DIALOG)).to_have_count(0, timeout=20_000)


def create(page: Page, name: str) -> None:
    page.get_by_role("button", name="+ Nova instância", exact=True).click()
    settle(page)
    dialog = page.locator(DIALOG)
    name_input = dialog.get_by_label("Nome da instância", exact=True)
    name_input.fill(name)
    name_input.press("Tab")
    dialog.get_by_role("button", name="Criar", exact=True).click()
    settle(page)
    expect(dialog.get_by_text("Instância criada.")).to_be_visible(timeout=20_000)
    expect(dialog.get_by_text(re.compile(r"^Token: "))).to_be_visible()
    dialog.get_by_role("button", name="Fechar", exact=True).click()
    settle(page)
    expect(page.locator(DIALOG)).to_have_count(0)
    expect(badge(page, name, "Nunca conectada")).to_be_visible()


def connect(page: Page, name: str, screenshot: Path | None = None) -> None:
    """Conectar, then play the phone with the sandbox's button; the dialog closes by itself."""
    card(page, name).get_by_role("button", name="Conectar", exact=True).click()
    settle(page)
    dialog = page.locator(DIALOG)
    expect(dialog.get_by_text("Conectar instância", exact=True)).to_be_visible()
    expect(dialog.locator("img").first).to_be_visible(timeout=20_000)
    expect(dialog.get_by_text(re.compile(r"^Aguardando leitura do QR Code… novo QR em \d+ s$"))).to_be_visible()
    qr_box = dialog.locator("img").first.bounding_box()
    assert qr_box is not None and qr_box["width"] > 100 and qr_box["height"] > 100, qr_box
    poller = dialog.locator('iframe[title*="autorefresh"]')
    expect(poller).to_have_count(1, timeout=10_000)  # the poller is there, inside the dialog...
    poller_box = poller.bounding_box()
    assert not poller.is_visible() or poller_box is None or poller_box["height"] <= 1, (
        f"the streamlit-autorefresh iframe shows as an empty box in the connect dialog: {poller_box}"
    )
    if screenshot:
        page.screenshot(path=str(screenshot))
    dialog.get_by_role("button", name="Simular leitura do QR", exact=True).click()
    expect(page.locator(DIALOG)).to_have_count(0, timeout=15_000)
    toast = page.get_by_test_id("stToast").filter(has_text=re.compile(rf"{re.escape(name)} conectada: {PHONE}"))
    expect(toast).to_be_visible()  # before settle(): a toast goes away after a few seconds
    settle(page)
    expect(card(page, name).get_by_text(re.compile(rf"^Conectada desde {TIME}  ·  {PHONE}"))).to_be_visible()


def _has_colour(png: bytes, rgb: tuple[int, int, int], tolerance: int = 24) -> bool:
    with Image.open(io.BytesIO(png)) as image:
        pixels = image.convert("RGB").getdata()
        return any(all(abs(p - c) <= tolerance for p, c in zip(pixel, rgb)) for pixel in pixels)


# -- the journey ------------------------------------------------------------------------------
def test_the_team_sees_a_drop_without_a_click_and_the_sandbox_survives_a_restart(browser, tmp_path):
    data_dir = tmp_path / "data"
    pages: list[Page] = []
    try:
        with Receiver() as receiver, running_server(
                data_dir, {"EVENTS_SECRET": EVENTS_SECRET, "ALERT_URLS": f"json://127.0.0.1:{receiver.port}/"}) as server:
            admin = new_page(browser)
            pages.append(admin)
            _first_session(server, admin, browser, pages, tmp_path, receiver)
            log = server.log()
        with running_server(data_dir) as server:  # the same data folder, a new process and port
            admin = new_page(browser)
            pages[:] = [admin]
            log_in(admin, server.url, ADMIN_EMAIL)
            signed_in(admin)
            expect(badge(admin, SPARE, "Nunca conectada")).to_be_visible()
            connect(admin, SPARE)  # the sandbox kept it: it still connects
            log += server.log()
    except BaseException:
        for number, page in enumerate(pages):
            page.screenshot(path=str(tmp_path / f"failure-{number}.png"), full_page=True)
        print(f"screenshots in {tmp_path}")
        raise
    assert "Traceback" not in log, log
    assert "Uncaught app execution" not in log, log


def _first_session(server, admin: Page, browser: Browser, pages: list[Page], tmp_path: Path, receiver: Receiver) -> None:
    admin.goto(server.url)
    admin.wait_for_selector(IDLE, state="attached", timeout=60_000)

    # 1. First administrator.
    expect(admin.get_by_text("Criar primeiro administrador")).to_be_visible(timeout=30_000)
    admin.get_by_label("E-mail", exact=True).fill(ADMIN_EMAIL)
    admin.get_by_label("Senha", exact=True).fill(PASSWORD)
    admin.get_by_label("Confirmar senha", exact=True).fill(PASSWORD)
    code = (server.data_dir / "setup_code.txt").read_text().strip()  # printed by the server at start
    assert code in server.log()
    admin.get_by_label("Código de configuração", exact=True).fill(code)
    admin.get_by_label("Código de configuração", exact=True).press("Tab")
    admin.get_by_role("button", name="Criar administrador", exact=True).click()
    settle(admin)
    expect(admin.get_by_role("heading", name="Configurações")).to_be_visible(timeout=30_000)
    expect(admin.get_by_test_id("stSidebar").get_by_text(ADMIN_EMAIL)).to_be_visible()
    expect(admin.get_by_text("Nenhuma instância ainda")).to_be_visible()

    # 2. Two instances.
    create(admin, INSTANCE)
    create(admin, SPARE)

    # 3. A dialog being filled in survives the list refreshing behind it (a pushed event here).
    admin.get_by_role("button", name="+ Nova instância", exact=True).click()
    settle(admin)
    draft = admin.locator(DIALOG).get_by_label("Nome da instância", exact=True)
    draft.fill("Rascunho")
    spare = SQLiteInstanceStore(SQLiteDatabase.in_dir(server.data_dir)).list_instances()
    spare = next(i for i in spare if i.name == SPARE)
    reply = requests.post(f"{server.url}/api/provider-events", timeout=10, headers={"X-Webhook-Secret": EVENTS_SECRET},
                          data=json.dumps({"instance_id": spare.instance_id, "status": "connecting"}))
    assert reply.status_code == 202
    expect(badge(admin, SPARE, "Aguardando QR")).to_be_visible(timeout=SEEN_WITHOUT_A_CLICK_MS)
    expect(draft).to_have_value("Rascunho")  # still open, still filled in
    admin.keyboard.press("Escape")
    expect(admin.locator(DIALOG)).to_have_count(0)
    settle(admin)

    # 4. Connect, playing the phone with the sandbox's button.
    connect(admin, INSTANCE, screenshot=tmp_path / "connect-dialog.png")
    number = re.search(PHONE, card(admin, INSTANCE).inner_text()).group()

    # 5. An analyst signs in beside the admin: read-only, the same card.
    LocalAccounts(SQLiteDatabase.in_dir(server.data_dir)).add(ANALYST_EMAIL, PASSWORD, "analyst")
    analyst = new_page(browser)
    pages.append(analyst)
    log_in(analyst, server.url, ANALYST_EMAIL)
    signed_in(analyst)
    expect(analyst.get_by_text("Somente leitura: apenas administradores alteram instâncias.")).to_be_visible()
    expect(card(analyst, INSTANCE).get_by_text(re.compile(rf"^Conectada desde {TIME}  ·  {re.escape(number)}"))).to_be_visible()
    expect(analyst.get_by_role("button", name="Simular queda")).to_have_count(0)

    # 6. The phone drops: both screens follow, without a click, with the last number.
    more(admin, INSTANCE, "Simular queda")
    for page in (admin, analyst):
        expect(badge(page, INSTANCE, "Caiu")).to_be_visible(timeout=SEEN_WITHOUT_A_CLICK_MS)
        expect(page.get_by_test_id("stAlert").filter(has_text=f"Caiu: {INSTANCE} · ")).to_be_visible()
        expect(card(page, INSTANCE).get_by_text(re.compile(rf"^Caiu às {TIME}  ·  Conexão perdida \(código 428\)\s*Último número: {re.escape(number)}"))).to_be_visible()
    admin.screenshot(path=str(tmp_path / "dropped-admin.png"), full_page=True)
    analyst.screenshot(path=str(tmp_path / "dropped-analyst.png"), full_page=True)
    _, _, alert = receiver.next(timeout=30)  # the push is alerted at once (the rules read it within 5 s)
    assert alert["title"] == f"WhatsApp caiu: {INSTANCE}" and number in alert["message"]

    # 7. Histórico: the drop is a red stretch of the timeline, and the event list says who saw it.
    card(analyst, INSTANCE).get_by_role("button", name="Histórico", exact=True).click()
    settle(analyst)
    dialog = analyst.locator(DIALOG)
    # connected minutes ago: its uptime is counted from then, and says so
    expect(dialog.get_by_text(re.compile(rf"^Online desde {TIME}$"))).to_be_visible()
    chart = dialog.locator('[data-testid="stVegaLiteChart"]')
    expect(chart).to_be_visible()
    analyst.wait_for_timeout(1_000)  # let Vega draw
    assert _has_colour(chart.screenshot(), (0xC6, 0x28, 0x28)), "no red (a drop) on the timeline"
    analyst.screenshot(path=str(tmp_path / "history-analyst.png"))
    analyst.keyboard.press("Escape")
    settle(analyst)

    # 8. Reconnect, then a disconnect by the admin is not a drop.
    connect(admin, INSTANCE)
    more(admin, INSTANCE, "Desconectar")
    settle(admin)
    confirm(admin, "Desconectar")
    expect(badge(admin, INSTANCE, "Desconectada")).to_be_visible()
    expect(card(admin, INSTANCE).get_by_text(
        re.compile(rf"^Desconectada por um usuário desde {TIME}\s*Último número: {PHONE}"))).to_be_visible()

    # 9. Delete.
    more(admin, INSTANCE, "Excluir")
    settle(admin)
    confirm(admin, "Excluir")
    expect(admin.locator("strong", has_text=INSTANCE)).to_have_count(0)
    expect(card(analyst, INSTANCE)).to_have_count(0, timeout=SEEN_WITHOUT_A_CLICK_MS)
