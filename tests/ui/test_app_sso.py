"""Single sign-on under AppTest on the embedded default: st.user as Streamlit fills it after
st.login (AppTest.user), the login page's buttons, the session the app starts for the mapped user,
"Sem acesso" for an e-mail that maps to no one, "Sair" leaving the provider too, and nothing that
ended a session undone by the identity still being there. The browser journey against a real
provider is tests/ui/test_browser_sso.py."""

from __future__ import annotations

import time

import pytest

from lib.ui import signed_in
from lib.ui.signed_in import SIGNED_IN_KEY
from tests.support.app_ui import APP, PASSWORD, App, button, new_app, texts
from tests.support.app_ui import context, data_dir  # noqa: F401 - fixtures
from tests.support.supabase_double import clock, fake  # noqa: F401 - fixtures

COOKIE_SECRET = "s" * 43
AUTH = f"""
[auth]
redirect_uri = "http://127.0.0.1:8501/oauth2callback"
cookie_secret = "{COOKIE_SECRET}"

[auth.google]
client_id = "painel"
client_secret = "segredo-do-cliente"
server_metadata_url = "https://accounts.google.com/.well-known/openid-configuration"

[auth.keycloak]
label = "Keycloak da empresa"
client_id = "painel"
client_secret = "outro-segredo"
server_metadata_url = "https://sso.example.com/realms/cobranca/.well-known/openid-configuration"
"""
NO_ACCESS = "Sem acesso: peça a um administrador."
_nonces = iter(range(1, 1_000_000))


@pytest.fixture
def secrets_file(data_dir, monkeypatch):
    path = data_dir / "secrets.toml"
    path.write_text(AUTH, encoding="utf-8")
    monkeypatch.setenv("APP_SECRETS_FILE", str(path))
    return path


@pytest.fixture
def sso_context(secrets_file):
    from lib.context import app_context
    from lib.config.settings import load_settings

    context = app_context(load_settings())
    context.accounts.add("admin@example.com", PASSWORD, "admin")
    return context


def claims(email: str, *, issued: float | None = None, nonce: str | None = None) -> dict:
    """st.user right after st.login("google"): the ID token's claims and Streamlit's keys."""
    issued = time.time() if issued is None else issued
    return {"is_logged_in": True, "provider": "google", "origin": "http://127.0.0.1:8501",
            "iss": "https://accounts.google.com", "sub": f"sub-{email}", "aud": "painel",
            "iat": int(issued), "exp": int(issued) + 3600, "nonce": nonce or f"n-{next(_nonces)}",
            "email": email, "email_verified": True}


def signed_in_by_provider(identity: dict):
    """A browser session whose first run comes right after the provider's sign-in."""
    at = App(APP, default_timeout=30)
    at.user = dict(identity)
    at.run()
    if SIGNED_IN_KEY in at.session_state:
        at.run()  # see harness.apptest.App: an st.rerun() inside a run
    assert not at.exception, at.exception
    return at


def sidebar(at) -> str:
    return "\n".join(str(t.value) for t in at.sidebar.text)


def test_the_login_page_offers_each_provider_beside_the_password(sso_context):
    at = new_app()
    labels = [b.label for b in at.button]
    assert "Entrar com Google" in labels and "Entrar com Keycloak da empresa" in labels
    assert "Entrar" in labels  # the password form stays
    assert "segredo-do-cliente" not in texts(at) and COOKIE_SECRET not in texts(at)


def test_the_first_administrator_is_made_with_a_password_not_the_provider(secrets_file):
    at = new_app()
    assert "Criar primeiro administrador" in texts(at)
    assert not [b for b in at.button if b.label.startswith("Entrar com")]


def test_a_mapped_email_gets_its_own_session_with_its_role(sso_context):
    ana = sso_context.accounts.add("ana@example.com", None, "supervisor")  # password-less
    at = signed_in_by_provider(claims("Ana@Example.com"))
    assert "ana@example.com\nSupervisor" in sidebar(at)
    assert "Somente leitura: apenas administradores alteram instâncias." in texts(at)
    assert "Alterar senha" not in [p for p in texts(at).split("\n")]
    stored = sso_context.sessions.resume(at.session_state[SIGNED_IN_KEY].session_id)
    assert (stored.user_id, stored.sso) == (ana.id, True)  # the app's own session, as a password login makes
    assert sso_context.accounts.get(ana.id).last_login_at is not None


