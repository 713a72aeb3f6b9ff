"""Histórico and Atividade in real Chromium against the real server: the timeline in Brasília time
in a browser on Tokyo's clock, a one-minute connection drawn, only the open tab in the page (and
it stays open), and a phone's screen (390 px): pinned columns, no English in the filters."""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import pytest
from PIL import Image, ImageChops
from playwright.sync_api import Browser, Page, expect

from harness.browser import DIALOG, card, new_page, settle, sign_in
from harness.seeding import PASSWORD
from harness.server import running_server
from lib.auth.accounts import LocalAccounts
from lib.models import InstanceEvent
from lib.presentation import DISPLAY_TIMEZONE
from lib.store.sqlite.database import SQLiteDatabase
from lib.store.sqlite.instances import SQLiteInstanceStore
from tests.ui.test_browser import SEEN_WITHOUT_A_CLICK_MS

ADMIN = "admin@example.com"
PHONE = {"width": 390, "height": 844}
FILTERS = ".st-key-activity-filters"  # Atividade's filters (lib.ui.activity)


@dataclass(frozen=True)
class Seeded:
    url: str
    connected_at: datetime  # Reserva's one minute connected started here


def seeded(tmp_path, name: str, moments: list[tuple[datetime, str, str, str | None]], connected_at: datetime):
    """A server whose one instance, `name`, has these events (when, kind, status, detail). Written
    before the server's first look at the file (later writes go through the server: it counts them
    to know when pages must run again)."""
    with running_server(tmp_path / "data") as running:
        database = SQLiteDatabase.in_dir(running.data_dir)
        LocalAccounts(database).add(ADMIN, PASSWORD, "admin")
        store = SQLiteInstanceStore(database)
        row = store.insert_instance(instance_id="sbx-r", token="t", name=name, created_by=None)
        for at, kind, status, detail in moments:
            store.add_event(InstanceEvent(row.id, row.name, kind, "monitor", to_status=status, detail=detail,
                                          created_at=at))
        with database.connect() as conn:
            conn.execute("update instances set first_connected_at = ? where id = ?",
                         (connected_at.isoformat(), row.id))
        yield Seeded(running.url, connected_at)


@pytest.fixture
def server(tmp_path):
    """"Reserva": created 20 h ago, connected for one minute 5 h ago, then dropped (removed on the
    phone); disconnected ever since."""
    now = datetime.now(timezone.utc)
    connected_at = now - timedelta(hours=5)
    yield from seeded(tmp_path, "Reserva", [
        (now - timedelta(hours=20), "created", "disconnected", None),
        (connected_at, "connected", "connected", None),
        (connected_at + timedelta(minutes=1), "dropped", "disconnected", "Desconectado no celular (aparelho removido)"),
    ], connected_at)


@pytest.fixture
def just_dropped(tmp_path):
    """"Caída": created 20 h ago, connected for one minute 10 minutes ago, down ever since (9 min)."""
    now = datetime.now(timezone.utc)
    connected_at = now - timedelta(minutes=10)
    yield from seeded(tmp_path, "Caída", [
        (now - timedelta(hours=20), "created", "disconnected", None),
        (connected_at, "connected", "connected", None),
        (connected_at + timedelta(minutes=1), "dropped", "disconnected", "Conexão perdida (código 428)"),
    ], connected_at)


def signed_in_page(browser: Browser, url: str, **options) -> Page:
    page = new_page(browser, **options)
    sign_in(page, url, ADMIN)
    return page


def sp(moment: datetime, pattern: str) -> str:
    return moment.astimezone(DISPLAY_TIMEZONE).strftime(pattern)


