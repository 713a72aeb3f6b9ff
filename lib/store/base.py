"""The storage interface the service depends on; implemented by SQLite and Supabase stores."""

from __future__ import annotations

from typing import Protocol

from lib.models import Instance


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
        stored afterwards; raises InstanceNotFound when the row is gone."""

    def delete_instance(self, id: str) -> None:
        """Raises InstanceNotFound when the row is already gone."""

    def instance_token(self, id: str) -> str:
        """The provider token of one instance. Raises InstanceNotFound."""
