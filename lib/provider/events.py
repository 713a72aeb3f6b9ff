"""Changes a provider pushes to the app (POST /api/provider-events), in the dialects providers
speak:

- generic (n8n and friends, the sandbox): {"instance_id": ..., "status": ..., "phone_number": ...,
  "reason": ..., "timestamp": ...} (the last three optional; `timestamp` in milliseconds);
- Evolution API v2 `connection.update` and `qrcode.updated` (lib.provider.evolution.event_from);
- WAHA `session.status` (lib.provider.waha.event_from).

The provider's instance name (Evolution's `instance`, WAHA's `session`) is the `instance_id` the
create call returned. Bodies may carry secrets (Evolution sends the instance's apikey): nothing here
logs or keeps a body, and no rejection quotes it.
"""

from __future__ import annotations

import hmac
import json
from dataclasses import replace
from typing import Any

from lib.provider import evolution, waha
from lib.provider.base import ProviderEvent
from lib.provider.replies import normalize_status, strict_phone

MAX_EVENT_BYTES = 64 * 1024
MAX_REASON_LENGTH = 20
_DIALECTS = {"connection.update": ("evolution", evolution.event_from),
             "qrcode.updated": ("evolution", evolution.event_from), "session.status": ("waha", waha.event_from)}


class EventRejected(Exception):
    """The body is not a usable event; `message` is safe to send back (it never quotes the body)."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def secret_matches(expected: str, *offered: str | None) -> bool:
    """Constant-time comparison of the configured secret with the header or query value; an empty
    secret (configured or offered) never matches."""
    return bool(expected) and any(
        value and hmac.compare_digest(value.encode(), expected.encode()) for value in offered
    )


def parse_event(body: bytes) -> ProviderEvent | None:
    """The change in `body`; None for a well-formed event of another kind (a provider set to send
    more than connection events), which is acknowledged and ignored. Raises EventRejected."""
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        raise EventRejected("body is not JSON") from None
    if isinstance(data, list) and len(data) == 1:  # n8n may wrap the object in a list
        data = data[0]
    if not isinstance(data, dict):
        raise EventRejected("body must be a JSON object")
    event = str(data.get("event") or "").strip().lower().replace("_", ".")
    try:
        if event in _DIALECTS:
            dialect, read = _DIALECTS[event]
            found = read({**data, "event": event})
            return replace(found, dialect=dialect) if found else None
        if event and "instance_id" not in data:
            return None
        return _generic(data)
    except ValueError as exc:  # the dialects' messages quote nothing of the body
        raise EventRejected(str(exc)) from None


def _generic(data: dict) -> ProviderEvent:
    instance_id, word = data.get("instance_id"), data.get("status")
    if isinstance(instance_id, int) and not isinstance(instance_id, bool):
        instance_id = str(instance_id)
    if not isinstance(instance_id, str) or not instance_id.strip() or len(instance_id) > 200:
        raise ValueError("missing or invalid instance id")
    if not isinstance(word, str) or not word.strip():
        raise ValueError("missing status")
    status = normalize_status(word)
    if status is None:
        raise ValueError("unknown status word")
    return ProviderEvent(instance_id.strip(), status, strict_phone(data.get("phone_number")),
                         reason=_reason(data.get("reason")), at=_timestamp(data.get("timestamp")))


def _reason(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int)) or len(str(value)) > MAX_REASON_LENGTH:
        raise ValueError("invalid reason")
    return str(value).strip()


def _timestamp(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError("invalid timestamp")
    return value
