"""The instance service: what the screens ask of instances (list, create, connect, check,
disconnect, delete, history). It orchestrates the provider and the store, and enforces roles: only
admins change anything."""

from __future__ import annotations

import logging
from contextlib import suppress
from typing import Callable, Hashable
from dataclasses import dataclass, field
from datetime import datetime, timezone

from lib import checks, event_registration, history, uptime
from lib.details import details_summary
from lib.errors import (
    AlreadyDisconnected, AppError, InstanceNotFound, PermissionDenied, ProviderError, StoreError, ValidationError,
)
from lib.models import CheckResult, Instance, InstanceEvent, Origin, User
from lib.names import MSG_DUPLICATE_NAME, creation_lock, name_key, validate_name
from lib.phones import validate_phone
from lib.presentation import format_phone
from lib.event_registration import EventsTarget
from lib.provider.base import DELETE, EVENTS, RESTART, Provider, QrCode
from lib.store.base import InstanceStore
from lib.store.recovery import CredentialRecovery
from lib.table_stats import TableStats, table_stats
from lib.instance_alerts import AlertActions
from lib.inventory import ProviderInventory
from lib.unsaved import keep_unsaved

log = logging.getLogger(__name__)

@dataclass(frozen=True)
class CreatedInstance:
    instance: Instance
    token: str = field(repr=False)
    events_error: str | None = None  # the provider created it, but did not take the app's event URL


@dataclass(frozen=True)
class Connecting:
    qr: QrCode | None  # always there on the QR path; on the code path only if the provider sent one
    instance: Instance  # as stored after the connect call
    pairing_code: str | None = None  # on the code path: 8 characters, upper case, no dash
    pairing_phone: str | None = None  # on the code path: the number it is for, digits only (validated)
    changed: bool = False  # the instance became connecting with this call (a renewed QR changes no row)
    already_connected: bool = False  # the provider found it connected: nothing to scan (instance says so)


