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

    def insert_instance(self, *, instance_id: str, token: str, name: str, created_by: str | None) -> Instance: ...

    def update_status(
        self, id: str, *, status: str, phone_number: str | None, expected_status: str | None = None
    ) -> Instance:
        """Set status and phone; with expected_status, only if the stored status still is that
        (compare-and-set, so a stale webhook reply cannot undo a newer change). Returns the row as
        stored afterwards; raises InstanceNotFound when the row is gone. The store keeps
        status_changed_at and last_phone_number itself."""

    def record_check(self, id: str, *, status: str, phone_number: str | None, expected_status: str) -> Instance:
        """The provider answered: like update_status with compare-and-set, and also marks the row
        checked now with no error. A refused compare-and-set writes nothing."""

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
        """Per instance, its last event before `at` that set its status (lib.history.sets_status)."""


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
