"""The app under streamlit's AppTest, on the embedded default (SQLite file + sandbox provider): signing
in, creating, connecting, deleting, roles, and what the page says when something fails (the cards
and dialogs over time: test_app_cards.py)."""

from __future__ import annotations

import re

import pytest
import requests

from harness.apptest import log_in, new_app, signed_in_app
from harness.seeding import PASSWORD
from lib.context import app_context
from lib.config.settings import load_settings
from lib.ui.signed_in import SIGNED_IN_KEY
from tests.support.app_ui import (  # noqa: F401 - context and data_dir are fixtures
    admin_app, admin_service, button, cards, context, create_instance, data_dir, setup_code, stored, texts,
    unescape_markdown,
)


def test_only_the_login_page_until_signed_in(context):
    at = new_app()
    assert not at.exception
    assert "Criar primeiro administrador" in texts(at)
    assert "Modo padrão embutido" in texts(at)
    assert "Configurações" not in texts(at)


def test_first_admin_creation_signs_in_and_shows_settings(context):
    at = new_app()
    at.text_input[0].input("chefe@example.com")
    at.text_input[1].input(PASSWORD)
    at.text_input[2].input(PASSWORD)
    at.text_input[3].input(setup_code(context))
    at.button[0].click().run().run()
    assert not at.exception
    assert "Configurações" in texts(at)
    assert [t.label for t in at.tabs] == ["Instâncias", "Atividade", "Templates", "Régua de Cobrança"]
    assert context.accounts.authenticate("chefe@example.com", PASSWORD).role == "admin"
    assert not (context.settings.data_dir / "setup_code.txt").exists()  # used once
    second = new_app()
    assert "Criar primeiro administrador" not in texts(second) and "Entrar" in texts(second)


def test_mismatched_confirmation_creates_nobody(context):
    at = new_app()
    at.text_input[0].input("chefe@example.com")
    at.text_input[1].input(PASSWORD)
    at.text_input[2].input(PASSWORD + "x")
    at.button[0].click().run()
    assert "não conferem" in texts(at)
    assert context.accounts.count() == 0


def test_wrong_password_stays_on_login(context):
    context.accounts.add("admin@example.com", PASSWORD, "admin")
    at = log_in(new_app(), "admin@example.com", "errada-123")
    assert "E-mail ou senha incorretos." in texts(at)
    assert "Configurações" not in texts(at)


def test_create_flow_shows_masked_token_and_lists_the_card(context):
    at = create_instance(admin_app(context), "WhatsApp Cobrança")
    assert "Instância criada." in texts(at)
    [(_, token)] = stored(context)
    assert token not in texts(at)  # masked until revealed
    at.toggle[0].set_value(True).run()
    assert token in [c.value for c in at.code]
    button(at, "Fechar").click().run()
    assert cards(at)["WhatsApp Cobrança"].startswith("Nunca conectada\nNunca conectada  ·  criada em ")
    assert "Instância criada." not in texts(at)


def test_invalid_name_shows_the_message_and_creates_nothing(context):
    at = create_instance(admin_app(context), "   ")
    assert "Informe um nome para a instância." in texts(at)
    assert stored(context) == []


def test_connect_dialog_shows_qr_and_closes_once_connected(context):
    at = create_instance(admin_app(context), "Cobrança")
    button(at, "Fechar").click().run()
    button(at, "Conectar").click().run()
    assert not at.exception
    assert len(at.get("image")) == 1  # the QR code
    assert "Aguardando leitura do QR Code…" in texts(at)
    assert cards(at)["Cobrança"].startswith("Aguardando QR\nAguardando a leitura do QR Code desde")
    [(instance, _)] = stored(context)
    at.run()  # a polling tick (st_autorefresh does not tick under AppTest)
    assert "Aguardando leitura do QR Code…" in texts(at)
    assert requests.get(context.sandbox.scan_url(instance.instance_id), timeout=5).status_code == 200
    at.run()
    assert not at.exception
    assert "Aguardando leitura do QR Code…" not in texts(at)  # dialog closed by itself
    assert re.match(r"Conectada\nConectada desde \d\d:\d\d  ·  \+55 11 9\d{4}-\d{4}\b", cards(at)["Cobrança"])
    assert any("conectada" in t.value for t in at.toast)


def test_delete_asks_for_confirmation(context):
    at = create_instance(admin_app(context), "Cobrança")
    button(at, "Fechar").click().run()
    button(at, "Excluir").click().run()
    assert "Esta ação não pode ser desfeita." in texts(at)
    assert "Ela também será excluída no provedor." in texts(at)  # the sandbox has the delete webhook
    button(at, "Cancelar").click().run()
    assert "Cobrança" in texts(at)
    button(at, "Excluir").click().run()
    [confirm] = [b for b in at.button if b.label == "Excluir" and "delete-" not in (b.key or "")]
    confirm.click().run()
    assert "Nenhuma instância ainda" in texts(at)


@pytest.mark.parametrize("hostile", ["<b>negrito</b>", "[clique](javascript:alert(1))", "**forte**"])
def test_user_text_renders_literally(context, hostile):
    at = create_instance(admin_app(context), hostile)
    button(at, "Fechar").click().run()
    assert hostile in cards(at)  # shown as typed, once the escapes are read
    assert all(hostile not in m.value for m in at.markdown)  # never as Markdown


