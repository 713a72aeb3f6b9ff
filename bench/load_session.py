"""One admin's session in a load run (bench.load): the browser steps it goes through (sign in,
create its instance, connect, scan) and what its page recorded."""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from pathlib import Path

from bench.load_recorder import TICK_SCRIPT
from bench.load_report import SessionReport
from harness.browser import DIALOG, IDLE, badge, card, protocol_numbers, with_protocol
from harness.seeding import PASSWORD
from playwright.sync_api import Browser, BrowserContext, Page, expect
from playwright.sync_api import Error as PlaywrightError

STEP_TIMEOUT_MS = 60_000  # one UI step of one session (a login, a create), generous for a loaded server
CONNECTED_TIMEOUT_S = 15.0  # scan → the dialog notices (polls every 3 s) and closes
# A click finds no QR to read when the dialog's last one has expired (a late tick under load did not
# fetch the next in time): the dialog fetches one on its next tick, and the click is tried again.
SCAN_ATTEMPTS = 2

CONNECTED_LINE = re.compile(r"^Conectada desde ")


class LoadError(Exception):
    """The run could not go on (a step timed out, the server died...)."""



@dataclass
class Session:
    report: SessionReport
    context: BrowserContext
    page: Page
    clicked_at: float | None = None  # "Conectar": the dialog's QR clock starts (about) here
    scanned_at: float | None = None

    @property
    def label(self) -> str:
        return f"session {self.report.index:02d} ({self.report.instance})"



def wait_idle(page: Page, timeout_ms: int = STEP_TIMEOUT_MS) -> None:
    page.wait_for_selector(IDLE, state="attached", timeout=timeout_ms)


# The browser is the load generator and shares the machine with the server: a smaller viewport than
# tests/ui/test_browser.py's spares some rendering (the cards and the table still fit).
VIEWPORT = {"width": 1024, "height": 700}


def open_session(browser: Browser, report: SessionReport, errors: list[str]) -> Session:
    context = browser.new_context(viewport=VIEWPORT, locale="pt-BR")
    context.set_default_timeout(STEP_TIMEOUT_MS)
    context.add_init_script(with_protocol(TICK_SCRIPT))
    page = context.new_page()
    session = Session(report, context, page)
    page.on("console", lambda msg: msg.type == "error" and errors.append(f"{session.label}: console error: {msg.text[:300]}"))
    page.on("pageerror", lambda exc: errors.append(f"{session.label}: page error: {str(exc)[:300]}"))
    return session


def log_in(session: Session, url: str) -> None:
    page = session.page
    page.goto(url)
    page.wait_for_selector(IDLE, state="attached", timeout=STEP_TIMEOUT_MS)
    expect(page.get_by_role("button", name="Entrar", exact=True)).to_be_visible(timeout=STEP_TIMEOUT_MS)
    for label, value in (("E-mail", session.report.email), ("Senha", PASSWORD)):
        field_ = page.get_by_label(label, exact=True)
        field_.fill(value)
        field_.press("Tab")
    page.get_by_role("button", name="Entrar", exact=True).click()
    # Wait for what each step brings rather than settle()'s fixed wait for the run to start: the
    # awaited text only exists once the run that the click caused has rendered it.
    expect(page.get_by_role("heading", name="Configurações")).to_be_visible(timeout=STEP_TIMEOUT_MS)
    expect(page.get_by_test_id("stSidebar").get_by_text(session.report.email)).to_be_visible()
    wait_idle(page)


def create_instance(session: Session) -> None:
    page, name = session.page, session.report.instance
    page.get_by_role("button", name="+ Nova instância", exact=True).click()
    dialog = page.locator(DIALOG)
    expect(dialog.get_by_text("Nova instância", exact=True)).to_be_visible(timeout=STEP_TIMEOUT_MS)
    name_input = dialog.get_by_label("Nome da instância", exact=True)
    name_input.fill(name)
    name_input.press("Tab")
    dialog.get_by_role("button", name="Criar", exact=True).click()
    expect(dialog.get_by_text("Instância criada.")).to_be_visible(timeout=STEP_TIMEOUT_MS)
    expect(dialog.get_by_text(f"Nome: {name}", exact=True)).to_be_visible()
    wait_idle(page)
    dialog.get_by_role("button", name="Fechar", exact=True).click()
    expect(page.locator(DIALOG)).to_have_count(0, timeout=STEP_TIMEOUT_MS)
    # The newest instance comes first, so its card is on the first page of cards.
    expect(badge(page, name, "Nunca conectada")).to_be_visible(timeout=STEP_TIMEOUT_MS)
    wait_idle(page)


def show_own_card(session: Session) -> None:
    """Bring up the session's own instance: its name in the search box (every admin sees every
    instance, a page of cards at a time)."""
    page = session.page
    search = page.get_by_label("Buscar", exact=True)
    if search.input_value() != session.report.instance:
        search.fill(session.report.instance)
        search.press("Enter")
    expect(card(page, session.report.instance)).to_be_attached(timeout=STEP_TIMEOUT_MS)


def click_connect(session: Session) -> None:
    """Click "Conectar" on the session's own card, without waiting for the run (a burst)."""
    show_own_card(session)
    expect(badge(session.page, session.report.instance, "Nunca conectada")).to_be_visible()
    card(session.page, session.report.instance).get_by_role("button", name="Conectar", exact=True).click()
    session.clicked_at = time.monotonic()


