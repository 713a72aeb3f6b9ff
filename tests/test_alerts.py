"""Alerts through Apprise to a real loopback receiver (json://), driven as the monitor drives them:
the rules read the history after each check; sending runs on its own thread."""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta, timezone

import pytest

from lib.alerts.rules import AlertRules, alert_banner
from lib.alerts.sender import AlertSender
from lib.config.settings import AlertSettings
from lib.checks import apply_event
from lib.monitor import StatusMonitor
from lib.provider.base import ProviderEvent
from lib.provider.webhooks import WebhookClient
from lib.store.sqlite.instances import SQLiteInstanceStore
from tests.support.receiver import Receiver
from tests.test_instances import connected_instance, make_service, sandbox  # noqa: F401 - fixtures

SECRET_PATH = "segredo-do-canal-8f3a"


@pytest.fixture
def receiver():
    with Receiver() as server:
        yield server


@pytest.fixture
def store(database):
    return SQLiteInstanceStore(database)


class Clock:
    def __init__(self):
        self.now = datetime.now(timezone.utc)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def alerts(store, receiver, clock):
    """The rules and sender the monitor would run, sending to the receiver."""
    url = f"json://127.0.0.1:{receiver.port}/{SECRET_PATH}"
    sender = AlertSender((url,))
    rules = AlertRules(store, AlertSettings(urls=(url,)), sender, public_url="https://painel.example.com", clock=clock)
    rules.poll()  # started: what happened before is not news
    return rules


def settle(rules: AlertRules) -> None:
    """Wait until every alert submitted has been sent (or has failed) and recorded."""
    deadline = time.monotonic() + 15
    while not rules.sender.idle():
        assert time.monotonic() < deadline, "the alert sender never finished"
        time.sleep(0.02)


def messages(receiver: Receiver) -> list[dict]:
    found = []
    while not receiver.received.empty():
        found.append(receiver.received.get()[2])
    return found


def drop(store, live, source="provider_event"):
    if source == "provider_event":
        apply_event(store, ProviderEvent(live.instance_id, "disconnected", None))


def test_a_pushed_drop_sends_one_alert_in_portuguese(store, alerts, receiver, make_service, sandbox):
    live = connected_instance(make_service(), sandbox)
    apply_event(store, ProviderEvent(live.instance_id, "disconnected", None))
    alerts.poll()
    settle(alerts)
    [message] = messages(receiver)
    assert message["title"] == "WhatsApp caiu: Cobrança"
    phone = live.phone_number
    assert f"A instância Cobrança (número +55 11 {phone[5:10]}-{phone[10:]}) está desconectada desde" in message["message"]
    assert message["message"].endswith("Painel: https://painel.example.com")
    [sent] = store.events(kinds=["alert_sent"])
    assert sent.instance_id == live.id and sent.detail.startswith("queda: ")


def test_a_drop_after_a_recovery_is_always_sent_whatever_the_cooldown(store, alerts, receiver, make_service, sandbox):
    live = connected_instance(make_service(), sandbox)
    for status in ("disconnected", "connected", "disconnected"):
        apply_event(store, ProviderEvent(live.instance_id, status, None))
        alerts.poll()
    settle(alerts)
    assert [m["title"] for m in messages(receiver)] == [
        "WhatsApp caiu: Cobrança", "WhatsApp voltou: Cobrança", "WhatsApp caiu: Cobrança"]


def test_a_stale_open_between_two_closes_never_silences_the_drop(store, alerts, receiver, make_service, sandbox):
    """open → close → (stale) open → close, as the provider's times say: the number is down, and the
    team heard it went down, not that it came back."""
    live = connected_instance(make_service(), sandbox)
    for status, at in (("connected", 1_000), ("disconnected", 2_000), ("connected", 1_500), ("disconnected", 2_500)):
        apply_event(store, ProviderEvent(live.instance_id, status, None, at=at))
        alerts.poll()
    settle(alerts)
    assert [m["title"] for m in messages(receiver)] == ["WhatsApp caiu: Cobrança"]
    assert store.get_instance(live.id).status == "disconnected"


def test_a_second_drop_within_the_cooldown_without_a_recovery_between_sends_nothing(store, alerts, receiver,
                                                                                    make_service, sandbox):
    live = connected_instance(make_service(), sandbox)
    apply_event(store, ProviderEvent(live.instance_id, "disconnected", None))
    alerts.poll()
    apply_event(store, ProviderEvent(live.instance_id, "connected", None))  # back, not alerted: it was never told
    alerts._down_since.clear()
    alerts.poll()
    apply_event(store, ProviderEvent(live.instance_id, "disconnected", None))
    alerts.poll()
    settle(alerts)
    assert [m["title"] for m in messages(receiver)] == ["WhatsApp caiu: Cobrança"]


def test_a_flapping_instance_sends_one_unstable_alert_instead_of_one_per_drop(store, alerts, receiver,
                                                                              make_service, sandbox):
    live = connected_instance(make_service(), sandbox)
    for _ in range(6):
        for status in ("disconnected", "connected"):
            apply_event(store, ProviderEvent(live.instance_id, status, None))
            alerts.poll()
    settle(alerts)
    titles = [m["title"] for m in messages(receiver)]
    assert titles == ["WhatsApp caiu: Cobrança", "WhatsApp voltou: Cobrança"] * 3 + ["Instância instável: Cobrança"]


