"""Single sign-on end to end: Chromium, the real server (`streamlit run server.py`, embedded default)
with an [auth] section in its secrets file (APP_SECRETS_FILE), and a real OpenID Connect provider on
loopback (oidc-provider-mock, in a thread of this process).

"Entrar com Keycloak" → the provider's page (the e-mail is the subject it asks for) → back in the
app as the local account with that e-mail, with its role → a reload keeps the session → "Sair"
leaves the app and the provider, and a reload does not sign the person back in; an e-mail with no
account sees "Sem acesso: peça a um administrador." and can leave.
Needs Debian's Chromium at /usr/bin/chromium (Playwright's own browsers are not downloaded).
"""

from __future__ import annotations

import re
import threading
from pathlib import Path

import oidc_provider_mock
import pytest
import werkzeug.serving
from playwright.sync_api import Page, expect

from harness.browser import IDLE, new_page, shown
from harness.server import running_server
from lib.auth.accounts import LocalAccounts
from lib.auth.sessions import COOKIE_NAME
from lib.store.sqlite.database import SQLiteDatabase

ADMIN_EMAIL, ANA_EMAIL, STRANGER_EMAIL = "admin@example.com", "ana@example.com", "estranho@example.com"
PASSWORD = "s3nha-forte-123"
CLIENT_SECRET = "segredo-do-cliente-de-teste"
COOKIE_SECRET = "cookie-secret-do-teste-0123456789abcdef"
IDENTITY_COOKIE = "_streamlit_user"
NO_ACCESS = "Sem acesso: peça a um administrador."
TIMEOUT_MS = 60_000


