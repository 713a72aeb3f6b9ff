"""Evolution API v2 client (WHATSAPP-BAILEYS instances), and `event_from` for the bodies its
webhook pushes.

What the server does, read from EvolutionAPI/evolution-api 2.3.6 (src/…; the double in
harness/doubles/evolution.py reproduces it and names the lines):
- the instance's `state` lives in memory (connectionState); fetchInstances answers database rows
  whose connectionStatus may lag behind (a dropped connection that reconnects keeps 'open'), and
  whose disconnectionReasonCode is only written by a close that does not reconnect and never
  cleared: status() reads the state, then the row only for the phone or the close reason;
- connect answers a QR, {"count": 0} when the QR was not ready within its 2 s wait, or
  {"instance": {"state": "open"}}; `?number=` is only read when the instance is closed, so a
  pairing code for a connecting instance needs a logout first; the logout's close lands after
  its reply;
- errors: 404 `The "x" instance does not exist` (before the key is checked), 403 for a name in
  use, 401 for a wrong key, 400 for a logout of a closed instance; Express answers 404
  `Cannot POST …` for a route it lacks (restart was PUT before 2.2.0).
"""

from __future__ import annotations

import re
import time
import unicodedata
from datetime import datetime, timedelta, timezone
from typing import Any, Callable
from urllib.parse import quote

import requests

from lib.errors import ProviderError
from lib.provider.base import (
    DELETE, EVENTS, LIST, RESTART, TOKENS, ConnectReply, Credentials, ProviderEvent, QrCode, RemoteInstance,
    StatusReply,
)
from lib.provider.http import MSG_INSTANCE_UNKNOWN, ProviderHttp
from lib.provider.replies import (
    LABELS, clean, error_text, invalid, missing, normalize_phone, normalize_status, optional, pairing_code, qr_png,
    strict_phone, text_field,
)
from lib.provider.webhooks import MSG_NO_PAIRING_CODE

MSG_QR_NOT_READY = "O provedor ainda não gerou o QR Code; tente de novo em instantes."
MSG_STILL_CLOSING = "O provedor ainda está encerrando a sessão anterior; tente de novo em instantes."
MSG_NOT_CONNECTED = "A instância não está conectada no provedor; use Conectar."
MSG_NAMES_TAKEN = "Já existem instâncias com nomes parecidos no provedor; escolha outro nome."
NAME_MAX = 40
NAME_ATTEMPTS = 10  # the name, then -2 … -10
QR_TRIES = 3  # connect calls before MSG_QR_NOT_READY, QR_WAIT_SECONDS apart
QR_WAIT_SECONDS = 1.0
CLOSE_CHECKS = 6  # connectionState reads after a logout, CLOSE_WAIT_SECONDS apart
CLOSE_WAIT_SECONDS = 0.5
# What the app registers for: state changes and new QR codes (the enum names webhook/set
# validates; "connection.update" is refused). Nothing else is read (event_from).
PUSHED_EVENTS = ("CONNECTION_UPDATE", "QRCODE_UPDATED")
_STATES = {"open": "connected", "connecting": "connecting", "close": "disconnected",
           "refused": "disconnected"}  # "refused": pushed when the QR limit ends the session


def instance_name(display_name: str) -> str:
    """Evolution's name for a dashboard display name: ASCII lower case, accents dropped, runs of
    anything else one dash, at most NAME_MAX characters ("Cobrança 01 – Ana" → "cobranca-01-ana")."""
    text = unicodedata.normalize("NFKD", display_name).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", "-", text).strip("-")[:NAME_MAX].rstrip("-") or "instancia"


