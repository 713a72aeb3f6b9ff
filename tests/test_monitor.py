"""The status monitor over real HTTP: against the sandbox provider and against the misbehaving
provider of tests/support/faulty_provider.py, with a real SQLite file."""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta, timezone
from collections import Counter

import pytest
import requests

from lib.checks import apply_event
from lib.models import FAILURES_BEFORE_NO_ANSWER
from lib.monitor import StatusMonitor
from lib.presentation import status_lines
from lib.provider.base import ProviderEvent
from lib.provider.sandbox.provider import SandboxProvider
from lib.provider.webhooks import WebhookClient
from lib.store.sqlite.instances import SQLiteInstanceStore
from tests.support.faulty_provider import FaultyProvider
from tests.support.provider_faults import TOKEN_PREFIX
from tests.support.sandbox import FakeClock
from tests.test_instances import connected_instance

WRITES = ("update_status", "record_check", "mark_checked", "record_check_failure")


@pytest.fixture
def store(database):
    return SQLiteInstanceStore(database)


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def sandbox(clock):
    with SandboxProvider(clock=clock, qr_ttl_seconds=20, abandon_seconds=60) as provider:
        yield provider


@pytest.fixture
def service(make_service):
    return make_service()


@pytest.fixture
def make_service(store, sandbox, tmp_path):
    from lib.instances import InstanceService
    from lib.store.recovery import CredentialRecovery
    from tests.conftest import ADMIN

    return lambda: InstanceService(store, WebhookClient(sandbox.webhook_settings()), ADMIN, CredentialRecovery(tmp_path))


@pytest.fixture
def writes(monkeypatch) -> Counter:
    counted = Counter()
    for name in WRITES:
        original = getattr(SQLiteInstanceStore, name)

        def wrapper(self, *args, _name=name, _original=original, **kwargs):
            counted[_name] += 1
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(SQLiteInstanceStore, name, wrapper)
    return counted


def monitor_for(store, settings) -> StatusMonitor:
    return StatusMonitor(store, WebhookClient(settings), interval_seconds=60)


def test_a_drop_at_the_provider_is_found_and_the_last_number_kept(store, sandbox, service):
    live = connected_instance(service, sandbox)
    monitor = monitor_for(store, sandbox.webhook_settings())
    assert sandbox.simulate_drop(live.instance_id)
    [result] = monitor.sweep()
    after = store.get_instance(live.id)
    assert result.changed and (after.status, after.phone_number, after.dropped) == ("disconnected", None, True)
    assert after.last_phone_number == live.phone_number  # which chip dropped
    assert after.status_changed_at > live.status_changed_at and after.last_checked_at is not None
    assert monitor.last_sweep_at is not None and monitor.instances == 1


def test_a_sweep_that_finds_nothing_new_only_marks_the_rows_checked_in_one_write(store, sandbox, service, writes):
    connected_instance(service, sandbox, "Um")
    service.create("Dois")
    before = {i.id: i for i in store.list_instances()}
    writes.clear()
    results = monitor_for(store, sandbox.webhook_settings()).sweep()
    assert not any(r.changed or r.error for r in results)
    assert writes == Counter({"mark_checked": 1})
    for after in store.list_instances():
        assert after.updated_at == before[after.id].updated_at and after.last_checked_at is not None


def test_a_user_disconnect_is_not_a_drop(store, sandbox, service):
    live = connected_instance(service, sandbox)
    after = service.disconnect(live)
    assert (after.status, after.dropped, after.last_phone_number) == ("disconnected", False, live.phone_number)


def test_a_connect_abandoned_at_the_provider_is_resolved(store, sandbox, service, clock):
    connecting = service.connect(service.create("Cobrança").instance).instance
    monitor = monitor_for(store, sandbox.webhook_settings())
    monitor.sweep()
    assert store.get_instance(connecting.id).status == "connecting"  # the QR may still be read
    clock.advance(20 + 60 + 1)  # its QR expired a minute ago and nobody asked for another
    monitor.sweep()
    assert store.get_instance(connecting.id).status == "disconnected"


def test_with_sweeps_far_apart_an_instance_stuck_connecting_is_asked_about_within_a_minute(
        store, sandbox, service, clock, database, monkeypatch):
    import lib.monitor

    stuck = service.connect(service.create("Abandonada").instance).instance
    recent = service.connect(service.create("Recente").instance).instance
    four_minutes_ago = (datetime.now(timezone.utc) - timedelta(minutes=4)).isoformat(timespec="microseconds")
    with database.write() as conn:  # the QR of "Abandonada" was shown four minutes ago
        conn.execute("update instances set status_changed_at = ? where id = ?", (four_minutes_ago, stuck.id))
    clock.advance(20 + 60 + 1)  # both abandoned at the provider by now
    monkeypatch.setattr(lib.monitor, "STUCK_CHECK_SECONDS", 0.2)  # a minute, for the test
    monitor = StatusMonitor(store, WebhookClient(sandbox.webhook_settings()), interval_seconds=600)
    monitor.holding = True  # as after its first sweep
    monitor.sweep = lambda: None  # the next sweep is 10 minutes away: only the stuck check may act
    monitor.start()
    try:
        deadline = time.monotonic() + 15
        while store.get_instance(stuck.id).status == "connecting":
            assert time.monotonic() < deadline, "the stuck instance was never asked about"
            time.sleep(0.05)
    finally:
        monitor.stop()
    assert store.get_instance(stuck.id).status == "disconnected"  # what the provider says
    assert store.get_instance(recent.id).status == "connecting"  # under 3 minutes: left to its dialog


