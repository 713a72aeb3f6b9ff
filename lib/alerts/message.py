"""What an alert says: its kinds, and the pt-BR message for each."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from lib.models import Instance
from lib.presentation import format_phone, format_time
from lib.reasons import reason_text

ALERT_LABELS = {
    "dropped": "queda",
    "recovered": "volta",
    "stuck_connecting": "presa conectando",
    "unstable": "instável",
    "test": "teste",
}
_INERT = str.maketrans({"<": "\u2039", ">": "\u203a", "@": "@\u200b"})  # ‹ ›, and a zero-width space after @


@dataclass(frozen=True)
class Alert:
    kind: str
    title: str
    body: str
    instance: Instance | None = None


def inert(text: str) -> str:
    """User or provider text (a name, a number) as every channel shows it and none acts on it.

    Alerts go as plain text (body_format TEXT), which Apprise escapes for each channel's format:
    HTML for Telegram, `&lt;` `&gt;` for Slack, Markdown for the body of a Teams card. What it
    leaves: Discord takes plain text as it is (its Markdown, `@everyone`, `<@id>`: Apprise sets no
    allowed_mentions), Teams shows the title as Markdown, unescaped, Telegram makes `@user` a
    mention, and a JSON receiver may render anything. So here:
    - `<` and `>` become ‹ and › (U+2039, U+203A): no tag, no Slack `<!channel>` / `<@U…>` /
      `<url|x>`, no Discord `<@id>` / `<#id>`, no Teams `<at>`. A look-alike rather than an
      invisible mark: no channel gives it a meaning, and no Unicode normalisation turns it back
      into `<` (NFKC does so with the fullwidth ＜);
    - a zero-width space after `@` (as discord.py's escape_mentions): no `@everyone`, `@here`,
      or Telegram `@user`;
    - a zero-width space between `]` and `(`: no Markdown link `[x](url)` (Discord, Teams).
    Emphasis (`**x**`) may still show as such in Discord: it neither pings nor links.
    """
    return text.translate(_INERT).replace("](", "]\u200b(")


def _when(value: datetime, now: datetime) -> str:
    return format_time(value, now)


def compose(kind: str, instance: Instance | None, *, now: datetime, public_url: str | None = None,
            drops: int = 0, down_since: datetime | None = None) -> Alert:
    """The pt-BR message: name, number, what happened, since when, and the dashboard's link. The
    name and number are made inert: in every channel a name is only a name."""
    link = f"\nPainel: {public_url}" if public_url else ""
    if instance is None:
        return Alert(kind, "Alerta de teste do painel de instâncias WhatsApp",
                     "Se você recebeu esta mensagem, os alertas do painel estão funcionando." + link)
    name = inert(instance.name)
    number = inert(format_phone(instance.phone_number or instance.last_phone_number)) or "desconhecido"
    since = instance.dropped_at or instance.status_changed_at or now  # a drop: since it dropped
    if kind == "dropped":
        title = f"WhatsApp caiu: {name}"
        reason = reason_text(instance.disconnect_reason)
        body = (f"A instância {name} (número {number}) está desconectada desde {_when(since, now)}."
                + (f" Motivo: {reason}." if reason else ""))
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
