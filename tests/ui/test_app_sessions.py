"""An open page whose session ended elsewhere: two browsers sharing one cookie, "Sair" in one; an
admin's "Encerrar sessões", a deactivation, a password reset. The other browser's service and user
admin change nothing from then on (they check the session before every change), and under AppTest
its next run or tick (the live cards, every 3 s; a run stands for it here) shows the login page.
The same in Supabase mode. In Chromium: tests/ui/test_browser_sessions.py."""

from __future__ import annotations

import pytest

from lib.errors import AuthError
from lib.store.sqlite.instances import SQLiteInstanceStore
from lib.ui.signed_in import SIGNED_IN_KEY
from tests.support.supabase_double import ANON_KEY, PASSWORD as SUPABASE_PASSWORD, URL  # noqa: F401
from tests.support.supabase_double import clock, fake  # noqa: F401 - fixtures
from tests.support.app_ui import (  # noqa: F401 - context and data_dir are fixtures
    APP, PASSWORD, App, admin_app, button, context, data_dir, field, log_in, new_app,
)

ENDED = "Sua sessão foi encerrada. Entre novamente."


def same_cookie(context, at):
    """A second browser holding a copy of `at`'s cookie: what a reload with it restores."""
    other = App(APP, default_timeout=30)
    other.session_state[SIGNED_IN_KEY] = context.signin.restore(at.session_state[SIGNED_IN_KEY].session_id)
    other.run()
    assert "+ Nova instância" in [b.label for b in other.button]
    return other


def on_the_login_page(at) -> bool:
    return SIGNED_IN_KEY not in at.session_state and "Entrar" in [b.label for b in at.button]


def by_sair(context, at, boss):
    button(at, "Sair").click().run()


def by_an_admin_ending_the_sessions(context, at, boss):
    boss.end_sessions(at.session_state[SIGNED_IN_KEY].user.id)


def by_a_deactivation(context, at, boss):
    boss.set_active(at.session_state[SIGNED_IN_KEY].user.id, False)


def by_a_password_reset(context, at, boss):
    boss.reset_password(at.session_state[SIGNED_IN_KEY].user.id)


ENDINGS = [by_sair, by_an_admin_ending_the_sessions, by_a_deactivation, by_a_password_reset]


def other_admin(context):
    context.accounts.add("chefe@example.com", PASSWORD, "admin")
    return context.signin.user_admin(context.signin.with_password("chefe@example.com", PASSWORD, _visitor()).signed_in)


@pytest.mark.parametrize("end", ENDINGS)
def test_a_page_whose_session_ended_changes_nothing(context, end):
    boss = other_admin(context)
    at = admin_app(context)
    other = same_cookie(context, at)
    service, admin = context.signin.service(other.session_state[SIGNED_IN_KEY]), other.session_state[SIGNED_IN_KEY]
    users = context.signin.user_admin(admin)
    end(context, at, boss)
    with pytest.raises(AuthError, match=ENDED):
        service.create("Cobrança")  # what "Criar" in the other browser's open dialog calls
    with pytest.raises(AuthError, match=ENDED):
        users.set_role(context.accounts.find("chefe@example.com").id, "analyst")  # and its Usuários page
    assert SQLiteInstanceStore(context.database).list_instances() == []
    assert context.accounts.find("chefe@example.com").role == "admin"


@pytest.mark.parametrize("end", ENDINGS)
def test_an_open_dialog_whose_session_ended_creates_nothing_and_the_login_shows(context, end):
    boss = other_admin(context)
    at = admin_app(context)
    other = same_cookie(context, at)
    button(other, "+ Nova instância").click().run()
    field(other, "Nome da instância").input("Cobrança")
    end(context, at, boss)
    button(other, "Criar").click().run()
    assert SQLiteInstanceStore(context.database).list_instances() == []
    other.run()
    assert on_the_login_page(other)


def test_an_open_page_without_a_click_shows_the_login_at_its_next_tick(context):
    at = admin_app(context)
    context.sessions.end_all(at.session_state[SIGNED_IN_KEY].user.id)  # "Encerrar sessões", from anywhere
    at.run()  # a tick: nobody clicked
    assert on_the_login_page(at)


def test_in_supabase_mode_a_page_whose_session_ended_changes_nothing(fake, tmp_path, monkeypatch):
    monkeypatch.setenv("APP_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("SUPABASE_URL", URL)
    monkeypatch.setenv("SUPABASE_ANON_KEY", ANON_KEY)
    from lib.context import app_context
    from lib.config.settings import load_settings

    context = app_context(load_settings())
    fake.add_user("ana@example.com", "analyst")
    at = log_in(new_app(), "admin@example.com", SUPABASE_PASSWORD)
    other = same_cookie(context, at)  # its own Supabase session, restored from the kept refresh token
    service = context.signin.service(other.session_state[SIGNED_IN_KEY])
    users = context.signin.user_admin(other.session_state[SIGNED_IN_KEY])
    button(other, "+ Nova instância").click().run()
    field(other, "Nome da instância").input("Suporte")
    button(at, "Sair").click().run()
    before = list(fake.rows)
    with pytest.raises(AuthError, match=ENDED):  # its Supabase tokens still work: the app's session does not
        service.create("Suporte")
    with pytest.raises(AuthError, match=ENDED):
        users.grant("ana@example.com", "admin")
    button(other, "Criar").click().run()
    assert fake.rows == before and fake.roles_of("ana@example.com") == ["analyst"]
    other.run()
    assert on_the_login_page(other)


def _visitor():
    from lib.auth.signed_in import Visitor

    return Visitor("10.0.0.1")
