"""The app under streamlit's AppTest, on the embedded default (SQLite file + sandbox provider)."""

import pytest
import requests
from streamlit.testing.v1 import AppTest

from lib.backend import app_context
from lib.config import load_settings
from lib.store.sqlite import SQLiteInstanceStore
from tests.conftest import ROOT

APP = ROOT / "app.py"
PASSWORD = "senha-segura-1"


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("APP_DATA_DIR", str(tmp_path))
    for key in ("WEBHOOK_CREATE_URL", "WEBHOOK_CONNECT_URL", "WEBHOOK_STATUS_URL", "WEBHOOK_DISCONNECT_URL",
                "SUPABASE_URL", "SUPABASE_ANON_KEY"):
        monkeypatch.delenv(key, raising=False)
    return tmp_path


@pytest.fixture
def context(data_dir):
    return app_context(load_settings())


class App(AppTest):
    """AppTest that runs app.py on every run, as the real server does. Plain AppTest reruns only the
    page it finished on, which skips app.py's login gating and page-set switch (streamlit 1.67).
    An st.rerun() inside a run still has that flaw, so after signing in or out call run() again."""

    def _run(self, *args, **kwargs):
        self._finished_page_script_hash = ""
        return super()._run(*args, **kwargs)


def new_app() -> AppTest:
    return App(APP, default_timeout=30).run()


def texts(at: AppTest) -> str:
    return "\n".join(str(e.value) for kind in ("text", "markdown", "caption", "info", "warning", "success", "error",
                                               "title", "subheader", "code") for e in getattr(at, kind))


def button(at: AppTest, label: str):
    matches = [b for b in at.button if b.label == label]
    assert matches, f"no button {label!r} among {[b.label for b in at.button]}"
    return matches[0]


def log_in(at: AppTest, email: str, password: str = PASSWORD) -> AppTest:
    at.text_input[0].input(email)
    at.text_input[1].input(password)
    at.button[0].click().run()
    if "user" in at.session_state:
        at.run()  # see App
    assert not at.exception
    return at


def admin_app(context) -> AppTest:
    if context.accounts.count() == 0:
        context.accounts.add("admin@example.com", PASSWORD, "admin")
    return log_in(new_app(), "admin@example.com")


def create_instance(at: AppTest, name: str) -> AppTest:
    button(at, "+ Nova instância").click().run()
    at.text_input[0].input(name)
    button(at, "Criar").click().run()
    assert not at.exception
    return at


def stored(context):
    """The instances in the store and their tokens, read directly."""
    store = SQLiteInstanceStore(context.database)
    return [(i, store.instance_token(i.id)) for i in store.list_instances()]


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
    at.button[0].click().run().run()
    assert not at.exception
    assert "Configurações" in texts(at)
    assert [t.label for t in at.tabs] == ["Instâncias", "Templates", "Régua de Cobrança"]
    assert context.accounts.authenticate("chefe@example.com", PASSWORD).role == "admin"
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
    assert "🔴 Desconectado  ·  WhatsApp Cobrança" in texts(at)
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
    assert "🟡 Conectando" in texts(at)
    [(instance, _)] = stored(context)
    at.run()  # a polling tick (st_autorefresh does not tick under AppTest)
    assert "Aguardando leitura do QR Code…" in texts(at)
    assert requests.get(context.sandbox.scan_url(instance.instance_id), timeout=5).status_code == 200
    at.run()
    assert not at.exception
    assert "Aguardando leitura do QR Code…" not in texts(at)  # dialog closed by itself
    assert "🟢 Conectado  ·  Cobrança" in texts(at)
    assert "Telefone: +55 11 9" in texts(at)
    assert any("conectada" in t.value for t in at.toast)


def test_delete_asks_for_confirmation(context):
    at = create_instance(admin_app(context), "Cobrança")
    button(at, "Fechar").click().run()
    button(at, "Excluir").click().run()
    assert "Esta ação não pode ser desfeita." in texts(at)
    button(at, "Cancelar").click().run()
    assert "Cobrança" in texts(at)
    button(at, "Excluir").click().run()
    [confirm] = [b for b in at.button if b.label == "Excluir" and "delete-" not in (b.key or "")]
    confirm.click().run()
    assert "Nenhuma instância cadastrada ainda." in texts(at)


@pytest.mark.parametrize("hostile", ["<b>negrito</b>", "[clique](javascript:alert(1))", "**forte**"])
def test_user_text_renders_literally(context, hostile):
    at = create_instance(admin_app(context), hostile)
    button(at, "Fechar").click().run()
    assert f"🔴 Desconectado  ·  {hostile}" in [t.value for t in at.text]
    assert all(hostile not in m.value for m in at.markdown)


@pytest.mark.parametrize("role", ["analyst", "supervisor"])
def test_read_only_roles_see_cards_and_table_without_token(context, role):
    admin = create_instance(admin_app(context), "Cobrança")
    token_shown = [c.value for c in admin.code]
    context.accounts.add(f"{role}@example.com", PASSWORD, role)
    at = log_in(new_app(), f"{role}@example.com")
    assert "Somente leitura" in texts(at)
    assert "🔴 Desconectado  ·  Cobrança" in texts(at)
    labels = [b.label for b in at.button]
    for forbidden in ("+ Nova instância", "Conectar", "Desconectar", "Excluir"):
        assert forbidden not in labels
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
    assert "user" not in at.session_state and "service" not in at.session_state  # nothing left to act with
    assert "+ Nova instância" not in [b.label for b in at.button]


def test_half_filled_webhooks_stop_the_app_with_one_message(data_dir, monkeypatch):
    monkeypatch.setenv("WEBHOOK_CREATE_URL", "https://hooks.example.com/create")
    at = new_app()
    assert not at.exception
    assert [e.value for e in at.error] == [
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
    assert "🔴 Desconectado  ·  Cobrança" in texts(at)
    assert context.recovery.pending() == []
    assert [i.instance_id for i, _ in stored(context)] == [pending.instance_id]


@pytest.mark.parametrize("name", ["Cobrança 💬✅", "واتساب التحصيل", "x\u202eevil"])
def test_emoji_and_rtl_names_render_literally(context, name):
    at = create_instance(admin_app(context), name)
    button(at, "Fechar").click().run()
    assert f"🔴 Desconectado  ·  {name}" in [t.value for t in at.text]


def test_refresh_all_reports_per_instance_results(context):
    at = create_instance(admin_app(context), "Cobrança")
    button(at, "Fechar").click().run()
    button(at, "Atualizar status").click().run()
    assert "1 instâncias verificadas · 0 com status alterado · 0 com erro" in texts(at)


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


def test_after_two_minutes_polling_stops_but_a_last_moment_scan_still_connects(context):
    at = create_instance(admin_app(context), "Cobrança")
    button(at, "Fechar").click().run()
    button(at, "Conectar").click().run()
    [(instance, _)] = stored(context)
    at.session_state["open_dialog"][1].started_at -= 121  # two minutes without a scan
    at.run()
    assert "O QR Code não foi lido em 2 minutos." in texts(at)
    assert "Gerar novo QR" in [b.label for b in at.button] and not at.get("image")
    button(at, "Gerar novo QR").click().run()
    assert len(at.get("image")) == 1 and "Aguardando leitura do QR Code…" in texts(at)
    assert requests.get(context.sandbox.scan_url(instance.instance_id), timeout=5).status_code == 200
    at.session_state["open_dialog"][1].started_at -= 121  # scanned just before the limit
    at.run()
    assert "O QR Code não foi lido em 2 minutos." not in texts(at)
    assert "🟢 Conectado  ·  Cobrança" in texts(at)
