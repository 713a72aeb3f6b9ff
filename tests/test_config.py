import pytest

from lib.config.settings import load_settings
from lib.errors import ConfigError

URLS = {f"{a}_url": f"https://hooks.example.com/{a}" for a in ("create", "connect", "status", "disconnect")}


def test_nothing_configured_means_embedded_default(tmp_path):
    settings = load_settings({}, {"APP_DATA_DIR": str(tmp_path)})
    assert settings.webhooks is None and settings.supabase is None
    assert settings.data_dir == tmp_path


def test_full_webhook_section_with_headers_and_timeout():
    settings = load_settings({"webhooks": {**URLS, "headers": {"apikey": "k"}, "timeout_seconds": 7}}, {})
    assert settings.webhooks.status_url == "https://hooks.example.com/status"
    assert dict(settings.webhooks.headers) == {"apikey": "k"}
    assert settings.webhooks.timeout_seconds == 7


def test_environment_overrides_secrets():
    env = {"WEBHOOK_CREATE_URL": "http://127.0.0.1:9/c", "WEBHOOK_TIMEOUT_SECONDS": "3",
           "SUPABASE_URL": "https://p.supabase.co", "SUPABASE_ANON_KEY": "anon"}
    settings = load_settings({"webhooks": URLS}, env)
    assert settings.webhooks.create_url == "http://127.0.0.1:9/c"
    assert settings.webhooks.timeout_seconds == 3
    assert (settings.supabase.url, settings.supabase.anon_key) == ("https://p.supabase.co", "anon")


@pytest.mark.parametrize(
    "webhooks, named",
    [
        ({"create_url": URLS["create_url"]}, "webhooks.connect_url"),
        ({**URLS, "status_url": "ftp://x/status"}, "webhooks.status_url"),
        ({**URLS, "disconnect_url": "not a url"}, "webhooks.disconnect_url"),
        ({**URLS, "timeout_seconds": "soon"}, "webhooks.timeout_seconds"),
        ({**URLS, "headers": "Authorization: x"}, "webhooks.headers"),
    ],
)
def test_half_filled_webhooks_name_the_key(webhooks, named):
    with pytest.raises(ConfigError, match=named.replace(".", r"\.")):
        load_settings({"webhooks": webhooks}, {})


@pytest.mark.parametrize("section, named", [({"url": "https://p.supabase.co"}, "anon_key"), ({"anon_key": "k"}, "supabase.url")])
def test_half_filled_supabase_names_the_key(section, named):
    with pytest.raises(ConfigError, match=named):
        load_settings({"supabase": section}, {})


# -- single sign-on ([auth], as st.login reads it) ----------------------------------------------
COOKIE_SECRET = "c" * 43
CLIENT = {"client_id": "painel", "client_secret": "segredo-do-cliente",
          "server_metadata_url": "https://accounts.google.com/.well-known/openid-configuration"}
SHARED = {"redirect_uri": "https://painel.example.com/oauth2callback", "cookie_secret": COOKIE_SECRET}


def sso(auth):
    return load_settings({"auth": auth}, {}).sso


def test_no_auth_section_means_no_single_sign_on():
    assert load_settings({}, {}).sso is None
    assert sso({}) is None


def test_one_provider_in_auth_itself_is_streamlits_default_with_a_label():
    settings = sso({**SHARED, **CLIENT, "label": "Google"})
    assert [(p.name, p.label) for p in settings.providers] == [("default", "Google")]
    assert sso({**SHARED, **CLIENT}).providers[0].label == "SSO"


def test_named_providers_are_labelled_by_their_section_name_unless_told():
    settings = sso({**SHARED, "google": CLIENT,
                    "microsoft": {**CLIENT, "label": "Microsoft 365", "client_kwargs": {"prompt": "login"}},
                    "keycloak": CLIENT})
    assert [(p.name, p.label) for p in settings.providers] == [
        ("google", "Google"), ("microsoft", "Microsoft 365"), ("keycloak", "Keycloak")]


def test_client_kwargs_of_the_default_provider_is_not_a_provider():
    settings = sso({**SHARED, **CLIENT, "client_kwargs": {"prompt": "select_account"}})
    assert [p.name for p in settings.providers] == ["default"]


