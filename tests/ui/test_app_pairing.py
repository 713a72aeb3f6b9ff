"""Connecting by pairing code in the connect dialog, under AppTest on the embedded default (SQLite file
+ sandbox provider)."""

from __future__ import annotations

import re

from lib.ui.connect_dialog import TAB_CODE, TAB_KEY, TAB_QR
from tests.support.app_ui import (  # noqa: F401 - context and data_dir are fixtures
    admin_app, button, cards, context, create_instance, data_dir, stored, texts,
)

PHONE_LABEL = "Número do WhatsApp, com DDI e DDD"
MSG_NO_COUNTRY_CODE = "Falta o DDI: coloque +55 antes do DDD, ex.: +55 11 99999-8888."
MSG_OLD_MOBILE = ("Depois de +55 e do DDD, um celular tem 9 dígitos começando com 9 (+55 11 99999-8888) "
                  "e um fixo, 8 dígitos começando com 2 a 5 (+55 11 3333-4444).")
STEPS = "WhatsApp → Aparelhos conectados → Conectar aparelho → Conectar com número de telefone"
WAITING_FOR_CODE = "Aguardando o código ser digitado no celular…"
GROUPED_CODE = re.compile(r"^[ABCDEFGHJKMNPQRSTUVWXYZ23456789]{4}-[ABCDEFGHJKMNPQRSTUVWXYZ23456789]{4}$")


def open_connect_dialog(context, name="Cobrança"):
    at = create_instance(admin_app(context), name)
    button(at, "Fechar").click().run()
    button(at, "Conectar").click().run()
    assert not at.exception
    return at


def dialog_state(at):
    kind, state = at.session_state["open_dialog"]
    assert kind == "connect"
    return state


def ask_for_code(at, number: str):
    [phone] = [t for t in at.text_input if t.label == PHONE_LABEL]
    phone.input(number)
    [generate] = [b for b in at.button if b.label in ("Gerar código", "Gerar novo código")]
    generate.click().run()
    assert not at.exception
    return at


def shown_codes(at) -> list[str]:
    return [str(c.value) for c in at.code]


def test_the_dialog_offers_the_qr_and_the_code_tabs_and_starts_on_the_qr(context):
    at = open_connect_dialog(context)
    assert [t.label for t in at.tabs if t.label in (TAB_QR, TAB_CODE)] == [TAB_QR, TAB_CODE]
    assert dialog_state(at).tab == TAB_QR and at.session_state[TAB_KEY] == TAB_QR
    assert len(at.get("image")) == 1  # the QR tab, as before
    assert STEPS in texts(at) and [t.label for t in at.text_input if t.label != "Buscar"] == [PHONE_LABEL]
    assert "Gerar código" in [b.label for b in at.button] and shown_codes(at) == []


def test_an_invalid_number_is_refused_saying_why_until_the_next_try(context):
    at = open_connect_dialog(context)
    [(instance, _)] = stored(context)
    ask_for_code(at, "(11) 99999-8888")  # no 55
    assert MSG_NO_COUNTRY_CODE in texts(at)
    assert shown_codes(at) == [] and "Simular código" not in [b.label for b in at.button]
    at.run()  # a polling tick: the message stays
    assert MSG_NO_COUNTRY_CODE in texts(at)
    ask_for_code(at, "+55 11 9876-4321")  # an old 8-digit mobile
    assert MSG_OLD_MOBILE in texts(at) and MSG_NO_COUNTRY_CODE not in texts(at)
    assert not context.sandbox.simulate_code(instance.instance_id, "")  # no code was asked of the provider
    ask_for_code(at, "+55 11 98765-4321")
    assert MSG_OLD_MOBILE not in texts(at) and len(shown_codes(at)) == 1


def test_a_landline_gets_a_code_with_the_number_shown_formatted(context):
    at = open_connect_dialog(context)
    ask_for_code(at, "+55 (11) 3333-4444")
    assert dialog_state(at).pairing_phone == "551133334444" and len(shown_codes(at)) == 1
    assert f"Código para +55 11 3333-4444. {WAITING_FOR_CODE}" in texts(at)


