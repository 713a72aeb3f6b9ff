"""Settings from `.streamlit/secrets.toml`, each key overridable by an environment variable.

With no webhook URL configured the app uses the embedded sandbox provider; with no
Supabase URL and key it uses the embedded SQLite store and local accounts. An `[auth]` section
(Streamlit's own, for st.login) adds single sign-on: it is read from the secrets file only, and
handed to Streamlit by server.py (streamlit_secrets()) so that both read the same file.
"""

from __future__ import annotations

import logging
import os
import threading
import tomllib
from dataclasses import astuple, dataclass, field
from pathlib import Path
from typing import Mapping
from urllib.parse import urlparse

from lib.config.provider import (
    OPTIONAL_WEBHOOK_ACTIONS, WEBHOOK_ACTIONS, ProviderSettings, WebhookSettings, provider_settings, webhook_settings,
)
from lib.config.sso import SsoSettings, sso_settings
from lib.errors import ConfigError

PROJECT_ROOT = Path(__file__).resolve().parent.parent.parent
SECRETS_PATH = PROJECT_ROOT / ".streamlit" / "secrets.toml"

# Every environment variable load_settings() reads (current_settings() watches them).
ENV_VARIABLES = (
    *(f"WEBHOOK_{action.upper()}_URL" for action in WEBHOOK_ACTIONS + OPTIONAL_WEBHOOK_ACTIONS),
    "WEBHOOK_TIMEOUT_SECONDS",
    "PROVIDER",
    "PROVIDER_URL",
    "PROVIDER_API_KEY",
    "PROVIDER_TIMEOUT_SECONDS",
    "SUPABASE_URL",
    "SUPABASE_ANON_KEY",
    "SUPABASE_SERVICE_ROLE_KEY",
    "MONITOR_INTERVAL_SECONDS",
    "EVENTS_SECRET",
    "APP_PUBLIC_URL",
    "ALERT_URLS",
    "ALERT_ON",
    "ALERT_COOLDOWN_MINUTES",
    "HISTORY_RETENTION_DAYS",
    "SESSION_IDLE_HOURS",
    "SESSION_ABSOLUTE_DAYS",
    "APP_TRUST_PROXY_HEADERS",
    "APP_LIVE_SECONDS",
    "APP_DATA_DIR",
    "APP_SECRETS_FILE",
)
DEFAULT_MONITOR_INTERVAL_SECONDS = 60.0
DEFAULT_RETENTION_DAYS = 180
DEFAULT_LIVE_SECONDS = 3.0
ALERT_KINDS = ("dropped", "recovered", "stuck_connecting")


@dataclass(frozen=True)
class SupabaseSettings:
    url: str
    anon_key: str
    # Server-side only (status monitor, provider events): never in a browser session, never logged.
    service_role_key: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class AlertSettings:
    urls: tuple[str, ...] = field(default=(), repr=False)  # Apprise URLs carry credentials
    on: tuple[str, ...] = ALERT_KINDS
    cooldown_minutes: float = 15.0

    @property
    def enabled(self) -> bool:
        return bool(self.urls)


@dataclass(frozen=True)
class Settings:
    provider: ProviderSettings  # which WhatsApp provider (lib.config.provider)
    webhooks: WebhookSettings | None  # the webhook contract's URLs, when the provider is "webhooks"
    supabase: SupabaseSettings | None  # None: embedded SQLite store and local accounts
    data_dir: Path
    monitor_interval_seconds: float = DEFAULT_MONITOR_INTERVAL_SECONDS  # 0: the monitor is off
    events_secret: str | None = field(default=None, repr=False)  # None: no provider events (but see lib.context)
    public_url: str | None = None  # where people open the dashboard, for links in alerts
    alerts: AlertSettings = field(default_factory=AlertSettings)
    retention_days: int = DEFAULT_RETENTION_DAYS  # history events older than this are pruned daily
    session_idle_hours: float = 12.0  # a session unused this long ends
    session_absolute_days: float = 7.0  # a session ends this long after the login, used or not
    # Behind a reverse proxy of yours: believe its X-Forwarded-For (client address, for the login
    # throttle) and X-Forwarded-Proto (https: the session cookie is Secure). Off: never believed.
    trust_proxy_headers: bool = False
    # An open page checks the store, its session and the connect dialog's QR this often (1 to 5 s: a
    # QR lasts about 20 s and the dialog asks for the next one only on a tick).
    live_seconds: float = DEFAULT_LIVE_SECONDS
    sso: SsoSettings | None = None  # None: no single sign-on, passwords only

    @property
    def mode_label(self) -> str:
        """The storage and the provider, for the login page (the provider's address: make run only)."""
        storage = "Supabase" if self.supabase else "banco local SQLite"
        return f"{storage} + {self.provider.name}"

    def cache_key(self) -> str:
        """Tells settings apart, secrets included (repr leaves them out); never shown or logged."""
        return str(astuple(self))


