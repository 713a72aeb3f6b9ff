"""HTTP client for the four provider webhooks (create, connect, status, disconnect).

Every failure surfaces as one `ProviderError` with a short pt-BR message that never
contains the instance token. What the replies mean is read by lib/provider/replies.py.
"""

from __future__ import annotations

import json
import logging
import re
import time
from typing import Any
from urllib.parse import quote

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import HTTPError as Urllib3Error
from urllib3.exceptions import NameResolutionError, ReadTimeoutError
from urllib3.exceptions import TimeoutError as Urllib3Timeout
from urllib3.util.retry import Retry

from lib.config.settings import WebhookSettings
from lib.errors import ProviderError
from lib.provider.base import ConnectReply, Credentials, QrCode, StatusReply
from lib.provider.replies import (
    LABELS, PAIRING_CODE_KEYS, PHONE_KEYS, QR_KEYS, clean, error_text, first, invalid, looks_like_html, missing,
    normalize_phone, normalize_status, optional, pairing_code, parse, qr_png, text_field,
)

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 5 * 1024 * 1024
MSG_INSTANCE_UNKNOWN = "Instância não encontrada no provedor."
MSG_NO_PAIRING_CODE = "O provedor não ofereceu código de pareamento; use o QR Code."
# The most calls one client makes at once (see InstanceService.refresh_all). 200 instances at
# ~100 ms a status call take 13 rounds (~1.4 s + overhead) with 16, 7 rounds (~0.8 s) with 32:
# bench/refresh_all.py measures both.
MAX_PARALLEL_CALLS = 32
_CHUNK_BYTES = 64 * 1024
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
            instance_id=text_field(data, "instance_id", "create", allow_int=True),
            token=text_field(data, "token", "create"),
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
        qr_value = next((data[key] for key in QR_KEYS if data.get(key) is not None), None)
        code_value = first([data], PAIRING_CODE_KEYS)
        if not phone_number:
            if qr_value is None:
                raise missing("qr_code_base64", "connect")
            return ConnectReply(qr=QrCode(png=qr_png(qr_value)), pairing_code=optional(pairing_code, code_value))
        if code_value is None:
            if qr_value is None:
                raise missing("pairing_code", "connect")
            raise ProviderError(MSG_NO_PAIRING_CODE, action="connect", retryable=False)
        code = pairing_code(code_value)
        qr = optional(lambda value: QrCode(png=qr_png(value)), qr_value)
        return ConnectReply(qr=qr, pairing_code=code)

    def status(self, instance_id: str, token: str) -> StatusReply:
        data = self._request("status", "GET", params={"instance_id": instance_id, "token": token}, token=token) or {}
        nested = data.get("instance")
        sources = [data] + ([nested] if isinstance(nested, dict) else [])  # Evolution API: {"instance": {"state": ...}}
        word = first(sources, ("status", "state"))
        if word is None:
            raise missing("status", "status")
        status = normalize_status(word)
        if status is None:
            shown = clean(str(word), self._secrets(token), limit=40)
            raise ProviderError(f"Status desconhecido retornado pelo provedor: {shown}", action="status", retryable=False)
        return StatusReply(status=status, phone_number=normalize_phone(first([data], PHONE_KEYS)))

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
            raise missing("success", action)
        if str(data["success"]).lower() != "true":
            raise invalid("success", action)

    def _request(self, action: str, method: str, *, token: str = "", **kwargs: Any) -> dict | None:
        """Performs one call and returns the reply object (None for an empty body).

        Maps transport errors, HTTP statuses, oversized or non-JSON bodies and
        in-band provider errors to ProviderError.
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
        data = parse(body, response.headers.get("Content-Type", ""), action)
        if data is not None:
            self._raise_in_band_error(data, action, token)
        return data

    def _http_error(self, response: requests.Response, action: str, token: str) -> ProviderError:
        code, label = response.status_code, LABELS[action]
        if code in (401, 403):
            return ProviderError(
                f"Provedor recusou as credenciais ({label}). Verifique a configuração dos webhooks.",
                action=action,
                retryable=False,
            )
        if code == 404 and action == "create":
            return ProviderError(
                f"Webhook não encontrado no provedor ({label}). Verifique a URL configurada.", action=action, retryable=False
            )
        if code == 404:
            return ProviderError(MSG_INSTANCE_UNKNOWN, action=action, retryable=False)
        if 300 <= code < 400:
            return ProviderError(
                f"O provedor redirecionou a requisição (HTTP {code}, {label}). Verifique a URL configurada.",
                action=action,
                retryable=False,
            )
        if 400 <= code < 500:
            text = self._error_body_text(response, action, token)
            detail = f": {text}" if text else f" (HTTP {code})."
            return ProviderError(f"Provedor recusou a requisição ({label}){detail}", action=action, retryable=code in (408, 429))
        return ProviderError(f"Erro no provedor (HTTP {code}) ao {label}. Tente novamente.", action=action)

    def _error_body_text(self, response: requests.Response, action: str, token: str) -> str:
        """Best-effort provider explanation of a 4xx: JSON error text or short plain text, never HTML."""
        try:
            body = _read_body(response, action, deadline=time.monotonic() + self._settings.timeout_seconds)
        except ProviderError:
            return ""
        try:
            text = error_text(json.loads(body))
        except (ValueError, RecursionError):
            text = "" if looks_like_html(body, response.headers.get("Content-Type", "")) else body.decode("utf-8", "replace")
        return clean(text, self._secrets(token))

    def _raise_in_band_error(self, data: dict, action: str, token: str) -> None:
        """A 2xx reply carrying `error` or `success: false` is still a failure."""
        if not data.get("error") and str(data.get("success")).lower() != "false":
            return
        secrets = self._secrets(token, data.get("token"))
        text = clean(error_text(data), secrets)
        message = f"Provedor retornou erro: {text}" if text else f"Provedor retornou erro ao {LABELS[action]}."
        raise ProviderError(message, action=action, retryable=False)

    def _secrets(self, *tokens: Any) -> list[str]:
        found = [t for t in tokens if isinstance(t, str) and t]
        found += [quote(t, safe="") for t in found]
        return found + list(self._header_secrets)


def _ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


def _timeout(action: str, *, sent: bool = True) -> ProviderError:
    """No answer in time. A create the provider received may still have happened: say so, or a
    retry makes a twin (not when the connection itself never opened: then nothing was sent)."""
    if action == "create" and sent:
        return ProviderError(
            "O provedor não respondeu a tempo (criar instância): a instância pode ter sido criada no provedor; "
            "confira antes de tentar de novo.",
            action=action,
        )
    return ProviderError(f"O provedor não respondeu a tempo ({LABELS[action]}). Tente novamente.", action=action)


def _transport_error(exc: requests.RequestException, action: str) -> ProviderError:
    label = LABELS[action]
    reason = getattr(exc.args[0] if exc.args else None, "reason", None)
    # The status GET's Retry wraps a read timeout in MaxRetryError, which requests reports as a
    # ConnectionError: still a timeout for the user. (Not any urllib3 TimeoutError: a refused
    # connection's NewConnectionError is one too.)
    if isinstance(exc, requests.Timeout) or isinstance(reason, ReadTimeoutError):
        return _timeout(action, sent=not isinstance(exc, requests.ConnectTimeout))
    if isinstance(exc, requests.exceptions.SSLError):
        return ProviderError(f"Falha na conexão segura (TLS) com o provedor ({label}).", action=action, retryable=False)
    if isinstance(exc, requests.ConnectionError):
        if isinstance(reason, NameResolutionError):
            return ProviderError(
                f"Endereço do provedor não encontrado ({label}). Verifique a URL configurada.", action=action, retryable=False
            )
        return ProviderError(
            f"Não foi possível conectar ao provedor ({label}). Verifique se o serviço está no ar e tente novamente.",
            action=action,
        )
    return ProviderError(f"Falha na comunicação com o provedor ({label}). Tente novamente.", action=action)


def _read_body(response: requests.Response, action: str, deadline: float) -> bytes:
    """Reads at most MAX_BODY_BYTES, giving up at `deadline` (a trickling server cannot hang the call).

    `read1` returns after a single socket read, so the deadline is checked at least
    once per read timeout.
    """
    label = LABELS[action]
    too_large = ProviderError(f"Resposta do provedor grande demais ({label}).", action=action, retryable=False)
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
        raise ProviderError(
            f"A conexão com o provedor foi interrompida ({label}). Tente novamente.", action=action
        ) from None
    return b"".join(chunks)
