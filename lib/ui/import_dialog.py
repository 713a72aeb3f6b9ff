""""Importar do provedor": the instances that exist at the provider and not in the dashboard (made
in the provider's own manager, or before the dashboard), with their status and number; the ones
chosen are added with the token the provider gives, and their events registered."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from lib.presentation import STATUS_LABELS, escape_markdown, format_phone
from lib.ui import caches, feedback, signed_in
from lib.ui.dialog_state import close_dialog, registered

LISTED_KEY = "importable"  # what the provider listed when the dialog opened
OUTCOME_KEY = "import_outcome"  # after an import: its line per instance, shown until "Fechar"


def _close() -> None:
    st.session_state.pop(LISTED_KEY, None)
    st.session_state.pop(OUTCOME_KEY, None)
    close_dialog()


@registered("import")
@st.dialog("Importar do provedor", width="large", on_dismiss=_close)
def import_dialog(_payload=None) -> None:
    if OUTCOME_KEY in st.session_state:  # kept: the run of a click on "Fechar" is not the import's
        _outcome(st.session_state[OUTCOME_KEY])
        return
    if LISTED_KEY not in st.session_state:
        with feedback.user_errors("Consultando o provedor…") as failed:
            st.session_state[LISTED_KEY] = signed_in.service().importable()
        if failed:
            return
    remotes = st.session_state[LISTED_KEY]
    if not remotes:
        st.info("Todas as instâncias do provedor já estão no painel.", icon=":material/check_circle:")
        return
    table = pd.DataFrame([{"Nome no provedor": r.name or r.instance_id, "ID no provedor": r.instance_id,
                           "Status": STATUS_LABELS.get(r.status, r.status), "Número": format_phone(r.phone_number)}
                          for r in remotes])
    st.caption("Escolha as linhas a importar; o nome pode ser trocado depois em \"Editar\".")
    picked = st.dataframe(table, hide_index=True, on_select="rerun", selection_mode="multi-row", key="import-table",
                          width="stretch")
    chosen = [remotes[row] for row in picked.selection.rows]
    if not st.button(f"Importar {len(chosen)} instância{'s' if len(chosen) != 1 else ''}", type="primary",
                     disabled=not chosen):
        return
    progress = st.progress(0.0, text="Importando…")
    lines = []
    for done, remote in enumerate(chosen, start=1):
        with feedback.user_errors() as failed:
            imported = signed_in.service().import_instance(remote)
            lines.append(f"{imported.name}: importada ({STATUS_LABELS[imported.status].lower()})")
        if failed:
            lines.append(f"{remote.name or remote.instance_id}: não importada")
        progress.progress(done / len(chosen), text=f"Importando… {done} de {len(chosen)}")
    caches.invalidate_instances()
    st.session_state.pop(LISTED_KEY, None)
    st.session_state[OUTCOME_KEY] = lines
    feedback.flash(escape_markdown(f"{sum(': importada' in line for line in lines)} de {len(chosen)} importadas."))
    _outcome(lines)


def _outcome(lines: list[str]) -> None:
    st.text("\n".join(lines))
    if st.button("Fechar"):
        _close()
        st.rerun()
