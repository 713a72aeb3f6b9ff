"""Sending alerts through Apprise, on a thread of its own, without letting a URL's credentials
reach a log line, an event or a screen."""

from __future__ import annotations

import logging
import queue
import re
import threading
from typing import Callable
from urllib.parse import parse_qsl, urlsplit

import apprise

from lib.alerts.message import Alert

log = logging.getLogger(__name__)

MAX_REASON = 200


class _Redact(logging.Filter):
    """Takes the credentials of the configured URLs out of Apprise's (and urllib3's) log lines."""

    def __init__(self, secrets: list[str]):
        super().__init__()
        self.secrets = sorted(set(secrets), key=len, reverse=True)

    def scrub(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, "***")
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        scrubbed = self.scrub(message)
        if scrubbed != message:
            record.msg, record.args = scrubbed, ()
        return True


def url_secrets(url: str) -> list[str]:
    """The parts of an Apprise URL that may be credentials: the whole URL, its user and password, a
    host that is not a host name (Telegram's bot token), path segments and query values."""
    parts = urlsplit(url)
    found = [url, parts.username or "", parts.password or ""]
    host = parts.netloc.rsplit("@", 1)[-1]
    if "." not in host:  # "123456789:AAH…" (Telegram's bot token), and its parts
        found += [host, *host.split(":")]
    found += [segment for segment in parts.path.split("/") if len(segment) >= 6]
    found += [value for _, value in parse_qsl(parts.query) if len(value) >= 6]
    return [value for value in found if len(value) >= 4]


class AlertSender:
    """Sends through Apprise on its own thread (submit), or at once (send: the admin's test)."""

    _send_lock = threading.Lock()  # Apprise's log capture is process-wide: one send at a time

    def __init__(self, urls: tuple[str, ...]):
        self._redact = _Redact([secret for url in urls for secret in url_secrets(url)])
        for logger in ("apprise", "urllib3.connectionpool"):  # urllib3 logs the request line at DEBUG
            logging.getLogger(logger).addFilter(self._redact)
        self._apprise = apprise.Apprise()
        for url in urls:  # after the filter: Apprise logs a malformed credential while reading it
            self._apprise.add(url)
        self._queue: queue.Queue[tuple[Alert, Callable[[Alert, str | None], None]]] = queue.Queue()
        self._thread: threading.Thread | None = None

    def send(self, alert: Alert) -> str | None:
        """Send now; None on success, else a short reason without credentials."""
        with self._send_lock, apprise.LogCapture(level=logging.WARNING) as logs:
            try:
                sent = bool(self._apprise.notify(title=alert.title, body=alert.body))
                reason = "" if sent else logs.getvalue()
            except Exception as exc:  # noqa: BLE001 - a plugin's bug must not end the monitor
                sent, reason = False, f"erro interno do Apprise ({type(exc).__name__})"
        if sent:
            return None
        lines = [re.sub(r"^\S+ \S+ - \w+ - ", "", line) for line in reason.splitlines() if line.strip()]
        text = self._redact.scrub(" ".join(lines) or "o canal recusou a mensagem")
        return text if len(text) <= MAX_REASON else text[: MAX_REASON - 1] + "…"

    def submit(self, alert: Alert, done: Callable[[Alert, str | None], None]) -> None:
        """Send on the sender's thread; `done(alert, reason)` is called there afterwards."""
        self._queue.put((alert, done))
        if self._thread is None:
            self._thread = threading.Thread(target=self._send_forever, name="alert-sender", daemon=True)
            self._thread.start()

    def channels(self) -> list[str]:
        """The kinds of channel configured ("Telegram", "JSON"…), never their URLs."""
        return [service.service_name for service in self._apprise]

    def idle(self) -> bool:
        return self._queue.unfinished_tasks == 0

    def _send_forever(self) -> None:
        while True:
            alert, done = self._queue.get()
            try:
                done(alert, self.send(alert))
            except Exception:  # noqa: BLE001 - keep sending the next ones
                log.exception("alert outcome not recorded")
            finally:
                self._queue.task_done()