def read_secrets_file(path: Path = SECRETS_PATH) -> dict:
    if not path.exists():
        return {}
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"Arquivo {path.name} inválido: {exc}") from None


def load_settings(secrets: Mapping | None = None, env: Mapping[str, str] | None = None) -> Settings:
    """Build the settings; raises ConfigError naming the key that is wrong. APP_SECRETS_FILE
    points at another secrets file (tests use it to ignore a developer's own)."""
    env = os.environ if env is None else env
    if secrets is None:
        secrets = read_secrets_file(Path(env.get("APP_SECRETS_FILE") or SECRETS_PATH))
    webhooks = webhook_settings(secrets.get("webhooks", {}), env)
    return Settings(
        provider=provider_settings(secrets.get("provider", {}), env, webhooks),
        webhooks=webhooks,
        supabase=_supabase_settings(secrets.get("supabase", {}), env),
        data_dir=Path(env.get("APP_DATA_DIR") or PROJECT_ROOT / "data"),
        monitor_interval_seconds=_monitor_interval(secrets.get("monitor", {}), env),
        events_secret=(env.get("EVENTS_SECRET") or str(secrets.get("events", {}).get("secret") or "")).strip() or None,
        public_url=_public_url(secrets.get("app", {}), env),
        alerts=_alert_settings(secrets.get("alerts", {}), env),
        retention_days=_retention_days(secrets.get("history", {}), env),
        **_session_settings(secrets.get("sessions", {}), env),
        trust_proxy_headers=_flag(env.get("APP_TRUST_PROXY_HEADERS") or secrets.get("app", {}).get("trust_proxy_headers")),
        live_seconds=_live_seconds(secrets.get("app", {}), env),
        sso=sso_settings(secrets.get("auth")),
    )


def streamlit_secrets(env: Mapping[str, str] | None = None) -> dict:
    """What server.py hands Streamlit as st.secrets (st.App(secrets=...)): the [auth] section of the
    app's secrets file, so that st.login reads the same file as the app, also when APP_SECRETS_FILE
    points elsewhere (an empty section hides the [auth] of Streamlit's own file then). A file that
    cannot be read gives an empty section: the pages show the configuration error."""
    env = os.environ if env is None else env
    try:
        section = read_secrets_file(Path(env.get("APP_SECRETS_FILE") or SECRETS_PATH)).get("auth")
    except ConfigError:
        section = None
    return {"auth": dict(section) if isinstance(section, Mapping) else {}}


_current: tuple[tuple, Settings] | None = None


def current_settings() -> Settings:
    """load_settings() for this process's environment and secrets file, built again only when one
    of them changed. The UI asks on every rerun and every polling tick; reading and parsing the
    file each time is wasted work (a stat and a few lookups tell whether anything changed)."""
    global _current
    path = Path(os.environ.get("APP_SECRETS_FILE") or SECRETS_PATH)
    try:
        stat = path.stat()
        file_version = (stat.st_mtime_ns, stat.st_size, stat.st_ino)
    except OSError:
        file_version = None
    key = (path, file_version, tuple(os.environ.get(name) for name in ENV_VARIABLES))
    current = _current
    if current is None or current[0] != key:
        current = (key, load_settings())  # a ConfigError is raised again on every call, never kept
        _current = current
    return current[1]


def _monitor_interval(section: Mapping, env: Mapping[str, str]) -> float:
    raw = env.get("MONITOR_INTERVAL_SECONDS") or section.get("interval_seconds", DEFAULT_MONITOR_INTERVAL_SECONDS)
    interval = _number(raw, minimum=0)
    if interval is None:
        raise ConfigError(
            "Configuração inválida: monitor.interval_seconds (MONITOR_INTERVAL_SECONDS) deve ser um número "
            "maior ou igual a zero (0 desliga o monitor)."
        )
    return interval


def _alert_settings(section: Mapping, env: Mapping[str, str]) -> AlertSettings:
    urls = tuple(env["ALERT_URLS"].split()) if env.get("ALERT_URLS") else tuple(section.get("urls", ()))
    if not all(isinstance(url, str) for url in urls):
        raise ConfigError("Configuração inválida: alerts.urls deve ser uma lista de URLs do Apprise.")
    _validate_alert_urls(urls)
    on = tuple(env["ALERT_ON"].replace(",", " ").split()) if env.get("ALERT_ON") else tuple(section.get("on", ALERT_KINDS))
    unknown = [kind for kind in on if kind not in ALERT_KINDS]
    if unknown:
        raise ConfigError(f"Configuração inválida: alerts.on (ALERT_ON) aceita {', '.join(ALERT_KINDS)}.")
    cooldown = _number(env.get("ALERT_COOLDOWN_MINUTES") or section.get("cooldown_minutes", 15), minimum=0)
    if cooldown is None:
        raise ConfigError("Configuração inválida: alerts.cooldown_minutes (ALERT_COOLDOWN_MINUTES) deve ser um número ≥ 0.")
    return AlertSettings(urls=tuple(url.strip() for url in urls), on=on, cooldown_minutes=cooldown)


