"""Alterar senha under AppTest on the embedded default: the current password is checked under the
login throttle, and a new password ends every other session of the person (a stolen copy of the
cookie too) while the browser that changed it stays signed in."""

from __future__ import annotations

import threading

import lib.auth.accounts as accounts_module
from lib.ui.signed_in import SIGNED_IN_KEY
from tests.support.app_ui import PASSWORD, button, log_in, new_app, texts
from tests.support.app_ui import context, data_dir  # noqa: F401 - fixtures

NEW_PASSWORD = "outra-senha-longa"


def password_page(at):
    at.switch_page("pages/senha.py").run()
    assert not at.exception
    return at


def change(at, current: str, new: str = NEW_PASSWORD):
    fields = {t.label: t for t in at.text_input}
    fields["Senha atual"].input(current)
    fields["Nova senha"].input(new)
    fields["Confirmar nova senha"].input(new)
    button(at, "Salvar nova senha").click().run()
    assert not at.exception
    return at


def test_the_current_password_is_checked_at_most_five_times_like_a_login(context, monkeypatch):
    context.accounts.add("ana@example.com", PASSWORD, "analyst")
    at = password_page(log_in(new_app(), "ana@example.com"))
    checks, lock = [], threading.Lock()
    original = accounts_module.verify_password

    def counting(password, stored):
        with lock:
            checks.append(password)
        return original(password, stored)

    monkeypatch.setattr(accounts_module, "verify_password", counting)
    for attempt in range(12):
        change(at, f"errada-{attempt}")
    assert len(checks) == 5  # the login's limit: 5 per e-mail and address
    assert "Muitas tentativas" in texts(at)
    change(at, PASSWORD)  # the right one, too late
    assert "Muitas tentativas" in texts(at) and len(checks) == 5
    assert context.accounts.authenticate("ana@example.com", PASSWORD, "10.0.0.9").email == "ana@example.com"  # unchanged
    assert "Muitas tentativas" in texts(log_in(new_app(), "ana@example.com"))  # one count with the login's


def test_a_new_password_ends_every_other_session_and_keeps_this_one(context):
    ana = context.accounts.add("ana@example.com", PASSWORD, "analyst")
    other = log_in(new_app(), "ana@example.com")  # another browser of hers, or a thief's
    at = password_page(log_in(new_app(), "ana@example.com"))
    stolen = at.session_state[SIGNED_IN_KEY].session_id  # a copy of this browser's own cookie
    assert context.sessions.count(ana.id) == 2
    change(at, PASSWORD)
    kept = at.session_state[SIGNED_IN_KEY].session_id
    assert context.sessions.resume(kept) is not None  # this browser stays signed in…
    assert context.sessions.resume(stolen) is None  # …under a new session id: the old cookie works nowhere
    assert context.sessions.resume(other.session_state[SIGNED_IN_KEY].session_id) is None
    assert context.sessions.count(ana.id) == 1
    assert at.session_state[SIGNED_IN_KEY].user.email == "ana@example.com"
    assert context.accounts.authenticate("ana@example.com", NEW_PASSWORD).email == "ana@example.com"
