"""The sandbox's HTTP layer: the threaded loopback server, the handler that routes the webhook
contract below to the provider's actions, HttpError (how an action refuses a request), and the
field checks and HTML page those actions use.

| action     | method | path                                 | payload                  | response                   |
|------------|--------|--------------------------------------|--------------------------|----------------------------|
| create     | POST   | /create                              | {name}                   | {instance_id, token}       |
| connect    | POST   | /connect                             | {instance_id, token,     | {qr_code_base64}, or with  |
|            |        |                                      |  phone_number?}          | phone_number {pairing_code}|
| status     | GET    | /status?instance_id=X&token=Y        |                          | {status, phone_number?}    |
| disconnect | POST   | /disconnect                          | {instance_id, token}     | {success: true}            |
| delete     | POST   | /delete                              | {instance_id, token}     | {success: true}            |
| restart    | POST   | /restart                             | {instance_id, token}     | {success: true}            |
| list       | GET    | /instances (header X-Api-Key)        |                          | {instances: [{instance_id, |
|            |        |                                      |                          |  token, status, phone_...}]}|

GET /scan/<instance_id>/<nonce> is the URL in a QR: opening it plays a phone scanning the code
(see provider.py).
"""

from __future__ import annotations

import html
import json
import logging
import re
from contextlib import AbstractContextManager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Mapping, Protocol
from urllib.parse import parse_qs, urlsplit

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 64 * 1024

_QUERY_RE = re.compile(r"\?[^\s'\"]*")


