"""Both flows end to end through the real server (`streamlit run server.py`) in Chromium, for each
provider the app talks to directly, as a new user sets it up: PROVIDER, PROVIDER_URL,
PROVIDER_API_KEY and APP_PUBLIC_URL, nothing else (the events secret is the one the app makes). The
provider is its double (harness/doubles/), which pushes each change to the webhook the app
registered. The monitor is far off: what changes on screen comes from the pushes.

One journey per provider, an admin and an analyst side by side: create (a safe id at the provider,
the events registered with the secret) → connect by QR → a second one by pairing code → a drop
pushed with its reason, on both screens → Reiniciar → Editar (the provider's id stays) → import an
instance made at the provider → Desconectar (not a drop) → Excluir (gone at the provider too). No
traceback in the server's log, and neither the API key nor a token in the log or on any screen."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, Page, expect

from harness.browser import DIALOG, badge, card, new_page, settle, sign_in_by_cookie
from harness.server import AppServer
from lib.event_registration import EVENTS_PATH
from lib.store.sqlite.instances import SQLiteInstanceStore
from tests.support.phones_at_providers import PROVIDERS
from tests.ui.test_browser import SEEN_WITHOUT_A_CLICK_MS, TIME, more

API_KEY = "chave-global-do-provedor-7f3a9c"
ADMIN, ANALYST = "admin@example.com", "analista@example.com"
FIRST, RENAMED, SECOND, ELSEWHERE = "Cobrança 01 – Ana", "Cobrança 01 – Ana Paula", "Cobrança 02", "legado-sp"
FIRST_ID, SECOND_ID = "cobranca-01-ana", "cobranca-02"  # what both providers' naming rules make of them
PHONE, PAIRED_PHONE, ELSEWHERE_PHONE = "5511999998888", "5511987654321", "5511955554444"
SHOWN = {PHONE: "+55 11 99999-8888", PAIRED_PHONE: "+55 11 98765-4321", ELSEWHERE_PHONE: "+55 11 95555-4444"}
TABLE_ROW = 35  # px: the import table's header and row height (glide-data-grid)


@pytest.fixture(params=sorted(PROVIDERS))
def provider(request):
    at = PROVIDERS[request.param](API_KEY)
    at.start()
    yield at
    at.stop()


@pytest.fixture
def server(provider, tmp_path):
    app = AppServer(tmp_path)  # the port is its own from here: APP_PUBLIC_URL can name it
    app.env = {"PROVIDER": provider.kind, "PROVIDER_URL": provider.base_url, "PROVIDER_API_KEY": API_KEY,
               "APP_PUBLIC_URL": app.url, "MONITOR_INTERVAL_SECONDS": "3600"}
    app.add_user(ADMIN, "admin")
    app.add_user(ANALYST, "analyst")
    try:
        with app:
            yield app
    finally:
        print(f"--- streamlit log ({app.log_path}) ---\n{app.log()}")


def test_a_new_user_runs_every_flow_against_the_provider(provider, server, browser: Browser, tmp_path):
    pages: list[Page] = []
    seen_secrets: set[str] = set()
    try:
        _journey(provider, server, browser, pages, seen_secrets)
    except BaseException:
        for number, page in enumerate(pages):
            page.screenshot(path=str(tmp_path / f"failure-{number}.png"), full_page=True)
        print(f"screenshots in {tmp_path}")
        raise
    finally:
        for page in pages:
            page.context.close()
    log = server.log()
    assert "Traceback" not in log and "Uncaught app execution" not in log, log
    assert not [secret for secret in seen_secrets if secret in log], "a secret in the server's log"


def _journey(provider, server: AppServer, browser: Browser, pages: list[Page], seen_secrets: set[str]) -> None:
    admin, analyst = new_page(browser), new_page(browser)
    pages += [admin, analyst]
    sign_in_by_cookie(admin, server, ADMIN)
    sign_in_by_cookie(analyst, server, ANALYST)
    store = SQLiteInstanceStore(server.database)
    events_secret = (server.data_dir / "events_secret.txt").read_text().strip()

    def no_secrets_shown() -> None:
        seen_secrets.update(provider.secrets() | {events_secret})
        for page in pages:
            text = page.locator("body").inner_text()
            assert not [secret for secret in seen_secrets if secret in text], "a secret on the screen"

    # 1. Created in the UI: a safe id at the provider, which pushes to the app with the secret.
    create(admin, FIRST)
    assert provider.names() == {FIRST_ID}
    assert provider.hooks(FIRST_ID) == [(server.url + EVENTS_PATH, events_secret)]
    expect(badge(analyst, FIRST, "Nunca conectada")).to_be_visible(timeout=SEEN_WITHOUT_A_CLICK_MS)

    # 2. Conectar, the QR, the phone scans it: connected on both screens, the analyst's without a click.
    open_connect(admin, FIRST)
    provider.scan(FIRST_ID, PHONE)
    connected(admin, FIRST, PHONE)
    expect(connected_line(analyst, FIRST, PHONE)).to_be_visible(timeout=SEEN_WITHOUT_A_CLICK_MS)

    # 3. A second one by pairing code.
    create(admin, SECOND)
    dialog = open_connect(admin, SECOND)
    dialog.get_by_role("tab", name="Código de pareamento").click()
    settle(admin)
    dialog.get_by_label("Número do WhatsApp, com DDI e DDD", exact=True).fill(SHOWN[PAIRED_PHONE])
    dialog.get_by_role("button", name="Gerar código", exact=True).click()
    settle(admin)
    code = dialog.locator(".st-key-pairing_code code")
    expect(code).to_have_text(re.compile(r"^[A-Z0-9]{4}-[A-Z0-9]{4}$"), timeout=20_000)
    provider.type_code(SECOND_ID, code.inner_text(), PAIRED_PHONE)
    connected(admin, SECOND, PAIRED_PHONE)
    no_secrets_shown()

    # 4. WhatsApp drops the first one: both screens, within seconds, the banner and the reason.
    provider.drop(FIRST_ID)
    for page in (admin, analyst):
        expect(badge(page, FIRST, "Caiu")).to_be_visible(timeout=SEEN_WITHOUT_A_CLICK_MS)
        banner = f"Caiu: {FIRST} · {SHOWN[PHONE]} · "
        expect(page.get_by_test_id("stAlert").filter(has_text=banner)).to_be_visible()
        expect(card(page, FIRST).get_by_text(re.compile(
            rf"^Caiu às {TIME}  ·  {provider.drop_reason}\nÚltimo número: {re.escape(SHOWN[PHONE])}"))).to_be_visible()

    # 5. Reiniciar the second one: the provider restarts it, and it comes back by itself.
    act(admin, SECOND, "Reiniciar", f"Instância {SECOND} reiniciada.")
    assert provider.restarts(SECOND_ID) == 1
    provider.finish_starting(SECOND_ID)
    expect(connected_line(admin, SECOND, PAIRED_PHONE)).to_be_visible(timeout=SEEN_WITHOUT_A_CLICK_MS)

    # 6. Editar: a new display name; the provider's id stays.
    more(admin, FIRST, "Editar")
    settle(admin)
    dialog = admin.locator(DIALOG)
    dialog.get_by_label("Nome", exact=True).fill(RENAMED)
    dialog.get_by_role("button", name="Salvar", exact=True).click()
    toast(admin, f"Instância {RENAMED} atualizada.")
    expect(badge(admin, RENAMED, "Caiu")).to_be_visible()
    assert [i.instance_id for i in store.list_instances() if i.name == RENAMED] == [FIRST_ID]
    assert provider.names() == {FIRST_ID, SECOND_ID}

    # 7. An instance made at the provider, not here: listed with its status, imported.
    provider.made_elsewhere(ELSEWHERE, ELSEWHERE_PHONE)
    import_one(admin, ELSEWHERE, f"{ELSEWHERE}: importada (conectado)")
    provider.finish_starting(ELSEWHERE)  # WAHA restarts a running session whose webhooks change
    expect(connected_line(admin, ELSEWHERE, ELSEWHERE_PHONE)).to_be_visible()
    assert provider.hooks(ELSEWHERE) == [(server.url + EVENTS_PATH, events_secret)]
    no_secrets_shown()

    # 8. Desconectar: the provider's own push of it (Evolution: a close with 401) is not a drop.
    act(admin, SECOND, "Desconectar", f"Instância {SECOND} desconectada.")
    provider.wait_pushes()
    for page in (admin, analyst):
        expect(card(page, SECOND).get_by_text(re.compile(
            rf"^Desconectada por um usuário desde {TIME}\nÚltimo número: {re.escape(SHOWN[PAIRED_PHONE])}"))
        ).to_be_visible(timeout=SEEN_WITHOUT_A_CLICK_MS)
        expect(badge(page, SECOND, "Desconectada")).to_be_visible()
        expect(page.get_by_test_id("stAlert").filter(has_text=f"Caiu: {SECOND}")).to_have_count(0)
    second = next(i for i in store.list_instances() if i.name == SECOND)
    assert not second.dropped and second.disconnect_reason is None
    # The one drop in the history is WhatsApp's: not the restart, the import or the disconnect.
    assert [event.instance_name for event in store.events(kinds=["dropped"])] == [FIRST]

    # 9. Excluir: gone from both screens and from the provider.
    act(admin, RENAMED, "Excluir", f"Instância {RENAMED} excluída.")
    for page in (admin, analyst):
        expect(card(page, RENAMED)).to_have_count(0, timeout=SEEN_WITHOUT_A_CLICK_MS)
    assert provider.names() == {SECOND_ID, ELSEWHERE}
    no_secrets_shown()


# -- steps --------------------------------------------------------------------------------------
def create(page: Page, name: str) -> None:
    page.get_by_role("button", name="+ Nova instância", exact=True).click()
    settle(page)
    dialog = page.locator(DIALOG)
    dialog.get_by_label("Nome da instância", exact=True).fill(name)
    dialog.get_by_role("button", name="Criar", exact=True).click()
    settle(page)
    expect(dialog.get_by_text("Instância criada.")).to_be_visible(timeout=20_000)
    dialog.get_by_role("button", name="Fechar", exact=True).click()
    settle(page)
    expect(page.locator(DIALOG)).to_have_count(0)
    expect(badge(page, name, "Nunca conectada")).to_be_visible()


def open_connect(page: Page, name: str):
    """Conectar: the dialog with its QR."""
    card(page, name).get_by_role("button", name="Conectar", exact=True).click()
    settle(page)
    dialog = page.locator(DIALOG)
    expect(dialog.get_by_text(re.compile(r"^Aguardando leitura do QR Code…"))).to_be_visible(timeout=20_000)
    expect(dialog.locator("img").first).to_be_visible()
    return dialog


def connected(page: Page, name: str, phone: str) -> None:
    """The dialog closes by itself, the toast names the number, and so does the card."""
    expect(page.locator(DIALOG)).to_have_count(0, timeout=SEEN_WITHOUT_A_CLICK_MS)
    toast(page, f"Instância {name} conectada: {SHOWN[phone]}")
    expect(connected_line(page, name, phone)).to_be_visible()


def connected_line(page: Page, name: str, phone: str):
    return card(page, name).get_by_text(re.compile(rf"^Conectada desde {TIME}  ·  {re.escape(SHOWN[phone])}"))


def toast(page: Page, text: str) -> None:
    """Seen before settle(): a toast goes away after a few seconds."""
    expect(page.get_by_test_id("stToast").filter(has_text=text)).to_be_visible(timeout=20_000)
    settle(page)


def act(page: Page, name: str, action: str, done: str) -> None:
    """An action of the card's "Mais" menu, confirmed in its dialog."""
    more(page, name, action)
    settle(page)
    dialog = page.locator(DIALOG)
    expect(dialog.get_by_text(f"{action} instância", exact=True)).to_be_visible()
    dialog.get_by_role("button", name=action, exact=True).click()
    toast(page, done)
    expect(page.locator(DIALOG)).to_have_count(0)


