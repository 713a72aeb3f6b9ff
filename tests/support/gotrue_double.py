"""The GoTrue half of the Supabase double: sign-in by password, refresh, invitation, magic links,
sign-out, and the claims of a request's bearer token. Methods of tests.support.supabase_double's
FakeSupabase, which holds the state (accounts, tokens, faults, the clock)."""

from __future__ import annotations

import base64
import json
from datetime import datetime, timezone

import httpx

from tests.support.supabase_rules import ANON_KEY, PASSWORD, SERVICE_ROLE, SERVICE_ROLE_KEY, URL, pg_error


def b64url(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def make_jwt(claims: dict) -> str:
    return f"{b64url({'alg': 'HS256', 'typ': 'JWT'})}.{b64url(claims)}.{b64url({'sig': 'unchecked'})}"


class GoTrueDouble:
    """GoTrue's answers (FakeSupabase's routes under /auth/v1/)."""

    def _auth_error(self, code: str, message: str) -> httpx.Response:
        if self.error_shape == "modern":
            return httpx.Response(
                400, json={"code": code, "message": message}, headers={"X-Supabase-Api-Version": "2024-01-01"}
            )
        return httpx.Response(400, json={"error": "invalid_grant", "error_description": message})

    def _issue_session(self, email: str) -> httpx.Response:
        account = self.accounts[email]
        account["last_sign_in_at"] = datetime.now(timezone.utc).isoformat()
        now = int(self.clock.time())
        claims = {
            "sub": account["id"], "email": email, "aud": "authenticated", "role": "authenticated",
            "iat": now, "exp": now + 3600, "session_id": f"s{next(self._seq)}", **account["claims"],
        }
        access, refresh = make_jwt(claims), f"refresh-{next(self._seq)}"
        self.access_tokens[access] = claims
        self.refresh_tokens[refresh] = email
        user = {
            "id": account["id"], "aud": "authenticated", "role": "authenticated", "email": email,
            "app_metadata": {"provider": "email"}, "user_metadata": {},
            "created_at": "2026-11-01T10:00:00.000000Z",
        }
        return httpx.Response(200, json={
            "access_token": access, "token_type": "bearer", "expires_in": 3600,
            "expires_at": now + 3600, "refresh_token": refresh, "user": user,
        })

    def _password_grant(self, request: httpx.Request) -> httpx.Response:
        assert request.headers["apikey"] == ANON_KEY
        body = json.loads(request.content)
        account = self.accounts.get(body["email"])
        if account is None or body["password"] != PASSWORD:
            return self._auth_error("invalid_credentials", "Invalid login credentials")
        if not account["confirmed"]:
            return self._auth_error("email_not_confirmed", "Email not confirmed")
        return self._issue_session(body["email"])

    def _refresh_grant(self, request: httpx.Request) -> httpx.Response:
        email = self.refresh_tokens.pop(json.loads(request.content)["refresh_token"], None)  # single use
        if email is None:
            return self._auth_error("refresh_token_not_found", "Invalid Refresh Token: Refresh Token Not Found")
        return self._issue_session(email)

    def _invite(self, request: httpx.Request) -> httpx.Response:
        """GoTrue's POST /invite: admin (service-role key) only; a new, unconfirmed account."""
        if (request.headers["apikey"], request.headers.get("Authorization")) != (
                SERVICE_ROLE_KEY, f"Bearer {SERVICE_ROLE_KEY}"):
            return httpx.Response(403, json={"code": "not_admin", "message": "User not allowed"},
                                  headers={"X-Supabase-Api-Version": "2024-01-01"})
        email = (json.loads(request.content).get("email") or "").strip().lower()
        if "@" not in email:
            return httpx.Response(400, json={"code": "validation_failed",
                                             "message": "Unable to validate email address: invalid format"},
                                  headers={"X-Supabase-Api-Version": "2024-01-01"})
        existing = next((e for e in self.accounts if e.lower() == email), None)
        if existing is not None and self.accounts[existing]["confirmed"]:
            return httpx.Response(422, json={"code": "email_exists",
                                             "message": "A user with this email address has already been registered"},
                                  headers={"X-Supabase-Api-Version": "2024-01-01"})
        if existing is None:
            self.add_user(email, confirmed=False)
        self.invited.append(email)
        account = self.accounts[existing or email]
        return httpx.Response(200, json={
            "id": account["id"], "aud": "authenticated", "role": "authenticated", "email": email,
            "invited_at": datetime.now(timezone.utc).isoformat(), "app_metadata": {"provider": "email"},
            "user_metadata": {}, "created_at": account["created_at"],
        })

    def _generate_link(self, request: httpx.Request) -> httpx.Response:
        """GoTrue's admin/generate_link (magiclink): service-role key only; sends nothing."""
        if (request.headers["apikey"], request.headers.get("Authorization")) != (
                SERVICE_ROLE_KEY, f"Bearer {SERVICE_ROLE_KEY}"):
            return httpx.Response(403, json={"code": "not_admin", "message": "User not allowed"},
                                  headers={"X-Supabase-Api-Version": "2024-01-01"})
        body = json.loads(request.content)
        account = self._account_by_email(body.get("email"))
        if body.get("type") != "magiclink" or account is None:
            return httpx.Response(404, json={"code": "user_not_found", "message": "User not found"},
                                  headers={"X-Supabase-Api-Version": "2024-01-01"})
        email, details = account
        hashed = f"hashed-{next(self._seq)}"
        self.sign_in_links[hashed] = email
        return httpx.Response(200, json={
            "id": details["id"], "aud": "authenticated", "role": "authenticated", "email": email,
            "app_metadata": {"provider": "email"}, "user_metadata": {}, "created_at": details["created_at"],
            "action_link": f"{URL}/auth/v1/verify?token={hashed}&type=magiclink", "email_otp": "123456",
            "hashed_token": hashed, "redirect_to": URL, "verification_type": "magiclink",
        })

    def _verify(self, request: httpx.Request) -> httpx.Response:
        """GoTrue's verify with a token hash: the anon key; a link works once."""
        assert request.headers["apikey"] == ANON_KEY
        body = json.loads(request.content)
        email = self.sign_in_links.pop(body.get("token_hash"), None)
        if body.get("type") != "magiclink" or email is None:
            return httpx.Response(403, json={"code": "otp_expired", "message": "Email link is invalid or has expired"},
                                  headers={"X-Supabase-Api-Version": "2024-01-01"})
        return self._issue_session(email)

    def _logout(self, request: httpx.Request) -> httpx.Response:
        claims = self._claims(request)
        if not isinstance(claims, dict):
            return httpx.Response(401, json={"code": "bad_jwt", "message": "invalid JWT"})
        for token in [t for t, e in self.refresh_tokens.items() if e == claims["email"]]:
            del self.refresh_tokens[token]
        return httpx.Response(204)

    def _claims(self, request: httpx.Request) -> dict | None | httpx.Response:
        """Claims of the bearer token; None for the anon key; a 401 response when rejected."""
        apikey = request.headers["apikey"]
        assert apikey in (ANON_KEY, SERVICE_ROLE_KEY), "unknown apikey"
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        if token == apikey == ANON_KEY:
            return None
        if token == apikey == SERVICE_ROLE_KEY:
            return {"role": SERVICE_ROLE}
        claims = self.access_tokens.get(token)
        if claims is None:
            return pg_error(401, "PGRST301", "No suitable key or wrong key type")
        if claims["exp"] <= self.clock.time():
            return pg_error(401, "PGRST303", "JWT expired")
        return claims
