"""The app under AppTest in Supabase mode, against the HTTP double of GoTrue and PostgREST."""

import pytest
from streamlit.testing.v1 import AppTest

from tests.support.supabase_double import (  # noqa: F401 - clock and fake are fixtures
    ANON_KEY, PASSWORD, SERVICE_ROLE_KEY, URL, clock, fake,
)
from lib.context import MONITOR_OFF_NO_SERVICE_KEY
from lib.presentation import escape_markdown
from harness.server import ROOT
from lib.ui.signed_in import SIGNED_IN_KEY
from tests.support.app_ui import button, cards, field, log_in, new_app, texts, unescape_markdown
from tests.ui.test_app_users import users_page


@pytest.fixture
def supabase_app(fake, tmp_path, monkeypatch):
    monkeypatch.setenv("APP_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("SUPABASE_URL", URL)
    monkeypatch.setenv("SUPABASE_ANON_KEY", ANON_KEY)
    fake.add_user("ana@example.com", "analyst")
    fake.add_user("semrole@example.com")
    fake.add_row("sbx-cobranca")
    return fake


def test_login_page_offers_no_local_first_admin(supabase_app):
    at = new_app()
    assert "Criar primeiro administrador" not in texts(at)
    assert "Entre com sua conta do Supabase" in texts(at)


def test_wrong_password_is_reported_in_portuguese(supabase_app):
    at = log_in(new_app(), "admin@example.com", "wrong")
    assert "E-mail ou senha incorretos." in texts(at)
    assert SIGNED_IN_KEY not in at.session_state


def test_admin_sees_the_rows_and_creates_through_postgrest(supabase_app):
    at = log_in(new_app(), "admin@example.com", PASSWORD)
    assert cards(at)["Sbx-Cobranca"].startswith("Nunca conectada\n")
    assert MONITOR_OFF_NO_SERVICE_KEY in texts(at)  # no service-role key: admins are told how to turn it on
    button(at, "+ Nova instância").click().run()
    field(at, "Nome da instância").input("Suporte")
    button(at, "Criar").click().run()
    assert "Instância criada." in texts(at)
    assert [r["name"] for r in supabase_app.rows] == ["Sbx-Cobranca", "Suporte"]
    assert [(e["instance_name"], e["kind"], e["actor_id"], e["actor_email"]) for e in supabase_app.events] == [
        ("Suporte", "created", supabase_app.admin_id, "admin@example.com")
    ]
    assert all("token" not in r.url.params.get("select", "") for r in supabase_app.rest_requests("instances"))


def test_two_sessions_never_see_each_others_identity_role_or_data(supabase_app):
    admin = log_in(new_app(), "admin@example.com", PASSWORD)
    analyst = log_in(new_app(), "ana@example.com", PASSWORD)
    nobody = log_in(new_app(), "semrole@example.com", PASSWORD)
    for _ in range(2):  # interleaved runs, as concurrent browser tabs would do
        for at in (admin, analyst, nobody):
            at.run()
        assert "admin@example.com" in texts(admin) and "Administrador" in texts(admin)
        assert "+ Nova instância" in [b.label for b in admin.button]
        assert "ana@example.com" not in texts(admin) and "semrole@example.com" not in texts(admin)

        assert "ana@example.com" in texts(analyst) and "Analista" in texts(analyst)
        assert "admin@example.com" not in texts(analyst) and "Administrador" not in texts(analyst)
        assert "Somente leitura" in texts(analyst) and "Sbx-Cobranca" in texts(analyst)
        assert "tok-sbx-cobranca" not in texts(analyst)

        assert "Sem acesso: peça a um administrador." in texts(nobody)
        assert "Sbx-Cobranca" not in texts(nobody) and "admin@example.com" not in texts(nobody)
    assert admin.session_state[SIGNED_IN_KEY].supabase is not analyst.session_state[SIGNED_IN_KEY].supabase


def test_an_hour_old_session_keeps_working_without_a_new_login(supabase_app, clock):
    at = log_in(new_app(), "admin@example.com", PASSWORD)
    first_token = supabase_app.token_of("admin@example.com")
    clock.advance(3700)
    supabase_app.add_row("sbx-nova")  # a change: the next run reads the list again
    at.run()
    assert cards(at)["Sbx-Nova"].startswith("Nunca conectada\n")
    assert supabase_app.refresh_route.call_count == 1
    newest = supabase_app.token_of("admin@example.com")
    assert newest != first_token
    assert supabase_app.rest_requests("instances")[-1].headers["Authorization"] == f"Bearer {newest}"


def test_a_rejected_refresh_sends_the_user_back_to_login(supabase_app, clock):
    at = log_in(new_app(), "admin@example.com", PASSWORD)
    supabase_app.refresh_tokens.clear()  # revoked on the server
    clock.advance(3700)
    at.run()
    at.run()  # see harness.apptest.App: the page-set switch shows on the next run
    assert "Configurações" not in texts(at)
    assert SIGNED_IN_KEY not in at.session_state


def test_an_idle_session_asks_one_small_question_per_tick_and_reads_the_list_only_after_a_change(supabase_app):
    at = log_in(new_app(), "ana@example.com", PASSWORD)
    before = len(supabase_app.rest_requests())
    at.run()  # a tick of the cards (and more: a full run)
    asked = [r.url.path for r in supabase_app.rest_requests()[before:]]
    assert asked == ["/rest/v1/rpc/instances_version"]
    supabase_app.add_row("sbx-nova")  # the monitor, a pushed event or another admin wrote
    before = len(supabase_app.rest_requests())
    at.run()
    asked = [r.url.path for r in supabase_app.rest_requests()[before:]]
    assert asked.count("/rest/v1/instances") == 1 and "Sbx-Nova" in cards(at)


# --- the Usuários page in Supabase mode -------------------------------------------------------------


def widget(at, key: str):
    return next(w for w in [*at.text_input, *at.selectbox] if w.key == key)


def flashed(at) -> str:
    """The message an action left for the toast of the next full run (lib.ui.feedback.flash), as a
    reader sees it. (After switch_page() AppTest runs the page alone, without app.py, which shows it.)"""
    message, _ = at.session_state["flash"]
    return unescape_markdown(message)


def table_rows(at) -> list[dict]:
    [table] = at.dataframe
    return table.value.to_dict("records")


def test_an_admin_gives_a_role_by_email_changes_it_and_removes_it(supabase_app):
    nova = supabase_app.add_user("Nova@example.com")  # a Supabase account without a role
    at = users_page(log_in(new_app(), "admin@example.com", PASSWORD))
    assert [(r["E-mail"], r["Papel"]) for r in table_rows(at)] == [
        ("admin@example.com", "Administrador"), ("ana@example.com", "Analista"), ("analyst@example.com", "Analista"),
    ]
    assert "Convidar" not in [b.label for b in at.button]  # no service-role key: no invitations

    widget(at, "grant_email").input(" nova@EXAMPLE.com ")
    widget(at, "grant_role_choice").select("supervisor")
    button(at, "Dar papel").click().run()
    assert "nova@EXAMPLE.com: papel Supervisor." in flashed(at)
    assert supabase_app.roles_of("Nova@example.com") == ["supervisor"]
    rows = {r["E-mail"]: r for r in table_rows(at)}
    assert rows["Nova@example.com"]["Papel"] == "Supervisor" and rows["Nova@example.com"]["Último acesso"] == ""
    assert rows["admin@example.com"]["Último acesso"] != "" and rows["admin@example.com"]["Criado em"] != ""

    widget(at, "supabase_managed_user").select("Nova@example.com").run()
    widget(at, f"supabase-role-{nova}").select("analyst").run()
    button(at, "Salvar papel").click().run()
    assert "Papel de Nova@example.com: Analista." in flashed(at)
    assert supabase_app.roles_of("Nova@example.com") == ["analyst"]

    widget(at, "supabase_managed_user").select("Nova@example.com").run()
    button(at, "Remover acesso").click().run()
    assert "Remover o acesso de Nova@example.com?" in texts(at)
    assert supabase_app.roles_of("Nova@example.com") == ["analyst"]  # nothing yet: a confirmation first
    button(at, "Cancelar").click().run()
    assert "Remover o acesso de Nova@example.com?" not in texts(at)
    button(at, "Remover acesso").click().run()
    assert button(at, "Confirmar remoção").key.startswith("danger-")  # drawn in red (lib.ui.page)
    button(at, "Confirmar remoção").click().run()
    assert "Acesso de Nova@example.com removido." in flashed(at)
    assert supabase_app.roles_of("Nova@example.com") == []
    assert "Nova@example.com" not in [r["E-mail"] for r in table_rows(at)]
    assert not at.exception


def test_the_page_says_why_a_role_was_refused(supabase_app):
    at = users_page(log_in(new_app(), "admin@example.com", PASSWORD))
    widget(at, "grant_email").input("ninguem@example.com")
    button(at, "Dar papel").click().run()
    assert "Nenhum usuário do Supabase com este e-mail: ele precisa ter uma conta (convite ou cadastro)." in texts(at)

    widget(at, "supabase_managed_user").select("admin@example.com").run()
    button(at, "Remover acesso").click().run()
    button(at, "Confirmar remoção").click().run()
    assert "É preciso manter pelo menos um administrador ativo." in texts(at)
    assert supabase_app.roles_of("admin@example.com") == ["admin"]

    supabase_app.user_roles = [(u, "analyst") if r == "admin" else (u, r) for u, r in supabase_app.user_roles]
    widget(at, "grant_email").input("ana@example.com")  # demoted meanwhile: the database refuses
    button(at, "Dar papel").click().run()
    assert "Apenas administradores gerenciam usuários." in texts(at)
    assert supabase_app.roles_of("ana@example.com") == ["analyst"]


def test_user_text_on_the_users_page_renders_literally(supabase_app):
    hostile = "[x](javascript:alert(1))**b**@example.com"
    supabase_app.add_user(hostile)
    at = users_page(log_in(new_app(), "admin@example.com", PASSWORD))
    widget(at, "grant_email").input(hostile)
    button(at, "Dar papel").click().run()
    assert at.session_state["flash"][0] == escape_markdown(f"{hostile}: papel Analista.")
    assert f"{hostile}: papel Analista." in flashed(at)
    assert hostile in [r["E-mail"] for r in table_rows(at)]  # a table cell is literal
    widget(at, "supabase_managed_user").select(hostile).run()
    button(at, "Remover acesso").click().run()
    assert any(escape_markdown(hostile) in w.value for w in at.warning)
    assert f"Remover o acesso de {hostile}?" in texts(at)


def test_the_invite_button_appears_only_with_the_service_role_key(supabase_app, monkeypatch):
    monkeypatch.setenv("SUPABASE_SERVICE_ROLE_KEY", SERVICE_ROLE_KEY)
    at = users_page(log_in(new_app(), "admin@example.com", PASSWORD))
    widget(at, "invite_email").input("convidada@example.com")
    widget(at, "invite_role").select("supervisor")
    button(at, "Convidar").click().run()
    assert "Convite enviado para convidada@example.com, com o papel Supervisor." in flashed(at)
    assert supabase_app.invited == ["convidada@example.com"]
    assert supabase_app.roles_of("convidada@example.com") == ["supervisor"]
    assert supabase_app.invite_route.calls.last.request.headers["apikey"] == SERVICE_ROLE_KEY
    assert "Convidada" not in texts(at) and "convidada@example.com" in [r["E-mail"] for r in table_rows(at)]

    widget(at, "invite_email").input("ana@example.com")  # has an account: the role only
    widget(at, "invite_role").select("admin")
    button(at, "Convidar").click().run()
    assert "ana@example.com já tinha conta no Supabase: nenhum convite enviado; papel Administrador dado." in flashed(at)
    assert supabase_app.invited == ["convidada@example.com"]
    assert supabase_app.roles_of("ana@example.com") == ["admin"]
    # Every request of the browser session carried the admin's token, never the service-role key.
    assert all(r.headers["apikey"] == ANON_KEY for r in supabase_app.rest_requests())


def test_without_the_service_role_key_nobody_is_invited(supabase_app):
    at = users_page(log_in(new_app(), "admin@example.com", PASSWORD))
    assert "Convidar" not in [b.label for b in at.button]
    assert "invite_email" not in [t.key for t in at.text_input]
    assert "configure SUPABASE_SERVICE_ROLE_KEY no servidor" in texts(at)


def test_an_analyst_never_reaches_the_users_page(supabase_app, monkeypatch):
    monkeypatch.setenv("SUPABASE_SERVICE_ROLE_KEY", SERVICE_ROLE_KEY)
    at = log_in(new_app(), "ana@example.com", PASSWORD)
    assert "Somente leitura" in texts(at)
    with pytest.raises(ValueError, match="Could not find a navigation page"):  # not among the analyst's pages
        at.switch_page("pages/usuarios.py")

    # Run on its own, with the analyst's session, the page itself refuses before asking anything.
    page = AppTest.from_file(str(ROOT / "pages" / "usuarios.py"), default_timeout=30)
    page.session_state[SIGNED_IN_KEY] = at.session_state[SIGNED_IN_KEY]
    page.run()
    assert not page.exception
    assert "Apenas administradores gerenciam usuários." in texts(page)
    assert "admin@example.com" not in texts(page) and not page.dataframe
    assert not [b for b in page.button if b.label in ("Dar papel", "Convidar", "Remover acesso")]
    assert not supabase_app.rest_requests("rpc/admin_") and supabase_app.invite_route.call_count == 0


def test_an_admin_who_changes_their_own_role_has_it_read_again(supabase_app):
    supabase_app.add_user("outra@example.com", "admin")
    at = users_page(log_in(new_app(), "admin@example.com", PASSWORD))
    widget(at, "supabase_managed_user").select("admin@example.com").run()
    widget(at, f"supabase-role-{supabase_app.admin_id}").select("supervisor").run()
    button(at, "Salvar papel").click().run()
    assert supabase_app.roles_of("admin@example.com") == ["supervisor"]
    at.run()  # the page's next check reads the role again, not a minute later
    assert at.session_state[SIGNED_IN_KEY].user.role == "supervisor"
    assert "Apenas administradores gerenciam usuários." in texts(at)


def test_supabase_sign_in_is_throttled_before_supabase_is_asked(supabase_app):
    for _ in range(5):  # the login limit: 5 per e-mail and address
        assert "E-mail ou senha incorretos." in texts(log_in(new_app(), "admin@example.com", "wrong"))
    asked = len(supabase_app.password_route.calls)
    at = log_in(new_app(), "admin@example.com", PASSWORD)  # the right password, too late
    assert "Muitas tentativas" in texts(at) and SIGNED_IN_KEY not in at.session_state
    assert len(supabase_app.password_route.calls) == asked  # Supabase was not asked again


def test_last_access_is_the_later_of_the_supabase_sign_in_and_the_use_of_this_server(supabase_app):
    from lib.context import app_context
    from lib.config.settings import load_settings
    from lib.presentation import format_datetime

    ana = log_in(new_app(), "ana@example.com", PASSWORD)
    supabase_app.accounts["ana@example.com"]["last_sign_in_at"] = "2026-01-05T09:00:00+00:00"  # long ago
    [used] = app_context(load_settings()).sessions.last_seen([ana.session_state[SIGNED_IN_KEY].user.id]).values()
    at = users_page(log_in(new_app(), "admin@example.com", PASSWORD))
    rows = {r["E-mail"]: r for r in table_rows(at)}
    assert rows["ana@example.com"]["Último acesso"] == format_datetime(used)
    assert rows["analyst@example.com"]["Último acesso"] == ""  # never signed in, no session here


def test_a_connection_the_admins_dialog_hears_is_written_by_the_server(supabase_app, monkeypatch):
    """RLS lets an admin write only what users do; the connection the connect dialog heard is the
    provider's word, so the server writes it (with the admin as who heard it), and uptime counts it."""
    monkeypatch.setenv("SUPABASE_SERVICE_ROLE_KEY", SERVICE_ROLE_KEY)
    at = log_in(new_app(), "admin@example.com", PASSWORD)
    button(at, "+ Nova instância").click().run()
    field(at, "Nome da instância").input("Suporte")
    button(at, "Criar").click().run()
    button(at, "Conectar agora").click().run()
    button(at, "Simular leitura do QR").click().run()
    assert cards(at)["Suporte"].startswith("Conectada\n")
    written = [(e["kind"], e["source"], e["actor_email"]) for e in supabase_app.events if e["instance_name"] == "Suporte"]
    assert written[0] == ("created", "user", "admin@example.com") and ("connected", "user", "admin@example.com") in written
