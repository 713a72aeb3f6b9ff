"""The Evolution double's HTTP layer: Express's routing as the server mounts it
(api/routes/index.router.ts:212, 223; instance.router.ts; event/webhook/webhook.router.ts),
its body parsing, and its error replies (main.ts:76-133)."""

from __future__ import annotations

import json
import logging
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, unquote, urlsplit

if TYPE_CHECKING:
    from harness.doubles.evolution import EvolutionDouble

logger = logging.getLogger(__name__)

_REASONS = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 500: "Internal Server Error"}
# (method, route) → whether the route ends in /:instanceName. Restart is POST since 2.2.0
# (commit 92a0d8cc); older servers route PUT.
ROUTES = {
    ("POST", "/instance/create"): False,
    ("GET", "/instance/fetchInstances"): False,
    ("GET", "/instance/connect"): True,
    ("GET", "/instance/connectionState"): True,
    ("DELETE", "/instance/logout"): True,
    ("DELETE", "/instance/delete"): True,
    ("POST", "/instance/restart"): True,
    ("POST", "/webhook/set"): True,
    ("GET", "/webhook/find"): True,
}


class EvolutionError(Exception):
    """What the exceptions/ classes throw ({status, error, message}); main.ts:110-116 answers
    {status, error, response: {message}}. `message` is a list for exceptions/4xx.exception.ts
    built with arguments, the string "Unauthorized" for a bare 401, a string for a TypeError."""

    def __init__(self, status: int, message: Any):
        super().__init__(status)
        self.status, self.message = status, message

    def body(self) -> dict:
        return {"status": self.status, "error": _REASONS[self.status], "response": {"message": self.message}}


def match(method: str, path: str, old_restart: bool) -> tuple[str | None, str | None]:
    """(route, instance name) for a request, (None, None) when Express has no route for it."""
    path = path.rstrip("/") or "/"
    if old_restart and path.startswith("/instance/restart/"):
        method = {"PUT": "POST", "POST": "-"}.get(method, method)
    if ROUTES.get((method, path)) is False:
        return path, None
    route, _, name = path.rpartition("/")
    if ROUTES.get((method, route)) and name:
        return route, unquote(name)
    return None, None


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024
    double: EvolutionDouble

    def handle_error(self, request, client_address) -> None:
        logger.debug("evolution double: request error", exc_info=True)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server: Server

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def do_PUT(self) -> None:
        self._serve("PUT")

    def do_DELETE(self) -> None:
        self._serve("DELETE")

    def _serve(self, method: str) -> None:
        double = self.server.double
        split = urlsplit(self.path)
        route, name = match(method, split.path, double.old_restart)
        double.count(method, route or split.path)
        if double.latency_ms:
            time.sleep(double.latency_ms / 1000)
        try:
            body = self._body()
            if route is None:  # main.ts:121-133 (Express answers 404, never 405)
                self._send(404, {"status": 404, "error": "Not Found",
                                 "response": {"message": [f"Cannot {method} {self.path}"]}})
                return
            status, payload = double.handle(route, name, dict(parse_qsl(split.query)), body,
                                            self.headers.get("apikey"))
        except EvolutionError as exc:
            status, payload = exc.status, exc.body()
        self._send(status, payload)

    def _body(self) -> dict:
        """express.json() parses only a JSON content type; anything else leaves the body {}.
        (A malformed JSON body answers 400 here; the server's exact reply to one is unconfirmed.)"""
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if not raw or "json" not in (self.headers.get("Content-Type") or ""):
            return {}
        try:
            return json.loads(raw)
        except ValueError:
            raise EvolutionError(400, ["Unexpected token in JSON"]) from None

    def _send(self, status: int, payload: Any) -> None:
        data = json.dumps(payload, ensure_ascii=False).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args) -> None:  # the apikey is a header, never logged here
        pass
