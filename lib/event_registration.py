"""Pushed events with zero set-up: the app asks a provider that can (lib.provider.base.EVENTS:
Evolution API, WAHA) to push each instance's changes to its own POST /api/provider-events, with the
events secret in a header. Done at creation and import, for every instance when the server starts
(instances created before, or elsewhere), and on an admin's "Reconfigurar eventos". Without
APP_PUBLIC_URL there is no address to give: the monitor alone keeps the truth."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from lib import history
from lib.errors import AppError
from lib.models import Instance, User
from lib.provider.base import EVENTS, Provider

log = logging.getLogger(__name__)

EVENTS_PATH = "/api/provider-events"
MSG_NO_PUBLIC_URL = ("O provedor não avisa o painel das mudanças sem APP_PUBLIC_URL (app.public_url): defina o "
                     "endereço público do painel para receber as quedas na hora; até lá o monitor verifica sozinho.")


@dataclass(frozen=True)
class EventsTarget:
    """Where providers push: the app's public URL of the events route, and the secret they send."""

    url: str
    secret: str = field(repr=False)

    @classmethod
    def of(cls, public_url: str | None, secret: str | None) -> EventsTarget | None:
        return cls(public_url.rstrip("/") + EVENTS_PATH, secret) if public_url and secret else None


def register(store, provider: Provider, instance: Instance, token: str, target: EventsTarget,
             actor: User | None = None) -> str | None:
    """Register the app's event URL for one instance; the history says so when a person asked (not
    for the server's own registration at each start). Returns the failure's message (never a
    secret), or None."""
    try:
        provider.register_events(instance.instance_id, token, target.url, target.secret)
    except AppError as exc:
        log.warning("events of instance %s not registered: %s", instance.instance_id, exc.message)
        return exc.message
    if actor is not None:
        history.record(store, history.user_event(instance, "events_registered", actor))
    return None


def register_all(store, provider: Provider, pairs: list[tuple[Instance, str]], target: EventsTarget | None,
                 actor: User | None = None) -> list[tuple[Instance, str | None]]:
    """register() for each (instance, token); nothing when the provider cannot or there is no target."""
    if target is None or EVENTS not in provider.capabilities:
        return []
    return [(instance, register(store, provider, instance, token, target, actor)) for instance, token in pairs]
