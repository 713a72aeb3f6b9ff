"""Supabase mode: Supabase Auth sign-in and an InstanceStore over PostgREST, one client per
browser session; and the server's store (status monitor, provider events), with the service role.

Never share a SupabaseSession (or its client) between browser sessions, e.g. through a module
variable or st.cache_resource: the client holds the signed-in user's tokens, so sharing it would
let one user act with another's session. Never give a SupabaseServerStore to a browser session:
it bypasses row-level security.
"""

from __future__ import annotations

import base64
import json
import logging
import threading
from dataclasses import dataclass, replace
from abc import ABC, abstractmethod
from datetime import datetime, timezone
from typing import Any, Callable

import httpx
from postgrest import APIError
from supabase import Client, create_client
from supabase.lib.client_options import SyncClientOptions  # exported by `supabase` as ClientOptions
from supabase_auth.errors import AuthApiError, AuthRetryableError
from supabase_auth.errors import AuthError as GoTrueError
from supabase_auth.types import AuthChangeEvent, Session

from lib.config.settings import SupabaseSettings
from lib.errors import (
    AppError, AuthError, ConfigError, InstanceNotFound, PermissionDenied, StoreError, ValidationError,
)
from lib.models import ROLES, Instance, InstanceEvent, User

log = logging.getLogger(__name__)

# Explicit list: the token column is not readable through the API (select=* fails with 42501).
INSTANCE_COLUMNS = (
    "id,instance_id,name,phone_number,status,created_at,updated_at,created_by,"
    "last_checked_at,status_changed_at,last_phone_number,last_error,check_failures,dropped"
)
EVENT_COLUMNS = (
    "id,instance_id,instance_name,kind,from_status,to_status,phone_number,source,actor_id,actor_email,detail,created_at"
)
# PostgREST answers at most max-rows rows per request (Supabase's default: 1000, under API settings):
# longer reads go page by page. Not more than the project's max-rows, or a full page looks like the last.
PAGE_SIZE = 1000
# The unique index on lower(name) (supabase/migrations/20261201000000_status_monitor.sql).
NAME_INDEX = "instances_lower_name_key"
ROLE_CLAIM = "user_role"  # set by a custom access-token hook, when the project has one
HTTP_TIMEOUT_SECONDS = 15.0

MSG_OFFLINE = "Sem conexão com o Supabase. Tente novamente."
MSG_EXPIRED = "Sua sessão expirou. Entre novamente."
MSG_BAD_LOGIN = "E-mail ou senha incorretos."
MSG_UNCONFIRMED = "E-mail ainda não confirmado. Verifique sua caixa de entrada."
MSG_SERVICE_KEY_REJECTED = "O Supabase recusou a chave de serviço (supabase.service_role_key)."
# Managing users (supabase/migrations/20261203000000_user_admin.sql).
MSG_NOT_ADMIN = "Apenas administradores gerenciam usuários."
MSG_NO_SUCH_USER = "Nenhum usuário do Supabase com este e-mail: ele precisa ter uma conta (convite ou cadastro)."
MSG_LAST_ADMIN = "É preciso manter pelo menos um administrador ativo."
MSG_BAD_ROLE = "Papel inválido: escolha entre admin, supervisor e analyst."
MSG_ALREADY_REGISTERED = "Este e-mail já tem conta no Supabase: use “Dar papel”."
MSG_BAD_EMAIL = "Informe um e-mail válido."
MSG_EMAIL_RATE_LIMIT = "O Supabase limitou o envio de e-mails. Aguarde alguns minutos e tente novamente."
MSG_INVITE_FAILED = "O Supabase não enviou o convite. Tente novamente."
# The SQLSTATE the user-admin functions raise when the last admin would lose the role.
LAST_ADMIN_CODE = "UA001"

# PostgREST's codes for a rejected JWT (PGRST303 is "JWT expired" since v12; PGRST301 before);
# "401" is what postgrest-py reports when the 401 body is not PostgREST JSON.
_JWT_ERROR_CODES = {"PGRST301", "PGRST303", "401"}


@dataclass(frozen=True)
class RoleHolder:
    """A Supabase Auth user holding one of the app's roles (their most privileged), as
    admin_list_role_holders() lists them; the dates are the Supabase Auth account's."""

    user_id: str
    email: str
    role: str
    created_at: datetime | None
    last_sign_in_at: datetime | None


