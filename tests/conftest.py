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
