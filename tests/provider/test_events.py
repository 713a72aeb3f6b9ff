"""Provider event bodies in each dialect, and what is refused."""

import json

import pytest

from lib.provider.base import ProviderEvent
from lib.provider.events import EventRejected, parse_event, secret_matches


REJECTIONS = {"body is not JSON", "body must be a JSON object", "missing or invalid instance id", "missing status",
              "unknown status word", "missing or invalid instance", "unknown state", "missing or invalid session",
              "missing or unknown status", "invalid phone number", "invalid reason", "invalid timestamp",
              "invalid QR code"}


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
         ProviderEvent("cobranca-01", "connected", "+5511999998888", dialect="evolution")),
        ({"event": "CONNECTION_UPDATE", "instance": "cobranca-01", "data": {"state": "close", "statusReason": 401}},
         ProviderEvent("cobranca-01", "disconnected", None, reason="401", dialect="evolution")),
        ({"event": "connection.update", "instance": "cobranca-01", "data": {"state": "connecting"}},
         ProviderEvent("cobranca-01", "connecting", None, dialect="evolution")),
        ({"event": "session.status", "session": "default", "me": {"id": "5511999998888@c.us", "pushName": "Loja"},
          "payload": {"status": "WORKING"}}, ProviderEvent("default", "connected", "+5511999998888", dialect="waha")),
        ({"event": "session.status", "session": "default", "payload": {"status": "SCAN_QR_CODE"}},
         ProviderEvent("default", "connecting", None, dialect="waha")),
        ({"event": "session.status", "session": "default", "payload": {"status": "FAILED"}},
         ProviderEvent("default", "disconnected", None, reason="failed", dialect="waha")),
        ({"event": "session.status", "session": "cobranca", "timestamp": 1764920000123, "payload": {"status": "STOPPED"}},
         ProviderEvent("cobranca", "disconnected", None, at=1764920000123, dialect="waha")),
        ({"instance_id": "inst-1", "status": "close", "reason": 403, "timestamp": 1764920000123},
         ProviderEvent("inst-1", "disconnected", None, reason="403", at=1764920000123)),
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


def test_evolutions_time_is_read_as_written_and_only_ordered_among_its_own():
    """date_time is the server's local time with a "Z": read as written, never compared with ours."""
    early = parse_event(body({"event": "connection.update", "instance": "c", "date_time": "2026-12-05T06:42:00.000Z",
                              "data": {"state": "close", "statusReason": 428}}))
    late = parse_event(body({"event": "connection.update", "instance": "c", "date_time": "2026-12-05T06:42:01.500Z",
                             "data": {"state": "open", "wuid": "5511999998888@s.whatsapp.net"}}))
    assert late.at - early.at == 1500
    assert (early.reason, late.reason, late.phone_number) == ("428", None, "+5511999998888")


def test_a_new_qr_pushed_by_evolution_is_an_event_without_a_status():
    import base64
    import io

    import qrcode

    buffer = io.BytesIO()
    qrcode.make("2@abc").save(buffer, format="PNG")
    png = "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()
    event = parse_event(body({"event": "qrcode.updated", "instance": "c", "data": {"qrcode": {"base64": png}}}))
    assert event.status is None and event.qr.png.startswith(b"\x89PNG")


@pytest.mark.parametrize("phone", ["٥٥١١٩٩٩٩٩٨٨٨٨", "５５１１９９９９９８８８８", "5" * 60_001, "551199", "5511999998888" + "9" * 3,
                                   "+55 11 99999-888x", ["5511999998888"]])
def test_a_pushed_number_must_be_10_to_15_ascii_digits(phone):
    for payload in ({"instance_id": "i", "status": "open", "phone_number": phone},
                    {"event": "connection.update", "instance": "i", "data": {"state": "open", "wuid": phone}},
                    {"event": "session.status", "session": "i", "me": {"id": phone}, "payload": {"status": "WORKING"}}):
        with pytest.raises(EventRejected) as info:
            parse_event(body(payload))
        assert info.value.message == "invalid phone number"


@pytest.mark.parametrize("phone, shown", [("5511999998888", "+5511999998888"), ("+55 (11) 99999-8888", "+5511999998888"),
                                          ("1234567890", "+1234567890"), ("123456789012345", "+123456789012345")])
def test_a_pushed_number_of_10_to_15_digits_is_kept(phone, shown):
    assert parse_event(body({"instance_id": "i", "status": "open", "phone_number": phone})).phone_number == shown


def test_an_empty_secret_never_matches():
    assert not secret_matches("s3cret", "", "") and not secret_matches("s3cret", "", None)
    assert not secret_matches("", "", None) and not secret_matches("", None, "")
