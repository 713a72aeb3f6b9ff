"""Fake WhatsApp provider: the instances behind the sandbox's loopback HTTP server (server.py).

The QR returned by connect is a real PNG whose content is the loopback URL
``http://127.0.0.1:PORT/scan/<instance_id>/<nonce>``; opening it (GET) plays the part of a
phone scanning the code (``simulate_scan`` does the same in-process). Only the latest QR of an
instance scans, and only while it is younger than ``qr_ttl_seconds``; an instance left connecting
``abandon_seconds`` after its last QR expired falls back to disconnected, as WhatsApp gives up.
``simulate_drop`` plays a phone that lost WhatsApp.

A connect with ``phone_number`` (digits with the country code) answers an 8-character pairing
code instead of a QR; ``simulate_code`` plays that phone typing it (only the instance's latest
code, while younger than ``code_ttl_seconds``) and connects the instance with that number. A QR and
a code live side by side: asking for one leaves the other valid.

Like a real provider it persists (``state_path``: a restart keeps every instance) and pushes
status changes to the app's event endpoint once told where (``push_events_to``).
"""

from __future__ import annotations

import base64
import io
import logging
import secrets
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Callable

import qrcode

from lib.config.provider import WebhookSettings
from lib.provider.sandbox.instances import SandboxInstances
from lib.provider.sandbox.server import Handler, HttpError, Server, credentials, phone_number, result_page
from lib.provider.sandbox.state import STATUS_CONNECTED, STATUS_CONNECTING, STATUS_DISCONNECTED, Instance

logger = logging.getLogger(__name__)

DEFAULT_QR_TTL_SECONDS = 20.0
DEFAULT_CODE_TTL_SECONDS = 180.0  # the connect dialog keeps polling 2 minutes after a code is asked for
PAIRING_CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I/L to misread
DEFAULT_ABANDON_SECONDS = 60.0
DROP_REASON = "428"  # WhatsApp's "connection lost": what "Simular queda" plays