def test_the_port_placeholder_streamlit_fills_in_is_accepted():
    assert sso({**SHARED, **CLIENT, "redirect_uri": "http://127.0.0.1:{port}/oauth2callback"}) is not None


@pytest.mark.parametrize(
    "auth, named",
    [
        ({**CLIENT, "cookie_secret": COOKIE_SECRET}, "auth.redirect_uri"),
        ({**CLIENT, "redirect_uri": SHARED["redirect_uri"]}, "auth.cookie_secret"),
        ({**SHARED, "client_id": "x", "server_metadata_url": CLIENT["server_metadata_url"]}, "auth.client_secret"),
        ({**SHARED, "google": {k: v for k, v in CLIENT.items() if k != "client_id"}}, "auth.google.client_id"),
        ({**SHARED, "microsoft": {k: v for k, v in CLIENT.items() if k != "server_metadata_url"}},
         "auth.microsoft.server_metadata_url"),
        ({**SHARED, "google": {**CLIENT, "client_secret": "  "}}, "auth.google.client_secret"),
        (SHARED, "auth.client_id"),
    ],
)
def test_a_missing_key_is_one_portuguese_error_naming_it(auth, named):
    with pytest.raises(ConfigError, match="^Configuração incompleta: falta " + named.replace(".", r"\.")) as raised:
        sso(auth)
    assert "segredo-do-cliente" not in raised.value.message and COOKIE_SECRET not in raised.value.message


@pytest.mark.parametrize(
    "auth, named",
    [
        ({**SHARED, **CLIENT, "redirect_uri": "https://painel.example.com/"}, "auth.redirect_uri"),
        ({**SHARED, **CLIENT, "redirect_uri": "painel/oauth2callback"}, "auth.redirect_uri"),
        ({**SHARED, **CLIENT, "cookie_secret": "curto"}, "auth.cookie_secret"),
        ({**SHARED, "google": {**CLIENT, "server_metadata_url": "accounts.google.com"}}, "auth.google.server_metadata_url"),
        ({**SHARED, "google": {**CLIENT, "label": ""}}, "auth.google.label"),
        ({**SHARED, "google": {**CLIENT, "label": "x" * 41}}, "auth.google.label"),
        ({**SHARED, "google": {**CLIENT, "client_id": 123}}, "auth.google.client_id"),
        ({**SHARED, "my_idp": CLIENT}, "auth.my_idp"),
        ("not a section", "auth"),
    ],
)
def test_an_invalid_value_is_one_portuguese_error_naming_the_key(auth, named):
    with pytest.raises(ConfigError, match="^Configuração inválida: .*" + named.replace(".", r"\.")) as raised:
        sso(auth)
    assert "segredo-do-cliente" not in raised.value.message and COOKIE_SECRET not in raised.value.message


def test_settings_hold_no_secret_of_the_provider():
    settings = load_settings({"auth": {**SHARED, "google": CLIENT}}, {})
    assert "segredo-do-cliente" not in repr(settings) and COOKIE_SECRET not in repr(settings)


def test_streamlit_is_handed_the_auth_section_of_the_apps_secrets_file(tmp_path):
    from lib.config.settings import streamlit_secrets

    path = tmp_path / "secrets.toml"
    path.write_text('[auth]\nredirect_uri = "http://127.0.0.1:{port}/oauth2callback"\ncookie_secret = "%s"\n'
                    '[auth.google]\nclient_id = "painel"\nclient_secret = "s"\n'
                    'server_metadata_url = "https://accounts.google.com/.well-known/openid-configuration"\n'
                    '[supabase]\nservice_role_key = "never-handed-over"\n' % COOKIE_SECRET, encoding="utf-8")
    handed = streamlit_secrets({"APP_SECRETS_FILE": str(path)})
    assert handed == {"auth": {"redirect_uri": "http://127.0.0.1:{port}/oauth2callback", "cookie_secret": COOKIE_SECRET,
                               "google": {"client_id": "painel", "client_secret": "s",
                                          "server_metadata_url": "https://accounts.google.com/.well-known/openid-configuration"}}}
    # No [auth] (or no file, or a broken one): an empty section, which hides a developer's own [auth].
    assert streamlit_secrets({"APP_SECRETS_FILE": str(tmp_path / "none.toml")}) == {"auth": {}}
    path.write_text("[auth\n", encoding="utf-8")
    assert streamlit_secrets({"APP_SECRETS_FILE": str(path)}) == {"auth": {}}


