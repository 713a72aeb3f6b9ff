"""Client for WAHA (devlikeapro/waha, the WhatsApp HTTP API): one WAHA *session* is one instance.

What it relies on (devlikeapro/waha; harness/doubles/waha.py plays it and lists the sources):
- a session is created STOPPED (`start: false`) and started only by "Conectar": WhatsApp shows at
  most 6 QR codes (60 s, then 20 s each) and the session then goes FAILED until restarted;
- `start` on a running session answers 422, so FAILED (still running) is restarted; a FAILED
  session whose number was removed on the phone fails again at every restart, until a logout
  forgets its credentials (the docs: "Restart ... if it doesn't help - Logout and Start");
- `logout` unpairs the number (when running) and starts the session again, so disconnect stops it after;
- the QR comes as JSON only with `Accept: application/json` exactly; PUT replaces the whole config
  and restarts a running session; DELETE is idempotent (WAHA never answers it 404).
Sessions have no token of their own: every call carries the API key (X-Api-Key).
"""

from __future__ import annotations

import math
import re
import time
import unicodedata
from typing import Any, Callable
from urllib.parse import quote

import requests

from lib.errors import ProviderError
from lib.provider.base import (
    DELETE, EVENTS, LIST, RESTART, ConnectReply, Credentials, ProviderEvent, QrCode, RemoteInstance, StatusReply,
)
from lib.provider.http import ProviderHttp
from lib.provider.replies import clean, error_text, missing, normalize_phone, pairing_code, qr_png, strict_phone

STOPPED, STARTING, SCAN_QR_CODE, WORKING, FAILED = "STOPPED", "STARTING", "SCAN_QR_CODE", "WORKING", "FAILED"
STATUSES = {
    STOPPED: "disconnected", FAILED: "disconnected", WORKING: "connected",
    STARTING: "connecting", SCAN_QR_CODE: "connecting",
    "PASSKEY_REQUIRED": "connecting", "PASSKEY_CONFIRMATION_REQUIRED": "connecting",  # still pairing
}
SECRET_HEADER = "X-Webhook-Secret"
MAX_NAME = 54  # WAHA: 64 - len("waha_noweb"), [a-zA-Z0-9_-]
NAME_ATTEMPTS = 20
POLL_SECONDS = 0.5
MSG_CORE_ONLY = "Este WAHA (Core) aceita só a sessão 'default': várias instâncias exigem o WAHA Plus."
MSG_STILL_STARTING = "O WAHA ainda está iniciando a sessão. Tente novamente em instantes."


def session_name(display_name: str, attempt: int = 1) -> str:
    """The WAHA session name for a display name: lower-case ASCII without accents, [a-z0-9_-], at
    most 54 characters, never empty; attempt n > 1 ends in "-n" ("cobranca-sp-2")."""
    ascii_text = unicodedata.normalize("NFKD", display_name).encode("ascii", "ignore").decode().lower()
    base = re.sub(r"-{2,}", "-", re.sub(r"[^a-z0-9_-]+", "-", ascii_text)).strip("-_") or "instancia"
    suffix = f"-{attempt}" if attempt > 1 else ""
    return base[: MAX_NAME - len(suffix)].rstrip("-_") + suffix


