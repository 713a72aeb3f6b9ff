"""What a rerun may cost, counted (never timed: the figures live in bench/).

Streamlit reruns the whole script on every click and every polling tick, so these count the calls
a run makes to the store and to the provider's webhooks (class-level wrappers: every instance,
every thread). Under AppTest a dialog tick cannot run alone as the fragment it is, so a full rerun
with the dialog open stands for it: it does what the tick does and more, an upper bound.
"""

import io
import threading
from collections import Counter

import pytest
import requests
from PIL import Image

import lib.config.settings
import lib.ui.table as table_view
from lib.ui.connect_dialog import QR_WIDTH
from lib.config.settings import current_settings
from lib.presentation import qr_for_display
from lib.store.sqlite.instances import SQLiteInstanceStore
from lib.provider.webhooks import WebhookClient
from tests.conftest import ADMIN
from tests.support.app_ui import CARD_TEXT, PASSWORD, admin_app, admin_service, button, cards, signed_in_app, texts
from tests.support.app_ui import context, data_dir  # noqa: F401 - fixtures
from tests.test_instances import make_service, sandbox  # noqa: F401 - fixtures
from tests.test_instances import scan

READS = ("list_instances", "get_instance", "instance_token", "instances_with_tokens", "find_by_instance_id")
WRITES = ("insert_instance", "update_status", "record_check", "mark_checked", "record_check_failure", "delete_instance")
WEBHOOKS = ("create", "connect", "status", "disconnect")


@pytest.fixture
def calls(monkeypatch) -> Counter:
    """Counts calls to the SQLite store ("store.<method>") and the webhook client ("webhook.<action>")."""
    counted, lock = Counter(), threading.Lock()

    def counting(label, original):
        def wrapper(*args, **kwargs):
            with lock:
                counted[label] += 1
            return original(*args, **kwargs)
        return wrapper

    for cls, prefix, names in ((SQLiteInstanceStore, "store", READS + WRITES), (WebhookClient, "webhook", WEBHOOKS)):
        for name in names:
            monkeypatch.setattr(cls, name, counting(f"{prefix}.{name}", getattr(cls, name)))
    return counted


def reads(calls: Counter) -> int:
    return sum(calls[f"store.{name}"] for name in READS)


def writes(calls: Counter) -> int:
    return sum(calls[f"store.{name}"] for name in WRITES)


def webhook_calls(calls: Counter) -> int:
    return sum(calls[f"webhook.{name}"] for name in WEBHOOKS)


def seed(context, count: int) -> None:
    """`count` more instances, written straight to the store (as another session or the monitor would)."""
    store = SQLiteInstanceStore(context.database)
    start = len(store.list_instances())
    for i in range(start, start + count):
        store.insert_instance(instance_id=f"sbx-{i:03d}", token=f"token-{i:03d}", name=f"Instância {i:03d}",
                              created_by=None)


def test_admin_rerun_and_browsing_are_served_from_the_cached_list(context, calls):
    seed(context, 12)  # two pages of cards
    at = admin_app(context)
    assert calls["store.list_instances"] >= 1  # read once, on the first run after signing in
    calls.clear()
    at.run()
    at.run()
    at.multiselect(key="state_filter").set_value(["never_connected"]).run()  # a filter starts at page 1
    button(at, "Próxima").click().run()
    assert not at.exception
    assert "Página 2 de 2" in texts(at) and "Instância 010" in texts(at)  # the filtered list's 2nd page...
    assert reads(calls) == writes(calls) == webhook_calls(calls) == 0  # ...without touching the store


def test_a_card_is_six_elements_at_most(context):
    """Every element of a run is a message the browser draws again (bench/rerun.py: about 0.7 ms
    each): an admin's card is its bordered row, one Markdown element (name, badge and lines), the
    column of buttons and its three buttons (Conectar, Histórico, Mais)."""
    seed(context, 3)  # never connected: the card with the most buttons
    at = admin_app(context)

    def elements(node) -> int:
        return 1 + sum(elements(child) for child in getattr(node, "children", {}).values())

    def card_rows(node):
        children = list(getattr(node, "children", {}).values())
        if children and getattr(children[0], "type", None) == "markdown" and CARD_TEXT.match(children[0].value):
            yield node
        for child in children:
            yield from card_rows(child)

    rows = list(card_rows(at.main))
    assert len(rows) == 3 and set(cards(at)) == {"Instância 000", "Instância 001", "Instância 002"}
    assert [elements(row) for row in rows] == [6, 6, 6]


def test_an_idle_tick_asks_nothing_and_a_change_elsewhere_costs_one_read(context, calls):
    seed(context, 3)
    at = admin_app(context)
    calls.clear()
    at.run()  # what a tick of the cards does, and more (a full run)
    assert reads(calls) == writes(calls) == webhook_calls(calls) == 0  # embedded: the version is in memory
    SQLiteInstanceStore(context.database).insert_instance(  # another session's (or the monitor's) write
        instance_id="sbx-new", token="t", name="Nova", created_by=None)
    calls.clear()
    at.run()
    assert calls["store.list_instances"] == 1 and reads(calls) == 1
    assert "Nova" in cards(at)


def test_table_is_built_once_per_list_and_filter_and_the_csv_only_on_download(context, monkeypatch):
    seed(context, 3)
    built = Counter()

    def counting(name, original):
        def wrapper(*args, **kwargs):
            built[name] += 1
            return original(*args, **kwargs)
        return wrapper

    for name in ("instances_table", "instances_csv"):
        monkeypatch.setattr(table_view, name, counting(name, getattr(table_view, name)))
    at = admin_app(context)
    at.segmented_control(key="view").set_value("Tabela").run()
    built.clear()
    at.run()
    at.run()
    assert built == Counter()  # neither the table nor its CSV is made again on a rerun
    at.text_input(key="search").input("001").run()
    assert built == Counter({"instances_table": 1})  # a new filter: one new table, still no CSV
    seed(context, 1)  # the list changed: the next run builds the table again
    at.run()
    assert built == Counter({"instances_table": 2})


