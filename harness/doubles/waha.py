"""A double of WAHA (devlikeapro/waha, the WhatsApp HTTP API) that behaves as its source does,
quirks included: a real HTTP server on 127.0.0.1 (port 0), sessions in memory, the NOWEB engine.

    with WahaDouble(api_key="key") as waha:           # WahaDouble(...).start() / .stop() also do
        provider = WahaProvider(waha.base_url, "key")
        ...
        waha.simulate_scan("cobranca", "5511999998888")  # the phone scans the QR

With `api_key` set every request needs `X-Api-Key` (or `?x-api-key=`), else 401
{"message": "Unauthorized", "statusCode": 401} (passport's AuthGuard, HeaderOrQueryApiKeyStrategy).
Errors are NestJS's {"statusCode", "message", "error"} unless shown otherwise; POST answers 201.

GET /api/sessions[?all=true]
    200 [SessionInfo]; without all=true only the running ones (not STOPPED).
POST /api/sessions {name?, start?, config?}
    201 SessionInfo, STOPPED unless start is true; 422 "Session 'x' already exists. Use PUT to
    update it."; 400 a name outside [a-zA-Z0-9_-]{0,54}, a bad webhook url or event.
GET /api/sessions/{s}
    200 SessionInfo; 404 "Session not found".
PUT /api/sessions/{s} {config?}
    200 SessionInfo; the config is replaced whole and a running session restarts; 404.
DELETE /api/sessions/{s}
    200, empty body, known or not (idempotent).
POST /api/sessions/{s}/start | /restart
    201 SessionInfo (STARTING); 404; start of a running session: 422 "Session 's' is already started."
POST /api/sessions/{s}/stop
    201 SessionInfo (STOPPED); an unknown session: 201, empty body.
POST /api/sessions/{s}/logout
    201 SessionInfo: credentials gone, and a running session started again (STARTING); 404.
GET /api/{s}/auth/qr[?format=raw]
    200 image/png; with `Accept: application/json` (exactly) {"mimetype": "image/png", "data":
    base64}; raw: {"value": the QR text}. Not SCAN_QR_CODE within status_wait_seconds: 422
    {"error": "Session status is not as expected...", "session", "status", "expected": [...]}, or
    {"error": "Session \"s\" does not exist", "session"}.
POST /api/{s}/auth/request-code {phoneNumber, method?}
    201 {"code": "ABCD-EFGH"}; not running: 404 "We didn't find a session with name 's'..."; not
    SCAN_QR_CODE: 422 "Can request code only in SCAN_QR_CODE status. The current status is X";
    any method: 422.

SessionInfo: {"name", "status", "config" (absent when created without one), "me": {"id":
"5511999998888@c.us", "pushName"} or null (null when STOPPED), "presence": null, "timestamps":
{"activity": null}, "engine": {"engine": "NOWEB"}, or {} when STOPPED}. With `core=True` any
session but "default" answers 422 "WAHA Core support only 'default' session...". The pushes:
waha_pushes.py; the engine: waha_sessions.py.

Sources (devlikeapro/waha; "@55fc6a4" is 2024.10.8 as fetched, whose line numbers these are; the
others are the newest stored versions): sessions.controller.ts:48-221; manager.core.ts:38-44,
96-100, 124-139, 192-217, 254-328; auth.controller.ts:37-65; BufferResponseInterceptor.ts:39-51;
AllExceptionsFilter.ts:53-56; sessions.dto.ts:141-203; webhooks.config.dto.ts:43-108;
webhooks.dto.ts:94-142; session.noweb.core.ts:373-411, 515-564; session.webjs.core.ts:320-330.
Newest: SessionService.ts@38cd5f2, sessions.controller.ts@38cd5f2, auth.controller.ts@38cd5f2,
manager.abc.ts (restart, waitUntilStatus, populateSessionInfo), manager.core.ts (unpair),
HeaderOrQueryApiKeyStrategy.ts@38cd5f2, SessionName.ts, the NOWEB connection.update "close"
handler. waha-docs: how-to/sessions/index.md, sessions/-qr-code.md:4-6, how-to/events/index.md:
139-170 and 305-415, overview/changelog (2024.11.5: custom headers in Core).
"""

from __future__ import annotations

import hmac
import json
import re
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable
from urllib.parse import parse_qs, unquote, urlsplit

from harness.doubles.waha_requests import WahaHttpError, nest_error
from harness.doubles.waha_sessions import Sessions

_BOOLEAN = {"true": True, "True": True, "1": True, "false": False, "False": False, "0": False}  # BooleanString.ts
Action = Callable[["WahaDouble", str, dict, dict, dict], tuple[int, Any]]


def _every(query: dict) -> bool:
    value = query.get("all", "false")
    if value not in _BOOLEAN:
        raise nest_error(400, ["all must be a boolean value"])
    return _BOOLEAN[value]


