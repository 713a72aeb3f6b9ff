"""What the events route keeps in this process besides the store: the events that named an
instance the dashboard does not have (counted for /api/health, logged at most once a minute per
id), and the newest QR a provider pushed per instance (Evolution's QRCODE_UPDATED), which an open
connect dialog shows at once."""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from typing import Callable

log = logging.getLogger(__name__)

LOG_EVERY_SECONDS = 60.0
MAX_REMEMBERED = 1000  # ids (or QR codes) kept; the oldest are forgotten first


class UnknownInstances:
    def __init__(self, clock: Callable[[], float] = time.monotonic):
        self.count = 0
        self._clock = clock
        self._logged: OrderedDict[str, float] = OrderedDict()
        self._lock = threading.Lock()

    def note(self, instance_id: str, dialect: str) -> None:
        with self._lock:
            self.count += 1
            now, last = self._clock(), self._logged.get(instance_id)
            if last is not None and now - last < LOG_EVERY_SECONDS:
                return
            self._logged[instance_id] = now
            self._logged.move_to_end(instance_id)
            while len(self._logged) > MAX_REMEMBERED:
                self._logged.popitem(last=False)
        log.warning("provider event for an instance the dashboard does not have: %r (%s)", instance_id[:200], dialect)


class PushedQrs:
    def __init__(self, clock: Callable[[], float] = time.monotonic):
        self._clock = clock
        self._newest: OrderedDict[str, tuple[bytes, float]] = OrderedDict()
        self._lock = threading.Lock()

    def put(self, instance_id: str, png: bytes) -> None:
        with self._lock:
            self._newest[instance_id] = (png, self._clock())
            self._newest.move_to_end(instance_id)
            while len(self._newest) > MAX_REMEMBERED:
                self._newest.popitem(last=False)

    def newer_than(self, instance_id: str, moment: float) -> bytes | None:
        """The QR pushed for the instance after `moment` (this process's monotonic clock), if any."""
        with self._lock:
            found = self._newest.get(instance_id)
        return found[0] if found and found[1] > moment else None
