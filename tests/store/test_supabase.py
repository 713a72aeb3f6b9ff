"""SupabaseUserClient, SupabaseInstanceStore and SupabaseServerStore against the HTTP double of GoTrue
and PostgREST."""

from __future__ import annotations

import json
import time
import uuid
from datetime import datetime, timedelta, timezone

import httpx
import pytest

from lib.config.settings import SupabaseSettings
from lib.errors import (
    AuthError, ConfigError, InstanceNotFound, PermissionDenied, StoreError, ValidationError, ProviderError,
)
from lib.models import InstanceEvent
from lib.monitor import StatusMonitor
from lib.provider.base import StatusReply
from lib.auth.admin import SupabaseRoleAdmin
from lib.store.supabase.errors import MSG_EXPIRED, MSG_OFFLINE, MSG_SERVICE_KEY_REJECTED
from lib.store.supabase.rows import EVENT_COLUMNS
from lib.store.supabase.server import (
    MSG_ALREADY_REGISTERED,
    MSG_EMAIL_RATE_LIMIT,
    MSG_INVITE_FAILED,
    SupabaseServerStore,
)
from lib.store.supabase.roles import MSG_LAST_ADMIN, MSG_NO_SUCH_USER, MSG_NOT_ADMIN
from lib.store.supabase.user_client import MSG_BAD_LOGIN, MSG_UNCONFIRMED, SupabaseUserClient
from tests.support.supabase_double import (  # noqa: F401 - clock and fake are fixtures
    ANON_KEY,
    COLUMNS,
    PASSWORD,
    SERVER_SETTINGS,
    SERVICE_ROLE_KEY,
    SETTINGS,
    URL,
    clock,
    fake,
    pg_error,
)


def signed_in(email: str = "admin@example.com") -> SupabaseUserClient:
    session = SupabaseUserClient(SETTINGS)
    session.sign_in(email, PASSWORD)
    return session


def bearer(request: httpx.Request) -> str:
    return request.headers["Authorization"].removeprefix("Bearer ")


# --- requests and columns ---------------------------------------------------------------------


def test_requests_carry_anon_key_and_the_users_bearer_token(fake):
    session = signed_in()
    session.store().list_instances()
    request = fake.rest_requests("instances")[-1]
    assert request.headers["apikey"] == ANON_KEY
    assert request.headers["Authorization"] == f"Bearer {fake.token_of('admin@example.com')}"
    assert fake.password_route.calls.last.request.headers["apikey"] == ANON_KEY


def test_list_names_explicit_columns_newest_first(fake):
    fake.add_row("older", age_minutes=10)
    fake.add_row("newer", age_minutes=1)
    instances = signed_in().store().list_instances()
    assert [i.instance_id for i in instances] == ["newer", "older"]
    assert instances[0].created_at.tzinfo is not None
    params = fake.rest_requests("instances")[-1].url.params
    columns = params["select"].split(",")
    assert set(columns) == COLUMNS and "*" not in columns and "token" not in columns
    assert params["order"] == "created_at.desc"


def test_insert_sends_the_token_but_never_asks_for_it_back(fake):
    instance = signed_in().store().insert_instance(
        instance_id="inst-1", token="secret-token", name="Cobrança 1", created_by=fake.admin_id
    )
    assert (instance.instance_id, instance.name, instance.status) == ("inst-1", "Cobrança 1", "disconnected")
    assert instance.created_by == fake.admin_id
    assert not hasattr(instance, "token")
    request = fake.rest_requests("instances")[-1]
    assert request.method == "POST"
    body = json.loads(request.content)
    assert body["token"] == "secret-token" and body["created_by"] == fake.admin_id
    assert set(request.url.params["select"].split(",")) == COLUMNS  # never * nor token
    assert "secret-token" not in request.url.query.decode()


def test_get_instance_and_missing_instance(fake):
    row = fake.add_row("one")
    store = signed_in().store()
    assert store.get_instance(row["id"]).instance_id == "one"
    assert fake.rest_requests("instances")[-1].url.params["id"] == f"eq.{row['id']}"
    with pytest.raises(InstanceNotFound):
        store.get_instance(str(uuid.uuid4()))


def test_instance_token_calls_the_rpc(fake):
    row = fake.add_row("one")
    assert signed_in().store().instance_token(row["id"]) == "tok-one"
    request = fake.rest_requests("rpc/instance_token")[-1]
    assert request.method == "POST"
    assert json.loads(request.content) == {"_id": row["id"]}


def test_an_instance_without_a_token_of_its_own_is_still_found(fake):
    """WAHA's sessions have no token: the row keeps "", which is a token, not a missing row."""
    row = fake.add_row("sessao-waha", token="")
    assert signed_in().store().instance_token(row["id"]) == ""
    with pytest.raises(InstanceNotFound):
        signed_in().store().instance_token(str(uuid.uuid4()))


