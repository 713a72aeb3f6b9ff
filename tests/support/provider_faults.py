"""What the faulty provider (tests.support.faulty_provider) can answer a request with: each fault
is a function of the request's handler, the provider, the action and the token the client sent."""

from __future__ import annotations

import base64
import io
from functools import cache
from typing import Callable

import qrcode

TOKEN_PREFIX = "tok-SECRET-"  # every token this provider issues starts so: easy to look for
STREAM_CAP_BYTES = 50 * 1024 * 1024
STALL_LIMIT_SECONDS = 30.0


@cache
def qr_png() -> bytes:
    """A real PNG QR code, generated once."""
    buffer = io.BytesIO()
    qrcode.make("https://wa.me/qr/faulty-provider", border=2).save(buffer, format="PNG")
    return buffer.getvalue()


Fault = Callable[..., None]  # (handler, provider, action, token)


def _ok(handler, provider, action: str, token: str | None) -> None:
    """A valid contract reply."""
    if action == "create":
        number = provider.next_number()
        handler.reply(200, {"instance_id": f"inst-{number}", "token": f"{TOKEN_PREFIX}{number:04d}"})
    elif action == "connect":
        qr = base64.b64encode(qr_png()).decode()
        handler.reply(200, {"qr_code_base64": f"data:image/png;base64,{qr}"})
    elif action == "status":
        handler.reply(200, {"status": "connecting"})
    else:
        handler.reply(200, {"success": True})


def _echo(token: str | None) -> str:
    """Providers love to echo what they got: every error text carries the token, if any."""
    return f" (token={token})" if token else ""


def _status_4xx_json(handler, provider, action, token) -> None:
    handler.reply(422, {"error": f"nome inválido{_echo(token)}"})


def _not_found(handler, provider, action, token) -> None:
    handler.reply(404, {"error": f"instance not found{_echo(token)}"})


def _status_5xx(handler, provider, action, token) -> None:
    handler.reply(502, f"Bad Gateway{_echo(token)}".encode(), "text/plain")


def _html_page(handler, provider, action, token) -> None:
    page = f"<!DOCTYPE html><html><body><h1>Welcome to nginx!</h1>{_echo(token)}</body></html>"
    handler.reply(200, page.encode(), "text/html; charset=utf-8")


def _html_4xx(handler, provider, action, token) -> None:
    page = f"<html><body><h1>400 Bad Request</h1>{_echo(token)}</body></html>"
    handler.reply(400, page.encode(), "text/html")


def _html_5xx(handler, provider, action, token) -> None:
    page = f"<html><body><h1>500 Internal Server Error</h1>{_echo(token)}</body></html>"
    handler.reply(500, page.encode(), "text/html")


def _not_json(handler, provider, action, token) -> None:
    handler.reply(200, b"OK", "text/plain")


def _error_in_200(handler, provider, action, token) -> None:
    # On create the only token is the one in the reply; the client must scrub that one too.
    issued = f"{TOKEN_PREFIX}in-error" if action == "create" else token
    handler.reply(200, {"error": f"instância bloqueada{_echo(issued)}", "token": issued})


def _missing_field(handler, provider, action, token) -> None:
    handler.reply(200, {})


def _bad_base64(handler, provider, action, token) -> None:
    handler.reply(200, {"qr_code_base64": "data:image/png;base64,@@@"})


def _not_an_image(handler, provider, action, token) -> None:
    fake = base64.b64encode(b"hello world").decode()
    handler.reply(200, {"qr_code_base64": f"data:image/png;base64,{fake}"})


def _unknown_status(handler, provider, action, token) -> None:
    handler.reply(200, {"status": "HIBERNATING"})


def _huge_body(handler, provider, action, token) -> None:
    """Announces 50 MB and streams them until the client hangs up."""
    stream = provider.new_stream(action)  # registered before the headers: the client may hang up at once
    handler.headers_only(STREAM_CAP_BYTES)
    provider.pump(handler, stream, chunked=False)


def _huge_chunked(handler, provider, action, token) -> None:
    """Same without Content-Length (chunked): the client learns the size only by reading."""
    stream = provider.new_stream(action)
    handler.headers_only(-1, Transfer_Encoding="chunked")
    provider.pump(handler, stream, chunked=True)


def _stall_after_headers(handler, provider, action, token) -> None:
    """Status line and headers, then nothing: a read timeout while reading the body."""
    handler.headers_only(100)
    provider.released.wait(STALL_LIMIT_SECONDS)


def _stall_before_headers(handler, provider, action, token) -> None:
    """Accepts the request and never answers: a read timeout while waiting for the status line."""
    provider.released.wait(STALL_LIMIT_SECONDS)


FAULTS: dict[str, Fault] = {
    "ok": _ok,
    "status_4xx_json": _status_4xx_json,
    "not_found": _not_found,
    "status_5xx": _status_5xx,
    "html_page": _html_page,
    "html_4xx": _html_4xx,
    "html_5xx": _html_5xx,
    "not_json": _not_json,
    "error_in_200": _error_in_200,
    "missing_field": _missing_field,
    "bad_base64": _bad_base64,
    "not_an_image": _not_an_image,
    "unknown_status": _unknown_status,
    "huge_body": _huge_body,
    "huge_chunked": _huge_chunked,
    "stall_after_headers": _stall_after_headers,
    "stall_before_headers": _stall_before_headers,
}