def test_the_timeline_is_in_brasilia_time_in_any_browser_and_a_one_minute_connection_shows(server, browser):
    page = signed_in_page(browser, server.url, viewport={"width": 1400, "height": 1000}, timezone_id="Asia/Tokyo")
    assert page.evaluate("Intl.DateTimeFormat().resolvedOptions().timeZone") == "Asia/Tokyo"
    card(page, "Reserva").get_by_role("button", name="Histórico").click()
    settle(page)
    dialog = page.locator(DIALOG)
    chart = dialog.locator('[data-testid="stVegaLiteChart"]')
    # The minute connected, in a day of red slices: a tick of its own, a few pixels wide.
    tick = chart.locator('[aria-roledescription="tick"]')
    expect(tick).to_have_count(1)
    middle = server.connected_at + timedelta(seconds=30)
    # Vega formats the tick's time in the browser: Brasília's, not Tokyo's (12 h apart).
    assert tick.get_attribute("aria-label").startswith(f"meio: {sp(middle, '%H:%M')}; status: Conectado;")
    box = tick.bounding_box()
    assert box["width"] >= 3
    # The axis too: the tick sits between the labels of the Brasília hours around it.
    labels = {text.text_content(): text.bounding_box() for text in chart.locator(".role-axis-label text").all()}
    hour = middle.astimezone(DISPLAY_TIMEZONE).replace(minute=0, second=0, microsecond=0)
    before, after = labels[hour.strftime("%H:%M")], labels[(hour + timedelta(hours=1)).strftime("%H:%M")]
    centre = box["x"] + box["width"] / 2
    assert before["x"] < centre < after["x"] + after["width"]
    # Its tooltip says when, in Brasília time.
    page.mouse.move(centre, box["y"] + box["height"] / 2)
    tooltip = page.locator("#vg-tooltip-element")
    expect(tooltip).to_contain_text("Conectado")
    expect(tooltip).to_contain_text(sp(server.connected_at, "%d/%m/%Y %H:%M"))
    expect(tooltip).to_contain_text(sp(server.connected_at + timedelta(minutes=1), "%d/%m/%Y %H:%M"))
    # Counted from that first connection, and said so.
    expect(dialog.get_by_text(f"Online desde {sp(server.connected_at, '%H:%M')}", exact=True)).to_be_visible()
    # Every bar from its real change to the next: red from the drop on, grey until the creation.
    dropped = sp(server.connected_at + timedelta(minutes=1), "%d/%m/%Y %H:%M")
    bars = [bar.get_attribute("aria-label") for bar in chart.locator('[aria-roledescription="bar"]').all()]
    assert any(f"Status: Desconectado; De: {dropped};" in label for label in bars), bars
    created = sp(server.connected_at - timedelta(hours=15), "%d/%m/%Y %H:%M")
    assert any("Status: Sem dados;" in label and label.endswith(f"Até: {created}") for label in bars), bars
    # Hovered, the chart shows no toolbar (English, and its "Show data" the drawing's columns).
    chart.hover()
    expect(dialog.locator('.st-key-history-chart [data-testid="stElementToolbar"]')).to_be_hidden()
    expect(dialog.get_by_role("button", name="Show data")).to_have_count(0)
    # Over 7 days, each day's date once.
    dialog.get_by_text("7 dias", exact=True).click()
    settle(page)
    # Redrawn (a busy machine may draw it after the run is over): the axis in dates.
    expect(chart.locator(".role-axis-label text").first).to_have_text(re.compile(r"^\d\d/\d\d$"))
    dates = [text.text_content() for text in chart.locator(".role-axis-label text").all()]
    assert len(dates) >= 3 and len(dates) == len(set(dates)), dates
    assert all(re.fullmatch(r"\d\d/\d\d", date) for date in dates), dates
    page.context.close()


def test_only_the_open_tab_is_in_the_page_and_it_stays_open(server, browser):
    page = signed_in_page(browser, server.url, viewport={"width": 1400, "height": 1000})
    expect(card(page, "Reserva")).to_be_visible()
    expect(page.locator(FILTERS)).to_have_count(0)  # Atividade is not drawn
    page.get_by_role("tab", name="Atividade").click()
    settle(page)
    expect(page.locator(FILTERS)).to_have_count(1)
    expect(page.get_by_role("button", name="Histórico")).to_have_count(0)  # nor the cards now
    expect(page.get_by_text("3 eventos", exact=True)).to_be_visible()
    # Someone else creates an instance: every open page runs again by itself (lib.ui.live), with
    # the new event, and the tab stays.
    other = signed_in_page(browser, server.url, viewport={"width": 1400, "height": 1000})
    other.get_by_role("button", name="+ Nova instância", exact=True).click()
    settle(other)
    other.locator(DIALOG).get_by_label("Nome da instância", exact=True).fill("Suporte")
    other.locator(DIALOG).get_by_role("button", name="Criar", exact=True).click()
    expect(other.locator(DIALOG).get_by_text("Instância criada.")).to_be_visible()
    other.context.close()
    expect(page.get_by_text("4 eventos", exact=True)).to_be_visible(timeout=SEEN_WITHOUT_A_CLICK_MS)
    expect(page.get_by_role("tab", name="Atividade")).to_have_attribute("aria-selected", "true")
    # A filter of the tab (a run of its own) keeps it too.
    page.locator(".st-key-activity_kinds").click()
    page.get_by_role("option", name="Caiu", exact=True).click()
    page.keyboard.press("Escape")
    settle(page)
    expect(page.get_by_text("1 evento", exact=True)).to_be_visible()
    expect(page.get_by_role("tab", name="Atividade")).to_have_attribute("aria-selected", "true")
    # Another page and back: still Atividade.
    page.get_by_role("link", name="Usuários").click()
    settle(page)
    page.get_by_role("link", name="Configurações").click()
    settle(page)
    expect(page.get_by_role("tab", name="Atividade")).to_have_attribute("aria-selected", "true")
    expect(page.locator(FILTERS)).to_have_count(1)
    page.get_by_role("tab", name="Instâncias").click()
    settle(page)
    expect(card(page, "Suporte")).to_be_visible()
    expect(page.locator(FILTERS)).to_have_count(0)
    page.context.close()


def grid_image(grid) -> Image.Image:
    return Image.open(io.BytesIO(grid.screenshot())).convert("RGB")


