"""What an alert says: its kinds, and the pt-BR message for each."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from lib.models import Instance
from lib.presentation import format_phone, format_time

ALERT_LABELS = {
    "dropped": "queda",
    "recovered": "volta",
    "stuck_connecting": "presa conectando",
    "unstable": "instável",
    "test": "teste",
}


@dataclass(frozen=True)
class Alert:
    kind: str
    title: str
    body: str
    instance: Instance | None = None


def _when(value: datetime, now: datetime) -> str:
    return format_time(value, now)


def compose(kind: str, instance: Instance | None, *, now: datetime, public_url: str | None = None,
            drops: int = 0, down_since: datetime | None = None) -> Alert:
    """The pt-BR message: name, number, what happened, since when, and the dashboard's link."""
    link = f"\nPainel: {public_url}" if public_url else ""
    if instance is None:
        return Alert(kind, "Alerta de teste do painel de instâncias WhatsApp",
                     "Se você recebeu esta mensagem, os alertas do painel estão funcionando." + link)
    name = instance.name
    number = format_phone(instance.phone_number or instance.last_phone_number) or "desconhecido"
    since = instance.status_changed_at or now
    if kind == "dropped":
        title = f"WhatsApp caiu: {name}"
        body = f"A instância {name} (número {number}) está desconectada desde {_when(since, now)}."
    elif kind == "recovered":
        title = f"WhatsApp voltou: {name}"
        outage = f", depois de {_duration(since - down_since)} fora do ar" if down_since else ""
        body = f"A instância {name} (número {number}) conectou de novo às {_when(since, now)}{outage}."
    elif kind == "stuck_connecting":
        title = f"Instância parada em Conectando: {name}"
        body = (f"A instância {name} aguarda a leitura do QR Code desde {_when(since, now)} "
                f"(há {_duration(now - since)}).")
    else:
        title = f"Instância instável: {name}"
        body = f"A instância {name} (número {number}) caiu {drops} vezes na última hora."
    return Alert(kind, title, body + link, instance)


def _duration(delta: timedelta) -> str:
    minutes = max(1, int(delta.total_seconds() // 60))
    return f"{minutes} min" if minutes < 60 else f"{minutes // 60} h {minutes % 60:02d} min"
