"""A loopback HTTP server that records the JSON bodies POSTed to it: the app's pushes (sandbox →
/api/provider-events) and Apprise's json:// alerts. It can answer an error, hang until released, or
trickle its answer one byte at a time (a read timeout never fires: only a wall-clock limit helps)."""

from __future__ import annotations

import json
import queue
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

T = 10  # seconds a test waits for a request that should come (a safety net, never asserted)
TRICKLE_BYTES = 1000  # a trickled answer's length: at 50 ms a byte, it would take 50 s


class Receiver:
    def __init__(self, status: int = 200, trickle_seconds: float | None = None, reply: bytes = b""):
        self.status = status
        self.reply = reply  # the answer's body (Slack's webhooks answer "ok")
        self.trickle_seconds = trickle_seconds  # set: the answer's body comes one byte per interval, until released
        self.answered = threading.Event()  # an answer was sent in full
        self.received: queue.Queue[tuple[str, dict, dict]] = queue.Queue()  # (path, headers, body)
        self.hang = threading.Event()  # set: every request waits for release before it is answered
        self.release = threading.Event()
        self.waiting = threading.Event()  # a request is held by `hang`
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                receiver.received.put((self.path, dict(self.headers), json.loads(body or b"{}")))
                if receiver.hang.is_set():
                    receiver.waiting.set()
                    receiver.release.wait(60)
                if receiver.trickle_seconds is None:
                    self.send_response(receiver.status)
                    self.send_header("Content-Length", str(len(receiver.reply)))
                    self.end_headers()
                    self.wfile.write(receiver.reply)
                elif not self._trickle():
                    return  # released: the answer is cut short
                receiver.answered.set()

            def _trickle(self) -> bool:
                self.send_response(receiver.status)
                self.send_header("Content-Length", str(TRICKLE_BYTES))
                self.end_headers()
                for _ in range(TRICKLE_BYTES):
                    if receiver.release.wait(receiver.trickle_seconds):
                        return False
                    try:
                        self.wfile.write(b" ")
                        self.wfile.flush()
                    except OSError:  # the client gave up
                        return False
                return True

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        # serve_forever checks for shutdown every poll_interval: 0.05 s, not its 0.5 s, ends a test sooner
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def url(self, path: str = "/") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def next(self, timeout: float = T) -> tuple[str, dict, dict]:
        return self.received.get(timeout=timeout)

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self) -> "Receiver":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
