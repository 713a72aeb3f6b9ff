"""The composition root: the process-wide parts of the app, built once per configuration. They hold
no user's session: everything tied to a signed-in user lives in that browser session's state (see
lib.ui.signed_in), and signing in is lib.auth.signin's."""

from __future__ import annotations

import gc
import logging
import threading
from dataclasses import dataclass, field
from datetime import timedelta
from functools import cached_property
from typing import Callable

import httpx

from lib.alerts.rules import AlertRules
from lib.alerts.sender import AlertSender
from lib.auth.accounts import LocalAccounts
from lib.auth.local_mode import LocalMode
from lib.auth.sessions import CookieHandoff, SessionStore
from lib.auth.signin import SignIn
from lib.auth.throttle import LoginThrottle
from lib.config.settings import Settings
from lib.errors import StoreError
from lib.instances import InstanceService
from lib.models import User
from lib.monitor import StatusMonitor
from lib.private_files import generated_secret
from lib.drop_notices import DropNotices
from lib.event_inbox import PushedQrs, UnknownInstances
from lib.event_registration import EventsTarget, register_all
from lib.provider.base import EVENTS, Provider
from lib.provider.configured import configured_provider
from lib.provider.sandbox.provider import SandboxProvider
from lib.provider.sandbox.shared import shared_sandbox
from lib.store.base import InstanceStore, ServerStore
from lib.store.recovery import CredentialRecovery
from lib.store.sqlite.database import SQLiteDatabase
from lib.store.sqlite.instances import SQLiteInstanceStore

log = logging.getLogger(__name__)

MONITOR_OFF_NO_SERVICE_KEY = (
    "O monitor de status está desligado: defina SUPABASE_SERVICE_ROLE_KEY (ou service_role_key na seção "
    "[supabase] do secrets.toml) no servidor para que os status sejam verificados sem ninguém clicar."
)
MONITOR_OFF_BY_SETTING = "O monitor de status está desligado (monitor.interval_seconds = 0)."


@dataclass
class AppContext:
    settings: Settings
    sandbox: SandboxProvider | None  # the built-in provider's server, when it is the provider
    recovery: CredentialRecovery
    database: SQLiteDatabase | None  # the embedded store; None in Supabase mode
    accounts: LocalAccounts | None
    sessions: SessionStore  # the server's sessions (in the embedded file, or a local one in Supabase mode)
    handoff: CookieHandoff
    # The secret providers send to /api/provider-events: configured, or made up for the sandbox
    # (which is told it). None: the endpoint is off.
    events_secret: str | None = field(default=None, repr=False)
    # The local accounts' throttle (embedded), or the one before Supabase Auth.
    login_throttle: LoginThrottle = field(default_factory=LoginThrottle)
    monitor: StatusMonitor | None = None  # set by start_monitor() (the server's lifespan)
    unknown_events: UnknownInstances = field(default_factory=UnknownInstances)
    pushed_qrs: PushedQrs = field(default_factory=PushedQrs)
    drop_notices: DropNotices = field(default_factory=DropNotices)  # the drop banners of each sign-in
    _alert_sender: AlertSender | None = field(default=None, repr=False)
    _server_store: ServerStore | None = field(default=None, repr=False)

    @property
    def mode_label(self) -> str:
        return self.settings.mode_label

    @cached_property
    def signin(self) -> SignIn:
        """Signing in, for this configuration's accounts: the local ones (embedded default) or
        Supabase Auth's (imported only then: supabase-py is slow to import)."""
        if self.accounts is not None:
            mode = LocalMode(self.accounts, self.database, self.sessions, data_dir=self.settings.data_dir,
                             label=self.mode_label)
        else:
            from lib.auth.supabase_mode import SupabaseMode

            mode = SupabaseMode(self.settings.supabase, self.login_throttle, self.sessions, self.server_store,
                                label=self.mode_label)
        return SignIn(mode, self.sessions, self.handoff, services=self.instance_service,
                      provider_configured=self.settings.sso is not None)

    def instance_service(self, user: User, store: InstanceStore,
                         current_user: Callable[[], User | None]) -> InstanceService:
        """A service for one signed-in session (lib.auth.signin.SignIn.service): `store` as that
        person reaches it, `current_user` how it reads the user again before every change."""
        return InstanceService(store, self.provider(), user, self.recovery, current_user, events=self.events_target)

    @property
    def events_target(self) -> EventsTarget | None:
        """Where providers that take an event URL push (lib.event_registration); None without
        APP_PUBLIC_URL, or for the sandbox (it is told this server's own loopback URL instead)."""
        if self.sandbox is not None:
            return None
        return EventsTarget.of(self.settings.public_url, self.events_secret)

    def register_all_events(self) -> None:
        """At start: the app's event URL for every instance, at providers that take one."""
        store, provider, target = self.server_store(), self.provider(), self.events_target
        if store is None or target is None or EVENTS not in provider.capabilities:
            return
        results = register_all(store, provider, store.instances_with_tokens(), target)
        failed = [instance for instance, error in results if error]
        log.info("provider events registered for %d instances, %d failed", len(results) - len(failed), len(failed))

    def provider(self) -> Provider:
        """A client of the configured provider (one per service and one for the monitor)."""
        return configured_provider(self.settings.provider, self.settings.webhooks, self.sandbox)

    def server_store(self) -> ServerStore | None:
        """The store with the server's rights (monitor, provider events, single sign-on's roles), one
        per process (the Supabase one holds a connection pool, safe between threads); None in Supabase
        mode without the service-role key."""
        if self._server_store is None:
            if self.database is not None:
                self._server_store = SQLiteInstanceStore(self.database)
            elif self.settings.supabase.service_role_key:
                from lib.store.supabase.server import SupabaseServerStore

                self._server_store = SupabaseServerStore(self.settings.supabase)
        return self._server_store

    @property
    def monitor_off_reason(self) -> str | None:
        """Why the status monitor does not run with these settings (shown to admins), or None."""
        if self.settings.monitor_interval_seconds == 0:
            return MONITOR_OFF_BY_SETTING
        if self.settings.supabase and not self.settings.supabase.service_role_key:
            return MONITOR_OFF_NO_SERVICE_KEY
        return None

    def start_monitor(self) -> StatusMonitor | None:
        """Start this process's status monitor, once (the server's lifespan calls it), with the
        alerts when some are configured."""
        store = self.server_store()
        if self.monitor is None and self.monitor_off_reason is None and store is not None:
            self.monitor = StatusMonitor(
                store,
                self.provider(),
                interval_seconds=self.settings.monitor_interval_seconds,
                alerts=self.alert_rules(store),
                retention_days=self.settings.retention_days,
            ).start()
        return self.monitor

    def alert_rules(self, store: ServerStore) -> AlertRules | None:
        alerts = self.settings.alerts
        if not alerts.enabled:
            return None
        return AlertRules(store, alerts, self.alert_sender(), public_url=self.settings.public_url)

    def alert_sender(self) -> AlertSender | None:
        """This configuration's sender (one per process: it owns the sending thread)."""
        if self._alert_sender is None and self.settings.alerts.enabled:
            self._alert_sender = AlertSender(self.settings.alerts.urls)
        return self._alert_sender

    def stop_monitor(self) -> None:
        if self.monitor is not None:
            self.monitor.stop()
            self.monitor = None

    def store_reachable(self) -> bool:
        """One tiny request to the store (for the health route)."""
        try:
            if self.database is not None:
                with self.database.connect() as conn:
                    conn.execute("select 1").fetchone()
                return True
            supabase = self.settings.supabase
            reply = httpx.get(f"{supabase.url}/rest/v1/", headers={"apikey": supabase.anon_key}, timeout=5)
            return reply.status_code < 500
        except (StoreError, httpx.HTTPError):
            return False


