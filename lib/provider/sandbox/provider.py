"""Fake WhatsApp provider: its instances (instances.py) and their webhook actions (actions.py) served
by the sandbox's loopback HTTP server (server.py), and the phone's part played in-process.

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

import logging
import secrets
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Callable

from lib.config.provider import WebhookSettings
from lib.provider.sandbox.actions import WebhookActions
from lib.provider.sandbox.server import Handler, Server
from lib.provider.sandbox.state import STATUS_CONNECTED, STATUS_CONNECTING

logger = logging.getLogger(__name__)

DEFAULT_QR_TTL_SECONDS = 20.0
DEFAULT_CODE_TTL_SECONDS = 180.0  # the connect dialog keeps polling 2 minutes after a code is asked for
DEFAULT_ABANDON_SECONDS = 60.0
DROP_REASON = "428"  # WhatsApp's "connection lost": what "Simular queda" plays


class SandboxProvider(WebhookActions):
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

    # ------------------------------------------------------------------ what the HTTP layer calls besides the actions
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

    @property
    def max_in_flight(self) -> int:
        """Most webhook requests ever handled at the same time (for concurrency checks)."""
        with self._lock:
            return self._max_in_flight

    def _enter_request(self) -> None:
        with self._lock:
            self._in_flight += 1
            self._max_in_flight = max(self._max_in_flight, self._in_flight)

    def _leave_request(self) -> None:
        with self._lock:
            self._in_flight -= 1

