"""SupabaseUserClient's sign-in and session lifetime (refresh, expiry, sign-out) against the HTTP
double of GoTrue and PostgREST."""

from __future__ import annotations

import httpx
import pytest

from lib.errors import AuthError, StoreError
from lib.store.supabase.errors import MSG_EXPIRED, MSG_OFFLINE
from lib.store.supabase.user_client import MSG_BAD_LOGIN, MSG_UNCONFIRMED, SupabaseUserClient
from tests.store.test_supabase import bearer, signed_in
from tests.support.supabase_double import (  # noqa: F401 - clock and fake are fixtures
    ANON_KEY, PASSWORD, SETTINGS, clock, fake, pg_error,
)


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
