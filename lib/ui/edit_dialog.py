""""Editar": the display name (the provider keeps its own id), who is responsible for the number,
free tags (the wallet, the régua that uses it) and notes. Admins only."""

from __future__ import annotations

import streamlit as st

from lib import fleet
from lib.details import MAX_NOTES_LENGTH, MAX_TAGS
from lib.models import Instance
from lib.names import MAX_NAME_LENGTH
from lib.presentation import escape_markdown
from lib.ui import caches, feedback, signed_in
from lib.ui.dialog_state import close_dialog, registered

NOBODY = ""


@registered("edit")
@st.dialog("Editar instância", on_dismiss=close_dialog)
def edit_dialog(instance: Instance) -> None:
    with feedback.user_errors("Lendo as pessoas…") as failed:
        people = caches.cached(("people",), lambda: signed_in.user_admin().people())
        in_use = fleet.tags_of(caches.instances())
    if failed:
        return
    if instance.owner_id and instance.owner_id not in people:
        people = {**people, instance.owner_id: "usuário sem acesso"}
    choices = [NOBODY, *sorted(people, key=people.get)]
    with st.form("edit_instance", border=False, enter_to_submit=False):
        name = st.text_input("Nome", value=instance.name, max_chars=MAX_NAME_LENGTH,
                             help="O nome que aparece no painel e nos alertas; o provedor guarda o próprio ID.")
        owner = st.selectbox("Responsável", choices, index=choices.index(instance.owner_id or NOBODY),
                             format_func=lambda key: people.get(key, "Sem responsável"))
        tags = st.multiselect("Etiquetas", sorted({*in_use, *instance.tags}, key=fleet.plain),
                              default=list(instance.tags), accept_new_options=True, max_selections=MAX_TAGS,
                              placeholder="Ex.: carteira A, régua 2", help="Escolha ou digite uma nova e tecle Enter.",
                              select_all=False)
        notes = st.text_area("Observações", value=instance.notes or "", max_chars=MAX_NOTES_LENGTH)
        submitted = st.form_submit_button("Salvar", type="primary")
    if submitted:
        with feedback.user_errors("Salvando…") as failed:
            saved = signed_in.service().update_details(instance, name=name, owner_id=owner or None, tags=tuple(tags),
                                                       notes=notes.strip() or None)
        if not failed:
            caches.invalidate_instances()
            close_dialog()
            feedback.flash(f"Instância {escape_markdown(saved.name)} atualizada.")
            st.rerun()
