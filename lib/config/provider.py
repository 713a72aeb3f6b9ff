"""The WhatsApp provider's settings: which provider, and how to reach it (the `[webhooks]` section
of the webhook contract)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping
from urllib.parse import urlparse

from lib.errors import ConfigError

WEBHOOK_ACTIONS = ("create", "connect", "status", "disconnect")  # the four every provider must answer
OPTIONAL_WEBHOOK_ACTIONS = ("delete",)  # "Excluir" also deletes at the provider when this one is set
DEFAULT_TIMEOUT_SECONDS = 15.0


@dataclass(frozen=True)
class WebhookSettings:
    create_url: str
    connect_url: str
    status_url: str
    disconnect_url: str
    headers: Mapping[str, str] = field(default_factory=dict)
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS
    delete_url: str | None = None

    def url_for(self, action: str) -> str:
        return getattr(self, f"{action}_url")

    @classmethod
    def at(cls, base_url: str, **options) -> "WebhookSettings":
        """Every action as a path under one base URL, as the sandbox provider serves them."""
        actions = WEBHOOK_ACTIONS + OPTIONAL_WEBHOOK_ACTIONS
        return cls(**{f"{action}_url": f"{base_url}/{action}" for action in actions}, **options)


def webhook_settings(section: Mapping, env: Mapping[str, str]) -> WebhookSettings | None:
    urls = {}
    for action in WEBHOOK_ACTIONS:
        value = env.get(f"WEBHOOK_{action.upper()}_URL") or section.get(f"{action}_url") or ""
        urls[action] = str(value).strip()
    if not any(urls.values()):
        return None
    for action, url in urls.items():
        key = f"webhooks.{action}_url (WEBHOOK_{action.upper()}_URL)"
        if not url:
            raise ConfigError(f"Configuração incompleta: falta {key}.")
        parsed = urlparse(url)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise ConfigError(f"Configuração inválida: {key} deve ser uma URL http ou https.")
    headers = section.get("headers", {})
    if not isinstance(headers, Mapping):
        raise ConfigError("Configuração inválida: webhooks.headers deve ser uma tabela.")
    raw_timeout = env.get("WEBHOOK_TIMEOUT_SECONDS") or section.get("timeout_seconds", DEFAULT_TIMEOUT_SECONDS)
    try:
        timeout = float(raw_timeout)
    except (TypeError, ValueError):
        timeout = -1.0
    if timeout <= 0:
        raise ConfigError("Configuração inválida: webhooks.timeout_seconds (WEBHOOK_TIMEOUT_SECONDS) deve ser um número positivo.")
    delete_url = str(env.get("WEBHOOK_DELETE_URL") or section.get("delete_url") or "").strip() or None
    if delete_url and (urlparse(delete_url).scheme not in ("http", "https") or not urlparse(delete_url).netloc):
        raise ConfigError("Configuração inválida: webhooks.delete_url (WEBHOOK_DELETE_URL) deve ser uma URL http ou https.")
    return WebhookSettings(
        create_url=urls["create"],
        connect_url=urls["connect"],
        status_url=urls["status"],
        disconnect_url=urls["disconnect"],
        headers={str(k): str(v) for k, v in headers.items()},
        timeout_seconds=timeout,
        delete_url=delete_url,
    )
