"""Managing users through Supabase (supabase/migrations/20261203000000_user_admin.sql) against
the HTTP double of GoTrue and PostgREST."""

from __future__ import annotations

import json

import httpx
import pytest

from lib.errors import AuthError, PermissionDenied, StoreError, ValidationError
from lib.auth.admin import SupabaseRoleAdmin
from lib.store.supabase.errors import MSG_EXPIRED, MSG_OFFLINE, MSG_SERVICE_KEY_REJECTED
from lib.store.supabase.server import (
    MSG_ALREADY_REGISTERED,
    MSG_EMAIL_RATE_LIMIT,
    MSG_INVITE_FAILED,
    SupabaseServerStore,
)
from lib.store.supabase.roles import MSG_LAST_ADMIN, MSG_NO_SUCH_USER, MSG_NOT_ADMIN
from lib.store.supabase.user_client import SupabaseUserClient
from tests.store.test_supabase import bearer, signed_in
from tests.support.supabase_double import (  # noqa: F401 - clock and fake are fixtures
    ANON_KEY, SERVER_SETTINGS, SERVICE_ROLE_KEY, SETTINGS, clock, fake,
)


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