class WahaProvider:
    kind = "waha"
    label = "WAHA"
    capabilities = frozenset({DELETE, RESTART, LIST, EVENTS})

    def __init__(self, base_url: str, api_key: str, timeout_seconds: float = 15.0,
                 session: requests.Session | None = None, sleep: Callable[[float], None] = time.sleep):
        self._base = base_url.rstrip("/")
        self._http = ProviderHttp(name="waha", headers={"X-Api-Key": api_key} if api_key else {},
                                  timeout_seconds=timeout_seconds, credentials_hint="Verifique PROVIDER_API_KEY.",
                                  create_not_found="API do WAHA não encontrada", session=session)
        self._sleep = sleep
        self._polls = max(1, math.ceil(timeout_seconds / POLL_SECONDS))  # how long connect waits for a QR

    def create(self, name: str) -> Credentials:
        """A STOPPED session named after `name`; a taken name gets the next suffix."""
        for attempt in range(1, NAME_ATTEMPTS + 1):
            candidate = session_name(name, attempt)
            code, data = self._call("create", "POST", "/api/sessions", json={"name": candidate, "start": False},
                                    accept=(422,))
            if code != 422:
                return Credentials(instance_id=str((data or {}).get("name") or candidate), token="")
            if "already exists" not in self._text(data):
                raise self._refused("create", data)
        raise ProviderError("Não foi possível escolher um nome livre para a sessão no WAHA.", action="create",
                            retryable=False)

    def connect(self, instance_id: str, token: str, phone_number: str | None = None) -> ConnectReply:
        """Starts the session when needed and waits (up to timeout_seconds) for its QR, then gives
        the QR or, with `phone_number`, a pairing code; a WORKING session is already connected."""
        status = self._ready(instance_id)
        if status == WORKING:
            return ConnectReply(qr=None, pairing_code=None, already_connected=True)
        if phone_number:
            return self._pairing_code(instance_id, phone_number)
        code, data = self._call("connect", "GET", f"/api/{_path(instance_id)}/auth/qr",
                                headers={"Accept": "application/json"}, accept=(422,))
        if code == 422:  # the status changed meanwhile (WAHA waits for SCAN_QR_CODE, then gives up)
            if (data or {}).get("status") == WORKING:
                return ConnectReply(qr=None, pairing_code=None, already_connected=True)
            raise self._refused("connect", data)
        value = (data or {}).get("data")
        if value is None:
            raise missing("data", "connect")
        return ConnectReply(qr=QrCode(png=qr_png(value)), pairing_code=None)

    def status(self, instance_id: str, token: str) -> StatusReply:
        remote = _remote(self._session(instance_id, "status"), "status", self._http.secrets())
        return StatusReply(status=remote.status, phone_number=remote.phone_number, reason=remote.reason)

    def list_instances(self) -> list[RemoteInstance]:
        items = self._call("list", "GET", "/api/sessions", params={"all": "true"}, many=True)[1]
        return [_remote(item, "list", self._http.secrets()) for item in items]

    def disconnect(self, instance_id: str, token: str) -> None:
        """Logs the number out (WAHA unpairs it when the session runs, then starts it again), then
        stops the session; an already stopped session is logged out and stays stopped."""
        self._call("disconnect", "POST", f"/api/sessions/{_path(instance_id)}/logout")
        self._call("disconnect", "POST", f"/api/sessions/{_path(instance_id)}/stop")

    def delete(self, instance_id: str, token: str) -> None:
        """WAHA stops, logs out and deletes; an unknown session is a success there (idempotent)."""
        self._call("delete", "DELETE", f"/api/sessions/{_path(instance_id)}")

    def restart(self, instance_id: str, token: str) -> None:
        self._call("restart", "POST", f"/api/sessions/{_path(instance_id)}/restart")

    def register_events(self, instance_id: str, token: str, url: str, secret: str) -> None:
        """Makes the session push `session.status` to `url` with X-Webhook-Secret: the session's
        config gets our webhook (replacing any earlier one of ours, the one carrying that header);
        the rest of its config and others' webhooks stay. WAHA restarts a running session on this
        PUT, so nothing is sent when the webhook is already so."""
        config = dict(self._session(instance_id, "events").get("config") or {})
        ours = {"url": url, "events": ["session.status"], "customHeaders": [{"name": SECRET_HEADER, "value": secret}]}
        hooks = [hook for hook in config.get("webhooks") or [] if isinstance(hook, dict)]
        mine = [hook for hook in hooks if _carries_secret(hook)]
        if len(mine) == 1 and all(mine[0].get(key) == value for key, value in ours.items()):
            return
        config["webhooks"] = [hook for hook in hooks if hook not in mine] + [ours]
        self._call("events", "PUT", f"/api/sessions/{_path(instance_id)}", json={"config": config}, token=secret)

    # -- connect, step by step -----------------------------------------------------------------
    def _ready(self, instance_id: str) -> str:
        """Starts the session as needed and waits until it shows a QR (SCAN_QR_CODE) or is WORKING."""
        status = self._session(instance_id, "connect").get("status")
        if status in (SCAN_QR_CODE, WORKING):
            return status
        if status == STOPPED:  # a 422: someone started it meanwhile
            self._call("connect", "POST", f"/api/sessions/{_path(instance_id)}/start", accept=(422,))
        elif status == FAILED:
            self._call("connect", "POST", f"/api/sessions/{_path(instance_id)}/restart")
        status = self._wait(instance_id)
        if status == FAILED:  # credentials revoked on the phone: start afresh, for a new QR
            self._call("connect", "POST", f"/api/sessions/{_path(instance_id)}/logout")
            status = self._wait(instance_id)
        if status not in (SCAN_QR_CODE, WORKING):
            raise ProviderError(MSG_STILL_STARTING, action="connect")
        return status

    def _wait(self, instance_id: str) -> str | None:
        """The session's status once it leaves STARTING (or still STARTING after the wait)."""
        status = None
        for _ in range(self._polls):
            self._sleep(POLL_SECONDS)
            status = self._session(instance_id, "connect").get("status")
            if status in (SCAN_QR_CODE, WORKING, FAILED):
                break
        return status

    def _pairing_code(self, instance_id: str, phone_number: str) -> ConnectReply:
        code, data = self._call("connect", "POST", f"/api/{_path(instance_id)}/auth/request-code",
                                json={"phoneNumber": phone_number}, accept=(404, 422))
        if code in (404, 422):  # not showing a QR (any more): 404 is WAHA's "not running", not "unknown"
            text = self._text(data)
            detail = f": {text}" if text else ""
            raise ProviderError(f"O WAHA não gerou o código de pareamento{detail}. Use o QR Code.", action="connect",
                                retryable=False)
        value = (data or {}).get("code")
        if value is None:
            raise missing("code", "connect")
        return ConnectReply(qr=None, pairing_code=pairing_code(value))

    # -- plumbing ------------------------------------------------------------------------------
    def _session(self, instance_id: str, action: str) -> dict:
        return self._call(action, "GET", f"/api/sessions/{_path(instance_id)}")[1] or {}

    def _call(self, action: str, method: str, path: str, **kwargs: Any) -> tuple[int, Any]:
        return self._http.request(action, method, self._base + path, **kwargs)

    def _text(self, data: Any) -> str:
        return clean(error_text(data), self._http.secrets())

    def _refused(self, action: str, data: Any) -> ProviderError:
        text = self._text(data)
        if "only 'default' session" in text:
            return ProviderError(MSG_CORE_ONLY, action=action, retryable=False)
        return ProviderError(f"O WAHA recusou a requisição: {text or 'HTTP 422'}", action=action, retryable=False)