def test_an_admin_signed_in_by_the_provider_is_an_admin(sso_context):
    at = signed_in_by_provider(claims("admin@example.com"))
    assert "admin@example.com\nAdministrador" in sidebar(at)
    assert "+ Nova instância" in [b.label for b in at.button]


@pytest.mark.parametrize("deactivated", [False, True])
def test_an_unknown_or_deactivated_email_has_no_access_and_can_leave(sso_context, deactivated):
    if deactivated:
        ana = sso_context.accounts.add("ana@example.com", None, "analyst")
        sso_context.accounts.set_active(ana.id, False)
    at = signed_in_by_provider(claims("ana@example.com"))
    assert NO_ACCESS in texts(at) and "ana@example.com" in texts(at)
    assert SIGNED_IN_KEY not in at.session_state
    assert "Entrar" not in [b.label for b in at.button]  # nothing else on the page
    at.run()
    assert NO_ACCESS in texts(at)  # stays until the person leaves
    button(at, "Sair").click().run()
    assert at.user == {"is_logged_in": False}  # st.logout(): Streamlit's identity cookie goes
    at.run()
    assert NO_ACCESS not in texts(at) and "Entrar com Google" in [b.label for b in at.button]


def test_an_old_sign_in_at_the_provider_starts_no_session(sso_context):
    sso_context.accounts.add("ana@example.com", None, "analyst")
    at = signed_in_by_provider(claims("ana@example.com", issued=time.time() - 3600))
    assert SIGNED_IN_KEY not in at.session_state
    assert "Entrar com Google" in [b.label for b in at.button]


def test_one_sign_in_at_the_provider_starts_one_session(sso_context, monkeypatch):
    sso_context.accounts.add("ana@example.com", None, "analyst")
    identity = claims("ana@example.com")
    first = signed_in_by_provider(identity)
    assert SIGNED_IN_KEY in first.session_state
    again = signed_in_by_provider(identity)  # e.g. a tab opened before the cookie was set
    assert SIGNED_IN_KEY not in again.session_state and "Entrar com Google" in [b.label for b in again.button]
    asked = []
    monkeypatch.setattr(sso_context.signin.mode, "user_for_provider", lambda email: asked.append(email))
    again.run()
    again.run()
    assert asked == []  # the login page's runs don't ask the store about the used sign-in again
    assert SIGNED_IN_KEY not in again.session_state


def test_sair_ends_the_session_and_leaves_the_provider(sso_context):
    sso_context.accounts.add("ana@example.com", None, "analyst")
    at = signed_in_by_provider(claims("ana@example.com"))
    raw_id = at.session_state[SIGNED_IN_KEY].session_id
    button(at, "Sair").click().run()
    assert sso_context.sessions.resume(raw_id) is None
    at.run()  # the full run after "Sair" (see harness.apptest.App)
    assert at.user == {"is_logged_in": False}  # st.logout(), at its end
    assert SIGNED_IN_KEY not in at.session_state and "Entrar com Google" in [b.label for b in at.button]


def test_a_session_an_admin_ended_is_not_made_again_from_the_identity(sso_context):
    ana = sso_context.accounts.add("ana@example.com", None, "analyst")
    identity = claims("ana@example.com")
    at = signed_in_by_provider(identity)
    sso_context.sessions.end_all(ana.id)  # "Encerrar sessões" on the Usuários page
    at.session_state[signed_in.USER_CHECKED_KEY] -= signed_in.USER_CHECK_SECONDS  # a minute later
    at.run()
    at.run()
    assert at.user["is_logged_in"] is True  # Streamlit's identity is still there…
    assert SIGNED_IN_KEY not in at.session_state  # …and starts nothing again
    assert "Entrar com Google" in [b.label for b in at.button]
    assert SIGNED_IN_KEY not in signed_in_by_provider(identity).session_state  # nor in a reload


def test_a_deactivation_signs_the_provider_user_out(sso_context):
    ana = sso_context.accounts.add("ana@example.com", None, "analyst")
    at = signed_in_by_provider(claims("ana@example.com"))
    sso_context.accounts.set_active(ana.id, False)
    at.session_state[signed_in.USER_CHECKED_KEY] -= signed_in.USER_CHECK_SECONDS
    at.run()
    at.run()
    assert SIGNED_IN_KEY not in at.session_state
    assert NO_ACCESS in texts(signed_in_by_provider(claims("ana@example.com")))  # a new sign-in: refused