class RecordedWaits(threading.Event):
    """The monitor's stop event, recording how long each pass waits; set after `passes` waits."""

    def __init__(self, passes: int):
        super().__init__()
        self.timeouts: list[float] = []
        self.passes = passes

    def wait(self, timeout=None):
        self.timeouts.append(timeout)
        if len(self.timeouts) >= self.passes:
            self.set()
        return super().wait(timeout)


def test_a_replica_without_the_lease_sleeps_between_passes(store, sandbox, monkeypatch):
    """With sweeps far apart, the minute's stuck check comes due on every replica; one that does
    not hold the lease must not do it, and must not wake again at once either (a busy loop)."""
    import lib.monitor

    monkeypatch.setattr(lib.monitor, "STUCK_CHECK_SECONDS", 0.05)
    monitor = StatusMonitor(store, WebhookClient(sandbox.webhook_settings()), interval_seconds=600)
    monitor.sweep = lambda: None  # another replica holds the lease: this one's sweep claims nothing
    monitor.check_stuck_connecting = lambda: pytest.fail("checked without holding the lease")
    monitor._stop = RecordedWaits(passes=8)
    monitor.start()
    monitor._thread.join(30)
    assert monitor._stop.is_set(), "the monitor stopped waiting"
    assert all(timeout > 0 for timeout in monitor._stop.timeouts[1:]), monitor._stop.timeouts


@pytest.mark.parametrize("fault", ["status_5xx", "stall_before_headers"])  # an error page; no answer in time
def test_failing_checks_flip_nothing_and_stop_writing_once_the_card_says_so(store, writes, retry_waits, fault):
    with FaultyProvider() as provider:
        row = store.insert_instance(instance_id="inst-1", token=f"{TOKEN_PREFIX}1", name="Cobrança", created_by=None)
        row = store.update_status(row.id, status="connected", phone_number="+5511999990000")
        provider.set_fault("status", fault)
        # A stall is waited for less than the default 1 s (the same code times out), but the same
        # client must get the recovered provider's answer in time at the end: 0.5 s, not 0.25.
        monitor = monitor_for(store, provider.webhook_settings(0.5 if fault.startswith("stall") else 1.0))
        writes.clear()
        for sweep in range(1, FAILURES_BEFORE_NO_ANSWER + 3):
            [result] = monitor.sweep()
            after = store.get_instance(row.id)
            assert result.error and (after.status, after.phone_number) == ("connected", "+5511999990000")
            assert after.check_failures == min(sweep, FAILURES_BEFORE_NO_ANSWER)
            assert TOKEN_PREFIX not in after.last_error
            card = "\n".join(status_lines(after, datetime.now(timezone.utc)))
            assert f"Última verificação falhou: {after.last_error}" in card
            assert ("Sem resposta do provedor desde " in card) == (sweep >= FAILURES_BEFORE_NO_ANSWER), card
        assert writes == Counter({"record_check_failure": FAILURES_BEFORE_NO_ANSWER})  # then nothing new to say
        provider.set_fault("status", "ok")  # the provider answers again (it says "connecting")
        monitor.sweep()
        after = store.get_instance(row.id)
        assert (after.status, after.check_failures, after.last_error) == ("connecting", 0, None)


class HeldStatus(WebhookClient):
    """Answers status only once the test lets it: a reply that arrives late."""

    def __init__(self, settings):
        super().__init__(settings)
        self.asked, self.release = threading.Event(), threading.Event()

    def status(self, instance_id, token):
        reply = super().status(instance_id, token)
        self.asked.set()
        assert self.release.wait(10)
        return reply


def test_a_late_reply_never_undoes_a_users_disconnect(store, sandbox, service):
    """The monitor read the row connecting and the provider answered "connected" (the phone had just
    scanned); before that reply is written, an admin disconnects. The reply differs from what the
    monitor read, so only the compare-and-set keeps the user's disconnect."""
    connecting = service.connect(service.create("Cobrança").instance).instance
    assert requests.get(sandbox.scan_url(connecting.instance_id), timeout=5).status_code == 200
    client = HeldStatus(sandbox.webhook_settings())
    monitor = StatusMonitor(store, client, interval_seconds=60)
    sweep = threading.Thread(target=monitor.sweep)
    sweep.start()
    assert client.asked.wait(10)  # the provider said "connected"; the reply is on its way
    service.disconnect(store.get_instance(connecting.id))
    client.release.set()
    sweep.join(10)
    assert store.get_instance(connecting.id).status == "disconnected"
    assert "connected" not in [e.kind for e in store.events(instance_ids=[connecting.id])]


