"""Pushed events in order (lib.checks.apply_event): the provider's own time decides, a late event
is kept in the history and changes nothing, a drop keeps its reason, and a connection heard twice
(the dialog's check and the provider's push) is logged once. Real SQLite."""

from __future__ import annotations

import json

import pytest

from lib.checks import apply_event, apply_status
from lib.models import Origin
from lib.provider.base import ProviderEvent
from lib.provider.events import parse_event
from lib.store.sqlite.instances import SQLiteInstanceStore
from tests.conftest import ADMIN


@pytest.fixture
def store(database):
    return SQLiteInstanceStore(database)


@pytest.fixture
def connected(store):
    row = store.insert_instance(instance_id="cobranca-33", token="t", name="Cobrança 33", created_by=None)
    return store.update_status(row.id, status="connected", phone_number="+5511915853049")


def kinds(store, row):
    return [e.kind for e in store.events(instance_ids=[row.id], oldest_first=True)]


def test_open_close_stale_open_close_leaves_the_number_down_and_the_late_event_in_the_history(store, connected):
    """The hostile review's sequence: open → close → (stale) open → close."""
    apply_event(store, ProviderEvent("cobranca-33", "connected", "+5511915853049", at=1_000))
    apply_event(store, ProviderEvent("cobranca-33", "disconnected", None, reason="428", at=2_000))
    stale = apply_event(store, ProviderEvent("cobranca-33", "connected", "+5511915853049", at=1_500))
    assert (stale.status, stale.dropped) == ("disconnected", True)
    after = apply_event(store, ProviderEvent("cobranca-33", "disconnected", None, reason="428", at=2_500))
    assert (after.status, after.dropped, after.disconnect_reason, after.provider_event_at) == (
        "disconnected", True, "428", 2_500)
    assert kinds(store, connected) == ["dropped", "stale_event"]
    [late] = store.events(instance_ids=[connected.id], kinds=["stale_event"])
    assert late.to_status is None and late.source == "provider_event"  # never counted as a status


def test_an_event_as_old_as_the_last_applied_is_late_too(store, connected):
    apply_event(store, ProviderEvent("cobranca-33", "disconnected", None, at=2_000))
    assert apply_event(store, ProviderEvent("cobranca-33", "connected", "+5511915853049", at=2_000)).status == \
        "disconnected"


def test_an_event_that_changes_nothing_still_moves_the_providers_time_on(store, connected):
    """The monitor saw the drop first; the provider's close comes later; a stale open after it loses."""
    checked = apply_status(store, connected, "disconnected", None, Origin("monitor"))
    assert checked.status == "disconnected" and checked.provider_event_at is None
    apply_event(store, ProviderEvent("cobranca-33", "disconnected", None, reason="428", at=3_000))
    assert store.get_instance(connected.id).provider_event_at == 3_000
    assert apply_event(store, ProviderEvent("cobranca-33", "connected", "+5511915853049", at=2_999)).status == \
        "disconnected"


def test_evolutions_clock_is_never_compared_with_ours(store, connected):
    """date_time is Brasília time written with a Z: three hours 'in the past', and still applied."""
    body = {"event": "connection.update", "instance": "cobranca-33", "date_time": "2020-01-01T03:00:00.000Z",
            "data": {"state": "close", "statusReason": 401}}
    after = apply_event(store, parse_event(json.dumps(body).encode()))
    assert (after.status, after.dropped, after.disconnect_reason) == ("disconnected", True, "401")


def test_a_drop_keeps_its_reason_on_the_row_and_in_words_in_the_history(store, connected):
    apply_event(store, ProviderEvent("cobranca-33", "disconnected", None, reason="403", at=1))
    [dropped] = store.events(instance_ids=[connected.id], kinds=["dropped"])
    assert dropped.detail == "Número bloqueado pelo WhatsApp"
    assert store.get_instance(connected.id).disconnect_reason == "403"
    back = apply_event(store, ProviderEvent("cobranca-33", "connected", "+5511915853049", at=2))
    assert back.disconnect_reason is None


def test_our_own_disconnect_pushed_back_with_401_is_not_a_removal_on_the_phone(store, connected):
    """Evolution answers a logout with a pushed close, statusReason 401: the user's disconnect came first."""
    store.update_status(connected.id, status="disconnected", phone_number=None)  # what the service writes
    after = apply_event(store, ProviderEvent("cobranca-33", "disconnected", None, reason="401", at=5))
    assert (after.dropped, after.disconnect_reason) == (False, None)
    assert "dropped" not in kinds(store, connected)


def test_a_connection_heard_by_the_dialog_and_pushed_by_the_provider_is_logged_once(store):
    row = store.insert_instance(instance_id="i-1", token="t", name="Ana", created_by=None)
    connecting = store.update_status(row.id, status="connecting", phone_number=None)
    apply_event(store, ProviderEvent("i-1", "connected", "+5511999998888", at=10))  # the push lands first
    seen = apply_status(store, connecting, "connected", "+5511999998888", Origin("user", ADMIN))  # the dialog's reply,
    assert seen.status == "connected"                                                       # read before the push
    assert kinds(store, row).count("connected") == 1


def test_a_new_qr_event_writes_nothing(store, connected):
    assert apply_event(store, ProviderEvent("cobranca-33", None, at=99)) == connected
    assert kinds(store, connected) == []


def test_a_resent_close_after_a_reconnect_is_late_not_a_new_drop(store, connected):
    """The provider resends a webhook it thinks failed (Evolution retries up to 10 times). Meanwhile
    the number was connected again by a poll, which moves no provider time: the resent close is late."""
    dropped = apply_event(store, ProviderEvent("cobranca-33", "disconnected", None, reason="428", at=1_000))
    again = apply_status(store, dropped, "connected", "+5511915853049", Origin("monitor"))
    assert (again.status, again.provider_event_at) == ("connected", 1_000)
    resent = apply_event(store, ProviderEvent("cobranca-33", "disconnected", None, reason="428", at=1_000))
    assert (resent.status, resent.dropped) == ("connected", False)
    assert kinds(store, connected).count("dropped") == 1 and kinds(store, connected)[-1] == "stale_event"


def test_a_resent_open_never_undoes_a_desconectar(store, connected):
    opened = apply_event(store, ProviderEvent("cobranca-33", "connected", "+5511915853049", at=1_000))
    off = apply_status(store, opened, "disconnected", None, Origin("user", ADMIN))
    assert off.status == "disconnected"
    resent = apply_event(store, ProviderEvent("cobranca-33", "connected", "+5511915853049", at=1_000))
    assert resent.status == "disconnected" and store.get_instance(connected.id).status == "disconnected"
