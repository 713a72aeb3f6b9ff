"""The app under streamlit's AppTest, on the embedded default (SQLite file + sandbox provider)."""

import re

import pytest
import requests
from streamlit.testing.v1 import AppTest

from harness.apptest import APP, App, log_in, new_app, signed_in_app  # noqa: F401 - APP and App for the other UI tests
from harness.seeding import PASSWORD
from lib.context import app_context
from lib.config.settings import load_settings
from lib.store.sqlite.instances import SQLiteInstanceStore
from lib.auth.signed_in import SignedIn
from lib.ui.signed_in import SIGNED_IN_KEY


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


LITERAL_KINDS = ("text", "code")  # drawn as given; every other kind is Markdown, read as a person reads it
MARKDOWN_KINDS = ("markdown", "caption", "info", "warning", "success", "error", "title", "subheader")


def texts(at: AppTest) -> str:
    """Everything the page says, as a reader sees it (Markdown escapes resolved)."""
    literal = [str(e.value) for kind in LITERAL_KINDS for e in getattr(at, kind)]
    markdown = [unescape_markdown(str(e.value)) for kind in MARKDOWN_KINDS for e in getattr(at, kind)]
    return "\n".join(literal + markdown)


CARD_TEXT = re.compile(r"^\*\*(?P<name>.*)\*\*  \n:\w+-badge\[:material/\w+: (?P<label>[^\]]+)\]\n\n(?P<lines>.*)$",
                       re.DOTALL)


def cards(at: AppTest) -> dict[str, str]:
    """Every card shown, as name → its state and lines ("Caiu\nCaiu às 06:42 …"). A card is one
    Markdown element: the name in bold with the state's badge, then its lines (lib.ui.card.card_text)."""
    found = {}
    for element in at.markdown:
        text = CARD_TEXT.match(element.value)
        if text:
            lines = unescape_markdown(text["lines"].replace("  \n", "\n"))
            found[unescape_markdown(text["name"])] = f"{text['label']}\n{lines}"
    return found


def unescape_markdown(text: str) -> str:
    """The text a reader sees in escaped Markdown (lib.presentation.escape_markdown; the word
    joiners that stop autolinks are invisible)."""
    return re.sub(r"\\(.)", r"\1", text).replace("\u2060", "")


def button(at: AppTest, label: str):
    """The first button with this label; one in a card's "Mais" menu after opening the menus, as a
    person would (they are drawn only while open)."""
    matches = [b for b in at.button if b.label == label]
    if not matches and open_menus(at):
        matches = [b for b in at.button if b.label == label]
    assert matches, f"no button {label!r} among {[b.label for b in at.button]}"
    return matches[0]


def open_menus(at: AppTest) -> bool:
    """Open every card's "Mais" menu (lib.ui.card); True when there was one."""
    keys = [key for key in at.session_state.keys() if key.startswith("more-")]
    for key in keys:
        at.session_state[key] = True
    if keys:
        at.run()
    return bool(keys)


def admin_user(context):
    """The admin account (made on first use) the admin sessions of these tests sign in with."""
    account = context.accounts.find("admin@example.com")
    return account.user if account else context.accounts.add("admin@example.com", PASSWORD, "admin")


def admin_service(context):
    """The service as that admin's session has it (its role read again before every change)."""
    user = admin_user(context)
    return context.signin.service(SignedIn(user, context.sessions.create(user, user_agent=None)))


def admin_app(context) -> AppTest:
    """app.py signed in as that admin (without the login form: the login tests drive it)."""
    admin_user(context)
    return signed_in_app(context, "admin@example.com")


def field(at: AppTest, label: str):
    [match] = [t for t in at.text_input if t.label == label]
    return match


def create_instance(at: AppTest, name: str) -> AppTest:
    button(at, "+ Nova instância").click().run()
    field(at, "Nome da instância").input(name)
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


def setup_code(context) -> str:
    """The first administrator's code, where the server printed and saved it."""
    return (context.settings.data_dir / "setup_code.txt").read_text().strip()


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
    assert cards(at)["Cobrança"].startswith("Conectada\n")


def connected(context, name="Cobrança"):
    """An instance connected through the service and the sandbox, as stored."""
    service = admin_service(context)
    connecting = service.connect(service.create(name).instance).instance
    assert context.sandbox.simulate_scan(connecting.instance_id)
    return service.check_status(connecting)


