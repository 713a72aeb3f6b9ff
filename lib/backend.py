"""Process-wide parts of the app, built once per configuration. They hold no user's session:
everything tied to a signed-in user lives in that browser session's state (see lib.ui.session)."""

from __future__ import annotations

import gc
import threading
from dataclasses import dataclass

from lib.config import Settings, WebhookSettings
from lib.instances import InstanceService
from lib.models import User
from lib.store.recovery import CredentialRecovery
from lib.provider.sandbox import SandboxProvider, shared_sandbox
from lib.store.sqlite import SQLiteDatabase, SQLiteInstanceStore
from lib.store.base import InstanceStore
from lib.auth.accounts import LocalAccounts
from lib.provider.webhooks import WebhookClient


@dataclass
class AppContext:
    settings: Settings
    webhook_settings: WebhookSettings
    sandbox: SandboxProvider | None  # set when no webhook URL is configured
    recovery: CredentialRecovery
    database: SQLiteDatabase | None  # the embedded store; None in Supabase mode
    accounts: LocalAccounts | None

    @property
    def mode_label(self) -> str:
        storage = "Supabase" if self.settings.supabase else "banco local SQLite"
        provider = "provedor sandbox (simulado)" if self.sandbox else "webhooks configurados"
        return f"{storage} + {provider}"

    def service(self, user: User, store: InstanceStore | None = None) -> InstanceService:
        """A service for one signed-in session; `store` is that session's Supabase store, or
        None for the embedded SQLite store."""
        store = store or SQLiteInstanceStore(self.database)
        return InstanceService(store, WebhookClient(self.webhook_settings), user, self.recovery)


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
    sandbox = None if settings.webhooks else shared_sandbox()
    database = None if settings.supabase else SQLiteDatabase.in_dir(settings.data_dir)
    return AppContext(
        settings=settings,
        webhook_settings=settings.webhooks or sandbox.webhook_settings(),
        sandbox=sandbox,
        recovery=CredentialRecovery(settings.data_dir),
        database=database,
        accounts=LocalAccounts(database) if database else None,
    )


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
