"""An ASGI app that answers the client address it was given, behind lib.client_address's
middleware, for `uvicorn` to serve in tests/test_client_address.py (with uvicorn's own defaults,
as Streamlit runs it: proxy headers on, X-Forwarded-For believed from 127.0.0.1 and ::1)."""

from __future__ import annotations

import json

from lib.client_address import ClientAddress


async def echo(scope, receive, send):
    said = json.dumps(scope.get("client"))
    if scope["type"] == "websocket":
        await receive()  # websocket.connect
        await send({"type": "websocket.accept"})
        await send({"type": "websocket.send", "text": said})
        await send({"type": "websocket.close"})
    elif scope["type"] == "http":
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": said.encode()})


trusting_nobody = ClientAddress(echo, trust_proxy=lambda: False)  # app.trust_proxy_headers off
behind_a_proxy = ClientAddress(echo, trust_proxy=lambda: True)  # on
