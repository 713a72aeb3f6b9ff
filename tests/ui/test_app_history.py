"""Histórico and Atividade under streamlit's AppTest, on the embedded default (SQLite file + sandbox
provider): uptime, the timeline, the events, the filters and the alerts' section."""

import re

import pytest

from harness.seeding import PASSWORD
from lib.config.settings import load_settings
from lib.context import app_context
from lib.store.sqlite.instances import SQLiteInstanceStore
from tests.ui.test_app_ui import (  # noqa: F401 - fixtures
    admin_app, admin_service, button, cards, connected, context, data_dir, signed_in_app, texts, unescape_markdown,
)


def test_history_shows_the_uptime_of_a_crafted_history_and_the_events(context):
    from datetime import datetime, timedelta, timezone

    from lib.models import InstanceEvent

    store = SQLiteInstanceStore(context.database)
    row = store.insert_instance(instance_id="sbx-h", token="t", name="Cobrança", created_by=None)
    now = datetime.now(timezone.utc)
    for hours_ago, kind, status in ((48, "connected", "connected"), (6, "dropped", "disconnected"),
                                    (3, "connected", "connected")):  # down 3 h of the last 24 h
        store.add_event(InstanceEvent(row.id, row.name, kind, "monitor", to_status=status,
                                      created_at=now - timedelta(hours=hours_ago)))
    at = admin_app(context)
    # 87.5 % a moment ago: the seconds the test takes lower it a hair (it is rounded down)
    assert re.search(r"Online 87,[45] % em 24 h  ·  1 queda em 7 dias", cards(at)["Cobrança"])
    button(at, "Histórico").click().run()
    assert not at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Online em 24 h"] in ("87,5 %", "87,4 %")
    # known from its first event, 48 h ago: down 3 h of 48
    assert (metrics["Online em 7 dias"], metrics["Online em 30 dias"]) == ("93,7 %", "93,7 %")
    assert len(at.get("vega_lite_chart")) == 1
    events = at.dataframe[-1].value  # the dialog's (dialogs come after the page)
    assert list(events["O que"]) == ["Conectada", "Caiu", "Conectada"] and list(events["Por"]) == ["monitor"] * 3


def test_activity_filters_by_instance_kind_and_person(context):
    service = admin_service(context)
    live = connected(context, "Cobrança")
    service.create("Suporte")
    service.disconnect(live)
    context.accounts.add("analista@example.com", PASSWORD, "analyst")
    at = signed_in_app(context, "analista@example.com")  # every role sees the activity
    activity = lambda: at.dataframe[-1].value  # noqa: E731 - the activity table comes last
    assert set(activity()["Instância"]) == {"Cobrança", "Suporte"}
    at.multiselect(key="activity_names").set_value(["Cobrança"]).run()
    assert set(activity()["Instância"]) == {"Cobrança"}
    at.multiselect(key="activity_kinds").set_value(["disconnected"]).run()
    assert list(activity()["O que"]) == ["Desconectada por um usuário"]
    at.multiselect(key="activity_kinds").set_value([]).run()
    at.multiselect(key="activity_people").set_value(["admin@example.com"]).run()
    assert set(activity()["Por"]) == {"admin@example.com"} and len(activity()) == 4
    assert "Enviar alerta de teste" not in [b.label for b in at.button]  # admins only


def test_activity_keeps_to_the_chosen_days_and_says_when_there_is_nothing(context):
    from datetime import datetime, timedelta, timezone

    from lib.models import InstanceEvent
    from lib.presentation import DISPLAY_TIMEZONE

    store = SQLiteInstanceStore(context.database)
    row = store.insert_instance(instance_id="sbx-a", token="t", name="Antiga", created_by=None)  # no event of its own
    ten_days_ago = datetime.now(timezone.utc) - timedelta(days=10)
    store.add_event(InstanceEvent(row.id, row.name, "dropped", "monitor", to_status="disconnected",
                                  created_at=ten_days_ago))
    at = admin_app(context)
    assert "Nenhum evento com estes filtros no período escolhido." in texts(at)  # the last 7 days: nothing
    assert "activity_csv" not in [b.key for b in at.get("download_button")]
    day = ten_days_ago.astimezone(DISPLAY_TIMEZONE).date()
    at.date_input(key="activity_period").set_value((day, day)).run()
    assert list(at.dataframe[-1].value["Instância"]) == ["Antiga"]
    at.date_input(key="activity_period").set_value((day + timedelta(days=1), day + timedelta(days=2))).run()
    assert "Nenhum evento com estes filtros no período escolhido." in texts(at)

    fresh = store.insert_instance(instance_id="sbx-n", token="t", name="Nova", created_by=None)
    at = signed_in_app(context, "admin@example.com")
    histories = [b for b in at.button if b.label == "Histórico" and b.key.endswith(fresh.id)]
    histories[0].click().run()
    assert not at.exception
    assert "Nenhum evento registrado para esta instância ainda." in texts(at)


@pytest.mark.parametrize("role", ["analyst", "supervisor"])
def test_read_only_roles_see_the_history_but_no_token_and_no_admin_button(context, role):
    live = connected(context)
    token = SQLiteInstanceStore(context.database).instance_token(live.id)
    context.accounts.add(f"{role}@example.com", PASSWORD, role)
    at = signed_in_app(context, f"{role}@example.com")
    assert [b.label for b in at.button if (b.key or "").startswith(("connect-", "disconnect-", "delete-", "drop-"))] == []
    button(at, "Histórico").click().run()
    assert not at.exception and len(at.metric) == 3
    assert token not in texts(at) and all(token not in str(df.value.values) for df in at.dataframe)


def test_admins_test_the_alerts_and_see_a_failure_until_the_next_success(data_dir, monkeypatch):
    from tests.support.receiver import Receiver

    with Receiver(status=500) as receiver:
        monkeypatch.setenv("ALERT_URLS", f"json://127.0.0.1:{receiver.port}/canal")
        context = app_context(load_settings())
        at = admin_app(context)
        assert "Canais configurados: JSON." in texts(at)
        button(at, "Enviar alerta de teste").click().run()
        assert any("O alerta de teste falhou" in unescape_markdown(e.value) for e in at.error)
        at.run()
        assert "Os alertas não estão chegando" in texts(at)  # the banner on the Instâncias tab
        receiver.status = 200
        button(at, "Enviar alerta de teste").click().run()
        assert "Alerta de teste enviado." in texts(at)
        at.run()
        assert "Os alertas não estão chegando" not in texts(at)
    assert [e.kind for e in SQLiteInstanceStore(context.database).events(oldest_first=True)] == [
        "alert_failed", "alert_sent"]


def test_without_alert_urls_admins_are_told_how_to_set_them(context):
    at = admin_app(context)
    assert "Nenhum canal de alerta configurado" in texts(at)
