"""Why a number dropped, in words: the code a provider gives (WhatsApp's disconnect code as text,
Evolution's statusReason / disconnectionReasonCode; "failed" for WAHA's FAILED session)."""

from __future__ import annotations

REASONS = {
    "401": "Desconectado no celular (aparelho removido)",
    "403": "Número bloqueado pelo WhatsApp",
    "failed": "A sessão falhou no provedor",
}


def reason_text(code: str | None) -> str | None:
    """"Número bloqueado pelo WhatsApp", "Conexão perdida (código 428)"; None for no code."""
    if not code:
        return None
    return REASONS.get(code, f"Conexão perdida (código {code})")