def test_update_status_compare_and_set(fake):
    row = fake.add_row("one", status="connecting")
    store = signed_in().store()
    updated = store.update_status(row["id"], status="connected", phone_number="5511999", expected_status="connecting")
    assert (updated.status, updated.phone_number) == ("connected", "5511999")
    params = fake.rest_requests("instances")[-1].url.params
    assert params["status"] == "eq.connecting" and params["id"] == f"eq.{row['id']}"
    assert set(params["select"].split(",")) == COLUMNS

    # A stale reply expecting "connecting" no longer applies; the stored row comes back unchanged.
    stale = store.update_status(row["id"], status="disconnected", phone_number=None, expected_status="connecting")
    assert (stale.status, stale.phone_number) == ("connected", "5511999")


def test_update_status_without_expected_status_has_no_status_filter(fake):
    row = fake.add_row("one", status="connected")
    updated = signed_in().store().update_status(row["id"], status="disconnected", phone_number=None)
    assert updated.status == "disconnected"
    assert "status" not in fake.rest_requests("instances")[0].url.params


def test_update_status_of_a_deleted_row_raises_not_found(fake):
    with pytest.raises(InstanceNotFound):
        signed_in().store().update_status(str(uuid.uuid4()), status="connected", phone_number=None)


def test_delete_instance_and_delete_again(fake):
    row = fake.add_row("one")
    store = signed_in().store()
    store.delete_instance(row["id"])
    assert fake.rows == []
    with pytest.raises(InstanceNotFound):
        store.delete_instance(row["id"])


# --- status checks ----------------------------------------------------------------------------


def test_the_monitor_columns_are_read_and_parsed(fake):
    checked = "2026-11-30T12:00:00.123456+00:00"
    fake.add_row("one", status="connected", phone_number="5511999", last_checked_at=checked,
                 last_phone_number="5511999", last_error="Tempo esgotado", check_failures=2)
    fake.add_row("two", age_minutes=5)
    one, two = signed_in().store().list_instances()
    assert one.last_checked_at == datetime.fromisoformat(checked) and one.last_checked_at.tzinfo is not None
    assert (one.last_phone_number, one.last_error, one.check_failures) == ("5511999", "Tempo esgotado", 2)
    assert one.status_changed_at is not None
    assert (two.last_checked_at, two.last_phone_number, two.last_error, two.check_failures) == (None, None, None, 0)


def test_record_check_writes_the_answer_and_clears_the_error(fake):
    row = fake.add_row("one", status="connecting", last_error="Tempo esgotado", check_failures=2, age_minutes=5)
    before = datetime.now(timezone.utc)
    updated = signed_in().store().record_check(
        row["id"], status="connected", phone_number="5511999", expected_status="connecting"
    )
    assert (updated.status, updated.phone_number, updated.last_phone_number) == ("connected", "5511999", "5511999")
    assert (updated.last_error, updated.check_failures) == (None, 0)
    assert updated.last_checked_at >= before and updated.status_changed_at >= before
    request = fake.rest_requests("instances")[-1]
    assert request.method == "PATCH"
    assert (request.url.params["id"], request.url.params["status"]) == (f"eq.{row['id']}", "eq.connecting")
    assert set(request.url.params["select"].split(",")) == COLUMNS
    body = json.loads(request.content)
    assert body | {"last_checked_at": None} == {
        "status": "connected", "phone_number": "5511999", "last_checked_at": None, "last_error": None,
        "check_failures": 0, "dropped": False, "disconnect_reason": None,
    }


def test_record_check_refused_by_compare_and_set_writes_nothing(fake):
    row = fake.add_row("one", status="disconnected")
    refused = signed_in().store().record_check(
        row["id"], status="connected", phone_number="5511999", expected_status="connecting"
    )
    assert refused is None
    assert (fake.rows[0]["status"], fake.rows[0]["last_checked_at"]) == ("disconnected", None)


def test_record_check_of_a_deleted_row_raises_not_found(fake):
    with pytest.raises(InstanceNotFound):
        signed_in().store().record_check(str(uuid.uuid4()), status="connected", phone_number=None,
                                         expected_status="connecting")


def test_mark_checked_is_one_rpc_for_all_rows(fake):
    failing = fake.add_row("one", last_error="Tempo esgotado", check_failures=1, age_minutes=5)
    healthy = fake.add_row("two", age_minutes=5)
    store = signed_in().store()
    store.mark_checked([])
    assert fake.rest_requests("rpc") == []
    store.mark_checked([failing["id"], healthy["id"]])
    [request] = fake.rest_requests("rpc")
    assert request.url.path.endswith("/rpc/mark_instances_checked")
    assert json.loads(request.content) == {"_ids": [failing["id"], healthy["id"]]}
    one, two = store.get_instance(failing["id"]), store.get_instance(healthy["id"])
    assert one.last_checked_at is not None and two.last_checked_at is not None
    assert (one.last_error, one.check_failures) == (None, 0)


