"""Durable copy of credentials the provider issued but the store failed to save.

A create webhook cannot be undone, so if saving the row fails the instance_id and token go
to a file under APP_DATA_DIR (mode 0600) until an admin saves them again.
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path

from lib.errors import StoreError
from lib.store.sqlite.database import utc_now_iso

RECOVERY_FILENAME = "unsaved_instances.json"


@dataclass(frozen=True)
class UnsavedInstance:
    instance_id: str
    token: str = field(repr=False)
    name: str = ""
    created_by: str | None = None
    failed_at: str = ""


class CredentialRecovery:
    _lock = threading.Lock()  # one writer at a time within the process

    def __init__(self, data_dir: Path):
        self.path = Path(data_dir) / RECOVERY_FILENAME

    def pending(self) -> list[UnsavedInstance]:
        """The credentials kept. A damaged file is reported, never overwritten: it may hold tokens."""
        if not self.path.exists():
            return []
        try:
            with self.path.open(encoding="utf-8") as fh:
                return [UnsavedInstance(**item) for item in json.load(fh)]
        except (ValueError, TypeError) as exc:
            raise StoreError(f"O arquivo de credenciais pendentes ({self.path}) está danificado e não foi alterado; "
                             "peça ao responsável pelo servidor para abri-lo e recuperar os tokens.") from exc

    def add(self, instance_id: str, token: str, name: str, created_by: str | None) -> None:
        with self._lock:
            items = [i for i in self.pending() if i.instance_id != instance_id]
            items.append(UnsavedInstance(instance_id, token, name, created_by, utc_now_iso()))
            self._write(items)

    def remove(self, instance_id: str) -> None:
        with self._lock:
            self._write([i for i in self.pending() if i.instance_id != instance_id])

    def _write(self, items: list[UnsavedInstance]) -> None:
        """Write atomically: a temp file created 0600, fsynced, then renamed over the old one. On a
        failure (a full disk) the temp file is removed and the old file is left as it was; the
        OSError goes to the caller."""
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = self.path.with_suffix(".tmp")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump([i.__dict__ for i in items], fh, ensure_ascii=False, indent=1)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