@pytest.mark.parametrize("role", ["analyst", "supervisor"])
def test_read_only_roles_see_cards_and_table_without_token(context, role):
    admin = create_instance(admin_app(context), "Cobrança")
    token_shown = [c.value for c in admin.code]
    context.accounts.add(f"{role}@example.com", PASSWORD, role)
    at = signed_in_app(context, f"{role}@example.com")
    assert "Somente leitura" in texts(at)
    assert cards(at)["Cobrança"].startswith("Nunca conectada\n")
    labels = [b.label for b in at.button]
    for forbidden in ("+ Nova instância", "Conectar", "Desconectar", "Excluir", "Mais"):
        assert forbidden not in labels
    assert not [key for key in at.session_state.keys() if key.startswith("more-")]  # no "Mais" menu
    at.segmented_control(key="view").set_value("Tabela").run()
    table = at.dataframe[0].value
    assert list(table["Nome"]) == ["Cobrança"] and "Token" not in table.columns
    [(_, token)] = stored(context)
    assert token not in texts(at) and token_shown == []
    assert all(token not in str(col.values) for _, col in table.items())


def test_logout_returns_to_login(context):
    at = admin_app(context)
    assert "Configurações" in texts(at)
    at.sidebar.button[0].click().run().run()
    assert "Entrar" in texts(at) and "Configurações" not in texts(at)
    assert SIGNED_IN_KEY not in at.session_state and "service" not in at.session_state  # nothing left to act with
    assert "+ Nova instância" not in [b.label for b in at.button]


def test_half_filled_webhooks_stop_the_app_with_one_message(data_dir, monkeypatch):
    monkeypatch.setenv("WEBHOOK_CREATE_URL", "https://hooks.example.com/create")
    at = new_app()
    assert not at.exception
    assert [unescape_markdown(e.value) for e in at.error] == [
        "Configuração incompleta: falta webhooks.connect_url (WEBHOOK_CONNECT_URL)."
    ]
    assert not at.text_input  # nothing else is drawn


def test_unsaved_credentials_are_shown_and_can_be_saved_again(context):
    import sqlite3

    at = admin_app(context)
    with sqlite3.connect(context.database.path) as conn:
        conn.execute("create trigger refuse before insert on instances begin select raise(abort, 'disk full'); end")
    at = create_instance(at, "Cobrança")
    assert any("não foi salva" in e.value for e in at.error)
    [pending] = context.recovery.pending()
    at.toggle[0].set_value(True).run()
    assert pending.token in [c.value for c in at.code]  # the admin can copy the credentials
    with sqlite3.connect(context.database.path) as conn:
        conn.execute("drop trigger refuse")
    at.button[0].click().run()  # dismissing is not possible under AppTest: re-run the page
    at = admin_app(context)
    assert "Instância criada no provedor mas ainda não salva no banco." in texts(at)
    button(at, "Salvar novamente").click().run()
    assert "Cobrança" in cards(at)
    assert context.recovery.pending() == []
    assert [i.instance_id for i, _ in stored(context)] == [pending.instance_id]


@pytest.mark.parametrize("name", ["Cobrança 💬✅", "واتساب التحصيل"])
def test_emoji_and_rtl_names_render_literally(context, name):
    at = create_instance(admin_app(context), name)
    button(at, "Fechar").click().run()
    assert name in cards(at)


def test_check_now_reports_per_instance_results_and_names_the_changes(context):
    service = admin_service(context)
    live = service.connect(service.create("Conecta").instance).instance
    service.create("Parada")
    at = admin_app(context)
    assert context.sandbox.simulate_scan(live.instance_id)  # the provider knows; the store does not yet
    assert cards(at)["Conecta"].startswith("Aguardando QR")
    button(at, "Verificar agora").click().run()
    assert "2 instâncias verificadas · 1 com status alterado · 0 com erro" in texts(at)
    assert "Mudaram: Conecta" in texts(at)
    assert cards(at)["Conecta"].startswith("Conectada\n") and "Verificado há" in cards(at)["Parada"]


def test_survivor_of_a_concurrent_delete_gets_a_clear_message(context):
    first = create_instance(admin_app(context), "Cobrança")
    button(first, "Fechar").click().run()
    button(first, "Conectar").click().run()
    assert "Aguardando leitura do QR Code…" in texts(first)
    second = admin_app(context)
    button(second, "Excluir").click().run()
    [confirm] = [b for b in second.button if b.label == "Excluir" and "delete-" not in (b.key or "")]
    confirm.click().run()
    first.run()  # the next polling tick
    assert not first.exception
    assert "Aguardando leitura do QR Code…" not in texts(first)
    assert any("removida" in t.value for t in first.toast)
    assert stored(context) == []  # not resurrected


def test_a_provider_that_refuses_the_credentials_says_retrying_will_not_help(data_dir, monkeypatch):
    import responses

    for action in ("create", "connect", "status", "disconnect"):
        monkeypatch.setenv(f"WEBHOOK_{action.upper()}_URL", f"https://hooks.example.com/{action}")
    context = app_context(load_settings())
    at = admin_app(context)
    with responses.RequestsMock() as provider:
        provider.post("https://hooks.example.com/create", status=401, json={"error": "bad api key"})
        at = create_instance(at, "Cobrança")
    assert any("credenciais" in e.value for e in at.error)
    assert "Tentar de novo não deve resolver" in texts(at)