class SandboxProvider(SandboxInstances):
    """In-memory fake provider served over HTTP on a daemon thread."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        qr_ttl_seconds: float = DEFAULT_QR_TTL_SECONDS,
        code_ttl_seconds: float = DEFAULT_CODE_TTL_SECONDS,
        auto_scan_seconds: float | None = None,
        latency_ms: int = 0,
        abandon_seconds: float = DEFAULT_ABANDON_SECONDS,
        state_path: Path | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ):
        if qr_ttl_seconds <= 0:
            raise ValueError("qr_ttl_seconds must be positive")
        if code_ttl_seconds <= 0:
            raise ValueError("code_ttl_seconds must be positive")
        if auto_scan_seconds is not None and auto_scan_seconds < 0:
            raise ValueError("auto_scan_seconds must be >= 0")
        if latency_ms < 0:
            raise ValueError("latency_ms must be >= 0")
        super().__init__(qr_ttl_seconds=qr_ttl_seconds, code_ttl_seconds=code_ttl_seconds,
                         auto_scan_seconds=auto_scan_seconds, abandon_seconds=abandon_seconds,
                         state_path=state_path, clock=clock)
        self.host = host
        self.port = port
        self.latency_ms = int(latency_ms)
        self._sleep = sleep  # injectable so tests can prove concurrency without timing
        self._in_flight = 0
        self._max_in_flight = 0
        self._server: Server | None = None
        self._thread: threading.Thread | None = None
        self._stopped = threading.Event()

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> "SandboxProvider":
        """Bind and serve on a daemon thread; idempotent while running."""
        if self._server is not None:
            return self
        server = Server((self.host, self.port), Handler)
        server.provider = self
        self._server = server
        self.port = server.server_address[1]
        self._stopped.clear()
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, name=f"sandbox-{self.port}", daemon=True
        )
        self._thread.start()
        logger.debug("sandbox listening on %s", self.base_url)
        return self

    def stop(self) -> None:
        """Stop serving and close the socket; idempotent."""
        server, self._server = self._server, None
        if server is None:
            return
        self._stopped.set()
        server.shutdown()
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    @property
    def running(self) -> bool:
        return self._server is not None

    def __enter__(self) -> "SandboxProvider":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # ------------------------------------------------------------------ public helpers
    @property
    def base_url(self) -> str:
        if self._server is None:
            raise RuntimeError("sandbox not started")
        host = "127.0.0.1" if self.host in ("", "0.0.0.0") else self.host
        return f"http://{host}:{self.port}"

    def webhook_settings(self) -> WebhookSettings:
        return WebhookSettings.at(self.base_url, headers={"X-Api-Key": self.api_key})

    def scan_url(self, instance_id: str) -> str | None:
        """The URL encoded in the latest QR of the instance (None before any connect)."""
        with self._lock:
            inst = self._instances.get(instance_id)
            return inst.last_scan_url if inst else None

    def instance_count(self) -> int:
        with self._lock:
            return len(self._instances)

    def push_events_to(self, url: str, secret: str) -> None:
        """From now on, POST every status change to `url` (the app's /api/provider-events) with the
        secret in X-Webhook-Secret, as a provider's webhook would. Best effort: a lost push is made
        up for by the app's polling."""
        with self._lock:
            self._pusher.push_to(url, secret)

    def simulate_scan(self, instance_id: str) -> bool:
        """Play a phone scanning the latest QR of the instance; False when there is none to scan."""
        with self._lock:
            inst = self._instances.get(instance_id)
            if inst is None or inst.nonce is None:
                return False
            nonce = inst.nonce
        return self._scan(instance_id, nonce)[0] == 200

    def simulate_code(self, instance_id: str, code: str) -> bool:
        """Play the phone typing a pairing code (dash, spaces and case do not matter): only the
        instance's latest code, while younger than code_ttl_seconds, connects it, with the number
        the code was asked for. False for a wrong or expired code."""
        typed = "".join(code.split()).replace("-", "").upper().encode() if isinstance(code, str) else b""
        with self._lock:
            inst = self._instances.get(instance_id)
            if inst is None:
                return False
            now = self._clock()
            self._refresh(inst, now)
            valid = (
                inst.status == STATUS_CONNECTING
                and inst.pairing_code is not None
                and inst.code_issued_at is not None
                and now - inst.code_issued_at <= self.code_ttl_seconds
                and secrets.compare_digest(inst.pairing_code.encode(), typed)
            )
            if valid:
                self._mark_connected(inst, phone=inst.pairing_phone)
        return valid

    def simulate_drop(self, instance_id: str, reason: str = DROP_REASON) -> bool:
        """Play a connected phone losing WhatsApp: the instance goes disconnected by itself, and the
        push says why as WhatsApp's code ("428": the connection was lost)."""
        with self._lock:
            inst = self._instances.get(instance_id)
            if inst is None or inst.status != STATUS_CONNECTED:
                return False
            self._mark_disconnected(inst, reason=reason)
        return True

    # ------------------------------------------------------------------ what the HTTP layer calls (server.Actions)
    @property
    def stopped(self) -> bool:
        return self._stopped.is_set()

    @contextmanager
    def serving(self):
        self._enter_request()
        try:
            if self.latency_ms > 0:
                self._sleep(self.latency_ms / 1000.0)
            yield
        finally:
            self._leave_request()

    def answer(self, action: str, request: dict) -> tuple[int, dict]:
        handler = {"create": self._create, "connect": self._connect, "status": self._status,
                   "disconnect": self._disconnect, "delete": self._delete, "restart": self._restart,
                   "list": self._list}[action]
        return handler(request)

    def scan_page(self, instance_id: str, nonce: str) -> tuple[int, str]:
        return self._scan(instance_id, nonce)

    @property
    def max_in_flight(self) -> int:
        """Most webhook requests ever handled at the same time (for concurrency checks)."""
        with self._lock:
            return self._max_in_flight

    # ------------------------------------------------------------------ actions
    def _create(self, body: dict) -> tuple[int, dict]:
        name = body.get("name")
        if not isinstance(name, str) or not name.strip():
            raise HttpError(400, "missing or invalid field: name")
        token = secrets.token_urlsafe(24)
        with self._lock:
            instance_id = f"sbx-{secrets.token_hex(4)}"
            while instance_id in self._instances:
                instance_id = f"sbx-{secrets.token_hex(4)}"
            self._instances[instance_id] = Instance(instance_id=instance_id, token=token, name=name.strip())
            self._save()
        return 200, {"instance_id": instance_id, "token": token}

    def _connect(self, body: dict) -> tuple[int, dict]:
        """A QR, or with `phone_number` a pairing code for that number (the other stays valid)."""
        instance_id, token = credentials(body)
        phone = phone_number(body)
        nonce = secrets.token_urlsafe(8)
        with self._lock:
            inst = self._authorized(instance_id, token)
            now = self._clock()
            self._refresh(inst, now)
            if inst.status == STATUS_CONNECTED:
                raise HttpError(409, "instance already connected")
            if inst.status != STATUS_CONNECTING:
                inst.status = STATUS_CONNECTING
                self._changed(inst, push=False)  # asked by the app itself: nothing to tell it
            if inst.connecting_since is None:
                inst.connecting_since = now
            if phone is not None:
                code = "".join(secrets.choice(PAIRING_CODE_ALPHABET) for _ in range(8))
                inst.pairing_code, inst.pairing_phone, inst.code_issued_at = code, phone, now
                return 200, {"pairing_code": code}
            url = f"{self.base_url}/scan/{instance_id}/{nonce}"
            inst.nonce = nonce
            inst.qr_issued_at = now
            inst.last_scan_url = url
        return 200, {"qr_code_base64": _qr_png_base64(url)}

    def _status(self, query: dict[str, str]) -> tuple[int, dict]:
        instance_id = query.get("instance_id") or ""
        token = query.get("token") or ""
        if not instance_id:
            raise HttpError(400, "missing or invalid field: instance_id")
        if not token:
            raise HttpError(400, "missing or invalid field: token")
        with self._lock:
            inst = self._authorized(instance_id, token)
            self._refresh(inst, self._clock())
            payload: dict = {"status": inst.status}
            if inst.status == STATUS_CONNECTED:
                payload["phone_number"] = inst.phone_number
        return 200, payload

    def _disconnect(self, body: dict) -> tuple[int, dict]:
        instance_id, token = credentials(body)
        with self._lock:
            inst = self._authorized(instance_id, token)
            if inst.status == STATUS_DISCONNECTED:
                self._forget_qr(inst)
            else:
                self._mark_disconnected(inst, push=False)  # asked by the app itself: nothing to tell it
        return 200, {"success": True}

    def _delete(self, body: dict) -> tuple[int, dict]:
        instance_id, token = credentials(body)
        with self._lock:
            inst = self._authorized(instance_id, token)
            self._phones.discard(inst.phone_number or "")
            del self._instances[instance_id]
            self._save()
        return 200, {"success": True}

    def _restart(self, body: dict) -> tuple[int, dict]:
        """Like a real provider's restart: the session comes back as it was (a connected number stays
        connected; one waiting for a QR gets a new QR on its next connect)."""
        instance_id, token = credentials(body)
        with self._lock:
            inst = self._authorized(instance_id, token)
            if inst.status == STATUS_CONNECTING:
                inst.nonce = inst.qr_issued_at = None
        return 200, {"success": True}

    def _list(self, query: dict[str, str]) -> tuple[int, dict]:
        if not secrets.compare_digest((query.get("api_key") or "").encode(), self.api_key.encode()):
            raise HttpError(401, "invalid api key")
        with self._lock:
            for inst in self._instances.values():
                self._refresh(inst, self._clock())
            instances = [{"instance_id": i.instance_id, "token": i.token, "name": i.name, "status": i.status,
                          "phone_number": i.phone_number} for i in self._instances.values()]
        return 200, {"instances": instances}

    def _scan(self, instance_id: str, nonce: str) -> tuple[int, str]:
        with self._lock:
            inst = self._instances.get(instance_id)
            if inst is None:
                return 404, result_page("Instância não encontrada", "Este QR não pertence a nenhuma instância.")
            now = self._clock()
            self._refresh(inst, now)
            if inst.status == STATUS_CONNECTED:
                return 409, result_page("Instância já conectada", "Este QR não é mais necessário.")
            fresh = (
                inst.nonce is not None
                and secrets.compare_digest(inst.nonce, nonce)
                and inst.qr_issued_at is not None
                and now - inst.qr_issued_at <= self.qr_ttl_seconds
            )
            if not fresh:
                return 410, result_page("QR expirado", "Este QR expirou ou foi substituído. Gere um novo QR e tente de novo.")
            self._mark_connected(inst)
            phone = inst.phone_number
        return 200, result_page("QR lido — instância conectada", f"Número conectado: {phone}")

    # ------------------------------------------------------------------ internals
    def _authorized(self, instance_id: str, token: str) -> Instance:
        inst = self._instances.get(instance_id)
        if inst is None:
            raise HttpError(404, "instance not found")
        if not secrets.compare_digest(inst.token.encode(), token.encode()):
            raise HttpError(401, "invalid token")
        return inst

    def _enter_request(self) -> None:
        with self._lock:
            self._in_flight += 1
            self._max_in_flight = max(self._max_in_flight, self._in_flight)

    def _leave_request(self) -> None:
        with self._lock:
            self._in_flight -= 1


# ---------------------------------------------------------------------- helpers
def _qr_png_base64(text: str) -> str:
    buf = io.BytesIO()
    qrcode.make(text).save(buf, format="PNG")
    return base64.b64encode(buf.getvalue()).decode("ascii")
