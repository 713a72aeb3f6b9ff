"""The instances table: one row per instance, the same for every role (no token)."""

from __future__ import annotations

import pandas as pd

from lib.models import Instance
from lib.presentation import STATUS_LABELS, format_datetime, format_phone

TABLE_COLUMNS = ["Nome", "Status", "Telefone", "Último número", "ID no provedor", "Verificado em", "Criada em",
                 "Atualizada em"]


def instances_table(instances: list[Instance]) -> pd.DataFrame:
    """The table every role sees: no token column; empty cells empty."""
    rows = [
        {
            "Nome": i.name,
            "Status": STATUS_LABELS.get(i.status, i.status),
            "Telefone": format_phone(i.phone_number),
            "Último número": format_phone(i.last_phone_number) if i.status != "connected" else "",
            "ID no provedor": i.instance_id,
            "Verificado em": format_datetime(i.last_checked_at) if i.last_checked_at else "",
            "Criada em": format_datetime(i.created_at),
            "Atualizada em": format_datetime(i.updated_at),
        }
        for i in instances
    ]
    return pd.DataFrame(rows, columns=TABLE_COLUMNS)
