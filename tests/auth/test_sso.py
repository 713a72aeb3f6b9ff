"""Single sign-on (lib.auth.sso): the identity in st.user's claims, the user an e-mail maps to on the
embedded default (local accounts) and in Supabase mode (a fake of the server store's
role_for_email), and a provider's sign-in starting one session, once."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from lib.auth import sso
from lib.auth.accounts import LocalAccounts
from lib.auth.sessions import SessionStore
from lib.errors import AuthError, StoreError
from lib.models import User
from lib.store.sqlite.database import SQLiteDatabase

NOW = datetime(2026, 12, 3, 9, 0, tzinfo=timezone.utc)


def claims(**overrides) -> dict:
    """st.user as Streamlit fills it after st.login: the ID token's claims and its own keys."""
    base = {"is_logged_in": True, "provider": "google", "origin": "http://127.0.0.1:8501",
            "iss": "https://accounts.google.com", "sub": "1234567890", "aud": "painel",
            "iat": int(NOW.timestamp()), "exp": int(NOW.timestamp()) + 3600, "nonce": "n-0001",
            "email": "Ana@Empresa.com.br", "email_verified": True, "name": "Ana"}
    return {k: v for k, v in {**base, **overrides}.items() if v is not None}


# -- the identity -------------------------------------------------------------------------------
def test_the_identity_is_the_normalised_email_of_a_logged_in_user():
    identity = sso.identity(claims())
    assert (identity.email, identity.issued_at) == ("ana@empresa.com.br", NOW)
    assert sso.identity(claims(is_logged_in=False)) is None
    assert sso.identity({}) is None
    assert sso.identity({"email": "ana@empresa.com.br"}) is None  # AppTest's default: not logged in


@pytest.mark.parametrize("overrides", [{"email": None}, {"email": ""}, {"email": "not-an-email"},
                                       {"email": ["ana@empresa.com.br"]}, {"email_verified": False},
                                       {"email_verified": "false"}])
def test_no_usable_or_an_unconfirmed_email_is_refused(overrides):
    with pytest.raises(AuthError, match="não informou um e-mail confirmado"):
        sso.identity(claims(**overrides))


def test_an_email_the_provider_does_not_say_is_verified_or_not_is_taken():
    assert sso.identity(claims(email_verified=None)).email == "ana@empresa.com.br"  # e.g. Entra ID


def test_only_a_recent_sign_in_is_fresh():
    identity = sso.identity(claims())
    assert identity.fresh(NOW) and identity.fresh(NOW + sso.FRESH)
    assert not identity.fresh(NOW + sso.FRESH + timedelta(seconds=1))
    assert identity.fresh(NOW - sso.CLOCK_SKEW)  # the provider's clock a little ahead
    assert not identity.fresh(NOW - sso.CLOCK_SKEW - timedelta(seconds=1))
    assert not sso.identity(claims(iat=None)).fresh(NOW)
    assert not sso.identity(claims(iat="1700000000")).fresh(NOW)


def test_each_sign_in_at_the_provider_has_its_own_key():
    key = sso.identity(claims()).key
    assert sso.identity(claims(name="Ana Maria")).key == key  # the same sign-in
    assert sso.identity(claims(nonce="n-0002")).key != key  # another sign-in, the same second
    assert sso.identity(claims(iat=int(NOW.timestamp()) + 60)).key != key
    assert sso.identity(claims(sub="other")).key != key
    assert key not in repr(sso.identity(claims()))


# -- embedded default: local accounts -------------------------------------------------------------
@pytest.fixture
def accounts(database):
    return LocalAccounts(database)


def test_an_active_local_account_maps_with_its_role(accounts):
    added = accounts.add("ana@empresa.com.br", None, "supervisor")  # password-less: single sign-on only
    user = sso.user_for_email("ana@empresa.com.br", accounts=accounts)
    assert user == User(id=added.id, email="ana@empresa.com.br", role="supervisor")


def test_an_account_with_a_temporary_password_is_not_held_up_by_it(accounts):
    user, _ = accounts.add_with_temporary_password("ana@empresa.com.br", "admin")
    assert sso.user_for_email("ana@empresa.com.br", accounts=accounts) == User(user.id, user.email, "admin")


def test_an_unknown_or_deactivated_email_has_no_access(accounts):
    accounts.add("admin@empresa.com.br", None, "admin")
    ana = accounts.add("ana@empresa.com.br", None, "analyst")
    accounts.set_active(ana.id, False)
    for email in ("ana@empresa.com.br", "ninguem@empresa.com.br"):
        with pytest.raises(AuthError, match="^Sem acesso: peça a um administrador.$"):
            sso.user_for_email(email, accounts=accounts)


# -- Supabase mode: the server store's role_for_email ----------------------------------------------
class FakeServerStore:
    """Stands in for SupabaseServerStore: role_for_email as the SQL function answers it."""

    def __init__(self, users: dict[str, tuple[str, str | None]], *, reachable: bool = True):
        self.users = users
        self.reachable = reachable
        self.asked: list[str] = []

    def role_for_email(self, email: str) -> tuple[str, str | None] | None:
        self.asked.append(email)
        if not self.reachable:
            raise StoreError("Sem conexão com o Supabase. Tente novamente.")
        return self.users.get(email)