_S = r"/api/sessions/(?P<s>[^/]+)"
_ROUTES: tuple[tuple[str, re.Pattern, Action], ...] = tuple((verb, re.compile(path), action) for verb, path, action in (
    ("GET", r"/api/sessions/?", lambda d, s, q, h, b: (200, d.list_sessions(_every(q)))),
    ("POST", r"/api/sessions/?", lambda d, s, q, h, b: (201, d.create_session(b))),
    ("GET", _S, lambda d, s, q, h, b: (200, d.get_session(s))),
    ("PUT", _S, lambda d, s, q, h, b: (200, d.update_session(s, b))),
    ("DELETE", _S, lambda d, s, q, h, b: (200, d.delete_session(s))),
    ("POST", _S + "/start", lambda d, s, q, h, b: (201, d.start_session(s))),
    ("POST", _S + "/stop", lambda d, s, q, h, b: (201, d.stop_session(s))),
    ("POST", _S + "/logout", lambda d, s, q, h, b: (201, d.logout_session(s))),
    ("POST", _S + "/restart", lambda d, s, q, h, b: (201, d.restart_session(s))),
    ("GET", r"/api/(?P<s>[^/]+)/auth/qr", lambda d, s, q, h, b: (200, d.qr(s, q.get("format") == "raw",
                                                                             h.get("Accept")))),
    ("POST", r"/api/(?P<s>[^/]+)/auth/request-code", lambda d, s, q, h, b: (201, d.request_code(s, b))),
))


class WahaDouble(Sessions):
    """The server and its test controls (those of Sessions, and below). `latency_ms` delays every
    reply; `fail_next` answers the next request to a path with what the test chose."""

    def __init__(self, api_key: str = "", *, latency_ms: int = 0, **engine: Any):
        super().__init__(**engine)
        self.api_key, self.latency_ms = api_key, latency_ms
        self._counts: Counter[str] = Counter()
        self._faults: dict[tuple[str, str], tuple[int, Any]] = {}
        self._server: _Server | None = None

    def start(self) -> WahaDouble:
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.double = self
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="waha-double",
                         daemon=True).start()
        self._pusher.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._pusher.stop()

    def __enter__(self) -> WahaDouble:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        assert self._server is not None, "start() first"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def count(self, method: str, path: str) -> int:
        """How many requests came for `method` `path` (the path without its query)."""
        with self._lock:
            return self._counts[f"{method} {path}"]

    def fail_next(self, method: str, path: str, status: int, body: Any = None) -> None:
        """The next `method` `path` answers `status` with `body` (JSON; None: empty), whatever it asked."""
        with self._lock:
            self._faults[(method, path)] = (status, body)

    def handle(self, method: str, target: str, headers: dict, raw: bytes) -> tuple[int, Any]:
        """One request: (status, reply: a JSON value, PNG bytes, or None for an empty body)."""
        path, query = urlsplit(target).path, {k: v[-1] for k, v in parse_qs(urlsplit(target).query).items()}
        with self._lock:
            self._counts[f"{method} {path}"] += 1
            fault = self._faults.pop((method, path), None)
        if self.latency_ms:
            time.sleep(self.latency_ms / 1000)
        if fault is not None:
            return fault
        offered = headers.get("X-Api-Key") or query.get("x-api-key") or ""
        if self.api_key and not hmac.compare_digest(offered.encode(), self.api_key.encode()):
            return 401, {"message": "Unauthorized", "statusCode": 401}
        try:
            for verb, pattern, action in _ROUTES:
                match = pattern.fullmatch(path)
                if match and verb == method:
                    name = unquote(match.group("s")) if "s" in pattern.groupindex else ""
                    return action(self, name, query, headers, _json_body(raw) if method in ("POST", "PUT") else {})
            return 404, {"message": f"Cannot {method} {path}", "error": "Not Found", "statusCode": 404}
        except WahaHttpError as exc:
            return exc.code, exc.body


def _json_body(raw: bytes) -> dict:
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except ValueError:
        raise nest_error(400, "Unexpected token in JSON") from None  # body-parser (UNCONFIRMED wording)
    if not isinstance(body, dict):
        raise nest_error(400, "Body must be an object")  # UNCONFIRMED
    return body


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    double: WahaDouble


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # else a keep-alive reply's body waits for the client's delayed ACK
    server: _Server

    def do_GET(self) -> None:
        self._reply("GET")

    def do_POST(self) -> None:
        self._reply("POST")

    def do_PUT(self) -> None:
        self._reply("PUT")

    def do_DELETE(self) -> None:
        self._reply("DELETE")

    def _reply(self, method: str) -> None:
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        headers = {name.title(): value for name, value in self.headers.items()}
        status, reply = self.server.double.handle(method, self.path, headers, raw)
        if isinstance(reply, bytes):
            content_type, data = "image/png", reply
        elif reply is None:  # Express sends a null reply as an empty body
            content_type, data = "", b""
        else:
            content_type, data = "application/json; charset=utf-8", json.dumps(reply).encode()
        self.send_response(status)
        if content_type:
            self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:  # no access log on stderr
        pass
