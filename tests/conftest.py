import itertools
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


@pytest.fixture(autouse=True)
def quick_password_hashes(request, monkeypatch):
    """The password hashes a test makes in this process (its accounts, and those the app under
    AppTest adds) use scrypt at n=2**10 instead of the app's 2**14: the same code, a sixteenth of
    the CPU (about 35 ms saved on each hash and each password check; the real servers check such
    a password as cheaply, by the cost written in its hash). A test that asks for
    `app_password_hashes` gets the app's own cost."""
    if "app_password_hashes" not in request.fixturenames:
        monkeypatch.setattr("lib.auth.accounts.SCRYPT_N", 2**10)


@pytest.fixture
def app_password_hashes():
    """Password hashes at the app's own scrypt cost (quick_password_hashes stays out)."""


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


class WorkerChromium:
    """This process's headless Chromium, shared by the browser tests it runs one after another and
    closed as soon as the next test is not one (pytest_collection_modifyitems puts them first): a
    running sync Playwright leaves its asyncio loop marked running in this thread, which would break
    other tests (asyncio.run). One launch per worker instead of one per module saves the CPU of a
    Chromium and of Playwright's driver each time."""

    def __init__(self):
        self._playwright = None
        self._chromium = None

    def get(self):
        if self._chromium is not None and not self._chromium.is_connected():  # it crashed: a new one
            self.close()
        if self._chromium is None:
            from playwright.sync_api import sync_playwright

            from harness.browser import HEADLESS_SHELL, launch_chromium

            self._playwright = sync_playwright().start()
            self._chromium = launch_chromium(self._playwright, HEADLESS_SHELL)
        return self._chromium

    def close(self) -> None:
        chromium, playwright, self._chromium, self._playwright = self._chromium, self._playwright, None, None
        try:
            if chromium is not None and chromium.is_connected():
                chromium.close()
        finally:
            if playwright is not None:
                playwright.stop()


_worker_chromium = WorkerChromium()


@pytest.fixture
def browser():
    """Headless Chromium (WorkerChromium); the contexts the test opened are closed after it, so
    that no page of it goes on ticking against a server that is gone."""
    chromium = _worker_chromium.get()
    yield chromium
    for context in chromium.contexts if chromium.is_connected() else ():
        context.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item, nextitem):
    try:
        return (yield)
    finally:
        if nextitem is None or "browser" not in nextitem.fixturenames:
            _worker_chromium.close()


@pytest.fixture(scope="session")
def postgres():
    """A throwaway PostgreSQL 15 cluster for this process (each module's databases have names of
    their own): one initdb per worker, not one per module and worker."""
    from tests.support.postgres import start_postgres

    server = start_postgres()
    yield server
    server.stop()


# The modules of the longest browser tests (journeys of 25 to 45 s each on a busy machine), longest
# first: they start first, so that the end of a run is short tests on every worker, not one journey.
# Not the load run (tests/ui/test_load.py, 30 to 40 s): it comes after them, so that its five pages
# and the journeys' start do not starve the machine at the same moment.
JOURNEYS = ("test_browser_providers", "test_browser", "test_browser_pairing")


def pytest_collection_modifyitems(config, items):
    """What a test uses decides how it is marked (the markers are registered in pytest.ini): the
    `browser` fixture `browser`, the `postgres` fixture `postgres`. The xdist workers are handed
    the tests one at a time (Makefile: --dist load --maxschedchunk 1) in this order: the browser
    tests first (each worker's Chromium, WorkerChromium, is closed before its other tests), the
    journeys (JOURNEYS) among them first, each followed by another browser test: xdist gives a
    worker two tests at a time (one to run, and the next, for the fixtures to know what follows),
    so that each worker starts a journey of its own."""
    for item in items:
        if "browser" in item.fixturenames:
            item.add_marker(pytest.mark.browser)
        if "postgres" in item.fixturenames:
            item.add_marker(pytest.mark.postgres)
    browser = [item for item in items if "browser" in item.fixturenames]
    journeys = [item for item in browser if item.path.stem in JOURNEYS]
    journeys.sort(key=lambda item: JOURNEYS.index(item.path.stem))
    others = [item for item in browser if item.path.stem not in JOURNEYS]
    paired = [item for pair in itertools.zip_longest(journeys, others) for item in pair if item is not None]
    items[:] = paired + [item for item in items if "browser" not in item.fixturenames]
