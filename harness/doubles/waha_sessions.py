"""The WAHA double's sessions: what WAHA's session manager and NOWEB engine do with a session,
pushing each status change. waha.py serves it over HTTP and lists the sources (line numbers are
those of devlikeapro/waha 2024.10.8; SessionService, waitUntilStatus, the newest NOWEB engine).

A session is STOPPED (not running) or running: STARTING, SCAN_QR_CODE, WORKING or FAILED (a FAILED
session still runs: manager.core.ts:124-127, 136-139). The engine advances a STARTING session
when it is read `starting_reads` more times (deterministic, no timers): to WORKING with valid
credentials, SCAN_QR_CODE without, FAILED with credentials the phone revoked.
"""

from __future__ import annotations

import base64
import dataclasses
import io
import re
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Callable, TypeVar

import qrcode

from harness.doubles.waha_pushes import ENGINE, Pusher, session_status_event
from harness.doubles.waha_requests import WahaHttpError, core_only, create_request, nest_error, update_request

T = TypeVar("T")
STOPPED, STARTING, SCAN_QR_CODE, WORKING, FAILED = "STOPPED", "STARTING", "SCAN_QR_CODE", "WORKING", "FAILED"
_CODE_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTVWXYZ"  # UNCONFIRMED: WhatsApp's pairing-code alphabet
NOT_EXPECTED = "Session status is not as expected. Try again later or restart the session"


@dataclass
class Session:
    name: str
    config: dict | None  # None: created without one (the key is then absent from replies)
    status: str = STOPPED
    auth: str = "none"  # the engine's credentials: "none", "paired", "revoked" (removed on the phone)
    me: dict | None = None  # {id, pushName} once paired
    qr_value: str = ""
    qr_png: bytes = b""
    qr_count: int = 0  # QR codes shown since the start (WhatsApp shows at most qr_limit)
    starting_reads: int = 0
    code: str | None = None  # the last pairing code ("ABCD-EFGH") and the number it is for
    code_phone: str | None = None
    statuses: list[dict] = field(default_factory=list)

    @property
    def running(self) -> bool:
        return self.status != STOPPED


