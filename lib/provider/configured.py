"""The provider the settings name (lib.config.provider), as a lib.provider.base.Provider."""

from __future__ import annotations

from lib.config.provider import ProviderSettings, WebhookSettings
from lib.provider.base import Provider
from lib.provider.evolution import EvolutionProvider
from lib.provider.sandbox.client import SandboxClient
from lib.provider.sandbox.provider import SandboxProvider
from lib.provider.waha import WahaProvider
from lib.provider.webhooks import WebhookClient


def configured_provider(settings: ProviderSettings, webhooks: WebhookSettings | None,
                        sandbox: SandboxProvider | None) -> Provider:
    """A new client of the configured provider (`sandbox`: the process's own, when it is the one)."""
    if settings.kind == "sandbox":
        return SandboxClient(sandbox)
    if settings.kind == "webhooks":
        return WebhookClient(webhooks)
    direct = {"evolution": EvolutionProvider, "waha": WahaProvider}[settings.kind]
    return direct(settings.url, settings.api_key, timeout_seconds=settings.timeout_seconds)
