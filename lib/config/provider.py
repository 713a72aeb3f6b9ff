"""The WhatsApp provider's settings: which provider (`[provider] kind`, PROVIDER) and how to reach
it: Evolution API or WAHA directly (`[provider] url` and `api_key`), the webhook contract (the
`[webhooks]` section), or the built-in sandbox."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping
from urllib.parse import urlparse

from lib.errors import ConfigError

WEBHOOK_ACTIONS = ("create", "connect", "status", "disconnect")  # the four every provider must answer
# Optional: "Excluir" also deletes at the provider when delete is set; "Reiniciar" is offered when restart is.
OPTIONAL_WEBHOOK_ACTIONS = ("delete", "restart")
DEFAULT_TIMEOUT_SECONDS = 15.0
PROVIDER_KINDS = ("sandbox", "webhooks", "evolution", "waha")
DIRECT_KINDS = ("evolution", "waha")  # spoken to directly, at PROVIDER_URL with PROVIDER_API_KEY
_KIND_LABELS = {"sandbox": "provedor sandbox (simulado)", "webhooks": "webhooks configurados",
                "evolution": "Evolution API", "waha": "WAHA"}


@dataclass(frozen=True)
class WebhookSettings:
    create_url: str
    connect_url: str
    status_url: str
    disconnect_url: str
    headers: Mapping[str, str] = field(default_factory=dict)
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS
    delete_url: str | None = None
    restart_url: str | None = None

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
        if not _is_http(url):
            raise ConfigError(f"Configuração inválida: {key} deve ser uma URL http ou https.")
    headers = section.get("headers", {})
    if not isinstance(headers, Mapping):
        raise ConfigError("Configuração inválida: webhooks.headers deve ser uma tabela.")
    timeout = _positive(env.get("WEBHOOK_TIMEOUT_SECONDS") or section.get("timeout_seconds", DEFAULT_TIMEOUT_SECONDS))
    if timeout is None:
        raise ConfigError("Configuração inválida: webhooks.timeout_seconds (WEBHOOK_TIMEOUT_SECONDS) deve ser um número positivo.")
    optional = {action: _optional_url(section, env, action) for action in OPTIONAL_WEBHOOK_ACTIONS}
    return WebhookSettings(
        create_url=urls["create"],
        connect_url=urls["connect"],
        status_url=urls["status"],
        disconnect_url=urls["disconnect"],
        headers={str(k): str(v) for k, v in headers.items()},
        timeout_seconds=timeout,
        delete_url=optional["delete"],
        restart_url=optional["restart"],
    )


def _optional_url(section: Mapping, env: Mapping[str, str], action: str) -> str | None:
    url = str(env.get(f"WEBHOOK_{action.upper()}_URL") or section.get(f"{action}_url") or "").strip() or None
    if url and not _is_http(url):
        raise ConfigError(f"Configuração inválida: webhooks.{action}_url (WEBHOOK_{action.upper()}_URL) deve ser uma "
                          "URL http ou https.")
    return url


def _is_http(url: str) -> bool:
    parsed = urlparse(url)
    return parsed.scheme in ("http", "https") and bool(parsed.netloc)


@dataclass(frozen=True)
class ProviderSettings:
    """Which provider the app talks to. `url` and `api_key` only for the direct kinds."""

    kind: str  # one of PROVIDER_KINDS
    url: str | None = None
    api_key: str | None = field(default=None, repr=False)  # never shown, logged or put in a message
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS

    @property
    def name(self) -> str:
        """What the login page says: "Evolution API" (where it runs is for make run only)."""
        return _KIND_LABELS[self.kind]

    @property
    def label(self) -> str:
        """What make run says: "Evolution API em https://evo.example.com"."""
        if self.kind not in DIRECT_KINDS:
            return self.name
        parsed = urlparse(self.url or "")
        return f"{_KIND_LABELS[self.kind]} em {parsed.scheme}://{parsed.hostname}" + (
            f":{parsed.port}" if parsed.port else "")  # no user:password@ a URL may carry


def provider_settings(section: Mapping, env: Mapping[str, str], webhooks: WebhookSettings | None) -> ProviderSettings:
    """PROVIDER / [provider] kind; unset: the webhooks when their URLs are set, else the sandbox. A
    half-filled or contradictory configuration raises ConfigError naming what is missing."""
    kind = str(env.get("PROVIDER") or section.get("kind") or "").strip().lower()
    url = str(env.get("PROVIDER_URL") or section.get("url") or "").strip().rstrip("/")
    key = str(env.get("PROVIDER_API_KEY") or section.get("api_key") or "").strip()
    if not kind and (url or key):
        raise ConfigError("Configuração incompleta: falta provider.kind (PROVIDER), evolution ou waha, para o "
                          "endereço e a chave do provedor.")
    kind = kind or ("webhooks" if webhooks else "sandbox")
    if kind not in PROVIDER_KINDS:
        raise ConfigError("Configuração inválida: provider.kind (PROVIDER) deve ser sandbox, webhooks, evolution ou waha.")
    if kind == "webhooks" and webhooks is None:
        raise ConfigError("Configuração incompleta: PROVIDER=webhooks precisa das URLs dos webhooks "
                          "(falta webhooks.create_url, WEBHOOK_CREATE_URL).")
    if kind != "webhooks" and webhooks is not None:
        raise ConfigError(f"Configuração contraditória: PROVIDER={kind} não usa as URLs de webhooks (WEBHOOK_*_URL); "
                          "remova-as ou use PROVIDER=webhooks.")
    if kind not in DIRECT_KINDS:
        if url or key:
            raise ConfigError(f"Configuração contraditória: provider.url e provider.api_key (PROVIDER_URL, "
                              f"PROVIDER_API_KEY) valem só para evolution ou waha, não para PROVIDER={kind}.")
        return ProviderSettings(kind)
    missing = [name for name, value in (("provider.url (PROVIDER_URL)", url), ("provider.api_key (PROVIDER_API_KEY)", key))
               if not value]
    if missing:
        raise ConfigError(f"Configuração incompleta: PROVIDER={kind} precisa de {' e '.join(missing)}.")
    if not _is_http(url):
        raise ConfigError("Configuração inválida: provider.url (PROVIDER_URL) deve ser uma URL http ou https.")
    timeout = _positive(env.get("PROVIDER_TIMEOUT_SECONDS") or section.get("timeout_seconds", DEFAULT_TIMEOUT_SECONDS))
    if timeout is None:
        raise ConfigError("Configuração inválida: provider.timeout_seconds (PROVIDER_TIMEOUT_SECONDS) deve ser um "
                          "número positivo.")
    return ProviderSettings(kind, url=url, api_key=key, timeout_seconds=timeout)


def _positive(raw) -> float | None:
    try:
        value = float(raw)
    except (TypeError, ValueError):
        return None
    return value if value > 0 else None
