"""The instances table's rows and CSV (lib.table_rows), its history figures on a real SQLite file
(lib.table_stats) and its column widths (lib.ui.column_widths)."""

from __future__ import annotations

import csv
import io
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pandas as pd

from lib.uptime import instance_windows
from lib.models import Instance, InstanceEvent
from lib.provider.http import MSG_INSTANCE_UNKNOWN
from lib.store.sqlite.instances import SQLiteInstanceStore
from lib.table_rows import CSV_COLUMNS, SCREEN_COLUMNS, instances_csv, instances_table
from lib.table_stats import TableStats, table_stats
from lib.ui.column_widths import column_width, fitted, lines, text_px

NOW = datetime(2026, 11, 29, 15, 0, tzinfo=timezone.utc)


def instance(name="Cobrança", status="connected", phone="+5511999998888", **fields) -> Instance:
    fields = {"last_phone_number": phone, "status_changed_at": NOW - timedelta(hours=3), **fields}
    return Instance("id-" + name, "sbx-" + name, name, phone, status, NOW - timedelta(days=9), NOW, None, **fields)


def read_as_excel(data: bytes) -> list[dict[str, str]]:
    """How Brazilian Excel reads the file: UTF-8 with BOM, cells split on ';'."""
    assert data.startswith(b"\xef\xbb\xbf")
    [header, *rows] = list(csv.reader(io.StringIO(data.decode("utf-8-sig")), delimiter=";"))
    assert header == CSV_COLUMNS
    return [dict(zip(header, row)) for row in rows]


def test_the_columns_in_pt_br_the_screens_and_the_csvs():
    assert SCREEN_COLUMNS == ["Estado", "Nome", "Número", "Desde", "Última queda", "Online 7 dias", "Responsável",
                              "Etiquetas", "ID no provedor"]
    assert CSV_COLUMNS == SCREEN_COLUMNS + ["Observações", "Criada em"]


def test_a_row_says_the_state_people_tell_apart_the_number_the_owner_the_tags_and_the_figures():
    rows = [
        instance("Cobrança 33", owner_id="u-ana", tags=("carteira-A", "régua-2"), notes="Chip da gaveta 3"),
        instance("Cobrança 34", "disconnected", None, dropped=True, last_phone_number="+5511988887777",
                 owner_id="u-gone"),
        replace(instance("Fantasma", "disconnected", None), last_error=MSG_INSTANCE_UNKNOWN),
    ]
    stats = {"id-Cobrança 33": TableStats(0.9995, None), "id-Cobrança 34": TableStats(0.5, NOW - timedelta(days=2))}
    table = instances_table(rows, owners={"u-ana": "ana@example.com"}, stats=stats)
    assert list(table.columns) == CSV_COLUMNS
    assert list(table["Estado"]) == ["Conectada", "Caiu", "Não existe no provedor"]
    assert list(table["Número"]) == ["+55 11 99999-8888", "+55 11 98888-7777", ""]  # a drop keeps its last number
    assert list(table["Responsável"]) == ["ana@example.com", "usuário removido", ""]
    assert list(table["Etiquetas"]) == ["carteira-A, régua-2", "", ""]
    assert list(table["Observações"]) == ["Chip da gaveta 3", "", ""]
    assert list(table["ID no provedor"]) == ["sbx-Cobrança 33", "sbx-Cobrança 34", "sbx-Fantasma"]
    assert table["Desde"][0] == pd.Timestamp(NOW - timedelta(hours=3))
    assert table["Última queda"][1] == pd.Timestamp(NOW - timedelta(days=2)) and pd.isna(table["Última queda"][0])
    # rounded down as the cards round it: 99.95 % shows as 99.9 %, never as 100 %
    assert table["Online 7 dias"][0] == 0.999 and table["Online 7 dias"][1] == 0.5
    assert pd.isna(table["Online 7 dias"][2])  # nothing known: an empty cell
    assert not any("token" in column.lower() for column in table.columns)


def test_the_csv_opens_right_in_brazilian_excel_with_every_column_and_no_formula():
    rows = [
        instance('=HYPERLINK("http://x")', owner_id="u-ana", tags=("+carteira", "régua-2"), notes="-apagar; depois"),
        instance("Londres", phone="+447911123456"),
        instance("Suporte; Norte", "disconnected", None, last_phone_number="+5511988887777"),
    ]
    stats = {rows[0].id: TableStats(0.975, NOW - timedelta(days=2))}
    table = instances_table(rows, owners={"u-ana": "ana@example.com"}, stats=stats)
    first, london, other = read_as_excel(instances_csv(table))
    assert first == {
        "Estado": "Conectada", "Nome": "'=HYPERLINK(\"http://x\")", "Número": "55 11 99999-8888",
        "Desde": "29/11/2026 09:00", "Última queda": "27/11/2026 12:00", "Online 7 dias": "97,5 %",
        "Responsável": "ana@example.com", "Etiquetas": "'+carteira, régua-2", "ID no provedor": "sbx-=HYPERLINK(\"http://x\")",
        "Observações": "'-apagar; depois", "Criada em": "20/11/2026 12:00",
    }
    assert london["Número"] == "'+447911123456"  # text, not 4,47911E+11
    assert other["Nome"] == "Suporte; Norte" and other["Número"] == "55 11 98888-7777"
    assert (other["Última queda"], other["Online 7 dias"], other["Observações"], other["Responsável"]) == ("", "", "", "")


