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


@dataclass(frozen=True)
class User:
    id: str
    email: str
    role: str | None  # None: signed in but given no role, so no access

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"
