from datetime import datetime, timezone

import pandas as pd

from lib.models import Instance
from lib.presentation import format_datetime, format_phone, instances_table, mask_token, table_csv


def instance(name="Cobrança", status="connected", phone="+5511999998888"):
    now = datetime(2026, 11, 29, 15, 0, tzinfo=timezone.utc)
    return Instance("id", "sbx-1", name, phone, status, now, now, None)


def test_phone_format():
    assert format_phone("+5511999998888") == "+55 11 99999-8888"
    assert format_phone("551133334444") == "+55 11 3333-4444"
    assert format_phone(None) == "—"
    assert format_phone("+1 555 0100") == "+1 555 0100"


def test_dates_show_in_sao_paulo_time():
    assert format_datetime(datetime(2026, 11, 29, 15, 0, tzinfo=timezone.utc)) == "29/11/2026 12:00"


def test_token_mask_hides_the_middle():
    masked = mask_token("abcd1234567890wxyz")
    assert masked.startswith("abcd") and masked.endswith("wxyz") and "1234567890" not in masked
    assert mask_token("short") == "•••••"


def test_table_has_no_token_and_filters_by_status():
    rows = [instance(), instance("Suporte", "disconnected", None)]
    table = instances_table(rows, ["disconnected"])
    assert list(table["Nome"]) == ["Suporte"]
    assert not any("token" in c.lower() for c in table.columns)
    assert list(instances_table(rows)["Telefone"]) == ["+55 11 99999-8888", "—"]


def test_csv_neutralises_spreadsheet_formulas():
    csv = table_csv(pd.DataFrame({"Nome": ["=HYPERLINK(\"x\")", "+1", "ok"]})).decode("utf-8-sig")
    assert "'=HYPERLINK" in csv and "'+1" in csv and "\nok" in csv
