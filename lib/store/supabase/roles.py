"""What admins do to other people's roles in Supabase mode, through the user-admin functions of
supabase/migrations/20261203000000_user_admin.sql (the database checks the caller is an admin on
every call): a mix-in of SupabaseUserClient, whose requests run with the admin's own rights."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable

from supabase import Client

from lib.errors import AppError, PermissionDenied, ValidationError
from lib.models import ROLES
from lib.store.supabase.errors import checked_email
from lib.store.supabase.rows import time_or_none

MSG_NOT_ADMIN = "Apenas administradores gerenciam usuários."
MSG_NO_SUCH_USER = "Nenhum usuário do Supabase com este e-mail: ele precisa ter uma conta (convite ou cadastro)."
MSG_LAST_ADMIN = "É preciso manter pelo menos um administrador ativo."
MSG_BAD_ROLE = "Papel inválido: escolha entre admin, supervisor e analyst."
# The SQLSTATE the user-admin functions raise when the last admin would lose the role.
LAST_ADMIN_CODE = "UA001"


@dataclass(frozen=True)
class RoleHolder:
    """A Supabase Auth user holding one of the app's roles (their most privileged), as
    admin_list_role_holders() lists them; the dates are the Supabase Auth account's."""

    user_id: str
    email: str
    role: str
    created_at: datetime | None
    last_sign_in_at: datetime | None


# SQLSTATEs of the user-admin functions (supabase/migrations/20261203000000_user_admin.sql).
_USER_ADMIN_ERRORS: dict[str, Callable[[], AppError]] = {
    "42501": lambda: PermissionDenied(MSG_NOT_ADMIN),
    "P0002": lambda: ValidationError(MSG_NO_SUCH_USER),
    LAST_ADMIN_CODE: lambda: ValidationError(MSG_LAST_ADMIN),
    "22023": lambda: ValidationError(MSG_BAD_ROLE),
}


class UserAdminCalls:
    """The user-admin calls; the class using it provides _execute (SupabaseUserClient does)."""

    def _execute(self, build_query: Callable[[Client], Any],
                 errors: dict[str, Callable[[], AppError]] | None = None) -> Any:
        raise NotImplementedError

    def role_holders(self) -> list[RoleHolder]:
        """Every user holding one of the app's roles, by e-mail."""
        rows = self._execute(lambda c: c.rpc("admin_list_role_holders", {}), _USER_ADMIN_ERRORS)
        return [
            RoleHolder(user_id=row["user_id"], email=row["email"] or "", role=row["role"],
                       created_at=time_or_none(row.get("created_at")),
                       last_sign_in_at=time_or_none(row.get("last_sign_in_at")))
            for row in rows or []
        ]

    def find_user(self, email: str) -> tuple[str, str] | None:
        """(id, e-mail) of the Supabase Auth user with this e-mail, ignoring case; None when nobody
        has it."""
        email = checked_email(email)
        rows = self._execute(lambda c: c.rpc("admin_find_user", {"_email": email}), _USER_ADMIN_ERRORS)
        return (rows[0]["user_id"], rows[0]["email"]) if rows else None

    def grant_role(self, email: str, role: str) -> str:
        """Give `role` to the existing Supabase Auth user with this e-mail, in place of the role they
        had; returns their id. ValidationError: no such user (MSG_NO_SUCH_USER), the last admin
        (MSG_LAST_ADMIN), a bad e-mail or role; PermissionDenied: the caller is no admin."""
        email = checked_email(email)
        if role not in ROLES:
            raise ValidationError(MSG_BAD_ROLE)
        return self._execute(lambda c: c.rpc("admin_grant_role", {"_email": email, "_role": role}),
                             _USER_ADMIN_ERRORS)

    def revoke_role(self, user_id: str) -> None:
        """Take the user's role away (they may still sign in, and see "Sem acesso")."""
        self._execute(lambda c: c.rpc("admin_revoke_role", {"_user_id": user_id}), _USER_ADMIN_ERRORS)