@pytest.fixture
def provider():
    """The OpenID Connect provider on a free loopback port: any client id and secret are accepted,
    and its sign-in page asks for the subject, which is also the e-mail it puts in the ID token."""
    server = werkzeug.serving.make_server("127.0.0.1", 0, oidc_provider_mock.app(), threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


def write_secrets(path: Path, provider_url: str) -> None:
    path.write_text(
        "[auth]\n"
        'redirect_uri = "http://127.0.0.1:{port}/oauth2callback"\n'  # Streamlit fills in its port
        f'cookie_secret = "{COOKIE_SECRET}"\n'
        "\n[auth.keycloak]\n"
        'client_id = "painel"\n'
        f'client_secret = "{CLIENT_SECRET}"\n'
        f'server_metadata_url = "{provider_url}/.well-known/openid-configuration"\n',
        encoding="utf-8",
    )


def sign_in_at_the_provider(page: Page, provider_url: str, email: str) -> None:
    """From the login page: "Entrar com Keycloak", the provider's form, back in the app."""
    page.get_by_role("button", name="Entrar com Keycloak").click()
    page.wait_for_url(re.compile(re.escape(provider_url) + r"/oauth2/authorize"), timeout=TIMEOUT_MS)
    page.locator('input[name="sub"]').fill(email)
    page.get_by_role("button", name="Authorize", exact=True).click()
    page.wait_for_url(re.compile(r"^http://127\.0\.0\.1:\d+/$"), timeout=TIMEOUT_MS)
    page.wait_for_selector(IDLE, state="attached", timeout=TIMEOUT_MS)


def leave(page: Page, provider_url: str, server_url: str) -> None:
    """"Sair" (st.logout()): Streamlit sends the browser to the provider's end-session page (this
    provider asks to confirm), which sends it back to the app."""
    page.get_by_role("button", name="Sair").click()
    page.wait_for_url(re.compile(re.escape(provider_url) + r"/oauth2/end_session"), timeout=TIMEOUT_MS)
    page.get_by_role("button", name="End session").click()
    page.wait_for_url(server_url + "/", timeout=TIMEOUT_MS)
    page.wait_for_selector(IDLE, state="attached", timeout=TIMEOUT_MS)


def cookie_names(page: Page) -> set[str]:
    return {c["name"] for c in page.context.cookies()}


def test_single_sign_on_signs_in_the_mapped_user_and_sair_signs_out_for_good(browser, provider, tmp_path):
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    accounts = LocalAccounts(SQLiteDatabase.in_dir(data_dir))
    accounts.add(ADMIN_EMAIL, PASSWORD, "admin")
    accounts.add(ANA_EMAIL, None, "supervisor")  # password-less: single sign-on only
    secrets = tmp_path / "secrets.toml"
    write_secrets(secrets, provider)
    pages: list[Page] = []
    try:
        with running_server(data_dir, {"APP_SECRETS_FILE": str(secrets)}) as server:
            page = new_page(browser)
            pages.append(page)
            page.goto(server.url)
            page.wait_for_selector(IDLE, state="attached", timeout=TIMEOUT_MS)
            expect(page.get_by_role("button", name="Entrar com Keycloak")).to_be_visible(timeout=30_000)

            # 1. Through the provider, back as the local account with that e-mail and its role.
            sign_in_at_the_provider(page, provider, ANA_EMAIL)
            expect(page.get_by_role("heading", name="Configurações")).to_be_visible(timeout=30_000)
            sidebar = page.get_by_test_id("stSidebar")
            expect(sidebar.get_by_text(ANA_EMAIL)).to_be_visible()
            expect(sidebar.get_by_text("Supervisor")).to_be_visible()
            expect(page.get_by_text("Somente leitura: apenas administradores alteram instâncias.")).to_be_visible()
            _wait_for_cookie(page, COOKIE_NAME)  # the app's own session cookie (set through /api/session)

            # 2. A reload keeps the session.
            page.reload()
            page.wait_for_selector(IDLE, state="attached", timeout=TIMEOUT_MS)
            expect(page.get_by_role("heading", name="Configurações")).to_be_visible(timeout=30_000)
            expect(page.get_by_test_id("stSidebar").get_by_text(ANA_EMAIL)).to_be_visible()

            # 3. "Sair" leaves the app and the provider; a reload does not sign her back in.
            leave(page, provider, server.url)
            expect(page.get_by_role("button", name="Entrar com Keycloak")).to_be_visible(timeout=30_000)
            assert IDENTITY_COOKIE not in cookie_names(page)  # Streamlit's identity cookie is gone
            page.reload()
            page.wait_for_selector(IDLE, state="attached", timeout=TIMEOUT_MS)
            expect(page.get_by_role("button", name="Entrar com Keycloak")).to_be_visible(timeout=30_000)
            expect(page.get_by_role("heading", name="Configurações")).to_have_count(0)
            expect(page.get_by_test_id("stSidebar")).to_have_count(0)

            # 4. An e-mail without an account: no access, and a way out.
            sign_in_at_the_provider(page, provider, STRANGER_EMAIL)
            expect(page.get_by_text(NO_ACCESS)).to_be_visible(timeout=30_000)
            expect(page.get_by_text(shown(f"Conta no provedor: {STRANGER_EMAIL}"))).to_be_visible()
            expect(page.get_by_role("heading", name="Configurações")).to_have_count(0)
            page.screenshot(path=str(tmp_path / "no-access.png"), full_page=True)
            leave(page, provider, server.url)
            expect(page.get_by_role("button", name="Entrar com Keycloak")).to_be_visible(timeout=30_000)
            assert IDENTITY_COOKIE not in cookie_names(page)
            log = server.log()
    except BaseException:
        for number, failed in enumerate(pages):
            failed.screenshot(path=str(tmp_path / f"failure-{number}.png"), full_page=True)
        print(f"screenshots in {tmp_path}")
        raise
    assert "Traceback" not in log, log
    assert CLIENT_SECRET not in log and COOKIE_SECRET not in log
    assert not re.search(r"eyJ[\w-]{10,}\.", log), "a token (JWT) reached the server's log"


def _wait_for_cookie(page: Page, name: str) -> None:
    for _ in range(200):
        if name in cookie_names(page):
            return
        page.wait_for_timeout(100)
    raise AssertionError(f"no {name} cookie: {sorted(cookie_names(page))}")