def repainted(grid, before: Image.Image) -> tuple[int, int, int, int] | None:
    """The box of what changed in the grid's picture once it repaints (None: nothing, after 10 s)."""
    for _ in range(50):
        changed = ImageChops.difference(before, grid_image(grid)).getbbox()
        if changed is not None:
            return changed
        grid.page.wait_for_timeout(200)
    return None


def test_on_a_phone_atividade_keeps_when_and_what_in_view_and_speaks_portuguese(server, browser, tmp_path):
    page = signed_in_page(browser, server.url, viewport=PHONE, is_mobile=True, has_touch=True)
    page.get_by_role("tab", name="Atividade").click()
    settle(page)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]  # no sideways scroll
    # The table scrolls sideways inside itself; "Quando" and "O que" are pinned: they stay.
    grid = page.locator('[data-testid="stDataFrame"]')
    assert grid.bounding_box()["x"] + grid.bounding_box()["width"] <= PHONE["width"]
    before = grid_image(grid)
    scroller = grid.locator(".dvn-scroller")
    assert scroller.evaluate("e => e.scrollWidth > e.clientWidth")  # more columns than the phone shows
    scroller.evaluate("e => { e.scrollLeft = e.scrollWidth; }")
    changed = repainted(grid, before)
    before.save(tmp_path / "before.png")
    assert changed is not None and changed[0] >= 180  # the rest scrolled; the first 190 px or so did not
    # The filters: no "Select all", and an empty list says so in Portuguese.
    page.locator(".st-key-activity_kinds").click()
    dropdown = page.get_by_test_id("stMultiSelectDropdown")
    expect(dropdown.get_by_role("option", name="Caiu", exact=True)).to_be_visible()
    expect(dropdown.get_by_text("Select all")).to_have_count(0)
    # All 19 kinds, the last ones by scrolling the list (only what is in view is in the page).
    dropdown.get_by_role("listbox").evaluate("e => { e.scrollTop = e.scrollHeight; }")
    for label in ("Renomeada", "Dados alterados", "Não existe mais no provedor"):
        expect(dropdown.get_by_role("option", name=label, exact=True)).to_be_visible()
    page.keyboard.press("Escape")
    page.locator(".st-key-activity_names").click()
    expect(page.get_by_role("option", name="Reserva", exact=True)).to_be_visible()
    page.keyboard.type("Reserva")  # chosen by keyboard: on a phone a label can cover the option's middle
    page.keyboard.press("Enter")  # the only instance: nothing left
    page.keyboard.press("Escape")
    settle(page)
    page.locator(".st-key-activity_names").click()
    listbox = page.get_by_test_id("stMultiSelectDropdown").get_by_role("listbox")
    expect(listbox).to_have_attribute("data-empty", "true")
    expect(page.get_by_text("No results")).not_to_be_visible()
    assert listbox.evaluate("e => getComputedStyle(e, '::after').content") == '"Nenhum resultado"'
    page.keyboard.press("Escape")
    page.screenshot(path=str(tmp_path / "activity-phone.png"), full_page=True)
    page.context.close()


def test_on_a_phone_the_histórico_chart_and_its_legend_fit(server, browser, tmp_path):
    page = signed_in_page(browser, server.url, viewport=PHONE, is_mobile=True, has_touch=True)
    card(page, "Reserva").get_by_role("button", name="Histórico").click()
    settle(page)
    chart = page.locator(DIALOG).locator('[data-testid="stVegaLiteChart"]')
    frame = chart.bounding_box()
    legend = chart.locator('[aria-roledescription="legend"]').bounding_box()
    assert frame["x"] + frame["width"] <= PHONE["width"]
    assert legend["x"] + legend["width"] <= frame["x"] + frame["width"]  # every status named, none cut
    assert legend["y"] + legend["height"] <= frame["y"] + frame["height"]
    assert re.fullmatch(r"\d\d:\d\d", chart.locator(".role-axis-label text").first.text_content())
    page.screenshot(path=str(tmp_path / "history-phone.png"), full_page=True)
    page.context.close()


def test_on_a_phone_the_bar_ends_in_the_status_now(just_dropped, browser):
    """Down 9 minutes after a minute connected: on a phone both are thinner than a tick, and the
    minute's tick must not hide that it is down now."""
    page = signed_in_page(browser, just_dropped.url, viewport=PHONE, is_mobile=True, has_touch=True)
    card(page, "Caída").get_by_role("button", name="Histórico").click()
    settle(page)
    chart = page.locator(DIALOG).locator('[data-testid="stVegaLiteChart"]')
    expect(chart.locator('[aria-roledescription="tick"]')).to_have_count(2)  # the minute; the status now
    bars = [bar.bounding_box() for bar in chart.locator('[aria-roledescription="bar"]').all()]
    right = max(box["x"] + box["width"] for box in bars)
    middle = bars[0]["y"] + bars[0]["height"] / 2
    end = Image.open(io.BytesIO(page.screenshot(clip={"x": right - 3, "y": middle - 1, "width": 3, "height": 2},
                                                scale="css"))).convert("RGB")
    assert set(end.getdata()) == {(0xC6, 0x28, 0x28)}, set(end.getdata())  # red, to the last pixels
    page.context.close()
