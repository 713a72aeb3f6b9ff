"""What the service and the monitor ask of a WhatsApp provider, and what the answers are.

Every provider (lib.provider: the webhook contract, the built-in sandbox, Evolution API, WAHA)
answers in these types; a failure is a ProviderError with a short pt-BR message.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Credentials:
    instance_id: str
    token: str = field(repr=False)


@dataclass(frozen=True)
class QrCode:
    png: bytes = field(repr=False)  # PNG image bytes, always


@dataclass(frozen=True)
class ConnectReply:
    """What a connect gave: a QR to scan, a pairing code to type on the phone, or both."""

    qr: QrCode | None
    pairing_code: str | None  # 8 characters, upper case, no dash


@dataclass(frozen=True)
class StatusReply:
    status: str  # 'disconnected' | 'connecting' | 'connected'
    phone_number: str | None