def event_from(data: dict) -> ProviderEvent | None:
    """The status change in a body WAHA pushed: `session.status` (status, phone from `me.id`,
    `timestamp` in ms); None for any other event. A session.status without a session name or with
    an unknown status raises ValueError (its message quotes nothing of the body)."""
    if data.get("event") != "session.status":
        return None
    name, payload = data.get("session"), data.get("payload")
    word = payload.get("status") if isinstance(payload, dict) else None
    if not isinstance(name, str) or not name.strip():
        raise ValueError("missing or invalid session")
    if word not in STATUSES:
        raise ValueError("missing or unknown status")
    me, at = data.get("me"), data.get("timestamp")
    return ProviderEvent(
        instance_id=name.strip(),
        status=STATUSES[word],
        phone_number=strict_phone(me.get("id")) if isinstance(me, dict) else None,
        reason="failed" if word == FAILED else None,
        at=int(at) if isinstance(at, (int, float)) and not isinstance(at, bool) and at > 0 else None,
    )


def _remote(info: dict, action: str, secrets: list[str]) -> RemoteInstance:
    """A SessionInfo read as an instance."""
    word, me = info.get("status"), info.get("me")
    if not info.get("name") or word is None:
        raise missing("name" if not info.get("name") else "status", action)
    if word not in STATUSES:
        shown = clean(str(word), secrets, limit=40)
        raise ProviderError(f"Status desconhecido retornado pelo provedor: {shown}", action=action, retryable=False)
    return RemoteInstance(
        instance_id=str(info["name"]),
        status=STATUSES[word],
        phone_number=normalize_phone(me.get("id")) if isinstance(me, dict) else None,
        reason="failed" if word == FAILED else None,
    )


def _carries_secret(hook: dict) -> bool:
    headers = hook.get("customHeaders") or []
    return any(isinstance(h, dict) and str(h.get("name", "")).lower() == SECRET_HEADER.lower() for h in headers)


def _path(instance_id: str) -> str:
    return quote(instance_id, safe="")
