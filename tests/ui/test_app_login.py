"""The login page's words under AppTest, on the embedded default: at the first start it says where
the setup code is (on the page, not in a tooltip) and nothing that contradicts needing it; an
empty form asks for the e-mail first, then the password, before anything is checked."""

from __future__ import annotations

from tests.support.app_ui import PASSWORD, button, new_app, texts
from tests.support.app_ui import context, data_dir  # noqa: F401 - fixtures


def fields(at) -> dict:
    return {t.label: t for t in at.text_input}


def test_the_first_start_says_where_the_setup_code_is(context):
    at = new_app()
    said = texts(at)
    assert "Criar primeiro administrador" in said
    assert "terminal onde o servidor foi iniciado (make run)" in said  # on the page itself
    assert "setup_code.txt" in said and "pasta de dados do servidor" in said
    assert "Nada precisa ser configurado" not in said  # a code is needed: nothing says otherwise
    assert "Modo padrão embutido" in said


def test_an_empty_first_admin_form_asks_for_the_email_first(context):
    at = new_app()
    button(at, "Criar administrador").click().run()
    assert "Informe o e-mail." in texts(at) and "Código de configuração incorreto" not in texts(at)
    fields(at)["E-mail"].input("chefe@example.com")
    button(at, "Criar administrador").click().run()
    assert "Informe a senha." in texts(at)
    fields(at)["Senha"].input(PASSWORD)
    fields(at)["Confirmar senha"].input(PASSWORD)
    button(at, "Criar administrador").click().run()
    assert "Informe o código de configuração" in texts(at)
    assert context.accounts.count() == 0


def test_an_empty_login_form_asks_for_the_email_then_the_password(context):
    context.accounts.add("admin@example.com", PASSWORD, "admin")
    at = new_app()
    button(at, "Entrar").click().run()
    assert "Informe o e-mail." in texts(at) and "incorretos" not in texts(at)
    fields(at)["E-mail"].input("admin@example.com")
    button(at, "Entrar").click().run()
    assert "Informe a senha." in texts(at) and "incorretos" not in texts(at)
    for _ in range(6):  # none of these is a password check: the throttle counts none of them
        button(at, "Entrar").click().run()
    fields(at)["Senha"].input(PASSWORD)
    button(at, "Entrar").click().run()
    at.run()
    assert "Configurações" in texts(at)
