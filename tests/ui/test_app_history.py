"""Histórico and Atividade under streamlit's AppTest, on the embedded default (SQLite file + sandbox
provider): honest uptime, the events with the drop's reason, one event per connection, the
filters, the lazy tabs and the alerts' section."""

import json
import re
from datetime import datetime, timedelta, timezone

import pytest

from harness.seeding import PASSWORD
from lib.checks import apply_event
from lib.config.settings import load_settings
from lib.context import app_context
from lib.models import InstanceEvent
from lib.presentation import DISPLAY_TIMEZONE
from lib.provider.base import ProviderEvent
from lib.store.sqlite.instances import SQLiteInstanceStore
from tests.support.app_ui import (  # noqa: F401 - fixtures
    admin_app, admin_service, button, cards, connected, context, create_instance, data_dir, signed_in_app, texts,
    unescape_markdown,
)

TAB_KEY = "settings_tab"  # pages/configuracoes.py: the tabs' key
REASON_401 = "Desconectado no celular (aparelho removido)"


def open_activity(at):
    """Click the Atividade tab (AppTest has no tab widget: the tabs' key is set, as a click sets it)."""
    at.session_state[TAB_KEY] = "Atividade"
    at.run()
    assert not at.exception
    return at


def activity(at):
    return at.dataframe[-1].value  # the activity table comes last


def history_of(at, name: str):
    """Open the Histórico of the card `name`: its metrics (label → value) and its events."""
    [history] = [b for b in at.button if b.label == "Histórico" and b.key.endswith(_card_id(at, name))]
    history.click().run()
    assert not at.exception
    return {m.label: m.value for m in at.metric}, at.dataframe[-1].value  # dialogs come after the page


def _card_id(at, name: str) -> str:
    return next(i.id for i in at.session_state["instances"].instances if i.name == name)


def first_connected(context, instance_id: str, at: datetime) -> None:
    """What the store keeps of a crafted instance's first connection (its trigger sets it on a real one)."""
    with context.database.connect() as conn:
        conn.execute("update instances set first_connected_at = ? where id = ?", (at.isoformat(), instance_id))


def sp_time(moment: datetime, pattern: str) -> str:
    return moment.astimezone(DISPLAY_TIMEZONE).strftime(pattern)


def test_history_shows_the_uptime_of_a_crafted_history_and_the_events(context):
    store = SQLiteInstanceStore(context.database)
    row = store.insert_instance(instance_id="sbx-h", token="t", name="Cobrança", created_by=None)
    now = datetime.now(timezone.utc)
    for hours_ago, kind, status in ((48, "connected", "connected"), (6, "dropped", "disconnected"),
                                    (3, "connected", "connected")):  # down 3 h of the last 24 h
        store.add_event(InstanceEvent(row.id, row.name, kind, "monitor", to_status=status,
                                      created_at=now - timedelta(hours=hours_ago)))
    first_connected(context, row.id, now - timedelta(hours=48))
    at = admin_app(context)
    since = sp_time(now - timedelta(hours=48), "%d/%m")
    # 87.5 % a moment ago: the seconds the test takes lower it a hair (it is rounded down)
    assert re.search(rf"Online 87,[45] % em 24 h  ·  1 queda desde {since}$", cards(at)["Cobrança"])
    metrics, events = history_of(at, "Cobrança")
    assert metrics["Online em 24 h"] in ("87,5 %", "87,4 %")
    # 7 and 30 days both reach back to its first connection, 48 h ago: down 3 h of 48, said once
    assert list(metrics) == ["Online em 24 h", f"Online desde {since}"] and metrics[f"Online desde {since}"] == "93,7 %"
    assert len(at.get("vega_lite_chart")) == 1
    assert list(events["O que"]) == ["Conectada", "Caiu", "Conectada"] and list(events["Por"]) == ["monitor"] * 3
    assert list(events.columns[:2]) == ["Quando", "O que"]  # what matters first, pinned: a phone keeps them
    pinned = {name for name, config in json.loads(at.dataframe[-1].proto.columns).items() if config.get("pinned")}
    assert pinned == {"Quando", "O que"}


def test_a_number_says_it_is_not_connected_yet_then_100_percent_since_it_connected(context):
    at = create_instance(admin_app(context), "Nova")
    button(at, "Fechar").click().run()
    assert cards(at)["Nova"].endswith("\nOnline: ainda não conectada")  # not "0 %"
    metrics, _ = history_of(at, "Nova")
    assert metrics == {"Online": "Ainda não conectada"}
    at.run()
    button(at, "Conectar").click().run()
    button(at, "Simular leitura do QR").click().run()
    row = SQLiteInstanceStore(context.database).list_instances()[0]
    since = sp_time(row.first_connected_at, "%H:%M")
    assert cards(at)["Nova"].endswith(f"\nOnline 100 % desde {since}  ·  nenhuma queda")
    metrics, _ = history_of(at, "Nova")
    assert metrics == {f"Online desde {since}": "100 %"}


