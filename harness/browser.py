"""Headless Chromium on the app's pages: Debian's Chromium and its flags, when a page is idle, the
sign-in form (and a sign-in without it, by cookie), and where a card and its status badge are."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

from harness.seeding import ADMIN_EMAIL, PASSWORD

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [  # what Debian's Chromium needs here, as root and without network
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    # Several pages at once: none of them may have its timers (the 3 s ticks) throttled.
    "--disable-background-timer-throttling",
    "--disable-renderer-backgrounding",
    "--disable-backgrounding-occluded-windows",
]
IDLE = '[data-testid="stApp"][data-test-script-state="notRunning"]'
BUSY = '[data-testid="stApp"]:not([data-test-script-state="notRunning"])'
DIALOG = '[data-testid="stDialog"]'
VIEWPORT = {"width": 1400, "height": 1000}
STEP_TIMEOUT_MS = 20_000  # a page's default: generous for a loaded machine, short enough to fail fast
PAGE_LOAD_TIMEOUT_MS = 60_000  # the first run of a new page: a new session on the server


def launch_chromium(playwright):
    return playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)


def new_page(browser, init_script: str | None = None, **context_options):
    """A page in a context of its own (its own cookies: its own session); `context_options` go to
    browser.new_context (viewport, is_mobile...)."""
    context = browser.new_context(**{"viewport": VIEWPORT, "locale": "pt-BR", **context_options})
    context.set_default_timeout(STEP_TIMEOUT_MS)
    if init_script:
        context.add_init_script(init_script)
    return context.new_page()


def settle(page, *, start_timeout_ms: int = 1_000, timeout_ms: int = 30_000) -> None:
    """Wait until the script run triggered by the last interaction is over.

    A click reaches the server asynchronously, so first give the run a moment to start (it may
    also have started and finished already, which is fine), then wait for the idle state.
    """
    from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

    try:
        page.wait_for_selector(BUSY, state="attached", timeout=start_timeout_ms)
    except PlaywrightTimeoutError:
        pass
    page.wait_for_selector(IDLE, state="attached", timeout=timeout_ms)


def open_app(page, url: str) -> None:
    """Go to the app and wait for its first run to end."""
    page.goto(url)
    page.wait_for_selector(IDLE, state="attached", timeout=PAGE_LOAD_TIMEOUT_MS)


def log_in(page, url: str, email: str = ADMIN_EMAIL, password: str = PASSWORD) -> None:
    """The login form: e-mail, password, "Entrar" (what comes next is the caller's to check)."""
    open_app(page, url)
    for label, value in (("E-mail", email), ("Senha", password)):
        page.get_by_label(label, exact=True).fill(value)
        page.get_by_label(label, exact=True).press("Tab")
    page.get_by_role("button", name="Entrar", exact=True).click()
    settle(page)


def signed_in(page) -> None:
    """The signed-in page is there, with the rest of that run (the cards' buttons) after its heading:
    the run that drew the heading has begun, so no need to wait for one to start (settle)."""
    from playwright.sync_api import expect

    expect(page.get_by_role("heading", name="Configurações")).to_be_visible(timeout=30_000)
    page.wait_for_selector(IDLE, state="attached", timeout=30_000)


def sign_in(page, url: str, email: str = ADMIN_EMAIL) -> None:
    """The login form, then the signed-in page."""
    log_in(page, url, email)
    signed_in(page)


def sign_in_by_cookie(page, server, email: str = ADMIN_EMAIL) -> None:
    """Signed in as `email` without the form: a session written to the server's data dir and its
    cookie in the page's context, as a sign-in ends; then the app opened (it restores the session).
    For tests about something else than signing in (tests/ui/test_browser_sessions.py and the
    login tests drive the form)."""
    from lib.auth.accounts import LocalAccounts
    from lib.auth.sessions import COOKIE_NAME, SessionStore

    user = LocalAccounts(server.database).find(email).user
    raw_id = SessionStore(server.database, idle=timedelta(days=1), absolute=timedelta(days=1)).create(
        user, user_agent="harness")
    page.context.add_cookies([{"name": COOKIE_NAME, "value": raw_id, "url": server.url, "httpOnly": True,
                               "sameSite": "Lax"}])
    open_app(page, server.url)
    signed_in(page)


def card(page, name: str):
    """The card of `name`: the row of its text (name in bold first) and its buttons."""
    name_in_bold = page.locator("strong", has_text=re.compile(rf"^{re.escape(name)}$"))
    return name_in_bold.locator("xpath=ancestor::div[@data-testid='stHorizontalBlock'][1]")


def badge(page, name: str, label: str):
    """The status badge of the card of `name`, if it says `label` (an icon, then the label)."""
    return card(page, name).locator("span").filter(has=page.locator('[role="img"]')).filter(
        has_text=re.compile(rf"\s{label}$"))
