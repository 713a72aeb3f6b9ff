"""Sessions and accounts in real Chromium against the real server: the cookie survives a reload and
a new tab, carries nothing but a random id with the right flags, and dies with "Sair"; an admin adds
an analyst who must change the temporary password; a demoted admin is refused at once; a page whose
session ended elsewhere ("Sair" in another browser with the same cookie, "Encerrar sessões")
creates nothing and shows the login by itself; only the app's own page trades a ticket for the
cookie."""

from __future__ import annotations

import re

import pytest
import requests
from playwright.sync_api import Browser, Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from harness.browser import DIALOG, IDLE, log_in, new_page, settle, signed_in, shown
from harness.seeding import PASSWORD
from harness.server import running_server
from lib.auth.accounts import LocalAccounts
from lib.auth.sessions import COOKIE_NAME
from lib.store.sqlite.database import SQLiteDatabase
from lib.store.sqlite.instances import SQLiteInstanceStore

ADMIN, OTHER_ADMIN, NEWCOMER = "admin@example.com", "bia@example.com", "nova@example.com"


@pytest.fixture
def server(tmp_path):
    with running_server(tmp_path / "data") as running:
        accounts = LocalAccounts(SQLiteDatabase.in_dir(running.data_dir))
        accounts.add(ADMIN, PASSWORD, "admin")
        accounts.add(OTHER_ADMIN, PASSWORD, "admin")
        yield running


def choose(page: Page, select, option: str) -> None:
    """Pick an option of a selectbox: type it and take the one offered."""
    select.click()
    select.fill(option)
    page.get_by_role("option", name=option, exact=True).click()
    settle(page)


def session_cookie(page: Page) -> dict | None:
    return next((c for c in page.context.cookies() if c["name"] == COOKIE_NAME), None)


def test_the_session_survives_a_reload_and_a_new_tab_and_ends_with_sair(server, browser: Browser):
    page = new_page(browser)
    log_in(page, server.url, ADMIN)
    signed_in(page)
    cookie = _wait_for_cookie(page)
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax" and cookie["path"] == "/"
    assert len(cookie["value"]) >= 43 and ADMIN not in cookie["value"] and "admin" not in cookie["value"].lower()
    assert cookie["expires"] > 0  # survives the browser closing, until the session's own expiry

    page.reload()
    page.wait_for_selector(IDLE, state="attached", timeout=60_000)
    signed_in(page)  # a reload keeps the user in
    tab = page.context.new_page()
    tab.goto(server.url)
    tab.wait_for_selector(IDLE, state="attached", timeout=60_000)
    signed_in(tab)  # so does a new tab
    tab.close()

    page.get_by_role("button", name="Sair").click()
    settle(page)
    expect(page.get_by_role("button", name="Entrar", exact=True)).to_be_visible()
    replay = browser.new_context()  # someone who kept a copy of the old cookie
    replay.add_cookies([{"name": COOKIE_NAME, "value": cookie["value"], "url": server.url}])
    stranger = replay.new_page()
    stranger.goto(server.url)
    stranger.wait_for_selector(IDLE, state="attached", timeout=60_000)
    expect(stranger.get_by_role("button", name="Entrar", exact=True)).to_be_visible()
    expect(stranger.get_by_role("heading", name="Configurações")).to_have_count(0)
    page.reload()
    page.wait_for_selector(IDLE, state="attached", timeout=60_000)
    expect(page.get_by_role("button", name="Entrar", exact=True)).to_be_visible()
    assert "Traceback" not in server.log()


def _wait_for_cookie(page: Page, other_than: str | None = None) -> dict:
    for _ in range(50):
        cookie = session_cookie(page)
        if cookie and cookie["value"] != other_than:
            return cookie
        page.wait_for_timeout(200)
    raise AssertionError(f"no {COOKIE_NAME} cookie was set")


