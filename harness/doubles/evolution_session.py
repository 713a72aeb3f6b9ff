"""One Evolution API instance as the double keeps it, its WhatsApp session's state machine, and
the webhook pushes the changes make (what the Baileys channel does; see evolution.py for the
endpoints). Source: EvolutionAPI/evolution-api 2.3.6 (commit 3454bec7); `file:line` below are
paths under src/ at that commit."""

from __future__ import annotations

import base64
import io
import json
import logging
import queue
import re
import secrets
import threading
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Callable

import qrcode
import requests
from qrcode.image.pil import PilImage

logger = logging.getLogger(__name__)

# api/integrations/event/event.controller.ts:126-158: the names webhook/set accepts.
EVENTS = (
    "APPLICATION_STARTUP", "QRCODE_UPDATED", "MESSAGES_SET", "MESSAGES_UPSERT", "MESSAGES_EDITED", "MESSAGES_UPDATE",
    "MESSAGES_DELETE", "SEND_MESSAGE", "SEND_MESSAGE_UPDATE", "CONTACTS_SET", "CONTACTS_UPSERT", "CONTACTS_UPDATE",
    "PRESENCE_UPDATE", "CHATS_SET", "CHATS_UPSERT", "CHATS_UPDATE", "CHATS_DELETE", "GROUPS_UPSERT", "GROUP_UPDATE",
    "GROUP_PARTICIPANTS_UPDATE", "CONNECTION_UPDATE", "LABELS_EDIT", "LABELS_ASSOCIATION", "CALL", "TYPEBOT_START",
    "TYPEBOT_CHANGE_STATUS", "REMOVE_INSTANCE", "LOGOUT_INSTANCE", "INSTANCE_CREATE", "INSTANCE_DELETE",
    "STATUS_INSTANCE",
)
# whatsapp.baileys.service.ts:402: the close codes after which the server does not reconnect
# (loggedOut, forbidden, 402, 406); any other close reconnects at once and pushes no close.
NO_RECONNECT = (401, 403, 402, 406)
_CROCKFORD = "123456789ABCDEFGHJKLMNPQRSTVWXYZ"  # Baileys Utils/generics.ts bytesToCrockford
_HTTP_URL = re.compile(r"^(https?://)")  # webhook.controller.ts:90


def iso(moment: datetime) -> str:
    """JavaScript's Date.toISOString(): milliseconds and a "Z"."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def qr_data_url(text: str) -> str:
    """The QR as qrcode.toDataURL draws it (whatsapp.baileys.service.ts:342-356: margin 3, scale 4, H)."""
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_H, box_size=4, border=3,
                         image_factory=PilImage)
    code.add_data(text)
    buffer = io.BytesIO()
    code.make_image().save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def _qr_text() -> str:
    """Shaped like WhatsApp's link QR ("ref,noiseKey,identityKey,advSecret")."""
    keys = (base64.b64encode(secrets.token_bytes(n)).decode() for n in (32, 32, 32))
    return "2@" + secrets.token_urlsafe(48) + "," + ",".join(keys)


@dataclass
class Instance:
    """The in-memory channel (`state`: what connectionState answers and every handler decides
    on) and its database row (`db_status` and the rest: what fetchInstances answers). The two
    drift apart as they do in the server: see Session.drop."""

    name: str
    token: str = field(repr=False)
    id: str = field(default_factory=lambda: str(uuid.uuid4()))
    integration: str = "WHATSAPP-BAILEYS"
    state: str = "close"  # baileys.service.ts:255
    status_reason: int | None = None
    db_status: str = "close"  # monitor.service.ts:232-233: a Baileys instance's row starts 'close'
    owner_jid: str | None = None
    profile_name: str | None = None
    reason_code: int | None = None
    disconnection_at: str | None = None
    disconnection_object: str | None = None
    created_at: str = field(default_factory=lambda: iso(utc_now()))
    updated_at: str = field(default_factory=lambda: iso(utc_now()))
    qrcode: dict = field(default_factory=lambda: {"count": 0})  # baileys.service.ts:237, never reset by logout
    phone_number: str | None = None  # the number the session was started with (pairing code)
    wuid: str | None = None
    linked: bool = False  # WhatsApp credentials saved (a scan or pairing happened)
    webhook: dict | None = None  # the Webhook row (webhook/set)
    settings: dict = field(default_factory=dict)
    qr_wait: int = 0  # connects still to answer before this session's first QR
    close_lag: int = 0  # requests still to see the old state after a logout

    def row(self) -> dict:
        """The database row fetchInstances answers, with the includes of monitor.service.ts:90-108
        (prisma/postgresql-schema.prisma:63-114)."""
        return {
            "id": self.id, "name": self.name, "connectionStatus": self.db_status, "ownerJid": self.owner_jid,
            "profileName": self.profile_name, "profilePicUrl": None, "integration": self.integration, "number": None,
            "businessId": None, "token": self.token, "clientName": "evolution_exchange",
            "disconnectionReasonCode": self.reason_code, "disconnectionObject": self.disconnection_object,
            "disconnectionAt": self.disconnection_at, "createdAt": self.created_at, "updatedAt": self.updated_at,
            "Chatwoot": None, "Proxy": None, "Rabbitmq": None, "Nats": None, "Sqs": None, "Websocket": None,
            "Setting": {"id": self.id[:25], **self.settings, "createdAt": self.created_at,
                        "updatedAt": self.updated_at, "instanceId": self.id},
            "_count": {"Message": 0, "Contact": 0, "Chat": 0},
        }


