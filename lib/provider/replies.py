"""What the provider's webhook replies mean: the parsing that turns a reply into lib.provider.base's types.

Replies are read tolerantly (n8n-style single-element lists, data-URL QR codes, raw QR text,
other providers' status words).
"""

from __future__ import annotations

import base64
import io
import json
import re
from typing import Any, Callable, TypeVar

import qrcode
from PIL import Image
from qrcode.exceptions import DataOverflowError
from qrcode.image.pil import PilImage

from lib.errors import ProviderError

T = TypeVar("T")

_MAX_QR_PIXELS = 4096 * 4096
_MAX_QR_TEXT_BYTES = 2953  # capacity of the largest QR code; longer text cannot be encoded
LABELS = {
    "create": "criar instância",
    "connect": "conectar",
    "status": "verificar status",
    "disconnect": "desconectar",
    "delete": "excluir instância",
    "restart": "reiniciar instância",
    "list": "listar instâncias",
    "events": "registrar eventos",
}
_STATUS_WORDS = {
    **dict.fromkeys(("open", "working", "connected", "online", "authenticated"), "connected"),
    **dict.fromkeys(("close", "closed", "stopped", "disconnected", "failed", "logout"), "disconnected"),
    **dict.fromkeys(("connecting", "scan_qr_code", "starting", "qrcode", "qr", "pairing"), "connecting"),
}
QR_KEYS = ("qr_code_base64", "qr_code", "qrcode", "base64")
PAIRING_CODE_KEYS = ("pairing_code", "pairingCode")  # the contract's, Evolution API's
_PAIRING_CODE = re.compile(r"[A-Z0-9]{8}")
PHONE_KEYS = ("phone_number", "phone", "number", "wid", "jid")
_IMAGE_SIGNATURES = {
    b"\x89PNG\r\n\x1a\n": "PNG",
    b"\xff\xd8\xff": "JPEG",
    b"GIF87a": "GIF",
    b"GIF89a": "GIF",
}
_DATA_IMAGE_PREFIX = re.compile(r"data:image/[\w.+-]+;base64,", re.IGNORECASE)


def looks_like_html(body: bytes, content_type: str) -> bool:
    return "html" in content_type.lower() or body.lstrip()[:1] == b"<"


def parse(body: bytes, content_type: str, action: str) -> dict | None:
    """JSON object of the reply; a single-element list around it is unwrapped."""
    if not body.strip():
        return None
    data = _json(body, content_type, action)
    if isinstance(data, list) and len(data) == 1:
        data = data[0]
    if not isinstance(data, dict):
        raise _unexpected(action)
    return data


def parse_list(body: bytes, content_type: str, action: str) -> list[dict]:
    """The JSON array of objects a listing replies (Evolution's fetchInstances, WAHA's sessions),
    maybe empty; an empty body is no objects."""
    if not body.strip():
        return []
    data = _json(body, content_type, action)
    if not isinstance(data, list) or not all(isinstance(item, dict) for item in data):
        raise _unexpected(action)
    return data


def _unexpected(action: str) -> ProviderError:
    return ProviderError(f"Resposta inválida do provedor ({LABELS[action]}): formato inesperado.", action=action,
                         retryable=False)


def _json(body: bytes, content_type: str, action: str) -> Any:
    label = LABELS[action]
    try:
        return json.loads(body)
    except (ValueError, RecursionError):
        if looks_like_html(body, content_type):
            raise ProviderError(
                f"O provedor respondeu com uma página HTML em vez de JSON ({label}). Verifique a URL do webhook.",
                action=action,
                retryable=False,
            ) from None
        # A broken reply is usually a passing glitch of the provider's workflow: a retry may well work.
        raise ProviderError(f"Resposta inválida do provedor ({label}): não é JSON.", action=action) from None