class SupabaseSession:
    """The Supabase client of one browser session and the user signed in with it.

    Keep it in st.session_state. Call refresh_if_needed() at the top of every script run."""

    def __init__(self, settings: SupabaseSettings):
        # Fresh options (and so a fresh in-memory session storage) for every client; one httpx
        # client per session, shared by auth and PostgREST, with a timeout fit for a UI.
        options = SyncClientOptions(
            auto_refresh_token=False,  # no background timer threads; refreshed on demand instead
            persist_session=True,
            httpx_client=httpx.Client(timeout=HTTP_TIMEOUT_SECONDS),
        )
        self._client: Client = create_client(settings.url, settings.anon_key, options=options)
        self._user: User | None = None
        self._access_token: str | None = None
        self._refresh_token: str | None = None
        self._lock = threading.Lock()
        # Told each new refresh token (Supabase rotates them): the server keeps the newest with the
        # browser's session (lib.auth.sessions), so a reload can sign in again.
        self.on_refresh_token: Callable[[str | None], None] | None = None
        self._client.auth.on_auth_state_change(self._on_auth_event)

    @property
    def user(self) -> User | None:
        return self._user

    @property
    def refresh_token(self) -> str | None:
        return self._refresh_token

    def store(self) -> SupabaseInstanceStore:
        return SupabaseInstanceStore(self)

    def sign_in(self, email: str, password: str) -> User:
        try:
            response = self._client.auth.sign_in_with_password(
                {"email": (email or "").strip(), "password": password or ""}
            )
        except GoTrueError as exc:
            raise _sign_in_error(exc) from None
        except httpx.TransportError:
            raise AuthError(MSG_OFFLINE) from None
        return self._signed_in(response, email)

    def _signed_in(self, response, email: str) -> User:
        """The user of a fresh sign-in's response, with their role."""
        if response.session is None or response.user is None:
            raise AuthError("Não foi possível entrar. Tente novamente.")
        try:
            role = self._read_role(response.session)
        except AppError as exc:
            self._clear_local_session()
            raise AuthError(exc.message) from None
        self._user = User(id=response.user.id, email=response.user.email or email, role=role)
        return self._user

    def sign_in_with_link(self, token_hash: str) -> User:
        """Sign in with a one-time link's token (SupabaseServerStore.sign_in_link, for a person the
        identity provider signed in): from here on this session is theirs, as after a password."""
        try:
            response = self._client.auth.verify_otp({"type": "magiclink", "token_hash": token_hash})
        except GoTrueError as exc:
            raise _sign_in_error(exc) from None
        except httpx.TransportError:
            raise AuthError(MSG_OFFLINE) from None
        return self._signed_in(response, response.user.email if response.user else "")

    def restore(self, refresh_token: str | None) -> User:
        """Sign in again from the refresh token the server kept with the browser's session (a
        reload, a new tab). Raises AuthError (MSG_EXPIRED when Supabase refuses it)."""
        if not refresh_token:
            raise AuthError(MSG_EXPIRED)
        try:
            response = self._client.auth.refresh_session(refresh_token)
        except Exception as exc:  # noqa: BLE001 - classified by _refresh_failed
            raise self._refresh_failed(exc) from None
        if response.session is None or response.user is None:
            raise AuthError(MSG_EXPIRED)
        try:
            role = self._read_role(response.session)
        except AppError as exc:
            raise AuthError(exc.message) from None
        self._user = User(id=response.user.id, email=response.user.email or "", role=role)
        return self._user

    def current_user(self) -> User | None:
        """The user with the role read again now (a demoted admin loses it at once); None when
        signed out. Raises AppError when Supabase cannot be asked."""
        if self._user is None:
            return None
        session = self._client.auth.get_session()
        if session is None:
            self._clear_local_session()
            return None
        self._user = replace(self._user, role=self._read_role(session))
        return self._user

    def sign_out(self) -> None:
        """Forget the session here and revoke it on the server if possible; never raises, since
        the local state is cleared either way."""
        self._user = None
        try:
            self._client.auth.sign_out({"scope": "local"})
        except Exception as exc:  # noqa: BLE001 - offline or already revoked: nothing to do
            log.info("Supabase sign-out request failed (%s); signed out locally", type(exc).__name__)
            self._clear_local_session()

    def refresh_if_needed(self) -> User | None:
        """Refresh the access token when it has expired (Supabase issues 1-hour tokens), so a
        long-open tab keeps working. Returns the signed-in user, or None.

        Raises AuthError: MSG_EXPIRED when the refresh token was rejected (the user is then
        signed out here, `user` is None), MSG_OFFLINE when Supabase could not be reached (the
        session is kept for the next try)."""
        if self._user is None:
            return None
        with self._lock:
            try:
                # get_session() refreshes through GoTrue when expires_at is (nearly) past.
                session = self._client.auth.get_session()
            except Exception as exc:  # noqa: BLE001 - classified below
                raise self._refresh_failed(exc) from None
        if session is None:
            self._clear_local_session()
            raise AuthError(MSG_EXPIRED)
        return self._user

    # --- managing users (admins; the database's functions check the role on every call) ----

    def role_holders(self) -> list[RoleHolder]:
        """Every user holding one of the app's roles, by e-mail."""
        rows = self._execute(lambda c: c.rpc("admin_list_role_holders", {}), _USER_ADMIN_ERRORS)
        return [
            RoleHolder(user_id=row["user_id"], email=row["email"] or "", role=row["role"],
                       created_at=_time(row.get("created_at")), last_sign_in_at=_time(row.get("last_sign_in_at")))
            for row in rows or []
        ]

    def find_user(self, email: str) -> tuple[str, str] | None:
        """(id, e-mail) of the Supabase Auth user with this e-mail, ignoring case; None when nobody
        has it."""
        email = _checked_email(email)
        rows = self._execute(lambda c: c.rpc("admin_find_user", {"_email": email}), _USER_ADMIN_ERRORS)
        return (rows[0]["user_id"], rows[0]["email"]) if rows else None

    def grant_role(self, email: str, role: str) -> str:
        """Give `role` to the existing Supabase Auth user with this e-mail, in place of the role they
        had; returns their id. ValidationError: no such user (MSG_NO_SUCH_USER), the last admin
        (MSG_LAST_ADMIN), a bad e-mail or role; PermissionDenied: the caller is no admin."""
        email = _checked_email(email)
        if role not in ROLES:
            raise ValidationError(MSG_BAD_ROLE)
        return self._execute(lambda c: c.rpc("admin_grant_role", {"_email": email, "_role": role}),
                             _USER_ADMIN_ERRORS)

    def revoke_role(self, user_id: str) -> None:
        """Take the user's role away (they may still sign in, and see "Sem acesso")."""
        self._execute(lambda c: c.rpc("admin_revoke_role", {"_user_id": user_id}), _USER_ADMIN_ERRORS)

    # --- internals shared with the store ---------------------------------------------------

    def _execute(self, build_query: Callable[[Client], Any],
                 errors: dict[str, Callable[[], AppError]] | None = None) -> Any:
        """Run the PostgREST request that build_query(client) makes and return its data, mapping
        errors to AppErrors (`errors`: the caller's own, by SQLSTATE, before the usual ones). A
        request rejected for an expired JWT is retried once after a token refresh; the query is
        rebuilt because a builder keeps the headers it was created with."""
        for attempt in (1, 2):
            sent_token = self._access_token
            try:
                return build_query(self._client).execute().data
            except APIError as exc:
                if _is_jwt_error(exc):
                    if attempt == 1 and self._refresh_token is not None:
                        self._refresh_after_rejection(sent_token)
                        continue
                    self._clear_local_session()
                    raise AuthError(MSG_EXPIRED) from exc
                if errors and exc.code in errors:
                    raise errors[exc.code]() from exc
                raise _store_error(exc) from exc
            except httpx.TransportError as exc:  # connect errors, timeouts, dropped connections
                raise StoreError(MSG_OFFLINE) from exc
        raise AssertionError("unreachable")

    def _refresh_after_rejection(self, sent_token: str | None) -> None:
        with self._lock:
            if self._access_token != sent_token:
                return  # refreshed meanwhile (another run of this browser session)
            try:
                # With the token passed explicitly, refresh_session() skips get_session(),
                # which could refresh a second time.
                self._client.auth.refresh_session(self._refresh_token)
            except Exception as exc:  # noqa: BLE001 - classified below
                raise self._refresh_failed(exc) from None

    def _refresh_failed(self, exc: Exception) -> AuthError:
        if isinstance(exc, (AuthRetryableError, httpx.TransportError)):
            return AuthError(MSG_OFFLINE)
        log.info("Supabase token refresh rejected (%s); signing out", type(exc).__name__)
        self._clear_local_session()
        return AuthError(MSG_EXPIRED)

    def _clear_local_session(self) -> None:
        """Sign out without a network call (sign_out() would first try to refresh an expired
        session). Uses supabase-auth internals, checked against 2.34.1."""
        self._user = None
        auth = self._client.auth
        auth._remove_session()
        auth._notify_all_subscribers("SIGNED_OUT", None)  # resets the client's bearer to the anon key

    def _on_auth_event(self, event: AuthChangeEvent, session: Session | None) -> None:
        self._access_token = session.access_token if session else None
        refresh_token = session.refresh_token if session else None
        if refresh_token != self._refresh_token:
            self._refresh_token = refresh_token
            if self.on_refresh_token is not None:
                self.on_refresh_token(refresh_token)

    def _read_role(self, session: Session) -> str | None:
        """The role from the access token's `user_role` claim when a hook sets it, else from
        user_roles (own rows only, by RLS). The claim is read without verifying the signature:
        the token came straight from GoTrue, and the database enforces access on its own."""
        claimed = _jwt_claims(session.access_token).get(ROLE_CLAIM)
        if claimed in ROLES:
            return claimed
        rows = self._execute(
            lambda c: c.table("user_roles").select("role").eq("user_id", session.user.id)
        )
        roles = {row.get("role") for row in rows or []}
        return next((role for role in ROLES if role in roles), None)  # ROLES: most privileged first