class EvolutionProvider:
    """Calls one Evolution API server with its global API key (header `apikey`)."""

    kind = "evolution"
    label = "Evolution API"
    capabilities = frozenset({DELETE, RESTART, LIST, EVENTS, TOKENS})

    def __init__(self, base_url: str, api_key: str, timeout_seconds: float = 15.0,
                 session: requests.Session | None = None, sleep: Callable[[float], None] = time.sleep):
        self._base = base_url.rstrip("/")
        self._http = ProviderHttp(name="evolution", headers={"apikey": api_key}, timeout_seconds=timeout_seconds,
                                  credentials_hint="Verifique PROVIDER_API_KEY.",
                                  create_not_found="Evolution API não encontrada", session=session)
        self._sleep = sleep
        self._restart_method = "POST"  # "PUT" once a server answered that it has no POST restart

    def create(self, name: str) -> Credentials:
        """Under instance_name(name), or with -2, -3 … while the server answers 403 (name in use)."""
        base = instance_name(name)
        for attempt in range(1, NAME_ATTEMPTS + 1):
            suffix = f"-{attempt}" if attempt > 1 else ""
            candidate = base[: NAME_MAX - len(suffix)].rstrip("-") + suffix
            body = {"instanceName": candidate, "integration": "WHATSAPP-BAILEYS", "qrcode": False}
            code, data = self._call("create", "POST", "/instance/create", accept=(403,), json=body)
            if code != 403:
                data = data or {}
                created = data.get("instance") if isinstance(data.get("instance"), dict) else {}
                named = created.get("instanceName")
                return Credentials(instance_id=named if isinstance(named, str) and named else candidate,
                                   token=text_field(data, "hash", "create"))
            if "already in use" not in error_text(data):
                raise ProviderError(f"Provedor recusou as credenciais ({LABELS['create']}). Verifique PROVIDER_API_KEY.",
                                    action="create", retryable=False)
        raise ProviderError(MSG_NAMES_TAKEN, action="create", retryable=False)

    def connect(self, instance_id: str, token: str, phone_number: str | None = None) -> ConnectReply:
        """A QR; with `phone_number`, a pairing code (a connecting instance is logged out first:
        the server ignores the number of a session already started)."""
        number = re.sub(r"\D", "", phone_number or "")
        if number:
            state = self._state(instance_id, token, "connect")
            if state == "connecting":
                self.disconnect(instance_id, token)
                self._await_close(instance_id, token)
            elif state == "open":
                return ConnectReply(qr=None, pairing_code=None, already_connected=True)
        data = self._qr_reply(instance_id, token, number)
        if _state_of(data) == "open":
            return ConnectReply(qr=None, pairing_code=None, already_connected=True)
        if not number:
            return ConnectReply(qr=QrCode(png=qr_png(data.get("base64"))),
                                pairing_code=optional(pairing_code, data.get("pairingCode")))
        if not data.get("pairingCode"):
            raise ProviderError(MSG_NO_PAIRING_CODE, action="connect", retryable=False)
        qr = optional(lambda value: QrCode(png=qr_png(value)), data.get("base64"))
        return ConnectReply(qr=qr, pairing_code=pairing_code(data["pairingCode"]))

    def status(self, instance_id: str, token: str) -> StatusReply:
        state = self._state(instance_id, token, "status")
        status = normalize_status(state)
        if status is None:
            shown = clean(str(state), self._http.secrets(token), limit=40)
            raise ProviderError(f"Status desconhecido retornado pelo provedor: {shown}", action="status", retryable=False)
        if status == "connecting":
            return StatusReply(status=status, phone_number=None)
        rows = self._call("status", "GET", "/instance/fetchInstances", token=token, many=True,
                          params={"instanceName": instance_id})[1]
        row = next((r for r in rows if r.get("name") == instance_id), {})
        if status == "connected":
            return StatusReply(status=status, phone_number=normalize_phone(row.get("ownerJid")))
        # A row still 'open' lags behind a close that reconnects: its code is an older close's.
        stored = row.get("connectionStatus") == "close"
        return StatusReply(status=status, phone_number=None,
                           reason=_reason(row.get("disconnectionReasonCode"), status) if stored else None)

    def list_instances(self) -> list[RemoteInstance]:
        """fetchInstances: every instance in one request (its stored connectionStatus)."""
        return [_remote(row) for row in self._call("list", "GET", "/instance/fetchInstances", many=True)[1]]

    def disconnect(self, instance_id: str, token: str) -> None:
        """Logout; the server's 400 for an instance already closed is a success."""
        code, data = self._call("disconnect", "DELETE", f"/instance/logout/{_q(instance_id)}", token=token,
                                accept=(400,))
        text = error_text(data)
        if code == 400 and "is not connected" not in text:
            shown = clean(text, self._http.secrets(token))
            raise ProviderError(f"Provedor recusou a requisição ({LABELS['disconnect']}): {shown or 'HTTP 400'}",
                                action="disconnect", retryable=False)

    def delete(self, instance_id: str, token: str) -> None:
        self._call("delete", "DELETE", f"/instance/delete/{_q(instance_id)}", token=token)

    def restart(self, instance_id: str, token: str) -> None:
        """POST, or PUT on a server before 2.2.0 (remembered). The server refuses to restart a
        closed instance with an in-band "[object Object]": that case is told apart first."""
        if self._state(instance_id, token, "restart") == "close":
            raise ProviderError(MSG_NOT_CONNECTED, action="restart", retryable=False)
        path = f"/instance/restart/{_q(instance_id)}"
        code, data = self._call("restart", self._restart_method, path, token=token, accept=(404, 405))
        if self._restart_method == "POST" and (code == 405 or (code == 404 and _route_missing(data))):
            self._restart_method = "PUT"
            code, data = self._call("restart", "PUT", path, token=token, accept=(404,))
        if code == 404:
            raise self._not_found("restart", data)
        if code == 405:
            raise ProviderError(f"Provedor recusou a requisição ({LABELS['restart']}) (HTTP 405).", action="restart",
                                retryable=False)

    def register_events(self, instance_id: str, token: str, url: str, secret: str) -> None:
        """webhook/set: PUSHED_EVENTS to `url`, one URL for all (byEvents false), with the secret
        header. base64 false: it only inlines the media of message events (a QR's image is always
        in qrcode.updated)."""
        hook = {"enabled": True, "url": url, "headers": {"X-Webhook-Secret": secret}, "byEvents": False,
                "base64": False, "events": list(PUSHED_EVENTS)}
        self._call("events", "POST", f"/webhook/set/{_q(instance_id)}", token=secret, json={"webhook": hook})

    # ------------------------------------------------------------------ helpers
    def _call(self, action: str, method: str, path: str, *, token: str = "", accept: tuple[int, ...] = (),
              **kwargs: Any) -> tuple[int, Any]:
        """One request; a 404 (unless accepted) is an unknown instance or a missing route."""
        code, data = self._http.request(action, method, self._base + path, token=token, accept=(404, *accept),
                                        **kwargs)
        if code == 404 and 404 not in accept:
            raise self._not_found(action, data)
        return code, data

    def _not_found(self, action: str, data: dict | None) -> ProviderError:
        if _route_missing(data) or action == "create":  # a wrong URL or version: not "the instance is gone"
            return ProviderError(f"Evolution API não encontrada ({LABELS[action]}). Verifique a URL configurada "
                                 "e a versão do servidor.", action=action, retryable=False)
        return ProviderError(MSG_INSTANCE_UNKNOWN, action=action, retryable=False, status_code=404)

    def _state(self, instance_id: str, token: str, action: str) -> str:
        data = self._call(action, "GET", f"/instance/connectionState/{_q(instance_id)}", token=token)[1] or {}
        state = _state_of(data)
        if state is None:
            raise missing("state", action)
        return state

    def _await_close(self, instance_id: str, token: str) -> None:
        """A logout's close lands after its reply; a connect before it would ignore the number."""
        for check in range(CLOSE_CHECKS):
            if check:
                self._sleep(CLOSE_WAIT_SECONDS)
            if self._state(instance_id, token, "connect") == "close":
                return
        raise ProviderError(MSG_STILL_CLOSING, action="connect")

    def _qr_reply(self, instance_id: str, token: str, number: str) -> dict:
        """connect until it carries a QR, a pairing code or the open state (QR_TRIES at most)."""
        params = {"number": number} if number else None
        for attempt in range(QR_TRIES):
            if attempt:
                self._sleep(QR_WAIT_SECONDS)
            data = self._call("connect", "GET", f"/instance/connect/{_q(instance_id)}", token=token,
                              params=params)[1] or {}
            if _state_of(data) == "open" or data.get("base64") or data.get("pairingCode"):
                return data
        raise ProviderError(MSG_QR_NOT_READY, action="connect")


