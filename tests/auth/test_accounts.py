import subprocess
import sys

import pytest

from lib.errors import AuthError, ValidationError
from lib.store.sqlite import SQLiteDatabase
from lib.auth.accounts import MAX_FAILURES, LocalAccounts, LoginThrottle, hash_password, verify_password
from tests.conftest import ROOT


class FakeClock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def test_password_hash_is_salted_scrypt():
    first, second = hash_password("s3nha-forte"), hash_password("s3nha-forte")
    assert first.startswith("scrypt$") and first != second
    assert verify_password("s3nha-forte", first)
    assert not verify_password("s3nha-fraca", first)
    assert not verify_password("x", "garbage")


def test_first_admin_then_login(database):
    accounts = LocalAccounts(database)
    assert accounts.count() == 0
    admin = accounts.add_first_admin(" Admin@Example.com ", "s3nha-forte")
    assert admin.role == "admin" and admin.email == "admin@example.com"
    with pytest.raises(ValidationError):
        accounts.add_first_admin("other@example.com", "s3nha-forte")
    assert accounts.authenticate("ADMIN@example.com", "s3nha-forte") == admin
    with pytest.raises(AuthError):
        accounts.authenticate("admin@example.com", "wrong-password")
    with pytest.raises(AuthError):
        accounts.authenticate("nobody@example.com", "s3nha-forte")


def test_rejects_short_password_bad_role_and_duplicates(database):
    accounts = LocalAccounts(database)
    with pytest.raises(ValidationError):
        accounts.add("a@example.com", "short", "admin")
    with pytest.raises(ValidationError):
        accounts.add("a@example.com", "long-enough", "owner")
    accounts.add("a@example.com", "long-enough", "analyst")
    with pytest.raises(ValidationError):
        accounts.add("A@example.com", "long-enough", "analyst")


def test_throttle_after_five_failures_in_five_minutes(database):
    clock = FakeClock()
    accounts = LocalAccounts(database, LoginThrottle(clock))
    accounts.add("a@example.com", "right-password", "admin")
    for _ in range(MAX_FAILURES):
        with pytest.raises(AuthError, match="incorretos"):
            accounts.authenticate("a@example.com", "wrong")
    with pytest.raises(AuthError, match="Muitas tentativas"):
        accounts.authenticate("a@example.com", "right-password")  # even the right password waits
    clock.now += 301
    assert accounts.authenticate("a@example.com", "right-password").email == "a@example.com"


def test_cli_adds_user_reading_password_from_stdin(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "lib.users", "add", "cli@example.com", "--role", "supervisor"],
        input="senha-do-cli\n", capture_output=True, text=True, cwd=ROOT,
        env={"APP_DATA_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 0, result.stderr
    assert "senha-do-cli" not in result.stdout + result.stderr
    user = LocalAccounts(SQLiteDatabase.in_dir(tmp_path)).authenticate("cli@example.com", "senha-do-cli")
    assert user.role == "supervisor"
