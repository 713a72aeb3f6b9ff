"""The Instâncias tab's cards and dialogs under streamlit's AppTest, on the embedded default: a drop
shown on every open session without a click, the connect dialog over time, an instance the provider
forgot, hostile names on every path, the empty state, a token revealed, search and filters."""

from __future__ import annotations

import re

import requests

from harness.apptest import log_in, new_app, signed_in_app
from harness.seeding import PASSWORD
from lib.store.sqlite.instances import SQLiteInstanceStore
from tests.support.app_ui import (  # noqa: F401 - context and data_dir are fixtures
    HOSTILE, admin_app, admin_service, assert_inert, button, cards, connected, context, create_instance, data_dir,
    admin_user, field, markdown_values, stored, texts,
)


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


def test_the_banners_of_a_sign_in_outlive_a_reload_until_dismissed(context):
    from lib.checks import apply_event
    from lib.provider.base import ProviderEvent

    live = connected(context, "Cobrança 33")
    sign_in = context.sessions.create(admin_user(context), user_agent="AppTest")
    page = signed_in_app(context, "admin@example.com", session_id=sign_in)
    apply_event(SQLiteInstanceStore(context.database), ProviderEvent(live.instance_id, "disconnected", None))

    def banners(at) -> list[str]:
        return [e.value for e in at.error if e.value.startswith("Caiu: Cobrança 33")]

    assert len(banners(page.run())) == 1
    reloaded = signed_in_app(context, "admin@example.com", session_id=sign_in)  # F5, or a new tab
    assert len(banners(reloaded)) == 1
    [dismiss] = [b for b in reloaded.button if b.label == "Dispensar"]
    dismiss.click().run()
    assert banners(reloaded) == []
    assert banners(signed_in_app(context, "admin@example.com", session_id=sign_in)) == []  # dismissed for good
    assert banners(signed_in_app(context, "admin@example.com")) == []  # a sign-in after the drop: the cards say it