def _validate_alert_urls(urls: tuple[str, ...]) -> None:
    """ConfigError naming the position of a URL Apprise does not understand (never the URL itself:
    Apprise URLs carry credentials)."""
    import apprise  # only when alerts are configured

    quiet = _ThisThreadQuiet()  # Apprise logs a malformed credential in full while it reads a URL
    logging.getLogger("apprise").addFilter(quiet)
    try:
        for position, url in enumerate(urls, start=1):
            if not apprise.Apprise().add(url):
                raise ConfigError(
                    f"Configuração inválida: alerts.urls (ALERT_URLS), item {position}, não é uma URL do Apprise "
                    "(ex.: tgram://TOKEN/CHAT, slack://…, json://host/caminho)."
                )
    finally:
        logging.getLogger("apprise").removeFilter(quiet)


class _ThisThreadQuiet(logging.Filter):
    """Drops the records the creating thread logs (other threads' records pass)."""

    def __init__(self):
        super().__init__()
        self.thread = threading.get_ident()

    def filter(self, record: logging.LogRecord) -> bool:
        return record.thread != self.thread


def _retention_days(section: Mapping, env: Mapping[str, str]) -> int:
    days = _number(env.get("HISTORY_RETENTION_DAYS") or section.get("retention_days", DEFAULT_RETENTION_DAYS), minimum=1)
    if days is None or days != int(days):
        raise ConfigError("Configuração inválida: history.retention_days (HISTORY_RETENTION_DAYS) deve ser um inteiro ≥ 1.")
    return int(days)


def _session_settings(section: Mapping, env: Mapping[str, str]) -> dict:
    idle = _number(env.get("SESSION_IDLE_HOURS") or section.get("idle_hours", 12), minimum=0.01)
    absolute = _number(env.get("SESSION_ABSOLUTE_DAYS") or section.get("absolute_days", 7), minimum=0.01)
    if idle is None or absolute is None:
        raise ConfigError("Configuração inválida: sessions.idle_hours (SESSION_IDLE_HOURS) e sessions.absolute_days "
                          "(SESSION_ABSOLUTE_DAYS) devem ser números positivos.")
    return {"session_idle_hours": idle, "session_absolute_days": absolute}


def _live_seconds(section: Mapping, env: Mapping[str, str]) -> float:
    seconds = _number(env.get("APP_LIVE_SECONDS") or section.get("live_seconds", DEFAULT_LIVE_SECONDS), minimum=1)
    if seconds is None or seconds > 5:
        raise ConfigError("Configuração inválida: app.live_seconds (APP_LIVE_SECONDS) deve ser um número de 1 a 5.")
    return seconds


def _flag(raw) -> bool:
    return str(raw or "").strip().lower() in ("1", "true", "yes", "sim", "on")


def _number(raw, *, minimum: float) -> float | None:
    """float(raw) when it is a number ≥ minimum, else None (nan included)."""
    try:
        value = float(raw)
    except (TypeError, ValueError):
        return None
    return value if value >= minimum else None


def _public_url(section: Mapping, env: Mapping[str, str]) -> str | None:
    url = (env.get("APP_PUBLIC_URL") or str(section.get("public_url") or "")).strip().rstrip("/")
    if url and urlparse(url).scheme not in ("http", "https"):
        raise ConfigError("Configuração inválida: app.public_url (APP_PUBLIC_URL) deve ser uma URL http ou https.")
    return url or None


def _supabase_settings(section: Mapping, env: Mapping[str, str]) -> SupabaseSettings | None:
    url = (env.get("SUPABASE_URL") or section.get("url") or "").strip()
    key = (env.get("SUPABASE_ANON_KEY") or section.get("anon_key") or "").strip()
    service_key = (env.get("SUPABASE_SERVICE_ROLE_KEY") or section.get("service_role_key") or "").strip() or None
    if not url and not key:
        return None
    if not url:
        raise ConfigError("Configuração incompleta: falta supabase.url (SUPABASE_URL).")
    if not key:
        raise ConfigError("Configuração incompleta: falta supabase.anon_key (SUPABASE_ANON_KEY).")
    if urlparse(url).scheme not in ("http", "https"):
        raise ConfigError("Configuração inválida: supabase.url (SUPABASE_URL) deve ser uma URL http ou https.")
    return SupabaseSettings(url=url, anon_key=key, service_role_key=service_key)
