"""A faithful double of Evolution API v2 (2.3.6, WHATSAPP-BAILEYS instances) on a loopback port,
for tests and benchmarks: the endpoints the dashboard calls answer what the real server answers,
quirks included, and status changes are pushed to a registered webhook as the server pushes them.

`file:line` refer to src/ of EvolutionAPI/evolution-api at commit 3454bec7 (2.3.6). The session
and the pushes are in evolution_session.py, the HTTP layer in evolution_http.py.

Test controls (Python, not HTTP): simulate_scan, simulate_pairing, simulate_drop, ban,
push_stale; knobs: latency_ms, qr_late_connects, logout_lag_requests, old_restart,
local_offset_hours, expose_apikey; request_counts ("GET /instance/connectionState": n).
"""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from typing import Any

from harness.doubles.evolution_http import EvolutionError, Handler, Server
from harness.doubles.evolution_session import EVENTS, Instance, Session, iso, utc_now

OK = 200
_SETTINGS = ("rejectCall", "groupsIgnore", "alwaysOnline", "readMessages", "readStatus", "syncFullHistory")


class EvolutionDouble:
    def __init__(self, api_key: str = "evo-global-key-0123456789", *, local_offset_hours: float = -3.0,
                 expose_apikey: bool = True, old_restart: bool = False):
        self.api_key = api_key
        self.old_restart = old_restart  # a server before 2.2.0: restart is PUT only
        self.latency_ms = 0
        self.logout_lag_requests = 0  # requests on the instance that still see it connecting after a logout
        self.request_counts: Counter[str] = Counter()
        self.instances: dict[str, Instance] = {}
        self.session = Session(server_url=lambda: self.base_url, local_offset_hours=local_offset_hours,
                               expose_apikey=expose_apikey)
        self._lock = threading.RLock()
        self._server: Server | None = None

    # ------------------------------------------------------------------ lifecycle
    @property
    def qr_late_connects(self) -> int:
        """How many connects of a new session answer {"count": 0} (no QR yet) before its QR comes
        (the controller waits 2 s for it, instance.controller.ts:312-316; a slow one misses)."""
        return self.session.qr_late_connects

    @qr_late_connects.setter
    def qr_late_connects(self, value: int) -> None:
        self.session.qr_late_connects = value

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> EvolutionDouble:
        self._server = Server(("127.0.0.1", 0), Handler)
        self._server.double = self
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True, name="evolution-double").start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> EvolutionDouble:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def count(self, method: str, route: str) -> None:
        with self._lock:
            self.request_counts[f"{method} {route}"] += 1

    def counts(self) -> dict[str, int]:
        """A copy of request_counts, safe while requests are being served."""
        with self._lock:
            return dict(self.request_counts)

    # ------------------------------------------------------------------ test controls
    def simulate_scan(self, name: str, phone: str = "5511999998888") -> None:
        """The phone scanned the current QR: open, pushed."""
        with self._lock:
            inst = self.instances[name]
            if inst.state != "connecting" or inst.linked or not inst.qrcode.get("base64"):
                raise ValueError(f"{name} shows no QR to scan")
            self.session.open(inst, phone)

    def simulate_pairing(self, name: str, code: str, phone: str = "5511999998888") -> None:
        """The phone typed the pairing code: open, pushed."""
        with self._lock:
            inst = self.instances[name]
            if inst.state != "connecting" or not code or inst.qrcode.get("pairingCode") != code:
                raise ValueError(f"{name} offers no such pairing code")
            self.session.open(inst, phone)

    def simulate_drop(self, name: str, reason: int = 428, *, reconnects: bool = True) -> None:
        """WhatsApp closed the connection of an open instance with `reason` (Session.drop: only
        401/403/402/406 leave it closed; others reconnect)."""
        with self._lock:
            inst = self.instances[name]
            if inst.state != "open":
                raise ValueError(f"{name} is not open")
            self.session.drop(inst, reason, reconnects)

    def ban(self, name: str) -> None:
        self.simulate_drop(name, 403)

    def push_stale(self, name: str, state: str = "open", *, age_seconds: float = 60.0, reason: int = 200) -> None:
        """A connection.update dated `age_seconds` before now (a late delivery)."""
        with self._lock:
            inst = self.instances[name]
            self.session.push(inst, "connection.update", {"instance": name, "state": state, "statusReason": reason},
                              age_seconds=age_seconds)

    def wait_pushes(self) -> None:
        self.session.wait_pushes()

    # ------------------------------------------------------------------ the API
    def handle(self, route: str, name: str | None, query: dict, body: dict, key: str | None) -> tuple[int, Any]:
        with self._lock:
            inst = self._guard(route, name, body, key)
            handler = getattr(self, "_" + route.rsplit("/", 1)[1].lower())  # "/instance/connect" → _connect
            return handler(inst, query, body, key)

    def _guard(self, route: str, name: str | None, body: dict, key: str | None) -> Instance | None:
        """index.router.ts:41: instanceExistsGuard (404), instanceLoggedGuard (403), then the
        apikey guard (401): an unknown instance is 404 and a taken name 403 even without a key."""
        inst = self.instances.get(name) if name else None
        if name is not None and inst is None:  # instance.guard.ts:35-37
            raise EvolutionError(404, [f'The "{name}" instance does not exist'])
        if route == "/instance/create" and body.get("instanceName") in self.instances:  # instance.guard.ts:43-47
            raise EvolutionError(403, [f'This name "{body["instanceName"]}" is already in use.'])
        if not key:  # auth.guard.ts:15-17
            raise EvolutionError(401, "Unauthorized")
        by_token = inst is not None and inst.token == key  # :29-35
        any_token = route == "/instance/fetchInstances" and any(i.token == key for i in self.instances.values())
        if key != self.api_key and not by_token and not any_token:
            raise EvolutionError(401, "Unauthorized")
        if inst is not None and inst.close_lag:  # a logout still landing (see _logout)
            inst.close_lag -= 1
            if inst.close_lag == 0:
                self.session.close(inst, 401)
        return inst

    def _create(self, _inst: None, _query: dict, body: dict, _key: str) -> tuple[int, dict]:
        """instance.controller.ts:37-184 (201, instance.router.ts:25)."""
        name = body.get("instanceName")
        if not isinstance(name, str) or not name:  # simplified: instance.schema.ts:216 isNotEmpty
            raise EvolutionError(400, ['The "instanceName" cannot be empty'])
        if body.get("integration") != "WHATSAPP-BAILEYS":  # channel.controller.ts:93 → :50, :291
            raise EvolutionError(400, ["Invalid integration"])  # (the double models Baileys only)
        webhook = body.get("webhook")
        if webhook and not isinstance(webhook.get("events") if isinstance(webhook, dict) else None, list):
            # event.manager.ts:173-183 → webhook.controller.ts:28 reads events.length: the
            # TypeError becomes a 400 and the instance is removed (:289-291).
            raise EvolutionError(400, ["Cannot read properties of undefined (reading 'length')"])
        inst = Instance(name=name, token=body.get("token") or str(uuid.uuid4()).upper())
        flags = {k: body.get(k) is True for k in _SETTINGS}  # :117-126
        inst.settings = {"rejectCall": flags.pop("rejectCall"), "msgCall": body.get("msgCall") or "", **flags,
                         "wavoipToken": body.get("wavoipToken") or ""}
        self.instances[name] = inst
        if webhook:
            self._store_webhook(inst, {**webhook, "enabled": True})
        reply = {
            "instance": {"instanceName": name, "instanceId": inst.id, "integration": inst.integration,
                         "webhookWaBusiness": None, "accessTokenWaBusiness": "", "status": inst.state},
            "hash": inst.token,
            "webhook": _defined(webhookUrl=(webhook or {}).get("url"), webhookHeaders=(webhook or {}).get("headers"),
                                webhookByEvents=(webhook or {}).get("byEvents"),
                                webhookBase64=(webhook or {}).get("base64")),
            "websocket": {}, "rabbitmq": {}, "nats": {}, "sqs": {},
            "settings": inst.settings,
        }
        if body.get("qrcode") is True:  # :145-149
            self.session.start(inst, body.get("number"))
            reply["instance"]["status"] = inst.state
            reply["qrcode"] = self._qr_reply(inst)
        return 201, reply

    def _connect(self, inst: Instance, query: dict, _body: dict, _key: str) -> tuple[int, dict]:
        """instance.controller.ts:295-330: open → the connectionState shape; connecting → the
        current QR, whatever `number` says; close → a new session with `number`."""
        if inst.state == "open":
            return OK, self._state_reply(inst)
        if inst.state == "close":
            self.session.start(inst, query.get("number"))
        reply = self._qr_reply(inst)
        if inst.qr_wait:
            inst.qr_wait -= 1
            if inst.qr_wait == 0:
                self.session.new_qr(inst)
        return OK, reply

    def _connectionstate(self, inst: Instance, *_: Any) -> tuple[int, dict]:
        return OK, self._state_reply(inst)  # instance.controller.ts:361-368

    def _restart(self, inst: Instance, *_: Any) -> tuple[int, dict]:
        """instance.controller.ts:332-359. A closed instance: HTTP 200 with error true and the
        message "[object Object]" (the thrown exception object's toString()). Otherwise the socket
        ends and reconnects; the reply is connectToWhatsapp's right after (timing-dependent in the
        server; the double answers once the reconnection settled)."""
        if inst.state == "close":
            return OK, {"error": True, "message": "[object Object]"}
        self.session.start(inst, inst.phone_number)
        return OK, self._state_reply(inst) if inst.state == "open" else self._qr_reply(inst)

    def _fetchinstances(self, _inst: None, query: dict, _body: dict, key: str) -> tuple[int, list]:
        """instance.controller.ts:370-398, monitor.service.ts:67-111: the database rows."""
        name, iid = query.get("instanceName"), query.get("instanceId")
        rows = list(self.instances.values())
        if key != self.api_key:
            rows = [i for i in rows if i.token == key and (not name or i.name == name) and (not iid or i.id == iid)]
            if not rows:
                raise EvolutionError(401, "Unauthorized")
        elif iid:
            rows = [i for i in rows if i.id == iid]
            if not rows:
                raise EvolutionError(404, [f'Instance "{iid}" not found'])
        elif name:
            if name not in self.instances:
                raise EvolutionError(404, [f'Instance "{name}" not found'])
            rows = [self.instances[name]]
        return OK, [i.row() for i in rows]

    def _logout(self, inst: Instance, *_: Any) -> tuple[int, dict]:
        """instance.controller.ts:404-418; logoutInstance() is not awaited, so the close (401,
        Baileys' loggedOut) lands after the reply: logout_lag_requests."""
        if inst.state == "close":
            raise EvolutionError(400, [f'The "{inst.name}" instance is not connected'])
        inst.close_lag = self.logout_lag_requests + 1 if self.logout_lag_requests else 0
        if not inst.close_lag:
            self.session.close(inst, 401)
        return OK, {"status": "SUCCESS", "error": False, "response": {"message": "Instance logged out"}}

    def _delete(self, inst: Instance, *_: Any) -> tuple[int, dict]:
        """instance.controller.ts:420-444: a logout first when connecting or open, then
        instance.delete and remove.instance (monitor.service.ts:360-375)."""
        if inst.state in ("connecting", "open"):
            self.session.close(inst, 401)
        self.session.push(inst, "instance.delete", {"instanceName": inst.name, "instanceId": inst.id})
        self.session.push(inst, "remove.instance", None)
        del self.instances[inst.name]
        return OK, {"status": "SUCCESS", "error": False, "response": {"message": "Instance deleted"}}

    def _set(self, inst: Instance, _query: dict, body: dict, _key: str) -> tuple[int, dict]:
        """webhook.router.ts:17-26 validated by webhook.schema.ts:25-51 (jsonschema's messages,
        abstract.router.ts:46-59), then webhook.controller.ts:20-55; 201 with the row."""
        hook = body.get("webhook")
        if not isinstance(hook, dict):
            raise EvolutionError(400, ['instance requires property "webhook"'])
        errors = [f'webhook requires property "{k}"' for k in ("enabled", "url") if k not in hook]
        errors += [f"webhook.{k} is not of a type(s) {t}" for k, t in (("enabled", "boolean"), ("url", "string"),
                   ("headers", "object"), ("byEvents", "boolean"), ("base64", "boolean"))
                   if k in hook and not _is(hook[k], t)]
        events = hook.get("events")
        if "events" in hook and not isinstance(events, list):
            errors.append("webhook.events is not of a type(s) array")
        errors += [f"webhook.events[{n}] is not one of enum values: {','.join(EVENTS)}"
                   for n, e in enumerate(events if isinstance(events, list) else []) if e not in EVENTS]
        if errors:
            raise EvolutionError(400, errors)
        if hook["enabled"] and "events" not in hook:  # :28 reads events.length: a TypeError, answered 500
            raise EvolutionError(500, "Cannot read properties of undefined (reading 'length')")
        return 201, self._store_webhook(inst, hook)

    def _find(self, inst: Instance, *_: Any) -> tuple[int, dict | None]:
        return OK, inst.webhook  # event.controller.ts:104-124: the row, or null

    # ------------------------------------------------------------------ shapes
    @staticmethod
    def _store_webhook(inst: Instance, hook: dict) -> dict:
        events = list(hook.get("events") or EVENTS) if hook.get("enabled") else []  # webhook.controller.ts:25-31
        now = iso(utc_now())
        inst.webhook = {"id": (inst.webhook or {}).get("id") or uuid.uuid4().hex[:25], "url": hook.get("url"),
                        "headers": hook.get("headers"), "enabled": hook.get("enabled"), "events": events,
                        "webhookByEvents": bool(hook.get("byEvents")), "webhookBase64": bool(hook.get("base64")),
                        "createdAt": (inst.webhook or {}).get("createdAt", now), "updatedAt": now,
                        "instanceId": inst.id}
        return inst.webhook

    @staticmethod
    def _state_reply(inst: Instance) -> dict:
        return {"instance": {"instanceName": inst.name, "state": inst.state}}

    @staticmethod
    def _qr_reply(inst: Instance) -> dict:
        """The qrCode getter (baileys.service.ts:299-306): undefined fields are left out."""
        return {k: inst.qrcode[k] for k in ("pairingCode", "code", "base64", "count") if k in inst.qrcode}


def _defined(**fields: Any) -> dict:
    return {k: v for k, v in fields.items() if v is not None}


def _is(value: Any, kind: str) -> bool:
    return {"boolean": isinstance(value, bool), "string": isinstance(value, str),
            "object": isinstance(value, dict)}[kind]

