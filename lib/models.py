"""Plain data shared by the stores, the service and the UI."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

STATUSES = ("disconnected", "connecting", "connected")
ROLES = ("admin", "supervisor", "analyst")


@dataclass(frozen=True)
class Instance:
    """A row of `instances` without its token: tokens are read one at a time, by admins only."""

    id: str
    instance_id: str
    name: str
    phone_number: str | None
    status: str
    created_at: datetime
    updated_at: datetime
    created_by: str | None
    # What the status monitor knows (lib.monitor): when the provider last answered for it, when the
    # status last changed, the last phone number seen (kept after a disconnect), and the last
    # failed check's message with the number of consecutive failures (capped, see lib.monitor).
    last_checked_at: datetime | None = None
    status_changed_at: datetime | None = None
    last_phone_number: str | None = None
    last_error: str | None = None
    check_failures: int = 0
    dropped: bool = False  # the last disconnect was the provider's word (a drop), not a user's action


@dataclass(frozen=True)
class User:
    id: str
    email: str
    role: str | None  # None: signed in but given no role, so no access

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"
