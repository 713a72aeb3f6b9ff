"""Headless Chromium on the app's pages: Debian's Chromium and its flags, when a page is idle, the
sign-in form, and where a card and its status badge are."""

from __future__ import annotations

import re
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
]
# Several pages at once: none of them may have its timers (the 3 s ticks) throttled.
UNTHROTTLED_ARGS = [
    "--disable-background-timer-throttling",
    "--disable-renderer-backgrounding",
    "--disable-backgrounding-occluded-windows",
]
IDLE = '[data-testid="stApp"][data-test-script-state="notRunning"]'
BUSY = '[data-testid="stApp"]:not([data-test-script-state="notRunning"])'
DIALOG = '[role="dialog"]'


def launch_chromium(playwright):
    return playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                      args=[*CHROMIUM_ARGS, *UNTHROTTLED_ARGS])


def new_page(browser, init_script: str | None = None):
    """A page in a context of its own (its own cookies: its own session)."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="pt-BR")
    if init_script:
        context.add_init_script(init_script)
    return context.new_page()


def settle(page, *, start_timeout_ms: int = 1_000, timeout_ms: int = 30_000) -> None:
    """Wait until the run triggered by the last interaction is over."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

    try:
        page.wait_for_selector(BUSY, state="attached", timeout=start_timeout_ms)
    except PlaywrightTimeoutError:
        pass
    page.wait_for_selector(IDLE, state="attached", timeout=timeout_ms)


def log_in_browser(page, url: str, email: str = ADMIN_EMAIL) -> None:
    from playwright.sync_api import expect

    page.goto(url)
    page.wait_for_selector(IDLE, state="attached", timeout=60_000)
    page.get_by_label("E-mail", exact=True).fill(email)
    page.get_by_label("E-mail", exact=True).press("Tab")
    page.get_by_label("Senha", exact=True).fill(PASSWORD)
    page.get_by_label("Senha", exact=True).press("Tab")
    page.get_by_role("button", name="Entrar", exact=True).click()
    settle(page)
    expect(page.get_by_role("heading", name="Configurações")).to_be_visible(timeout=30_000)
    settle(page)


def card(page, name: str):
    """The card of `name`: the row of its text (name in bold first) and its buttons."""
    name_in_bold = page.locator("strong", has_text=re.compile(rf"^{re.escape(name)}$"))
    return name_in_bold.locator("xpath=ancestor::div[@data-testid='stHorizontalBlock'][1]")


def badge(page, name: str, label: str):
    """The status badge of the card of `name`, if it says `label` ("Conectado", "Desconectado"...)."""
    return card(page, name).locator("span").filter(has=page.locator('[role="img"]')).filter(
        has_text=re.compile(rf"\s{label}$"))
