"""The login throttle: attempts reserved before the password is checked, per (e-mail, address) and
per address, with bounded memory. The promised limits are written here as numbers (5 per e-mail and
address, 30 per address, in 5 minutes), never read from lib.auth.throttle: a change of a limit
fails these tests."""

from __future__ import annotations

import sys
import threading

import pytest

import lib.auth.accounts as accounts_module
from lib.auth.accounts import LocalAccounts
from lib.auth.throttle import MAX_KEYS, LoginThrottle
from lib.client_address import forwarded_client
from lib.errors import AuthError
from tests.support.sandbox import FakeClock

PASSWORD = "right-password"
PER_ACCOUNT = 5  # password checks per e-mail and address in the window
PER_ADDRESS = 30  # password checks per address, whatever the e-mail
WINDOW = 300  # seconds


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def accounts(database, clock):
    accounts = LocalAccounts(database, LoginThrottle(clock))
    accounts.add("a@example.com", PASSWORD, "admin")
    return accounts


def test_five_wrong_attempts_make_the_next_wait_even_with_the_right_password(accounts, clock):
    for _ in range(PER_ACCOUNT):
        with pytest.raises(AuthError, match="incorretos"):
            accounts.authenticate("a@example.com", "wrong", "10.0.0.9")
    with pytest.raises(AuthError, match="Muitas tentativas. Aguarde 5 min"):
        accounts.authenticate("a@example.com", PASSWORD, "10.0.0.9")
    clock.advance(WINDOW - 1)
    with pytest.raises(AuthError, match="Muitas tentativas. Aguarde 1 min"):
        accounts.authenticate("a@example.com", PASSWORD, "10.0.0.9")
    clock.advance(2)
    assert accounts.authenticate("a@example.com", PASSWORD, "10.0.0.9").email == "a@example.com"


def test_an_attacker_elsewhere_does_not_lock_the_real_user_out(accounts):
    refusals = []
    for _ in range(PER_ACCOUNT + 3):
        with pytest.raises(AuthError) as refused:
            accounts.authenticate("a@example.com", "wrong", "203.0.113.66")  # the attacker
        refusals.append(refused.value.message.split(".")[0])
    assert refusals == ["E-mail ou senha incorretos"] * PER_ACCOUNT + ["Muitas tentativas"] * 3
    assert accounts.authenticate("a@example.com", PASSWORD, "10.0.0.9").email == "a@example.com"  # the user


def test_one_address_cannot_try_many_accounts(accounts):
    for number in range(PER_ADDRESS):
        with pytest.raises(AuthError, match="incorretos"):
            accounts.authenticate(f"guess{number}@example.com", "wrong", "203.0.113.66")
    with pytest.raises(AuthError, match="Muitas tentativas"):
        accounts.authenticate("a@example.com", PASSWORD, "203.0.113.66")


def test_ten_parallel_wrong_attempts_get_at_most_five_password_checks(accounts, monkeypatch):
    checks, lock, barrier = [], threading.Lock(), threading.Barrier(10)
    original = accounts_module.verify_password

    def counting(password, stored):
        with lock:
            checks.append(password)
        return original(password, stored)

    monkeypatch.setattr(accounts_module, "verify_password", counting)

    def attempt():
        barrier.wait()
        with pytest.raises(AuthError):
            accounts.authenticate("a@example.com", "wrong", "10.0.0.9")

    threads = [threading.Thread(target=attempt) for _ in range(10)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert len(checks) == PER_ACCOUNT  # reserved before the check, kept after a failure


def test_a_success_gives_its_attempt_back(accounts):
    for _ in range(PER_ACCOUNT * 2):  # the user signing in all day
        assert accounts.authenticate("a@example.com", PASSWORD, "10.0.0.9").email == "a@example.com"
    for _ in range(PER_ACCOUNT):  # nothing of those counts against the next typos
        with pytest.raises(AuthError, match="incorretos"):
            accounts.authenticate("a@example.com", "wrong", "10.0.0.9")
    with pytest.raises(AuthError, match="Muitas tentativas"):  # but the typos do
        accounts.authenticate("a@example.com", "wrong", "10.0.0.9")


def test_memory_stays_bounded_with_a_hundred_thousand_emails(clock):
    throttle = LoginThrottle(clock)
    for number in range(100_000):
        throttle.reserve(f"someone{number}@example.com", f"198.51.{number % 250}.{number // 250 % 250}")
    assert len(throttle) <= MAX_KEYS
    kept = throttle._attempts
    size = sys.getsizeof(kept) + sum(sys.getsizeof(k) + sys.getsizeof(v) + 24 * len(v) for k, v in kept.items())
    assert size < 8 * 1024 * 1024, f"{size / 1e6:.1f} MB"  # whatever the e-mails' length: keys are 16-byte hashes


def test_a_two_megabyte_email_is_refused_before_anything_is_kept(accounts):
    throttle = accounts.throttle
    with pytest.raises(AuthError, match="incorretos"):
        accounts.authenticate("a" * 2_000_000 + "@example.com", PASSWORD, "10.0.0.9")
    assert len(throttle) == 0


def test_behind_a_trusted_proxy_the_address_is_the_one_the_proxy_appended(accounts):
    # nginx's $proxy_add_x_forwarded_for: whatever the client sent, then the address it came from
    forged = [forwarded_client([f"10.9.9.{i}, 203.0.113.7".encode()]) for i in range(10)]
    assert set(forged) == {"203.0.113.7"}  # a new forged entry per try does not make a new address
    for address in forged[:PER_ACCOUNT]:
        with pytest.raises(AuthError, match="incorretos"):
            accounts.authenticate("a@example.com", "wrong", address)
    with pytest.raises(AuthError, match="Muitas tentativas"):
        accounts.authenticate("a@example.com", PASSWORD, forged[-1])