class Sessions:
    def __init__(self, *, qr_limit: int = 6, starting_reads: int = 1, status_wait_seconds: float = 0.5,
                 core: bool = False):
        # WhatsApp: 6 QR codes, 60 s then 20 s each, then FAILED (waha-docs sessions/-qr-code.md:4-6);
        # WAHA waits 5 s + 10 s for a status (waitUntilStatus); `core`: WAHA Core, one session only.
        self.qr_limit, self.starting_reads, self.status_wait_seconds = qr_limit, starting_reads, status_wait_seconds
        self.core = core
        self._lock = threading.RLock()
        self._sessions: dict[str, Session] = {}
        self._last_ms = 0
        self._pusher = Pusher()

    # -- the API (waha.py routes requests here; each returns the reply body) ------------------
    def list_sessions(self, every: bool) -> list[dict]:
        with self._lock:  # manager.core.ts:266-294: without ?all=true, running sessions only
            return [self._info(self._observe(s)) for s in self._sessions.values() if every or s.running]

    def get_session(self, name: str) -> dict:
        with self._lock:
            return self._info(self._observe(self._existing(name)))

    def create_session(self, body: dict) -> dict:
        name, start, config = create_request(body)
        with self._lock:
            self._only_default(name)
            if name in self._sessions:  # sessions.controller.ts:85-88
                raise nest_error(422, f"Session '{name}' already exists. Use PUT to update it.")
            session = self._sessions[name] = Session(name, config)
            if start:  # sessions.controller.ts:91-96: an absent `start` does not start it
                self._start(session)
            return self._info(session)

    def update_session(self, name: str, body: dict) -> dict:
        config = update_request(body)  # the whole config is replaced (docs: "full" config)
        with self._lock:
            session = self._existing(name)
            running = session.running  # sessions.controller.ts:112-123: a running session restarts
            self._stop(session)
            session.config = config
            if running:
                self._start(session)
            return self._info(session)

    def delete_session(self, name: str) -> None:
        with self._lock:  # sessions.controller.ts:135-142: stop, logout, delete; idempotent (no 404)
            self._only_default(name)
            session = self._sessions.pop(name, None)
            if session is not None:
                self._stop(session)

    def start_session(self, name: str) -> dict:
        with self._lock:
            session = self._existing(name)
            if session.running:  # manager.core.ts:136-139 (UNCONFIRMED for Plus; the docs say idempotent)
                raise nest_error(422, f"Session '{name}' is already started.")
            self._start(session)
            return self._info(session)

    def stop_session(self, name: str) -> dict | None:
        with self._lock:  # sessions.controller.ts:171-177: no existence check; an unknown one answers null
            self._only_default(name)
            session = self._sessions.get(name)
            if session is None:
                return None
            self._stop(session)
            return self._info(session)

    def logout_session(self, name: str) -> dict:
        with self._lock:  # SessionService.logoutSession: unpair (if running), stop, forget auth, start again
            session = self._existing(name)
            running = session.running
            self._stop(session)
            session.auth, session.me = "none", None
            if running:
                self._start(session)
            return self._info(session)

    def restart_session(self, name: str) -> dict:
        with self._lock:  # manager.abc restart(): 404 if unknown, stop, start
            session = self._existing(name)
            self._stop(session)
            self._start(session)
            return self._info(session)

    def qr(self, name: str, raw: bool, accept: str | None) -> dict | bytes:
        def reply(session: Session) -> dict | bytes:  # auth.controller.ts:37-53, QRCodeSessionPipe
            if raw:
                return {"value": session.qr_value}
            if accept == "application/json":  # BufferResponseInterceptor.ts:39-45: that exact header only
                return {"mimetype": "image/png", "data": base64.b64encode(session.qr_png).decode()}
            return session.qr_png
        return self._wait_for(name, SCAN_QR_CODE, reply)

    def request_code(self, name: str, body: dict) -> dict:
        with self._lock:
            session = self._sessions.get(name)
            if session is None or not session.running:  # SessionPipe -> manager.core.ts:254-264
                raise nest_error(404, f"We didn't find a session with name '{name}'.\n"
                                      f"Please start it first by using POST /api/sessions/{name}/start request")
            if body.get("method"):  # session.noweb.core.ts:543-546
                raise nest_error(422, "NOWEB engine doesn't support any 'method', remove it and try again")
        if session.status == STARTING:  # session.noweb.core.ts:548-551: waits for the first QR
            try:
                self._wait_for(name, SCAN_QR_CODE, lambda found: found)
            except WahaHttpError:
                pass
        with self._lock:
            if session.status != SCAN_QR_CODE:  # session.noweb.core.ts:553-556
                raise nest_error(422, "Can request code only in SCAN_QR_CODE status. "
                                      f"The current status is {session.status}")
            code = "".join(secrets.choice(_CODE_ALPHABET) for _ in range(8))
            session.code, session.code_phone = f"{code[:4]}-{code[4:]}", str(body.get("phoneNumber") or "")
            return {"code": session.code}  # session.noweb.core.ts:558-563: shown as ABCD-ABCD

    # -- test controls: the phone and WhatsApp ---------------------------------------------------
    def simulate_scan(self, name: str, phone: str) -> None:
        """The phone scans the QR: the session pairs with `phone` and goes WORKING."""
        with self._lock:
            session = self._existing(name)
            if session.status != SCAN_QR_CODE:
                raise RuntimeError(f"{name} shows no QR code (status {session.status})")
            self._pair(session, phone)

    def simulate_code(self, name: str, code: str) -> bool:
        """The phone types a pairing code: the session's latest one pairs it with the number it was
        asked for; any other code changes nothing (False)."""
        with self._lock:
            session = self._existing(name)
            typed = code.replace("-", "").upper()
            if session.status != SCAN_QR_CODE or not session.code or typed != session.code.replace("-", ""):
                return False
            self._pair(session, session.code_phone or "")
            return True

    def simulate_drop(self, name: str) -> None:
        """The number is removed on the phone (WhatsApp logs the device out): NOWEB ends FAILED and
        keeps the now useless credentials (session.noweb.core.ts:382-402; newest NOWEB: failed()), so a
        restart fails again until a logout (docs: "Restart ... if it doesn't help - Logout")."""
        with self._lock:
            session = self._existing(name)
            session.auth = "revoked"
            self._set(session, FAILED)

    def rotate_qr(self, name: str) -> None:
        """WhatsApp replaces the QR; when the qr_limit-th code expires unscanned the session goes
        FAILED (newest NOWEB: "QR code has not been scanned yet, force stopping the session")."""
        with self._lock:
            self._rotate(self._existing(name))

    def push_stale(self, name: str, status: str | None = None, age_ms: int = 60_000) -> dict:
        """Pushes a session.status `age_ms` older than the last event (a late delivery, a retry)."""
        with self._lock:
            session = self._existing(name)
            return self._push(session, status or session.status, self._last_ms - age_ms)

    def wait_pushes(self) -> None:
        """Returns once every event pushed so far was delivered (or failed)."""
        self._pusher.wait()

    def snapshot(self, name: str) -> Session:
        """A copy of the session as it is now."""
        with self._lock:
            session = self._existing(name)
            return dataclasses.replace(session, statuses=list(session.statuses))

    # -- the engine ----------------------------------------------------------------------------
    def _start(self, session: Session) -> None:
        session.qr_count, session.code, session.starting_reads = 0, None, self.starting_reads
        self._set(session, STARTING)
        if not self.starting_reads:
            self._advance(session)

    def _stop(self, session: Session) -> None:
        if session.running:
            session.qr_value, session.qr_png, session.code = "", b"", None
            self._set(session, STOPPED)

    def _observe(self, session: Session) -> Session:
        """A read of the session: the engine moves on (see the module docstring)."""
        if session.status == STARTING:
            if session.starting_reads > 0:
                session.starting_reads -= 1
            else:
                self._advance(session)
        return session

    def _advance(self, session: Session) -> None:
        if session.auth == "paired":
            self._set(session, WORKING)
        elif session.auth == "revoked":
            self._set(session, FAILED)
        else:
            self._rotate(session)

    def _rotate(self, session: Session) -> None:
        if session.status not in (STARTING, SCAN_QR_CODE):
            raise RuntimeError(f"{session.name} shows no QR code (status {session.status})")
        if session.qr_count >= self.qr_limit:
            session.qr_value, session.qr_png, session.code = "", b"", None
            self._set(session, FAILED)
            return
        session.qr_count += 1
        session.qr_value = f"2@{secrets.token_urlsafe(48)},{secrets.token_urlsafe(32)},{secrets.token_urlsafe(32)}"
        buffer = io.BytesIO()
        qrcode.make(session.qr_value, border=2).save(buffer, format="PNG")
        session.qr_png = buffer.getvalue()
        self._set(session, SCAN_QR_CODE)  # issued again on every new QR (docs: sessions "Session Status")

    def _pair(self, session: Session, phone: str) -> None:
        digits = re.sub(r"\D", "", phone)
        session.auth, session.me = "paired", {"id": f"{digits}@c.us", "pushName": f"Phone {digits[-4:]}"}
        session.qr_value, session.qr_png, session.code = "", b"", None
        self._set(session, WORKING)

    def _set(self, session: Session, status: str) -> None:
        self._last_ms = max(int(time.time() * 1000), self._last_ms + 1)
        session.status = status
        session.statuses = (session.statuses + [{"status": status, "timestamp": self._last_ms}])[-3:]
        self._push(session, status, self._last_ms)

    def _wait_for(self, name: str, status: str, then: Callable[[Session], T]) -> T:
        """waitUntilStatus: waits (status_wait_seconds) for the session to run and show `status`,
        then answers `then(session)` (under the lock, without holding it while waiting)."""
        self._only_default(name)
        deadline = time.monotonic() + self.status_wait_seconds
        while True:
            with self._lock:
                session = self._sessions.get(name)
                if session is not None and session.running and self._observe(session).status == status:
                    return then(session)
                if time.monotonic() >= deadline:
                    if session is None:
                        raise WahaHttpError(422, {"error": f'Session "{name}" does not exist', "session": name})
                    raise WahaHttpError(422, {"error": NOT_EXPECTED, "session": name,
                                              "status": session.status, "expected": [status]})
            time.sleep(0.01)

    def _existing(self, name: str) -> Session:
        self._only_default(name)
        session = self._sessions.get(name)
        if session is None:
            raise nest_error(404, "Session not found")
        return session

    def _only_default(self, name: str) -> None:
        if self.core and name != "default":
            raise core_only(name)

    def _info(self, session: Session) -> dict:
        """SessionInfo (sessions.dto.ts:141-167; manager.core.ts:266-294, 317-328)."""
        info: dict = {"name": session.name, "status": session.status}
        if session.config is not None:
            info["config"] = session.config
        return {**info, "me": session.me if session.running else None, "presence": None,
                "timestamps": {"activity": None}, "engine": {"engine": ENGINE} if session.running else {}}

    def _push(self, session: Session, status: str, at_ms: int) -> dict:
        config = session.config or {}
        body = session_status_event(session.name, status, at_ms=at_ms, statuses=list(session.statuses),
                                    me=session.me if session.running else None, metadata=config.get("metadata"),
                                    tier="CORE" if self.core else "PLUS")
        self._pusher.send(config.get("webhooks") or [], body)
        return body