def test_a_password_login_is_unchanged_by_single_sign_on(sso_context):
    at = new_app()
    at.text_input[0].input("admin@example.com")
    at.text_input[1].input(PASSWORD)
    button(at, "Entrar").click().run()
    at.run()
    assert "admin@example.com\nAdministrador" in sidebar(at)
    assert not sso_context.sessions.resume(at.session_state[SIGNED_IN_KEY].session_id).sso
    button(at, "Sair").click().run()
    at.run()
    assert SIGNED_IN_KEY not in at.session_state
    assert at.user == {"email": "test@example.com"}  # no provider to leave: st.logout() not called


def test_an_admin_adds_a_password_less_user_for_the_provider(sso_context):
    at = new_app()
    at.text_input[0].input("admin@example.com")
    at.text_input[1].input(PASSWORD)
    button(at, "Entrar").click().run()
    at.run()
    at.switch_page("pages/usuarios.py").run()
    [email] = [t for t in at.text_input if t.label == "E-mail"]
    email.input("bia@example.com")
    [role] = [s for s in at.selectbox if s.label == "Papel"][:1]
    role.select("supervisor")
    [c for c in at.checkbox if c.label == "Só pelo provedor (sem senha)"][0].check()
    button(at, "Adicionar").click().run()
    assert not at.exception
    account = sso_context.accounts.find("bia@example.com")
    assert (account.role, account.has_password, account.must_change_password) == ("supervisor", False, False)
    assert "bia@example.com\nSupervisor" in sidebar(signed_in_by_provider(claims("bia@example.com")))


def test_supabase_mode_without_the_service_role_key_refuses_single_sign_on(secrets_file, monkeypatch):
    monkeypatch.setenv("SUPABASE_URL", "https://p.supabase.co")
    monkeypatch.setenv("SUPABASE_ANON_KEY", "anon")
    monkeypatch.delenv("SUPABASE_SERVICE_ROLE_KEY", raising=False)
    at = new_app()
    assert "precisa da chave de serviço" in texts(at) and "SUPABASE_SERVICE_ROLE_KEY" in texts(at)
    assert not [b for b in at.button if b.label.startswith("Entrar com")]
    at = signed_in_by_provider(claims("ana@example.com"))  # signed in at the provider all the same
    assert "precisa da chave de serviço" in texts(at) and SIGNED_IN_KEY not in at.session_state


def test_a_broken_auth_section_stops_the_app_naming_the_key(data_dir, monkeypatch):
    path = data_dir / "secrets.toml"
    path.write_text(AUTH.replace('client_secret = "segredo-do-cliente"\n', ""), encoding="utf-8")
    monkeypatch.setenv("APP_SECRETS_FILE", str(path))
    at = new_app()
    assert "Configuração incompleta: falta auth.google.client_secret." in texts(at)
    assert "outro-segredo" not in texts(at) and COOKIE_SECRET not in texts(at)


def test_in_supabase_mode_a_provider_sign_in_becomes_the_persons_own_supabase_session(secrets_file, monkeypatch, fake):
    """The service-role key only makes a one-time sign-in link on the server; the browser session
    then acts as the person, under row-level security, with no server key in it."""
    from tests.support.supabase_double import ANON_KEY, SERVICE_ROLE_KEY, URL

    monkeypatch.setenv("SUPABASE_URL", URL)
    monkeypatch.setenv("SUPABASE_ANON_KEY", ANON_KEY)
    monkeypatch.setenv("SUPABASE_SERVICE_ROLE_KEY", SERVICE_ROLE_KEY)
    fake.add_user("ana@example.com", "analyst")
    fake.add_row("sbx-cobranca")
    at = signed_in_by_provider(claims("Ana@Example.com"))
    assert not at.exception and "Somente leitura" in texts(at) and "Sbx-Cobranca" in texts(at)
    supabase = at.session_state[SIGNED_IN_KEY].supabase
    assert supabase.user.role == "analyst" and supabase.refresh_token
    assert fake.link_route.call_count == 1 and fake.sign_in_links == {}  # the link was used, once
    instance_reads = fake.rest_requests("instances")
    assert instance_reads and all(r.headers["Authorization"] == f"Bearer {fake.token_of('ana@example.com')}"
                                  for r in instance_reads)  # as Ana, never with the service-role key
    state = repr(dict(at.session_state))
    assert SERVICE_ROLE_KEY not in state
