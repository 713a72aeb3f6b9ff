"""Single sign-on: the `[auth]` section of the secrets file, as Streamlit's st.login reads it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping
from urllib.parse import urlparse

from lib.errors import ConfigError

# Single sign-on ([auth], as st.login reads it): the keys every provider needs, and the shortest
# cookie_secret accepted (it signs the identity cookie the sign-in rests on: a guessable one would
# let anyone claim any e-mail).
SSO_PROVIDER_KEYS = ("client_id", "client_secret", "server_metadata_url")
SSO_MIN_COOKIE_SECRET = 32
SSO_DEFAULT_PROVIDER = "default"  # st.login()'s name for the provider written in [auth] itself
SSO_DEFAULT_LABEL = "SSO"
SSO_MAX_LABEL = 40


@dataclass(frozen=True)
class SsoProvider:
    """One identity provider of [auth]: the name st.login() takes and the button's label. Its
    client secret stays in the secrets (Streamlit reads it there): nothing here is secret."""

    name: str  # SSO_DEFAULT_PROVIDER for the keys written in [auth] itself, else [auth.<name>]
    label: str  # "Entrar com <label>"


@dataclass(frozen=True)
class SsoSettings:
    providers: tuple[SsoProvider, ...]
    redirect_uri: str


def sso_settings(section) -> SsoSettings | None:
    """[auth] as st.login reads it: redirect_uri and cookie_secret, then one provider written in
    [auth] itself and/or named ones in [auth.<name>], each with client_id, client_secret and
    server_metadata_url, and optionally `label` (the button's "Entrar com <label>"). Errors name
    the key, never a value."""
    if not section:
        return None
    if not isinstance(section, Mapping):
        raise ConfigError("Configuração inválida: auth deve ser uma seção ([auth]).")
    redirect_uri = _sso_text(section, "redirect_uri", "auth")
    parsed = urlparse(redirect_uri.replace("{port}", "8501"))  # Streamlit fills {port} in itself
    if parsed.scheme not in ("http", "https") or not parsed.netloc or not parsed.path.endswith("/oauth2callback"):
        raise ConfigError("Configuração inválida: auth.redirect_uri deve ser o endereço do painel terminado em "
                          "/oauth2callback (ex.: https://painel.example.com/oauth2callback).")
    if len(_sso_text(section, "cookie_secret", "auth")) < SSO_MIN_COOKIE_SECRET:
        raise ConfigError(f"Configuração inválida: auth.cookie_secret deve ter pelo menos {SSO_MIN_COOKIE_SECRET} "
                          "caracteres aleatórios (ex.: python3 -c \"import secrets; print(secrets.token_urlsafe(32))\").")
    providers = []
    if any(key in section for key in SSO_PROVIDER_KEYS):
        providers.append(_sso_provider(SSO_DEFAULT_PROVIDER, section, "auth", SSO_DEFAULT_LABEL))
    for name, value in section.items():
        if not isinstance(value, Mapping) or name == "client_kwargs":
            continue
        if "_" in name or not name.strip() or name != name.strip():
            raise ConfigError(f"Configuração inválida: o nome do provedor em [auth.{name}] não pode ter \"_\" nem "
                              "espaços (ex.: [auth.google], [auth.microsoft]).")
        providers.append(_sso_provider(name, value, f"auth.{name}", name[:1].upper() + name[1:]))
    if not providers:
        raise ConfigError("Configuração incompleta: falta auth.client_id (ou uma seção [auth.<provedor>] com "
                          "client_id, client_secret e server_metadata_url).")
    return SsoSettings(providers=tuple(providers), redirect_uri=redirect_uri)


def _sso_provider(name: str, section: Mapping, path: str, default_label: str) -> SsoProvider:
    for key in SSO_PROVIDER_KEYS:
        _sso_text(section, key, path)
    metadata = urlparse(str(section["server_metadata_url"]).strip())
    if metadata.scheme not in ("http", "https") or not metadata.netloc:
        raise ConfigError(f"Configuração inválida: {path}.server_metadata_url deve ser uma URL http ou https "
                          "(o endereço .well-known/openid-configuration do provedor).")
    label = section.get("label", default_label)
    if not isinstance(label, str) or not label.strip() or len(label.strip()) > SSO_MAX_LABEL:
        raise ConfigError(f"Configuração inválida: {path}.label deve ser um texto de 1 a {SSO_MAX_LABEL} caracteres.")
    return SsoProvider(name=name, label=label.strip())


def _sso_text(section: Mapping, key: str, path: str) -> str:
    """The key's value as non-empty text; ConfigError naming `path.key` (never the value) otherwise."""
    value = section.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        raise ConfigError(f"Configuração incompleta: falta {path}.{key}.")
    if not isinstance(value, str):
        raise ConfigError(f"Configuração inválida: {path}.{key} deve ser um texto.")
    return value.strip()
