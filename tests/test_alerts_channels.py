"""Alert channels through Apprise to a real loopback receiver (json://): the test alert, the settings
checked without echoing a URL, no secret in a log, a slow channel failing alone, a name that
reaches a chat as a name only, and why a number dropped (the rules: tests/test_alerts.py)."""

from __future__ import annotations

import json
import logging
import queue
from datetime import datetime, timezone

import pytest
from apprise.plugins.discord import NotifyDiscord
from apprise.plugins.slack import NotifySlack
from apprise.plugins.telegram import NotifyTelegram

from lib.alerts.message import compose
from lib.alerts.rules import AlertRules
from lib.alerts.sender import AlertSender, url_secrets
from lib.config.settings import AlertSettings, load_settings
from lib.errors import ConfigError
from lib.checks import apply_event
from lib.provider.base import ProviderEvent
from tests.support.receiver import Receiver
from tests.test_instances import connected_instance, make_service, sandbox  # noqa: F401 - fixtures
from tests.test_alerts import (  # noqa: F401 - alerts, clock, receiver and store are fixtures
    SECRET_PATH, alerts, clock, messages, receiver, settle, store,
)


def test_the_test_alert_reaches_the_channel(receiver):
    sender = AlertSender((f"json://127.0.0.1:{receiver.port}/",))
    assert sender.send(compose("test", None, now=datetime.now(timezone.utc))) is None
    assert receiver.next()[2]["title"] == "Alerta de teste do painel de instâncias WhatsApp"
    assert sender.channels() == ["JSON"]


def test_alert_settings_are_validated_without_echoing_the_urls():
    settings = load_settings({"alerts": {"urls": ["tgram://123456:ABCDEF/987"], "cooldown_minutes": 5}}, {})
    assert settings.alerts.enabled and settings.alerts.cooldown_minutes == 5
    assert "ABCDEF" not in repr(settings)
    with pytest.raises(ConfigError) as info:
        load_settings({}, {"ALERT_URLS": "json://127.0.0.1/ isto-nao-e-url-secreta"})
    assert "item 2" in info.value.message and "secreta" not in info.value.message
    with pytest.raises(ConfigError, match="alerts.on"):
        load_settings({}, {"ALERT_URLS": "json://127.0.0.1/", "ALERT_ON": "dropped, explodiu"})


def test_a_telegram_bot_token_is_scrubbed_from_the_logs():
    from lib.alerts.sender import _Redact

    url = "tgram://123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw/-1001234567890"
    redact = _Redact(url_secrets(url))
    line = "Telegram POST URL: https://api.telegram.org/bot123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw/sendMessage"
    scrubbed = redact.scrub(line)
    assert "AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw" not in scrubbed and "-1001234567890" not in redact.scrub(url)


MISTYPED_BOT_TOKEN = "123456789:AAH-quaseOTokenCerto!!xx"  # one typo away from the real one


def test_a_mistyped_alert_url_never_reaches_the_logs(caplog):
    """Apprise logs a malformed credential in full while it reads a URL: checking the settings
    and starting the sender must not let it through."""
    caplog.set_level(logging.DEBUG)
    with pytest.raises(ConfigError):
        load_settings({}, {"ALERT_URLS": f"tgram://{MISTYPED_BOT_TOKEN}/-1001234567890"})
    sender = AlertSender((f"tgram://{MISTYPED_BOT_TOKEN}/-1001234567890",))
    assert sender.send(compose("test", None, now=datetime.now(timezone.utc))) == "nenhum canal de alerta válido"
    assert "quaseOTokenCerto" not in caplog.text


TRICKLE_SECONDS = 0.05  # one byte every 50 ms: every read is answered in time, the answer takes 50 s


def test_a_trickling_channel_fails_alone_and_never_holds_up_the_healthy_one_or_the_sender(
        store, receiver, make_service, sandbox, clock):
    with Receiver(trickle_seconds=TRICKLE_SECONDS) as slow:
        urls = (f"json://127.0.0.1:{slow.port}/{SECRET_PATH}", f"json://127.0.0.1:{receiver.port}/")
        rules = AlertRules(store, AlertSettings(urls=urls), AlertSender(urls, limit_seconds=0.3), clock=clock)
        rules.poll()
        service = make_service()
        for name in ("Cobrança 1", "Cobrança 2", "Cobrança 3"):
            live = connected_instance(service, sandbox, name)
            apply_event(store, ProviderEvent(live.instance_id, "disconnected", None))
            rules.poll()
            settle(rules)  # the sender is free again...
        assert not slow.answered.is_set()  # ...while the slow channel is still answering the first drop
        assert [m["title"] for m in messages(receiver)] == [
            "WhatsApp caiu: Cobrança 1", "WhatsApp caiu: Cobrança 2", "WhatsApp caiu: Cobrança 3"]
        assert slow.received.qsize() == 1  # one send in flight there: the next ones did not pile up behind it
        assert [e.detail for e in store.events(kinds=["alert_failed"], oldest_first=True)] == [
            "queda: JSON 1: tempo esgotado após 0,3 s (entregue: JSON 2)",
            "queda: JSON 1: sem resposta (o envio anterior ainda não terminou) (entregue: JSON 2)",
            "queda: JSON 1: sem resposta (o envio anterior ainda não terminou) (entregue: JSON 2)",
        ]
        assert store.events(kinds=["alert_sent"]) == []


