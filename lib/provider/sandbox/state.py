"""The sandbox's instance record and the state file it persists to (a restart keeps every
instance: its id, token, name, status and number; not the QR or code being shown)."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Iterable

STATE_FILENAME = "sandbox_instances.json"

STATUS_DISCONNECTED = "disconnected"
STATUS_CONNECTING = "connecting"
STATUS_CONNECTED = "connected"


@dataclass
class Instance:
    instance_id: str
    token: str
    name: str
    status: str = STATUS_DISCONNECTED
    phone_number: str | None = None
    nonce: str | None = None  # latest QR nonce; None once scanned or disconnected
    qr_issued_at: float | None = None
    connecting_since: float | None = None  # first connect since last disconnected
    last_scan_url: str | None = None
    pairing_code: str | None = None  # latest code asked for; None once used or disconnected
    pairing_phone: str | None = None  # the number it was asked for ("+5511999998888")
    code_issued_at: float | None = None

    # What survives a restart (the rest is about a QR being shown, which a restart ends).
    _PERSISTED = ("instance_id", "token", "name", "status", "phone_number")

    def persisted(self) -> dict:
        return {key: value for key, value in asdict(self).items() if key in self._PERSISTED}


def save_instances(path: Path, instances: Iterable[Instance]) -> None:
    """Write every instance (tokens included, so 0600) to `path`: temp file, then rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump([inst.persisted() for inst in instances], fh)
    os.replace(tmp, path)


def load_instances(path: Path) -> list[Instance]:
    with path.open(encoding="utf-8") as fh:
        return [Instance(**item) for item in json.load(fh)]
