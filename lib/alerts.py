"""Alerts through the channels the team already uses, by Apprise (Telegram, Slack, Teams, e-mail,
ntfy, generic JSON webhooks and ~100 more): the Apprise URLs in `[alerts] urls` (ALERT_URLS).

What is sent (each kind can be turned off with `[alerts] on`):
- `dropped`: a connected instance seen disconnected by two consecutive checks of the monitor (the
  one that found it and a confirmation a few seconds later), or at once by a provider event;
- `recovered`: connected again after a drop that was alerted;
- `stuck_connecting`: connecting for more than STUCK_AFTER;
- `unstable`: UNSTABLE_DROPS drops in UNSTABLE_WINDOW send this one alert instead of one per drop.
At most one alert per instance and kind per cooldown (15 min by default).

Only the process that holds the monitor's lease decides and sends (lib.monitor drives AlertRules),
reading the history for what happened, so several replicas never send twice and a drop pushed to
any replica is seen. Sending happens on its own thread: a receiver that hangs never delays a
sweep. Every outcome is written to the history (`alert_sent` / `alert_failed`, with the reason);
Apprise URLs hold credentials, so they never reach a log line, an event or a screen.
"""

from __future__ import annotations

import logging
import queue
import re
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Callable
from urllib.parse import parse_qsl, urlsplit

import apprise

from lib import history
from lib.config.settings import AlertSettings
from lib.errors import AppError
from lib.models import Instance, InstanceEvent, User
from lib.presentation import format_phone, format_time

log = logging.getLogger(__name__)

ALERT_LABELS = {
    "dropped": "queda",
    "recovered": "volta",
    "stuck_connecting": "presa conectando",
    "unstable": "instável",
    "test": "teste",
}
STUCK_AFTER = timedelta(minutes=10)
UNSTABLE_DROPS = 4
UNSTABLE_WINDOW = timedelta(hours=1)
CONFIRM_SECONDS = 15.0  # the second check of a drop the monitor found
MAX_REASON = 200


@dataclass(frozen=True)
class Alert:
    kind: str
    title: str
    body: str
    instance: Instance | None = None


def _when(value: datetime, now: datetime) -> str:
    return format_time(value, now)


def compose(kind: str, instance: Instance | None, *, now: datetime, public_url: str | None = None,
            drops: int = 0, down_since: datetime | None = None) -> Alert:
    """The pt-BR message: name, number, what happened, since when, and the dashboard's link."""
    link = f"\nPainel: {public_url}" if public_url else ""
    if instance is None:
        return Alert(kind, "Alerta de teste do painel de instâncias WhatsApp",
                     "Se você recebeu esta mensagem, os alertas do painel estão funcionando." + link)
    name = instance.name
    number = format_phone(instance.phone_number or instance.last_phone_number) or "desconhecido"
    since = instance.status_changed_at or now
    if kind == "dropped":
        title = f"WhatsApp caiu: {name}"
        body = f"A instância {name} (número {number}) está desconectada desde {_when(since, now)}."
    elif kind == "recovered":
        title = f"WhatsApp voltou: {name}"
        outage = f", depois de {_duration(since - down_since)} fora do ar" if down_since else ""
        body = f"A instância {name} (número {number}) conectou de novo às {_when(since, now)}{outage}."
    elif kind == "stuck_connecting":
        title = f"Instância parada em Conectando: {name}"
        body = (f"A instância {name} aguarda a leitura do QR Code desde {_when(since, now)} "
                f"(há {_duration(now - since)}).")
    else:
        title = f"Instância instável: {name}"
        body = f"A instância {name} (número {number}) caiu {drops} vezes na última hora."
    return Alert(kind, title, body + link, instance)


