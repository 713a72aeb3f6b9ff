"""Webhook faults on screen (tests/provider/test_webhook_faults.py): the message, no traceback, and a
retry that works once the provider recovers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import pytest

from lib.context import app_context
from lib.config.settings import load_settings
from lib.errors import ProviderError
from lib.store.sqlite.instances import SQLiteInstanceStore
from lib.provider.webhooks import WebhookClient
from tests.support.provider_faults import TOKEN_PREFIX
from tests.support.app_ui import PASSWORD, button, cards, field, signed_in_app, texts, unescape_markdown
from tests.provider.test_webhook_faults import (  # noqa: F401 - broken and provider are fixtures
    broken, call, expected_message, provider,
)
from tests.provider.test_webhook_faults_service import kept, seed


@dataclass(frozen=True)
class Flow:
    action: str  # the webhook that fails
    seed_status: str | None  # the instance on screen, None for none
    start: Callable  # (at) -> at, up to and including the click that fails
    offers_retry: Callable  # (at) -> the button to retry with, shown after the failure
    succeeded: Callable  # (at, instances after) -> bool


def dialog_button(label: str):
    """The dialog's button, not the card button of the same label (card buttons have keys)."""

    def find(at):
        [match] = [b for b in at.button if b.label == label and not (b.key or "").startswith("menu-")]
        return match

    return find


def open_create(at):
    button(at, "+ Nova instância").click().run()
    field(at, "Nome da instância").input("Cobrança Nova")
    return button(at, "Criar").click().run()


def open_confirm(label: str):
    def start(at):
        button(at, label).click().run()
        return dialog_button(label)(at).click().run()

    return start


FLOWS = {
    "create": Flow(
        "create", None, open_create,
        offers_retry=lambda at: button(at, "Criar"),  # the form stays, with the name typed
        succeeded=lambda at, rows: "Instância criada." in texts(at) and [i.name for i in rows] == ["Cobrança Nova"],
    ),
    "connect": Flow(
        "connect", "disconnected", lambda at: button(at, "Conectar").click().run(),
        offers_retry=lambda at: button(at, "Tentar novamente"),
        succeeded=lambda at, rows: len(at.get("image")) == 1 and [i.status for i in rows] == ["connecting"],
    ),
    "disconnect": Flow(
        "disconnect", "connected", open_confirm("Desconectar"),
        offers_retry=dialog_button("Desconectar"),  # the confirmation stays open
        succeeded=lambda at, rows: cards(at)["Cobrança"].startswith("Desconectada\n") and [i.status for i in rows] == ["disconnected"],
    ),
    "delete": Flow(
        "disconnect", "connected", open_confirm("Excluir"),
        offers_retry=dialog_button("Excluir"),
        succeeded=lambda at, rows: "Nenhuma instância ainda" in texts(at) and rows == [],
    ),
}
UI_CASES = [
    ("create", "html_page"),
    ("create", "stall_after_headers"),
    ("connect", "huge_body"),
    ("connect", "stall_after_headers"),
    ("connect", "bad_base64"),
    ("disconnect", "status_5xx"),
    ("delete", "not_json"),
]


@pytest.fixture
def ui(provider, tmp_path, monkeypatch):
    """The app configured with the faulty provider's webhooks and one admin; returns its context."""
    monkeypatch.setenv("APP_DATA_DIR", str(tmp_path))
    for action, url in provider.urls.items():
        monkeypatch.setenv(f"WEBHOOK_{action.upper()}_URL", url)
    monkeypatch.setenv("WEBHOOK_TIMEOUT_SECONDS", "1")
    for key in ("SUPABASE_URL", "SUPABASE_ANON_KEY"):
        monkeypatch.delenv(key, raising=False)
    context = app_context(load_settings())
    context.accounts.add("admin@example.com", PASSWORD, "admin")
    return context


@pytest.mark.parametrize("flow, fault", UI_CASES)
def test_ui_shows_the_message_and_the_retry_works(provider, ui, flow, fault):
    spec = FLOWS[flow]
    store = SQLiteInstanceStore(ui.database)
    before = [seed(store, spec.seed_status)] if spec.seed_status else []
    at = signed_in_app(ui, "admin@example.com")
    provider.set_fault(spec.action, fault)

    at = spec.start(at)
    assert not at.exception
    [error] = at.error
    assert expected_message(fault, spec.action) in unescape_markdown(error.value)
    assert TOKEN_PREFIX not in texts(at)
    assert [kept(i) for i in store.list_instances()] == [kept(i) for i in before]  # the stored status and number as they were
    if flow == "connect":
        assert not at.get("image")

    retry = spec.offers_retry(at)  # the screen offers a way to try again

    provider.set_fault(spec.action, "ok")
    at = retry.click().run()
    assert not at.exception
    assert not at.error
    assert spec.succeeded(at, store.list_instances())


def test_invalid_json_is_a_glitch_worth_retrying(provider):
    """Invalid JSON is transient: the screen must not say a retry won't help (an HTML page, a
    wrong URL most likely, is not)."""
    provider.set_fault("status", "not_json")
    with pytest.raises(ProviderError) as raised:
        call(WebhookClient(provider.webhook_settings()), "status")
    assert raised.value.retryable