def test_only_the_holder_of_the_lease_sweeps_and_an_expired_lease_changes_hands(store, sandbox, database):
    first = monitor_for(store, sandbox.webhook_settings())
    second = monitor_for(SQLiteInstanceStore(database), sandbox.webhook_settings())
    assert first.sweep() == [] and second.sweep() is None
    assert first.sweep() == []  # renewed by its holder
    with database.connect() as conn:  # the first replica died a lease ago
        conn.execute("update monitor_lease set expires_at = '2000-01-01T00:00:00+00:00'")
    assert second.sweep() == [] and first.sweep() is None
    second.stop()  # a server stopping gives the lease up: a restarted one sweeps at once
    assert first.sweep() == []


def test_pushed_events_apply_at_once_and_unknown_instances_change_nothing(store, sandbox, service):
    live = connected_instance(service, sandbox)
    assert apply_event(store, ProviderEvent("sbx-unknown", "disconnected", None)) is None
    assert store.get_instance(live.id) == live
    after = apply_event(store, ProviderEvent(live.instance_id, "disconnected", None))
    assert (after.status, after.dropped, after.last_phone_number) == ("disconnected", True, live.phone_number)


def test_the_monitor_thread_sweeps_until_stopped(store, sandbox, service):
    connected_instance(service, sandbox)
    monitor = monitor_for(store, sandbox.webhook_settings())
    swept = threading.Event()
    original = monitor.sweep
    monitor.sweep = lambda: (original(), swept.set())[0]
    monitor.start()
    try:
        assert swept.wait(10)  # the first sweep comes at start, not an interval later
    finally:
        monitor.stop()
    assert monitor.last_sweep_at is not None and monitor.instances == 1


# -- a sweep is one request when the provider lists its instances ------------------------------------
def test_a_sweep_reads_evolutions_list_once_and_asks_about_no_instance_on_its_own(store):
    from harness.doubles.evolution import EvolutionDouble
    from lib.provider.evolution import EvolutionProvider

    with EvolutionDouble("evo-key-0123456789") as evo:
        provider = EvolutionProvider(evo.base_url, "evo-key-0123456789", sleep=lambda s: None)
        made = [provider.create(f"Cobrança {n}") for n in range(5)]
        for credentials in made:
            store.insert_instance(instance_id=credentials.instance_id, token=credentials.token,
                                  name=credentials.instance_id, created_by=None)
        provider.connect(made[0].instance_id, made[0].token)
        evo.simulate_scan(made[0].instance_id, "5511999998888")
        evo.request_counts.clear()
        results = StatusMonitor(store, provider, interval_seconds=60).sweep()
        assert dict(evo.request_counts) == {"GET /instance/fetchInstances": 1}
    assert len(results) == 5 and not [r for r in results if r.error]
    by_id = {i.instance_id: i for i in store.list_instances()}
    assert (by_id[made[0].instance_id].status, by_id[made[0].instance_id].phone_number) == ("connected", "+5511999998888")
    assert {by_id[c.instance_id].status for c in made[1:]} == {"disconnected"}


def test_an_instance_missing_from_the_providers_list_is_marked_unknown_there(store, sandbox):
    from lib.provider.http import MSG_INSTANCE_UNKNOWN
    from lib.provider.sandbox.client import SandboxClient

    provider = SandboxClient(sandbox)
    kept = provider.create("Fica")
    store.insert_instance(instance_id=kept.instance_id, token=kept.token, name="Fica", created_by=None)
    gone = store.insert_instance(instance_id="sbx-apagada", token="t", name="Apagada", created_by=None)
    results = {r.before.name: r for r in StatusMonitor(store, provider, interval_seconds=60).sweep()}
    assert results["Apagada"].error == MSG_INSTANCE_UNKNOWN and results["Fica"].error is None
    assert store.get_instance(gone.id).last_error == MSG_INSTANCE_UNKNOWN


def test_when_the_list_fails_each_instance_is_asked_about_on_its_own(store, sandbox, monkeypatch):
    from lib.errors import ProviderError
    from lib.provider.sandbox.client import SandboxClient

    provider = SandboxClient(sandbox)
    made = provider.create("Ana")
    store.insert_instance(instance_id=made.instance_id, token=made.token, name="Ana", created_by=None)
    provider.connect(made.instance_id, made.token)
    sandbox.simulate_scan(made.instance_id)

    def broken():
        raise ProviderError("Erro no provedor (HTTP 500) ao listar instâncias. Tente novamente.", action="list")

    monkeypatch.setattr(provider, "list_instances", broken)
    asked = []
    status = provider.status
    monkeypatch.setattr(provider, "status", lambda *args: asked.append(args[0]) or status(*args))
    [result] = StatusMonitor(store, provider, interval_seconds=60).sweep()
    assert asked == [made.instance_id] and result.after.status == "connected"