def test_a_newcomer_changes_the_temporary_password_and_a_demoted_admin_turns_read_only(server, browser: Browser, tmp_path):
    admin = new_page(browser)
    log_in(admin, server.url, ADMIN)
    signed_in(admin)
    bia = new_page(browser)
    log_in(bia, server.url, OTHER_ADMIN)
    signed_in(bia)

    # The admin adds an analyst on the Usuários page: a temporary password, shown once.
    admin.get_by_role("link", name="Usuários").click()
    settle(admin)
    admin.get_by_label("E-mail", exact=True).fill(NEWCOMER)
    admin.get_by_label("E-mail", exact=True).press("Tab")
    admin.get_by_role("button", name="Adicionar", exact=True).click()
    settle(admin)
    expect(admin.get_by_text(shown(f"Senha temporária de {NEWCOMER}"))).to_be_visible()
    temporary = admin.locator('[data-testid="stCode"] code').inner_text().strip()
    assert re.fullmatch(r"[A-Za-z2-9]{12}", temporary), temporary

    newcomer = new_page(browser)
    log_in(newcomer, server.url, NEWCOMER, temporary)
    expect(newcomer.get_by_text("Você entrou com uma senha temporária")).to_be_visible()
    first_cookie = _wait_for_cookie(newcomer)["value"]
    newcomer.get_by_label("Senha temporária", exact=True).fill(temporary)
    newcomer.get_by_label("Nova senha", exact=True).fill("minha-senha-nova")
    newcomer.get_by_label("Confirmar nova senha", exact=True).fill("minha-senha-nova")
    newcomer.get_by_label("Confirmar nova senha", exact=True).press("Tab")
    newcomer.get_by_role("button", name="Salvar nova senha", exact=True).click()
    settle(newcomer)
    expect(newcomer.get_by_text("Somente leitura: apenas administradores alteram instâncias.")).to_be_visible(timeout=20_000)
    _wait_for_cookie(newcomer, other_than=first_cookie)  # the page traded the new session's ticket
    newcomer.reload()  # the new password started a new session: its cookie, not the old one, signs her in
    newcomer.wait_for_selector(IDLE, state="attached", timeout=60_000)
    expect(newcomer.get_by_text("Somente leitura: apenas administradores alteram instâncias.")).to_be_visible(timeout=20_000)

    # The admin demotes Bia while she is about to create an instance: her page turns read-only within
    # seconds, without a click, and a "Criar" that lands before that is refused. Nothing is created.
    dialog = open_create_dialog(bia, "Cobrança")
    choose(admin, admin.get_by_label("Usuário", exact=True), OTHER_ADMIN)
    choose(admin, admin.get_by_label("Papel", exact=True).last, "Analista")
    admin.get_by_role("button", name="Salvar papel", exact=True).click()
    settle(admin)
    click_criar_if_still_there(dialog)
    expect(bia.get_by_text("Somente leitura: apenas administradores alteram instâncias.")).to_be_visible(timeout=20_000)
    expect(bia.get_by_role("button", name="+ Nova instância", exact=True)).to_have_count(0)
    assert instances(server) == []
    for page, name in ((admin, "admin"), (newcomer, "newcomer"), (bia, "bia")):
        page.screenshot(path=str(tmp_path / f"{name}.png"), full_page=True)
    assert "Traceback" not in server.log()