def event_from(data: dict) -> ProviderEvent | None:
    """The change in an Evolution push: connection.update → its status (reason: the close's
    statusReason; phone: the wuid of an open), qrcode.updated → the new QR; any other event (or a
    qrcode.updated without a QR: the QR limit notice) → None. `at` is `date_time` read as written:
    the server's local time with a "Z" (channel.service.ts:436-437), only comparable with the same
    server's other times. Raises ValueError (a message that never quotes the body) when unusable."""
    event = str(data.get("event") or "").strip().lower().replace("_", ".")
    if event not in ("connection.update", "qrcode.updated"):
        return None
    inner = data.get("data") if isinstance(data.get("data"), dict) else {}
    instance_id = data.get("instance") or inner.get("instance")
    if not isinstance(instance_id, str) or not instance_id.strip() or len(instance_id) > 200:
        raise ValueError("missing or invalid instance")
    at = _epoch_ms(data.get("date_time"))
    if event == "qrcode.updated":
        value = inner["qrcode"].get("base64") if isinstance(inner.get("qrcode"), dict) else None
        if value is None:
            return None
        try:
            return ProviderEvent(instance_id.strip(), None, at=at, qr=QrCode(png=qr_png(value)))
        except ProviderError:
            raise ValueError("invalid QR code") from None
    status = _STATES.get(str(inner.get("state")).strip().lower())
    if status is None:
        raise ValueError("unknown state")
    phone = strict_phone(inner.get("wuid") or data.get("sender")) if status == "connected" else None
    return ProviderEvent(instance_id.strip(), status, phone, _reason(inner.get("statusReason"), status), at)