@pytest.mark.parametrize("first", ["dialog", "provider"])
def test_a_connection_heard_by_the_dialog_and_pushed_by_the_provider_is_one_event(context, first):
    at = create_instance(admin_app(context), "Cobrança")
    button(at, "Fechar").click().run()
    button(at, "Conectar").click().run()
    store = SQLiteInstanceStore(context.database)
    [row] = store.list_instances()
    assert context.sandbox.simulate_scan(row.instance_id)  # the phone scans
    pushed = ProviderEvent(row.instance_id, "connected")
    if first == "dialog":
        at.run()  # the dialog's next poll hears it...
        apply_event(store, pushed)  # ...then the provider's push arrives
    else:
        apply_event(store, pushed)  # the push arrives first...
        at.run()  # ...then the dialog's poll, with the row it read before: its write is refused
    assert not at.exception and cards(at)["Cobrança"].startswith("Conectada\n")
    _, events = history_of(at, "Cobrança")
    assert list(events["O que"]) == ["Conectada", "Conexão solicitada", "Criada"]
    assert list(events["Por"])[0] == ("admin@example.com" if first == "dialog" else "provedor")


def test_a_drop_says_why_in_histórico_and_in_atividade(context):
    live = connected(context)
    apply_event(SQLiteInstanceStore(context.database), ProviderEvent(live.instance_id, "disconnected", None, reason="401"))
    at = admin_app(context)
    assert REASON_401 in cards(at)["Cobrança"]
    _, events = history_of(at, "Cobrança")
    assert (events["O que"][0], events["Detalhe"][0], events["Por"][0]) == ("Caiu", REASON_401, "provedor")
    at = open_activity(signed_in_app(context, "admin@example.com"))
    table = activity(at)
    assert list(table.columns) == ["Quando", "O que", "Instância", "Detalhe", "Etiquetas", "Por", "De", "Para", "Número"]
    assert (table["O que"][0], table["Detalhe"][0]) == ("Caiu", REASON_401)


def test_activity_filters_by_instance_kind_and_person(context):
    service = admin_service(context)
    live = connected(context, "Cobrança")
    service.create("Suporte")
    service.disconnect(live)
    context.accounts.add("analista@example.com", PASSWORD, "analyst")
    at = open_activity(signed_in_app(context, "analista@example.com"))  # every role sees the activity
    assert set(activity(at)["Instância"]) == {"Cobrança", "Suporte"}
    assert "5 eventos" in texts(at)
    at.multiselect(key="activity_names").set_value(["Cobrança"]).run()
    assert set(activity(at)["Instância"]) == {"Cobrança"}
    at.multiselect(key="activity_kinds").set_value(["disconnected"]).run()
    assert list(activity(at)["O que"]) == ["Desconectada por um usuário"]
    assert "1 evento" in [c.value for c in at.caption]
    at.multiselect(key="activity_kinds").set_value([]).run()
    at.multiselect(key="activity_people").set_value(["admin@example.com"]).run()
    assert set(activity(at)["Por"]) == {"admin@example.com"} and len(activity(at)) == 4
    assert "Enviar alerta de teste" not in [b.label for b in at.button]  # admins only
    # pt-BR only: no English "Select all" in any filter (tests/ui/test_browser_history.py: "No results")
    assert [m.proto.select_all for m in at.multiselect if m.key.startswith("activity_")] == [0, 0, 0]


def test_every_kind_the_history_holds_can_be_chosen_in_tipo_with_its_label(context):
    service = admin_service(context)
    instance = service.create("Cobrança").instance
    service.update_details(instance, name="Cobrança 2", owner_id=None, tags=("norte",), notes=None)
    at = open_activity(admin_app(context))
    assert at.multiselect(key="activity_kinds").options == [
        "Criada", "Conexão solicitada", "Conectada", "Desconectada por um usuário", "Caiu", "Status mudou",
        "Excluída", "Token exibido", "Provedor sem resposta", "Provedor voltou a responder", "Alerta enviado",
        "Falha ao enviar alerta", "Reiniciada", "Renomeada", "Dados alterados", "Importada do provedor",
        "Eventos configurados no provedor", "Evento atrasado do provedor (ignorado)", "Não existe mais no provedor",
    ]  # every kind of lib.history.KINDS (the browser's list scrolls: tests/ui/test_browser_history.py)
    at.multiselect(key="activity_kinds").set_value(["renamed", "details_changed"]).run()
    assert list(activity(at)["O que"]) in (["Renomeada", "Dados alterados"], ["Dados alterados", "Renomeada"])


def test_activity_filters_by_the_instances_tags_and_owner_and_shows_their_tags(context):
    service = admin_service(context)
    centro, norte = connected(context, "Centro"), service.create("Norte").instance
    context.accounts.add("ana@example.com", PASSWORD, "analyst")
    ana = context.accounts.find("ana@example.com").user
    service.update_details(centro, name="Centro", owner_id=ana.id, tags=("carteira-A",), notes=None)
    service.update_details(norte, name="Norte", owner_id=None, tags=("carteira-B", "régua-2"), notes=None)
    at = open_activity(admin_app(context))
    tags = dict(zip(activity(at)["Instância"], activity(at)["Etiquetas"]))
    assert tags == {"Centro": "carteira-A", "Norte": "carteira-B, régua-2"}  # as they are now
    at.multiselect(key="activity_tags").set_value(["régua-2"]).run()
    assert set(activity(at)["Instância"]) == {"Norte"}
    at.multiselect(key="activity_tags").set_value([]).run()
    at.selectbox(key="activity_owner").set_value(ana.id).run()
    assert set(activity(at)["Instância"]) == {"Centro"} and "4 eventos" in texts(at)
    at.selectbox(key="activity_owner").set_value("").run()  # "Sem responsável"
    assert set(activity(at)["Instância"]) == {"Norte"}


