"""Which address a request comes from, for the login throttle (which reads it as
st.context.ip_address): an ASGI middleware, first in the app's stack (server.py), that sets the
scope's "client" itself.

- app.trust_proxy_headers off (the default): the address of the TCP connection, nothing a client
  writes. Streamlit serves the app with uvicorn, whose proxy-headers support is on and believes
  X-Forwarded-For from 127.0.0.1 and ::1 (FORWARDED_ALLOW_IPS), and st.App offers no way to turn
  it off: by the time a request reaches the app, uvicorn has replaced "client" with whatever a
  process on the server's machine wrote. So the connection's address is read again from the
  connection itself (the transport behind the server's receive callable; every uvicorn protocol
  has one).
- on, behind your own reverse proxy: the right-most address of X-Forwarded-For, all its header
  lines read in order as one list (RFC 9110 5.3), which is the one your proxy appended: what
  comes before it is whatever the client sent. No usable address there: the connection's.
"""

from __future__ import annotations

import ipaddress
import logging
from typing import Callable

from lib.config.settings import current_settings
from lib.errors import AppError

log = logging.getLogger(__name__)

MAX_FORWARDED_BYTES = 8 * 1024  # longer X-Forwarded-For values are no proxy's: ignored


def forwarded_client(values: list[bytes]) -> str | None:
    """The right-most entry of every X-Forwarded-For line joined in order, as a plain IP address
    (a port or IPv6 brackets removed), or None when there is none or it is not an address."""
    joined = b",".join(values)
    if not joined or len(joined) > MAX_FORWARDED_BYTES:
        return None
    last = joined.decode("latin-1").split(",")[-1].strip()
    if last.startswith("["):  # [2001:db8::1]:4711
        last = last[1:].split("]")[0]
    elif last.count(":") == 1:  # 203.0.113.7:4711
        last = last.split(":")[0]
    try:
        return str(ipaddress.ip_address(last))
    except ValueError:
        return None


def connection_peer(receive: Callable) -> tuple[str, int] | None:
    """The TCP peer of the connection a request came on, from the transport of the server's
    protocol object that `receive` belongs to (uvicorn's HTTP and WebSocket protocols); None when
    the server gives no such thing."""
    transport = getattr(getattr(receive, "__self__", None), "transport", None)
    peer = transport.get_extra_info("peername") if transport is not None else None
    return (str(peer[0]), int(peer[1])) if isinstance(peer, tuple) and len(peer) >= 2 else None


def _trust_proxy_headers() -> bool:
    try:
        return current_settings().trust_proxy_headers
    except AppError:  # a configuration error: the pages say it; trust nothing meanwhile
        return False


class ClientAddress:
    """ASGI middleware: scope["client"] is the address the app counts the request under."""

    _warned = False

    def __init__(self, app, trust_proxy: Callable[[], bool] = _trust_proxy_headers):
        self.app = app
        self.trust_proxy = trust_proxy

    async def __call__(self, scope, receive, send):
        if scope["type"] in ("http", "websocket"):
            scope["client"] = self._client(scope, receive)
        await self.app(scope, receive, send)

    def _client(self, scope, receive) -> tuple[str, int] | None:
        peer = connection_peer(receive)
        if peer is None:
            self._warn_once()
            peer = scope.get("client")
        if self.trust_proxy():
            forwarded = forwarded_client([v for k, v in scope.get("headers", []) if k == b"x-forwarded-for"])
            if forwarded is not None:
                return (forwarded, 0)
        return peer

    @classmethod
    def _warn_once(cls) -> None:
        if not cls._warned:
            cls._warned = True
            log.warning("the server does not tell the connection's address: the login throttle counts the "
                        "address the server reports, which it may have taken from X-Forwarded-For")