def test_a_supabase_user_with_a_role_maps_with_it():
    store = FakeServerStore({"ana@empresa.com.br": ("8d3f-uuid", "admin")})
    assert sso.user_for_email(" Ana@Empresa.com.br", directory=store) == User("8d3f-uuid", "ana@empresa.com.br", "admin")
    assert store.asked == ["ana@empresa.com.br"]


@pytest.mark.parametrize("users", [{}, {"ana@empresa.com.br": ("8d3f-uuid", None)},
                                   {"ana@empresa.com.br": ("8d3f-uuid", "owner")}])
def test_a_supabase_email_unknown_or_without_a_role_has_no_access(users):
    with pytest.raises(AuthError, match="^Sem acesso: peça a um administrador.$"):
        sso.user_for_email("ana@empresa.com.br", directory=FakeServerStore(users))


def test_supabase_mode_without_the_service_role_key_refuses_with_a_clear_message():
    with pytest.raises(AuthError, match="SUPABASE_SERVICE_ROLE_KEY"):
        sso.user_for_email("ana@empresa.com.br", directory=None)


def test_an_unreachable_supabase_is_a_store_error_not_a_refusal():
    with pytest.raises(StoreError):
        sso.user_for_email("ana@empresa.com.br", directory=FakeServerStore({}, reachable=False))


def test_the_sign_in_asks_the_server_store_in_supabase_mode(tmp_path, monkeypatch):
    """In Supabase mode the sign-in (lib.auth.signin, built by the context) maps a provider's e-mail
    through role_for_email of the server store (made with the service-role key), and without the key
    refuses with the message the login page shows. (The session the person then gets is their own
    Supabase session: tests/ui/test_app_sso.py.)"""
    from lib.context import app_context
    from lib.config.settings import load_settings

    env = {"APP_DATA_DIR": str(tmp_path), "SUPABASE_URL": "https://p.supabase.co", "SUPABASE_ANON_KEY": "anon"}
    without_key = app_context(load_settings({}, env)).signin
    assert "SUPABASE_SERVICE_ROLE_KEY" in without_key.provider_unavailable()
    with pytest.raises(AuthError, match="SUPABASE_SERVICE_ROLE_KEY"):
        without_key.mode.user_for_provider("ana@empresa.com.br")
    with_key = app_context(load_settings({}, {**env, "SUPABASE_SERVICE_ROLE_KEY": "service"}))
    monkeypatch.setattr(with_key, "_server_store", FakeServerStore({"ana@empresa.com.br": ("8d3f-uuid", "analyst")}))
    assert with_key.signin.provider_unavailable() is None
    assert with_key.signin.mode.user_for_provider("ana@empresa.com.br") == User("8d3f-uuid", "ana@empresa.com.br", "analyst")
    with pytest.raises(AuthError, match="Sem acesso"):
        with_key.signin.mode.user_for_provider("ninguem@empresa.com.br")


# -- one sign-in, one session ----------------------------------------------------------------------
def test_a_sign_in_at_the_provider_starts_one_session_once(database):
    now = [NOW]
    sessions = SessionStore(database, idle=timedelta(hours=12), absolute=timedelta(days=7), clock=lambda: now[0])
    keep = sso.FRESH + sso.CLOCK_SKEW
    first, second = sso.identity(claims()).key, sso.identity(claims(nonce="n-0002")).key
    assert sessions.claim_sign_in(first, keep=keep)
    assert not sessions.claim_sign_in(first, keep=keep)  # "Sair", then a reload: no session again
    assert sessions.claim_sign_in(second, keep=keep)  # signed in at the provider again
    now[0] += keep + timedelta(seconds=1)  # old records go (the sign-in is no longer fresh anyway)
    assert sessions.claim_sign_in(sso.identity(claims(nonce="n-0003")).key, keep=keep)
    with database.connect() as conn:
        assert conn.execute("select count(*) from sso_sign_ins").fetchone()[0] == 1
        assert first not in str([tuple(r) for r in conn.execute("select * from sso_sign_ins")])


def test_a_session_remembers_it_came_from_the_provider(database):
    sessions = SessionStore(database, idle=timedelta(hours=12), absolute=timedelta(days=7))
    user = User("u-ana", "ana@empresa.com.br", "analyst")
    assert sessions.resume(sessions.create(user, user_agent=None, method="sso")).sso
    assert not sessions.resume(sessions.create(user, user_agent=None)).sso


def test_the_command_line_adds_a_password_less_account_for_the_provider(tmp_path, monkeypatch, capsys):
    from lib.auth.__main__ import main

    monkeypatch.setenv("APP_DATA_DIR", str(tmp_path))
    monkeypatch.setattr("sys.stdin", None)  # no password is read
    assert main(["add", "Bia@Example.com", "--role", "analyst", "--sem-senha"]) == 0
    database = SQLiteDatabase.in_dir(tmp_path)
    account = LocalAccounts(database).find("bia@example.com")
    assert (account.role, account.has_password) == ("analyst", False)
    assert sso.user_for_email("bia@example.com", accounts=LocalAccounts(database)).role == "analyst"
    with pytest.raises(AuthError):  # and no password signs in to it
        LocalAccounts(database).authenticate("bia@example.com", "")
