"""The columns Supabase mode selects, and its rows turned into models (and times into the
ISO strings PostgREST takes)."""

from __future__ import annotations

from datetime import datetime, timezone

from lib.models import Instance, InstanceEvent

# Explicit list: the token column is not readable through the API (select=* fails with 42501).
INSTANCE_COLUMNS = (
    "id,instance_id,name,phone_number,status,created_at,updated_at,created_by,"
    "last_checked_at,status_changed_at,last_phone_number,last_error,check_failures,dropped,"
    "disconnect_reason,provider_event_at,first_connected_at,owner_id,tags,notes,name_key,dropped_at"
)
EVENT_COLUMNS = (
    "id,instance_id,instance_name,kind,from_status,to_status,phone_number,source,actor_id,actor_email,detail,created_at"
)


def instance_from_row(row: dict) -> Instance:
    return Instance(
        id=row["id"],
        instance_id=row["instance_id"],
        name=row["name"],
        phone_number=row.get("phone_number"),
        status=row.get("status") or "disconnected",
        created_at=datetime.fromisoformat(row["created_at"]),
        updated_at=datetime.fromisoformat(row["updated_at"]),
        created_by=row.get("created_by"),
        last_checked_at=time_or_none(row.get("last_checked_at")),
        status_changed_at=time_or_none(row.get("status_changed_at")),
        last_phone_number=row.get("last_phone_number"),
        last_error=row.get("last_error"),
        check_failures=row.get("check_failures") or 0,
        dropped=bool(row.get("dropped")),
        disconnect_reason=row.get("disconnect_reason"),
        provider_event_at=row.get("provider_event_at"),
        first_connected_at=time_or_none(row.get("first_connected_at")),
        owner_id=row.get("owner_id"),
        tags=tuple(row.get("tags") or ()),
        notes=row.get("notes"),
        name_key=row.get("name_key") or "",
        dropped_at=time_or_none(row.get("dropped_at")),
    )


def event_from_row(row: dict) -> InstanceEvent:
    return InstanceEvent(
        id=row["id"],
        instance_id=row.get("instance_id"),
        instance_name=row["instance_name"],
        kind=row["kind"],
        source=row["source"],
        from_status=row.get("from_status"),
        to_status=row.get("to_status"),
        phone_number=row.get("phone_number"),
        actor_id=row.get("actor_id"),
        actor_email=row.get("actor_email"),
        detail=row.get("detail"),
        created_at=datetime.fromisoformat(row["created_at"]),
    )


def time_or_none(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def iso(value: datetime) -> str:
    return value.astimezone(timezone.utc).isoformat()

