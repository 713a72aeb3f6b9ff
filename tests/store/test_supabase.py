"""SupabaseSession and SupabaseInstanceStore against the HTTP double of GoTrue and PostgREST."""

from __future__ import annotations

import json
import time
import uuid

import httpx
import pytest

from lib.errors import AuthError, InstanceNotFound, PermissionDenied, StoreError
from lib.store.supabase import (
    MSG_BAD_LOGIN,
    MSG_EXPIRED,
    MSG_OFFLINE,
    MSG_UNCONFIRMED,
    SupabaseSession,
)
from tests.support.supabase_double import (  # noqa: F401 - clock and fake are fixtures
    ANON_KEY,
    COLUMNS,
    PASSWORD,
    SETTINGS,
    clock,
    fake,
    pg_error,
)


def signed_in(email: str = "admin@example.com") -> SupabaseSession:
    session = SupabaseSession(SETTINGS)
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
    session = SupabaseSession(SETTINGS)
    with pytest.raises(AuthError) as excinfo:
        session.sign_in("admin@example.com", "wrong password")
    assert excinfo.value.message == MSG_BAD_LOGIN
    assert session.user is None


@pytest.mark.parametrize("shape", ["modern", "legacy"])
def test_unconfirmed_email(fake, shape):
    fake.error_shape = shape
    fake.add_user("new@example.com", "analyst", confirmed=False)
    with pytest.raises(AuthError) as excinfo:
        SupabaseSession(SETTINGS).sign_in("new@example.com", PASSWORD)
    assert excinfo.value.message == MSG_UNCONFIRMED


@pytest.mark.parametrize("error", [httpx.ConnectError, httpx.ConnectTimeout])
def test_sign_in_offline(fake, error):
    fake.fail("password", error)
    with pytest.raises(AuthError) as excinfo:
        SupabaseSession(SETTINGS).sign_in("admin@example.com", PASSWORD)
    assert excinfo.value.message == MSG_OFFLINE


def test_sign_in_fails_cleanly_when_the_role_cannot_be_read(fake):
    fake.fail("rest", httpx.ConnectError, times=None)
    session = SupabaseSession(SETTINGS)
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