def test_record_check_failure_calls_the_rpc_and_returns_the_row(fake):
    row = fake.add_row("one", status="connected")
    store = signed_in().store()
    streak = [store.record_check_failure(row["id"], error="Tempo esgotado", max_failures=3) for _ in range(4)]
    assert [i.check_failures for i in streak] == [1, 2, 3, 3]
    assert {(i.status, i.last_error) for i in streak} == {("connected", "Tempo esgotado")}
    request = fake.rest_requests("rpc/record_instance_check_failure")[-1]
    assert json.loads(request.content) == {"_id": row["id"], "_error": "Tempo esgotado", "_max_failures": 3}
    with pytest.raises(InstanceNotFound):
        store.record_check_failure(str(uuid.uuid4()), error="Tempo esgotado", max_failures=3)


def test_version_is_the_rpc_answer_and_moves_with_a_write(fake):
    row = fake.add_row("one", status="connecting", age_minutes=5)
    store = signed_in().store()
    first = store.version()
    assert isinstance(first, str) and store.version() == first
    assert fake.rest_requests("rpc/instances_version")[-1].method == "POST"
    store.update_status(row["id"], status="connected", phone_number="5511999")
    assert store.version() != first


def test_a_duplicate_name_becomes_a_validation_error(fake):
    fake.add_row("one", name="Cobrança")
    with pytest.raises(ValidationError) as excinfo:
        signed_in().store().insert_instance(instance_id="two", token="t", name="COBRANÇA", created_by=None)
    assert excinfo.value.message == "Já existe uma instância com este nome."


# --- the server's store -------------------------------------------------------------------------


def test_server_store_sends_the_service_role_key_and_signs_nobody_in(fake):
    SupabaseServerStore(SERVER_SETTINGS).list_instances()
    request = fake.rest_requests("instances")[-1]
    assert request.headers["apikey"] == SERVICE_ROLE_KEY
    assert request.headers["Authorization"] == f"Bearer {SERVICE_ROLE_KEY}"
    assert (fake.password_route.call_count, fake.refresh_route.call_count) == (0, 0)


def test_server_store_needs_the_service_role_key(fake):
    with pytest.raises(ConfigError, match="service_role_key"):
        SupabaseServerStore(SETTINGS)


def test_instances_with_tokens_reads_every_token_in_one_request(fake):
    fake.add_row("older", age_minutes=10)
    fake.add_row("newer", age_minutes=1)
    pairs = SupabaseServerStore(SERVER_SETTINGS).instances_with_tokens()
    assert [(i.instance_id, token) for i, token in pairs] == [("newer", "tok-newer"), ("older", "tok-older")]
    [request] = fake.rest_requests("instances")
    assert set(request.url.params["select"].split(",")) == COLUMNS | {"token"}


def test_server_store_reads_one_token_without_the_admin_function(fake):
    row = fake.add_row("one")
    store = SupabaseServerStore(SERVER_SETTINGS)
    assert store.instance_token(row["id"]) == "tok-one"
    assert fake.rest_requests("rpc") == []  # instance_token() answers signed-in admins only
    with pytest.raises(InstanceNotFound):
        store.instance_token(str(uuid.uuid4()))


def test_find_by_instance_id(fake):
    row = fake.add_row("inst-7")
    store = SupabaseServerStore(SERVER_SETTINGS)
    assert store.find_by_instance_id("inst-7").id == row["id"]
    assert fake.rest_requests("instances")[-1].url.params["instance_id"] == "eq.inst-7"
    assert store.find_by_instance_id("inst-404") is None


def test_claim_lease_one_holder_at_a_time(fake, clock):
    a, b = SupabaseServerStore(SERVER_SETTINGS), SupabaseServerStore(SERVER_SETTINGS)
    assert a.claim_lease("replica-a", 60) is True
    assert b.claim_lease("replica-b", 60) is False
    assert a.claim_lease("replica-a", 60) is True
    assert json.loads(fake.rest_requests("rpc/claim_monitor_lease")[-1].content) == {
        "holder": "replica-a", "ttl_seconds": 60
    }
    clock.advance(61)
    assert b.claim_lease("replica-b", 60) is True
    assert a.claim_lease("replica-a", 60) is False
    a.release_lease("replica-a")  # not the holder: changes nothing
    assert a.claim_lease("replica-a", 60) is False
    b.release_lease("replica-b")  # a server stopping: the next one sweeps at once
    assert a.claim_lease("replica-a", 60) is True


@pytest.mark.parametrize("call", [
    lambda store: store.list_instances(),
    lambda store: store.instances_with_tokens(),
    lambda store: store.claim_lease("replica-a", 60),
    lambda store: store.mark_checked(["x"]),
    lambda store: store.events(),
    lambda store: store.prune_events(datetime.now(timezone.utc)),
], ids=["list", "tokens", "lease", "mark", "events", "prune"])
@pytest.mark.parametrize("error", [httpx.ConnectError, httpx.ReadTimeout])
def test_server_store_offline(fake, call, error):
    store = SupabaseServerStore(SERVER_SETTINGS)
    fake.fail("rest", error, times=None)
    with pytest.raises(StoreError) as excinfo:
        call(store)
    assert excinfo.value.message == MSG_OFFLINE


