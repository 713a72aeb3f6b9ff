import pytest
from playwright.sync_api import sync_playwright

from harness.browser import launch_chromium


@pytest.fixture(scope="module")
def browser():
    """One headless Chromium per module (each test opens contexts of its own). Not per session: a
    running sync Playwright leaves its asyncio loop marked running in this thread, which would
    break other tests (asyncio.run) run by the same worker in between."""
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        try:
            yield browser
        finally:
            browser.close()