def test_the_test_alert_never_waits_behind_a_background_send_that_hangs(receiver):
    with Receiver(trickle_seconds=TRICKLE_SECONDS) as slow:
        sender = AlertSender((f"json://127.0.0.1:{slow.port}/", f"json://127.0.0.1:{receiver.port}/"),
                             limit_seconds=0.3)
        test_alert = compose("test", None, now=datetime.now(timezone.utc))
        background = queue.Queue()
        sender.submit(test_alert, lambda alert, reason: background.put(reason))  # as the monitor's alerts
        assert background.get(timeout=10) == "JSON 1: tempo esgotado após 0,3 s (entregue: JSON 2)"
        assert sender.send(test_alert) == (
            "JSON 1: sem resposta (o envio anterior ainda não terminou) (entregue: JSON 2)")
        assert not slow.answered.is_set()  # the test answered while the slow channel still answers the first send
        assert slow.received.qsize() == 1 and receiver.received.qsize() == 2


def test_the_test_alert_gives_up_on_a_trickling_channel_at_the_limit(receiver):
    with Receiver(trickle_seconds=TRICKLE_SECONDS) as slow:
        sender = AlertSender((f"json://127.0.0.1:{slow.port}/", f"json://127.0.0.1:{receiver.port}/"),
                             limit_seconds=0.3)
        reason = sender.send(compose("test", None, now=datetime.now(timezone.utc)))
        assert reason == "JSON 1: tempo esgotado após 0,3 s (entregue: JSON 2)" and not slow.answered.is_set()
        assert sender.channels() == ["JSON 1", "JSON 2"]


HOSTILE_NAME = "<SP> <!channel> <@U123> @everyone [clique](https://e.co)"
# ...as every channel must show it: nothing in it pings, links or is markup (see lib.alerts.message.inert)
SHOWN_NAME = "‹SP› ‹!channel› ‹@\u200bU123› @\u200beveryone [clique]\u200b(https://e.co)"
CHAT_SERVICES = {  # the plugin, its API's address (pointed at the receiver) and a URL for it
    "telegram": (NotifyTelegram, "notify_url", "/bot", "tgram://123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw/-100123"),
    "slack": (NotifySlack, "webhook_url", "/services", "slack://T0000000/B0000000/XXXXXXXXXXXXXXXXXXXXXXXX/#cobranca"),
    "discord": (NotifyDiscord, "notify_url", "/api/webhooks", "discord://1234567890/abcdefghijklmnop"),
}


@pytest.mark.parametrize("service", list(CHAT_SERVICES))
def test_a_name_reaches_chat_channels_as_a_name_only(service, make_service, sandbox, monkeypatch):
    """Each plugin builds its real request and sends it to a loopback receiver standing in for the
    service's API: only the API's base address is patched, on the plugin class."""
    plugin, address, path, url = CHAT_SERVICES[service]
    live = connected_instance(make_service(), sandbox, HOSTILE_NAME)
    with Receiver(reply=b"ok") as api:  # Slack's webhooks answer "ok"; the others, any 200
        monkeypatch.setattr(plugin, address, f"http://127.0.0.1:{api.port}{path}")
        assert AlertSender((url,)).send(compose("dropped", live, now=datetime.now(timezone.utc))) is None
        _, _, body = api.next()
    if service == "telegram":  # HTML: Apprise escapes plain text, and the name has nothing left to escape
        assert body["parse_mode"] == "HTML"
        assert body["text"].startswith(f"<b>WhatsApp caiu: {SHOWN_NAME}</b>\r\nA instância {SHOWN_NAME} (número ")
    elif service == "slack":
        [attachment] = body["attachments"]
        assert body["mrkdwn"] is False  # plain text: Slack's markup is not read either
        assert attachment["title"] == f"WhatsApp caiu: {SHOWN_NAME}"
        assert attachment["text"].startswith(f"A instância {SHOWN_NAME} (número ")
    else:  # Discord takes plain text as it is: no allowed_mentions, so a raw @everyone would ping
        assert "allowed_mentions" not in body
        assert body["content"].startswith(f"WhatsApp caiu: {SHOWN_NAME}\r\nA instância {SHOWN_NAME} (número ")
    sent = json.dumps(body, ensure_ascii=False)
    for live_markup in ("<SP>", "<!channel>", "<@", "@everyone", "](", "&lt;"):
        assert live_markup not in sent


def test_a_drop_alert_says_why_the_number_dropped(store, alerts, receiver, make_service, sandbox):
    live = connected_instance(make_service(), sandbox)
    apply_event(store, ProviderEvent(live.instance_id, "disconnected", None, reason="403", at=1))
    alerts.poll()
    settle(alerts)
    [message] = messages(receiver)
    assert "Motivo: Número bloqueado pelo WhatsApp." in message["message"]