class _PostgrestInstances(ABC):
    """InstanceStore over PostgREST. Subclasses say whose rights a request runs with, by how
    _execute runs it and maps its errors."""

    @abstractmethod
    def _execute(self, build_query: Callable[[Client], Any]) -> Any:
        """Run the request build_query(client) makes; return its data or raise an AppError."""

    def list_instances(self) -> list[Instance]:
        rows = self._execute(
            lambda c: c.table("instances").select(INSTANCE_COLUMNS).order("created_at", desc=True)
        )
        return [_instance(row) for row in rows]

    def get_instance(self, id: str) -> Instance:
        rows = self._execute(lambda c: c.table("instances").select(INSTANCE_COLUMNS).eq("id", id))
        if not rows:
            raise InstanceNotFound()
        return _instance(rows[0])

    def insert_instance(self, *, instance_id: str, token: str, name: str, created_by: str | None) -> Instance:
        row = {
            "instance_id": instance_id,
            "token": token,
            "name": name,
            "status": "disconnected",
            "created_by": created_by,
        }
        # .select() makes PostgREST return only these columns (RETURNING <columns>), not the token.
        rows = self._execute(lambda c: c.table("instances").insert(row).select(INSTANCE_COLUMNS))
        if not rows:
            raise StoreError("A instância foi criada, mas não pôde ser lida. Atualize a lista.")
        return _instance(rows[0])

    def update_status(
        self, id: str, *, status: str, phone_number: str | None, expected_status: str | None = None
    ) -> Instance:
        return self._update(id, {"status": status, "phone_number": phone_number, "dropped": False}, expected_status)

    def record_check(self, id: str, *, status: str, phone_number: str | None, expected_status: str) -> Instance:
        values = {
            "status": status,
            "phone_number": phone_number,
            "last_checked_at": datetime.now(timezone.utc).isoformat(),
            "last_error": None,
            "check_failures": 0,
        }
        if status != expected_status:  # the compare-and-set makes expected_status the status it changes from
            values["dropped"] = expected_status == "connected" and status == "disconnected"
        return self._update(id, values, expected_status)

    def mark_checked(self, ids: list[str]) -> None:
        if ids:
            self._execute(lambda c: c.rpc("mark_instances_checked", {"_ids": list(ids)}))

    def record_check_failure(self, id: str, *, error: str, max_failures: int) -> Instance:
        self._execute(lambda c: c.rpc(
            "record_instance_check_failure", {"_id": id, "_error": error, "_max_failures": max_failures}
        ))
        return self.get_instance(id)

    def delete_instance(self, id: str) -> None:
        rows = self._execute(lambda c: c.table("instances").delete().eq("id", id).select("id"))
        if not rows:
            raise InstanceNotFound()

    def instance_token(self, id: str) -> str:
        token = self._execute(lambda c: c.rpc("instance_token", {"_id": id}))
        if not isinstance(token, str) or not token:
            raise InstanceNotFound()
        return token

    def version(self) -> str:
        return self._execute(lambda c: c.rpc("instances_version", {}))

    # -- history (supabase/migrations/20261202000000_history.sql) ---------------------------
    def add_event(self, event: InstanceEvent) -> InstanceEvent:
        row = self._event_row(event)
        rows = self._execute(lambda c: c.table("instance_events").insert(row).select(EVENT_COLUMNS))
        if not rows:
            raise StoreError("O evento foi gravado, mas não pôde ser lido.")
        return _event(rows[0])

    def _event_row(self, event: InstanceEvent) -> dict:
        """What an insert sends: the event without its author and time. For a signed-in user the
        database sets them (auth.uid(), the token's email, now()) and refuses any other; the
        service writes only the signed-in user's own actions."""
        return {
            "instance_id": event.instance_id,
            "instance_name": event.instance_name,
            "kind": event.kind,
            "from_status": event.from_status,
            "to_status": event.to_status,
            "phone_number": event.phone_number,
            "source": event.source,
            "detail": event.detail,
        }

    def events(
        self,
        *,
        instance_ids: list[str] | None = None,
        kinds: list[str] | None = None,
        actor_emails: list[str] | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        after_id: int | None = None,
        limit: int | None = None,
        oldest_first: bool = False,
    ) -> list[InstanceEvent]:
        lists = {"instance_id": instance_ids, "kind": kinds, "actor_email": actor_emails}
        if any(values is not None and not values for values in lists.values()):
            return []  # an empty list matches nothing

        def build(c: Client):
            query = c.table("instance_events").select(EVENT_COLUMNS)
            for column, values in lists.items():
                if values is not None:
                    query = query.in_(column, values)
            if since is not None:
                query = query.gte("created_at", _iso(since))
            if until is not None:
                query = query.lt("created_at", _iso(until))
            if after_id is not None:
                query = query.gt("id", after_id)
            return query.order("created_at", desc=not oldest_first).order("id", desc=not oldest_first)

        return [_event(row) for row in self._pages(build, limit)]

    def _pages(self, build: Callable[[Client], Any], limit: int | None) -> list[dict]:
        """The rows build(client) selects, `limit` at most (None: all), PAGE_SIZE per request
        until a short page. An event written meanwhile can shift the later pages by one, so a row
        may come twice: ids are unique, the second copy is dropped."""
        rows: dict[int, dict] = {}
        offset = 0
        while limit is None or len(rows) < limit:
            size = PAGE_SIZE if limit is None else min(PAGE_SIZE, limit - len(rows))
            page = self._execute(lambda c: build(c).range(offset, offset + size - 1))
            for row in page:
                rows.setdefault(row["id"], row)
            offset += len(page)
            if len(page) < size:
                break
        return list(rows.values())

    def status_before(self, instance_ids: list[str], at: datetime) -> dict[str, InstanceEvent]:
        """One request for any number of instances: instance_status_before() looks each one up
        in the index on (instance_id, created_at), under the caller's RLS."""
        if not instance_ids:
            return {}
        rows = self._execute(
            lambda c: c.rpc("instance_status_before", {"_ids": list(instance_ids), "_at": _iso(at)})
        )
        return {row["instance_id"]: _event(row) for row in rows}

    def _update(self, id: str, values: dict, expected_status: str | None) -> Instance:
        """PATCH one row (with expected_status, only while its status still is that); returns the
        row as stored afterwards."""

        def build(c: Client):
            query = c.table("instances").update(values).eq("id", id)
            if expected_status is not None:
                query = query.eq("status", expected_status)
            return query.select(INSTANCE_COLUMNS)

        rows = self._execute(build)
        if rows:
            return _instance(rows[0])
        # Nothing updated: the status had already changed (compare-and-set) or the row is gone.
        return self.get_instance(id)


