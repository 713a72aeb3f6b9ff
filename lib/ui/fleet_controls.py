"""What chooses the instances a page of the fleet shows: the summary line (each part a one-click
filter), the search, the filters by state, tag and owner, the order, the view (Cartões | Tabela)
and the page. Changing any of them goes back to page 1. The list shown is derived once per change
of the store and of these choices (lib.ui.caches.derived), not on every rerun."""

from __future__ import annotations

import streamlit as st

from lib import fleet
from lib.models import Instance
from lib.ui import caches

SEARCH_KEY, STATES_KEY, TAGS_KEY, OWNER_KEY = "search", "state_filter", "tag_filter", "owner_filter"
SORT_KEY, VIEW_KEY, PAGE_KEY = "sort", "view", "page"
VIEW_CARDS, VIEW_TABLE = "Cartões", "Tabela"
ANY_OWNER = "__any__"  # the owner filter's "todos"


def filters() -> fleet.Filters:
    states = st.session_state.get(STATES_KEY) or None
    owner = st.session_state.get(OWNER_KEY, ANY_OWNER)
    return fleet.Filters(query=st.session_state.get(SEARCH_KEY, ""), states=tuple(states) if states else None,
                         tags=tuple(st.session_state.get(TAGS_KEY) or ()), owner=None if owner == ANY_OWNER else owner)


def view() -> str:
    return st.session_state.get(VIEW_KEY) or VIEW_CARDS


def shown(instances: list[Instance]) -> list[Instance]:
    """The instances the choices leave, in the chosen order (cards and table alike)."""
    chosen, how = filters(), st.session_state.get(SORT_KEY, "attention")
    return caches.derived(("shown", chosen, how),
                          lambda: fleet.ordered([i for i in instances if chosen.keeps(i)], how))


def first_page() -> None:
    st.session_state[PAGE_KEY] = 1


def summary_line(instances: list[Instance]) -> None:
    """"36 conectadas · 4 caíram · 1 aguardando QR …": each part shows only those."""
    parts = fleet.summary_parts(caches.derived(("counts",), lambda: fleet.counts(instances)))
    with st.container(horizontal=True, gap="small", key="summary"):
        for kind, text in parts:
            st.button(text, key=f"summary-{kind}", type="tertiary", icon=fleet.STATE_ICONS[kind],
                      on_click=_only, args=(kind,), help="Mostrar só estas")
        if st.session_state.get(STATES_KEY):
            st.button("Mostrar todas", key="summary-all", type="tertiary", icon=":material/filter_alt_off:",
                      on_click=_only, args=(None,))


def _only(kind: str | None) -> None:
    st.session_state[STATES_KEY] = [kind] if kind else []
    first_page()


def filter_bar(instances: list[Instance], owners: dict[str, str]) -> None:
    """One compact row (the first card stays on a phone's first screen): the search, "Filtros"
    (states, tags when some are in use, owner when some instance has one, the order) and the view."""
    chosen = sum(bool(st.session_state.get(key)) for key in (STATES_KEY, TAGS_KEY)) + (
        st.session_state.get(OWNER_KEY, ANY_OWNER) != ANY_OWNER)
    with st.container(horizontal=True, vertical_alignment="bottom", key="filters"):
        st.text_input("Buscar", key=SEARCH_KEY, type="search", placeholder="Nome ou telefone", on_change=first_page,
                      width=220)
        with st.popover(f"Filtros ({chosen})" if chosen else "Filtros", icon=":material/filter_list:"):
            st.multiselect("Estado", fleet.STATES, format_func=fleet.STATE_LABELS.get, key=STATES_KEY,
                           placeholder="Todos", on_change=first_page, select_all=False)
            tags = fleet.tags_of(instances)
            if tags:
                st.multiselect("Etiquetas", tags, key=TAGS_KEY, placeholder="Todas", on_change=first_page,
                               select_all=False)
            if owners:
                choices = [ANY_OWNER, fleet.NO_OWNER, *sorted(owners, key=owners.get)]
                names = {ANY_OWNER: "Todos", fleet.NO_OWNER: "Sem responsável", **owners}
                st.selectbox("Responsável", choices, format_func=names.get, key=OWNER_KEY, on_change=first_page)
            st.selectbox("Ordem", list(fleet.SORTS), format_func=fleet.SORTS.get, key=SORT_KEY, on_change=first_page)
        st.segmented_control("Exibir", [VIEW_CARDS, VIEW_TABLE], default=VIEW_CARDS, key=VIEW_KEY,
                             on_change=first_page, label_visibility="collapsed")


def page_of(items: list, per_page: int) -> tuple[list, int, int]:
    """The page shown, kept in range: (its items, its number, how many pages)."""
    pages = max(1, (len(items) + per_page - 1) // per_page)
    page = min(max(1, st.session_state.get(PAGE_KEY, 1)), pages)
    st.session_state[PAGE_KEY] = page
    return items[(page - 1) * per_page: page * per_page], page, pages


def pager(page: int, pages: int) -> None:
    """"Página 2 de 6" between the previous and next buttons (below the cards)."""
    if pages > 1:
        with st.container(horizontal=True, vertical_alignment="center", key="pager"):
            st.button("Anterior", key="page-previous", icon=":material/chevron_left:", disabled=page == 1,
                      on_click=_turn, args=(-1,))
            st.text(f"Página {page} de {pages}")
            st.button("Próxima", key="page-next", icon=":material/chevron_right:", disabled=page == pages,
                      on_click=_turn, args=(1,))


def _turn(step: int) -> None:
    st.session_state[PAGE_KEY] = st.session_state.get(PAGE_KEY, 1) + step
