"""lib.provider.webhooks against a real HTTP server: urllib3's real retries, streaming and logging."""

from __future__ import annotations

import http.server
import json
import threading
import time

import pytest
import urllib3.util.connection

from lib.provider.base import Credentials
from lib.provider.webhooks import WebhookClient
from tests.provider.test_webhooks import (  # noqa: F401 - client, debug_logs and mocked are fixtures
    IID, TOKEN, call, check_webhook_error, client, debug_logs, mocked, settings_for,
)
from tests.provider.test_webhooks_failures import ACTIONS

class ScriptedServer:
    """HTTP server on 127.0.0.1 answering with scripted replies, in order; records each request."""

    def __init__(self, *replies):
        self.replies = list(replies)
        self.requests = []
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def handle_any(self):
                length = int(self.headers.get("Content-Length") or 0)
                server.requests.append((self.command, self.path, self.rfile.read(length)))
                server.replies.pop(0)(self)

            do_GET = do_POST = handle_any

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        port = self.httpd.server_address[1]
        self.urls = {a: f"http://127.0.0.1:{port}/{a}" for a in ACTIONS}
        threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def reply(code, body=b"", headers=()):
    def send(handler):
        handler.send_response(code)
        handler.send_header("Content-Length", str(len(body)))
        handler.send_header("Connection", "close")
        for name, value in headers:
            handler.send_header(name, value)
        handler.end_headers()
        handler.wfile.write(body)
        handler.close_connection = True

    return send


@pytest.fixture
def server_factory():
    servers = []

    def make(*replies):
        servers.append(ScriptedServer(*replies))
        return servers[-1]

    yield make
    for server in servers:
        server.close()


def test_real_status_get_is_retried_and_urllib3_logs_hide_the_token(server_factory, debug_logs, retry_waits):
    server = server_factory(reply(503, headers=[("Retry-After", "30")]), reply(200, b'{"status": "open"}'))
    client = WebhookClient(settings_for(server.urls, timeout=5.0))
    assert client.status(IID, TOKEN).status == "connected"
    assert all(seconds < 1 for seconds in retry_waits), retry_waits  # a provider's Retry-After does not stall the call
    assert [r[0] for r in server.requests] == ["GET", "GET"]
    assert "token=***" in debug_logs.text  # urllib3 logged the request line, masked
    assert TOKEN not in debug_logs.text


def test_real_post_is_not_retried(server_factory, debug_logs):
    server = server_factory(reply(503), reply(200, b'{"instance_id": "a", "token": "t"}'))
    client = WebhookClient(settings_for(server.urls, timeout=5.0))
    check_webhook_error(lambda: client.create("x"), debug_logs, "Erro no provedor (HTTP 503) ao criar instância", action="create")
    assert len(server.requests) == 1 and json.loads(server.requests[0][2]) == {"name": "x"}


def test_real_chunked_body(server_factory):
    def chunked(handler):
        handler.send_response(200)
        handler.send_header("Transfer-Encoding", "chunked")
        handler.send_header("Connection", "close")
        handler.end_headers()
        for part in (b'{"instance_id": ', b'"abc", "token": "t"}'):
            handler.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
            handler.wfile.flush()
        handler.wfile.write(b"0\r\n\r\n")
        handler.close_connection = True

    server = server_factory(chunked)
    assert WebhookClient(settings_for(server.urls, timeout=5.0)).create("x") == Credentials("abc", "t")


def test_real_trickling_body_hits_the_overall_deadline(server_factory, debug_logs):
    def trickle(handler):
        handler.send_response(200)
        handler.send_header("Content-Length", "100000")
        handler.end_headers()
        give_up = time.monotonic() + 5  # then hang up, so a client without a deadline fails instead of hanging
        while time.monotonic() < give_up:
            try:
                handler.wfile.write(b" ")
            except OSError:
                return
            time.sleep(0.05)  # each byte arrives well within the read timeout
        handler.close_connection = True

    server = server_factory(trickle)
    client = WebhookClient(settings_for(server.urls, timeout=0.5))
    # a client without a deadline would read to the server's hang-up and fail otherwise
    check_webhook_error(lambda: client.status(IID, TOKEN), debug_logs, "O provedor não respondeu a tempo (verificar status)", action="status")


@pytest.mark.parametrize("action", ACTIONS)
def test_connection_errors_are_not_retried(monkeypatch, debug_logs, action):
    attempts = []

    def refuse(*args, **kwargs):
        attempts.append(args)
        raise ConnectionRefusedError(111, "Connection refused")

    monkeypatch.setattr(urllib3.util.connection, "create_connection", refuse)
    client = WebhookClient(settings_for({a: f"http://127.0.0.1:9/{a}" for a in ACTIONS}, timeout=2.0))
    check_webhook_error(lambda: call(client, action), debug_logs, "Não foi possível conectar ao provedor", action=action)
    assert len(attempts) == 1
