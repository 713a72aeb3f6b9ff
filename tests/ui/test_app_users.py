"""The Usuários page, temporary passwords and roles read again, under AppTest on the embedded default."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from lib.presentation import format_datetime
from lib.store.sqlite.instances import SQLiteInstanceStore
from tests.support.app_ui import (  # noqa: F401 - context and data_dir are fixtures
    PASSWORD, admin_app, button, context, create_instance, data_dir, log_in, new_app, texts, unescape_markdown,
)


def users_page(at):
    at.switch_page("pages/usuarios.py").run()
    assert not at.exception
    return at


def test_an_admin_adds_an_analyst_who_changes_the_temporary_password_and_sees_read_only(context):
    admin = users_page(admin_app(context))
    [email] = [t for t in admin.text_input if t.label == "E-mail"]
    email.input("nova@example.com")
    [role] = [s for s in admin.selectbox if s.label == "Papel"][:1]
    role.select("analyst")
    button(admin, "Adicionar").click().run()
    assert "Senha temporária de nova@example.com" in texts(admin)
    [temporary] = [c.value for c in admin.code]
    assert len(temporary) == 12
    button(admin, "Já copiei").click().run()
    assert temporary not in texts(admin)  # shown once

    newcomer = log_in(new_app(), "nova@example.com", temporary)
    assert "Você entrou com uma senha temporária" in texts(newcomer)
    assert "Configurações" not in texts(newcomer)  # nothing else until changed
    fields = {t.label: t for t in newcomer.text_input}
    fields["Senha temporária"].input(temporary)
    fields["Nova senha"].input("minha-senha-nova")
    fields["Confirmar nova senha"].input("minha-senha-nova")
    button(newcomer, "Salvar nova senha").click().run()
    newcomer.run()
    assert "Somente leitura: apenas administradores alteram instâncias." in texts(newcomer)
    assert context.accounts.authenticate("nova@example.com", "minha-senha-nova").role == "analyst"


def test_a_demoted_admin_is_refused_at_the_next_change(context):
    other = context.accounts.add("outro@example.com", PASSWORD, "admin")
    demoted = log_in(new_app(), "outro@example.com")
    admin = admin_app(context)
    context.accounts.set_role(other.id, "analyst")  # by the first admin, meanwhile
    create_instance(demoted, "Cobrança")
    assert "Apenas administradores podem alterar instâncias." in texts(demoted)
    assert SQLiteInstanceStore(context.database).list_instances() == []
    assert not admin.exception


def test_a_deactivated_user_is_signed_out_within_a_minute(context):
    from lib.ui import signed_in

    user = context.accounts.add("ana@example.com", PASSWORD, "analyst")
    admin_app(context)  # the admin account exists, so the analyst is not the last admin
    at = log_in(new_app(), "ana@example.com")
    context.accounts.set_active(user.id, False)
    context.sessions.end_all(user.id)
    at.session_state[signed_in.USER_CHECKED_KEY] -= signed_in.USER_CHECK_SECONDS  # a minute later
    at.run()
    at.run()
    assert "Configurações" not in texts(at) and "Entrar" in texts(at)


def test_the_users_page_is_for_admins_only_and_keeps_an_admin(context):
    analyst = context.accounts.add("ana@example.com", PASSWORD, "analyst")
    at = users_page(admin_app(context))
    assert "Usuários" in texts(at)
    at.selectbox(key="managed_user").select("admin@example.com").run()
    admin_id = context.accounts.find("admin@example.com").id
    at.selectbox(key=f"role-{admin_id}").select("analyst").run()
    button(at, "Salvar papel").click().run()
    assert "É preciso manter pelo menos um administrador ativo." in texts(at)
    reader = log_in(new_app(), "ana@example.com")
    assert "Usuários" not in [p for p in texts(reader).split("\n")]
    assert context.accounts.current_user(analyst.id).role == "analyst"


def test_an_admin_deactivates_reactivates_resets_and_signs_out_a_user_from_the_page(context):
    ana = context.accounts.add("ana@example.com", PASSWORD, "analyst")
    log_in(new_app(), "ana@example.com")
    assert context.sessions.count(ana.id) == 1
    at = users_page(admin_app(context))
    at.selectbox(key="managed_user").select("ana@example.com").run()

    def confirm(action: str, label: str) -> None:
        button(at, label).click().run()
        assert "ana@example.com" in texts(at) and "?" in texts(at)  # asked once more first
        [sure] = [b for b in at.button if b.key == f"danger-confirm-{action}"]
        sure.click().run()
        assert not at.exception

    button(at, "Desativar").click().run()
    button(at, "Cancelar").click().run()
    assert context.sessions.count(ana.id) == 1  # nothing happens without the confirmation
    confirm("deactivate", "Desativar")
    assert context.sessions.count(ana.id) == 0  # signed out everywhere
    assert context.accounts.current_user(ana.id).role is None  # no access while inactive

    button(at, "Reativar").click().run()
    assert context.accounts.authenticate("ana@example.com", PASSWORD).email == "ana@example.com"

    log_in(new_app(), "ana@example.com")
    confirm("end_sessions", "Encerrar sessões")
    assert context.sessions.count(ana.id) == 0

    log_in(new_app(), "ana@example.com")
    confirm("reset_password", "Redefinir senha")
    [temporary] = [c.value for c in at.code]
    assert context.sessions.count(ana.id) == 0
    assert context.accounts.authenticate("ana@example.com", temporary).email == "ana@example.com"


def test_last_access_follows_use_not_only_the_sign_in(context):
    ana = context.accounts.add("ana@example.com", PASSWORD, "analyst")
    at = log_in(new_app(), "ana@example.com")
    long_ago = "2026-01-05T09:00:00+00:00"
    with context.database.connect() as conn:  # she signed in long ago; her page's last use was 2 minutes ago
        conn.execute("update users set last_login_at = ? where id = ?", (long_ago, ana.id))
        conn.execute("update app_sessions set last_seen_at = ? where user_id = ?",
                     ((datetime.now(timezone.utc) - timedelta(minutes=2)).isoformat(), ana.id))
    at.run()  # she uses the page now
    used = context.accounts.get(ana.id).last_login_at
    assert datetime.now(timezone.utc) - used < timedelta(minutes=1)
    table = users_page(admin_app(context)).dataframe[0].value
    assert table.loc[table["E-mail"] == "ana@example.com", "Último acesso"].item() == format_datetime(used)


def test_the_question_of_desativar_takes_the_buttons_place_beside_the_role(context):
    ana = context.accounts.add("ana@example.com", PASSWORD, "analyst")
    at = users_page(admin_app(context))
    at.selectbox(key="managed_user").select("ana@example.com").run()
    button(at, "Desativar").click().run()
    columns = list(at.columns)
    left = next(i for i, column in enumerate(columns) if any(s.key == f"role-{ana.id}" for s in column.selectbox))
    beside = columns[left + 1]  # where the buttons were, next to the role
    assert any("Desativar ana@example.com?" in unescape_markdown(w.value) for w in beside.warning)
    assert {"danger-confirm-deactivate", "cancel-deactivate"} <= {b.key for b in beside.button}
    assert "Salvar papel" not in [b.label for b in at.button]  # the question took the buttons' place
    assert context.accounts.get(ana.id).active  # nothing yet


def test_the_password_column_reads_plainly(context):
    context.accounts.add("ana@example.com", PASSWORD, "analyst")
    context.accounts.add_with_temporary_password("bia@example.com", "analyst")
    context.accounts.add("caio@example.com", None, "analyst")
    table = users_page(admin_app(context)).dataframe[0].value
    assert dict(zip(table["E-mail"], table["Senha"])) == {
        "admin@example.com": "definida pela pessoa", "ana@example.com": "definida pela pessoa",
        "bia@example.com": "temporária", "caio@example.com": "sem senha: entra pelo provedor",
    }


def test_a_role_change_shows_on_the_persons_open_page_at_its_next_tick(context):
    context.accounts.add("ana@example.com", PASSWORD, "analyst")
    ana = log_in(new_app(), "ana@example.com")
    assert "+ Nova instância" not in [b.label for b in ana.button]
    admin = users_page(admin_app(context))
    admin.selectbox(key="managed_user").select("ana@example.com").run()
    ana_id = context.accounts.find("ana@example.com").id
    admin.selectbox(key=f"role-{ana_id}").select("admin").run()
    button(admin, "Salvar papel").click().run()
    ana.run()  # her page's next tick (every 3 s): nobody clicked
    ana.run()  # the full run that tick asked for (see harness.apptest.App)
    assert "+ Nova instância" in [b.label for b in ana.button]
    assert "Somente leitura" not in texts(ana)
