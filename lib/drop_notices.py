"""What each sign-in has been told of the drops: since when its pages announce them, and which of
them it dismissed. Kept in this process per sign-in (the session cookie's id, hashed), not per
browser tab, so that a reload or a new tab of the same sign-in shows the same banners: a drop that
is still down stays named at the top until dismissed or back. A server restart forgets it (the
banners then cover the drops after the restart; the summary and the cards still show every drop).
Bounded: the sign-ins seen least recently are forgotten first."""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Callable

MAX_SIGN_INS = 10_000


@dataclass
class _Notices:
    since: datetime
    dismissed: set[tuple[str, datetime]] = field(default_factory=set)  # (instance id, when it dropped)


class DropNotices:
    def __init__(self, clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc)):
        self._clock = clock
        self._by_sign_in: OrderedDict[str, _Notices] = OrderedDict()
        self._lock = threading.Lock()

    def _notices(self, session_id: str) -> _Notices:
        key = hashlib.sha256(session_id.encode()).hexdigest()
        found = self._by_sign_in.get(key)
        if found is None:
            found = self._by_sign_in[key] = _Notices(self._clock())
            while len(self._by_sign_in) > MAX_SIGN_INS:
                self._by_sign_in.popitem(last=False)
        self._by_sign_in.move_to_end(key)
        return found

    def since(self, session_id: str) -> datetime:
        """When this sign-in's pages began to announce drops (its first page in this process)."""
        with self._lock:
            return self._notices(session_id).since

    def dismissed(self, session_id: str) -> frozenset[tuple[str, datetime]]:
        with self._lock:
            return frozenset(self._notices(session_id).dismissed)

    def dismiss(self, session_id: str, instance_id: str, dropped_at: datetime) -> None:
        """One drop dismissed ("Dispensar"): a later drop of the same number is news again."""
        with self._lock:
            self._notices(session_id).dismissed.add((instance_id, dropped_at))
