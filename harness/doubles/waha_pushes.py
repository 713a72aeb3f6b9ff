"""The WAHA double's pushes: a `session.status` event as WAHA builds it, and its delivery to a
session's webhooks with their headers (one sender thread, in order, as the events happened)."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import queue
import secrets
import threading
import time
import urllib.request

logger = logging.getLogger(__name__)

ENGINE, VERSION = "NOWEB", "2025.4.2"


def session_status_event(name: str, status: str, *, at_ms: int, statuses: list[dict], me: dict | None,
                         metadata: dict | None, tier: str) -> dict:
    """WAHAWebhookSessionStatus: webhooks.dto.ts:94-142 (waha@55fc6a4) with the newest
    populateSessionInfo's `id` and `timestamp` (ms) and the docs' `payload.statuses` (the last 3)."""
    body = {"id": f"evt_{secrets.token_hex(13)}", "timestamp": at_ms, "event": "session.status", "session": name,
            "me": me, "payload": {"name": name, "status": status, "statuses": statuses}, "engine": ENGINE,
            "environment": {"version": VERSION, "engine": ENGINE, "tier": tier}}
    if metadata is not None:
        body["metadata"] = metadata
    return body


class Pusher:
    """Sends each event to the webhooks that asked for it (`events` holds "session.status" or "*"),
    with WAHA's headers (docs events "Headers"), the hook's `customHeaders` and, with `hmac.key`,
    X-Webhook-Hmac (sha512; hex digest UNCONFIRMED). One attempt each: `retries` is not modelled."""

    def __init__(self):
        self._queue: queue.Queue = queue.Queue()
        self._thread = threading.Thread(target=self._loop, name="waha-double-pushes", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._queue.put(None)
        self._thread.join(timeout=10)

    def wait(self) -> None:
        """Returns once every event queued so far was delivered (or failed)."""
        self._queue.join()

    def send(self, hooks: list[dict], body: dict) -> None:
        for hook in hooks:
            if {"session.status", "*"} & set(hook.get("events") or []):
                self._queue.put((hook, body))

    def _loop(self) -> None:
        while (item := self._queue.get()) is not None:
            try:
                self._deliver(*item)
            finally:
                self._queue.task_done()

    def _deliver(self, hook: dict, body: dict) -> None:
        data = json.dumps(body).encode()
        headers = {"Content-Type": "application/json", "User-Agent": f"WAHA/{VERSION}",
                   "X-Webhook-Request-Id": body["id"], "X-Webhook-Timestamp": str(int(time.time() * 1000))}
        key = (hook.get("hmac") or {}).get("key")
        if key:
            headers["X-Webhook-Hmac"] = hmac.new(key.encode(), data, hashlib.sha512).hexdigest()
            headers["X-Webhook-Hmac-Algorithm"] = "sha512"
        headers.update({h["name"]: h["value"] for h in hook.get("customHeaders") or []})
        request = urllib.request.Request(hook["url"], data, headers, method="POST")
        try:
            urllib.request.urlopen(request, timeout=5).close()
        except OSError as exc:  # WAHA logs a failed webhook and goes on
            logger.debug("waha double: a push failed: %s", type(exc).__name__)