def test_the_service_role_key_never_shows(fake):
    store = SupabaseServerStore(SERVER_SETTINGS)
    assert SERVICE_ROLE_KEY not in repr(store) and SERVICE_ROLE_KEY not in str(store)
    fake.fail("rest", pg_error(500, "XX000", f"boom {SERVICE_ROLE_KEY}"))
    with pytest.raises(StoreError) as excinfo:
        store.list_instances()
    assert SERVICE_ROLE_KEY not in str(excinfo.value) and SERVICE_ROLE_KEY not in repr(excinfo.value)


def test_a_rejected_service_role_key_is_named_not_shown(fake):
    wrong = "wrong-service-role-key"
    store = SupabaseServerStore(SupabaseSettings(url=URL, anon_key=ANON_KEY, service_role_key=wrong))
    fake.fail("rest", pg_error(401, "PGRST301", "No suitable key or wrong key type"))
    with pytest.raises(StoreError) as excinfo:
        store.list_instances()
    assert excinfo.value.message == MSG_SERVICE_KEY_REJECTED
    assert wrong not in repr(excinfo.value)


class ScriptedProvider:
    """The provider's status answers by instance_id: a StatusReply, or a ProviderError to raise (a
    provider that answers one instance at a time: no capabilities beyond the four calls)."""

    capabilities = frozenset()

    def __init__(self, answers: dict):
        self.answers = answers
        self.asked: list[tuple[str, str]] = []

    def status(self, instance_id: str, token: str) -> StatusReply:
        self.asked.append((instance_id, token))
        answer = self.answers[instance_id]
        if isinstance(answer, Exception):
            raise answer
        return answer


def test_the_monitor_sweeps_through_the_server_store(fake):
    fake.add_row("changed", status="connecting")
    fake.add_row("same", status="disconnected", last_error="Tempo esgotado", check_failures=1)
    fake.add_row("failing", status="connected", phone_number="5511888")
    fake.add_row("dropping", status="connected", phone_number="5511777", last_phone_number="5511777")
    fake.add_row("steady", status="connected", phone_number="5511666")
    fake.add_event(None, "alert_sent", at=datetime.now(timezone.utc) - timedelta(days=181))  # past retention
    provider = ScriptedProvider({
        "changed": StatusReply("connected", "5511999"),
        "same": StatusReply("disconnected", None),
        "failing": ProviderError("O provedor não respondeu.", action="status"),
        "dropping": StatusReply("disconnected", None),
        "steady": StatusReply("connected", "5511666"),
    })
    monitor = StatusMonitor(SupabaseServerStore(SERVER_SETTINGS), provider, interval_seconds=60, holder="replica-a")

    results = monitor.sweep()

    assert sorted(provider.asked) == [("changed", "tok-changed"), ("dropping", "tok-dropping"),
                                      ("failing", "tok-failing"), ("same", "tok-same"), ("steady", "tok-steady")]
    assert {r.before.instance_id: r.changed for r in results} == {
        "changed": True, "same": False, "failing": False, "dropping": True, "steady": False
    }
    # The history: a transition each for the changed rows, a failure streak starting and one ending,
    # nothing for the row that answered as before; the event past retention is gone.
    assert sorted((e["instance_name"], e["kind"], e["from_status"], e["to_status"], e["phone_number"], e["source"],
                   e["actor_id"], e["detail"]) for e in fake.events) == [
        ("Changed", "connected", "connecting", "connected", "5511999", "monitor", None, None),
        ("Dropping", "dropped", "connected", "disconnected", "5511777", "monitor", None, None),
        ("Failing", "check_failed", None, None, None, "monitor", None, "O provedor não respondeu."),
        ("Same", "check_recovered", None, None, None, "monitor", None, None),
    ]
    assert len(fake.rest_requests("rpc/prune_instance_events")) == 1
    rows = {r["instance_id"]: r for r in fake.rows}
    assert (rows["changed"]["status"], rows["changed"]["phone_number"]) == ("connected", "5511999")
    assert (rows["same"]["last_error"], rows["same"]["check_failures"]) == (None, 0)
    assert rows["same"]["last_checked_at"] is not None and rows["changed"]["last_checked_at"] is not None
    assert (rows["failing"]["status"], rows["failing"]["last_error"], rows["failing"]["check_failures"]) == (
        "connected", "O provedor não respondeu.", 1
    )
    assert len(fake.rest_requests("rpc/mark_instances_checked")) == 1
    assert StatusMonitor(SupabaseServerStore(SERVER_SETTINGS), provider, interval_seconds=60,
                         holder="replica-b").sweep() is None


# --- history ------------------------------------------------------------------------------------

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


# --- error mapping ----------------------------------------------------------------------------


def test_42501_becomes_permission_denied(fake):
    row = fake.add_row("one")
    store = signed_in("analyst@example.com").store()
    assert [i.id for i in store.list_instances()] == [row["id"]]
    with pytest.raises(PermissionDenied, match="Sem permissão"):
        store.instance_token(row["id"])
    with pytest.raises(PermissionDenied):
        store.insert_instance(instance_id="x", token="t", name="X", created_by=None)


def test_p0002_becomes_instance_not_found(fake):
    with pytest.raises(InstanceNotFound):
        signed_in().store().instance_token(str(uuid.uuid4()))


