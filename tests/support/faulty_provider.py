"""A WhatsApp provider that misbehaves on purpose, for the webhook fault tests.

`FaultyProvider` is a real `ThreadingHTTPServer` on 127.0.0.1 (ephemeral port, daemon threads)
speaking the webhook contract of README.md. What each action answers is chosen by the test:

    with FaultyProvider() as server:
        server.set_fault("connect", "html_page")
        WebhookClient(server.webhook_settings()).connect("inst-1", TOKEN)   # -> ProviderError

`FAULTS` (tests.support.provider_faults) lists every behaviour. Two failures no server can play
have their own helpers (tests.support.unreachable): `refused_url()` (a port that was bound, then
closed) and `BacklogFull` (a listener whose accept queue is full, so a new connection hangs in SYN:
a connect timeout, on loopback).

Everything is bounded: a stall lasts until `close()` (at most STALL_LIMIT_SECONDS), an endless
body stops when the client hangs up, at `close()`, or at STREAM_CAP_BYTES.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from lib.config.provider import WebhookSettings
from tests.support.provider_faults import FAULTS, STREAM_CAP_BYTES

ACTIONS = ("create", "connect", "status", "disconnect")
API_KEY = "hdr-SECRET-KEY-0123456789"  # sent as a header by the client settings below
# The client's timeout where nothing will answer (a stall, a full accept queue): a 0.25 s timeout
# runs the same code as the default 15 s one. Replies that must arrive keep 1 s (a loaded machine).
NO_ANSWER_TIMEOUT_SECONDS = 0.25
_STREAM_CHUNK = b"x" * (64 * 1024)


@dataclass(frozen=True)
class Request:
    action: str
    method: str
    token: str | None  # the token the client sent (connect, status, disconnect)


@dataclass
class Stream:
    """One endless body: how many bytes the client accepted before it hung up."""

    action: str
    sent: int = 0
    done: threading.Event = field(default_factory=threading.Event)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 10  # socket timeout: a write to a client that stopped reading gives up (close() joins handlers)
    server: "_Server"

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def log_message(self, *args) -> None:  # keep test output quiet
        pass

    def _handle(self) -> None:
        self.close_connection = True  # one request per connection: no state leaks between faults
        url = urlsplit(self.path)
        action = url.path.strip("/")
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if action not in ACTIONS:
            self.reply(404, {"error": "no such webhook"})
            return
        try:
            body = json.loads(raw) if raw else {}
        except ValueError:
            body = {}
        token = body.get("token") if isinstance(body, dict) else None
        token = token or parse_qs(url.query).get("token", [None])[0]
        provider = self.server.provider
        fault = provider.record(Request(action, self.command, token))
        FAULTS[fault](self, provider, action, token)

    # -- reply helpers -------------------------------------------------------------------------
    def reply(self, code: int, payload, content_type: str = "application/json") -> None:
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)

    def headers_only(self, length: int, **extra: str) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        if length >= 0:
            self.send_header("Content-Length", str(length))
        for name, value in extra.items():
            self.send_header(name.replace("_", "-"), value)
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.flush()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    provider: "FaultyProvider"



class FaultyProvider:
    """Context manager: the server runs inside the `with` block and is stopped, released and
    closed at its end."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults = dict.fromkeys(ACTIONS, "ok")
        self._number = 0
        self.requests: list[Request] = []
        self.streams: list[Stream] = []
        self.released = threading.Event()  # ends every stall and stream
        self._httpd = _Server(("127.0.0.1", 0), _Handler)
        self._httpd.provider = self
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    # -- lifecycle -------------------------------------------------------------------------------
    def __enter__(self) -> "FaultyProvider":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        """Ends stalls and streams, stops serving, then joins the handler threads (server_close)."""
        self.released.set()
        if self._thread.is_alive():
            self._httpd.shutdown()
        self._httpd.server_close()

    # -- what the test sets and reads ----------------------------------------------------------------
    @property
    def urls(self) -> dict[str, str]:
        port = self._httpd.server_address[1]
        return {action: f"http://127.0.0.1:{port}/{action}" for action in ACTIONS}

    def webhook_settings(self, timeout_seconds: float = 1.0) -> WebhookSettings:
        return settings_for(self.urls, timeout_seconds)

    def set_fault(self, action: str, fault: str) -> None:
        if action not in ACTIONS or fault not in FAULTS:
            raise ValueError(f"unknown action or fault: {action!r}, {fault!r}")
        with self._lock:
            self._faults[action] = fault

    def calls(self, action: str) -> int:
        with self._lock:
            return sum(r.action == action for r in self.requests)

    def finished_stream(self, action: str, wait_seconds: float = 10.0) -> Stream:
        """The latest endless body of `action`, once it has ended (AssertionError if it does not)."""
        with self._lock:
            streams = [s for s in self.streams if s.action == action]
        assert streams, f"no {action} stream was started"
        assert streams[-1].done.wait(wait_seconds), f"the {action} stream did not end"
        return streams[-1]

    # -- used by the handler ---------------------------------------------------------------------------
    def record(self, request: Request) -> str:
        with self._lock:
            self.requests.append(request)
            return self._faults[request.action]

    def next_number(self) -> int:
        with self._lock:
            self._number += 1
            return self._number

    def new_stream(self, action: str) -> Stream:
        stream = Stream(action)
        with self._lock:
            self.streams.append(stream)
        return stream

    def pump(self, handler: _Handler, stream: Stream, *, chunked: bool) -> None:
        """Writes chunks until the client hangs up, `close()`, or STREAM_CAP_BYTES."""
        frame = b"%x\r\n%s\r\n" % (len(_STREAM_CHUNK), _STREAM_CHUNK) if chunked else _STREAM_CHUNK
        try:
            while stream.sent + len(_STREAM_CHUNK) <= STREAM_CAP_BYTES and not self.released.is_set():
                handler.wfile.write(frame)
                stream.sent += len(_STREAM_CHUNK)
        except OSError:  # BrokenPipeError, ConnectionResetError: the client stopped reading
            pass
        finally:
            stream.done.set()


def settings_for(urls: dict[str, str], timeout_seconds: float = 1.0) -> WebhookSettings:
    return WebhookSettings(
        create_url=urls["create"],
        connect_url=urls["connect"],
        status_url=urls["status"],
        disconnect_url=urls["disconnect"],
        headers={"apikey": API_KEY},
        timeout_seconds=timeout_seconds,
    )


def urls_at(base: str) -> dict[str, str]:
    return {action: f"{base}/{action}" for action in ACTIONS}
