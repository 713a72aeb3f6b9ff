import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
# The suite never reads a developer's .streamlit/secrets.toml.
os.environ["APP_SECRETS_FILE"] = str(ROOT / "tests" / "no-such-secrets.toml")

from lib.models import User  # noqa: E402
from lib.store.sqlite.database import SQLiteDatabase  # noqa: E402

ADMIN = User(id="u-admin", email="admin@example.com", role="admin")
SUPERVISOR = User(id="u-super", email="super@example.com", role="supervisor")
ANALYST = User(id="u-analyst", email="analyst@example.com", role="analyst")


@pytest.fixture
def database(tmp_path) -> SQLiteDatabase:
    return SQLiteDatabase.in_dir(tmp_path)


@pytest.fixture
def retry_waits(monkeypatch) -> list[float]:
    """urllib3's waits between the retries of a status GET, recorded instead of slept: the retries
    are still made, without the real backoff (0.6 s for each failing status call)."""
    import time
    import types

    import urllib3.util.retry

    slept: list[float] = []
    monkeypatch.setattr(urllib3.util.retry, "time", types.SimpleNamespace(time=time.time, sleep=slept.append))
    return slept


@pytest.fixture(scope="module")
def browser():
    """One headless Chromium per module (each test opens contexts of its own). Not per session: a
    running sync Playwright leaves its asyncio loop marked running in this thread, which would
    break other tests (asyncio.run) that the same worker runs in between."""
    from playwright.sync_api import sync_playwright

    from harness.browser import HEADLESS_SHELL, launch_chromium

    with sync_playwright() as playwright:
        chromium = launch_chromium(playwright, HEADLESS_SHELL)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture(scope="session")
def postgres():
    """A throwaway PostgreSQL 15 cluster for this process (each module's databases have names of
    their own): one initdb per worker, not one per module and worker."""
    from tests.support.postgres import start_postgres

    server = start_postgres()
    yield server
    server.stop()


def pytest_collection_modifyitems(config, items):
    """What a test uses decides how it is marked (the markers are registered in pytest.ini): the
    `browser` fixture `browser`, the `postgres` fixture `postgres`. The xdist workers are handed
    the tests one at a time (Makefile: --dist load --maxschedchunk 1) in this order: the browser
    tests first, so that the longest ones start first and the short ones fill in after them."""
    for item in items:
        if "browser" in item.fixturenames:
            item.add_marker(pytest.mark.browser)
        if "postgres" in item.fixturenames:
            item.add_marker(pytest.mark.postgres)
    items.sort(key=lambda item: "browser" not in item.fixturenames)
