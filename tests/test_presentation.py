import csv
import re
import io
from datetime import datetime, timezone

import pandas as pd
import pytest

from lib.models import Instance
from lib.presentation import (
    escape_markdown, filter_instances, format_datetime, format_phone, mask_token, table_csv,
)

NOW = datetime(2026, 11, 29, 15, 0, tzinfo=timezone.utc)


def instance(name="Cobrança", status="connected", phone="+5511999998888", last=None):
    return Instance("id-" + name, "sbx-1", name, phone, status, NOW, NOW, None, last_phone_number=last or phone)


def test_phone_format():
    assert format_phone("+5511999998888") == "+55 11 99999-8888"
    assert format_phone("551133334444") == "+55 11 3333-4444"
    assert format_phone(None) == ""
    assert format_phone("+1 555 0100") == "+1 555 0100"


def test_dates_show_in_sao_paulo_time():
    assert format_datetime(datetime(2026, 11, 29, 15, 0, tzinfo=timezone.utc)) == "29/11/2026 12:00"


def test_token_mask_hides_the_middle():
    masked = mask_token("abcd1234567890wxyz")
    assert masked.startswith("abcd") and masked.endswith("wxyz") and "1234567890" not in masked
    assert mask_token("short") == "•••••"


def test_filters_by_status_name_and_number():
    rows = [instance("Cobrança SP"), instance("Suporte", "disconnected", None, last="+5521977776666")]
    assert [i.name for i in filter_instances(rows, statuses=["disconnected"])] == ["Suporte"]
    assert [i.name for i in filter_instances(rows, "cobrança")] == ["Cobrança SP"]
    assert [i.name for i in filter_instances(rows, "97777-6666")] == ["Suporte"]  # by the last number too
    assert [i.name for i in filter_instances(rows, "  ")] == ["Cobrança SP", "Suporte"]


def read_as_excel(data: bytes) -> list[list[str]]:
    """How Brazilian Excel reads the file: UTF-8 with BOM, cells split on ';'."""
    assert data.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig")), delimiter=";"))


def test_csv_neutralises_spreadsheet_formulas():
    data = table_csv(pd.DataFrame({"Nome": ["=cmd|' /C calc'!A0", "+1", "-2", "@SUM(A1)", "\tx", "ok"]}))
    [header, *cells] = read_as_excel(data)
    assert [c[0] for c in cells] == ["'=cmd|' /C calc'!A0", "'+1", "'-2", "'@SUM(A1)", "'\tx", "ok"]


def test_markdown_escape_keeps_the_text():
    text = "**b** [a](javascript:x) <b> :red[v] $x$"
    escaped = escape_markdown(text)
    assert "**" not in escaped and "](" not in escaped and escaped.replace("\\", "") == text


@pytest.mark.parametrize("text", ["https://evil.example/x", "HTTP://EVIL.EXAMPLE", "www.evil.example", "ana@evil.example",
                                  "ftp://evil.example"])
def test_text_that_markdown_would_link_by_itself_is_broken_invisibly(text):
    escaped = escape_markdown(text)
    assert "://" not in escaped.replace("\\", "") and "www." not in escaped.replace("\\", "").lower()
    assert not re.search(r"\w\\?@", escaped)  # nothing right before the @ an e-mail link needs
    assert escaped.replace("\\", "").replace("\u2060", "") == text


def test_a_connected_card_without_a_number_says_so():
    from lib.presentation import status_lines

    assert status_lines(instance(phone=None), NOW)[0].endswith("·  número desconhecido")


def test_a_dropped_card_says_when_it_dropped_while_someone_tries_to_reconnect_it_and_after():
    from dataclasses import replace

    from lib.presentation import status_lines

    down = replace(instance(status="disconnected", phone=None, last="+5511999998888"), dropped=True,
                   disconnect_reason="428", dropped_at=NOW.replace(hour=12, minute=58),
                   status_changed_at=NOW.replace(hour=12, minute=58), first_connected_at=NOW.replace(hour=9))
    reconnecting = replace(down, status="connecting", status_changed_at=NOW.replace(hour=14, minute=8))
    given_up = replace(down, status_changed_at=NOW.replace(hour=14, minute=10))
    assert status_lines(reconnecting, NOW)[:3] == [  # Brasília time: UTC−3
        "Caiu às 09:58  ·  Conexão perdida (código 428)", "Reconectando: aguardando a leitura do QR Code desde 11:08",
        "Último número: +55 11 99999-8888"]
    assert status_lines(given_up, NOW)[:2] == [
        "Caiu às 09:58  ·  Conexão perdida (código 428)", "Último número: +55 11 99999-8888"]