def test_duplicate_instance_id_becomes_store_error(fake):
    fake.add_row("one")
    with pytest.raises(StoreError, match="duplicado"):
        signed_in().store().insert_instance(instance_id="one", token="t", name="One", created_by=None)


@pytest.mark.parametrize("error", [httpx.ConnectError, httpx.ReadTimeout])
def test_network_errors_become_store_error(fake, error):
    store = signed_in().store()
    fake.fail("rest", error, times=None)
    with pytest.raises(StoreError) as excinfo:
        store.list_instances()
    assert excinfo.value.message == MSG_OFFLINE
    with pytest.raises(StoreError, match="Sem conexão"):
        store.insert_instance(instance_id="x", token="t", name="X", created_by=None)


def test_unknown_postgrest_error_becomes_generic_store_error(fake):
    store = signed_in().store()
    fake.fail("rest", pg_error(500, "XX000", "internal error"))
    with pytest.raises(StoreError, match="Falha ao acessar o Supabase"):
        store.list_instances()


def test_expired_jwt_is_refreshed_once_and_the_call_retried_with_the_new_token(fake):
    fake.add_row("one")
    session = signed_in()
    old_token = fake.token_of("admin@example.com")
    fake.access_tokens[old_token]["exp"] = int(time.time()) - 1  # server says expired, client clock disagrees

    assert [i.instance_id for i in session.store().list_instances()] == ["one"]
    assert fake.refresh_route.call_count == 1
    first, retry = fake.rest_requests("instances")
    new_token = fake.token_of("admin@example.com")
    assert bearer(first) == old_token and bearer(retry) == new_token != old_token


def test_a_second_jwt_rejection_signs_out(fake):
    session = signed_in()
    fake.fail("rest", pg_error(401, "PGRST303", "JWT expired"), times=2)
    with pytest.raises(AuthError) as excinfo:
        session.store().list_instances()
    assert excinfo.value.message == MSG_EXPIRED
    assert fake.refresh_route.call_count == 1
    assert session.user is None


# --- sign-in ------------------------------------------------------------------------------------


def test_sign_in_reads_the_most_privileged_role_from_user_roles(fake):
    user_id = fake.add_user("both@example.com", "analyst", "supervisor")
    user = signed_in("both@example.com").user
    assert (user.id, user.email, user.role) == (user_id, "both@example.com", "supervisor")
    request = fake.rest_requests("user_roles")[-1]
    assert request.url.params["user_id"] == f"eq.{user_id}"
    assert request.url.params["select"] == "role"
    assert bearer(request) == fake.token_of("both@example.com")


def test_sign_in_takes_the_role_from_the_jwt_claim_when_present(fake):
    fake.add_user("hooked@example.com", claims={"user_role": "supervisor"})  # no user_roles row
    assert signed_in("hooked@example.com").user.role == "supervisor"
    assert fake.rest_requests("user_roles") == []


def test_sign_in_with_a_null_role_claim_falls_back_to_user_roles(fake):
    fake.add_user("nullclaim@example.com", "analyst", claims={"user_role": None})
    assert signed_in("nullclaim@example.com").user.role == "analyst"


def test_sign_in_without_a_role_gives_role_none(fake):
    fake.add_user("nobody@example.com")
    user = signed_in("nobody@example.com").user
    assert user.role is None and not user.is_admin


@pytest.mark.parametrize("shape", ["modern", "legacy"])
def test_wrong_password(fake, shape):
    fake.error_shape = shape
    session = SupabaseUserClient(SETTINGS)
    with pytest.raises(AuthError) as excinfo:
        session.sign_in("admin@example.com", "wrong password")
    assert excinfo.value.message == MSG_BAD_LOGIN
    assert session.user is None


@pytest.mark.parametrize("shape", ["modern", "legacy"])
def test_unconfirmed_email(fake, shape):
    fake.error_shape = shape
    fake.add_user("new@example.com", "analyst", confirmed=False)
    with pytest.raises(AuthError) as excinfo:
        SupabaseUserClient(SETTINGS).sign_in("new@example.com", PASSWORD)
    assert excinfo.value.message == MSG_UNCONFIRMED


@pytest.mark.parametrize("error", [httpx.ConnectError, httpx.ConnectTimeout])
def test_sign_in_offline(fake, error):
    fake.fail("password", error)
    with pytest.raises(AuthError) as excinfo:
        SupabaseUserClient(SETTINGS).sign_in("admin@example.com", PASSWORD)
    assert excinfo.value.message == MSG_OFFLINE


def test_sign_in_fails_cleanly_when_the_role_cannot_be_read(fake):
    fake.fail("rest", httpx.ConnectError, times=None)
    session = SupabaseUserClient(SETTINGS)
    with pytest.raises(AuthError, match="Sem conexão"):
        session.sign_in("admin@example.com", PASSWORD)
    assert session.user is None
    assert session._client.options.headers["Authorization"] == f"Bearer {ANON_KEY}"


def test_error_messages_never_contain_tokens(fake):
    session = signed_in()
    token = fake.token_of("admin@example.com")
    fake.fail("rest", pg_error(500, "XX000", f"boom {token}"))
    with pytest.raises(StoreError) as excinfo:
        session.store().list_instances()
    assert token not in excinfo.value.message