def test_a_valid_number_shows_the_code_grouped_and_simulating_it_connects_that_number(context):
    at = open_connect_dialog(context)
    ask_for_code(at, "+55 (11) 98765-4321")
    state = dialog_state(at)
    [code] = shown_codes(at)
    assert GROUPED_CODE.match(code), code
    assert code.replace("-", "") == state.pairing_code
    assert f"Código para +55 11 98765-4321. {WAITING_FOR_CODE}" in texts(at)
    assert STEPS in texts(at)
    assert state.tab == TAB_CODE  # the button was in the code tab
    assert cards(at)["Cobrança"].startswith("Aguardando QR\n")
    at.run()  # a polling tick, and the tab recorded for the next full rerun
    assert shown_codes(at) == [code] and at.session_state[TAB_KEY] == TAB_CODE
    button(at, "Simular código").click().run()
    assert not at.exception
    assert WAITING_FOR_CODE not in texts(at) and shown_codes(at) == []  # the dialog closed by itself
    assert re.match(r"Conectada\nConectada desde \d\d:\d\d  ·  \+55 11 98765-4321\n", cards(at)["Cobrança"])
    assert any("conectada: +55 11 98765-4321" in t.value for t in at.toast)


def test_a_code_asked_for_a_number_connected_meanwhile_closes_the_dialog_as_connected(context, monkeypatch):
    """The phone connected (the QR scanned) after the dialog last read the status, and that read
    lags behind the provider (fault injected: the status read returns what the dialog had): the
    provider's answer to the code request says it is connected, and the dialog says so and closes."""
    from lib.instances import InstanceService

    at = open_connect_dialog(context)
    [(instance, _)] = stored(context)
    assert context.sandbox.simulate_scan(instance.instance_id)
    monkeypatch.setattr(InstanceService, "check_status", lambda self, known: known)
    ask_for_code(at, "+55 11 98765-4321")
    assert WAITING_FOR_CODE not in texts(at) and shown_codes(at) == []
    assert "open_dialog" not in at.session_state or at.session_state["open_dialog"] is None
    assert any("Instância Cobrança conectada" in t.value for t in at.toast)


def test_the_qr_is_not_fetched_while_the_code_tab_is_open(context):
    at = open_connect_dialog(context)
    [(instance, _)] = stored(context)
    qr_url = context.sandbox.scan_url(instance.instance_id)
    ask_for_code(at, "5511987654321")
    dialog_state(at).qr_fetched_at -= 16  # the QR is due for a refresh
    at.run()
    assert context.sandbox.scan_url(instance.instance_id) == qr_url  # no connect for a new QR
    assert not at.get("image") and "Um novo QR Code é gerado ao abrir esta aba." in texts(at)
    assert len(shown_codes(at)) == 1
    dialog_state(at).tab = TAB_QR  # what switching back to the QR tab records (_tab_changed)
    at.run()
    assert context.sandbox.scan_url(instance.instance_id) != qr_url  # a new QR at once
    assert len(at.get("image")) == 1 and at.session_state[TAB_KEY] == TAB_QR
    assert context.sandbox.simulate_code(instance.instance_id, dialog_state(at).pairing_code)  # the code still works
    at.run()
    assert cards(at)["Cobrança"].startswith("Conectada\n")


def test_after_two_minutes_without_the_code_a_new_one_is_asked_for_the_same_number(context):
    at = open_connect_dialog(context)
    [(instance, _)] = stored(context)
    ask_for_code(at, "+55 21 98765-4321")
    first = dialog_state(at).pairing_code
    dialog_state(at).started_at -= 121
    at.run()
    assert "O código de pareamento não foi digitado em 2 minutos." in texts(at) and shown_codes(at) == []
    button(at, "Gerar novo código").click().run()
    assert not at.exception
    state = dialog_state(at)
    assert state.tab == TAB_CODE and state.pairing_phone == "5521987654321" and state.qr_png is None
    assert len(shown_codes(at)) == 1 and "Código para +55 21 98765-4321." in texts(at)
    assert [t.value for t in at.text_input if t.label == PHONE_LABEL] == ["+55 21 98765-4321"]
    if state.pairing_code != first:  # (random codes: equal about once in 10^12)
        assert not context.sandbox.simulate_code(instance.instance_id, first)  # replaced
    assert context.sandbox.simulate_code(instance.instance_id, state.pairing_code)
    at.run()
    assert cards(at)["Cobrança"].startswith("Conectada\nConectada desde")


def test_the_next_qr_is_asked_for_before_the_old_one_expires_whatever_the_tick(monkeypatch):
    """A QR lasts about 20 s and the dialog asks only on a tick: at 15 s with the default 3 s tick,
    earlier with a slower one, so that the new QR is there before the old one expires."""
    from lib.ui.connect_dialog import qr_refresh_seconds

    assert qr_refresh_seconds() == 15
    monkeypatch.setenv("APP_LIVE_SECONDS", "5")
    assert qr_refresh_seconds() == 13 and qr_refresh_seconds() + 5 < 20
