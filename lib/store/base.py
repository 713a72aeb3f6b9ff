"""The storage interface the service and the monitor depend on; implemented by the SQLite store
and the Supabase stores (one with the signed-in user's rights, one with the server's)."""

from __future__ import annotations

from datetime import datetime
from typing import Hashable, Protocol

from lib.models import Instance, InstanceEvent


class InstanceStore(Protocol):
    def list_instances(self) -> list[Instance]:
        """All instances, newest first."""

    def get_instance(self, id: str) -> Instance:
        """Raises InstanceNotFound when the row is gone."""

    def insert_instance(self, *, instance_id: str, token: str, name: str, created_by: str | None) -> Instance:
        """A new row, disconnected. The store keeps the name in NFC and its name_key (lib.names);
        a name whose key another instance has raises ValidationError (MSG_DUPLICATE_NAME)."""

    def update_status(
        self, id: str, *, status: str, phone_number: str | None, expected_status: str | None = None,
        keep_drop: bool = False,
    ) -> Instance:
        """Set status and phone; with expected_status, only if the stored status still is that
        (compare-and-set, so a stale webhook reply cannot undo a newer change). Returns the row as
        stored afterwards; raises InstanceNotFound when the row is gone. The store keeps
        status_changed_at, first_connected_at, last_phone_number and dropped_at itself. A user's
        write ends a drop (`dropped`, disconnect_reason), except "connecting": a reconnection of a
        dropped number is still that drop until it connects; and except with `keep_drop`, a write
        ahead of the provider that is undone if the provider fails."""

    def record_check(self, id: str, *, status: str, phone_number: str | None, expected_status: str,
                     reason: str | None = None, event_at: int | None = None) -> Instance | None:
        """The provider answered: like update_status with compare-and-set, and also marks the row
        checked now with no error. `reason` (why it disconnected: "401", "failed"…) is kept when
        the new status is disconnected, cleared when it is connected; `dropped` turns on when it
        goes from connected to disconnected and off when it connects. With `event_at` (a pushed
        event's own time, ms) it applies only if the row's provider_event_at is null or older, and
        stores it, in the same write. Returns the row as written, or None when the write was refused
        (another status meanwhile, or a stale event): nothing is written then, so whoever asked
        knows that someone else's word came first. Raises InstanceNotFound when the row is gone."""

    def note_event_time(self, id: str, event_at: int) -> bool:
        """Move provider_event_at to `event_at` if that is newer (atomic); False when the event is
        stale (older than or as old as the last applied). Raises InstanceNotFound."""

    def update_details(self, id: str, *, name: str, owner_id: str | None, tags: tuple[str, ...],
                       notes: str | None) -> Instance:
        """Rename and set the owner, tags and notes in one write (admins), validated as lib.names and
        lib.details say. A name whose key another instance has raises ValidationError
        (MSG_DUPLICATE_NAME); an owner who is not a user, ValidationError; InstanceNotFound when gone."""

    def owner_emails(self) -> dict[str, str]:
        """User id → e-mail of every user who owns an instance (for every role: the cards say who)."""

    def mark_checked(self, ids: list[str]) -> None:
        """The provider answered for these rows and nothing changed: one write for all of them."""

    def record_check_failure(self, id: str, *, error: str, max_failures: int) -> Instance:
        """A check failed: keep the message and count the streak, up to max_failures (past it the
        row is not written again). The status is left alone."""

    def delete_instance(self, id: str) -> None:
        """Raises InstanceNotFound when the row is already gone."""

    def instance_token(self, id: str) -> str:
        """The provider token of one instance. Raises InstanceNotFound."""

    def version(self) -> Hashable:
        """Changes whenever the list would read differently; cheap enough to ask every few seconds."""

    # -- history (lib.history): append-only -------------------------------------------------
    def add_event(self, event: InstanceEvent) -> InstanceEvent:
        """Append one event; returns it with its id and time."""

    def events(
        self,
        *,
        instance_ids: list[str] | None = None,
        kinds: list[str] | None = None,
        actor_emails: list[str] | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        after_id: int | None = None,
        limit: int | None = None,
        oldest_first: bool = False,
    ) -> list[InstanceEvent]:
        """The events that match every filter given, newest first (or oldest first)."""

    def status_before(self, instance_ids: list[str], at: datetime) -> dict[str, InstanceEvent]:
        """Per instance, its last event before `at` that set its status (lib.uptime.sets_status)."""


class ServerStore(InstanceStore, Protocol):
    """What only the server side (monitor, provider events) may do: read every token at once,
    look an instance up by the provider's id, and hold the monitor's lease."""

    def instances_with_tokens(self) -> list[tuple[Instance, str]]: ...

    def find_by_instance_id(self, instance_id: str) -> Instance | None: ...

    def claim_lease(self, holder: str, ttl_seconds: int) -> bool:
        """True while `holder` holds the monitor lease (taken when free or expired, renewed when
        already held); only the holder sweeps, so several replicas never sweep twice."""

    def release_lease(self, holder: str) -> None:
        """Give the lease up if `holder` holds it (a stopping server), so a restart sweeps at once."""

    def last_event_id(self) -> int:
        """The newest history event's id (0 for none): where the alerts start reading."""

    def prune_events(self, before: datetime) -> int:
        """Delete the history older than `before` (retention); returns how many events went."""
