"""Two failures no server can play, for the provider fault tests: a port where nothing listens,
and a listener whose accept queue is full."""

from __future__ import annotations

import socket


def refused_url() -> str:
    """A loopback base URL where nothing listens: the port was bound, then released."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


class BacklogFull:
    """A loopback listener that never accepts, its accept queue already full, so a new
    connection's SYN is dropped and the client's connect times out.

    Linux queues backlog + 1 connections: with listen(0) one filler connection fills the queue.
    `__enter__` checks that a probe connection indeed cannot complete.
    """

    PROBE_SECONDS = 0.1

    def __init__(self) -> None:
        self._listener = socket.socket()
        self._fillers: list[socket.socket] = []

    def __enter__(self) -> "BacklogFull":
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(0)
        address = self._listener.getsockname()
        for _ in range(4):  # a kernel that queues more than one, up to a few
            probe = socket.socket()
            probe.settimeout(self.PROBE_SECONDS)
            try:
                probe.connect(address)
            except TimeoutError:
                probe.close()
                return self  # the queue is full: this connection hung
            self._fillers.append(probe)
        self.close()
        raise RuntimeError("could not fill the accept queue of a loopback listener")

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        for sock in self._fillers:
            sock.close()
        self._listener.close()

    @property
    def url(self) -> str:
        host, port = self._listener.getsockname()
        return f"http://{host}:{port}"
