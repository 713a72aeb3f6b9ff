"""Plain data shared by the stores, the service and the UI."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

STATUSES = ("disconnected", "connecting", "connected")
# After this many failed checks in a row the provider counts as not answering for the instance (the
# card says since when); the monitor stops writing the streak there.
FAILURES_BEFORE_NO_ANSWER = 3
ROLES = ("admin", "supervisor", "analyst")
# Characters the stores keep of a provider's text: the reason of a drop (WhatsApp's codes are 3
# digits) and a failed check's message.
MAX_DISCONNECT_REASON = 20
MAX_LAST_ERROR = 300


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
    # The provider dropped it (a disconnect that was not a user's action) and it has not connected
    # since: a reconnection tried and given up on is still the same drop. A user's "Desconectar" ends it.
    dropped: bool = False
    # Why the provider dropped it: WhatsApp's code as text ("401", "428"…) or "failed"; kept with the
    # drop (a reconnection given up on does not replace it), cleared when `dropped` is.
    disconnect_reason: str | None = None
    # The provider's own time (ms) of the last pushed event applied: an older event changes nothing.
    provider_event_at: int | None = None
    first_connected_at: datetime | None = None  # set by the store the first time it connects, never after
    owner_id: str | None = None  # the "Responsável": a user of the app (None: nobody, or the user is gone)
    tags: tuple[str, ...] = ()  # free tags, e.g. the wallet (lib.details)
    notes: str | None = None
    name_key: str = ""  # what names are compared on for uniqueness (lib.names.name_key), set by the store
    dropped_at: datetime | None = None  # when it dropped, while `dropped`; set by the store


@dataclass(frozen=True)
class User:
    id: str
    email: str
    role: str | None  # None: signed in but given no role (or deactivated), so no access
    must_change_password: bool = False  # signed in with a temporary password: nothing else until changed

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


EVENT_SOURCES = ("user", "monitor", "provider_event")
# What users do, written in their own name: the only kinds a signed-in Supabase user may add to the
# history (RLS); the others (what the provider said, alerts) are the server's to write.
USER_KINDS = ("created", "connect_requested", "disconnected", "deleted", "token_revealed", "renamed",
              "details_changed", "restarted", "imported", "events_registered")


@dataclass(frozen=True)
class InstanceEvent:
    """One line of an instance's history (append-only). `instance_id` is the instance row's id and
    `instance_name` a snapshot: both outlive the instance. `detail` is short text, never a token."""

    instance_id: str
    instance_name: str
    kind: str  # see lib.history.KINDS
    source: str  # one of EVENT_SOURCES
    from_status: str | None = None
    to_status: str | None = None
    phone_number: str | None = None
    actor_id: str | None = None
    actor_email: str | None = None
    detail: str | None = None
    created_at: datetime | None = None  # set by the store
    id: int | None = None  # set by the store; grows with every event


@dataclass(frozen=True)
class CheckResult:
    """One instance's outcome in a check: the row after it (the same row when nothing changed), or
    the error message."""

    before: Instance
    after: Instance | None = None
    error: str | None = None

    @property
    def changed(self) -> bool:
        return self.after is not None and (self.after.status, self.after.phone_number) != (
            self.before.status, self.before.phone_number
        )


@dataclass(frozen=True)
class Origin:
    """Where the provider's word came from, for the history: a user's session that asked (the
    connect dialog, "Verificar agora"), the monitor, or the provider's own push."""

    source: str  # 'user' | 'monitor' | 'provider_event'
    actor: User | None = None