def _duration(delta: timedelta) -> str:
    minutes = max(1, int(delta.total_seconds() // 60))
    return f"{minutes} min" if minutes < 60 else f"{minutes // 60} h {minutes % 60:02d} min"


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


def record_outcome(store, alert: Alert, reason: str | None, *, actor: User | None = None) -> None:
    """alert_sent / alert_failed in the history; the detail names the kind first (see AlertRules).
    `actor`: the admin who sent a test; None for the monitor's alerts."""
    label = ALERT_LABELS[alert.kind]
    instance = alert.instance
    history.record(store, InstanceEvent(
        instance_id=instance.id if instance else None,
        instance_name=instance.name if instance else "(teste de alerta)",
        kind="alert_failed" if reason else "alert_sent",
        source="user" if actor else "monitor",
        phone_number=(instance.phone_number or instance.last_phone_number) if instance else None,
        actor_id=actor.id if actor else None,
        actor_email=actor.email if actor else None,
        detail=f"{label}: {reason}" if reason else f"{label}: {alert.title}",
    ))
    if reason:
        log.warning("alert %s not sent: %s", alert.kind, reason)


def alert_banner(store) -> InstanceEvent | None:
    """The last alert outcome when it was a failure (admins see it until the next success)."""
    latest = store.events(kinds=["alert_sent", "alert_failed"], limit=1)
    return latest[0] if latest and latest[0].kind == "alert_failed" else None


class AlertRules:
    """Decides what to send. Fed by the monitor of the lease holder: poll() reads the history
    written since the last call (whoever wrote it, in whichever replica), after_check() sees the
    rows as a sweep (or a confirmation check) left them."""

    def __init__(self, store, settings: AlertSettings, sender: AlertSender, *, public_url: str | None = None,
                 clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc)):
        self.store = store
        self.settings = settings
        self.sender = sender
        self.public_url = public_url
        self.clock = clock
        self._cursor: int | None = None
        self._pending: dict[str, Instance] = {}  # found dropped by a check: confirmed by the next one
        self._down_since: dict[str, datetime] = {}  # a drop was alerted: the next connection is news
        self._stuck: dict[str, datetime] = {}  # stuck connecting, alerted for this status_changed_at
        self._last_sent: dict[tuple[str, str], datetime] = {}

    @property
    def pending(self) -> list[Instance]:
        return list(self._pending.values())

    def start(self) -> None:
        """(Re)start from now: what happened before is not news. The cooldowns of alerts already
        sent (by this process or another replica) are read back from the history."""
        self._cursor = self.store.last_event_id()
        since = self.clock() - self._cooldown
        for event in self.store.events(kinds=["alert_sent"], since=since):
            kind = next((k for k, label in ALERT_LABELS.items() if (event.detail or "").startswith(label + ":")), None)
            if kind and event.instance_id:
                self._last_sent[(event.instance_id, kind)] = event.created_at

    def poll(self) -> None:
        """Read the history since the last call and act on it."""
        if self._cursor is None:
            self.start()
            return
        for event in self.store.events(after_id=self._cursor, oldest_first=True):
            self._cursor = max(self._cursor, event.id)
            self._on_event(event)

    def after_check(self, instances: list[Instance]) -> None:
        """The rows as a check just left them. The check is the second one for the drops found
        before it: still disconnected means down."""
        now = self.clock()
        by_id = {i.id: i for i in instances}
        for instance_id in list(self._pending):
            current = by_id.get(instance_id)
            if current is None:
                continue
            del self._pending[instance_id]
            if current.status == "disconnected":
                self._drop(current)
        for instance in instances:
            since = instance.status_changed_at
            if instance.status != "connecting" or since is None:
                self._stuck.pop(instance.id, None)
            elif now - since > STUCK_AFTER and self._stuck.get(instance.id) != since:
                self._stuck[instance.id] = since
                self._send("stuck_connecting", instance)

    # -- rules -------------------------------------------------------------------------------
    def _on_event(self, event: InstanceEvent) -> None:
        if event.kind == "dropped":
            instance = self._instance(event.instance_id)
            if instance is None or instance.status != "disconnected":
                return  # back already (or deleted): nothing to say
            if event.source == "provider_event":
                self._drop(instance)
            else:
                self._pending[instance.id] = instance
        elif event.kind == "connected" and event.instance_id in self._down_since:
            down_since = self._down_since.pop(event.instance_id)
            instance = self._instance(event.instance_id)
            if instance is not None and not self._unstable(instance.id):
                self._send("recovered", instance, down_since=down_since)
        elif event.kind == "deleted":
            for table in (self._pending, self._down_since, self._stuck):
                table.pop(event.instance_id, None)

    def _drop(self, instance: Instance) -> None:
        drops = self._unstable(instance.id)
        told = self._send("unstable", instance, drops=drops) if drops else self._send("dropped", instance)
        if told:  # its end will be news too
            self._down_since[instance.id] = instance.status_changed_at or self.clock()

    def _unstable(self, instance_id: str) -> int:
        """The drops of the last hour, when they make the instance unstable; else 0."""
        recent = self.store.events(instance_ids=[instance_id], kinds=["dropped"], since=self.clock() - UNSTABLE_WINDOW)
        return len(recent) if len(recent) >= UNSTABLE_DROPS else 0

    def _instance(self, instance_id: str | None) -> Instance | None:
        try:
            return self.store.get_instance(instance_id) if instance_id else None
        except AppError:
            return None

    @property
    def _cooldown(self) -> timedelta:
        return timedelta(minutes=self.settings.cooldown_minutes)

    def _send(self, kind: str, instance: Instance, **details) -> bool:
        """Send unless the kind is off or was sent for this instance within the cooldown. True when
        the team has been told (now or within the cooldown)."""
        if ("dropped" if kind == "unstable" else kind) not in self.settings.on:
            return False
        now = self.clock()
        last = self._last_sent.get((instance.id, kind))
        if last is not None and now - last < self._cooldown:
            return True
        self._last_sent[(instance.id, kind)] = now
        alert = compose(kind, instance, now=now, public_url=self.public_url, **details)
        self.sender.submit(alert, lambda sent, reason: record_outcome(self.store, sent, reason))
        return True