def import_one(page: Page, remote: str, outcome: str) -> None:
    """"Importar do provedor": the only row it lists (the grid is a canvas: its rows are read from
    the accessible table the grid writes inside it), ticked, imported."""
    page.get_by_role("button", name="Importar do provedor").click()
    settle(page)
    dialog = page.locator(DIALOG)
    table = dialog.get_by_test_id("stDataFrame")
    rows = table.get_by_role("row", include_hidden=True)  # the header, then one row per instance
    expect(rows).to_have_count(2, timeout=20_000)  # written a moment after the grid is drawn (debounced)
    expect(rows.nth(1).get_by_role("gridcell", include_hidden=True)).to_have_text(
        [remote, remote, "Conectado", SHOWN[ELSEWHERE_PHONE]])
    box = table.locator('canvas[data-testid="data-grid-canvas"]').bounding_box()
    page.mouse.click(box["x"] + 16, box["y"] + TABLE_ROW + TABLE_ROW // 2)
    settle(page)
    dialog.get_by_role("button", name="Importar 1 instância", exact=True).click()
    settle(page)
    expect(dialog.get_by_text(outcome)).to_be_visible()
    dialog.get_by_role("button", name="Fechar", exact=True).click()
    settle(page)
    expect(page.locator(DIALOG)).to_have_count(0)
