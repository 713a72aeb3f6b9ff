"""The server's own HTTP routes and its lifespan, wired into Streamlit by server.py (st.App):

- GET /api/health: 200 {"status": "ok", "store": "ok", "monitor": {...}}, 503 when the store is
  unreachable (for load balancers and uptime checks; no secrets, no instance data);
- POST /api/provider-events: a status change pushed by the provider (lib.provider.events), applied
  at once (lib.monitor.apply_event);
- the lifespan starts the status monitor once per process and tells the sandbox provider, when it
  is the provider, where to push its events.

Nothing here imports streamlit except the lifespan's read of the server's port.
"""

from __future__ import annotations

import logging
from contextlib import asynccontextmanager

import anyio
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from lib.backend import AppContext, app_context
from lib.config import current_settings
from lib.errors import AppError
from lib.monitor import apply_event
from lib.provider.events import MAX_EVENT_BYTES, EventRejected, parse_event, secret_matches

log = logging.getLogger(__name__)

EVENTS_PATH = "/api/provider-events"
SECRET_HEADER = "X-Webhook-Secret"


def _context() -> AppContext | None:
    try:
        return app_context(current_settings())
    except AppError as exc:  # a configuration error: the pages say it, the routes answer 503
        log.error("configuration error: %s", exc.message)
        return None


async def health(request: Request) -> JSONResponse:
    context = _context()
    reachable = context is not None and await anyio.to_thread.run_sync(context.store_reachable)
    monitor = context.monitor if context else None
    body = {
        "status": "ok" if reachable else "error",
        "store": "ok" if reachable else "unreachable",
        "monitor": {
            "running": monitor is not None,
            "last_sweep_at": monitor.last_sweep_at.isoformat() if monitor and monitor.last_sweep_at else None,
            "instances": monitor.instances if monitor else None,
        },
    }
    return JSONResponse(body, status_code=200 if reachable else 503)


async def provider_events(request: Request) -> JSONResponse:
    """404 when no secret is configured, 401 for a wrong or missing secret, 413 over 64 KB, 400
    for a body that is not an event, 503 when the store can't be written, else 202 whether or not
    the instance is known (nothing is revealed about which ones exist)."""
    context = _context()
    if context is None or not context.events_secret:
        return _answer(404, "not found")
    if not secret_matches(context.events_secret, request.headers.get(SECRET_HEADER), request.query_params.get("secret")):
        return _answer(401, "invalid secret")
    body = await _read_capped(request)
    if body is None:
        return _answer(413, "body too large")
    try:
        event = parse_event(body)
    except EventRejected as exc:
        return _answer(400, exc.message)
    if event is None:
        return _answer(202, "ignored")
    store = context.server_store()
    if store is None:
        return _answer(503, "status monitor is off: no server credential for the store")
    try:
        await anyio.to_thread.run_sync(apply_event, store, event)
    except AppError as exc:
        log.warning("provider event not applied: %s", exc.message)
        return _answer(503, "store unavailable")
    return _answer(202, "accepted")


async def _read_capped(request: Request) -> bytes | None:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_EVENT_BYTES:
        return None
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_EVENT_BYTES:
            return None
    return bytes(body)


def _answer(status_code: int, message: str) -> JSONResponse:
    key = "status" if status_code < 400 else "error"
    return JSONResponse({key: message}, status_code=status_code)


ROUTES = [
    Route("/api/health", health, methods=["GET"]),
    Route(EVENTS_PATH, provider_events, methods=["POST"]),
]


@asynccontextmanager
async def lifespan(app):
    """Once per server process: start the status monitor and point the sandbox's pushes here."""
    context = _context()
    if context is not None:
        if context.sandbox is not None and context.events_secret:
            context.sandbox.push_events_to(_own_url(EVENTS_PATH), context.events_secret)
        monitor = await anyio.to_thread.run_sync(context.start_monitor)
        log.info("status monitor %s", f"every {monitor.interval_seconds:g} s" if monitor else "off")
    try:
        yield
    finally:
        if context is not None:
            await anyio.to_thread.run_sync(context.stop_monitor)


def _own_url(path: str) -> str:
    """This server's loopback URL (the sandbox runs in this process)."""
    from streamlit import config

    address = config.get_option("server.address") or "127.0.0.1"
    if address in ("0.0.0.0", "::", ""):
        address = "127.0.0.1"
    base = (config.get_option("server.baseUrlPath") or "").strip("/")
    prefix = f"/{base}" if base else ""
    return f"http://{address}:{config.get_option('server.port')}{prefix}{path}"
