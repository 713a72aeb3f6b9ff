"""What every page of the app carries: the style rules (destructive buttons in red, the inputs'
English typing hints and the Histórico chart's English toolbar hidden, an empty dropdown's "No
results" said in Portuguese, the invisible polling timer's box and an empty live part collapsed)
and the page's language. The data tables' own CSV export is off by a setting
(client.disableDataExport)."""

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
/* Streamlit's typing hints ("Press Enter to apply", "Press Enter to submit form") are English and
   have no setting: Enter still works, the hint is not shown. */
[data-testid="InputInstructions"] { display: none !important; }
/* A dropdown with nothing to offer (every option chosen, or nothing matches what was typed) says
   so in English ("No results") and has no setting: it says it in Portuguese. */
[role="listbox"][data-empty="true"] > [role="option"] > span { display: none; }
[role="listbox"][data-empty="true"]::after {
    content: "Nenhum resultado"; display: block; padding: 0.5rem 1rem; color: rgba(49, 51, 63, 0.6);
}
/* The Histórico chart's toolbar ("Show data", "Download as PNG", "Copy Vega-Lite spec") is
   English, has no setting (client.disableDataExport leaves it), and "Show data" would show the
   drawing's columns, not what the tooltips say: not shown (lib.ui.history). */
.st-key-history-chart [data-testid="stElementToolbar"] { display: none; }
/* The pairing code, large enough to read from across the desk (lib.ui.connect_dialog). */
.st-key-pairing_code code { font-size: 2.25rem; letter-spacing: 0.12em; line-height: 1.4; }
/* streamlit-autorefresh is an invisible timer: no empty box for it. */
[data-testid="stElementContainer"]:has(iframe[title="streamlit_autorefresh.st_autorefresh"]) { display: none; }
/* A live part with nothing to show now (lib.ui.ticks: no drop banner) takes no room. */
[data-testid="stLayoutWrapper"]:has(> [class*="st-key-live-"]:empty) { display: none; }
/* Script-only elements (the page's language, the session cookie's call) take no room either. */
[data-testid="stElementContainer"]:has(> [data-testid="stHtml"] > script:only-child) { display: none; }
</style>"""
LANGUAGE_SCRIPT = "<script>document.documentElement.lang = 'pt-BR';</script>"


def decorate() -> None:
    """On every run: the style (a style-only element takes no room) and the document's language,
    pt-BR (Streamlit has no setting for it). Every run, not once per session: an element that only
    some runs draw shifts the page below it, and until the run ends the browser shows the old and
    the new copy of each element side by side."""
    st.html(STYLE)
    st.html(LANGUAGE_SCRIPT, unsafe_allow_javascript=True)
