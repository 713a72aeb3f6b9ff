"""The server's own HTTP routes and its lifespan, wired into Streamlit by server.py (st.App):

- GET /api/health: 200 {"status": "ok", "store": "ok", "monitor": {...}}, 503 when the store is
  unreachable (for load balancers and uptime checks; no secrets, no instance data);
- POST /api/provider-events: a status change pushed by the provider (lib.provider.events), applied
  at once (lib.checks.apply_event);
- POST /api/session trades a one-time login ticket for the session cookie, DELETE /api/session
  clears it (lib.auth.sessions: the script cannot set an HttpOnly cookie, this route can), for the
  app's own page only (JSON, same origin);
- the lifespan starts the status monitor once per process, tells the sandbox provider, when it
  is the provider, where to push its events (other providers that take an event URL get it for
  every instance: lib.event_registration), and prints the first administrator's setup code while
  there is no user.

Nothing here imports streamlit: server.py tells the lifespan the server's own URL.
"""

from __future__ import annotations

import json
import logging
import threading
from contextlib import asynccontextmanager
from typing import Callable
from urllib.parse import urlsplit

import anyio
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from lib.auth.setup_code import setup_code_path
from lib.auth.sessions import COOKIE_NAME
from lib.context import AppContext, app_context
from lib.config.settings import current_settings
from lib.errors import AppError
from lib.event_registration import EVENTS_PATH
from lib.checks import apply_event
from lib.provider.events import MAX_EVENT_BYTES, EventRejected, parse_event, secret_matches

log = logging.getLogger(__name__)

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
        "events_for_unknown_instances": context.unknown_events.count if context else 0,
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
        log.info("provider event refused: %s", exc.message)  # the message never quotes the body
        return _answer(400, exc.message)
    if event is None:
        return _answer(202, "ignored")
    store = context.server_store()
    if store is None:
        return _answer(503, "status monitor is off: no server credential for the store")
    if event.qr is not None:
        context.pushed_qrs.put(event.instance_id, event.qr.png)
    try:
        applied = await anyio.to_thread.run_sync(apply_event, store, event)
    except AppError as exc:
        log.warning("provider event not applied: %s", exc.message)
        return _answer(503, "store unavailable")
    if applied is None:
        context.unknown_events.note(event.instance_id, event.dialect)
    return _answer(202, "accepted")


async def session_cookie(request: Request) -> Response:
    """POST {"ticket": ...}: the cookie of the session the ticket was made for (once); DELETE: the
    cookie cleared (the server's session was ended by "Sair" already). Only the app's own page may
    ask (login CSRF: another site must not sign a visitor in as someone else): 403 for a request
    from another origin, 415 for a POST that is not JSON; neither uses the ticket up."""
    context = _context()
    if context is None:
        return _answer(503, "configuration error")
    if not _same_origin(request, context):
        return _answer(403, "cross-site request refused")
    response = Response(status_code=204)
    if request.method == "DELETE":
        response.delete_cookie(COOKIE_NAME, path="/", httponly=True, samesite="lax", secure=_secure(request, context))
        return response
    if request.headers.get("content-type", "").split(";")[0].strip().lower() != "application/json":
        return _answer(415, "application/json expected")  # a cross-site JSON post needs CORS, which is refused
    body = await _read_capped(request)
    try:
        ticket = json.loads(body or b"{}").get("ticket") if body else None
    except (ValueError, AttributeError):
        ticket = None
    raw_id = context.handoff.take(ticket if isinstance(ticket, str) else None)
    if raw_id is None:
        return _answer(400, "invalid or used ticket")
    response.set_cookie(
        COOKIE_NAME, raw_id, max_age=int(context.sessions.absolute.total_seconds()), path="/",
        httponly=True, samesite="lax", secure=_secure(request, context),
    )
    return response


def _same_origin(request: Request, context: AppContext) -> bool:
    """Whether the app's own page sent this request, as the established defences decide (OWASP's
    CSRF cheat sheet; Django's CsrfViewMiddleware): a browser's Sec-Fetch-Site, when sent, must be
    "same-origin"; an Origin, when sent, must be this server's (the host it was asked for, over the
    scheme it came by, or app.public_url's); with neither, a request over HTTPS must have a
    same-origin Referer. A request without them over plain HTTP comes from no browser that could
    be made to send it from another site (every current browser sends Origin on a POST)."""
    site = request.headers.get("sec-fetch-site")
    if site is not None and site != "same-origin":
        return False
    host = request.headers.get("host", "")
    own = {f"{request.url.scheme}://{host}", f"https://{host}" if _secure(request, context) else ""}
    public = urlsplit(context.settings.public_url or "")
    own.add(f"{public.scheme}://{public.netloc}" if public.netloc else "")
    own.discard("")
    origin = request.headers.get("origin")
    if origin is not None:
        return origin.lower() in {o.lower() for o in own}
    if _secure(request, context):
        referer = urlsplit(request.headers.get("referer", ""))
        return f"{referer.scheme}://{referer.netloc}".lower() in {o.lower() for o in own}
    return True


def _secure(request: Request, context: AppContext) -> bool:
    """Served over HTTPS: the public URL says so, or the request came so (directly, or through a
    proxy the settings trust)."""
    settings = context.settings
    forwarded = request.headers.get("x-forwarded-proto", "") if settings.trust_proxy_headers else ""
    return (settings.public_url or "").startswith("https://") or request.url.scheme == "https" or forwarded == "https"


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
    Route("/api/session", session_cookie, methods=["POST", "DELETE"]),
]


def lifespan(own_url: Callable[[str], str]):
    """The server's lifespan, once per process: start the status monitor and point the sandbox's
    pushes at this server. `own_url(path)` is this server's loopback URL for a path (server.py reads
    it from Streamlit's settings: the sandbox runs in this process)."""

    @asynccontextmanager
    async def run(app):
        context = _context()
        if context is not None:
            if context.sandbox is not None and context.events_secret:
                context.sandbox.push_events_to(own_url(EVENTS_PATH), context.events_secret)
            # Instances made before (or elsewhere) get the app's event URL too, without holding up the start.
            threading.Thread(target=context.register_all_events, name="register-events", daemon=True).start()
            monitor = await anyio.to_thread.run_sync(context.start_monitor)
            log.info("status monitor %s", f"every {monitor.interval_seconds:g} s" if monitor else "off")
            _announce_setup_code(context)
        try:
            yield
        finally:
            if context is not None:
                await anyio.to_thread.run_sync(context.stop_monitor)

    return run


def _announce_setup_code(context: AppContext) -> None:
    """Print the first administrator's setup code while there is no user (make run's terminal)."""
    try:
        code = context.signin.setup_code()
    except AppError as exc:  # a full disk: the login page says it too
        print(f"\n  {exc.message}\n", flush=True)
        return
    if code:
        print(f"\n  Nenhum usuário ainda. Código de configuração do primeiro administrador: {code}\n"
              f"  (também em {setup_code_path(context.settings.data_dir)})\n", flush=True)