def test_a_ticket_is_traded_for_the_cookie_only_by_the_apps_own_page(server, browser: Browser):
    """Login CSRF: an attacker signs in, keeps the one-time ticket their page would have traded, and
    has a victim's browser post it from another site. Only a JSON request from the app's own origin
    gets the cookie (Content-Type, Origin and Sec-Fetch-Site checked, as Django and OWASP do)."""
    page = new_page(browser)
    tickets = []

    def keep_the_ticket(route):
        if route.request.method == "POST":
            tickets.append(route.request.post_data)
            route.abort()  # the attacker's own page never trades it
        else:
            route.continue_()

    page.route("**/api/session", keep_the_ticket)
    log_in(page, server.url, ADMIN)
    signed_in(page)
    for _ in range(50):
        if tickets:
            break
        page.wait_for_timeout(200)
    [body] = tickets
    url, origin = server.url + "/api/session", server.url.rstrip("/")
    forged = [
        {"Content-Type": "text/plain", "Origin": "http://evil.example"},  # a cross-site form or fetch
        {"Content-Type": "text/plain", "Origin": origin},  # the right origin, but not JSON
        {"Content-Type": "application/json", "Origin": "http://evil.example"},
        {"Content-Type": "application/json", "Origin": "null"},  # a sandboxed iframe or a data: URL
        {"Content-Type": "application/json", "Sec-Fetch-Site": "cross-site"},
        {"Content-Type": "application/json", "Origin": origin, "Sec-Fetch-Site": "same-site"},  # a sibling subdomain
    ]
    for headers in forged:
        reply = requests.post(url, data=body, headers=headers, timeout=10)
        assert reply.status_code in (403, 415), (headers, reply.status_code)
        assert COOKIE_NAME not in reply.headers.get("set-cookie", ""), headers
    own = requests.post(url, data=body, headers={"Content-Type": "application/json; charset=utf-8", "Origin": origin,
                                                 "Sec-Fetch-Site": "same-origin"}, timeout=10)
    assert own.status_code == 204 and COOKIE_NAME in own.headers["set-cookie"]  # the refused ones did not use it up
    assert requests.delete(url, headers={"Origin": "http://evil.example"}, timeout=10).status_code == 403
    assert "Traceback" not in server.log()


def open_create_dialog(page: Page, name: str):
    """"+ Nova instância", the name typed, "Criar" not clicked yet."""
    page.get_by_role("button", name="+ Nova instância", exact=True).click()
    settle(page)
    dialog = page.locator(DIALOG)
    dialog.get_by_label("Nome da instância", exact=True).fill(name)
    dialog.get_by_label("Nome da instância", exact=True).press("Tab")
    return dialog


def click_criar_if_still_there(dialog) -> None:
    """The open page's next tick (every 3 s) may show the login page before the click lands: then
    there is no "Criar" left to click, which is as good."""
    try:
        dialog.get_by_role("button", name="Criar", exact=True).click(timeout=3_000)
    except PlaywrightTimeout:
        pass


def instances(server) -> list:
    return SQLiteInstanceStore(SQLiteDatabase.in_dir(server.data_dir)).list_instances()


def test_after_sair_in_one_browser_the_other_with_the_same_cookie_creates_nothing_and_shows_the_login(server, browser: Browser):
    page = new_page(browser)
    log_in(page, server.url, ADMIN)
    signed_in(page)
    cookie = _wait_for_cookie(page)
    twin = browser.new_context(viewport={"width": 1280, "height": 900})
    twin.add_cookies([{"name": COOKIE_NAME, "value": cookie["value"], "url": server.url}])
    other = twin.new_page()
    other.goto(server.url)
    other.wait_for_selector(IDLE, state="attached", timeout=60_000)
    signed_in(other)  # the same session, in a second browser
    dialog = open_create_dialog(other, "Cobrança")

    page.get_by_role("button", name="Sair").click()
    settle(page)
    click_criar_if_still_there(dialog)
    expect(other.get_by_role("button", name="Entrar", exact=True)).to_be_visible(timeout=15_000)  # no click needed
    assert instances(server) == []
    assert "Traceback" not in server.log()


def test_after_encerrar_sessoes_the_persons_open_page_creates_nothing_and_shows_the_login(server, browser: Browser):
    bia = new_page(browser)
    log_in(bia, server.url, OTHER_ADMIN)
    signed_in(bia)
    dialog = open_create_dialog(bia, "Cobrança")

    admin = new_page(browser)
    log_in(admin, server.url, ADMIN)
    signed_in(admin)
    admin.get_by_role("link", name="Usuários").click()
    settle(admin)
    choose(admin, admin.get_by_label("Usuário", exact=True), OTHER_ADMIN)
    admin.get_by_role("button", name="Encerrar sessões", exact=True).click()
    settle(admin)
    admin.locator(".st-key-danger-confirm-end_sessions button").click()  # asked once more
    settle(admin)
    click_criar_if_still_there(dialog)
    expect(bia.get_by_role("button", name="Entrar", exact=True)).to_be_visible(timeout=15_000)  # no click needed
    assert instances(server) == []
    assert "Traceback" not in server.log()