def test_the_example_secrets_file_with_every_setting_switched_on_is_accepted():
    """The documented example is a working configuration: every commented key uncommented loads."""
    import re
    import tomllib
    from pathlib import Path

    text = (Path(__file__).parents[1] / ".streamlit/secrets.toml.example").read_text(encoding="utf-8")
    text = re.sub(r"(?m)^# (\[|[a-z_]+ = )", r"\1", text).replace("AT-LEAST-32-RANDOM-CHARACTERS", COOKIE_SECRET)
    settings = load_settings(tomllib.loads(text), {})
    assert settings.webhooks.delete_url == "https://n8n.example.com/webhook/instance-delete"
    assert settings.supabase.service_role_key == "YOUR-SERVICE-ROLE-KEY"
    assert settings.events_secret and settings.alerts.on and settings.public_url and settings.sso
    assert (settings.monitor_interval_seconds, settings.retention_days) == (60, 180)


def test_the_monitor_interval_comes_from_the_environment_first_and_zero_turns_the_monitor_off(tmp_path, monkeypatch):
    from lib.context import MONITOR_OFF_BY_SETTING, app_context

    secrets = {"monitor": {"interval_seconds": 30}}
    assert load_settings(secrets, {}).monitor_interval_seconds == 30
    assert load_settings(secrets, {"MONITOR_INTERVAL_SECONDS": "10"}).monitor_interval_seconds == 10
    with pytest.raises(ConfigError, match="monitor.interval_seconds"):
        load_settings({}, {"MONITOR_INTERVAL_SECONDS": "-1"})
    monkeypatch.setenv("APP_DATA_DIR", str(tmp_path))
    off = app_context(load_settings({}, {"MONITOR_INTERVAL_SECONDS": "0", "APP_DATA_DIR": str(tmp_path)}))
    assert off.monitor_off_reason == MONITOR_OFF_BY_SETTING  # what admins read
    assert off.start_monitor() is None


def test_open_pages_tick_every_3_seconds_unless_app_live_seconds_says_otherwise():
    assert load_settings({}, {}).live_seconds == 3
    assert load_settings({"app": {"live_seconds": 5}}, {}).live_seconds == 5
    assert load_settings({"app": {"live_seconds": 5}}, {"APP_LIVE_SECONDS": "1"}).live_seconds == 1
    for wrong in ("0.5", "5.5", "60", "depressa"):
        with pytest.raises(ConfigError, match=r"app.live_seconds \(APP_LIVE_SECONDS\) deve ser um número de 1 a 5"):
            load_settings({}, {"APP_LIVE_SECONDS": wrong})


def test_the_make_run_banner_says_where_in_which_mode_and_how_to_open_it_to_the_network(tmp_path):
    from lib.config.banner import describe

    settings = load_settings({}, {"APP_DATA_DIR": str(tmp_path)})
    local = describe(settings, "127.0.0.1", 8501).splitlines()
    assert local[0] == "Painel de instâncias WhatsApp em http://localhost:8501"
    assert local[1] == f"Modo: {settings.mode_label}" and local[2] == f"Dados: {tmp_path.resolve()}"
    assert local[3] == "Só este computador acessa; para a rede local: make run ADDRESS=0.0.0.0"
    assert describe(settings, "0.0.0.0", 8501).splitlines()[0].endswith("http://0.0.0.0:8501")
    assert len(describe(settings, "0.0.0.0", 8501).splitlines()) == 3


# -- the provider ([provider], PROVIDER) ------------------------------------------------------------
def test_the_provider_is_the_sandbox_by_default_and_the_webhooks_when_their_urls_are_set():
    assert load_settings({}, {}).provider.kind == "sandbox"
    assert load_settings({"webhooks": URLS}, {}).provider.kind == "webhooks"
    assert load_settings({}, {"PROVIDER": "sandbox"}).provider.kind == "sandbox"


