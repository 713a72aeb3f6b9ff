"""Counting calls to the store and the webhook client while a benchmark runs (in this process;
bench.instrumented counts them in the server's)."""

from __future__ import annotations

import threading
from typing import Iterable

from lib.config.provider import WEBHOOK_ACTIONS

# The store's methods, as bench.instrumented and CallCounter sort them (the monitor's included).
STORE_READS = ("list_instances", "get_instance", "instance_token", "instances_with_tokens", "find_by_instance_id")
STORE_WRITES = ("insert_instance", "update_status", "record_check", "mark_checked", "record_check_failure",
                "delete_instance")
STORE_OTHERS = ("version", "claim_lease", "release_lease")  # version: an in-process counter on SQLite


class CallCounter:
    """Counts calls to methods of classes while active (a class-level patch, undone on exit)."""

    READS = STORE_READS
    WRITES = STORE_WRITES
    OTHERS = STORE_OTHERS

    def __init__(self, targets: dict[type, Iterable[str]]):
        self.targets = {cls: tuple(names) for cls, names in targets.items()}
        self.counts: dict[str, int] = {}
        self._saved: list[tuple[type, str, object]] = []
        self._lock = threading.Lock()

    def __enter__(self) -> "CallCounter":
        for cls, names in self.targets.items():
            for name in names:
                original = cls.__dict__[name]
                self._saved.append((cls, name, original))
                setattr(cls, name, self._wrap(f"{cls.__name__}.{name}", original))
        return self

    def __exit__(self, *exc) -> None:
        for cls, name, original in reversed(self._saved):
            setattr(cls, name, original)
        self._saved.clear()

    def _wrap(self, label: str, original):
        def counted(*args, **kwargs):
            with self._lock:
                self.counts[label] = self.counts.get(label, 0) + 1
            return original(*args, **kwargs)
        return counted

    def total(self, names: Iterable[str]) -> int:
        return sum(n for label, n in self.counts.items() if label.split(".")[-1] in set(names))


def store_and_webhook_counter() -> CallCounter:
    from lib.store.sqlite.instances import SQLiteInstanceStore
    from lib.provider.webhooks import WebhookClient

    return CallCounter({
        SQLiteInstanceStore: CallCounter.READS + CallCounter.WRITES + CallCounter.OTHERS,
        WebhookClient: WEBHOOK_ACTIONS,
    })
