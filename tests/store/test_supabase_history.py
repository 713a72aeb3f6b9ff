"""The history (instance_events) through the Supabase stores, against the HTTP double of GoTrue
and PostgREST."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta, timezone

import httpx
import pytest

from lib.errors import PermissionDenied, StoreError
from lib.models import InstanceEvent
from lib.store.supabase.rows import EVENT_COLUMNS
from lib.store.supabase.server import SupabaseServerStore
from tests.store.test_supabase import signed_in
from tests.support.supabase_double import SERVER_SETTINGS, clock, fake  # noqa: F401 - clock and fake are fixtures


T0 = datetime(2026, 11, 1, 12, tzinfo=timezone.utc)


def minutes(n: int) -> datetime:
    return T0 + timedelta(minutes=n)


def test_a_users_event_is_written_in_the_users_name_at_the_time_of_writing(fake):
    instance_id = str(uuid.uuid4())
    before = datetime.now(timezone.utc)
    stored = signed_in().store().add_event(InstanceEvent(
        instance_id=instance_id, instance_name="Vendas", kind="token_revealed", source="user",
        actor_id="someone-else", actor_email="someone@example.com", detail="pedido", created_at=T0,
    ))
    assert stored == InstanceEvent(
        id=1, instance_id=instance_id, instance_name="Vendas", kind="token_revealed", source="user",
        actor_id=fake.admin_id, actor_email="admin@example.com", detail="pedido", created_at=stored.created_at,
    )
    assert stored.created_at >= before
    request = fake.rest_requests("instance_events")[-1]
    assert request.method == "POST"
    assert not {"id", "actor_id", "actor_email", "created_at"} & set(json.loads(request.content))  # the database's
    assert request.url.params["select"] == EVENT_COLUMNS


def test_read_only_users_write_no_history(fake):
    with pytest.raises(PermissionDenied):
        signed_in("analyst@example.com").store().add_event(
            InstanceEvent(instance_id=None, instance_name="X", kind="token_revealed", source="user")
        )
    assert fake.events == []


def test_the_server_writes_events_in_the_name_and_at_the_time_they_carry(fake):
    store = SupabaseServerStore(SERVER_SETTINGS)
    test_alert = store.add_event(InstanceEvent(
        instance_id=None, instance_name="(teste de alerta)", kind="alert_sent", source="monitor", detail="teste: ok",
    ))
    assert (test_alert.instance_id, test_alert.actor_id, test_alert.actor_email, test_alert.detail) == (
        None, None, None, "teste: ok"
    )
    checked = store.add_event(InstanceEvent(
        instance_id=str(uuid.uuid4()), instance_name="Vendas", kind="connected", source="user",
        from_status="connecting", to_status="connected", phone_number="5511999",
        actor_id=fake.admin_id, actor_email="admin@example.com", created_at=T0,
    ))
    assert (checked.actor_id, checked.actor_email, checked.created_at) == (fake.admin_id, "admin@example.com", T0)
    assert (checked.from_status, checked.to_status, checked.phone_number) == ("connecting", "connected", "5511999")
    assert checked.id > test_alert.id


def test_a_refused_event_is_a_store_error(fake):
    with pytest.raises(StoreError, match="dado inválido"):
        SupabaseServerStore(SERVER_SETTINGS).add_event(
            InstanceEvent(instance_id=None, instance_name="X", kind="alert_failed", source="monitor", detail="x" * 201)
        )
    assert fake.events == []


def test_events_match_every_filter_newest_or_oldest_first(fake):
    a, b = str(uuid.uuid4()), str(uuid.uuid4())
    fake.add_event(a, "created", at=minutes(0), source="user", actor_email="admin@example.com", to_status="disconnected")
    fake.add_event(a, "connected", at=minutes(10), from_status="disconnected", to_status="connected")
    fake.add_event(b, "created", at=minutes(10), source="user", actor_email="ana@example.com", to_status="disconnected")
    fake.add_event(b, "token_revealed", at=minutes(20), source="user", actor_email="admin@example.com")
    fake.add_event(None, "alert_sent", at=minutes(30), detail="queda: WhatsApp caiu")
    store = signed_in("analyst@example.com").store()

    def ids(**filters) -> list[int]:
        return [event.id for event in store.events(**filters)]

    assert ids() == [5, 4, 3, 2, 1]  # the same time: the later id first
    assert ids(oldest_first=True) == [1, 2, 3, 4, 5]
    assert ids(instance_ids=[a]) == [2, 1]
    assert ids(kinds=["created", "alert_sent"]) == [5, 3, 1]
    assert ids(actor_emails=["admin@example.com"]) == [4, 1]
    assert ids(since=minutes(10), until=minutes(30)) == [4, 3, 2]  # since included, until not
    assert ids(after_id=2, oldest_first=True) == [3, 4, 5]
    assert ids(limit=2) == [5, 4]
    assert ids(instance_ids=[a, b], kinds=["created"], oldest_first=True) == [1, 3]
    assert store.events(oldest_first=True, limit=1) == [InstanceEvent(
        id=1, instance_id=a, instance_name="Instância", kind="created", source="user", to_status="disconnected",
        actor_email="admin@example.com", created_at=minutes(0),
    )]
    params = fake.rest_requests("instance_events")[-1].url.params
    assert (params["order"], params["offset"], params["limit"]) == ("created_at.asc,id.asc", "0", "1")
    assert params["select"] == EVENT_COLUMNS


def test_an_empty_filter_list_matches_nothing_without_a_request(fake):
    fake.add_event(str(uuid.uuid4()), "created")
    store = SupabaseServerStore(SERVER_SETTINGS)
    assert store.events(instance_ids=[]) == [] and store.events(kinds=[]) == []
    assert fake.rest_requests("instance_events") == []


def test_events_are_read_page_by_page_beyond_what_one_response_holds(fake):
    instance = str(uuid.uuid4())
    for n in range(2345):
        fake.add_event(instance, "check_failed", at=T0 + timedelta(seconds=n))
    store = SupabaseServerStore(SERVER_SETTINGS)

    assert [e.id for e in store.events()] == list(range(2345, 0, -1))
    assert [(r.url.params["offset"], r.url.params["limit"]) for r in fake.rest_requests("instance_events")] == [
        ("0", "1000"), ("1000", "1000"), ("2000", "1000")
    ]
    assert [e.id for e in store.events(limit=1500, oldest_first=True)] == list(range(1, 1501))
    assert [e.id for e in store.events(after_id=2000, oldest_first=True)] == list(range(2001, 2346))


def test_an_event_written_between_two_pages_is_not_read_twice(fake, monkeypatch):
    instance = str(uuid.uuid4())
    for n in range(1500):
        fake.add_event(instance, "check_failed", at=T0 + timedelta(seconds=n))
    answer = fake._rest

    def writing_after_the_first_page(request: httpx.Request) -> httpx.Response:
        response = answer(request)
        if request.url.params.get("offset") == "0":
            fake.add_event(instance, "check_recovered")  # the newest: the next page starts one row back
        return response

    monkeypatch.setattr(fake, "_rest", writing_after_the_first_page)
    assert [e.id for e in SupabaseServerStore(SERVER_SETTINGS).events()] == list(range(1500, 0, -1))


def test_status_before_asks_once_for_every_instance(fake):
    a, b, c = (str(uuid.uuid4()) for _ in range(3))
    fake.add_event(a, "created", at=minutes(0), to_status="disconnected")
    fake.add_event(a, "connected", at=minutes(10), from_status="disconnected", to_status="connected")
    fake.add_event(a, "token_revealed", at=minutes(20))  # sets no status
    fake.add_event(a, "dropped", at=minutes(40), from_status="connected", to_status="disconnected")
    fake.add_event(b, "deleted", at=minutes(5), from_status="connected")
    fake.add_event(c, "check_failed", at=minutes(5))
    store = signed_in("analyst@example.com").store()

    before = store.status_before([a, b, c], minutes(30))

    assert {id: (e.kind, e.to_status, e.created_at) for id, e in before.items()} == {
        a: ("connected", "connected", minutes(10)), b: ("deleted", None, minutes(5)),
    }
    [request] = fake.rest_requests("rpc/instance_status_before")
    assert json.loads(request.content) == {"_ids": [a, b, c], "_at": minutes(30).isoformat()}
    assert store.status_before([], minutes(30)) == {}
    assert len(fake.rest_requests("rpc")) == 1
    fake.add_user("nobody@example.com")
    assert signed_in("nobody@example.com").store().status_before([a, b], minutes(30)) == {}


def test_last_event_id_and_retention(fake):
    store = SupabaseServerStore(SERVER_SETTINGS)
    assert store.last_event_id() == 0
    now = datetime.now(timezone.utc)
    fake.add_event(str(uuid.uuid4()), "created", at=now - timedelta(days=200))
    newest = fake.add_event(str(uuid.uuid4()), "created", at=now - timedelta(days=1))
    assert store.last_event_id() == newest["id"]

    assert store.prune_events(now - timedelta(days=180)) == 1
    assert fake.events == [newest]
    assert store.prune_events(now - timedelta(days=180)) == 0
    assert json.loads(fake.rest_requests("rpc/prune_instance_events")[-1].content) == {
        "_before": (now - timedelta(days=180)).isoformat()
    }
    assert store.last_event_id() == newest["id"]


def test_the_version_moves_when_an_event_a_user_may_read_is_written(fake):
    fake.add_user("nobody@example.com")
    analyst, nobody = signed_in("analyst@example.com").store(), signed_in("nobody@example.com").store()
    before = analyst.version(), nobody.version()
    SupabaseServerStore(SERVER_SETTINGS).add_event(
        InstanceEvent(instance_id=None, instance_name="X", kind="alert_sent", source="monitor")
    )
    assert analyst.version() != before[0]
    assert nobody.version() == before[1]