class SupabaseInstanceStore(_PostgrestInstances):
    """InstanceStore over PostgREST with the rights of the session's user (RLS decides)."""

    def __init__(self, session: SupabaseSession):
        self._session = session

    def _execute(self, build_query: Callable[[Client], Any]) -> Any:
        return self._session._execute(build_query)


class SupabaseServerStore(_PostgrestInstances):
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
        email = _checked_email(email)
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
        (SupabaseSession.sign_in_with_link), so they act with their own rights, under row-level
        security, never with this store's key."""
        email = _checked_email(email)
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
            if _is_jwt_error(exc):
                raise StoreError(MSG_SERVICE_KEY_REJECTED) from exc
            raise _store_error(exc) from exc
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
        return [(_instance(row), row["token"]) for row in rows]

    def find_by_instance_id(self, instance_id: str) -> Instance | None:
        rows = self._execute(
            lambda c: c.table("instances").select(INSTANCE_COLUMNS).eq("instance_id", instance_id)
        )
        return _instance(rows[0]) if rows else None

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
            row["created_at"] = _iso(event.created_at)
        return row

    def last_event_id(self) -> int:
        rows = self._execute(lambda c: c.table("instance_events").select("id").order("id", desc=True).limit(1))
        return rows[0]["id"] if rows else 0

    def prune_events(self, before: datetime) -> int:
        """prune_instance_events() deletes and counts in the database: no list of ids comes back."""
        return self._execute(lambda c: c.rpc("prune_instance_events", {"_before": _iso(before)}))


