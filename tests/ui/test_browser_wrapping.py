"""Long texts in the data tables read in full in real Chromium: a 60-character name (the most the
create form takes) in the fleet's table at 1280 px and on a phone, and in Atividade an older event's
detail of 200 characters (the history's limit) under newer events without one (the grid, left to
itself, sizes a column from its first 10 rows only).

The tables are canvases (glide-data-grid): what is measured is what they draw. The borders are the
lines the grid draws between columns and rows; a text cut sideways has ink against its column's
border, and one cut at the bottom has fewer lines of ink than the browser needs to wrap it into the
column (counted with the canvas' own measureText, word by word, as the grid wraps)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from playwright.sync_api import Browser, Page, expect

from harness.browser import new_page, settle, sign_in
from harness.seeding import ADMIN_EMAIL as ADMIN
from harness.seeding import PASSWORD
from harness.server import running_server
from lib.auth.accounts import LocalAccounts
from lib.models import InstanceEvent
from lib.store.sqlite.database import SQLiteDatabase
from lib.store.sqlite.instances import SQLiteInstanceStore

NAME_60 = "Cobrança Recuperação Judicial – Carteira PJ Norte Jurídica S"
DETAIL_200 = ("Falha ao reconectar: o provedor respondeu que a sessão expirou no aparelho; peça ao responsável "
              "que abra o WhatsApp no celular, confira a internet e leia o QR de novo pelo painel web (código 428), já.")
DROP_DETAIL = "Conexão perdida (código 428)"
TABLE = '[data-testid="stDataFrame"]:visible'
HEADER_PX = 35

EDGE_PX = 5  # a text's ink this close to a column's border: cut (a cell's own padding is 8 px)

# The cells the grid shows whole, scrolled to its last row: per column (left to right) and row (top
# to bottom), whether ink touches the cell's borders (within EDGE_PX of its sides, 2 px of its top
# and bottom) and how many lines of text it holds (bands of ink); and how many lines each of
# `texts` needs in each column's width, wrapped word by word in the canvas' font as the grid does.
CELLS = """(texts) => {
  const root = [...document.querySelectorAll('[data-testid="stDataFrame"]')].find(e => e.offsetParent);
  const canvas = root.querySelector('canvas[data-testid="data-grid-canvas"]');
  let image = null;
  const pixel = (x, y) => { const i = (y * canvas.width + x) * 4; return [image.data[i], image.data[i + 1], image.data[i + 2]]; };
  const borders = (count, at, line) => {  // the last pixel of each run of a border's colour
    const on = [...Array(count).keys()].map(i => at(i).join() === line);
    return on.flatMap((yes, i) => yes && !on[i + 1] ? [i] : []);
  };
  // The columns' borders in the first row's top padding (no text there), before scrolling down.
  image = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height);
  const line = pixel(canvas.width - 3, %(header)d).join();  // the header's bottom border
  const xs = [-1, ...borders(canvas.width, x => pixel(x, %(header)d + 2), line)];
  root.querySelector('.dvn-scroller').scrollTop = 1e6;
  return new Promise(done => setTimeout(() => requestAnimationFrame(() => requestAnimationFrame(() => {
    image = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height);
    // Rows between two borders below the header's (a row cut by the header is not one), and the
    // last row, which ends at the canvas' edge.
    const ys = [...borders(canvas.height, y => pixel(xs[2] + 2, y), line).filter(y => y > %(header)d + 1),
                canvas.height];
    const ink = (x, y) => { const c = pixel(x, y); return c[0] + c[1] + c[2] < 600; };
    const inked = (x0, x1, y) => { for (let x = x0; x <= x1; x++) if (ink(x, y)) return true; return false; };
    const context = document.createElement('canvas').getContext('2d');
    context.font = '400 14px ' + getComputedStyle(root).fontFamily;
    const wrapped = (text, width) => {
      let count = 0, used = width;
      for (const word of text.split(' ')) {
        const px = context.measureText(word).width, space = context.measureText(' ').width;
        if (used + space + px <= width) { used += space + px; continue; }
        count += Math.max(1, Math.ceil(px / width)); used = px %% width;
      }
      return count;
    };
    const columns = [];
    for (let c = 0; c + 1 < xs.length; c++) {
      const [left, right] = [xs[c], xs[c + 1]];
      const cells = [];
      for (let r = 0; r + 1 < ys.length; r++) {
        const [top, bottom] = [ys[r], ys[r + 1]];
        let lines = 0, before = false, cut = false;
        for (let y = top + 1; y < bottom; y++) {
          const now = inked(left + 1, right - 1, y);
          if (now && !before) lines++;
          before = now;
          if (now && (y <= top + 2 || y >= bottom - 2 || inked(left + 1, left + %(edge)d, y)
                      || inked(right - %(edge)d, right - 1, y))) cut = true;
        }
        cells.push({lines, cut});
      }
      columns.push({left, right, cells, needs: texts.map(t => wrapped(t, right - left - 1 - 16))});
    }
    done({left: canvas.getBoundingClientRect().left, columns});
  })), 300));
}""" % {"header": HEADER_PX, "edge": EDGE_PX}


@pytest.fixture
def server(tmp_path):
    with running_server(tmp_path / "data", env={"MONITOR_INTERVAL_SECONDS": "0"}) as running:
        database = SQLiteDatabase.in_dir(running.data_dir)
        LocalAccounts(database).add(ADMIN, PASSWORD, "admin")
        store = SQLiteInstanceStore(database)
        now = datetime.now(timezone.utc)
        long_name = store.insert_instance(instance_id="sbx-longo", token="t0", name=NAME_60, created_by=None)
        store.add_event(InstanceEvent(long_name.id, NAME_60, "dropped", "monitor", to_status="disconnected",
                                      detail=DETAIL_200, created_at=now - timedelta(hours=3)))
        store.add_event(InstanceEvent(long_name.id, NAME_60, "dropped", "provider_event", to_status="disconnected",
                                      detail=DROP_DETAIL, created_at=now - timedelta(hours=2, minutes=30)))
        for number in range(12):
            short = store.insert_instance(instance_id=f"sbx-{number}", token=f"t{number + 1}",
                                          name=f"Cobrança {number}", created_by=None)
            store.add_event(InstanceEvent(short.id, short.name, "connected", "monitor", to_status="connected",
                                          created_at=now - timedelta(hours=2, minutes=number)))
        yield running


def signed_in(browser: Browser, url: str, viewport: dict, **options) -> Page:
    page = new_page(browser, viewport=viewport, **options)
    sign_in(page, url, ADMIN)
    return page


def shown(page: Page, texts: list[str]) -> dict:
    table = page.locator(TABLE)
    expect(table).to_have_count(1)
    table.scroll_into_view_if_needed()
    return page.evaluate(CELLS, texts)


def reads_in_full(column: dict, text: int = 0) -> None:
    """No cell of `column` is cut, and one holds `texts[text]` on as many lines as it needs."""
    assert not [cell for cell in column["cells"] if cell["cut"]], column
    assert max(cell["lines"] for cell in column["cells"]) == column["needs"][text], column


@pytest.mark.parametrize("viewport", [{"width": 1280, "height": 900}, {"width": 390, "height": 844}],
                         ids=["1280", "390"])
def test_a_60_character_name_reads_in_full_in_the_fleets_table(server, browser: Browser, viewport, tmp_path):
    page = signed_in(browser, server.url, viewport)
    page.get_by_text("Tabela", exact=True).click()
    settle(page)
    seen = shown(page, [NAME_60])  # its row is the last (never connected, by name)
    page.screenshot(path=str(tmp_path / "table.png"))
    nome = seen["columns"][1]  # after the checkboxes
    reads_in_full(nome)
    assert nome["needs"][0] >= 2, nome  # it wraps: at most 260 px wide, beside the checkbox on a phone
    assert seen["left"] + nome["right"] <= viewport["width"], seen


def test_atividade_reads_an_older_long_detail_and_name_in_full_under_rows_without_detail(server, browser: Browser,
                                                                                       tmp_path):
    page = signed_in(browser, server.url, {"width": 1280, "height": 900})
    page.get_by_role("tab", name="Atividade").click()
    settle(page)
    # The last rows: Cobrança 11's, the drop with the short detail, the one with 200 characters.
    seen = shown(page, [NAME_60, DETAIL_200, DROP_DETAIL])
    page.screenshot(path=str(tmp_path / "atividade.png"))
    quando, o_que, instancia, detalhe = seen["columns"][:4]
    assert detalhe["right"] <= seen["columns"][-1]["right"], seen  # on the screen, without scrolling sideways
    for column in (quando, o_que):
        assert not [cell for cell in column["cells"] if cell["cut"]], column
    reads_in_full(instancia)
    reads_in_full(detalhe, 1)
    assert detalhe["needs"][2] == 1, detalhe  # "Conexão perdida (código 428)" on one line