class InstanceService(ProviderInventory, AlertActions):
    """One per signed-in session: it carries the user whose role it enforces. `current_user` reads
    the user again from the accounts (None: deleted): before every change the role is the one the
    store holds now, so a demoted or deactivated admin loses the right at once."""

    def __init__(self, store: InstanceStore, provider: Provider, user: User, recovery: CredentialRecovery,
                 current_user: Callable[[], User | None] | None = None, events: EventsTarget | None = None):
        self.store = store
        self.provider = provider
        self.events = events  # where the provider pushes (lib.event_registration); None: nowhere
        self.user = user
        self.recovery = recovery
        self._current_user = current_user
        self._tokens: dict[str, str] = {}
        self._origin = Origin("user", user)

    def can(self, capability: str) -> bool:
        """Whether the provider does this (lib.provider.base: DELETE, RESTART, LIST, EVENTS, TOKENS)."""
        return capability in self.provider.capabilities

    # -- reading ---------------------------------------------------------------------------
    def list_instances(self) -> list[Instance]:
        self._require_role()
        return self.store.list_instances()

    def version(self) -> Hashable:
        """Moves whenever something a screen shows changes (lib.store.base.InstanceStore.version):
        one cheap question tells whether what was read is stale."""
        self._require_role()
        return self.store.version()

    def token(self, id: str) -> str:
        """The token, for the webhook calls (not shown: see reveal_token)."""
        self._require_admin()
        return self._token(id)

    def _token(self, id: str) -> str:
        """The token, cached; for the methods that checked the role once already."""
        if id not in self._tokens:
            self._tokens[id] = self.store.instance_token(id)
        return self._tokens[id]

    def reveal_token(self, instance: Instance) -> str:
        """The token, to show an admin: the history records who saw it and when."""
        token = self.token(instance.id)  # the role read again: not shown to someone demoted since
        history.record(self.store, history.user_event(instance, "token_revealed", self.user))
        return token

    def history(self, **filters) -> list[InstanceEvent]:
        """History events, newest first (lib.store.base.InstanceStore.events filters)."""
        self._require_role()
        return self.store.events(**filters)

    def owner_emails(self) -> dict[str, str]:
        """The e-mail of every user who owns an instance, by id ("Responsável" on cards and table)."""
        self._require_role()
        return self.store.owner_emails()

    def card_stats(self, instances: list[Instance]) -> dict[str, uptime.CardStats]:
        self._require_role()
        return uptime.card_stats(self.store, instances, datetime.now(timezone.utc))

    def instance_windows(self, instance: Instance) -> dict[str, uptime.WindowView]:
        self._require_role()
        return uptime.instance_windows(self.store, instance, datetime.now(timezone.utc))

    def table_stats(self, instances: list[Instance]) -> dict[str, TableStats]:
        """Uptime over 7 days and the last drop of each instance, for the instances table."""
        self._require_role()
        return table_stats(self.store, instances, datetime.now(timezone.utc))

    # -- creation flow: validate, call the webhook, save, return the token -----------------
    def create(self, raw_name: str) -> CreatedInstance:
        self._require_admin()
        name = validate_name(raw_name)
        key = name_key(name)
        with creation_lock(key):
            if any(name_key(i.name) == key for i in self.store.list_instances()):
                raise ValidationError(MSG_DUPLICATE_NAME)
            credentials = self.provider.create(name)
            try:
                instance = self.store.insert_instance(
                    instance_id=credentials.instance_id, token=credentials.token, name=name, created_by=self.user.id
                )
            except Exception as exc:  # noqa: BLE001 - whatever failed, the credentials must not be lost
                cause = exc if isinstance(exc, AppError) else StoreError("Falha inesperada ao salvar no banco.")
                raise keep_unsaved(self.recovery, cause, credentials, name, self.user.id) from exc
        self._tokens[instance.id] = credentials.token
        log.info("create: instance %s saved", instance.instance_id)
        history.record(self.store, history.user_event(instance, "created", self.user, to_status=instance.status))
        registered = event_registration.register_all(self.store, self.provider, [(instance, credentials.token)],
                                                     self.events)
        return CreatedInstance(instance, credentials.token, events_error=registered[0][1] if registered else None)

    def unsaved_instances(self):
        self._require_admin()
        return self.recovery.pending()

    def save_unsaved(self, instance_id: str) -> Instance:
        """Retry saving credentials kept in the recovery file."""
        self._require_admin()
        item = next((i for i in self.recovery.pending() if i.instance_id == instance_id), None)
        if item is None:
            raise InstanceNotFound("Credenciais pendentes não encontradas.")
        instance = self.store.insert_instance(
            instance_id=item.instance_id, token=item.token, name=item.name, created_by=item.created_by
        )
        self.recovery.remove(instance_id)
        history.record(self.store, history.user_event(instance, "created", self.user, to_status=instance.status,
                                                      detail="salva a partir das credenciais guardadas"))
        return instance

    # -- connection flow: QR, polling, connected with phone ---------------------------------
    def connect(self, instance: Instance, phone_number: str | None = None) -> Connecting:
        """Ask the provider for a QR code, or with `phone_number` (validated: validate_phone) for a
        pairing code to type on that phone, and mark the instance as connecting."""
        self._require_admin()
        phone = None if phone_number is None else validate_phone(phone_number)
        try:
            reply = self.provider.connect(instance.instance_id, self._token(instance.id), phone_number=phone)
        except ProviderError as exc:
            if exc.status_code == 404:  # unknown at the provider: deleted here too, meanwhile?
                self.store.get_instance(instance.id)  # raises InstanceNotFound when so
            raise
        if reply.already_connected:  # nothing to scan: the provider's word goes to the store now
            return Connecting(None, self.check_status(instance), already_connected=True)
        changed = instance.status != "connecting"
        if changed:
            detail = None if phone is None else f"código de pareamento para {format_phone('+' + phone)}"
            before, instance = instance, self.store.update_status(instance.id, status="connecting", phone_number=None)
            history.record(self.store, history.user_event(
                before, "connect_requested", self.user, from_status=before.status, to_status="connecting",
                detail=detail))
        return Connecting(reply.qr, instance, reply.pairing_code, pairing_phone=phone, changed=changed)

    def check_status(self, instance: Instance) -> Instance:
        """Ask the provider for the status; write only when it changed, and only if the stored
        row still is what the caller saw (so a late reply cannot undo a disconnect)."""
        self._require_admin()
        return checks.check_status(self.store, self.provider, instance, self._token(instance.id), self._origin)

    def refresh_all(self, instances: list[Instance]) -> list[CheckResult]:
        """"Verificar agora": the provider's status for every instance, as the monitor asks it."""
        self._require_admin()
        return checks.check_all(self.store, self.provider, instances, lambda i: self._token(i.id), self._origin)

    def disconnect(self, instance: Instance) -> Instance:
        self._require_admin()
        instance = self.store.get_instance(instance.id)  # the current row, not what the screen showed
        if instance.status == "disconnected":  # by another admin, or it dropped, since the screen was drawn
            raise AlreadyDisconnected(instance.name)
        after = self._ahead_of_the_provider(instance, "disconnected", self.provider.disconnect)
        history.record(self.store, history.user_event(
            instance, "disconnected", self.user, from_status=instance.status, to_status="disconnected"))
        return after

    def delete(self, instance: Instance) -> None:
        """Delete the row; a connected (or connecting) instance is disconnected at the provider first,
        and deleted there too when the optional delete webhook is configured (else it stays at the
        provider). The row is read again first: another admin may have connected it meanwhile."""
        self._require_admin()
        instance = self.store.get_instance(instance.id)
        steps = ([lambda: self._ahead_of_the_provider(instance, "disconnected", self.provider.disconnect)]
                 if instance.status != "disconnected" else [])  # ahead: its own push is no drop either
        if DELETE in self.provider.capabilities:
            steps.append(lambda: self.provider.delete(instance.instance_id, self._token(instance.id)))
        for step in steps:
            try:
                step()
            except ProviderError as exc:
                if exc.status_code != 404:  # the provider no longer knows it: nothing left to do there
                    raise
        self.store.delete_instance(instance.id)
        self._tokens.pop(instance.id, None)
        history.record(self.store, history.user_event(instance, "deleted", self.user, from_status=instance.status))

    def update_details(self, instance: Instance, *, name: str, owner_id: str | None, tags: tuple[str, ...],
                       notes: str | None) -> Instance:
        """"Editar": the display name (the provider's own id stays), the owner, the tags and the
        notes, in one write; the history says what changed."""
        self._require_admin()
        before = self.store.get_instance(instance.id)
        after = self.store.update_details(instance.id, name=name, owner_id=owner_id, tags=tags, notes=notes)
        if after.name != before.name:
            history.record(self.store, history.user_event(after, "renamed", self.user,
                                                          detail=f"antes: {before.name}"))
        if (after.owner_id, after.tags, after.notes) != (before.owner_id, before.tags, before.notes):
            history.record(self.store, history.user_event(after, "details_changed", self.user,
                                                          detail=details_summary(before, after)))
        return after

    def restart(self, instance: Instance) -> None:
        """"Reiniciar": the provider restarts the instance's session (the number stays paired). A
        connected one is connecting meanwhile, then as the provider says right after (for the
        providers that push nothing)."""
        self._require_admin(RESTART)
        instance = self.store.get_instance(instance.id)
        if instance.status != "connected":
            self.provider.restart(instance.instance_id, self._token(instance.id))
            history.record(self.store, history.user_event(instance, "restarted", self.user))
            return
        after = self._ahead_of_the_provider(instance, "connecting", self.provider.restart)
        history.record(self.store, history.user_event(instance, "restarted", self.user, from_status="connected",
                                                      to_status="connecting"))
        if not (self.can(EVENTS) and self.events):  # a provider that pushes says when it is back itself
            with suppress(ProviderError):  # restarted: a failed look at it right after is on the card
                self.check_status(after)

    def _ahead_of_the_provider(self, instance: Instance, status: str, call: Callable[[str, str], None]) -> Instance:
        """Write `status` (where the user's action takes the instance), then ask the provider: its
        push of what it did may land before its reply (Evolution's close with 401 after a logout,
        WAHA's STOPPED in a restart) and must find the row no longer connected, or it reads as a
        drop. If the provider fails, the row is put back, its drop too (unless something changed it)."""
        after = self.store.update_status(instance.id, status=status, phone_number=None, keep_drop=True)
        try:
            call(instance.instance_id, self._token(instance.id))
        except Exception:
            self.store.update_status(instance.id, status=instance.status, phone_number=instance.phone_number,
                                     expected_status=status, keep_drop=True)
            raise
        if after.dropped and status == "disconnected":  # a person's disconnect, done: the drop ends
            after = self.store.update_status(instance.id, status=status, phone_number=None, expected_status=status)
        return after

    # -- roles -----------------------------------------------------------------------------
    def _require_role(self) -> None:
        if self.user.role is None:
            raise PermissionDenied("Sem acesso: peça a um administrador.")

    def _require_admin(self, capability: str | None = None) -> None:
        """The user is an admin now; with `capability`, the provider can do it too."""
        user = self._current_user() if self._current_user else self.user
        if user is None or not user.is_admin:
            raise PermissionDenied("Apenas administradores podem alterar instâncias.")
        if capability is not None and not self.can(capability):
            raise ValidationError(f"O provedor configurado ({self.provider.label}) não oferece esta ação.")