def test_polling_tick_with_unchanged_status_makes_one_status_call_and_reads_nothing(context, calls):
    admin_service(context).create("Cobrança")
    at = admin_app(context)
    button(at, "Conectar").click().run()
    assert "Aguardando leitura do QR Code…" in texts(at)
    qr_prepared = qr_for_display.cache_info().misses
    calls.clear()
    at.run()  # a full rerun with the dialog open: the tick and more
    assert "Aguardando leitura do QR Code…" in texts(at)
    assert calls["webhook.status"] == 1 and webhook_calls(calls) == 1
    assert reads(calls) == writes(calls) == 0
    assert qr_for_display.cache_info().misses == qr_prepared  # the QR image is not prepared again
    [image] = at.get("image")
    assert image.proto.imgs[0].url  # shown


def test_a_renewed_qr_is_one_connect_call_and_reads_nothing(context, calls):
    from lib.ui.connect_dialog import qr_refresh_seconds
    from lib.ui.dialog_state import DIALOG_KEY

    admin_service(context).create("Cobrança")
    at = admin_app(context)
    button(at, "Conectar").click().run()
    _, state = at.session_state[DIALOG_KEY]
    state.qr_fetched_at -= qr_refresh_seconds()  # the QR is due again
    calls.clear()
    at.run()
    assert calls["webhook.connect"] == 1 and calls["webhook.status"] == 1
    assert reads(calls) == writes(calls) == 0  # the row did not change: the cached list stands


def test_connection_is_written_once_and_the_list_read_once(context, calls):
    instance = admin_service(context).create("Cobrança").instance
    at = admin_app(context)
    button(at, "Conectar").click().run()
    requests.get(context.sandbox.scan_url(instance.instance_id), timeout=5).raise_for_status()
    calls.clear()
    at.run()  # the tick that sees "connected": it writes the row, closes the dialog, reruns the page
    assert cards(at)["Cobrança"].startswith("Conectada\n")
    assert calls["webhook.status"] == 1 and webhook_calls(calls) == 1
    assert calls["store.record_check"] == 1 and writes(calls) == 1
    assert calls["store.list_instances"] == 1 and reads(calls) == 1


def test_refresh_all_calls_each_instance_once_and_writes_only_changed_rows(make_service, sandbox, calls):
    service = make_service()
    created = [service.create(f"Instância {i}").instance for i in range(6)]
    for instance in created[:2]:
        service.connect(instance)
        scan(sandbox, instance)
    listed = service.list_instances()
    calls.clear()
    results = service.refresh_all(listed)
    assert calls["webhook.status"] == 6 and webhook_calls(calls) == 6
    assert calls["store.record_check"] == 2 == sum(r.changed for r in results)
    assert calls["store.mark_checked"] == 1 and writes(calls) == 3  # the 4 unchanged rows in one write
    assert reads(calls) == 0  # the tokens were kept by the service


def test_read_only_list_reads_only_when_the_store_changed(context, calls):
    seed(context, 12)
    context.accounts.add("analista@example.com", PASSWORD, "analyst")
    at = signed_in_app(context, "analista@example.com")
    calls.clear()
    at.run()  # a tick (the timer reruns the cards the same way, without a widget change)
    at.multiselect(key="state_filter").set_value(["never_connected"]).run()  # a filter starts at page 1
    button(at, "Próxima").click().run()
    assert "Instância 010" in cards(at)
    assert reads(calls) == 0  # nothing changed: ticks, paging and filtering read nothing
    seed(context, 1)
    calls.clear()
    at.run()
    assert calls["store.list_instances"] == 1 and reads(calls) == 1
    assert writes(calls) == webhook_calls(calls) == 0


def test_qr_image_is_prepared_once_per_payload(sandbox):
    client = WebhookClient(sandbox.webhook_settings())
    credentials = client.create("Cobrança")
    png = client.connect(credentials.instance_id, credentials.token).qr.png
    assert Image.open(io.BytesIO(png)).width > QR_WIDTH
    first = qr_for_display(png, QR_WIDTH)
    hits = qr_for_display.cache_info().hits
    assert qr_for_display(png, QR_WIDTH) is first
    assert qr_for_display.cache_info().hits == hits + 1
    with Image.open(io.BytesIO(first)) as shown:
        assert shown.format == "PNG" and shown.width == QR_WIDTH


def test_settings_are_parsed_again_only_when_they_change(tmp_path, monkeypatch):
    for name in lib.config.settings.ENV_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    secrets = tmp_path / "secrets.toml"
    secrets.write_text('[supabase]\nurl = "https://a.supabase.co"\nanon_key = "k1"\n', encoding="utf-8")
    monkeypatch.setenv("APP_SECRETS_FILE", str(secrets))
    parsed = Counter()
    read = lib.config.settings.read_secrets_file
    monkeypatch.setattr(lib.config.settings, "read_secrets_file", lambda path: parsed.update(["file"]) or read(path))
    first = current_settings()
    assert current_settings() is first and parsed["file"] == 1
    secrets.write_text('[supabase]\nurl = "https://b.supabase.co"\nanon_key = "key-2"\n', encoding="utf-8")
    assert current_settings().supabase.url == "https://b.supabase.co" and parsed["file"] == 2
    monkeypatch.setenv("APP_DATA_DIR", str(tmp_path / "elsewhere"))
    assert current_settings().data_dir == tmp_path / "elsewhere" and parsed["file"] == 3
    assert current_settings() is current_settings() and parsed["file"] == 3
