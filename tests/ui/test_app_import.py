""""Importar do provedor" under AppTest (embedded default: SQLite file + sandbox provider)."""

from __future__ import annotations

from lib.provider.sandbox.client import SandboxClient
from lib.ui.dialog_state import DIALOG_KEY
from tests.support.app_ui import admin_app, button, cards, texts
from tests.support.app_ui import context, data_dir  # noqa: F401 - fixtures

OUTCOME = "Criada fora do painel: importada (desconectado)"
FIRST_ROW_TICKED = {"selection": {"rows": [0], "columns": []}}  # what a click on its checkbox sets


def test_an_import_says_what_came_of_it_until_fechar_closes_the_dialog(context):
    SandboxClient(context.sandbox).create("Criada fora do painel")  # e.g. in the provider's own manager
    at = admin_app(context)
    button(at, "Importar do provedor").click().run()
    at.session_state["import-table"] = FIRST_ROW_TICKED
    at.run()
    at.session_state["import-table"] = FIRST_ROW_TICKED  # (AppTest keeps a dialog's selection for one run)
    button(at, "Importar 1 instância").click().run()
    assert OUTCOME in texts(at)
    at.run()  # another run (the list refreshed behind the dialog): the outcome stays
    assert OUTCOME in texts(at)
    button(at, "Fechar").click().run()
    assert not at.exception
    assert DIALOG_KEY not in at.session_state
    assert OUTCOME not in texts(at)
    assert "Criada fora do painel" in cards(at)