_contexts: dict[str, AppContext] = {}
_contexts_lock = threading.Lock()
_heap_frozen = False
_freeze_lock = threading.Lock()


def app_context(settings: Settings) -> AppContext:
    """The context for these settings, built on first use (tests run several configurations
    in one process, hence the key)."""
    key = settings.cache_key()
    with _contexts_lock:
        if key not in _contexts:
            _contexts[key] = _build(settings)
        return _contexts[key]


def _build(settings: Settings) -> AppContext:
    sandbox = shared_sandbox(settings.data_dir) if settings.provider.kind == "sandbox" else None
    local = SQLiteDatabase.in_dir(settings.data_dir)  # Supabase mode keeps only the sessions in it
    database = None if settings.supabase else local
    throttle = LoginThrottle()
    return AppContext(
        settings=settings,
        sandbox=sandbox,
        recovery=CredentialRecovery(settings.data_dir),
        database=database,
        accounts=LocalAccounts(database, throttle) if database else None,
        sessions=SessionStore(local, idle=timedelta(hours=settings.session_idle_hours),
                              absolute=timedelta(days=settings.session_absolute_days)),
        handoff=CookieHandoff(),
        login_throttle=throttle,
        events_secret=_events_secret(settings),
    )


def _events_secret(settings: Settings) -> str | None:
    """The secret of /api/provider-events: configured; else, for every provider but the webhook
    contract's, one the app made and keeps in the data folder (so a restart keeps pushes working);
    None for webhooks without EVENTS_SECRET (the endpoint answers 404, as it always did)."""
    if settings.events_secret:
        return settings.events_secret
    return None if settings.provider.kind == "webhooks" else generated_secret(settings.data_dir)


def freeze_startup_heap() -> None:
    """Once per process, after the imports and the context: move every object alive now out of the
    garbage collector's reach (gc.freeze). Streamlit runs a full collection after every script run,
    fragment runs included (each 3-second tick of the connect dialog); over the ~150k long-lived
    objects of streamlit, pandas and the app's modules that costs ~100 ms of CPU per run with the
    GIL held, stalling every session. Frozen, a collection scans only what the runs created.
    (gc.get_freeze_count() would do as the guard, but it counts the objects one by one.)"""
    global _heap_frozen
    if _heap_frozen:
        return
    with _freeze_lock:
        if not _heap_frozen:
            gc.collect()  # nothing that is garbage already gets frozen
            gc.freeze()
            _heap_frozen = True
