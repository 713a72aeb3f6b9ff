"""A reverse proxy on loopback, for tests: it forwards every connection to the app and adds its
own X-Forwarded-For line to the first request of each (the WebSocket handshake is one), as
HAProxy's `option forwardfor` does, claiming the client came from `address`. Enough for the
handshake Streamlit reads the client address from; not a general HTTP proxy."""

from __future__ import annotations

import socket
import threading
from contextlib import contextmanager
from typing import Iterator


def _pipe(source: socket.socket, target: socket.socket) -> None:
    try:
        while chunk := source.recv(65536):
            target.sendall(chunk)
    except OSError:
        pass
    finally:
        for sock in (source, target):
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def _serve(client: socket.socket, upstream_port: int, address: str) -> None:
    upstream = socket.create_connection(("127.0.0.1", upstream_port))
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = client.recv(65536)
        if not chunk:
            return
        head += chunk
    end = head.index(b"\r\n\r\n")
    upstream.sendall(head[:end] + f"\r\nX-Forwarded-For: {address}".encode() + head[end:])
    threading.Thread(target=_pipe, args=(upstream, client), daemon=True).start()
    _pipe(client, upstream)


@contextmanager
def forwarding_proxy(upstream_port: int, address: str) -> Iterator[str]:
    """The proxy's URL while it runs."""
    listener = socket.create_server(("127.0.0.1", 0))
    stopped = threading.Event()

    def accept() -> None:
        while not stopped.is_set():
            try:
                client, _ = listener.accept()
            except OSError:
                return
            threading.Thread(target=_serve, args=(client, upstream_port, address), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}/"
    finally:
        stopped.set()
        listener.close()