# --- session lifetime ---------------------------------------------------------------------------


def test_a_fresh_session_is_not_refreshed(fake):
    session = signed_in()
    assert session.refresh_if_needed() == session.user
    assert fake.refresh_route.call_count == 0


def test_an_hour_old_session_keeps_working(fake, clock):
    session = signed_in()
    old_token = fake.token_of("admin@example.com")
    clock.advance(3700)  # both sides now see the access token as expired

    assert session.refresh_if_needed().role == "admin"
    assert fake.refresh_route.call_count == 1
    session.store().list_instances()
    session.refresh_if_needed()
    assert fake.refresh_route.call_count == 1
    assert len(fake.rest_requests("instances")) == 1  # accepted at once, no 401 and retry
    assert bearer(fake.rest_requests("instances")[-1]) == fake.token_of("admin@example.com") != old_token


def test_a_rejected_refresh_token_ends_the_session(fake, clock):
    session = signed_in()
    fake.refresh_tokens.clear()  # e.g. revoked by a global sign-out elsewhere
    clock.advance(3700)
    with pytest.raises(AuthError) as excinfo:
        session.refresh_if_needed()
    assert excinfo.value.message == MSG_EXPIRED
    assert session.user is None
    assert session.refresh_if_needed() is None


def test_a_refresh_while_offline_keeps_the_session_for_the_next_run(fake, clock):
    session = signed_in()
    clock.advance(3700)
    fake.fail("refresh", httpx.ConnectError)
    with pytest.raises(AuthError) as excinfo:
        session.refresh_if_needed()
    assert excinfo.value.message == MSG_OFFLINE
    assert session.user is not None
    assert session.refresh_if_needed() is session.user
    assert fake.refresh_route.call_count == 2


def test_sign_out_revokes_the_session_with_local_scope(fake):
    session = signed_in()
    token = fake.token_of("admin@example.com")
    session.sign_out()
    request = fake.logout_route.calls.last.request
    assert request.url.params["scope"] == "local"
    assert bearer(request) == token
    assert session.user is None
    session.store().list_instances()  # now anonymous: RLS shows nothing
    assert bearer(fake.rest_requests("instances")[-1]) == ANON_KEY


def test_sign_out_offline_does_not_raise(fake):
    session = signed_in()
    fake.fail("logout", httpx.ConnectError)
    session.sign_out()
    assert session.user is None
    assert fake.logout_route.call_count == 1
    session.store().list_instances()
    assert bearer(fake.rest_requests("instances")[-1]) == ANON_KEY


def test_two_sessions_keep_their_own_tokens(fake):
    admin, analyst = signed_in("admin@example.com"), signed_in("analyst@example.com")
    admin_token, analyst_token = fake.token_of("admin@example.com"), fake.token_of("analyst@example.com")
    assert admin.user.role == "admin" and analyst.user.role == "analyst"

    admin.store().list_instances()
    analyst.store().list_instances()
    admin.store().list_instances()
    assert [bearer(r) for r in fake.rest_requests("instances")] == [admin_token, analyst_token, admin_token]

    admin.sign_out()
    analyst.store().list_instances()
    assert bearer(fake.rest_requests("instances")[-1]) == analyst_token
    assert analyst.user.role == "analyst"


# --- managing users (supabase/migrations/20261203000000_user_admin.sql) --------------------------


def all_requests(fake) -> list[httpx.Request]:
    routes = (fake.password_route, fake.refresh_route, fake.logout_route, fake.invite_route, fake.rest_route)
    return [call.request for route in routes for call in route.calls]


def test_role_holders_come_from_the_admins_own_session(fake):
    ana = fake.add_user("Ana@example.com", "supervisor")
    fake.add_user("nobody@example.com")  # no role: not listed
    session = signed_in()
    holders = session.role_holders()
    assert [(h.email, h.role) for h in holders] == [
        ("admin@example.com", "admin"), ("Ana@example.com", "supervisor"), ("analyst@example.com", "analyst"),
    ]
    admin, ana_row = holders[0], holders[1]
    assert (admin.user_id, ana_row.user_id) == (fake.admin_id, ana)
    assert admin.created_at.tzinfo is not None and admin.last_sign_in_at is not None
    assert ana_row.last_sign_in_at is None
    request = fake.rest_requests("rpc/admin_list_role_holders")[-1]
    assert (request.method, request.headers["apikey"]) == ("POST", ANON_KEY)
    assert bearer(request) == fake.token_of("admin@example.com")


def test_a_role_is_given_by_email_and_replaces_the_one_held(fake):
    analyst_id = fake.accounts["analyst@example.com"]["id"]
    session = signed_in()
    assert session.find_user(" ANALYST@example.com ") == (analyst_id, "analyst@example.com")
    assert session.find_user("ninguem@example.com") is None
    assert session.grant_role(" Analyst@Example.com ", "supervisor") == analyst_id
    assert fake.roles_of("analyst@example.com") == ["supervisor"]
    assert json.loads(fake.rest_requests("rpc/admin_grant_role")[-1].content) == {
        "_email": "analyst@example.com", "_role": "supervisor"
    }
    session.revoke_role(analyst_id)
    assert fake.roles_of("analyst@example.com") == []
    assert json.loads(fake.rest_requests("rpc/admin_revoke_role")[-1].content) == {"_user_id": analyst_id}