def error_text(value: Any, depth: int = 0) -> str:
    """The provider's explanation inside an error object (n8n, Evolution, generic shapes). A
    JavaScript object stringified ("[object Object]": Evolution's in-band errors) explains nothing."""
    if isinstance(value, str):
        return "" if value.strip() == "[object Object]" else value
    if isinstance(value, list):
        return "; ".join(item for item in value if isinstance(item, str))
    if isinstance(value, dict) and depth < 3:
        for key in ("message", "detail", "response", "error"):
            text = error_text(value.get(key), depth + 1)
            if text.strip():
                return text
    return ""


def clean(text: str, secrets: list[str], limit: int = 120) -> str:
    """Provider text made safe to show: secrets masked, control chars dropped, whitespace collapsed, truncated."""
    for secret in sorted(secrets, key=len, reverse=True):
        text = text.replace(secret, "***")
    text = " ".join("".join(ch for ch in text if ch.isprintable() or ch.isspace()).split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def missing(key: str, action: str) -> ProviderError:
    return ProviderError(
        f"Resposta do provedor sem o campo '{key}' ({LABELS[action]}).", action=action, retryable=False
    )


def invalid(key: str, action: str) -> ProviderError:
    return ProviderError(
        f"Resposta do provedor com o campo '{key}' inválido ({LABELS[action]}).", action=action, retryable=False
    )


def text_field(data: dict, key: str, action: str, *, allow_int: bool = False) -> str:
    value = data.get(key)
    if allow_int and isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if value is None or value == "":
        raise missing(key, action)
    if not isinstance(value, str) or not value.strip():
        raise invalid(key, action)
    return value.strip()


def first(sources: list[dict], keys: tuple[str, ...]) -> Any:
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


_PHONE_DIGITS = re.compile(r"[0-9]{10,15}")  # ASCII only: "٥٥١١…" or "５５１１…" are not a number here
_PHONE_PUNCTUATION = re.compile(r"[\s()+.-]")


def strict_phone(value: Any) -> str | None:
    """'+<digits>' from a phone number or WhatsApp JID ('5511999999999:3@s.whatsapp.net'); None for
    none. Raises ValueError (never quoting it) unless it holds 10 to 15 ASCII digits."""
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise ValueError("invalid phone number")
    local = _PHONE_PUNCTUATION.sub("", str(value)[:64].split("@")[0].split(":")[0])
    if not _PHONE_DIGITS.fullmatch(local):
        raise ValueError("invalid phone number")
    return f"+{local}"


def normalize_phone(value: Any) -> str | None:
    """strict_phone, with None for a value that is not a usable number (a provider's status reply
    is still read: the number is what is unknown)."""
    try:
        return strict_phone(value)
    except ValueError:
        return None


def optional(read: Callable[[Any], T], value: Any) -> T | None:
    """`read(value)`, or None when the value is absent or unusable (something not asked for)."""
    if value is None:
        return None
    try:
        return read(value)
    except ProviderError:
        return None


def pairing_code(value: Any) -> str:
    """The provider's pairing code as 8 upper-case characters ('abcd-efgh' → 'ABCDEFGH')."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    code = "".join(value.split()).replace("-", "").upper() if isinstance(value, str) else ""
    if not _PAIRING_CODE.fullmatch(code):
        raise invalid("pairing_code", "connect")
    return code


def qr_png(value: Any) -> bytes:
    """PNG bytes for the provider's QR value.

    Rule: if the value (minus any `data:image/...;base64,` prefix) is valid base64 of a
    PNG/JPEG/GIF image, that image is used (converted to PNG). Otherwise a value that
    claimed to be an image (data-URL prefix) is rejected, and anything else is taken as
    the QR *text* (e.g. WhatsApp pairing text) and rendered.
    """
    bad_qr = ProviderError("QR Code inválido recebido do provedor.", action="connect", retryable=False)
    if not isinstance(value, str) or not value.strip():
        raise bad_qr
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
            raise bad_qr from None
    if prefix or len(value.encode()) > _MAX_QR_TEXT_BYTES:
        raise bad_qr
    try:
        image = qrcode.make(value, image_factory=PilImage, border=2)
    except (DataOverflowError, ValueError):  # qrcode reports some overflows as ValueError
        raise bad_qr from None
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