def _remote(row: dict) -> RemoteInstance:
    name = row.get("name")
    if not isinstance(name, str) or not name:
        raise invalid("name", "list")
    status = normalize_status(row.get("connectionStatus"))
    if status is None:
        raise invalid("connectionStatus", "list")
    token = row.get("token") if isinstance(row.get("token"), str) else ""
    phone = normalize_phone(row.get("ownerJid")) if status == "connected" else None
    return RemoteInstance(instance_id=name, status=status, phone_number=phone, token=token,
                          reason=_reason(row.get("disconnectionReasonCode"), status))


def _reason(code: Any, status: str) -> str | None:
    """WhatsApp's close code as text ("401"), for a disconnected instance only."""
    if status != "disconnected" or isinstance(code, bool) or not isinstance(code, (int, str)):
        return None
    return str(code).strip() or None


def _epoch_ms(value: Any) -> int | None:
    """"2025-10-21T11:40:39.123Z" → milliseconds since 1970 as written (the "Z" taken literally)."""
    try:
        moment = datetime.fromisoformat(value).replace(tzinfo=timezone.utc)
    except (TypeError, ValueError):
        return None
    return (moment - datetime(1970, 1, 1, tzinfo=timezone.utc)) // timedelta(milliseconds=1)


def _state_of(data: dict | None) -> str | None:
    inner = (data or {}).get("instance")
    state = inner.get("state") if isinstance(inner, dict) else None
    return state if isinstance(state, str) and state else None


def _route_missing(data: dict | None) -> bool:
    """Express's 404 for a route it lacks ("Cannot POST /instance/restart/x", main.ts:121-133)."""
    return error_text(data).startswith("Cannot ")


def _q(instance_id: str) -> str:
    return quote(instance_id, safe="")

