"""What both sides of Supabase mode (a browser session's SupabaseUserClient, the server's
SupabaseServerStore) share about a request: the messages, the HTTP timeout, and how a PostgREST
error becomes an AppError; and the check of an e-mail address the user-admin calls take."""

from __future__ import annotations

import logging

from postgrest import APIError

from lib.details import MSG_UNKNOWN_OWNER
from lib.errors import AppError, InstanceNotFound, PermissionDenied, StoreError, ValidationError
from lib.names import MSG_DUPLICATE_NAME

log = logging.getLogger(__name__)

# The unique indexes on lower(name) (supabase/migrations/20261201000000_status_monitor.sql) and on
# name_key (20261205000000_provider_and_fleet.sql), and the owner's foreign key.
NAME_INDEXES = ("instances_lower_name_key", "instances_name_key_key")
OWNER_KEY = "instances_owner_id_fkey"
HTTP_TIMEOUT_SECONDS = 15.0

MSG_OFFLINE = "Sem conexão com o Supabase. Tente novamente."
MSG_EXPIRED = "Sua sessão expirou. Entre novamente."
MSG_SERVICE_KEY_REJECTED = "O Supabase recusou a chave de serviço (supabase.service_role_key)."
MSG_BAD_EMAIL = "Informe um e-mail válido."

# PostgREST's codes for a rejected JWT (PGRST303 is "JWT expired" since v12; PGRST301 before);
# "401" is what postgrest-py reports when the 401 body is not PostgREST JSON.
_JWT_ERROR_CODES = {"PGRST301", "PGRST303", "401"}


def is_jwt_error(exc: APIError) -> bool:
    return exc.code in _JWT_ERROR_CODES or "JWT expired" in (exc.message or "")


def store_error(exc: APIError) -> AppError:
    log.warning("Supabase request failed with code %s", exc.code)
    if exc.code == "42501":
        return PermissionDenied("Sem permissão para esta ação.")
    if exc.code == "P0002":
        return InstanceNotFound()
    if exc.code == "23505":
        if any(index in (exc.message or "") for index in NAME_INDEXES):
            return ValidationError(MSG_DUPLICATE_NAME)
        return StoreError("Registro duplicado: já existe uma instância com este identificador.")
    if exc.code == "23503" and OWNER_KEY in (exc.message or ""):
        return ValidationError(MSG_UNKNOWN_OWNER)
    if exc.code in ("23514", "23502", "22P02"):
        return StoreError("O banco de dados recusou a gravação (dado inválido).")
    return StoreError("Falha ao acessar o Supabase. Tente novamente.")



def checked_email(email: str) -> str:
    """Trimmed and lower-case; raises ValidationError (MSG_BAD_EMAIL) for what can't be an e-mail."""
    email = (email or "")[:400].strip().lower()
    if "@" not in email or len(email) > 254 or any(c.isspace() for c in email):
        raise ValidationError(MSG_BAD_EMAIL)
    return email

