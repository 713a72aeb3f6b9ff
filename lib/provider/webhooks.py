"""The webhook contract's provider (lib.provider.base.Provider): four webhooks (create, connect,
status, disconnect) and two optional ones (delete, restart), as n8n and friends answer them.

Every failure surfaces as one `ProviderError` with a short pt-BR message that never
contains the instance token. What the replies mean is read by lib/provider/replies.py.
"""

from __future__ import annotations

from typing import Any

import requests

from lib.config.provider import WebhookSettings
from lib.errors import ProviderError
from lib.provider.base import DELETE, RESTART, TOKENS, ConnectReply, Credentials, QrCode, RemoteInstance, StatusReply
from lib.provider.http import ProviderHttp
from lib.provider.replies import (
    PAIRING_CODE_KEYS, PHONE_KEYS, QR_KEYS, clean, first, invalid, missing, normalize_phone, normalize_status, optional,
    pairing_code, qr_png, text_field,
)

MSG_NO_PAIRING_CODE = "O provedor não ofereceu código de pareamento; use o QR Code."


class WebhookClient:
    """Calls the provider webhooks described by `settings` (only the idempotent status GET is
    retried: lib.provider.http)."""

    kind = "webhooks"
    label = "webhooks"

    def __init__(self, settings: WebhookSettings, session: requests.Session | None = None):
        self._settings = settings
        self._http = ProviderHttp(name="webhook", headers=settings.headers, timeout_seconds=settings.timeout_seconds,
                                  credentials_hint="Verifique a configuração dos webhooks.",
                                  create_not_found="Webhook não encontrado no provedor", session=session)

    @property
    def capabilities(self) -> frozenset[str]:
        """Tokens always; delete and restart when their optional webhooks are configured."""
        optional = {DELETE: self._settings.delete_url, RESTART: self._settings.restart_url}
        return frozenset({TOKENS, *(capability for capability, url in optional.items() if url)})

    def create(self, name: str) -> Credentials:
        data = self._request("create", "POST", json={"name": name}) or {}
        return Credentials(
            instance_id=text_field(data, "instance_id", "create", allow_int=True),
            token=text_field(data, "token", "create"),
        )

    def connect(self, instance_id: str, token: str, phone_number: str | None = None) -> ConnectReply:
        """Without `phone_number`, the QR path: the reply must carry a QR (a valid pairing code
        beside it is passed on, an unusable one ignored). With it (digits with the country code,
        sent as `phone_number`), a pairing code for that number is asked for and the reply must
        carry one (`pairing_code`, or Evolution API's `pairingCode`); a QR beside it is passed on
        when it is usable and ignored otherwise. HTTP 409 means the number is connected already (the
        sandbox and the shipped n8n workflow answer so): nothing to scan."""
        body = {"instance_id": instance_id, "token": token}
        if phone_number:
            body["phone_number"] = phone_number
        code, data = self._http.request("connect", "POST", self._settings.url_for("connect"), json=body, token=token,
                                        accept=(409,))
        if code == 409:
            return ConnectReply(qr=None, pairing_code=None, already_connected=True)
        data = data or {}
        qr_value = next((data[key] for key in QR_KEYS if data.get(key) is not None), None)
        code_value = first([data], PAIRING_CODE_KEYS)
        if not phone_number:
            if qr_value is None:
                raise missing("qr_code_base64", "connect")
            return ConnectReply(qr=QrCode(png=qr_png(qr_value)), pairing_code=optional(pairing_code, code_value))
        if code_value is None:
            if qr_value is None:
                raise missing("pairing_code", "connect")
            raise ProviderError(MSG_NO_PAIRING_CODE, action="connect", retryable=False)
        code = pairing_code(code_value)
        qr = optional(lambda value: QrCode(png=qr_png(value)), qr_value)
        return ConnectReply(qr=qr, pairing_code=code)

    def status(self, instance_id: str, token: str) -> StatusReply:
        data = self._request("status", "GET", params={"instance_id": instance_id, "token": token}, token=token) or {}
        nested = data.get("instance")
        sources = [data] + ([nested] if isinstance(nested, dict) else [])  # Evolution API: {"instance": {"state": ...}}
        word = first(sources, ("status", "state"))
        if word is None:
            raise missing("status", "status")
        status = normalize_status(word)
        if status is None:
            shown = clean(str(word), self._http.secrets(token), limit=40)
            raise ProviderError(f"Status desconhecido retornado pelo provedor: {shown}", action="status", retryable=False)
        return StatusReply(status=status, phone_number=normalize_phone(first([data], PHONE_KEYS)))

    def disconnect(self, instance_id: str, token: str) -> None:
        """An empty 2xx body counts as success (n8n may answer that way)."""
        self._acknowledged("disconnect", instance_id, token)

    def delete(self, instance_id: str, token: str) -> None:
        """The optional delete webhook: delete the instance at the provider (same contract as disconnect)."""
        self._acknowledged("delete", instance_id, token)

    def restart(self, instance_id: str, token: str) -> None:
        """The optional restart webhook (same contract as disconnect)."""
        self._acknowledged("restart", instance_id, token)

    def list_instances(self) -> list[RemoteInstance]:
        raise ProviderError("Este provedor não lista as instâncias.", action="list", retryable=False)

    def register_events(self, instance_id: str, token: str, url: str, secret: str) -> None:
        raise ProviderError("Este provedor não registra eventos pelo painel.", action="events", retryable=False)

    def _acknowledged(self, action: str, instance_id: str, token: str) -> None:
        """POST {instance_id, token} → {success: true} (or an empty 2xx body)."""
        data = self._request(action, "POST", json={"instance_id": instance_id, "token": token}, token=token)
        if data is None:
            return
        if "success" not in data:
            raise missing("success", action)
        if str(data["success"]).lower() != "true":
            raise invalid("success", action)

    def _request(self, action: str, method: str, *, token: str = "", **kwargs: Any) -> dict | None:
        """One call to the action's webhook: the reply object, or None for an empty body."""
        return self._http.request(action, method, self._settings.url_for(action), token=token, **kwargs)[1]
