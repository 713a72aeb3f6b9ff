"""The fleet's table in real Chromium: at 1280 px no column cuts its text, at 390 px the names read
in full, a chosen row's actions are a click away, and the data tables have no export of their own
("Baixar CSV" is the one export: client.disableDataExport).

The table is a canvas (glide-data-grid): there is no cell element to measure. What is measured is
what it draws: the columns' borders are the vertical lines in every row, and a text that does not
fit runs up to its column's edge, so any ink of a text within a few pixels of a border is a cut.
The grid is scrolled sideways to see every column (Nome stays pinned at the left)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from playwright.sync_api import Browser, Page, expect

from lib.auth.accounts import LocalAccounts
from lib.models import FAILURES_BEFORE_NO_ANSWER, InstanceEvent
from lib.provider.http import MSG_INSTANCE_UNKNOWN
from lib.store.sqlite.database import SQLiteDatabase
from lib.store.sqlite.instances import SQLiteInstanceStore
from harness.browser import DIALOG, new_page, settle, sign_in
from harness.seeding import ADMIN_EMAIL as ADMIN
from harness.seeding import PASSWORD
from harness.server import running_server

OWNER = "maria.aparecida@cobranca.example.com"
LONG_NAME = "WhatsApp Cobrança Centro – Carteira A"
NAMES = ["Fantasma", "Suporte", "Cobrança 33", LONG_NAME]  # in the table's (attention) order
COLUMNS_AFTER_NOME = 8  # Estado, Número, Desde, Última queda, Online 7 dias, Responsável, Etiquetas, ID no provedor
TABLE = '[data-testid="stDataFrame"]'
ROW_PX, HEADER_PX = 35, 35  # the grid's row and header heights
EDGE_PX = 5  # a text's ink this close to a border: cut (a cell's own padding is 8 px)

# What the grid has drawn: the x of each column border (a line in every row, 5 px below the row's
# top, where no text reaches), and per column whether a text's ink comes within EDGE_PX of either
# border (a cut: left-aligned text overflows to the right, right-aligned to the left) and whether
# it holds any text at all. At the far right the canvas' edge is the last column's border.
DRAWN = """(rows) => {
  const canvas = document.querySelector('[data-testid="stDataFrame"] canvas[data-testid="data-grid-canvas"]');
  const scroller = document.querySelector('[data-testid="stDataFrame"] .dvn-scroller');
  const image = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height);
  const pixel = (x, y) => { const i = (y * canvas.width + x) * 4; return [image.data[i], image.data[i + 1], image.data[i + 2]]; };
  const same = (a, b) => a.every((value, i) => value === b[i]);
  const top = (row) => %(header)d + %(row)d * row;
  const clear = top(0) + 5;
  let first = 0;  // past the checkboxes' column, whose background differs
  while (first < canvas.width && same(pixel(first, clear), pixel(0, clear))) first++;
  const line = pixel(first, clear);
  const borders = [];
  for (let x = first; x < canvas.width; x++) {
    let everywhere = true;
    for (let row = 0; row < rows && everywhere; row++) everywhere = same(pixel(x, top(row) + 5), line);
    if (everywhere) borders.push(x);
  }
  const maxScroll = scroller.scrollWidth - scroller.clientWidth;
  if (scroller.scrollLeft >= maxScroll) borders.push(canvas.width);
  const ink = (from, to) => {
    for (let row = 0; row < rows; row++)
      for (let y = top(row) + 8; y < top(row) + %(row)d - 7; y++)
        for (let x = Math.max(from, 0); x <= to; x++) { const c = pixel(x, y); if (c[0] + c[1] + c[2] < 600) return true; }
    return false;
  };
  const columns = [];
  for (let i = 0; i + 1 < borders.length; i++) {
    const [left, right] = [borders[i], borders[i + 1]];
    columns.push({left, right, cut: ink(left + 1, left + %(edge)d) || ink(right - %(edge)d, right - 1),
                  text: ink(left + %(edge)d + 1, right - %(edge)d - 1)});
  }
  return {left: canvas.getBoundingClientRect().left, width: canvas.width, scroll: scroller.scrollLeft, maxScroll, columns};
}""" % {"header": HEADER_PX, "row": ROW_PX, "edge": EDGE_PX}


@pytest.fixture
def server(tmp_path):
    # No monitor: the sandbox does not know these instances, and a sweep would change them mid-test.
    with running_server(tmp_path / "data", env={"MONITOR_INTERVAL_SECONDS": "0"}) as running:
        database = SQLiteDatabase.in_dir(running.data_dir)
        accounts = LocalAccounts(database)
        accounts.add(ADMIN, PASSWORD, "admin")
        owner = accounts.add(OWNER, PASSWORD, "supervisor")
        store = SQLiteInstanceStore(database)
        now = datetime.now(timezone.utc)
        long_name = store.insert_instance(instance_id="cobranca-centro-carteira-a", token="t1", name=LONG_NAME,
                                          created_by=None)
        store.update_status(long_name.id, status="connected", phone_number="+5511999998888")
        store.update_details(long_name.id, name=LONG_NAME, owner_id=owner.id, tags=("carteira-A", "régua-2"),
                             notes="Chip da gaveta 3")
        for days, kind, status in ((3, "connected", "connected"), (2, "dropped", "disconnected"),
                                   (1, "connected", "connected")):
            store.add_event(InstanceEvent(long_name.id, LONG_NAME, kind, "monitor", to_status=status,
                                          created_at=now - timedelta(days=days)))
        gone = store.insert_instance(instance_id="sbx-fantasma", token="t2", name="Fantasma", created_by=None)
        for _ in range(FAILURES_BEFORE_NO_ANSWER):  # the longest state: "Não existe no provedor"
            store.record_check_failure(gone.id, error=MSG_INSTANCE_UNKNOWN, max_failures=FAILURES_BEFORE_NO_ANSWER)
        store.insert_instance(instance_id="sbx-suporte", token="t3", name="Suporte", created_by=None)
        short = store.insert_instance(instance_id="sbx-33", token="t4", name="Cobrança 33", created_by=None)
        store.update_status(short.id, status="connected", phone_number="+5511988887777")
        yield running


def open_table(browser: Browser, url: str, viewport: dict, **options) -> Page:
    page = new_page(browser, viewport=viewport, **options)
    sign_in(page, url, ADMIN)
    page.get_by_text("Tabela", exact=True).click()
    settle(page)
    expect(page.locator(TABLE).first).to_be_visible()
    page.locator(TABLE).first.scroll_into_view_if_needed()
    return page


def drawn(page: Page, scroll: int | None = None) -> dict:
    if scroll is not None:
        page.evaluate("(x) => { document.querySelector('[data-testid=\"stDataFrame\"] .dvn-scroller').scrollLeft = x; }",
                      scroll)
    page.evaluate("() => new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)))")
    page.wait_for_timeout(200)
    return page.evaluate(DRAWN, len(NAMES))


def every_column(page: Page) -> tuple[dict, dict[int, dict]]:
    """Nome (pinned), and every other column by its left edge in the grid's content, each seen whole
    at some sideways scroll."""
    nome, others, scroll = None, {}, 0
    while True:
        seen = drawn(page, scroll)
        nome = nome or seen["columns"][0]
        for column in seen["columns"][1:]:
            if column["left"] > nome["right"] or (seen["scroll"] == 0 and column["left"] == nome["right"]):
                others.setdefault(column["left"] + seen["scroll"], column)
        if seen["scroll"] >= seen["maxScroll"]:
            return nome, others
        scroll = seen["scroll"] + (seen["width"] - nome["right"]) // 2


def test_at_1280_px_no_column_cuts_its_text_and_a_chosen_row_offers_its_actions(server, browser: Browser, tmp_path):
    page = open_table(browser, server.url, {"width": 1280, "height": 900})
    page.screenshot(path=str(tmp_path / "table-1280.png"), full_page=True)
    nome, others = every_column(page)
    assert nome["text"] and not nome["cut"], nome
    assert len(others) == COLUMNS_AFTER_NOME, others
    assert all(column["text"] for column in others.values()), others  # every column holds text in some row
    assert [left for left, column in others.items() if column["cut"]] == [], others
    # A chosen row: its checkbox (the first column), then its actions under the table.
    drawn(page, 0)
    box = page.locator(f'{TABLE} canvas[data-testid="data-grid-canvas"]').bounding_box()
    page.mouse.click(box["x"] + 16, box["y"] + HEADER_PX + ROW_PX // 2)
    settle(page)
    actions = page.locator(".st-key-row-actions")
    expect(actions.get_by_text(NAMES[0], exact=True)).to_be_visible()  # the bar under the table names it
    actions.get_by_role("button", name="Histórico", exact=True).click()
    settle(page)
    expect(page.locator(DIALOG).get_by_test_id("stMetric").first).to_be_visible()  # Histórico, with its figures


def test_at_390_px_the_names_read_in_full_beside_the_checkboxes(server, browser: Browser, tmp_path):
    """(Nome stays pinned while scrolling sideways only when it takes at most 60 % of the table's
    width, Streamlit's rule: here the longest name makes it wider, so it scrolls with the rest.)"""
    phone = {"width": 390, "height": 844}
    page = open_table(browser, server.url, phone, is_mobile=True, has_touch=True)
    page.screenshot(path=str(tmp_path / "table-390.png"), full_page=True)
    seen = drawn(page, 0)
    nome = seen["columns"][0]
    assert nome["text"] and not nome["cut"], nome
    assert seen["left"] + nome["right"] <= phone["width"], seen  # the whole column on the screen


def no_export_of_its_own(page: Page, table) -> None:
    """The table's toolbar is there (hover or focus shows it) and has no download control."""
    table.hover()
    toolbar = table.locator('[data-testid="stElementToolbar"]')
    expect(toolbar.get_by_role("button", name="Search")).to_be_visible()
    expect(toolbar.locator('[aria-label*="ownload" i], [title*="ownload" i]')).to_have_count(0)
    table.locator("canvas").first.focus()
    expect(page.locator('[aria-label*="Download" i]')).to_have_count(0)
    expect(page.get_by_text("Download as CSV")).to_have_count(0)


def test_the_tables_have_no_export_of_their_own_and_baixar_csv_is_there(server, browser: Browser):
    page = open_table(browser, server.url, {"width": 1280, "height": 900})
    no_export_of_its_own(page, page.locator(TABLE).first)
    expect(page.get_by_role("button", name="Baixar CSV")).to_be_visible()
    page.get_by_role("tab", name="Atividade").click()
    settle(page)
    activity = page.locator(f"{TABLE}:visible")  # the other tab's table is hidden now
    expect(activity).to_have_count(1)
    no_export_of_its_own(page, activity)
    expect(page.get_by_role("button", name="Baixar CSV")).to_have_count(1)  # the activity's, the one visible