def _instance(row: dict) -> Instance:
    return Instance(
        id=row["id"],
        instance_id=row["instance_id"],
        name=row["name"],
        phone_number=row.get("phone_number"),
        status=row.get("status") or "disconnected",
        created_at=datetime.fromisoformat(row["created_at"]),
        updated_at=datetime.fromisoformat(row["updated_at"]),
        created_by=row.get("created_by"),
        last_checked_at=_time(row.get("last_checked_at")),
        status_changed_at=_time(row.get("status_changed_at")),
        last_phone_number=row.get("last_phone_number"),
        last_error=row.get("last_error"),
        check_failures=row.get("check_failures") or 0,
        dropped=bool(row.get("dropped")),
    )


def _event(row: dict) -> InstanceEvent:
    return InstanceEvent(
        id=row["id"],
        instance_id=row.get("instance_id"),
        instance_name=row["instance_name"],
        kind=row["kind"],
        source=row["source"],
        from_status=row.get("from_status"),
        to_status=row.get("to_status"),
        phone_number=row.get("phone_number"),
        actor_id=row.get("actor_id"),
        actor_email=row.get("actor_email"),
        detail=row.get("detail"),
        created_at=datetime.fromisoformat(row["created_at"]),
    )


# SQLSTATEs of the user-admin functions (supabase/migrations/20261203000000_user_admin.sql).
_USER_ADMIN_ERRORS: dict[str, Callable[[], AppError]] = {
    "42501": lambda: PermissionDenied(MSG_NOT_ADMIN),
    "P0002": lambda: ValidationError(MSG_NO_SUCH_USER),
    LAST_ADMIN_CODE: lambda: ValidationError(MSG_LAST_ADMIN),
    "22023": lambda: ValidationError(MSG_BAD_ROLE),
}


