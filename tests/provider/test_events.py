"""Provider event bodies in each dialect, and what is refused."""

import json

import pytest

from lib.provider.base import ProviderEvent
from lib.provider.events import EventRejected, parse_event, secret_matches


REJECTIONS = {"body is not JSON", "body must be a JSON object", "missing or invalid instance id", "missing status",
              "unknown status word"}


def body(value) -> bytes:
    return json.dumps(value).encode()


@pytest.mark.parametrize(
    "payload, expected",
    [
        ({"instance_id": "inst-1", "status": "disconnected"}, ProviderEvent("inst-1", "disconnected", None)),
        ({"instance_id": 42, "status": "CONNECTED", "phone_number": "5511999998888"},
         ProviderEvent("42", "connected", "+5511999998888")),
        ([{"instance_id": "inst-1", "status": "close"}], ProviderEvent("inst-1", "disconnected", None)),  # n8n list
        ({"event": "connection.update", "instance": "cobranca-01",
          "data": {"instance": "cobranca-01", "state": "open", "wuid": "5511999998888@s.whatsapp.net", "statusReason": 200},
          "apikey": "instance-token"},
         ProviderEvent("cobranca-01", "connected", "+5511999998888")),
        ({"event": "CONNECTION_UPDATE", "instance": "cobranca-01", "data": {"state": "close", "statusReason": 401}},
         ProviderEvent("cobranca-01", "disconnected", None)),
        ({"event": "connection.update", "instance": "cobranca-01", "data": {"state": "connecting"}},
         ProviderEvent("cobranca-01", "connecting", None)),
        ({"event": "session.status", "session": "default", "me": {"id": "5511999998888@c.us", "pushName": "Loja"},
          "payload": {"status": "WORKING"}}, ProviderEvent("default", "connected", "+5511999998888")),
        ({"event": "session.status", "session": "default", "payload": {"status": "SCAN_QR_CODE"}},
         ProviderEvent("default", "connecting", None)),
        ({"event": "session.status", "session": "default", "payload": {"status": "FAILED"}},
         ProviderEvent("default", "disconnected", None)),
    ],
)
def test_each_dialect(payload, expected):
    assert parse_event(body(payload)) == expected


def test_events_of_another_kind_are_acknowledged_and_ignored():
    assert parse_event(body({"event": "messages.upsert", "instance": "x", "data": {"key": {}}})) is None


@pytest.mark.parametrize(
    "raw",
    [
        b"not json",
        b"[1, 2]",
        b'"text"',
        body({"status": "open"}),  # no instance
        body({"instance_id": "inst-1"}),  # no status
        body({"instance_id": "inst-1", "status": "exploded"}),  # unknown word
        body({"instance_id": {"a": 1}, "status": "open"}),
        body({"instance_id": "x" * 201, "status": "open"}),
        body({"event": "connection.update", "instance": "x", "data": "open"}),
        body({"event": "session.status", "payload": {"status": "WORKING"}}),  # no session
        b"[" * 100_000,  # deep nesting
    ],
)
def test_malformed_bodies_are_rejected_without_quoting_them(raw):
    with pytest.raises(EventRejected) as info:
        parse_event(raw)
    assert info.value.message in REJECTIONS  # a fixed text: never a piece of the body


def test_secret_comparison():
    assert secret_matches("s3cret", None, "s3cret") and secret_matches("s3cret", "s3cret", None)
    assert not secret_matches("s3cret", None, None) and not secret_matches("s3cret", "s3cre", "S3CRET")
