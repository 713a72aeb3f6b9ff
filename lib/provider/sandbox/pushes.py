"""The sandbox's pushes: status changes POSTed to the app's event endpoint, as a provider's webhook
would, in order, on a daemon thread."""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
import urllib.error
import urllib.request

from lib.provider.sandbox.state import Instance

logger = logging.getLogger(__name__)

PUSH_TIMEOUT_SECONDS = 5.0


class Pusher:
    """Pushes nothing until told where (push_to). Not locked itself: its owner calls push_to and
    push under its own lock."""

    def __init__(self) -> None:
        self._target: tuple[str, str] | None = None  # (events URL, secret)
        self._pushes: queue.Queue[dict] = queue.Queue()
        self._pushed_at = 0  # the time (ms) of the last change pushed
        self._thread: threading.Thread | None = None

    def push_to(self, url: str, secret: str) -> None:
        """From now on, POST every change pushed to `url` with the secret in X-Webhook-Secret."""
        self._target = (url, secret)
        if self._thread is None:
            self._thread = threading.Thread(target=self._push_forever, name="sandbox-push", daemon=True)
            self._thread.start()

    def push(self, inst: Instance, reason: str | None = None) -> None:
        """Tell the app the instance's status, when it asked for pushes (with the time it changed,
        which orders the app's events, and why, for a drop)."""
        if self._target is None:
            return
        self._pushed_at = max(time.time_ns() // 1_000_000, self._pushed_at + 1)  # two changes never share one
        change = {"instance_id": inst.instance_id, "status": inst.status, "phone_number": inst.phone_number,
                  "timestamp": self._pushed_at}
        self._pushes.put({**change, "reason": reason} if reason else change)

    def _push_forever(self) -> None:
        while True:
            change = self._pushes.get()
            url, secret = self._target
            request = urllib.request.Request(
                url, data=json.dumps(change).encode(), method="POST",
                headers={"Content-Type": "application/json", "X-Webhook-Secret": secret},
            )
            try:
                urllib.request.urlopen(request, timeout=PUSH_TIMEOUT_SECONDS).close()
            except (urllib.error.URLError, OSError) as exc:
                logger.info("sandbox: push of a status change failed (%s)", type(exc).__name__)