def _checked_email(email: str) -> str:
    """Trimmed and lower-case; raises ValidationError (MSG_BAD_EMAIL) for what can't be an e-mail."""
    email = (email or "")[:400].strip().lower()
    if "@" not in email or len(email) > 254 or any(c.isspace() for c in email):
        raise ValidationError(MSG_BAD_EMAIL)
    return email


def _time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _iso(value: datetime) -> str:
    return value.astimezone(timezone.utc).isoformat()


def _jwt_claims(token: str) -> dict:
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError):
        return {}
    return claims if isinstance(claims, dict) else {}


def _is_jwt_error(exc: APIError) -> bool:
    return exc.code in _JWT_ERROR_CODES or "JWT expired" in (exc.message or "")


def _store_error(exc: APIError) -> AppError:
    log.warning("Supabase request failed with code %s", exc.code)
    if exc.code == "42501":
        return PermissionDenied("Sem permissão para esta ação.")
    if exc.code == "P0002":
        return InstanceNotFound()
    if exc.code == "23505":
        if NAME_INDEX in (exc.message or ""):
            return ValidationError("Já existe uma instância com este nome.")
        return StoreError("Registro duplicado: já existe uma instância com este identificador.")
    if exc.code in ("23514", "23502", "22P02"):
        return StoreError("O banco de dados recusou a gravação (dado inválido).")
    return StoreError("Falha ao acessar o Supabase. Tente novamente.")


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


def _sign_in_error(exc: GoTrueError) -> AuthError:
    if isinstance(exc, AuthRetryableError):  # no response, or a gateway 5xx
        return AuthError(MSG_OFFLINE)
    message = (exc.message or "").lower()
    if exc.code == "invalid_credentials" or "invalid login credentials" in message:
        return AuthError(MSG_BAD_LOGIN)
    if exc.code == "email_not_confirmed" or "email not confirmed" in message:
        return AuthError(MSG_UNCONFIRMED)
    if exc.code in ("over_request_rate_limit", "over_email_send_rate_limit") or (
        isinstance(exc, AuthApiError) and exc.status == 429
    ):
        return AuthError("Muitas tentativas. Aguarde alguns minutos e tente novamente.")
    log.warning("Supabase sign-in failed: %s (%s)", type(exc).__name__, exc.code)
    return AuthError("Não foi possível entrar. Tente novamente.")
