"""Status changes a provider pushes to the app (POST /api/provider-events), in the dialects
providers speak:

- generic (n8n and friends): {"instance_id": ..., "status": ..., "phone_number": ...};
- Evolution API v2 `connection.update`: {"event": "connection.update", "instance": ID,
  "data": {"state": "open" | "connecting" | "close", "wuid": ...}};
- WAHA `session.status`: {"event": "session.status", "session": ID, "payload": {"status": "WORKING" | ...},
  "me": {"id": ...}}.

The provider's instance name (Evolution's `instance`, WAHA's `session`) is the `instance_id` the
create webhook returned. Status words are read as the webhook client reads them. Bodies may carry
secrets (Evolution sends the instance's apikey): nothing here logs or keeps a body.
"""

from __future__ import annotations

import hmac
import json
from typing import Any

from lib.provider.base import ProviderEvent
from lib.provider.replies import normalize_phone, normalize_status

MAX_EVENT_BYTES = 64 * 1024
_EVOLUTION_EVENTS = {"connection.update", "connection_update"}
_WAHA_EVENTS = {"session.status", "session_status"}


class EventRejected(Exception):
    """The body is not a usable event; `message` is safe to send back (it never quotes the body)."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def secret_matches(expected: str, *offered: str | None) -> bool:
    """Constant-time comparison of the configured secret with the header or query value."""
    return any(
        value is not None and hmac.compare_digest(value.encode(), expected.encode()) for value in offered
    )


def parse_event(body: bytes) -> ProviderEvent | None:
    """The status change in `body`; None for a well-formed event of another kind (a provider set to
    send more than connection events), which is acknowledged and ignored. Raises EventRejected."""
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        raise EventRejected("body is not JSON") from None
    if isinstance(data, list) and len(data) == 1:  # n8n may wrap the object in a list
        data = data[0]
    if not isinstance(data, dict):
        raise EventRejected("body must be a JSON object")
    event = str(data.get("event") or "").strip().lower()
    if event in _EVOLUTION_EVENTS:
        inner = _object(data.get("data"))
        return _event(data.get("instance") or inner.get("instance"), inner.get("state"),
                       inner.get("wuid") or data.get("sender"))
    if event in _WAHA_EVENTS:
        return _event(data.get("session"), _object(data.get("payload")).get("status"), _object(data.get("me")).get("id"))
    if event and "instance_id" not in data:
        return None
    return _event(data.get("instance_id"), data.get("status"), data.get("phone_number"))


def _object(value: Any) -> dict:
    return value if isinstance(value, dict) else {}


def _event(instance_id: Any, word: Any, phone: Any) -> ProviderEvent:
    if isinstance(instance_id, int) and not isinstance(instance_id, bool):
        instance_id = str(instance_id)
    if not isinstance(instance_id, str) or not instance_id.strip() or len(instance_id) > 200:
        raise EventRejected("missing or invalid instance id")
    if not isinstance(word, str) or not word.strip():
        raise EventRejected("missing status")
    status = normalize_status(word)
    if status is None:
        raise EventRejected("unknown status word")
    return ProviderEvent(instance_id.strip(), status, normalize_phone(phone) if isinstance(phone, (str, int)) else None)
