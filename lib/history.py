"""The instances' history: what the events are and how they are recorded (lib.uptime turns them
into timelines and uptime).

Every real change writes one event (an append-only row of `instance_events`): the service for
what users do, lib.monitor for what the provider says (through the monitor, a pushed event or a
user's check). An unchanged check writes nothing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace

from lib import fleet
from lib.errors import AppError
from lib.models import Instance, InstanceEvent, User
from lib.reasons import reason_text

log = logging.getLogger(__name__)

KIND_LABELS = {
    "created": "Criada",
    "connect_requested": "Conexão solicitada",
    "connected": "Conectada",
    "disconnected": "Desconectada por um usuário",
    "dropped": "Caiu",
    "status_changed": "Status mudou",
    "deleted": "Excluída",
    "token_revealed": "Token exibido",
    "check_failed": "Provedor sem resposta",
    "check_recovered": "Provedor voltou a responder",
    "alert_sent": "Alerta enviado",
    "alert_failed": "Falha ao enviar alerta",
    "restarted": "Reiniciada",
    "renamed": "Renomeada",
    "details_changed": "Dados alterados",
    "imported": "Importada do provedor",
    "events_registered": "Eventos configurados no provedor",
    "stale_event": "Evento atrasado do provedor (ignorado)",
    "gone": "Não existe mais no provedor",
}
KINDS = tuple(KIND_LABELS)
_STATUS_WORDS = {"connected": "conectada", "connecting": "conectando", "disconnected": "desconectada"}
SOURCE_LABELS = {"user": "usuário", "monitor": "monitor", "provider_event": "provedor"}
MAX_DETAIL = 200


def record(store, event: InstanceEvent) -> None:
    """Append the event; a failure to write history never fails what it records (it is logged)."""
    try:
        store.add_event(replace(event, detail=event.detail[:MAX_DETAIL] if event.detail else None))
    except AppError as exc:
        log.warning("history event %s of instance %s not written: %s", event.kind, event.instance_id, exc.message)


def user_event(instance: Instance, kind: str, user: User, *, from_status: str | None = None,
               to_status: str | None = None, detail: str | None = None) -> InstanceEvent:
    """What a user did to an instance (created, connect_requested, disconnected, deleted, token_revealed)."""
    return InstanceEvent(
        instance_id=instance.id, instance_name=instance.name, kind=kind, source="user",
        from_status=from_status, to_status=to_status,
        phone_number=instance.phone_number or instance.last_phone_number,
        actor_id=user.id, actor_email=user.email, detail=detail,
    )


def transition_event(before: Instance, after: Instance, *, source: str, actor: User | None) -> InstanceEvent | None:
    """The event of a status change the provider reported; None when the status did not change.
    connected → disconnected is a drop: no user asked for it (a user's disconnect is written by
    the service as `disconnected`)."""
    if before.status == after.status:
        return None
    if after.status == "connected":
        kind = "connected"
    elif before.status == "connected" and after.status == "disconnected":
        kind = "dropped"
    else:
        kind = "status_changed"
    return InstanceEvent(
        instance_id=after.id, instance_name=after.name, kind=kind, source=source,
        from_status=before.status, to_status=after.status,
        phone_number=after.phone_number or after.last_phone_number,
        actor_id=actor.id if actor else None, actor_email=actor.email if actor else None,
        detail=reason_text(after.disconnect_reason) if kind == "dropped" else None,
    )


def stale_event(instance: Instance, status: str) -> InstanceEvent:
    """A pushed event older than the last one applied (a late delivery): kept, never applied."""
    return InstanceEvent(
        instance_id=instance.id, instance_name=instance.name, kind="stale_event", source="provider_event",
        detail=f"dizia {_STATUS_WORDS.get(status, status)}; chegou depois de um evento mais novo",
    )


def check_event(instance: Instance, kind: str, *, source: str, actor: User | None, detail: str | None) -> InstanceEvent:
    """check_failed (a failure streak starts) or check_recovered (it ends)."""
    return InstanceEvent(
        instance_id=instance.id, instance_name=instance.name, kind=kind, source=source,
        actor_id=actor.id if actor else None, actor_email=actor.email if actor else None, detail=detail,
    )


# -- what Atividade shows --------------------------------------------------------------------
def person(event: InstanceEvent) -> str:
    """Who did it: the user's e-mail, or where the news came from ("monitor", "provedor")."""
    return event.actor_email or SOURCE_LABELS.get(event.source, event.source)


@dataclass(frozen=True)
class EventFilters:
    """What Atividade keeps of the events read: instance names and people (any of those chosen;
    none: all), and the instances' tags and owner as they are now (lib.fleet.Filters). An event of
    an instance no longer here has neither, so it stays only while neither is chosen."""

    names: tuple[str, ...] = ()
    people: tuple[str, ...] = ()
    instances: fleet.Filters = field(default_factory=fleet.Filters)

    def keeps(self, event: InstanceEvent, instance: Instance | None) -> bool:
        if self.names and event.instance_name not in self.names:
            return False
        if self.people and person(event) not in self.people:
            return False
        if not self.instances.tags and self.instances.owner is None:
            return True
        return instance is not None and self.instances.keeps(instance)
