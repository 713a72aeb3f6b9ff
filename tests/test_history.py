"""The history: events written for each user action and each transition (none for unchanged checks),
on a real SQLite file against the sandbox (the uptime arithmetic: tests/test_uptime.py)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from lib.models import InstanceEvent
from lib.checks import apply_event
from lib.monitor import StatusMonitor
from lib.provider.base import ProviderEvent
from lib.provider.webhooks import WebhookClient
from lib.store.sqlite.instances import SQLiteInstanceStore
from tests.conftest import ADMIN
from tests.test_instances import connected_instance, make_service, sandbox  # noqa: F401 - fixtures

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=timezone.utc)


def kinds(store, instance_id=None) -> list[tuple[str, str, str | None]]:
    events = store.events(instance_ids=[instance_id] if instance_id else None, oldest_first=True)
    return [(e.kind, e.source, e.actor_email) for e in events]


# -- what is recorded --------------------------------------------------------------------------
def test_every_user_action_and_transition_writes_one_event(make_service, sandbox):
    service = make_service()
    live = connected_instance(service, sandbox)  # created, connect requested, connected (seen by the dialog)
    token = service.reveal_token(live)
    service.disconnect(live)
    service.delete(service.store.get_instance(live.id))
    admin = ADMIN.email
    assert kinds(service.store) == [
        ("created", "user", admin), ("connect_requested", "user", admin), ("connected", "user", admin),
        ("token_revealed", "user", admin), ("disconnected", "user", admin), ("deleted", "user", admin),
    ]
    events = service.store.events(oldest_first=True)
    assert [(e.from_status, e.to_status) for e in events] == [
        (None, "disconnected"), ("disconnected", "connecting"), ("connecting", "connected"), (None, None),
        ("connected", "disconnected"), ("disconnected", None),
    ]
    assert all(e.instance_name == "Cobrança" and e.instance_id == live.id for e in events)
    assert all(token not in repr(e) for e in events)  # never the token


def test_the_provider_and_the_monitor_write_transitions_and_nothing_when_nothing_changed(make_service, sandbox, database):
    service = make_service()
    live = connected_instance(service, sandbox)
    store = SQLiteInstanceStore(database)
    monitor = StatusMonitor(store, WebhookClient(sandbox.webhook_settings()), interval_seconds=60)
    before = store.last_event_id()
    monitor.sweep()
    monitor.sweep()
    assert store.events(after_id=before) == []  # unchanged sweeps write no event
    sandbox.simulate_drop(live.instance_id)
    monitor.sweep()
    [dropped] = store.events(after_id=before)
    assert (dropped.kind, dropped.source, dropped.actor_email, dropped.phone_number) == (
        "dropped", "monitor", None, live.phone_number)
    mark = store.last_event_id()
    apply_event(store, ProviderEvent(live.instance_id, "disconnected", None))  # the same news, pushed late
    assert store.events(after_id=mark) == []
    apply_event(store, ProviderEvent(live.instance_id, "connecting", None))
    [changed] = store.events(after_id=mark)
    assert (changed.kind, changed.source, changed.from_status, changed.to_status) == (
        "status_changed", "provider_event", "disconnected", "connecting")


def test_a_failure_streak_writes_its_start_and_its_end_only(make_service, sandbox, database, retry_waits):
    from tests.support.faulty_provider import FaultyProvider

    store = SQLiteInstanceStore(database)
    row = store.insert_instance(instance_id="inst-1", token="tok", name="Cobrança", created_by=None)
    with FaultyProvider() as provider:
        monitor = StatusMonitor(store, WebhookClient(provider.webhook_settings()), interval_seconds=60)
        provider.set_fault("status", "status_5xx")
        for _ in range(5):
            monitor.sweep()
        provider.set_fault("status", "ok")
        monitor.sweep()
        monitor.sweep()
    assert [e.kind for e in store.events(instance_ids=[row.id], oldest_first=True)] == [
        "check_failed", "status_changed", "check_recovered"]  # the ok provider says "connecting"


def test_a_history_write_that_fails_never_fails_the_action(make_service, sandbox, database, caplog):
    import sqlite3

    with sqlite3.connect(database.path) as conn:
        conn.execute("create trigger no_history before insert on instance_events begin select raise(abort, 'full'); end")
    created = make_service().create("Cobrança")
    assert created.instance.name == "Cobrança"
    assert "history event created" in caplog.text


def test_the_history_is_append_only_and_pruned_by_age(database):
    store = SQLiteInstanceStore(database)
    old = store.add_event(InstanceEvent("i", "Velha", "created", "user", created_at=T0 - timedelta(days=200)))
    new = store.add_event(InstanceEvent("i", "Velha", "deleted", "user"))
    with pytest.raises(Exception):
        with database.connect() as conn:
            conn.execute("update instance_events set detail = 'x'")
    assert store.prune_events(T0 - timedelta(days=180)) == 1
    assert [e.id for e in store.events()] == [new.id] and old.id < new.id


def test_event_filters(database):
    store = SQLiteInstanceStore(database)
    store.add_event(InstanceEvent("a", "A", "created", "user", to_status="disconnected", actor_email="ana@x",
                                  created_at=T0))
    store.add_event(InstanceEvent("b", "B", "dropped", "monitor", to_status="disconnected", created_at=T0 + timedelta(hours=1)))
    store.add_event(InstanceEvent("a", "A", "connected", "provider_event", to_status="connected", created_at=T0 + timedelta(hours=2)))
    assert [e.kind for e in store.events()] == ["connected", "dropped", "created"]  # newest first
    assert [e.kind for e in store.events(instance_ids=["a"], oldest_first=True)] == ["created", "connected"]
    assert [e.kind for e in store.events(kinds=["dropped"])] == ["dropped"]
    assert [e.kind for e in store.events(actor_emails=["ana@x"])] == ["created"]
    assert [e.kind for e in store.events(since=T0 + timedelta(minutes=30), until=T0 + timedelta(hours=2))] == ["dropped"]
    assert [e.kind for e in store.events(limit=1)] == ["connected"]
    latest = store.status_before(["a", "b", "c"], T0 + timedelta(hours=3))
    assert {key: e.to_status for key, e in latest.items()} == {"a": "connected", "b": "disconnected"}
    assert store.status_before(["a"], T0 + timedelta(hours=1))["a"].kind == "created"


# -- what Atividade keeps -----------------------------------------------------------------------
def test_atividade_filters_by_the_instances_tags_and_owner_as_they_are_now():
    from lib.fleet import NO_OWNER, Filters
    from lib.history import EventFilters
    from lib.models import Instance

    def instance(id, tags=(), owner=None):
        return Instance(id=id, instance_id=id, name=id, phone_number=None, status="connected", created_at=T0,
                        updated_at=T0, created_by=None, tags=tags, owner_id=owner)

    centro, norte = instance("c", ("carteira-A",), "ana"), instance("n", ("carteira-B",))
    events = {key: InstanceEvent(key, key.upper(), "created", "user", actor_email="ana@x") for key in ("c", "n", "gone")}
    now = {"c": centro, "n": norte}

    def kept(filters):
        return sorted(key for key, event in events.items() if filters.keeps(event, now.get(key)))

    assert kept(EventFilters()) == ["c", "gone", "n"]  # nothing chosen: the deleted one too
    assert kept(EventFilters(instances=Filters(tags=("carteira-A",)))) == ["c"]
    assert kept(EventFilters(instances=Filters(owner="ana"))) == ["c"]
    assert kept(EventFilters(instances=Filters(owner=NO_OWNER))) == ["n"]  # "Sem responsável": not a deleted one
    assert kept(EventFilters(names=("N",), people=("ana@x",))) == ["n"]
    assert kept(EventFilters(people=("monitor",))) == []
