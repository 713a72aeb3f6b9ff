"""The client address the app counts a request under (lib.client_address), on a real uvicorn
server process with uvicorn's defaults, as Streamlit runs the app (proxy headers on, believed from
127.0.0.1): plain HTTP requests and WebSocket handshakes from this machine carrying X-Forwarded-For
in one line, in several lines, as lists, with ports, and garbage. The whole product in Chromium:
tests/ui/test_browser_client_address.py."""

from __future__ import annotations

import http.client
import json
import re
import subprocess
import sys
from contextlib import contextmanager

import pytest
from websockets.sync.client import connect

from lib.client_address import forwarded_client
from tests.conftest import ROOT


@contextmanager
def uvicorn(app: str):
    process = subprocess.Popen([sys.executable, "-m", "uvicorn", f"tests.support.client_echo:{app}",
                                "--host", "127.0.0.1", "--port", "0", "--no-access-log"],
                               cwd=ROOT, stderr=subprocess.PIPE, text=True)
    try:
        for line in process.stderr:
            found = re.search(r"Uvicorn running on http://127\.0\.0\.1:(\d+)", line)
            if found:
                yield int(found[1])
                break
        else:
            raise AssertionError("uvicorn did not start")
    finally:
        process.terminate()
        process.wait(timeout=10)


def over_http(port: int, forwarded: list[str]) -> list | None:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.putrequest("GET", "/")
    for value in forwarded:  # one header line each
        connection.putheader("X-Forwarded-For", value)
    connection.endheaders()
    answer = json.loads(connection.getresponse().read())
    connection.close()
    return answer


def over_websocket(port: int, forwarded: list[str]) -> list | None:
    with connect(f"ws://127.0.0.1:{port}/", additional_headers=[("X-Forwarded-For", v) for v in forwarded],
                 open_timeout=10) as socket:
        return json.loads(socket.recv(timeout=10))


LINES = [
    ["198.51.100.9"],  # a client choosing its own address
    ["198.51.100.9, 203.0.113.7"],  # nginx: what the client sent, then the address the proxy saw
    ["198.51.100.9", "203.0.113.7"],  # HAProxy's option forwardfor: a line of its own, last
    ["198.51.100.9", "203.0.113.7:4711"],  # with a port
    ["10.1.1.1, 198.51.100.9", "[2001:db8::7]:443"],  # a list, then an IPv6 line with a port
    ["198.51.100.9, not-an-address"],  # garbage last: no address from the header
]


@pytest.mark.parametrize("ask", [over_http, over_websocket], ids=["http", "websocket"])
def test_with_trust_off_the_address_is_the_connections_whatever_the_header_says(ask):
    with uvicorn("trusting_nobody") as port:
        for forwarded in LINES:
            host, source_port = ask(port, forwarded)
            assert host == "127.0.0.1" and source_port > 0, forwarded  # the socket's own peer


@pytest.mark.parametrize("ask", [over_http, over_websocket], ids=["http", "websocket"])
def test_with_trust_on_the_address_is_the_last_one_the_proxy_added(ask):
    expected = ["198.51.100.9", "203.0.113.7", "203.0.113.7", "203.0.113.7", "2001:db8::7", None]
    with uvicorn("behind_a_proxy") as port:
        for forwarded, address in zip(LINES, expected):
            host, _ = ask(port, forwarded)
            assert host == (address or "127.0.0.1"), forwarded  # no usable address: the connection's
        assert ask(port, [])[0] == "127.0.0.1"  # no header at all: the connection's


def test_the_right_most_entry_is_read_across_lines_and_oversized_values_are_ignored():
    assert forwarded_client([b"1.1.1.1", b"2.2.2.2, 3.3.3.3"]) == "3.3.3.3"
    assert forwarded_client([b" 203.0.113.7 "]) == "203.0.113.7"
    assert forwarded_client([b"1.1.1.1,"]) is None  # an empty last entry is no address
    assert forwarded_client([b"1.1.1.1, " + b"9" * 9000]) is None
    assert forwarded_client([]) is None