def test_a_drop_pushed_by_the_provider_shows_on_every_open_session_without_a_click(context):
    from lib.checks import apply_event
    from lib.provider.base import ProviderEvent

    live = connected(context)
    admin = admin_app(context)
    context.accounts.add("analista@example.com", PASSWORD, "analyst")
    analyst = signed_in_app(context, "analista@example.com")
    for at in (admin, analyst):
        assert cards(at)["Cobrança"].startswith("Conectada\nConectada desde")
    apply_event(SQLiteInstanceStore(context.database), ProviderEvent(live.instance_id, "disconnected", None))
    for at in (admin, analyst):
        at.run()  # a tick of the cards (under AppTest the timer does not tick by itself)
        card = cards(at)["Cobrança"]
        assert re.match(r"Caiu\nCaiu às \d\d:\d\d\nÚltimo número: \+55 11 9\d{4}-\d{4}\nVerificado há \d+ s\n"
                        r"Online \d+(,\d)? % desde \d\d:\d\d  ·  1 queda$", card)  # connected moments ago
    assert "Simular queda" not in [b.label for b in admin.button]  # only for connected instances


def test_an_open_dialog_survives_a_refresh_of_the_list(context):
    at = admin_app(context)
    button(at, "+ Nova instância").click().run()
    field(at, "Nome da instância").input("Digitando…")
    SQLiteInstanceStore(context.database).insert_instance(instance_id="sbx-x", token="t", name="Outra", created_by=None)
    at.run()
    assert not at.exception
    assert "Outra" in cards(at)  # the list was read again...
    assert "Nome da instância" in [t.label for t in at.text_input]  # ...and the dialog stayed open
    # (what was typed stays too: a form's value reaches the server only on submit, see tests/ui/test_browser.py)


def test_simulated_drop_reaches_the_card_through_the_monitor(context):
    from lib.monitor import StatusMonitor

    connected(context)
    at = admin_app(context)
    button(at, "Simular queda").click().run()
    assert cards(at)["Cobrança"].startswith("Conectada\n")  # the click tells the provider, not the store
    StatusMonitor(SQLiteInstanceStore(context.database), context.provider(), interval_seconds=60).sweep()
    at.run()
    assert cards(at)["Cobrança"].startswith("Caiu\nCaiu às")


def test_the_connect_dialog_simulates_the_scan_in_process_and_counts_down_to_the_next_qr(context):
    at = create_instance(admin_app(context), "Cobrança")
    button(at, "Fechar").click().run()
    button(at, "Conectar").click().run()
    assert re.search(r"Aguardando leitura do QR Code… novo QR em 1[45] s", texts(at))
    button(at, "Simular leitura do QR").click().run()
    assert not at.exception and "Aguardando leitura do QR Code…" not in texts(at)
    assert cards(at)["Cobrança"].startswith("Conectada\n")


def test_an_instance_the_provider_does_not_know_offers_removal_instead_of_a_retry(context):
    store = SQLiteInstanceStore(context.database)
    store.insert_instance(instance_id="sbx-gone", token="t", name="Fantasma", created_by=None)
    at = admin_app(context)
    button(at, "Conectar").click().run()
    assert "Instância não encontrada no provedor." in texts(at)
    assert "Tentar novamente" not in [b.label for b in at.button]
    [forget] = [b for b in at.button if b.label == "Excluir do painel"]
    forget.click().run()
    [confirm] = [b for b in at.button if b.label == "Excluir" and not (b.key or "").startswith("delete-")]
    confirm.click().run()
    assert store.list_instances() == []


HOSTILE = "**b** [a](javascript:x) <b>x</b> :red[v] $x^2$ `c` # h"  # 52 characters: a valid name


def markdown_values(at: AppTest) -> list[str]:
    """Everything drawn through Markdown: where a name could turn into a link, bold, HTML or math."""
    return [str(e.value) for kind in MARKDOWN_KINDS + ("toast",) for e in getattr(at, kind)]


def assert_inert(at: AppTest, *, mentioned: bool = True) -> None:
    values = markdown_values(at)
    assert all(HOSTILE not in v for v in values), [v for v in values if HOSTILE in v]  # never raw Markdown
    if mentioned:
        assert any(HOSTILE in unescape_markdown(v) for v in values)  # and still readable as typed


def test_a_hostile_name_stays_inert_on_every_message_path(context):
    at = create_instance(admin_app(context), HOSTILE)
    assert f"Nome: {HOSTILE}" in [t.value for t in at.text], texts(at)  # the created dialog says the name literally
    button(at, "Fechar").click().run()
    assert_inert(at)  # the card
    button(at, "Conectar").click().run()
    button(at, "Simular leitura do QR").click().run()
    assert_inert(at)  # the toast "… conectada"
    button(at, "Verificar agora").click().run()
    assert_inert(at)
    button(at, "Simular queda").click().run()
    at.run()
    button(at, "Histórico").click().run()
    assert_inert(at)  # the dialog's title line
    at.run()
    button(at, "Excluir").click().run()
    [confirm] = [b for b in at.button if b.label == "Excluir" and not (b.key or "").startswith("delete-")]
    confirm.click().run()
    assert_inert(at)  # the toast "… excluída"
    at.run()
    assert all(HOSTILE not in v for v in markdown_values(at))