class HttpError(Exception):
    def __init__(self, code: int, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


class Actions(Protocol):
    """What the HTTP layer asks of the provider behind it (provider.py's SandboxProvider)."""

    @property
    def stopped(self) -> bool: ...

    def serving(self) -> AbstractContextManager[None]:
        """Around every webhook request: its latency and the count of requests in flight."""

    def answer(self, action: str, request: dict) -> tuple[int, dict]:
        """(HTTP status, JSON reply) of a webhook action; `request` is the JSON body, or the
        query's fields for a GET. Raises HttpError."""

    def scan_page(self, instance_id: str, nonce: str) -> tuple[int, str]:
        """(HTTP status, HTML page) of a phone opening the URL in a QR."""


# ---------------------------------------------------------------------- HTTP layer
class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256
    provider: Actions

    def handle_error(self, request, client_address) -> None:  # no tracebacks on stderr
        logger.debug("sandbox request error from %s", client_address[0], exc_info=True)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "WhatsAppSandbox/1.0"
    timeout = 60  # idle keep-alive connections are closed after this many seconds
    # Headers and body go out in two writes; with Nagle's algorithm the body of every reply after
    # the first on a keep-alive connection would wait for the client's delayed ACK (~40 ms).
    disable_nagle_algorithm = True
    server: Server

    # path: (method, action)
    _ROUTES = {"/create": ("POST", "create"), "/connect": ("POST", "connect"), "/disconnect": ("POST", "disconnect"),
               "/delete": ("POST", "delete"), "/restart": ("POST", "restart"), "/status": ("GET", "status"),
               "/instances": ("GET", "list")}

    def version_string(self) -> str:
        return self.server_version

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def _dispatch(self, method: str) -> None:
        provider = self.server.provider
        path = urlsplit(self.path).path
        if provider.stopped:
            self.close_connection = True
            self._send_json(503, {"error": "sandbox stopped"})
            return
        if method == "GET" and path.startswith("/scan/"):
            self._handle_scan(provider, path)
            return
        expected, action = self._ROUTES.get(path, (None, None))
        if expected is None:
            self._discard_body()
            self._send_json(404, {"error": "not found"})
            return
        if expected != method:
            self._discard_body()
            self._send_json(405, {"error": "method not allowed"}, extra_headers={"Allow": expected})
            return
        with provider.serving():
            try:
                if method == "GET":
                    query = parse_qs(urlsplit(self.path).query)
                    request = {key: values[0] for key, values in query.items() if values}
                    request["api_key"] = self.headers.get("X-Api-Key") or ""
                else:
                    request = self._read_json()
                code, payload = provider.answer(action, request)
            except HttpError as exc:
                code, payload = exc.code, {"error": exc.message}
        # replied after leaving, so a client's next call never overlaps this one in the count
        self._send_json(code, payload)

    def _handle_scan(self, provider: Actions, path: str) -> None:
        parts = path.split("/")  # ["", "scan", id, nonce]
        if len(parts) != 4 or not parts[2] or not parts[3]:
            self._send_html(404, result_page("Página não encontrada", "Endereço de QR inválido."))
            return
        code, page = provider.scan_page(parts[2], parts[3])
        self._send_html(code, page)

    def _read_json(self) -> dict:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            self.close_connection = True
            raise HttpError(411, "content-length required")
        raw_length = self.headers.get("Content-Length") or "0"
        try:
            length = int(raw_length)
        except ValueError:
            self.close_connection = True
            raise HttpError(400, "invalid content-length") from None
        if length < 0:
            self.close_connection = True
            raise HttpError(400, "invalid content-length")
        if length > MAX_BODY_BYTES:
            self.close_connection = True
            raise HttpError(413, "body too large")
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise HttpError(400, "invalid JSON body") from None
        if not isinstance(body, dict):
            raise HttpError(400, "JSON body must be an object")
        return body

    def _discard_body(self) -> None:
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if 0 <= length <= MAX_BODY_BYTES and "chunked" not in (self.headers.get("Transfer-Encoding") or "").lower():
            if length:
                self.rfile.read(length)
        else:
            self.close_connection = True

    def _send_json(self, code: int, payload: dict, extra_headers: Mapping[str, str] | None = None) -> None:
        self._send(code, json.dumps(payload).encode("utf-8"), "application/json; charset=utf-8", extra_headers)

    def _send_html(self, code: int, page: str) -> None:
        self._send(code, page.encode("utf-8"), "text/html; charset=utf-8")

    def _send(self, code: int, data: bytes, content_type: str, extra_headers: Mapping[str, str] | None = None) -> None:
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        for key, value in (extra_headers or {}).items():
            self.send_header(key, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(data)

    def log_request(self, code="-", size="-") -> None:
        # Never the request line as-is: the status query string carries the token.
        # (command/path are unset when the request line itself was malformed)
        path = urlsplit(getattr(self, "path", None) or "").path
        logger.debug("%s %s -> %s", getattr(self, "command", None) or "-", path or "-", code)

    def log_message(self, format: str, *args) -> None:
        logger.debug("sandbox: %s", _QUERY_RE.sub("?…", format % args))


# ---------------------------------------------------------------------- helpers
def credentials(body: dict) -> tuple[str, str]:
    instance_id, token = body.get("instance_id"), body.get("token")
    if not isinstance(instance_id, str) or not instance_id:
        raise HttpError(400, "missing or invalid field: instance_id")
    if not isinstance(token, str) or not token:
        raise HttpError(400, "missing or invalid field: token")
    return instance_id, token


def phone_number(body: dict) -> str | None:
    """The optional `phone_number` of a connect as "+<digits>" (8 to 15 digits, a leading + allowed)."""
    value = body.get("phone_number")
    if value is None:
        return None
    digits = value[1:] if isinstance(value, str) and value.startswith("+") else value
    if not isinstance(digits, str) or not digits.isascii() or not digits.isdigit() or not 8 <= len(digits) <= 15:
        raise HttpError(400, "invalid field: phone_number")
    return "+" + digits


def result_page(title: str, message: str) -> str:
    t, m = html.escape(title), html.escape(message)
    return (
        '<!doctype html><html lang="pt-BR"><head><meta charset="utf-8">'
        f"<title>{t}</title></head><body><h1>{t}</h1><p>{m}</p></body></html>"
    )
