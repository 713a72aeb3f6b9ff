"""The instances table: one row per instance, the same for every role (no token), as the screen
shows it (times and uptime as values, so that sorting by them is right) and as "Baixar CSV" writes
it (the same columns as text, plus the notes and the creation time)."""

from __future__ import annotations

import math

import pandas as pd

from lib import fleet, uptime
from lib.models import Instance
from lib.presentation import format_datetime, format_phone, owner_email, table_csv
from lib.table_stats import TableStats

SCREEN_COLUMNS = ["Estado", "Nome", "Número", "Desde", "Última queda", "Online 7 dias", "Responsável", "Etiquetas",
                  "ID no provedor"]
CSV_COLUMNS = SCREEN_COLUMNS + ["Observações", "Criada em"]
TIME_COLUMNS = ("Desde", "Última queda", "Criada em")
UPTIME_COLUMN = "Online 7 dias"


def instances_table(instances: list[Instance], *, owners: dict[str, str],
                    stats: dict[str, TableStats]) -> pd.DataFrame:
    """Every column of CSV_COLUMNS, in the order of `instances`; times as UTC timestamps (empty:
    NaT), the uptime as a share rounded down to 0.1 % as the cards show it (empty: NaN)."""
    rows = []
    for i in instances:
        known = stats.get(i.id)
        share = known.uptime_7d if known else None
        rows.append({
            "Estado": fleet.STATE_LABELS[fleet.state(i)],
            "Nome": i.name,
            "Número": format_phone(i.phone_number or i.last_phone_number),
            "Desde": fleet.in_state_since(i),
            "Última queda": known.last_drop if known else None,
            UPTIME_COLUMN: math.nan if share is None else math.floor(share * 1000) / 1000,
            "Responsável": owner_email(i, owners),
            "Etiquetas": ", ".join(i.tags),
            "Observações": i.notes or "",
            "ID no provedor": i.instance_id,
            "Criada em": i.created_at,
        })
    table = pd.DataFrame(rows, columns=CSV_COLUMNS)
    for column in TIME_COLUMNS:
        table[column] = pd.to_datetime(table[column], utc=True)
    table[UPTIME_COLUMN] = table[UPTIME_COLUMN].astype("float64")
    return table


def instances_csv(table: pd.DataFrame) -> bytes:
    """"Baixar CSV": the table as Brazilian Excel opens it (lib.presentation.table_csv: the formula
    guard, dd/mm/aaaa hh:mm in São Paulo time, "97,5 %"), empty cells empty."""
    text = table.copy()
    for column in TIME_COLUMNS:
        text[column] = [format_datetime(value) if not pd.isna(value) else "" for value in table[column]]
    text[UPTIME_COLUMN] = ["" if pd.isna(value) else uptime.format_uptime(value) for value in table[UPTIME_COLUMN]]
    return table_csv(text)
