"""The server's store in Supabase mode: SupabaseServerStore, with the service role (the status
monitor, the provider-event endpoint, single sign-on's look-ups and the invitations)."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any, Callable

import httpx
from postgrest import APIError
from supabase import Client, create_client
from supabase.lib.client_options import SyncClientOptions  # exported by `supabase` as ClientOptions
from supabase_auth.errors import AuthApiError, AuthRetryableError
from supabase_auth.errors import AuthError as GoTrueError

from lib.config.settings import SupabaseSettings
from lib.errors import AppError, AuthError, ConfigError, InstanceNotFound, StoreError, ValidationError
from lib.models import ROLES, Instance, InstanceEvent
from lib.store.supabase.errors import (
    HTTP_TIMEOUT_SECONDS, MSG_BAD_EMAIL, MSG_OFFLINE, MSG_SERVICE_KEY_REJECTED, checked_email, is_jwt_error,
    store_error,
)
from lib.store.supabase.instances import PostgrestInstances
from lib.store.supabase.rows import INSTANCE_COLUMNS, instance_from_row, iso

log = logging.getLogger(__name__)

# Inviting users (Usuários, with the service-role key).
MSG_ALREADY_REGISTERED = "Este e-mail já tem conta no Supabase: use “Dar papel”."
MSG_EMAIL_RATE_LIMIT = "O Supabase limitou o envio de e-mails. Aguarde alguns minutos e tente novamente."
MSG_INVITE_FAILED = "O Supabase não enviou o convite. Tente novamente."


class SupabaseServerStore(PostgrestInstances):
    """ServerStore over PostgREST with the service role: every row, tokens included, and the
    monitor's lease. For the status monitor and the provider-event endpoint only; one per process,
    safe to share between threads. The key is never logged nor shown (not in repr, not in errors)."""

    def __init__(self, settings: SupabaseSettings):
        if not settings.service_role_key:
            raise ConfigError(
                "Configuração incompleta: falta supabase.service_role_key (SUPABASE_SERVICE_ROLE_KEY)."
            )
        options = SyncClientOptions(
            auto_refresh_token=False,
            persist_session=False,  # nobody signs in: every request carries the key itself
            httpx_client=httpx.Client(timeout=HTTP_TIMEOUT_SECONDS),
        )
        self._client: Client = create_client(settings.url, settings.service_role_key, options=options)
        self._url = settings.url

    def __repr__(self) -> str:
        return f"SupabaseServerStore(url={self._url!r})"

    def role_for_email(self, email: str) -> tuple[str, str | None] | None:
        """(user id, role) of the Supabase Auth user with this e-mail, ignoring case (single sign-on
        maps an e-mail to a role); the role is the most privileged of the app's, None when the user
        holds none; None when no user has the e-mail."""
        email = (email or "").strip()
        if not email:
            return None
        rows = self._execute(lambda c: c.rpc("role_for_email", {"_email": email}))
        if not rows:
            return None
        role = rows[0].get("role")
        return rows[0]["user_id"], role if role in ROLES else None

    def invite(self, email: str) -> str:
        """Send Supabase's invitation e-mail (a new Supabase Auth user, who sets a password through
        the link); returns the new user's id. Raises ValidationError (already registered, bad
        e-mail) or StoreError."""
        email = checked_email(email)
        try:
            response = self._client.auth.admin.invite_user_by_email(email)
        except GoTrueError as exc:
            raise _invite_error(exc) from None
        except httpx.TransportError:
            raise StoreError(MSG_OFFLINE) from None
        if response.user is None:
            raise StoreError(MSG_INVITE_FAILED)
        return response.user.id

    def sign_in_link(self, email: str) -> str:
        """A one-time sign-in link's token for an existing Supabase Auth user (GoTrue's
        admin/generate_link: nothing is e-mailed), for a person the identity provider has just
        signed in: their browser session trades it for their own Supabase session
        (SupabaseUserClient.sign_in_with_link), so they act with their own rights, under row-level
        security, never with this store's key."""
        email = checked_email(email)
        try:
            response = self._client.auth.admin.generate_link({"type": "magiclink", "email": email})
        except GoTrueError as exc:
            log.warning("Supabase sign-in link refused (%s)", type(exc).__name__)
            raise AuthError("Não foi possível entrar pelo provedor agora. Tente novamente.") from None
        except httpx.TransportError:
            raise StoreError(MSG_OFFLINE) from None
        token_hash = getattr(response.properties, "hashed_token", None)
        if not token_hash:
            raise AuthError("Não foi possível entrar pelo provedor agora. Tente novamente.")
        return token_hash

    def _execute(self, build_query: Callable[[Client], Any]) -> Any:
        try:
            return build_query(self._client).execute().data
        except APIError as exc:
            if is_jwt_error(exc):
                raise StoreError(MSG_SERVICE_KEY_REJECTED) from exc
            raise store_error(exc) from exc
        except httpx.TransportError as exc:
            raise StoreError(MSG_OFFLINE) from exc

    def instance_token(self, id: str) -> str:
        # The instance_token() function answers signed-in admins only; the service role reads the column.
        rows = self._execute(lambda c: c.table("instances").select("token").eq("id", id))
        if not rows:
            raise InstanceNotFound()
        return rows[0]["token"]

    def instances_with_tokens(self) -> list[tuple[Instance, str]]:
        rows = self._execute(
            lambda c: c.table("instances").select(f"{INSTANCE_COLUMNS},token").order("created_at", desc=True)
        )
        return [(instance_from_row(row), row["token"]) for row in rows]

    def find_by_instance_id(self, instance_id: str) -> Instance | None:
        rows = self._execute(
            lambda c: c.table("instances").select(INSTANCE_COLUMNS).eq("instance_id", instance_id)
        )
        return instance_from_row(rows[0]) if rows else None

    def claim_lease(self, holder: str, ttl_seconds: int) -> bool:
        held = self._execute(
            lambda c: c.rpc("claim_monitor_lease", {"holder": holder, "ttl_seconds": ttl_seconds})
        )
        return held is True

    def release_lease(self, holder: str) -> None:
        self._execute(lambda c: c.rpc("release_monitor_lease", {"holder": holder}))

    def _event_row(self, event: InstanceEvent) -> dict:
        """The server writes in the name the event carries (none for the monitor's own events),
        and at the time it carries, if any."""
        row = super()._event_row(event) | {"actor_id": event.actor_id, "actor_email": event.actor_email}
        if event.created_at is not None:
            row["created_at"] = iso(event.created_at)
        return row

    def last_event_id(self) -> int:
        rows = self._execute(lambda c: c.table("instance_events").select("id").order("id", desc=True).limit(1))
        return rows[0]["id"] if rows else 0

    def prune_events(self, before: datetime) -> int:
        """prune_instance_events() deletes and counts in the database: no list of ids comes back."""
        return self._execute(lambda c: c.rpc("prune_instance_events", {"_before": iso(before)}))



def _invite_error(exc: GoTrueError) -> AppError:
    if isinstance(exc, AuthRetryableError):  # no response, or a gateway 5xx
        return StoreError(MSG_OFFLINE)
    message = (exc.message or "").lower()
    status = exc.status if isinstance(exc, AuthApiError) else None
    if exc.code in ("email_exists", "user_already_exists") or "already been registered" in message:
        return ValidationError(MSG_ALREADY_REGISTERED)
    if exc.code in ("email_address_invalid", "validation_failed"):
        return ValidationError(MSG_BAD_EMAIL)
    if exc.code in ("over_email_send_rate_limit", "over_request_rate_limit") or status == 429:
        return StoreError(MSG_EMAIL_RATE_LIMIT)
    if exc.code in ("bad_jwt", "not_admin", "no_authorization") or status in (401, 403):
        return StoreError(MSG_SERVICE_KEY_REJECTED)
    log.warning("Supabase invitation failed: %s (%s)", type(exc).__name__, exc.code)
    return StoreError(MSG_INVITE_FAILED)