def event(row, kind, status, at, id_=None):
    return InstanceEvent(row.id, row.name, kind, "monitor", to_status=status, created_at=at)


def test_table_stats_give_the_histories_uptime_over_7_days_and_the_last_drop_within_30(database):
    store = SQLiteInstanceStore(database)
    now = datetime.now(timezone.utc)
    row = replace(store.insert_instance(instance_id="sbx-1", token="t", name="Cobrança 33", created_by=None),
                  first_connected_at=now - timedelta(days=20))
    quiet = replace(store.insert_instance(instance_id="sbx-2", token="t", name="Antiga", created_by=None),
                    first_connected_at=now - timedelta(days=50))
    waiting = store.insert_instance(instance_id="sbx-3", token="t", name="Nova", created_by=None)
    store.add_event(event(waiting, "connect_requested", "connecting", now - timedelta(days=1)))
    for at, kind, status in ((now - timedelta(days=20), "connected", "connected"),
                             (now - timedelta(days=12), "dropped", "disconnected"),
                             (now - timedelta(days=10), "connected", "connected"),
                             (now - timedelta(days=3), "dropped", "disconnected"),
                             (now - timedelta(days=2), "connected", "connected")):
        store.add_event(event(row, kind, status, at))
    store.add_event(event(quiet, "dropped", "disconnected", now - timedelta(days=40)))  # older than 30 days
    stats = table_stats(store, [row, quiet, waiting], now)
    assert stats[row.id].last_drop == now - timedelta(days=3)
    assert abs(stats[row.id].uptime_7d - 6 / 7) < 1e-9  # down one day of the seven
    assert stats[row.id].uptime_7d == instance_windows(store, row, now)["7 dias"].uptime.share  # Histórico's figure
    assert stats[quiet.id] == TableStats(0.0, None)  # down all week; its drop is too old to show
    assert stats[waiting.id] == TableStats(None, None)  # never connected: nothing to measure, not "0 %"


def test_table_stats_cover_every_instance_past_one_querys_worth(database):
    store = SQLiteInstanceStore(database)
    now = datetime.now(timezone.utc)
    rows = [store.insert_instance(instance_id=f"sbx-{n}", token="t", name=f"N{n:03d}", created_by=None)
            for n in range(160)]
    store.add_event(event(rows[155], "dropped", "disconnected", now - timedelta(days=1)))
    stats = table_stats(store, rows, now)
    assert len(stats) == 160 and stats[rows[155].id].last_drop == now - timedelta(days=1)
    assert table_stats(store, [], now) == {}


def test_a_column_is_as_wide_as_its_longest_text_in_every_row_within_its_limits():
    names = ["Suporte"] * 20 + ["WhatsApp Cobrança Centro – Carteira A"]  # the longest one last
    width = column_width("Nome", names, 400)
    assert width >= text_px("WhatsApp Cobrança Centro – Carteira A") + 16  # and the cell's padding
    assert column_width("Nome", names, 200) == 200  # never past the limit
    assert column_width("ID", ["a"], 400) == 60  # never narrower than the header's room
    assert text_px("Cobrança") == text_px("Cobranca")  # an accent is as wide as its letter
    assert text_px("📱") > text_px("o")


def test_a_text_past_its_columns_limit_wraps_and_the_rows_grow_to_its_lines():
    name = "Cobrança Recuperação Judicial – Carteira PJ Norte Jurídica S"  # 60 characters, the most
    assert lines("Cobrança 33", 244) == 1 and lines(name, 244) == 2 and lines("W" * 60, 244) == 3
    short = pd.DataFrame({"Nome": ["Cobrança 33"] * 11, "Estado": ["Conectada"] * 11})
    assert fitted(short, {"Nome": 260}).row_height is None  # one line: the grid's own height
    longer = fitted(pd.concat([short, pd.DataFrame({"Nome": [name], "Estado": ["Caiu"]})]), {"Nome": 260})
    assert longer.widths["Nome"] == 260 and longer.row_height == 65  # past the 11th row; 65 px: Streamlit wraps
