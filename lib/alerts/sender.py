"""Sending alerts through Apprise, on a thread of its own, without letting a URL's credentials
reach a log line, an event or a screen.

Every send has a wall-clock limit per channel (SEND_LIMIT_SECONDS). Apprise's own timeouts are per
read, so a receiver that trickles its answer a byte at a time would hold a send for as long as it
liked. Each configured URL is therefore a channel of its own (its own Apprise object), sent on a
thread of its own that the sender waits for at most the limit: a slow channel neither delays nor
fails the others. A send that outlives the limit is abandoned where it is, and its channel answers
"sem resposta" until it ends: a channel that hangs for good holds a thread or two, never more.
"""

from __future__ import annotations

import logging
import queue
import threading
from concurrent.futures import Future, wait
from typing import Callable
from urllib.parse import parse_qsl, urlsplit

import apprise

from lib.alerts.message import Alert

log = logging.getLogger(__name__)

MAX_REASON = 200
SEND_LIMIT_SECONDS = 20.0  # per send, per channel, whatever the channel does
MAX_IN_FLIGHT = 2  # sends at once per channel: the monitor's and an admin's test
STILL_SENDING = "sem resposta (o envio anterior ainda não terminou)"


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


class _Channel:
    """One alert URL: its own Apprise object, and few sends in flight. Apprise runs a send on the
    thread start() gives it (service_timeout=0: not in Apprise's shared pool, where an abandoned
    send would keep a worker the other channels need). Sends may overlap (Apprise keeps a send's
    state per call): the monitor's and an admin's test, MAX_IN_FLIGHT at most; and while a send
    the sender gave up on still runs, the channel is not tried again."""

    def __init__(self, label: str, notifier: apprise.Apprise):
        self.label = label  # "Telegram", or "JSON 2" when there are several of a kind
        self._notifier = notifier
        self._lock = threading.Lock()
        self._running: set[Future] = set()
        self._abandoned: set[Future] = set()

    def start(self, alert: Alert) -> Future:
        """The send's outcome (None, or a reason); STILL_SENDING at once when it is not tried."""
        outcome: Future = Future()
        with self._lock:
            tried = not self._abandoned and len(self._running) < MAX_IN_FLIGHT
            if tried:
                self._running.add(outcome)
        if not tried:
            outcome.set_result(STILL_SENDING)
            return outcome

        def send() -> None:
            try:
                outcome.set_result(self._notify(alert))
            finally:
                with self._lock:
                    self._running.discard(outcome)
                    self._abandoned.discard(outcome)

        threading.Thread(target=send, name=f"alert-{self.label}", daemon=True).start()
        return outcome

    def abandon(self, outcome: Future) -> None:
        """The sender stopped waiting for this send: no other starts here until it ends."""
        with self._lock:
            if outcome in self._running:
                self._abandoned.add(outcome)

    def _notify(self, alert: Alert) -> str | None:
        try:
            result = self._notifier.notify(  # plain text, escaped by each plugin; no backslash escapes read
                title=alert.title, body=alert.body, body_format=apprise.NotifyFormat.TEXT, interpret_escapes=False)
        except Exception as exc:  # noqa: BLE001 - a plugin's bug must not end the monitor
            return f"erro interno do Apprise ({type(exc).__name__})"
        if result:
            return None
        return " ".join(entry.message for entry in result.logs()) or "o canal recusou a mensagem"


class AlertSender:
    """Sends through Apprise on its own thread (submit), or at once (send: the admin's test). Both
    wait for each channel at most `limit_seconds`."""

    def __init__(self, urls: tuple[str, ...], *, limit_seconds: float = SEND_LIMIT_SECONDS):
        self.limit_seconds = limit_seconds
        self._redact = _Redact([secret for url in urls for secret in url_secrets(url)])
        for logger in ("apprise", "urllib3.connectionpool"):  # urllib3 logs the request line at DEBUG
            logging.getLogger(logger).addFilter(self._redact)
        self._channels = self._open(urls)  # after the filter: Apprise logs a malformed credential while reading it
        self._queue: queue.Queue[tuple[Alert, Callable[[Alert, str | None], None]]] = queue.Queue()
        self._thread: threading.Thread | None = None

    @staticmethod
    def _open(urls: tuple[str, ...]) -> list[_Channel]:
        notifiers = []
        for url in urls:  # service_timeout=0: see _Channel; no ":x:" read as an emoji
            notifier = apprise.Apprise(asset=apprise.AppriseAsset(service_timeout=0, interpret_emojis=False))
            if notifier.add(url):
                notifiers.append(notifier)
        kinds = [next(iter(notifier)).service_name for notifier in notifiers]
        numbered = [kinds[:i].count(kind) + 1 if kinds.count(kind) > 1 else None for i, kind in enumerate(kinds)]
        return [_Channel(f"{kind} {n}" if n else kind, notifier)
                for kind, n, notifier in zip(kinds, numbered, notifiers)]

    def send(self, alert: Alert) -> str | None:
        """Send to every channel at once; None when all got it, else which failed and why (and
        which got it), short and without credentials."""
        if not self._channels:
            return "nenhum canal de alerta válido"
        outcomes = {channel: channel.start(alert) for channel in self._channels}
        wait(outcomes.values(), timeout=self.limit_seconds)
        expired = f"tempo esgotado após {self.limit_seconds:g} s".replace(".", ",")
        reasons = {}
        for channel, outcome in outcomes.items():
            done = outcome.done()
            if not done:
                channel.abandon(outcome)
            reasons[channel.label] = outcome.result() if done else expired
        failed = [f"{label}: {reason}" for label, reason in reasons.items() if reason]
        if not failed:
            return None
        delivered = [label for label, reason in reasons.items() if not reason]
        text = "; ".join(failed) + (f" (entregue: {', '.join(delivered)})" if delivered else "")
        text = self._redact.scrub(text)
        return text if len(text) <= MAX_REASON else text[: MAX_REASON - 1] + "…"

    def submit(self, alert: Alert, done: Callable[[Alert, str | None], None]) -> None:
        """Send on the sender's thread; `done(alert, reason)` is called there afterwards."""
        self._queue.put((alert, done))
        if self._thread is None:
            self._thread = threading.Thread(target=self._send_forever, name="alert-sender", daemon=True)
            self._thread.start()

    def channels(self) -> list[str]:
        """The kinds of channel configured ("Telegram", "JSON 1"…), never their URLs."""
        return [channel.label for channel in self._channels]

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
