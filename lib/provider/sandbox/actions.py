"""The sandbox's webhook actions: what server.py's Handler asks of the provider (answer, scan_page),
on its instances."""

from __future__ import annotations

import base64
import io
import secrets
from abc import ABC, abstractmethod

import qrcode

from lib.provider.sandbox.instances import SandboxInstances
from lib.provider.sandbox.server import HttpError, credentials, phone_number, result_page
from lib.provider.sandbox.state import STATUS_CONNECTED, STATUS_CONNECTING, STATUS_DISCONNECTED, Instance

PAIRING_CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I/L to misread


class WebhookActions(SandboxInstances, ABC):
    """The webhook contract's actions on the instances (SandboxProvider's base class: it serves
    them, and says where with base_url)."""

    @property
    @abstractmethod
    def base_url(self) -> str:
        """Where the actions are served: the start of the URL in a QR."""

    def answer(self, action: str, request: dict) -> tuple[int, dict]:
        handler = {"create": self._create, "connect": self._connect, "status": self._status,
                   "disconnect": self._disconnect, "delete": self._delete, "restart": self._restart,
                   "list": self._list}[action]
        return handler(request)

    def scan_page(self, instance_id: str, nonce: str) -> tuple[int, str]:
        return self._scan(instance_id, nonce)

    def _create(self, body: dict) -> tuple[int, dict]:
        name = body.get("name")
        if not isinstance(name, str) or not name.strip():
            raise HttpError(400, "missing or invalid field: name")
        token = secrets.token_urlsafe(24)
        with self._lock:
            instance_id = f"sbx-{secrets.token_hex(4)}"
            while instance_id in self._instances:
                instance_id = f"sbx-{secrets.token_hex(4)}"
            self._instances[instance_id] = Instance(instance_id=instance_id, token=token, name=name.strip())
            self._save()
        return 200, {"instance_id": instance_id, "token": token}

    def _connect(self, body: dict) -> tuple[int, dict]:
        """A QR, or with `phone_number` a pairing code for that number (the other stays valid)."""
        instance_id, token = credentials(body)
        phone = phone_number(body)
        nonce = secrets.token_urlsafe(8)
        with self._lock:
            inst = self._authorized(instance_id, token)
            now = self._clock()
            self._refresh(inst, now)
            if inst.status == STATUS_CONNECTED:
                raise HttpError(409, "instance already connected")
            if inst.status != STATUS_CONNECTING:
                inst.status = STATUS_CONNECTING
                self._changed(inst, push=False)  # asked by the app itself: nothing to tell it
            if inst.connecting_since is None:
                inst.connecting_since = now
            if phone is not None:
                code = "".join(secrets.choice(PAIRING_CODE_ALPHABET) for _ in range(8))
                inst.pairing_code, inst.pairing_phone, inst.code_issued_at = code, phone, now
                return 200, {"pairing_code": code}
            url = f"{self.base_url}/scan/{instance_id}/{nonce}"
            inst.nonce = nonce
            inst.qr_issued_at = now
            inst.last_scan_url = url
        return 200, {"qr_code_base64": _qr_png_base64(url)}

    def _status(self, query: dict[str, str]) -> tuple[int, dict]:
        instance_id = query.get("instance_id") or ""
        token = query.get("token") or ""
        if not instance_id:
            raise HttpError(400, "missing or invalid field: instance_id")
        if not token:
            raise HttpError(400, "missing or invalid field: token")
        with self._lock:
            inst = self._authorized(instance_id, token)
            self._refresh(inst, self._clock())
            payload: dict = {"status": inst.status}
            if inst.status == STATUS_CONNECTED:
                payload["phone_number"] = inst.phone_number
        return 200, payload

    def _disconnect(self, body: dict) -> tuple[int, dict]:
        instance_id, token = credentials(body)
        with self._lock:
            inst = self._authorized(instance_id, token)
            if inst.status == STATUS_DISCONNECTED:
                self._forget_qr(inst)
            else:
                self._mark_disconnected(inst, push=False)  # asked by the app itself: nothing to tell it
        return 200, {"success": True}

    def _delete(self, body: dict) -> tuple[int, dict]:
        instance_id, token = credentials(body)
        with self._lock:
            inst = self._authorized(instance_id, token)
            self._phones.discard(inst.phone_number or "")
            del self._instances[instance_id]
            self._save()
        return 200, {"success": True}

    def _restart(self, body: dict) -> tuple[int, dict]:
        """Like a real provider's restart: the session comes back as it was (a connected number stays
        connected; one waiting for a QR gets a new QR on its next connect)."""
        instance_id, token = credentials(body)
        with self._lock:
            inst = self._authorized(instance_id, token)
            if inst.status == STATUS_CONNECTING:
                inst.nonce = inst.qr_issued_at = None
        return 200, {"success": True}

    def _list(self, query: dict[str, str]) -> tuple[int, dict]:
        if not secrets.compare_digest((query.get("api_key") or "").encode(), self.api_key.encode()):
            raise HttpError(401, "invalid api key")
        with self._lock:
            for inst in self._instances.values():
                self._refresh(inst, self._clock())
            instances = [{"instance_id": i.instance_id, "token": i.token, "name": i.name, "status": i.status,
                          "phone_number": i.phone_number} for i in self._instances.values()]
        return 200, {"instances": instances}

    def _scan(self, instance_id: str, nonce: str) -> tuple[int, str]:
        with self._lock:
            inst = self._instances.get(instance_id)
            if inst is None:
                return 404, result_page("Instância não encontrada", "Este QR não pertence a nenhuma instância.")
            now = self._clock()
            self._refresh(inst, now)
            if inst.status == STATUS_CONNECTED:
                return 409, result_page("Instância já conectada", "Este QR não é mais necessário.")
            fresh = (
                inst.nonce is not None
                and secrets.compare_digest(inst.nonce, nonce)
                and inst.qr_issued_at is not None
                and now - inst.qr_issued_at <= self.qr_ttl_seconds
            )
            if not fresh:
                return 410, result_page("QR expirado", "Este QR expirou ou foi substituído. Gere um novo QR e tente de novo.")
            self._mark_connected(inst)
            phone = inst.phone_number
        return 200, result_page("QR lido — instância conectada", f"Número conectado: {phone}")

    def _authorized(self, instance_id: str, token: str) -> Instance:
        """The instance, when `token` is its own (lock held)."""
        inst = self._instances.get(instance_id)
        if inst is None:
            raise HttpError(404, "instance not found")
        if not secrets.compare_digest(inst.token.encode(), token.encode()):
            raise HttpError(401, "invalid token")
        return inst


# ---------------------------------------------------------------------- helpers
def _qr_png_base64(text: str) -> str:
    buf = io.BytesIO()
    qrcode.make(text).save(buf, format="PNG")
    return base64.b64encode(buf.getvalue()).decode("ascii")
