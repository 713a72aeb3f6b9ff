import pytest

from lib.config import load_settings
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