def test_activity_keeps_to_the_chosen_days_and_says_when_there_is_nothing(context):
    store = SQLiteInstanceStore(context.database)
    row = store.insert_instance(instance_id="sbx-a", token="t", name="Antiga", created_by=None)  # no event of its own
    ten_days_ago = datetime.now(timezone.utc) - timedelta(days=10)
    store.add_event(InstanceEvent(row.id, row.name, "dropped", "monitor", to_status="disconnected",
                                  created_at=ten_days_ago))
    at = open_activity(admin_app(context))
    assert "Nenhum evento com estes filtros no período escolhido." in texts(at)  # the last 7 days: nothing
    assert "activity_csv" not in [b.key for b in at.get("download_button")]
    day = ten_days_ago.astimezone(DISPLAY_TIMEZONE).date()
    at.date_input(key="activity_period").set_value((day, day)).run()
    assert list(activity(at)["Instância"]) == ["Antiga"]
    at.date_input(key="activity_period").set_value((day + timedelta(days=1), day + timedelta(days=2))).run()
    assert "Nenhum evento com estes filtros no período escolhido." in texts(at)

    fresh = store.insert_instance(instance_id="sbx-n", token="t", name="Nova", created_by=None)
    at = signed_in_app(context, "admin@example.com")
    histories = [b for b in at.button if b.label == "Histórico" and b.key.endswith(fresh.id)]
    histories[0].click().run()
    assert not at.exception
    assert "Nenhum evento registrado para esta instância ainda." in texts(at)


def test_only_the_open_tab_is_drawn_and_it_stays_open(context):
    connected(context)
    at = admin_app(context)
    assert "Cobrança" in cards(at)
    assert not [w for w in at.multiselect if w.key.startswith("activity_")]  # Atividade is not drawn
    open_activity(at)
    assert cards(at) == {} and [w.key for w in at.multiselect][:1] == ["activity_kinds"]  # nor Instâncias now
    at.multiselect(key="activity_kinds").set_value(["connected"]).run()  # a widget of the tab...
    at.run()  # ...and a tick of the page
    assert at.session_state[TAB_KEY] == "Atividade" and list(activity(at)["O que"]) == ["Conectada"]
    at.session_state[TAB_KEY] = "Instâncias"
    at.run()
    assert "Cobrança" in cards(at)


@pytest.mark.parametrize("role", ["analyst", "supervisor"])
def test_read_only_roles_see_the_history_but_no_token_and_no_admin_button(context, role):
    live = connected(context)
    token = SQLiteInstanceStore(context.database).instance_token(live.id)
    context.accounts.add(f"{role}@example.com", PASSWORD, role)
    at = signed_in_app(context, f"{role}@example.com")
    assert [b.label for b in at.button if (b.key or "").startswith(("connect-", "disconnect-", "delete-", "drop-"))] == []
    button(at, "Histórico").click().run()
    assert not at.exception and [m.label for m in at.metric] == [f"Online desde {sp_time(live.first_connected_at, '%H:%M')}"]
    assert token not in texts(at) and all(token not in str(df.value.values) for df in at.dataframe)


def test_admins_test_the_alerts_and_see_a_failure_until_the_next_success(data_dir, monkeypatch):
    from tests.support.receiver import Receiver

    with Receiver(status=500) as receiver:
        monkeypatch.setenv("ALERT_URLS", f"json://127.0.0.1:{receiver.port}/canal")
        context = app_context(load_settings())
        at = open_activity(admin_app(context))
        assert "Canais configurados: JSON." in texts(at)
        button(at, "Enviar alerta de teste").click().run()
        assert any("O alerta de teste falhou" in unescape_markdown(e.value) for e in at.error)
        at.session_state[TAB_KEY] = "Instâncias"
        at.run()
        assert "Os alertas não estão chegando" in texts(at)  # the banner on the Instâncias tab
        receiver.status = 200
        button(open_activity(at), "Enviar alerta de teste").click().run()
        assert "Alerta de teste enviado." in texts(at)
        at.session_state[TAB_KEY] = "Instâncias"
        at.run()
        assert "Os alertas não estão chegando" not in texts(at)
    assert [e.kind for e in SQLiteInstanceStore(context.database).events(oldest_first=True)] == [
        "alert_failed", "alert_sent"]


def test_without_alert_urls_admins_are_told_how_to_set_them(context):
    at = open_activity(admin_app(context))
    assert "Nenhum canal de alerta configurado" in texts(at)
