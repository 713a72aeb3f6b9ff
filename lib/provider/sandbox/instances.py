"""The sandbox's instances and how their status changes: connected (a QR scanned, a code typed,
the auto-scan), disconnected (asked for, dropped, or abandoned while connecting), and the lazy
time-driven changes checked whenever an instance is looked at. Every change is saved to the state
file and pushed to the app.
"""

from __future__ import annotations

import secrets
import threading
from pathlib import Path
from typing import Callable

from lib.provider.sandbox.pushes import Pusher
from lib.provider.sandbox.state import (
    STATUS_CONNECTED, STATUS_CONNECTING, STATUS_DISCONNECTED, Instance, load_instances, save_instances,
)


class SandboxInstances:
    """The instances of a SandboxProvider (its base class), under one lock; the methods below are
    called with it held."""

    def __init__(
        self,
        *,
        qr_ttl_seconds: float,
        code_ttl_seconds: float,
        auto_scan_seconds: float | None,
        abandon_seconds: float,
        state_path: Path | None,
        clock: Callable[[], float],
    ):
        self.qr_ttl_seconds = float(qr_ttl_seconds)
        self.code_ttl_seconds = float(code_ttl_seconds)
        self.auto_scan_seconds = None if auto_scan_seconds is None else float(auto_scan_seconds)
        self._clock = clock
        self._lock = threading.Lock()
        self._instances: dict[str, Instance] = {}
        self._phones: set[str] = set()
        self.abandon_seconds = float(abandon_seconds)
        self.state_path = Path(state_path) if state_path else None
        self._pusher = Pusher()
        self.api_key = secrets.token_urlsafe(24)  # asked by the list of every instance (it carries tokens)
        if self.state_path and self.state_path.exists():
            self._load()

    def _refresh(self, inst: Instance, now: float) -> None:
        """Lazy time-driven changes of a connecting instance: the auto-scan (it connects itself
        auto_scan_seconds after connect), and the fall back to disconnected of one whose last QR
        expired abandon_seconds ago (or that has no QR at all, e.g. after a restart)."""
        if inst.status != STATUS_CONNECTING:
            return
        if (
            self.auto_scan_seconds is not None
            and inst.connecting_since is not None
            and now - inst.connecting_since >= self.auto_scan_seconds
        ):
            self._mark_connected(inst, phone=inst.pairing_phone)  # a code asked for: the phone it was for
        elif self._abandoned(inst, now):
            self._mark_disconnected(inst)

    def _abandoned(self, inst: Instance, now: float) -> bool:
        """Its latest QR and its latest code (if any) expired abandon_seconds ago, or it has neither."""
        expiries = [issued + ttl for issued, ttl in ((inst.qr_issued_at, self.qr_ttl_seconds),
                                                     (inst.code_issued_at, self.code_ttl_seconds)) if issued is not None]
        return not expiries or now > max(expiries) + self.abandon_seconds

    def _mark_connected(self, inst: Instance, phone: str | None = None) -> None:
        """Connected with `phone` (the number a pairing code was asked for) or a generated number."""
        inst.status = STATUS_CONNECTED
        if phone is not None:
            self._phones.add(phone)
        inst.phone_number = phone if phone is not None else self._new_phone()
        self._forget_qr(inst)
        self._changed(inst)

    def _mark_disconnected(self, inst: Instance, *, push: bool = True, reason: str | None = None) -> None:
        self._phones.discard(inst.phone_number or "")
        inst.status = STATUS_DISCONNECTED
        inst.phone_number = None
        self._forget_qr(inst)
        self._changed(inst, push=push, reason=reason)

    @staticmethod
    def _forget_qr(inst: Instance) -> None:
        """Forget what was shown to connect it: the QR and the pairing code."""
        inst.nonce = None
        inst.qr_issued_at = None
        inst.connecting_since = None
        inst.pairing_code = inst.pairing_phone = inst.code_issued_at = None

    def _changed(self, inst: Instance, *, push: bool = True, reason: str | None = None) -> None:
        """A status change: saved, and pushed to the app (when it asked for pushes) unless `push` is False."""
        self._save()
        if push:
            self._pusher.push(inst, reason)

    def _save(self) -> None:
        if self.state_path is not None:
            save_instances(self.state_path, self._instances.values())

    def _load(self) -> None:
        for inst in load_instances(self.state_path):
            self._instances[inst.instance_id] = inst
            if inst.phone_number:
                self._phones.add(inst.phone_number)

    def _new_phone(self) -> str:
        while True:
            phone = "+55119" + "".join(str(secrets.randbelow(10)) for _ in range(8))
            if phone not in self._phones:
                self._phones.add(phone)
                return phone
