"""HTTP client for the four provider webhooks (create, connect, status, disconnect).

Every failure surfaces as one `WebhookError` with a short pt-BR message that never
contains the instance token. Replies are read tolerantly (n8n-style single-element
lists, data-URL QR codes, raw QR text, other providers' status words).
"""

from __future__ import annotations

import base64
import io
import json
import logging
import re
import time
from dataclasses import dataclass, field
from typing import Any, Callable, TypeVar
from urllib.parse import quote

import qrcode
import requests
from PIL import Image
from qrcode.exceptions import DataOverflowError
from qrcode.image.pil import PilImage
from requests.adapters import HTTPAdapter
from urllib3.exceptions import HTTPError as Urllib3Error
from urllib3.exceptions import NameResolutionError, ReadTimeoutError
from urllib3.exceptions import TimeoutError as Urllib3Timeout
from urllib3.util.retry import Retry

from lib.config.settings import WebhookSettings
from lib.errors import WebhookError

logger = logging.getLogger(__name__)
T = TypeVar("T")

MAX_BODY_BYTES = 5 * 1024 * 1024
MSG_INSTANCE_UNKNOWN = "Instância não encontrada no provedor."
MSG_NO_PAIRING_CODE = "O provedor não ofereceu código de pareamento; use o QR Code."
# The most calls one client makes at once (see InstanceService.refresh_all). 200 instances at
# ~100 ms a status call take 13 rounds (~1.4 s + overhead) with 16, 7 rounds (~0.8 s) with 32:
# bench/refresh_all.py measures both.
MAX_PARALLEL_CALLS = 32
_CHUNK_BYTES = 64 * 1024
_MAX_QR_PIXELS = 4096 * 4096
_MAX_QR_TEXT_BYTES = 2953  # capacity of the largest QR code; longer text cannot be encoded
_LABELS = {
    "create": "criar instância",
    "connect": "conectar",
    "status": "verificar status",
    "disconnect": "desconectar",
    "delete": "excluir instância",
}
_STATUS_WORDS = {
    **dict.fromkeys(("open", "working", "connected", "online", "authenticated"), "connected"),
    **dict.fromkeys(("close", "closed", "stopped", "disconnected", "failed", "logout"), "disconnected"),
    **dict.fromkeys(("connecting", "scan_qr_code", "starting", "qrcode", "qr", "pairing"), "connecting"),
}
_QR_KEYS = ("qr_code_base64", "qr_code", "qrcode", "base64")
_PAIRING_CODE_KEYS = ("pairing_code", "pairingCode")  # the contract's, Evolution API's
_PAIRING_CODE = re.compile(r"[A-Z0-9]{8}")
_PHONE_KEYS = ("phone_number", "phone", "number", "wid", "jid")
_IMAGE_SIGNATURES = {
    b"\x89PNG\r\n\x1a\n": "PNG",
    b"\xff\xd8\xff": "JPEG",
    b"GIF87a": "GIF",
    b"GIF89a": "GIF",
}
_DATA_IMAGE_PREFIX = re.compile(r"data:image/[\w.+-]+;base64,", re.IGNORECASE)
_TOKEN_QUERY = re.compile(r"(token=)[^&\s'\"]+", re.IGNORECASE)


