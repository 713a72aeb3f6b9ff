"""Credentials the provider gave for an instance the store then failed to save: kept in the
recovery file when it can be written, and shown to the admin in any case (CredentialsNotSaved).
Nothing after the provider's answer may lose them."""

from __future__ import annotations

import logging

from lib.errors import AppError
from lib.provider.base import Credentials
from lib.store.recovery import CredentialRecovery

log = logging.getLogger(__name__)


class CredentialsNotSaved(AppError):
    """The provider created the instance but the store failed. The credentials are in the recovery
    file when it could be written (`kept`), and on this error either way: the screen shows them."""

    def __init__(self, cause: AppError, instance_id: str, token: str, *, kept: bool):
        kept_text = ("As credenciais foram guardadas e podem ser salvas novamente." if kept else
                     "Não foi possível guardá-las no servidor: copie o ID e o token abaixo agora e "
                     "guarde-os em lugar seguro.")
        super().__init__(f"A instância foi criada no provedor, mas não foi salva: {cause.message} {kept_text}")
        self.instance_id = instance_id
        self.token = token
        self.kept = kept


def keep_unsaved(recovery: CredentialRecovery, cause: AppError, credentials: Credentials, name: str,
             user_id: str) -> CredentialsNotSaved:
    """The provider answered but the row was not saved: keep the credentials in the recovery
    file if that can be written, log the instance id (never the token), and hand both to the
    screen in any case. Nothing after the provider's answer may lose them."""
    log.error("create: provider instance %s not saved (%s)", credentials.instance_id, cause.message)
    try:
        recovery.add(credentials.instance_id, credentials.token, name, user_id)
        kept = True
    except Exception as exc:  # noqa: BLE001 - a full disk or a damaged file: the screen still has them
        kept = False
        log.error("create: recovery file not written either (%s); shown to the admin only",
                  getattr(exc, "strerror", None) or type(exc).__name__)
    else:
        log.info("create: provider instance %s kept in the recovery file", credentials.instance_id)
    return CredentialsNotSaved(cause, credentials.instance_id, credentials.token, kept=kept)
