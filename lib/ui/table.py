"""The table of all instances, with its status filter and CSV download."""

from __future__ import annotations

import pyarrow as pa
import streamlit as st

from lib.models import Instance
from lib.presentation import table_csv
from lib.table_rows import instances_table
from lib.ui import caches


def instances_table_view(instances: list[Instance], *, owners: dict[str, str], can_act: bool) -> None:
    """The table of `instances` (those the search and filters leave, in their order) and its CSV."""
    st.subheader(f"Instâncias ({len(instances)})")
    # Built once per list and filter, not on every rerun: formatting 1000 rows into a DataFrame and
    # converting it to Arrow (what st.dataframe sends) costs as much as the rest of the page. Kept
    # as an Arrow table, st.dataframe only serialises it.
    table = caches.derived(
        ("table", tuple(i.id for i in instances)),
        lambda: pa.Table.from_pandas(instances_table(instances), preserve_index=False),
    )
    st.dataframe(table, hide_index=True, width="stretch")
    # A callable runs only when the button is clicked (on another thread): no CSV on every rerun.
    st.download_button("Baixar CSV", lambda: table_csv(table.to_pandas()), file_name="instancias.csv",
                       mime="text/csv", icon=":material/download:")