@pytest.mark.parametrize("kind, label", [("evolution", "Evolution API"), ("waha", "WAHA")])
def test_a_direct_provider_takes_its_url_and_key_and_never_shows_the_key(kind, label):
    settings = load_settings({"provider": {"kind": kind, "url": "https://user:pw@evo.example.com:8080/",
                                           "api_key": "chave-secreta-123"}}, {})
    assert (settings.provider.kind, settings.provider.url) == (kind, "https://user:pw@evo.example.com:8080")
    assert settings.provider.api_key == "chave-secreta-123"
    assert settings.provider.timeout_seconds == 15
    assert settings.mode_label == f"banco local SQLite + {label}"  # the login page: not where it runs
    from lib.config.banner import describe

    said = describe(settings, "127.0.0.1", 8501)  # make run: where, without the URL's user and password
    assert f"Provedor: {label} em https://evo.example.com:8080" in said.splitlines()
    assert "chave-secreta-123" not in repr(settings) + settings.mode_label + said and "pw@" not in said


def test_the_environment_chooses_the_provider_over_the_file():
    env = {"PROVIDER": "waha", "PROVIDER_URL": "http://127.0.0.1:3000", "PROVIDER_API_KEY": "k",
           "PROVIDER_TIMEOUT_SECONDS": "4"}
    provider = load_settings({"provider": {"kind": "evolution", "url": "https://evo.example.com", "api_key": "x"}},
                             env).provider
    assert (provider.kind, provider.url, provider.api_key, provider.timeout_seconds) == (
        "waha", "http://127.0.0.1:3000", "k", 4)


@pytest.mark.parametrize(
    "provider, webhooks, named",
    [
        ({"kind": "evolution"}, None, "PROVIDER=evolution precisa de provider.url (PROVIDER_URL) e provider.api_key "
                                      "(PROVIDER_API_KEY)"),
        ({"kind": "waha", "url": "http://127.0.0.1:3000"}, None, "PROVIDER=waha precisa de provider.api_key"),
        ({"kind": "evolution", "api_key": "segredo-123"}, None, "PROVIDER=evolution precisa de provider.url (PROVIDER_URL)."),
        ({"kind": "evolution", "url": "evo.example.com", "api_key": "segredo-123"}, None, "provider.url (PROVIDER_URL) deve ser"),
        ({"url": "https://evo.example.com", "api_key": "segredo-123"}, None, "falta provider.kind (PROVIDER)"),
        ({"kind": "zapi"}, None, "provider.kind (PROVIDER) deve ser sandbox, webhooks, evolution ou waha"),
        ({"kind": "webhooks"}, None, "PROVIDER=webhooks precisa das URLs dos webhooks"),
        ({"kind": "evolution", "url": "https://e.example.com", "api_key": "segredo-123"}, URLS, "PROVIDER=evolution não usa"),
        ({"kind": "sandbox", "api_key": "segredo-123"}, None, "valem só para evolution ou waha"),
        ({"kind": "waha", "url": "http://w", "api_key": "segredo-123", "timeout_seconds": 0}, None, "PROVIDER_TIMEOUT_SECONDS"),
    ],
)
def test_a_half_filled_or_contradictory_provider_stops_the_start_naming_what_is_missing(provider, webhooks, named):
    secrets = {"provider": provider, **({"webhooks": webhooks} if webhooks else {})}
    with pytest.raises(ConfigError) as raised:
        load_settings(secrets, {})
    assert named in raised.value.message
    assert "segredo-123" not in raised.value.message


def test_the_optional_restart_webhook_is_read_and_checked():
    assert load_settings({"webhooks": {**URLS, "restart_url": "https://hooks.example.com/restart"}}, {}).webhooks.restart_url \
        == "https://hooks.example.com/restart"
    assert load_settings({"webhooks": URLS}, {"WEBHOOK_RESTART_URL": "http://127.0.0.1:9/r"}).webhooks.restart_url \
        == "http://127.0.0.1:9/r"
    with pytest.raises(ConfigError, match=r"webhooks\.restart_url \(WEBHOOK_RESTART_URL\)"):
        load_settings({"webhooks": {**URLS, "restart_url": "ftp://x"}}, {})


def test_the_login_page_names_the_provider_but_not_where_it_runs(tmp_path):
    """Anyone who opens the app reads the login page: the provider's kind, never its address."""
    from lib.context import app_context

    settings = load_settings({"provider": {"kind": "evolution", "url": "https://evo.interno.example:8080",
                                           "api_key": "chave-secreta-123"}}, {"APP_DATA_DIR": str(tmp_path)})
    note = app_context(settings).signin.login_note
    assert note == "Modo padrão embutido: banco local SQLite + Evolution API."
