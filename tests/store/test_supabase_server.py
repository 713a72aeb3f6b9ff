"""SupabaseServerStore (the service role's store: the monitor's writes, the lease, invitations)
against the HTTP double of GoTrue and PostgREST."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta, timezone

import httpx
import pytest

from lib.config.settings import SupabaseSettings
from lib.errors import ConfigError, InstanceNotFound, StoreError, ProviderError
from lib.monitor import StatusMonitor
from lib.provider.base import StatusReply
from lib.store.supabase.errors import MSG_OFFLINE, MSG_SERVICE_KEY_REJECTED
from lib.store.supabase.server import SupabaseServerStore
from tests.support.supabase_double import (  # noqa: F401 - clock and fake are fixtures
    ANON_KEY, COLUMNS, SERVER_SETTINGS, SERVICE_ROLE_KEY, SETTINGS, URL, clock, fake, pg_error,
)


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
