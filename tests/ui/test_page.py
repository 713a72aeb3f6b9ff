"""lib.ui.page: what every page carries."""

from streamlit.testing.v1 import AppTest


def page_script():
    import streamlit as st

    from lib.ui import page

    if st.session_state.get("clear"):  # as signing in does (lib.ui.signed_in._begin)
        st.session_state.clear()
    page.decorate()
    st.button("Primeiro botão da página")


def button_slot(at: AppTest) -> int:
    """Where the page's first own element sits in the main area."""
    slots = [index for index, child in at.main.children.items() if getattr(child, "type", None) == "button"]
    assert len(slots) == 1
    return slots[0]


def test_every_run_draws_the_page_in_the_same_slots():
    """An element that only some runs draw shifts everything below it: until the next run ends,
    the browser then shows the old element and the new one side by side (two "+ Nova instância"
    buttons, and a click on the wrong one)."""
    at = AppTest.from_function(page_script).run()
    first = button_slot(at)
    assert button_slot(at.run()) == first
    at.session_state["clear"] = True
    assert button_slot(at.run()) == first
    assert button_slot(at.run()) == first


def test_the_data_tables_own_export_is_off_by_the_setting():
    """"Baixar CSV" (with the formula guard) is the one export: st.dataframe's "Download as CSV" and
    copying cells are turned off for every table (tests/ui/test_browser_table.py looks in Chromium)."""
    import tomllib

    from tests.conftest import ROOT

    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
    assert config["client"]["disableDataExport"] is True
