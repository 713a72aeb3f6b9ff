"""The app under AppTest in Supabase mode, against the HTTP double of GoTrue and PostgREST."""

import pytest

from tests.support.supabase_double import ANON_KEY, PASSWORD, URL, clock, fake  # noqa: F401 - fixtures
from lib.backend import MONITOR_OFF_NO_SERVICE_KEY
from tests.ui.test_app_ui import button, cards, field, log_in, new_app, texts


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
    assert "user" not in at.session_state


def test_admin_sees_the_rows_and_creates_through_postgrest(supabase_app):
    at = log_in(new_app(), "admin@example.com", PASSWORD)
    assert cards(at)["Sbx-Cobranca"].startswith("Desconectado\n")
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
    assert admin.session_state["supabase"] is not analyst.session_state["supabase"]


def test_an_hour_old_session_keeps_working_without_a_new_login(supabase_app, clock):
    at = log_in(new_app(), "admin@example.com", PASSWORD)
    first_token = supabase_app.token_of("admin@example.com")
    clock.advance(3700)
    supabase_app.add_row("sbx-nova")  # a change: the next run reads the list again
    at.run()
    assert cards(at)["Sbx-Nova"].startswith("Desconectado\n")
    assert supabase_app.refresh_route.call_count == 1
    newest = supabase_app.token_of("admin@example.com")
    assert newest != first_token
    assert supabase_app.rest_requests("instances")[-1].headers["Authorization"] == f"Bearer {newest}"


def test_a_rejected_refresh_sends_the_user_back_to_login(supabase_app, clock):
    at = log_in(new_app(), "admin@example.com", PASSWORD)
    supabase_app.refresh_tokens.clear()  # revoked on the server
    clock.advance(3700)
    at.run()
    at.run()  # see tests.ui.test_app_ui.App: the page-set switch shows on the next run
    assert "Configurações" not in texts(at)
    assert "user" not in at.session_state


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