def wait_connect_dialog(session: Session) -> None:
    dialog = session.page.locator(DIALOG)
    expect(dialog.get_by_text("Conectar instância", exact=True)).to_be_visible(timeout=STEP_TIMEOUT_MS)
    expect(dialog.get_by_text(session.report.instance, exact=True)).to_be_visible()
    expect(dialog.locator("img").first).to_be_visible(timeout=STEP_TIMEOUT_MS)
    expect(dialog.get_by_role("button", name="Simular leitura do QR", exact=True)).to_be_visible()
    expect(dialog.locator('iframe[title*="autorefresh"]')).to_have_count(1)


def click_scan(session: Session) -> None:
    """Play the phone: the dialog's "Simular leitura do QR" (the sandbox reads the dialog's latest
    QR in the server's process). Does not wait for the run."""
    session.page.locator(DIALOG).get_by_role("button", name="Simular leitura do QR", exact=True).click()
    session.report.scan_clicks += 1
    session.scanned_at = time.monotonic()


def sandbox_phones(data_dir: Path) -> dict[str, str | None]:
    """Instance name -> the phone the embedded sandbox gave it, from the state file it keeps in
    APP_DATA_DIR (rewritten whole, by rename, on every change)."""
    from lib.provider.sandbox.state import STATE_FILENAME

    state = json.loads((data_dir / STATE_FILENAME).read_text(encoding="utf-8"))
    return {item["name"]: item.get("phone_number") for item in state}


def wait_dialog_closed(session: Session) -> bool:
    """Whether the connect dialog closed by itself within CONNECTED_TIMEOUT_S of the last scan click."""
    remaining = CONNECTED_TIMEOUT_S - (time.monotonic() - session.scanned_at)
    try:
        expect(session.page.locator(DIALOG)).to_have_count(0, timeout=max(1_000, remaining * 1000))
        return True
    except AssertionError:
        return False


def scan_and_verify(sessions: list[Session], data_dir: Path) -> dict[int, str]:
    """Click every session's scan button, oldest dialog first, without waiting for the runs; then
    check each session (a dialog still open is clicked once more). Returns {session index: why it
    failed}."""
    failed: dict[int, str] = {}
    for session in sessions:
        try:
            click_scan(session)
        except PlaywrightError as exc:
            failed[session.report.index] = first_line(exc)
    for session in sessions:
        if session.report.index in failed:
            continue
        try:
            closed = wait_dialog_closed(session)
            while not closed and session.report.scan_clicks < SCAN_ATTEMPTS:
                click_scan(session)
                closed = wait_dialog_closed(session)
            if not closed:
                raise LoadError(f"{session.label}: connect dialog still open {CONNECTED_TIMEOUT_S:g} s after "
                                f"{session.report.scan_clicks} scan click(s)")
            verify_connected(session, sandbox_phones(data_dir))
        except (LoadError, AssertionError, PlaywrightError) as exc:
            failed[session.report.index] = first_line(exc)
    return failed


def verify_connected(session: Session, phones: dict[str, str | None]) -> None:
    """The session's own card shows connected, with the phone the sandbox gave."""
    page, name = session.page, session.report.instance
    session.report.scanned_phone = phones.get(name)
    if not session.report.scanned_phone:
        raise LoadError(f"{session.label}: the sandbox has no phone for {name}")
    wait_idle(page)
    show_own_card(session)
    connected = badge(page, name, "Conectada")
    expect(connected).to_be_visible()
    line = card(page, name).get_by_text(CONNECTED_LINE).inner_text().splitlines()[0]
    digits = re.sub(r"\D", "", line.split("·")[-1])
    if digits != re.sub(r"\D", "", session.report.scanned_phone):
        raise LoadError(f"{session.label}: card shows {line!r}, the sandbox connected {session.report.scanned_phone}")
    session.report.connected = True


def collect_ticks(session: Session, start_ms: float, end_ms: float) -> None:
    protocol = protocol_numbers()
    raw = session.page.evaluate("window.__loadTicks || []")
    sends = session.page.evaluate("window.__loadSends || []")
    runs = [run for run in raw if run[0] is not None and start_ms <= run[0] <= end_ms]  # the dialog's ticks
    checks = [run for run in raw if run[1] is not None and start_ms <= run[1] <= end_ms]  # the cards' checks
    session.report.ticks = len(runs)
    session.report.tick_ms = [round(run[3] - run[0], 1) for run in runs]
    session.report.card_checks = len(checks)
    session.report.card_check_ms = [round(run[3] - run[1], 1) for run in checks]
    session.report.queued_ticks = sum(1 for run in runs if run[5] > 1)
    session.report.interrupted_ticks = sum(1 for run in runs if run[4] == protocol["FINISHED_EARLY_FOR_RERUN"])
    sent = [t for t, auto in sends if start_ms <= t <= end_ms and not auto]
    session.report.requests = len(sent)
    session.report.interval_ms = [round(b - a, 1) for a, b in zip(sent, sent[1:])]


def collect_problems(session: Session) -> list[str]:
    try:
        problems = session.page.evaluate("window.__loadProblems || []")
    except PlaywrightError as exc:
        problems = [f"could not read the page's problems: {exc}"]
    for text in problems:
        if text not in session.report.problems:
            session.report.problems.append(text)
    return [f"{session.label}: {text}" for text in problems]


def first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__

