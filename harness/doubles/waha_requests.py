"""What the WAHA double's requests must be, and how it refuses one: WAHAValidationPipe (class-validator
over the DTOs, unknown keys stripped) answers 400, any HttpException's body goes out as is
(AllExceptionsFilter.ts:53-56). Sources as in waha.py; messages marked UNCONFIRMED are
class-validator's usual wording, not read from WAHA."""

from __future__ import annotations

import base64
import re
import secrets

# enums.dto.ts:3-25 (events a webhook may list; newer versions add more, "*" means all)
EVENTS = ("session.status", "message", "message.reaction", "message.any", "message.ack", "message.waiting",
          "message.revoked", "state.change", "group.join", "group.leave", "presence.update", "poll.vote",
          "poll.vote.failed", "chat.archive", "call.received", "call.accepted", "call.rejected", "label.upsert",
          "label.deleted", "label.chat.added", "label.chat.deleted", "*")
NAME = re.compile(r"[a-zA-Z0-9_-]*")  # SessionName.ts / sessions.dto SessionCreateRequest: 64 - len("waha_noweb")
_CONFIG_KEYS = ("webhooks", "metadata", "proxy", "debug", "ignore", "client", "noweb", "webjs")
_WEBHOOK_KEYS = ("url", "events", "hmac", "retries", "customHeaders")
REASONS = {400: "Bad Request", 404: "Not Found", 422: "Unprocessable Entity"}


class WahaHttpError(Exception):
    """What WAHA answers instead: a NestJS HttpException's body is sent as is (AllExceptionsFilter.ts:53-56)."""

    def __init__(self, code: int, body: dict):
        super().__init__(code)
        self.code, self.body = code, body


def nest_error(code: int, message: str | list[str]) -> WahaHttpError:
    return WahaHttpError(code, {"statusCode": code, "message": message, "error": REASONS[code]})


def core_only(name: str) -> WahaHttpError:
    """WAHA Core's answer for any session but "default" (manager.core.ts:38-44, 96-100)."""
    encoded = base64.b64encode(name.encode()).decode()
    return nest_error(422, f"WAHA Core support only 'default' session. You tried to access '{name}' session "
                           f"(base64: {encoded}). If you want to run more then one WhatsApp account - please "
                           "get WAHA PLUS version. Check this out: https://waha.devlike.pro/")


def create_request(body: dict) -> tuple[str, bool, dict | None]:
    """SessionCreateRequest (sessions.dto: name, start, config): (name, start, config)."""
    name = body.get("name") or f"session_{secrets.token_hex(13)}"  # sessions.controller.ts:83 (UNCONFIRMED id form)
    problems = []
    if not (isinstance(name, str) and NAME.fullmatch(name) and len(name) <= 54):
        problems.append("Session name can only contain alphanumeric characters, hyphens, and underscores "
                        "(a-z, A-Z, 0-9, -, _) or be empty")
    if not isinstance(body.get("start", False), bool):
        problems.append("start must be a boolean value")  # UNCONFIRMED wording
    return name, bool(body.get("start")), _config(body.get("config"), problems)


def update_request(body: dict) -> dict | None:
    """SessionUpdateRequest (sessions.dto.ts:198-203): the new config, None when absent."""
    return _config(body.get("config"), [])


def _config(value: object, problems: list[str]) -> dict | None:
    """SessionConfig as WAHAValidationPipe leaves it: validated, unknown keys stripped (whitelist)."""
    if value is not None and not isinstance(value, dict):
        problems.append("config must be an object")
    hooks = (value or {}).get("webhooks") if isinstance(value, dict) else None
    for i, hook in enumerate(hooks if isinstance(hooks, list) else []):
        hook = hook if isinstance(hook, dict) else {}
        if not re.fullmatch(r"https?://[^\s/]+(/\S*)?", str(hook.get("url"))):  # webhooks.config.dto.ts:73
            problems.append(f"config.webhooks.{i}.url must be a URL address")
        events = hook.get("events")
        if not isinstance(events, list) or not all(isinstance(e, str) and e in EVENTS for e in events):  # :80-82
            problems.append(f"config.webhooks.{i}.each value in events must be one of the following values: "
                            + ", ".join(EVENTS))
        headers = hook.get("customHeaders") or []  # :43-55, 100-107
        if not isinstance(headers, list) or not all(
                isinstance(h, dict) and isinstance(h.get("name"), str) and isinstance(h.get("value"), str)
                for h in headers):
            problems.append(f"config.webhooks.{i}.customHeaders must be a list of {{name, value}} strings")
    if problems:
        raise nest_error(400, problems)
    if value is None:
        return None
    config = {key: value[key] for key in _CONFIG_KEYS if key in value}
    if isinstance(hooks, list):
        config["webhooks"] = [{key: hook[key] for key in _WEBHOOK_KEYS if key in hook} for hook in hooks]
    return config
