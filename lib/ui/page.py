"""What every page of the app carries: the style rules (destructive buttons in red, the data
tables' English toolbar and the inputs' English typing hints hidden, the invisible polling timer's
box collapsed) and the page's language."""

from __future__ import annotations

import streamlit as st

STYLE = """<style>
/* Destructive actions look destructive: their keys start so (lib.ui.card, lib.ui.dialogs). */
[class*="st-key-delete-"] button, [class*="st-key-disconnect-"] button, [class*="st-key-forget-"] button,
[class*="st-key-danger-"] button {
    background-color: #C62828; border-color: #C62828; color: #FFFFFF;
}
[class*="st-key-delete-"] button:hover, [class*="st-key-disconnect-"] button:hover,
[class*="st-key-forget-"] button:hover, [class*="st-key-danger-"] button:hover {
    background-color: #A61F1F; border-color: #A61F1F; color: #FFFFFF;
}
/* The tables' own toolbar is in English and its "Download as CSV" skips the formula guard:
   "Baixar CSV" is the export. */
[data-testid="stElementToolbar"] { display: none !important; }
/* Streamlit's typing hints ("Press Enter to apply", "Press Enter to submit form") are English and
   have no setting: Enter still works, the hint is not shown. */
[data-testid="InputInstructions"] { display: none !important; }
/* The pairing code, large enough to read from across the desk (lib.ui.connect_dialog). */
.st-key-pairing_code code { font-size: 2.25rem; letter-spacing: 0.12em; line-height: 1.4; }
/* streamlit-autorefresh is an invisible timer: no empty box for it. */
[data-testid="stElementContainer"]:has(iframe[title="streamlit_autorefresh.st_autorefresh"]) { display: none; }
</style>"""
LANG_KEY = "page_language_set"


def decorate() -> None:
    """Once per run: the style (a style-only element takes no room); once per browser session: the
    document's language, pt-BR (Streamlit has no setting for it)."""
    st.html(STYLE)
    if not st.session_state.get(LANG_KEY):
        st.session_state[LANG_KEY] = True
        st.html("<script>document.documentElement.lang = 'pt-BR';</script>", unsafe_allow_javascript=True)
