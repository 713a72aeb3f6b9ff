"""What the app's AppTest tests (tests/ui/test_app_*.py and others) share: a data dir and an app
context on the embedded default, an admin's AppTest, and what a page says, read as a person reads it
(texts, cards, buttons, fields; Markdown escapes resolved)."""

import re

import pytest
from streamlit.testing.v1 import AppTest

from harness.apptest import APP, App, log_in, new_app, signed_in_app  # noqa: F401 - for the UI tests
from harness.seeding import PASSWORD  # noqa: F401 - likewise
from lib.context import app_context
from lib.config.settings import load_settings
from lib.store.sqlite.instances import SQLiteInstanceStore
from lib.auth.signed_in import SignedIn


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


def setup_code(context) -> str:
    """The first administrator's code, where the server printed and saved it."""
    return (context.settings.data_dir / "setup_code.txt").read_text().strip()


def connected(context, name="Cobrança"):
    """An instance connected through the service and the sandbox, as stored."""
    service = admin_service(context)
    connecting = service.connect(service.create(name).instance).instance
    assert context.sandbox.simulate_scan(connecting.instance_id)
    return service.check_status(connecting)


HOSTILE = "**b** [a](javascript:x) <b>x</b> :red[v] $x^2$ `c` # h"  # 52 characters: a valid name


def markdown_values(at: AppTest) -> list[str]:
    """Everything drawn through Markdown: where a name could turn into a link, bold, HTML or math."""
    return [str(e.value) for kind in MARKDOWN_KINDS + ("toast",) for e in getattr(at, kind)]


def assert_inert(at: AppTest, *, mentioned: bool = True) -> None:
    values = markdown_values(at)
    assert all(HOSTILE not in v for v in values), [v for v in values if HOSTILE in v]  # never raw Markdown
    if mentioned:
        assert any(HOSTILE in unescape_markdown(v) for v in values)  # and still readable as typed