def test_the_empty_state_offers_the_first_step_and_no_empty_table(context):
    at = admin_app(context)
    assert "Nenhuma instância ainda. Crie a primeira" in texts(at)
    assert not at.dataframe[:1] or all("Nome" not in df.value.columns for df in at.dataframe)  # no instance table
    [create] = [b for b in at.button if b.key == "empty-create"]
    create.click().run()
    assert "Nome da instância" in [t.label for t in at.text_input]
    context.accounts.add("ana@example.com", PASSWORD, "analyst")
    reader = signed_in_app(context, "ana@example.com")
    assert "um administrador precisa criar a primeira" in texts(reader)
    assert not [b for b in reader.button if b.key == "empty-create"]


def test_conectar_agora_right_after_creating(context):
    at = create_instance(admin_app(context), "Cobrança")
    button(at, "Conectar agora").click().run()
    assert not at.exception
    assert len(at.get("image")) == 1 and "Aguardando leitura do QR Code…" in texts(at)
    assert cards(at)["Cobrança"].startswith("Aguardando QR")


def test_an_admin_reveals_a_token_from_the_card_and_the_history_says_who(context):
    at = create_instance(admin_app(context), "Cobrança")
    button(at, "Fechar").click().run()
    [(instance, token)] = stored(context)
    assert token not in texts(at)
    button(at, "Mostrar token").click().run()  # one step: the token, at once
    assert not at.exception and token in [c.value for c in at.code]
    assert not [key for key in at.session_state.keys() if key.startswith("more-") and at.session_state[key]]
    at.run()  # a rerun does not record a second reveal
    assert not at.exception
    events = SQLiteInstanceStore(context.database).events(kinds=["token_revealed"])
    assert [(e.instance_id, e.actor_email) for e in events] == [(instance.id, "admin@example.com")]


def test_search_and_status_filter_apply_to_cards_and_table(context):
    live = connected(context, "Cobrança SP")
    admin_service(context).create("Suporte RJ")
    at = admin_app(context)
    assert set(cards(at)) == {"Cobrança SP", "Suporte RJ"}
    at.text_input(key="search").input(live.phone_number[-4:]).run()
    assert set(cards(at)) == {"Cobrança SP"}
    at.text_input(key="search").input("cobranca").run()  # accents and case ignored
    assert set(cards(at)) == {"Cobrança SP"}
    at.text_input(key="search").input("").run()
    at.multiselect(key="state_filter").set_value(["never_connected"]).run()
    assert set(cards(at)) == {"Suporte RJ"}
    at.segmented_control(key="view").set_value("Tabela").run()  # the same choices hold for the table
    assert list(at.dataframe[0].value["Nome"]) == ["Suporte RJ"] and cards(at) == {}
    at.segmented_control(key="view").set_value("Cartões").run()
    at.text_input(key="search").input("nada assim").run()
    assert cards(at) == {} and "Nenhuma instância corresponde à busca e aos filtros." in texts(at)


def test_a_drop_is_announced_at_the_top_of_every_open_page_until_dismissed_or_back(context):
    from lib.checks import apply_event
    from lib.presentation import escape_markdown, format_phone
    from lib.provider.base import ProviderEvent

    live = connected(context, "Cobrança 33")
    admin = admin_app(context).switch_page("pages/usuarios.py").run()  # whatever the page
    assert "Usuários" in [t.value for t in admin.title]
    context.accounts.add("analista@example.com", PASSWORD, "analyst")
    analyst = log_in(new_app(), "analista@example.com")
    assert "Caiu:" not in texts(admin) + texts(analyst)  # connected before the pages opened: no news
    store = SQLiteInstanceStore(context.database)
    apply_event(store, ProviderEvent(live.instance_id, "disconnected", None, reason="428"))
    number = format_phone(live.phone_number)
    for at in (admin, analyst):
        at.run()
        banners = [e.value for e in at.error if e.value.startswith("Caiu:")]
        assert len(banners) == 1 and re.fullmatch(
            rf"Caiu: Cobrança 33 · {re.escape(escape_markdown(number))} · \d\d:\d\d", banners[0]), banners
    [dismiss] = [b for b in analyst.button if b.label == "Dispensar"]
    dismiss.click().run()
    assert not [e for e in analyst.error if e.value.startswith("Caiu:")]
    apply_event(store, ProviderEvent(live.instance_id, "connected", live.phone_number))
    admin.run()
    assert not [e for e in admin.error if e.value.startswith("Caiu:")]  # back: nothing to announce
