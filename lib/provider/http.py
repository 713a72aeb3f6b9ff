"""The HTTP plumbing every provider client shares: one requests session with its timeouts and
retries, capped and deadline-bound reads, and every failure (network, HTTP status, an oversized,
non-JSON or in-band error reply) turned into one ProviderError with a short pt-BR message that
never contains a token or a header's secret."""

from __future__ import annotations

import json
import logging
import re
import time
from typing import Any, Collection, Mapping
from urllib.parse import quote

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import HTTPError as Urllib3Error
from urllib3.exceptions import NameResolutionError, ReadTimeoutError
from urllib3.exceptions import TimeoutError as Urllib3Timeout
from urllib3.util.retry import Retry

from lib.errors import ProviderError
from lib.provider.replies import LABELS, clean, error_text, looks_like_html, parse, parse_list

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 5 * 1024 * 1024
MSG_INSTANCE_UNKNOWN = "Instância não encontrada no provedor."
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


class ProviderHttp:
    """Calls one provider. The session mounts its own adapters: only idempotent GETs are retried
    (on HTTP 502/503/504); POSTs are never retried, whatever the failure. `name` prefixes the log
    lines ("webhook status: HTTP 200 in 12 ms"); `credentials_hint` ends the message of a refused
    credential, `create_not_found` begins the one of a create answered 404 (a wrong address)."""

    def __init__(self, *, name: str, headers: Mapping[str, str], timeout_seconds: float,
                 credentials_hint: str, create_not_found: str, session: requests.Session | None = None):
        self.name = name
        self.headers = dict(headers)
        self.timeout_seconds = timeout_seconds
        self._timeout = (min(5.0, timeout_seconds), timeout_seconds)
        self._credentials_hint = credentials_hint
        self._create_not_found = create_not_found
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
        self._header_secrets = tuple(v for v in self.headers.values() if len(v) >= 8)

    def request(self, action: str, method: str, url: str, *, token: str = "", accept: Collection[int] = (),
                many: bool = False, **kwargs: Any) -> tuple[int, Any]:
        """Performs one call: (HTTP status, reply object or None for an empty body), for a 2xx or a
        status in `accept` (whose body, when it is not a JSON object, reads as None). With `many`,
        a 2xx reply is a JSON array of objects (a listing), returned as a list.

        Maps transport errors, other HTTP statuses, oversized or non-JSON bodies and in-band
        provider errors of a 2xx to ProviderError (with the status_code of an HTTP failure).
        """
        started = time.monotonic()
        try:
            response = self._session.request(
                method,
                url,
                headers={**self.headers, **kwargs.pop("headers", {})},
                timeout=self._timeout,
                stream=True,
                allow_redirects=False,  # a redirect would turn POST into GET and resend the headers elsewhere
                **kwargs,
            )
        except requests.RequestException as exc:
            logger.warning("%s %s failed: %s after %d ms", self.name, action, type(exc).__name__, _ms(started))
            raise _transport_error(exc, action) from None
        with response:
            code = response.status_code
            if not 200 <= code < 300 and code not in accept:
                logger.warning("%s %s failed: HTTP %d after %d ms", self.name, action, code, _ms(started))
                error = self._http_error(response, action, token)
                error.status_code = code  # InstanceService.delete tells a 404 from other failures
                raise error
            logger.info("%s %s: HTTP %d in %d ms", self.name, action, code, _ms(started))
            body = _read_body(response, action, deadline=started + 2 * self.timeout_seconds)
        if not 200 <= code < 300:
            try:
                return code, parse(body, response.headers.get("Content-Type", ""), action)
            except ProviderError:
                return code, None
        if many:
            return code, parse_list(body, response.headers.get("Content-Type", ""), action)
        data = parse(body, response.headers.get("Content-Type", ""), action)
        if data is not None:
            self._raise_in_band_error(data, action, token)
        return code, data

    def _http_error(self, response: requests.Response, action: str, token: str) -> ProviderError:
        code, label = response.status_code, LABELS[action]
        if code in (401, 403):
            return ProviderError(
                f"Provedor recusou as credenciais ({label}). {self._credentials_hint}",
                action=action,
                retryable=False,
            )
        if code == 404 and action == "create":
            return ProviderError(f"{self._create_not_found} ({label}). Verifique a URL configurada.", action=action,
                                 retryable=False)
        if code == 404:
            return ProviderError(MSG_INSTANCE_UNKNOWN, action=action, retryable=False)
        if 300 <= code < 400:
            return ProviderError(
                f"O provedor redirecionou a requisição (HTTP {code}, {label}). Verifique a URL configurada.",
                action=action,
                retryable=False,
            )
        if 400 <= code < 500:
            text = self.error_body_text(response, action, token)
            detail = f": {text}" if text else f" (HTTP {code})."
            return ProviderError(f"Provedor recusou a requisição ({label}){detail}", action=action, retryable=code in (408, 429))
        return ProviderError(f"Erro no provedor (HTTP {code}) ao {label}. Tente novamente.", action=action)

    def error_body_text(self, response: requests.Response, action: str, token: str) -> str:
        """Best-effort provider explanation of a 4xx: JSON error text or short plain text, never HTML."""
        try:
            body = _read_body(response, action, deadline=time.monotonic() + self.timeout_seconds)
        except ProviderError:
            return ""
        try:
            text = error_text(json.loads(body))
        except (ValueError, RecursionError):
            text = "" if looks_like_html(body, response.headers.get("Content-Type", "")) else body.decode("utf-8", "replace")
        return clean(text, self.secrets(token))

    def _raise_in_band_error(self, data: dict, action: str, token: str) -> None:
        """A 2xx reply carrying `error` or `success: false` is still a failure."""
        if not data.get("error") and str(data.get("success")).lower() != "false":
            return
        secrets = self.secrets(token, data.get("token"))
        text = clean(error_text(data), secrets)
        message = f"Provedor retornou erro: {text}" if text else f"Provedor retornou erro ao {LABELS[action]}."
        raise ProviderError(message, action=action, retryable=False)

    def secrets(self, *tokens: Any) -> list[str]:
        """What a message must never show: these tokens (as given and URL-quoted) and the headers' secrets."""
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
