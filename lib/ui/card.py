"""Instance cards, a page of them at a time."""

from __future__ import annotations

from typing import Callable

import streamlit as st

from lib.models import Instance
from lib.presentation import format_datetime, format_phone, status_text
from lib.ui.connect_dialog import open_connect_dialog
from lib.ui.dialogs import open_dialog

CARDS_PER_PAGE = 10
CARD_BUTTON_WIDTH = 130  # pixels: the same for every card, so that the buttons line up


# Every rerun redraws the cards of the page shown, so a card is kept to few elements: a row (a
# horizontal container) of the text and the buttons costs a quarter less than nested columns.
def instance_card(instance: Instance, *, can_act: bool) -> None:
    with st.container(border=True):
        if not can_act:
            _card_text(instance)
            return
        with st.container(horizontal=True, vertical_alignment="center"):
            with st.container():
                _card_text(instance)
            _card_buttons(instance)


def _card_text(instance: Instance) -> None:
    st.text(f"{status_text(instance.status)}  ·  {instance.name}")
    st.text(f"Telefone: {format_phone(instance.phone_number)}  ·  Criada em {format_datetime(instance.created_at)}")


def _card_buttons(instance: Instance) -> None:
    # on_click records the dialog before the run the click starts, which then shows it: one run
    # per click. Opening it in the button's `if` branch would need st.rerun(), a second full run.
    if instance.status == "connected":
        st.button("Desconectar", key=f"disconnect-{instance.id}", width=CARD_BUTTON_WIDTH,
                  on_click=open_dialog, args=("disconnect", instance))
    else:
        st.button("Conectar", key=f"connect-{instance.id}", type="primary", width=CARD_BUTTON_WIDTH,
                  on_click=open_connect_dialog, args=(instance,))
    st.button("Excluir", key=f"delete-{instance.id}", width=CARD_BUTTON_WIDTH,
              on_click=open_dialog, args=("delete", instance))


def instance_cards(instances: list[Instance], *, can_act: bool, on_change: Callable[[], None] | None = None) -> None:
    """One card per instance, CARDS_PER_PAGE at a time (the table below shows them all)."""
    if not instances:
        st.info("Nenhuma instância cadastrada ainda.")
        return
    pages = (len(instances) + CARDS_PER_PAGE - 1) // CARDS_PER_PAGE
    page = 1
    if pages > 1:
        page = st.number_input(f"Página (de {pages})", min_value=1, max_value=pages, step=1, key="cards_page",
                               on_change=on_change)
    for instance in instances[(page - 1) * CARDS_PER_PAGE : page * CARDS_PER_PAGE]:
        instance_card(instance, can_act=can_act)
