"""SupabaseUserClient and SupabaseInstanceStore against the HTTP double of GoTrue and PostgREST: the
requests and columns, status checks and the errors people see (the server's store, the history,
sign-in and sessions, and users: test_supabase_*.py)."""

from __future__ import annotations

import json
import time
import uuid
from datetime import datetime, timezone

import httpx
import pytest

from lib.errors import AuthError, InstanceNotFound, PermissionDenied, StoreError, ValidationError
from lib.store.supabase.errors import MSG_EXPIRED, MSG_OFFLINE
from lib.store.supabase.user_client import SupabaseUserClient
from tests.support.supabase_double import (  # noqa: F401 - clock and fake are fixtures
    ANON_KEY, COLUMNS, PASSWORD, SETTINGS, clock, fake, pg_error,
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
