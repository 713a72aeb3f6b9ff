"""What the service and the monitor ask of a WhatsApp provider, and what the answers are.

Every provider (lib.provider: the webhook contract, the built-in sandbox, Evolution API, WAHA)
answers in these types; a failure is a ProviderError with a short pt-BR message.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

# What a provider can do beyond create, connect, status and disconnect (Provider.capabilities); the
# screens offer only what the configured provider supports.
DELETE = "delete"  # deletes the instance at the provider (else "Excluir" removes it from the dashboard only)
RESTART = "restart"  # "Reiniciar"
LIST = "list"  # list_instances(): "Importar do provedor", and a sweep in one request
EVENTS = "events"  # register_events(): the app registers its own event URL with the provider
TOKENS = "tokens"  # each instance has a token of its own ("Mostrar token"); WAHA's sessions have none


@dataclass(frozen=True)
class Credentials:
    instance_id: str
    token: str = field(repr=False)


@dataclass(frozen=True)
class QrCode:
    png: bytes = field(repr=False)  # PNG image bytes, always


@dataclass(frozen=True)
class ConnectReply:
    """What a connect gave: a QR to scan, a pairing code to type on the phone, or both; or neither,
    with `already_connected`, when the provider found the instance connected (Evolution answers
    {"instance": {"state": "open"}})."""

    qr: QrCode | None
    pairing_code: str | None  # 8 characters, upper case, no dash
    already_connected: bool = False


@dataclass(frozen=True)
class StatusReply:
    status: str  # 'disconnected' | 'connecting' | 'connected'
    phone_number: str | None
    # Why it is disconnected, when the provider says: WhatsApp's code as text ("401": removed on the
    # phone, "403": banned, "428"…) or "failed" (WAHA's FAILED). See lib.presentation.
    reason: str | None = None


@dataclass(frozen=True)
class RemoteInstance:
    """An instance as the provider lists it (list_instances)."""

    instance_id: str  # the provider's own name for it (Evolution's instanceName, WAHA's session)
    status: str  # 'disconnected' | 'connecting' | 'connected'
    phone_number: str | None  # "+5511999998888"
    token: str = field(default="", repr=False)  # "" where instances have no token of their own
    reason: str | None = None
    name: str | None = None  # a display name the provider keeps beside its own id (the sandbox does)


@dataclass(frozen=True)
class ProviderEvent:
    """A change the provider pushed (POST /api/provider-events; parsed by lib.provider.events)."""

    instance_id: str
    status: str | None  # None: the event carries no status (a new QR)
    phone_number: str | None = None
    reason: str | None = None  # as StatusReply.reason
    # The provider's own time of the event in milliseconds, when it says: compared only with the
    # same provider's other events (Evolution writes its local time with a "Z"), never with ours.
    at: int | None = None
    qr: QrCode | None = field(default=None, repr=False)  # a new QR (Evolution's QRCODE_UPDATED)
    dialect: str = "generic"  # whose body it came in: "generic", "evolution", "waha" (for the logs)


class Provider(Protocol):
    """A WhatsApp provider. Every call raises ProviderError (lib.errors) with a short pt-BR
    message that never contains a token or the API key."""

    kind: str  # 'sandbox' | 'webhooks' | 'evolution' | 'waha'
    label: str  # how the screens name it ("Evolution API")
    capabilities: frozenset[str]  # of DELETE, RESTART, LIST, EVENTS, TOKENS

    def create(self, name: str) -> Credentials:
        """A new instance for the display name `name` (the provider's own name for it is derived
        from it where it needs one: safe characters, unique)."""

    def connect(self, instance_id: str, token: str, phone_number: str | None = None) -> ConnectReply:
        """Without `phone_number`, a QR; with it (digits with the country code), a pairing code for
        that number (ProviderError when the provider gives none)."""

    def status(self, instance_id: str, token: str) -> StatusReply:
        """ProviderError with status_code 404 when the provider does not know the instance."""

    def disconnect(self, instance_id: str, token: str) -> None:
        """Log the number out; an instance already disconnected is a success."""

    def delete(self, instance_id: str, token: str) -> None:
        """Only with DELETE. A 404 (already gone) raises ProviderError with status_code 404."""

    def restart(self, instance_id: str, token: str) -> None:
        """Only with RESTART."""

    def list_instances(self) -> list[RemoteInstance]:
        """Only with LIST: every instance the provider has, in one request."""

    def register_events(self, instance_id: str, token: str, url: str, secret: str) -> None:
        """Only with EVENTS: push this instance's status changes (and new QR codes) to `url`, with
        the header X-Webhook-Secret: `secret`."""