class _RedactTokenQuery(logging.Filter):
    """Masks `token=` query values in urllib3's own log lines (the status GET URL carries the token)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if _TOKEN_QUERY.search(message):
            record.msg, record.args = _TOKEN_QUERY.sub(r"\1***", message), ()
        return True


for _name in ("urllib3.connectionpool", "urllib3.util.retry"):
    logging.getLogger(_name).addFilter(_RedactTokenQuery())


@dataclass(frozen=True)
class Credentials:
    instance_id: str
    token: str = field(repr=False)


@dataclass(frozen=True)
class QrCode:
    png: bytes = field(repr=False)  # PNG image bytes, always


@dataclass(frozen=True)
class ConnectReply:
    """What a connect gave: a QR to scan, a pairing code to type on the phone, or both."""

    qr: QrCode | None
    pairing_code: str | None  # 8 characters, upper case, no dash


@dataclass(frozen=True)
class StatusReply:
    status: str  # 'disconnected' | 'connecting' | 'connected'
    phone_number: str | None


class WebhookClient:
    """Calls the provider webhooks described by `settings`.

    The client mounts its own adapters on the session: only the idempotent status GET
    is retried (on HTTP 502/503/504); POSTs are never retried, whatever the failure.
    """

    def __init__(self, settings: WebhookSettings, session: requests.Session | None = None):
        self._settings = settings
        self._timeout = (min(5.0, settings.timeout_seconds), settings.timeout_seconds)
        self._session = session if session is not None else requests.Session()
        retry = Retry(
            total=2,
            connect=0,
            read=0,
            other=0,
            status_forcelist=(502, 503, 504),
            allowed_methods=frozenset({"GET"}),
            backoff_factor=0.3,
            respect_retry_after_header=False,  # a huge Retry-After must not stall the UI
            raise_on_status=False,  # the last 5xx reply is mapped like any other
        )
        # Pool as large as the bulk status refresh's concurrency, so no connection is discarded.
        adapter = HTTPAdapter(max_retries=retry, pool_maxsize=MAX_PARALLEL_CALLS)
        self._session.mount("http://", adapter)
        self._session.mount("https://", adapter)
        # Header values are usually API keys: keep them out of messages too.
        self._header_secrets = tuple(v for v in settings.headers.values() if len(v) >= 8)

    @property
    def can_delete(self) -> bool:
        """Whether the provider has the optional delete webhook."""
        return bool(self._settings.delete_url)

    def create(self, name: str) -> Credentials:
        data = self._request("create", "POST", json={"name": name}) or {}
        return Credentials(
            instance_id=_text_field(data, "instance_id", "create", allow_int=True),
            token=_text_field(data, "token", "create"),
        )

    def connect(self, instance_id: str, token: str, phone_number: str | None = None) -> ConnectReply:
        """Without `phone_number`, the QR path: the reply must carry a QR (a valid pairing code
        beside it is passed on, an unusable one ignored). With it (digits with the country code,
        sent as `phone_number`), a pairing code for that number is asked for and the reply must
        carry one (`pairing_code`, or Evolution API's `pairingCode`); a QR beside it is passed on
        when it is usable and ignored otherwise."""
        body = {"instance_id": instance_id, "token": token}
        if phone_number:
            body["phone_number"] = phone_number
        data = self._request("connect", "POST", json=body, token=token) or {}
        qr_value = next((data[key] for key in _QR_KEYS if data.get(key) is not None), None)
        code_value = _first([data], _PAIRING_CODE_KEYS)
        if not phone_number:
            if qr_value is None:
                raise _missing("qr_code_base64", "connect")
            return ConnectReply(qr=QrCode(png=_qr_png(qr_value)), pairing_code=_optional(_pairing_code, code_value))
        if code_value is None:
            if qr_value is None:
                raise _missing("pairing_code", "connect")
            raise WebhookError(MSG_NO_PAIRING_CODE, action="connect", retryable=False)
        pairing_code = _pairing_code(code_value)
        qr = _optional(lambda value: QrCode(png=_qr_png(value)), qr_value)
        return ConnectReply(qr=qr, pairing_code=pairing_code)

    def status(self, instance_id: str, token: str) -> StatusReply:
        data = self._request("status", "GET", params={"instance_id": instance_id, "token": token}, token=token) or {}
        nested = data.get("instance")
        sources = [data] + ([nested] if isinstance(nested, dict) else [])  # Evolution API: {"instance": {"state": ...}}
        word = _first(sources, ("status", "state"))
        if word is None:
            raise _missing("status", "status")
        status = normalize_status(word)
        if status is None:
            shown = _clean(str(word), self._secrets(token), limit=40)
            raise WebhookError(f"Status desconhecido retornado pelo provedor: {shown}", action="status", retryable=False)
        return StatusReply(status=status, phone_number=normalize_phone(_first([data], _PHONE_KEYS)))

    def disconnect(self, instance_id: str, token: str) -> None:
        """An empty 2xx body counts as success (n8n may answer that way)."""
        self._acknowledged("disconnect", instance_id, token)

    def delete(self, instance_id: str, token: str) -> None:
        """The optional fifth webhook: delete the instance at the provider (same contract as disconnect)."""
        self._acknowledged("delete", instance_id, token)

    def _acknowledged(self, action: str, instance_id: str, token: str) -> None:
        """POST {instance_id, token} → {success: true} (or an empty 2xx body)."""
        data = self._request(action, "POST", json={"instance_id": instance_id, "token": token}, token=token)
        if data is None:
            return
        if "success" not in data:
            raise _missing("success", action)
        if str(data["success"]).lower() != "true":
            raise _invalid("success", action)

    def _request(self, action: str, method: str, *, token: str = "", **kwargs: Any) -> dict | None:
        """Performs one call and returns the reply object (None for an empty body).

        Maps transport errors, HTTP statuses, oversized or non-JSON bodies and
        in-band provider errors to WebhookError.
        """
        started = time.monotonic()
        try:
            response = self._session.request(
                method,
                self._settings.url_for(action),
                headers=dict(self._settings.headers),
                timeout=self._timeout,
                stream=True,
                allow_redirects=False,  # a redirect would turn POST into GET and resend the headers elsewhere
                **kwargs,
            )
        except requests.RequestException as exc:
            logger.warning("webhook %s failed: %s after %d ms", action, type(exc).__name__, _ms(started))
            raise _transport_error(exc, action) from None
        with response:
            code = response.status_code
            if not 200 <= code < 300:
                logger.warning("webhook %s failed: HTTP %d after %d ms", action, code, _ms(started))
                error = self._http_error(response, action, token)
                error.status_code = code  # InstanceService.delete tells a 404 from other failures
                raise error
            logger.info("webhook %s: HTTP %d in %d ms", action, code, _ms(started))
            body = _read_body(response, action, deadline=started + 2 * self._settings.timeout_seconds)
        data = _parse(body, response.headers.get("Content-Type", ""), action)
        if data is not None:
            self._raise_in_band_error(data, action, token)
        return data

    def _http_error(self, response: requests.Response, action: str, token: str) -> WebhookError:
        code, label = response.status_code, _LABELS[action]
        if code in (401, 403):
            return WebhookError(
                f"Provedor recusou as credenciais ({label}). Verifique a configuração dos webhooks.",
                action=action,
                retryable=False,
            )
        if code == 404 and action == "create":
            return WebhookError(
                f"Webhook não encontrado no provedor ({label}). Verifique a URL configurada.", action=action, retryable=False
            )
        if code == 404:
            return WebhookError(MSG_INSTANCE_UNKNOWN, action=action, retryable=False)
        if 300 <= code < 400:
            return WebhookError(
                f"O provedor redirecionou a requisição (HTTP {code}, {label}). Verifique a URL configurada.",
                action=action,
                retryable=False,
            )
        if 400 <= code < 500:
            text = self._error_body_text(response, action, token)
            detail = f": {text}" if text else f" (HTTP {code})."
            return WebhookError(f"Provedor recusou a requisição ({label}){detail}", action=action, retryable=code in (408, 429))
        return WebhookError(f"Erro no provedor (HTTP {code}) ao {label}. Tente novamente.", action=action)

    def _error_body_text(self, response: requests.Response, action: str, token: str) -> str:
        """Best-effort provider explanation of a 4xx: JSON error text or short plain text, never HTML."""
        try:
            body = _read_body(response, action, deadline=time.monotonic() + self._settings.timeout_seconds)
        except WebhookError:
            return ""
        try:
            text = _error_text(json.loads(body))
        except (ValueError, RecursionError):
            text = "" if _looks_like_html(body, response.headers.get("Content-Type", "")) else body.decode("utf-8", "replace")
        return _clean(text, self._secrets(token))

    def _raise_in_band_error(self, data: dict, action: str, token: str) -> None:
        """A 2xx reply carrying `error` or `success: false` is still a failure."""
        if not data.get("error") and str(data.get("success")).lower() != "false":
            return
        secrets = self._secrets(token, data.get("token"))
        text = _clean(_error_text(data), secrets)
        message = f"Provedor retornou erro: {text}" if text else f"Provedor retornou erro ao {_LABELS[action]}."
        raise WebhookError(message, action=action, retryable=False)

    def _secrets(self, *tokens: Any) -> list[str]:
        found = [t for t in tokens if isinstance(t, str) and t]
        found += [quote(t, safe="") for t in found]
        return found + list(self._header_secrets)


def _ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


def _timeout(action: str, *, sent: bool = True) -> WebhookError:
    """No answer in time. A create the provider received may still have happened: say so, or a
    retry makes a twin (not when the connection itself never opened: then nothing was sent)."""
    if action == "create" and sent:
        return WebhookError(
            "O provedor não respondeu a tempo (criar instância): a instância pode ter sido criada no provedor; "
            "confira antes de tentar de novo.",
            action=action,
        )
    return WebhookError(f"O provedor não respondeu a tempo ({_LABELS[action]}). Tente novamente.", action=action)


def _transport_error(exc: requests.RequestException, action: str) -> WebhookError:
    label = _LABELS[action]
    reason = getattr(exc.args[0] if exc.args else None, "reason", None)
    # The status GET's Retry wraps a read timeout in MaxRetryError, which requests reports as a
    # ConnectionError: still a timeout for the user. (Not any urllib3 TimeoutError: a refused
    # connection's NewConnectionError is one too.)
    if isinstance(exc, requests.Timeout) or isinstance(reason, ReadTimeoutError):
        return _timeout(action, sent=not isinstance(exc, requests.ConnectTimeout))
    if isinstance(exc, requests.exceptions.SSLError):
        return WebhookError(f"Falha na conexão segura (TLS) com o provedor ({label}).", action=action, retryable=False)
    if isinstance(exc, requests.ConnectionError):
        if isinstance(reason, NameResolutionError):
            return WebhookError(
                f"Endereço do provedor não encontrado ({label}). Verifique a URL configurada.", action=action, retryable=False
            )
        return WebhookError(
            f"Não foi possível conectar ao provedor ({label}). Verifique se o serviço está no ar e tente novamente.",
            action=action,
        )
    return WebhookError(f"Falha na comunicação com o provedor ({label}). Tente novamente.", action=action)


def _read_body(response: requests.Response, action: str, deadline: float) -> bytes:
    """Reads at most MAX_BODY_BYTES, giving up at `deadline` (a trickling server cannot hang the call).

    `read1` returns after a single socket read, so the deadline is checked at least
    once per read timeout.
    """
    label = _LABELS[action]
    too_large = WebhookError(f"Resposta do provedor grande demais ({label}).", action=action, retryable=False)
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise too_large
    chunks, size = [], 0
    try:
        while chunk := response.raw.read1(_CHUNK_BYTES, decode_content=True):
            size += len(chunk)
            if size > MAX_BODY_BYTES:
                raise too_large
            if time.monotonic() > deadline:
                raise _timeout(action)
            chunks.append(chunk)
    except Urllib3Timeout:
        raise _timeout(action) from None
    except (Urllib3Error, OSError):
        raise WebhookError(
            f"A conexão com o provedor foi interrompida ({label}). Tente novamente.", action=action
        ) from None
    return b"".join(chunks)


def _looks_like_html(body: bytes, content_type: str) -> bool:
    return "html" in content_type.lower() or body.lstrip()[:1] == b"<"


def _parse(body: bytes, content_type: str, action: str) -> dict | None:
    """JSON object of the reply; a single-element list around it is unwrapped."""
    label = _LABELS[action]
    if not body.strip():
        return None
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        if _looks_like_html(body, content_type):
            raise WebhookError(
                f"O provedor respondeu com uma página HTML em vez de JSON ({label}). Verifique a URL do webhook.",
                action=action,
                retryable=False,
            ) from None
        # A broken reply is usually a passing glitch of the provider's workflow: a retry may well work.
        raise WebhookError(f"Resposta inválida do provedor ({label}): não é JSON.", action=action) from None
    if isinstance(data, list) and len(data) == 1:
        data = data[0]
    if not isinstance(data, dict):
        raise WebhookError(f"Resposta inválida do provedor ({label}): formato inesperado.", action=action, retryable=False)
    return data


def _error_text(value: Any, depth: int = 0) -> str:
    """The provider's explanation inside an error object (n8n, Evolution, generic shapes)."""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "; ".join(item for item in value if isinstance(item, str))
    if isinstance(value, dict) and depth < 3:
        for key in ("message", "detail", "response", "error"):
            text = _error_text(value.get(key), depth + 1)
            if text.strip():
                return text
    return ""


def _clean(text: str, secrets: list[str], limit: int = 120) -> str:
    """Provider text made safe to show: secrets masked, control chars dropped, whitespace collapsed, truncated."""
    for secret in sorted(secrets, key=len, reverse=True):
        text = text.replace(secret, "***")
    text = " ".join("".join(ch for ch in text if ch.isprintable() or ch.isspace()).split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _missing(key: str, action: str) -> WebhookError:
    return WebhookError(
        f"Resposta do provedor sem o campo '{key}' ({_LABELS[action]}).", action=action, retryable=False
    )


def _invalid(key: str, action: str) -> WebhookError:
    return WebhookError(
        f"Resposta do provedor com o campo '{key}' inválido ({_LABELS[action]}).", action=action, retryable=False
    )


def _text_field(data: dict, key: str, action: str, *, allow_int: bool = False) -> str:
    value = data.get(key)
    if allow_int and isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if value is None or value == "":
        raise _missing(key, action)
    if not isinstance(value, str) or not value.strip():
        raise _invalid(key, action)
    return value.strip()


def _first(sources: list[dict], keys: tuple[str, ...]) -> Any:
    """First value under `keys` in `sources` that is neither None nor blank."""
    for source in sources:
        for key in keys:
            value = source.get(key)
            if value is not None and str(value).strip():
                return value
    return None


def normalize_status(word: Any) -> str | None:
    """'connected' | 'connecting' | 'disconnected' for a provider's status word, None if unknown."""
    return _STATUS_WORDS.get(str(word).strip().lower())


def normalize_phone(value: Any) -> str | None:
    """'+<digits>' from a phone number or WhatsApp JID ('5511999999999:3@s.whatsapp.net')."""
    if value is None:
        return None
    local = str(value).split("@")[0].split(":")[0]
    digits = re.sub(r"\D", "", local)
    return f"+{digits}" if digits else None


def _optional(parse: Callable[[Any], T], value: Any) -> T | None:
    """`parse(value)`, or None when the value is absent or unusable (something not asked for)."""
    if value is None:
        return None
    try:
        return parse(value)
    except WebhookError:
        return None


def _pairing_code(value: Any) -> str:
    """The provider's pairing code as 8 upper-case characters ('abcd-efgh' → 'ABCDEFGH')."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    code = "".join(value.split()).replace("-", "").upper() if isinstance(value, str) else ""
    if not _PAIRING_CODE.fullmatch(code):
        raise _invalid("pairing_code", "connect")
    return code


def _qr_png(value: Any) -> bytes:
    """PNG bytes for the provider's QR value.

    Rule: if the value (minus any `data:image/...;base64,` prefix) is valid base64 of a
    PNG/JPEG/GIF image, that image is used (converted to PNG). Otherwise a value that
    claimed to be an image (data-URL prefix) is rejected, and anything else is taken as
    the QR *text* (e.g. WhatsApp pairing text) and rendered.
    """
    invalid = WebhookError("QR Code inválido recebido do provedor.", action="connect", retryable=False)
    if not isinstance(value, str) or not value.strip():
        raise invalid
    value = value.strip()
    prefix = _DATA_IMAGE_PREFIX.match(value)
    payload = "".join(value[prefix.end() if prefix else 0 :].split())
    try:
        raw = base64.b64decode(payload + "=" * (-len(payload) % 4), validate=True)
    except ValueError:  # binascii.Error: not base64
        raw = b""
    image_format = next((fmt for sig, fmt in _IMAGE_SIGNATURES.items() if raw.startswith(sig)), None)
    if image_format:
        try:
            return _to_png(raw, image_format)
        except (OSError, SyntaxError, ValueError, Image.DecompressionBombError):
            raise invalid from None
    if prefix or len(value.encode()) > _MAX_QR_TEXT_BYTES:
        raise invalid
    try:
        image = qrcode.make(value, image_factory=PilImage, border=2)
    except (DataOverflowError, ValueError):  # qrcode reports some overflows as ValueError
        raise invalid from None
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def _to_png(raw: bytes, image_format: str) -> bytes:
    """Validated PNG bytes; other formats are converted. Raises OSError/ValueError on a broken image."""
    with Image.open(io.BytesIO(raw), formats=[image_format]) as image:
        if image.width * image.height > _MAX_QR_PIXELS:
            raise ValueError("image too large for a QR code")
        image.load()  # decodes the pixels: a truncated or corrupt image fails here
        if image_format == "PNG":
            return raw
        buffer = io.BytesIO()
        image.convert("RGBA" if "A" in image.getbands() or "transparency" in image.info else "RGB").save(buffer, format="PNG")
        return buffer.getvalue()
