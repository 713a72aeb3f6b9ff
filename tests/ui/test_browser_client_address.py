"""Which address the login throttle counts a browser under, on the real server in Chromium: the
connection's own address unless app.trust_proxy_headers is on, and then the address the proxy
added last to X-Forwarded-For (lib/client_address.py). A client that writes its own
X-Forwarded-For never escapes the throttle."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, Page

from harness.browser import IDLE, new_page, settle
from harness.seeding import PASSWORD
from harness.server import running_server
from lib.auth.accounts import LocalAccounts
from lib.store.sqlite.database import SQLiteDatabase
from tests.support.forwarding_proxy import forwarding_proxy

EMAIL = "admin@example.com"
WRONG = "senha-errada-1"


@pytest.fixture
def server(tmp_path):
    with running_server(tmp_path / "data") as running:  # app.trust_proxy_headers off, as by default
        LocalAccounts(SQLiteDatabase.in_dir(running.data_dir)).add(EMAIL, PASSWORD, "admin")
        yield running


def attempt(page: Page, url: str, forwarded_for: str, password: str = WRONG) -> str:
    """One login in the app loaded anew, its every request, the websocket's too, carrying this
    X-Forwarded-For; what the page says then (its messages and headings). The same browser for
    every attempt (a failed login leaves it no cookie): a page loaded in it again costs a third of
    one in a new browser."""
    page.context.set_extra_http_headers({"X-Forwarded-For": forwarded_for})
    page.goto(url)
    page.wait_for_selector(IDLE, state="attached", timeout=60_000)
    page.get_by_label("E-mail", exact=True).fill(EMAIL)
    page.get_by_label("Senha", exact=True).fill(password)
    page.get_by_label("Senha", exact=True).press("Tab")
    page.get_by_role("button", name="Entrar", exact=True).click()
    settle(page)
    return " ".join(page.locator('[data-testid="stAlert"], h1').all_inner_texts())


def test_without_a_trusted_proxy_a_forged_x_forwarded_for_does_not_escape_the_throttle(server, browser: Browser):
    page = new_page(browser)
    said = [attempt(page, server.url, f"198.51.100.{n}") for n in range(6)]  # a new "address" every try
    assert all("incorretos" in s for s in said[:5]), said
    assert "Muitas tentativas" in said[5], said
    assert "Muitas tentativas" in attempt(page, server.url, "198.51.100.99", PASSWORD)  # the right one, too late


def test_behind_a_trusted_proxy_the_address_is_the_one_the_proxy_added_last(tmp_path, browser: Browser):
    """app.trust_proxy_headers on, the app behind a proxy that adds its own X-Forwarded-For line
    (HAProxy's way): the client's own lines, however many and whatever they say, come first and
    change nothing."""
    with running_server(tmp_path / "data", {"APP_TRUST_PROXY_HEADERS": "true"}) as running:
        LocalAccounts(SQLiteDatabase.in_dir(running.data_dir)).add(EMAIL, PASSWORD, "admin")
        with forwarding_proxy(running.port, "203.0.113.7") as attacker, \
                forwarding_proxy(running.port, "203.0.113.8") as owner:
            page = new_page(browser)
            said = [attempt(page, attacker, f"10.9.9.{n}, 10.8.8.{n}") for n in range(6)]
            assert all("incorretos" in s for s in said[:5]), said
            assert "Muitas tentativas" in said[5], said
            assert "Configurações" in attempt(page, owner, "10.9.9.1", PASSWORD)  # the owner, elsewhere, gets in
        assert "Traceback" not in running.log()