class Session:
    """What WhatsApp and Baileys do to an instance, and the webhook pushes each change sends.
    Pushes leave in order from one thread (the server awaits each sendDataWebhook in turn)."""

    def __init__(self, *, server_url: Callable[[], str], local_offset_hours: float, expose_apikey: bool):
        self._server_url = server_url
        self.local_offset = timedelta(hours=local_offset_hours)
        self.expose_apikey = expose_apikey
        self.qr_late_connects = 0
        self.pushes: list[dict] = []  # {"url", "headers", "body", "status"} of every push sent
        self._last_moment = datetime.min.replace(tzinfo=timezone.utc)  # of the newest push (date_time)
        self._queue: queue.Queue = queue.Queue()
        threading.Thread(target=self._deliver, daemon=True, name="evolution-double-pushes").start()

    # ------------------------------------------------------------------ the session
    def start(self, inst: Instance, number: str | None) -> None:
        """instance.connectToWhatsapp(number) (baileys.service.ts:706, 550-704): a new socket;
        `connecting` is pushed, then the QR (or, with saved credentials, the reconnection)."""
        inst.phone_number = number or None  # createClient: this.phoneNumber = number (:701)
        self._state(inst, "connecting", 200)
        if inst.linked:
            self.open(inst, inst.wuid.split("@")[0])
            return
        inst.qr_wait = self.qr_late_connects
        if inst.qr_wait == 0:
            self.new_qr(inst)

    def new_qr(self, inst: Instance) -> None:
        """connectionUpdate({qr}) (baileys.service.ts:309-390): count+1, a pairing code when the
        session was started with a number (else null), the data URL, a qrcode.updated push, and
        the row goes 'connecting'. (QRCODE_LIMIT, 30 by default, is not modelled.)"""
        text = _qr_text()
        inst.qrcode["count"] = inst.qrcode.get("count", 0) + 1
        inst.qrcode["pairingCode"] = self._pairing_code() if inst.phone_number else None
        inst.qrcode.update(code=text, base64=qr_data_url(text))
        pushed = {"instance": inst.name, "pairingCode": inst.qrcode["pairingCode"], "code": text,
                  "base64": inst.qrcode["base64"]}
        self.push(inst, "qrcode.updated", {"qrcode": pushed})
        self._row(inst, db_status="connecting")

    def open(self, inst: Instance, phone: str) -> None:
        """connectionUpdate({connection: 'open'}) (baileys.service.ts:441-490)."""
        inst.linked, inst.wuid = True, f"{phone}@s.whatsapp.net"
        inst.state, inst.status_reason = "open", 200
        inst.profile_name = inst.profile_name or "Cobrança"
        self._row(inst, db_status="open", owner_jid=inst.wuid)
        self.push(inst, "connection.update", {"instance": inst.name, "wuid": inst.wuid,
                                               "profileName": inst.profile_name, "profilePictureUrl": None,
                                               "state": "open", "statusReason": 200})

    def close(self, inst: Instance, code: int) -> None:
        """connectionUpdate({connection: 'close'}) with a code that does not reconnect
        (baileys.service.ts:400-438; a logout is 401): status.instance, the row closed with the
        reason, logout.instance (monitor.service.ts:376-388), then connection.update."""
        at = iso(utc_now())
        obj = json.dumps({"error": {"data": None, "isBoom": True, "isServer": code >= 500,
                                    "output": {"statusCode": code}}, "date": at})  # shape approximated
        inst.state, inst.status_reason, inst.linked = "close", code, False
        self.push(inst, "status.instance", {"instance": inst.name, "status": "closed", "disconnectionAt": at,
                                             "disconnectionReasonCode": code, "disconnectionObject": obj})
        self._row(inst, db_status="close", reason_code=code, disconnection_at=at, disconnection_object=obj)
        self.push(inst, "logout.instance", None)
        self.push(inst, "connection.update", {"instance": inst.name, "state": "close", "statusReason": code})

    def drop(self, inst: Instance, code: int, reconnects: bool) -> None:
        """The socket closed with `code`. One of NO_RECONNECT closes the instance. Any other
        (428, 408, 440, 515…) reconnects at once (:403-405): no close is pushed, `connecting` is,
        then `open` again when WhatsApp takes the saved session back (`reconnects`). The row is
        not touched: fetchInstances keeps answering 'open' meanwhile."""
        if code in NO_RECONNECT:
            self.close(inst, code)
            return
        inst.status_reason = code
        self._state(inst, "connecting", 200)
        if reconnects:
            self.open(inst, inst.wuid.split("@")[0])

    def _state(self, inst: Instance, state: str, reason: int) -> None:
        inst.state, inst.status_reason = state, reason
        self.push(inst, "connection.update", {"instance": inst.name, "state": state, "statusReason": reason})

    @staticmethod
    def _row(inst: Instance, **changes: Any) -> None:
        for key, value in changes.items():
            setattr(inst, key, value)
        inst.updated_at = iso(utc_now())

    @staticmethod
    def _pairing_code() -> str:
        return "".join(secrets.choice(_CROCKFORD) for _ in range(8))

    # ------------------------------------------------------------------ pushes
    def push(self, inst: Instance, event: str, data: Any, *, age_seconds: float = 0.0) -> None:
        """sendDataWebhook (services/channel.service.ts:434-456) through WebhookController.emit
        (webhook.controller.ts:57-148): only to an enabled webhook subscribed to the event, with
        its headers; `date_time` is the server's local time written with a "Z" (:436-437)."""
        hook = inst.webhook
        upper = event.replace(".", "_").replace("-", "_").upper()
        if not hook or not hook["enabled"] or upper not in (hook["events"] or []) or not _HTTP_URL.match(hook["url"]):
            return
        moment = utc_now() + self.local_offset - timedelta(seconds=age_seconds)
        if not age_seconds:
            moment = self._later(moment)
        body = {"event": event, "instance": inst.name, "data": data, "destination": hook["url"],
                "date_time": iso(moment), "sender": inst.wuid, "server_url": self._server_url(),
                "apikey": inst.token if self.expose_apikey else None}
        if body["sender"] is None:
            del body["sender"]  # undefined: JSON.stringify leaves it out
        url = hook["url"] + ("/" + upper.replace("_", "-").lower() if hook["webhookByEvents"] else "")
        self._queue.put((url, dict(hook["headers"] or {}), body))

    def _later(self, moment: datetime) -> datetime:
        """`moment`, or a millisecond after the newest push when it would share its millisecond. In
        the server two changes never do: each waits on WhatsApp (a restart's `open` comes after the
        socket's handshake, not in the tick that pushed `connecting`), where the double runs them
        one after the other; date_time has milliseconds only (iso)."""
        moment = moment.replace(microsecond=moment.microsecond // 1000 * 1000)
        self._last_moment = max(moment, self._last_moment + timedelta(milliseconds=1))
        return self._last_moment

    def wait_pushes(self) -> None:
        """Returns once every push queued so far was delivered (or failed)."""
        self._queue.join()

    def _deliver(self) -> None:
        """One attempt each. (The server retries failures other than 400/401/403/404/422 up to
        10 times with backoff, webhook.controller.ts:201-283; not modelled.)"""
        while True:
            url, headers, body = self._queue.get()
            record = {"url": url, "headers": headers, "body": body, "status": None}
            try:
                record["status"] = requests.post(url, json=body, headers=headers, timeout=5).status_code
            except requests.RequestException as exc:
                logger.debug("evolution double: push failed: %s", type(exc).__name__)
            finally:
                self.pushes.append(record)
                self._queue.task_done()