def test_user_admin_errors_are_told_in_portuguese(fake):
    session = signed_in()
    with pytest.raises(ValidationError) as excinfo:
        session.grant_role("ninguem@example.com", "analyst")
    assert excinfo.value.message == MSG_NO_SUCH_USER
    with pytest.raises(ValidationError) as excinfo:
        session.grant_role("admin@example.com", "analyst")
    assert excinfo.value.message == MSG_LAST_ADMIN
    with pytest.raises(ValidationError) as excinfo:
        session.revoke_role(fake.admin_id)
    assert excinfo.value.message == MSG_LAST_ADMIN
    assert fake.roles_of("admin@example.com") == ["admin"]

    before = len(fake.rest_requests())
    for bad_email in ("", "   ", "sem-arroba", "dois espacos@example.com", "x@" + "y" * 300):
        with pytest.raises(ValidationError, match="e-mail válido"):
            session.grant_role(bad_email, "analyst")
    with pytest.raises(ValidationError, match="Papel inválido"):
        session.grant_role("analyst@example.com", "owner")
    assert len(fake.rest_requests()) == before  # refused before any request


@pytest.mark.parametrize("call", [
    lambda session, fake: session.role_holders(),
    lambda session, fake: session.find_user("admin@example.com"),
    lambda session, fake: session.grant_role("analyst@example.com", "admin"),
    lambda session, fake: session.revoke_role(fake.admin_id),
], ids=["list", "find", "grant", "revoke"])
@pytest.mark.parametrize("email", ["analyst@example.com", "nobody@example.com"])
def test_only_admins_manage_users(fake, call, email):
    if email not in fake.accounts:
        fake.add_user(email)
    roles = list(fake.user_roles)
    with pytest.raises(PermissionDenied) as excinfo:
        call(signed_in(email), fake)
    assert excinfo.value.message == MSG_NOT_ADMIN
    assert fake.user_roles == roles


def test_role_for_email_is_the_servers(fake):
    nobody = fake.add_user("nobody@example.com")
    fake.add_user("both@example.com", "analyst", "supervisor")
    store = SupabaseServerStore(SERVER_SETTINGS)
    assert store.role_for_email(" Admin@Example.com ") == (fake.admin_id, "admin")
    assert store.role_for_email("both@example.com") == (fake.accounts["both@example.com"]["id"], "supervisor")
    assert store.role_for_email("nobody@example.com") == (nobody, None)
    assert store.role_for_email("ninguem@example.com") is None
    assert store.role_for_email("") is None
    requests = fake.rest_requests("rpc/role_for_email")
    assert len(requests) == 4 and json.loads(requests[0].content) == {"_email": "Admin@Example.com"}
    assert {(r.headers["apikey"], bearer(r)) for r in requests} == {(SERVICE_ROLE_KEY, SERVICE_ROLE_KEY)}
    # Not for a signed-in user, not even an admin.
    with pytest.raises(PermissionDenied):
        signed_in()._execute(lambda c: c.rpc("role_for_email", {"_email": "admin@example.com"}))


def test_role_for_email_offline_is_a_store_error(fake):
    fake.fail("rest", httpx.ConnectError)
    with pytest.raises(StoreError) as excinfo:
        SupabaseServerStore(SERVER_SETTINGS).role_for_email("admin@example.com")
    assert excinfo.value.message == MSG_OFFLINE


def test_an_invitation_goes_through_gotrue_with_the_service_role_key(fake):
    store = SupabaseServerStore(SERVER_SETTINGS)
    user_id = store.invite(" Nova@Example.com ")
    assert fake.invited == ["nova@example.com"]
    assert fake.accounts["nova@example.com"] == fake.accounts["nova@example.com"] | {"id": user_id, "confirmed": False}
    request = fake.invite_route.calls.last.request
    assert (request.headers["apikey"], bearer(request)) == (SERVICE_ROLE_KEY, SERVICE_ROLE_KEY)
    assert json.loads(request.content)["email"] == "nova@example.com"