def test_a_drop_the_monitor_finds_is_alerted_once_a_second_check_confirms_it(store, alerts, receiver,
                                                                             make_service, sandbox):
    live = connected_instance(make_service(), sandbox)
    monitor = StatusMonitor(store, WebhookClient(sandbox.webhook_settings()), interval_seconds=60, alerts=alerts)
    sandbox.simulate_drop(live.instance_id)  # not pushed here: this sandbox was never told where
    monitor.sweep()
    settle(alerts)
    assert messages(receiver) == [] and [i.id for i in alerts.pending] == [live.id]  # one check is not enough
    monitor.confirm_drops()
    settle(alerts)
    assert [m["title"] for m in messages(receiver)] == ["WhatsApp caiu: Cobrança"]


def test_a_blip_back_before_the_second_check_sends_nothing(store, alerts, receiver, make_service, sandbox):
    service = make_service()
    live = connected_instance(service, sandbox)
    monitor = StatusMonitor(store, WebhookClient(sandbox.webhook_settings()), interval_seconds=60, alerts=alerts)
    sandbox.simulate_drop(live.instance_id)
    monitor.sweep()
    service.connect(store.get_instance(live.id))
    sandbox.simulate_scan(live.instance_id)
    monitor.confirm_drops()
    settle(alerts)
    assert messages(receiver) == [] and alerts.pending == []


def test_stuck_connecting_is_alerted_once_after_ten_minutes(store, alerts, receiver, make_service, sandbox, clock):
    service = make_service()
    connecting = service.connect(service.create("Cobrança").instance).instance
    alerts.after_check([connecting])
    clock.now += timedelta(minutes=11)
    alerts.after_check([connecting])
    alerts.after_check([connecting])
    settle(alerts)
    [message] = messages(receiver)
    assert message["title"] == "Instância parada em Conectando: Cobrança"
    assert "aguarda a leitura do QR Code desde" in message["message"]


def test_a_receiver_that_fails_is_recorded_shown_to_admins_and_the_monitor_keeps_sweeping(
        store, make_service, sandbox, caplog):
    caplog.set_level(logging.DEBUG)
    with Receiver(status=500) as broken:
        url = f"json://usuario:senha-do-canal@127.0.0.1:{broken.port}/{SECRET_PATH}"
        rules = AlertRules(store, AlertSettings(urls=(url,)), AlertSender((url,)))
        monitor = StatusMonitor(store, WebhookClient(sandbox.webhook_settings()), interval_seconds=60, alerts=rules)
        live = connected_instance(make_service(), sandbox)
        monitor.sweep()
        apply_event(store, ProviderEvent(live.instance_id, "disconnected", None))
        rules.poll()
        settle(rules)
        assert broken.next()[2]["title"] == "WhatsApp caiu: Cobrança"  # it was tried
        [failed] = store.events(kinds=["alert_failed"])
        assert alert_banner(store) == failed and failed.detail.startswith("queda: ")
        assert monitor.sweep() is not None  # the monitor goes on
    for secret in (SECRET_PATH, "senha-do-canal"):
        assert secret not in failed.detail and secret not in caplog.text


def test_a_receiver_that_hangs_does_not_hold_up_the_sweep(store, make_service, sandbox):
    with Receiver() as hanging:
        hanging.hang.set()
        url = f"json://127.0.0.1:{hanging.port}/?rto=60"  # Apprise waits for the answer as long as it takes
        rules = AlertRules(store, AlertSettings(urls=(url,)), AlertSender((url,)))
        monitor = StatusMonitor(store, WebhookClient(sandbox.webhook_settings()), interval_seconds=60, alerts=rules)
        live = connected_instance(make_service(), sandbox)
        monitor.sweep()
        apply_event(store, ProviderEvent(live.instance_id, "disconnected", None))
        rules.poll()
        assert hanging.waiting.wait(10)  # the alert is stuck at the receiver...
        assert monitor.sweep() is not None  # ...and the next sweep ran to its end all the same
        assert not rules.sender.idle()  # while the alert is still being sent (sending inline would be over)
        assert not hanging.release.is_set()
        hanging.release.set()
        settle(rules)


def test_only_the_replica_holding_the_lease_sends_alerts(store, receiver, make_service, sandbox):
    url = f"json://127.0.0.1:{receiver.port}/"
    replicas = []
    for holder in ("replica-a", "replica-b"):
        rules = AlertRules(store, AlertSettings(urls=(url,)), AlertSender((url,)))
        monitor = StatusMonitor(store, WebhookClient(sandbox.webhook_settings()), interval_seconds=60, alerts=rules,
                                holder=holder)
        replicas.append((monitor, rules))
    live = connected_instance(make_service(), sandbox)
    (first, first_rules), (second, second_rules) = replicas
    assert first.sweep() is not None and second.sweep() is None  # one holds the lease
    assert sandbox.simulate_drop(live.instance_id)  # the phone drops; no push: the sweeps find it
    assert first.sweep() is not None and second.sweep() is None
    first.confirm_drops()  # the holder's second check confirms it and alerts
    second.confirm_drops()  # nothing pending there: it never swept
    settle(first_rules)
    settle(second_rules)
    assert [m["title"] for m in messages(receiver)] == [f"WhatsApp caiu: {live.name}"]


def test_turned_off_kinds_are_not_sent(store, receiver, make_service, sandbox):
    url = f"json://127.0.0.1:{receiver.port}/"
    rules = AlertRules(store, AlertSettings(urls=(url,), on=("recovered",)), AlertSender((url,)))
    rules.poll()
    live = connected_instance(make_service(), sandbox)
    for status in ("disconnected", "connected"):
        apply_event(store, ProviderEvent(live.instance_id, status, None))
        rules.poll()
    settle(rules)
    assert messages(receiver) == []  # "recovered" follows an alerted drop only