@pytest.mark.parametrize(("outcome", "error", "message"), [
    (None, ValidationError, MSG_ALREADY_REGISTERED),  # the e-mail has a confirmed account
    (httpx.Response(429, json={"code": "over_email_send_rate_limit", "message": "email rate limit exceeded"},
                    headers={"X-Supabase-Api-Version": "2024-01-01"}), StoreError, MSG_EMAIL_RATE_LIMIT),
    (httpx.Response(403, json={"code": "not_admin", "message": "User not allowed"},
                    headers={"X-Supabase-Api-Version": "2024-01-01"}), StoreError, MSG_SERVICE_KEY_REJECTED),
    (httpx.Response(500, json={"code": "unexpected_failure", "message": "Error sending invite email"},
                    headers={"X-Supabase-Api-Version": "2024-01-01"}), StoreError, MSG_INVITE_FAILED),
    (httpx.Response(502, text="Bad Gateway"), StoreError, MSG_OFFLINE),
    (httpx.ConnectError, StoreError, MSG_OFFLINE),
], ids=["registered", "rate-limit", "key-rejected", "gotrue-error", "gateway", "offline"])
def test_invitation_failures_are_told_in_portuguese(fake, outcome, error, message):
    email = "analyst@example.com" if outcome is None else "nova@example.com"
    if outcome is not None:
        fake.fail("invite", outcome)
    with pytest.raises(error) as excinfo:
        SupabaseServerStore(SERVER_SETTINGS).invite(email)
    assert excinfo.value.message == message
    assert SERVICE_ROLE_KEY not in excinfo.value.message
    assert fake.invited == []


def test_a_bad_email_is_never_sent_for_an_invitation(fake):
    with pytest.raises(ValidationError, match="e-mail válido"):
        SupabaseServerStore(SERVER_SETTINGS).invite("sem-arroba")
    assert fake.invite_route.call_count == 0


def test_an_admin_invites_and_the_role_follows(fake):
    admin = SupabaseRoleAdmin(signed_in(), SupabaseServerStore(SERVER_SETTINGS))
    assert admin.can_invite and not SupabaseRoleAdmin(signed_in(), None).can_invite
    assert admin.invite("nova@example.com", "supervisor") is True
    assert fake.invited == ["nova@example.com"] and fake.roles_of("nova@example.com") == ["supervisor"]
    # An e-mail that already has an account gets the role and no invitation.
    assert admin.invite("Analyst@Example.com", "admin") is False
    assert fake.invited == ["nova@example.com"] and fake.roles_of("analyst@example.com") == ["admin"]


def test_an_invitation_sent_without_its_role_says_so(fake, monkeypatch):
    session = signed_in()

    def offline(email: str, role: str) -> str:
        raise StoreError(MSG_OFFLINE)

    monkeypatch.setattr(session, "grant_role", offline)
    with pytest.raises(StoreError) as excinfo:
        SupabaseRoleAdmin(session, SupabaseServerStore(SERVER_SETTINGS)).invite("nova@example.com", "analyst")
    assert excinfo.value.message.startswith("Convite enviado, mas o papel não foi dado: Sem conexão")
    assert fake.invited == ["nova@example.com"]


def test_a_non_admin_sends_no_invitation(fake):
    with pytest.raises(PermissionDenied):
        SupabaseRoleAdmin(signed_in("analyst@example.com"), SupabaseServerStore(SERVER_SETTINGS)).invite(
            "nova@example.com", "admin")
    assert fake.invite_route.call_count == 0
    assert "nova@example.com" not in fake.accounts


def test_the_service_role_key_is_used_only_by_the_server_store(fake):
    session = signed_in()
    admin = SupabaseRoleAdmin(session, SupabaseServerStore(SERVER_SETTINGS))
    admin.holders()
    admin.invite("nova@example.com", "analyst")
    analyst_id = admin.grant("analyst@example.com", "supervisor")
    admin.revoke(analyst_id)
    SupabaseServerStore(SERVER_SETTINGS).role_for_email("admin@example.com")

    for request in all_requests(fake):
        server_side = request.url.path in ("/auth/v1/invite", "/rest/v1/rpc/role_for_email")
        keys = {request.headers["apikey"], request.headers.get("Authorization", "").removeprefix("Bearer ")}
        assert (SERVICE_ROLE_KEY in keys) == server_side, request.url
        if not server_side:
            assert SERVICE_ROLE_KEY not in request.content.decode() + str(request.url)
    assert fake.invite_route.call_count == 1


def test_a_reload_signs_in_again_from_the_refresh_token_the_server_kept(fake, database):
    from datetime import timedelta as span

    from lib.auth.sessions import SessionStore

    sessions = SessionStore(database, idle=span(hours=12), absolute=span(days=7))
    first = signed_in("analyst@example.com")
    raw = sessions.create(first.user, user_agent=None, refresh_token=first.refresh_token)
    first.on_refresh_token = lambda token: sessions.keep_refresh_token(raw, token)

    reloaded = SupabaseUserClient(SETTINGS)  # the browser's new session after F5: no tokens of its own
    reloaded.on_refresh_token = lambda token: sessions.keep_refresh_token(raw, token)
    user = reloaded.restore(sessions.resume(raw).refresh_token)
    assert (user.email, user.role) == ("analyst@example.com", "analyst")
    rotated = sessions.resume(raw).refresh_token
    assert rotated == reloaded.refresh_token and rotated != first.refresh_token  # the newest one is kept
    assert [r.name for r in reloaded.store().list_instances()] == [r.name for r in first.store().list_instances()]

    fake.refresh_tokens.clear()  # revoked at Supabase (signed out everywhere, or the user removed)
    with pytest.raises(AuthError) as excinfo:
        SupabaseUserClient(SETTINGS).restore(rotated)
    assert excinfo.value.message == MSG_EXPIRED
