"""Load benchmark: the real server, `streamlit run server.py` (embedded default: SQLite + sandbox
provider, the status monitor), with N concurrent admin sessions in one headless Chromium, each with
its own connect dialog polling.

    .venv/bin/python -m bench.load --sessions 20 --poll-seconds 60 [--out bench/load-results.json]

1. N admin accounts are written to a fresh APP_DATA_DIR (in-process, before the server starts); the
   server (bench.measure.BenchServer, not instrumented) runs with nothing of the developer's
   configuration (environment and secrets file), so it is on the embedded default.
2. One Chromium, one context per session, all driven from this thread (sync Playwright): each session
   logs in and creates its own instance "Carga NN" through the UI. Setup is sequential. Every open
   page asks the store every 3 s whether anything changed (the cards' fragment), so each create
   makes every page signed in so far read the list again.
3. Burst: every session clicks "Conectar" on its own card, then each waits for its QR dialog.
4. For `poll_seconds` the N dialogs poll concurrently (st_autorefresh: a dialog-only rerun every 3 s,
   each asking the sandbox for the status), beside each page's own 3 s check of the cards. An init
   script watches each page's WebSocket: the *tick time* reported (p50/p95/max) runs from the page's
   rerun request (BackMsg rerun_script) to the server's script_finished, as the page's main thread
   sees them. The dialog's ticks and the cards' checks are told apart by the request's
   is_auto_rerun flag (a fragment's run_every); the cards' checks are reported on their own line.
   The app gives up on a QR 120 s after "Conectar": when the burst was so slow that the first
   dialog would get there before its scan, the window is shortened, and the report says so
   ("poll seconds asked / done", a note).
5. Each session plays the phone with its dialog's "Simular leitura do QR" button (the sandbox, in
   the server's process, reads the dialog's latest QR) and must show its own card "Conectada"
   with the phone the sandbox gave (read from the sandbox's state file in APP_DATA_DIR).
6. Errors: server log (Traceback, "Uncaught app exception", ERROR/CRITICAL lines), browser console
   errors and page errors, st.exception elements and error/warning alerts seen at the end of any run.

Also reported: the server process's resident memory (VmRSS) after all sessions logged in, with the
dialogs open, after polling, at the end, and its peak (VmHWM and samples); the CPU used during the
burst and the polling by the server, by the browser side (Chromium, Playwright, this process) and by
everything else on the machine: the browser runs on the same cores as the server, so the tick times
of a loaded machine include waiting for the CPU. Exit status 0 only when every session connected and
nothing went wrong. `run_load()` is the importable entry point (tests/ui/test_load.py).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

from bench.measure import BenchServer, machine_busy_seconds, process_cpu_seconds
from bench.page import POLL_INTERVAL_S
from bench.report import Option, main as bench_main
from harness.browser import (
    DIALOG, IDLE, badge, card, launch_chromium, protocol_numbers, sign_in_by_cookie, with_protocol,
)
from harness.seeding import PASSWORD
from lib.ui.connect_dialog import QR_GIVE_UP_SECONDS
from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright
from playwright.sync_api import Error as PlaywrightError

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "bench" / "load-results.json"
# A connect dialog open longer than QR_GIVE_UP_SECONDS stops polling and shows GIVE_UP_TEXT: the
# burst of N "Conectar" clicks, the polling and the scan must fit in it.
GIVE_UP_TEXT = re.compile(r"O QR Code não foi lido")
MAX_POLL_SECONDS = QR_GIVE_UP_SECONDS - 30
STEP_TIMEOUT_MS = 60_000  # one UI step of one session (a login, a create), generous for a loaded server
CONNECTED_TIMEOUT_S = 15.0  # scan → the dialog notices (polls every 3 s) and closes
# Scanning the N sessions, then one more tick for each to notice (3 s, more under load), all before
# the first dialog gives up: the polling window ends at least BASE + N * PER_SESSION before that.
SCAN_MARGIN_BASE_S = 12.0
SCAN_MARGIN_PER_SESSION_S = 0.6
# A click finds no QR to read when the dialog's last one has expired (a late tick under load did not
# fetch the next in time): the dialog fetches one on its next tick, and the click is tried again.
SCAN_ATTEMPTS = 2

CONNECTED_LINE = re.compile(r"^Conectada desde ")
LOG_ERROR = re.compile(r"Traceback \(most recent call last\)|Uncaught app (exception|execution)|\bERROR\b|\bCRITICAL\b")

# Runs in every page before Streamlit's own scripts. It reads the top-level field of each protobuf
# message on the page's WebSocket and records every script run that answered rerun requests as
# [asked_at|null, auto_at|null, started_at|null, finished_at, status, requests] (epoch ms, as the
# page's main thread sees them) in window.__loadTicks: asked_at is the oldest rerun request not yet
# answered that is not an auto rerun (BackMsg rerun_script; for a dialog tick, st_autorefresh's),
# auto_at the oldest auto rerun of a fragment (ClientState.is_auto_rerun: the cards' 3 s check),
# started_at the server's next new_session, finished_at its script_finished, requests how many
# requests that run answered (> 1: requests queued up; a dialog tick and a check of the cards may
# be answered by one run, which then counts for both). Every rerun request goes to
# window.__loadSends as [time, auto]. Exception elements and error/warning alerts seen
# after each run go to window.__loadProblems (so that an error shown for one tick only is not
# missed). (The page's data-test-script-state attribute is no good for counting: under load React
# batches running → notRunning into one render and the attribute never changes.)
TICK_SCRIPT = r"""
(() => {
  if (window.__loadTicks || !window.WebSocket) return;
  const P = __PROTOCOL__;
  const ticks = [], problems = [], seen = new Set(), sends = [];
  window.__loadTicks = ticks;
  window.__loadSends = sends;
  window.__loadProblems = problems;
  const now = () => performance.timeOrigin + performance.now();
  let pending = [], started = null;

  __PROTOBUF__

  const note = (text) => {
    text = text.replace(/\s+/g, ' ').trim().slice(0, 300);
    if (!seen.has(text)) { seen.add(text); problems.push(text); }
  };
  const scan = () => {
    try {
      for (const el of document.querySelectorAll('[data-testid="stException"]')) note('exception: ' + el.innerText);
      for (const el of document.querySelectorAll('[data-testid="stAlert"]')) {
        const text = el.innerText || '';
        const bad = el.querySelector('[data-testid="stAlertContentError"], [data-testid="stAlertContentWarning"]');
        if (bad || text.includes('Erro') || text.includes('\u26a0')) note('alert: ' + text);
      }
    } catch (e) { note('scan failed: ' + e); }
  };

  const onSend = (bytes) => {
    const rerun = bytes && fields(bytes).find(([field]) => field === P.RERUN_SCRIPT);
    if (!rerun) return;
    const auto = rerun[2] !== undefined && fields(rerun[2]).some(([field, value]) => field === P.IS_AUTO_RERUN && value === 1);
    const t = now();
    sends.push([t, auto ? 1 : 0]);
    pending.push([t, auto]);
  };
  const onMessage = (bytes) => {
    if (!bytes) return;
    const t = now();
    for (const [field, value] of fields(bytes)) {
      if (field === P.NEW_SESSION && started === null) started = t;
      if (field === P.SCRIPT_FINISHED) {
        if (pending.length) {
          const first = (wanted) => (pending.find(([, auto]) => auto === wanted) || [null])[0];
          ticks.push([first(false), first(true), started, t, value, pending.length]);
        }
        pending = []; started = null;
        setTimeout(scan, 300); setTimeout(scan, 1500);  // once the page has applied the run
      }
    }
  };

  hookWebSocket(onSend, onMessage, (where, e) => note(where + ' hook failed: ' + e));
})();
"""


class LoadError(Exception):
    """The run could not go on (a step timed out, the server died...)."""


# -- report -------------------------------------------------------------------------------------
@dataclass
class SessionReport:
    index: int
    email: str
    instance: str
    requests: int = 0  # rerun requests the page sent while polling, auto reruns aside (st_autorefresh's)
    ticks: int = 0  # runs that finished, auto reruns aside (the dialog's ticks)
    tick_ms: list[float] = field(default_factory=list)
    card_checks: int = 0  # runs of the cards' 3 s check (auto reruns of their fragment) that finished
    card_check_ms: list[float] = field(default_factory=list)
    interval_ms: list[float] = field(default_factory=list)  # between consecutive rerun requests (the page's timer)
    queued_ticks: int = 0  # runs that answered more than one rerun request (requests queued up)
    interrupted_ticks: int = 0  # runs stopped early for a newer rerun
    scanned_phone: str | None = None  # the phone the sandbox gave when the QR was read
    scan_clicks: int = 0
    connected: bool = False  # the session shows its own card connected, with the scanned phone
    problems: list[str] = field(default_factory=list)


@dataclass
class LoadReport:
    sessions: int
    poll_seconds: float
    poll_seconds_effective: float | None = None  # less when a slow connect burst leaves less time (see notes)
    work_dir: str = ""
    notes: list[str] = field(default_factory=list)
    per_session: list[SessionReport] = field(default_factory=list)
    rss_mb: dict[str, float | None] = field(default_factory=dict)
    rss_samples: list[float] = field(default_factory=list)  # server VmRSS about every second while polling
    cpu: dict[str, dict[str, float]] = field(default_factory=dict)  # per phase, see CpuMeter
    phase_seconds: dict[str, float] = field(default_factory=dict)
    server_log_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)  # console errors, page errors, alerts, exceptions
    failures: list[str] = field(default_factory=list)  # steps that failed (a session not connected...)

    # ---- derived
    @property
    def tick_ms(self) -> list[float]:
        return [value for s in self.per_session for value in s.tick_ms]

    @property
    def card_check_ms(self) -> list[float]:
        return [value for s in self.per_session for value in s.card_check_ms]

    @property
    def interval_ms(self) -> list[float]:
        return [value for s in self.per_session for value in s.interval_ms]

    @property
    def ticks_per_session(self) -> list[int]:
        return [s.ticks for s in self.per_session]

    @property
    def connected_ok(self) -> int:
        return sum(1 for s in self.per_session if s.connected)

    @property
    def errors(self) -> list[str]:
        return self.failures + self.server_log_errors + self.page_errors

    @property
    def ok(self) -> bool:
        return not self.errors and self.connected_ok == self.sessions == len(self.per_session)

    def summary(self) -> dict:
        ticks = self.ticks_per_session
        requests = [s.requests for s in self.per_session]
        return {
            "ok": self.ok,
            "sessions": self.sessions,
            "poll_seconds": self.poll_seconds,
            "requests_per_session_min": min(requests) if requests else 0,
            "requests_per_session_median": statistics.median(requests) if requests else 0,
            "ticks_per_session_min": min(ticks) if ticks else 0,
            "ticks_per_session_median": statistics.median(ticks) if ticks else 0,
            "poll_seconds_effective": self.poll_seconds_effective,
            "ticks_expected_per_session": round((self.poll_seconds_effective or self.poll_seconds) / POLL_INTERVAL_S, 1),
            "tick_ms_p50": percentile(self.tick_ms, 50),
            "tick_ms_p95": percentile(self.tick_ms, 95),
            "tick_ms_max": max(self.tick_ms) if self.tick_ms else None,
            "card_checks_per_session_median": statistics.median(s.card_checks for s in self.per_session)
            if self.per_session else 0,
            "card_check_ms_p50": percentile(self.card_check_ms, 50),
            "card_check_ms_p95": percentile(self.card_check_ms, 95),
            "scan_retries": sum(max(s.scan_clicks - 1, 0) for s in self.per_session),
            "request_interval_ms_p50": percentile(self.interval_ms, 50),
            "request_interval_ms_p95": percentile(self.interval_ms, 95),
            "queued_ticks": sum(s.queued_ticks for s in self.per_session),
            "interrupted_ticks": sum(s.interrupted_ticks for s in self.per_session),
            "rss_mb": self.rss_mb,
            "connected_ok": self.connected_ok,
            "errors": len(self.errors),
            "phase_seconds": self.phase_seconds,
        }

    def to_json(self) -> dict:
        data = asdict(self)
        data["summary"] = self.summary()
        data["errors"] = self.errors
        return data

    def table(self) -> str:
        s = self.summary()
        rss = self.rss_mb

        def ms(value):
            return "—" if value is None else f"{value:.0f} ms"

        def mb(key):
            value = rss.get(key)
            return "—" if value is None else f"{value:.0f} MB"

        rows = [
            ("sessions", f"{self.sessions}"),
            ("poll seconds (asked / done)", f"{self.poll_seconds:g} / {self.poll_seconds_effective or 0:g}"),
            ("rerun requests per session (min / median)",
             f"{s['requests_per_session_min']} / {s['requests_per_session_median']:g}"),
            ("ticks per session (min / median / expected)",
             f"{s['ticks_per_session_min']} / {s['ticks_per_session_median']:g} / ~{s['ticks_expected_per_session']:g}"),
            ("tick time p50 / p95 / max", f"{ms(s['tick_ms_p50'])} / {ms(s['tick_ms_p95'])} / {ms(s['tick_ms_max'])}"),
            ("cards' checks per session (median), time p50 / p95",
             f"{s['card_checks_per_session_median']:g}, {ms(s['card_check_ms_p50'])} / {ms(s['card_check_ms_p95'])}"),
            ("interval between rerun requests p50 / p95",
             f"{ms(s['request_interval_ms_p50'])} / {ms(s['request_interval_ms_p95'])}"),
            ("ticks answering queued requests / interrupted",
             f"{s['queued_ticks']} / {s['interrupted_ticks']} of {len(self.tick_ms)}"),
            ("server RSS after login / dialogs open", f"{mb('after_login')} / {mb('dialogs_open')}"),
            ("server RSS after polling / end / peak", f"{mb('after_polling')} / {mb('end')} / {mb('peak')}"),
            ("sessions connected OK (scan clicks tried again)", f"{self.connected_ok} / {self.sessions} ({s['scan_retries']})"),
            ("errors (server log / pages / failures)",
             f"{len(self.server_log_errors)} / {len(self.page_errors)} / {len(self.failures)}"),
            *[(f"CPU while {phase.replace('_', ' ')} (% of one core)",
               f"server {c['server_pct_of_one_core']:.0f}, browser {c['browser_pct_of_one_core']:.0f}, "
               f"others {c['others_pct_of_one_core']:.0f}; machine {c['machine_busy_pct_of_all_cores']:.0f}% busy "
               f"({c['cores']} cores)") for phase, c in self.cpu.items()],
            ("phases (s)", ", ".join(f"{k} {v:.0f}" for k, v in self.phase_seconds.items())),
            ("result", "OK" if self.ok else "FAILED"),
        ]
        width = max(len(label) for label, _ in rows)
        lines = [f"{label.ljust(width)}  {value}" for label, value in rows]
        lines += [f"  note: {note}" for note in self.notes]
        for error in self.errors[:30]:
            lines.append(f"  error: {error}")
        if len(self.errors) > 30:
            lines.append(f"  ... and {len(self.errors) - 30} more (see the JSON)")
        return "\n".join(lines)


def percentile(values: list[float], pct: float) -> float | None:
    """Linear interpolation between closest ranks (numpy's default); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = (len(ordered) - 1) * pct / 100.0
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


# -- server -------------------------------------------------------------------------------------
def _proc_stat(pid: int) -> list[str] | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def _descendants(root: int) -> set[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (fields := _proc_stat(int(entry.name))):
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    found, todo = set(), [root]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


class CpuMeter:
    """CPU used during a phase by the server, by the browser (this process, the Playwright driver and
    Chromium: everything else this process started) and by the whole machine (so other load shows)."""

    def __init__(self, server_pid: int):
        self.server_pid = server_pid
        self.start = self._sample()

    def _sample(self) -> tuple[float, float, float, float, float]:
        browser = sum(process_cpu_seconds(pid) or 0.0
                      for pid in (os.getpid(), *_descendants(os.getpid())) if pid != self.server_pid)
        busy, total = machine_busy_seconds()
        return time.monotonic(), process_cpu_seconds(self.server_pid) or 0.0, browser, busy, total

    def stop(self) -> dict[str, float]:
        end = self._sample()
        wall, server, browser, busy, total = (b - a for a, b in zip(self.start, end))
        cores = os.cpu_count() or 1
        wall = max(wall, 1e-6)
        return {
            "cores": cores,
            "server_pct_of_one_core": round(100 * server / wall, 1),
            "browser_pct_of_one_core": round(100 * browser / wall, 1),
            "machine_busy_pct_of_all_cores": round(100 * busy / max(total, 1e-6), 1),
            "others_pct_of_one_core": round(100 * max(busy - server - browser, 0) / wall, 1),
        }


def log_errors(text: str) -> list[str]:
    return [line.strip()[:300] for line in text.splitlines() if LOG_ERROR.search(line)]


def create_admins(data_dir: Path, count: int) -> list[str]:
    """Admin accounts admin00@example.com... written straight into the SQLite file the app will use."""
    from lib.store.sqlite.database import SQLiteDatabase
    from lib.auth.accounts import LocalAccounts

    accounts = LocalAccounts(SQLiteDatabase.in_dir(data_dir))
    emails = [f"admin{i:02d}@example.com" for i in range(count)]
    for email in emails:
        accounts.add(email, PASSWORD, "admin")
    return emails


# -- browser steps ------------------------------------------------------------------------------
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


# -- the run ------------------------------------------------------------------------------------
def run_load(
    sessions: int = 20,
    poll_seconds: float = 60.0,
    *,
    work_dir: Path | str | None = None,
    progress: Callable[[str], None] | None = print,
    browser: Browser | None = None,
    by_cookie: bool = False,
) -> LoadReport:
    """Start the app, drive `sessions` admin sessions through create → connect → poll `poll_seconds`
    → scan, and return what was measured. Never raises for a failed step: it is in report.failures.
    `work_dir` keeps the server log, data and failure screenshots (default: a temp dir, removed when
    the run is OK). `browser`: the Chromium to open the sessions in (default: one of the run's own).
    `by_cookie`: each session starts signed in (harness.browser.sign_in_by_cookie), not through the
    login form."""
    if not 1 <= sessions <= 100:
        raise ValueError("sessions must be between 1 and 100")
    if not 0 < poll_seconds <= MAX_POLL_SECONDS:
        raise ValueError(f"poll_seconds must be in (0, {MAX_POLL_SECONDS:g}]: "
                         f"the dialog gives up on a QR after {QR_GIVE_UP_SECONDS:g} s")
    say = progress or (lambda message: None)
    own_dir = work_dir is None
    work = Path(tempfile.mkdtemp(prefix="whatsapp-load-")) if own_dir else Path(work_dir)
    work.mkdir(parents=True, exist_ok=True)
    report = LoadReport(sessions=sessions, poll_seconds=poll_seconds, work_dir=str(work))
    data_dir = work / "data"
    if data_dir.exists():
        raise ValueError(f"{data_dir} exists: give a fresh work directory")
    emails = create_admins(data_dir, sessions)
    report.per_session = [
        SessionReport(index=i, email=email, instance=f"Carga {i:02d}") for i, email in enumerate(emails)
    ]
    server = BenchServer(work, instrumented=False)
    started = time.monotonic()
    try:
        server.start()
        report.phase_seconds["server_start"] = round(time.monotonic() - started, 1)
        say(f"server up on {server.url} (pid {server.process.pid}, log {server.log_path})")
        if browser is not None:
            _drive(browser, server, report, say, by_cookie)
        else:
            with sync_playwright() as playwright:
                own = launch_chromium(playwright)
                try:
                    _drive(own, server, report, say, by_cookie)
                finally:
                    own.close()
        report.rss_mb["end"] = server.memory_mb()
        # VmHWM is updated lazily by the kernel: take the highest of it and every sample
        samples = [v for v in [*report.rss_mb.values(), *report.rss_samples, server.memory_mb("VmHWM")] if v is not None]
        report.rss_mb["peak"] = max(samples) if samples else None
        if not server.alive():
            report.failures.append("the streamlit process died")
    except (LoadError, PlaywrightError, RuntimeError) as exc:  # the server or the browser did not start
        report.failures.append(first_line(exc))
    finally:
        log_text = server.log()
        server.stop()
    report.server_log_errors = log_errors(log_text)
    report.phase_seconds["total"] = round(time.monotonic() - started, 1)
    if report.ok and own_dir:
        shutil.rmtree(work, ignore_errors=True)
    elif not report.ok:
        say(f"kept {work} (server log, data, screenshots)")
    return report


def _drive(browser: Browser, server: BenchServer, report: LoadReport, say: Callable[[str], None],
           by_cookie: bool) -> None:
    work = Path(report.work_dir)
    sessions: list[Session] = []
    step = "opening the browser contexts"
    try:
        for session_report in report.per_session:
            sessions.append(open_session(browser, session_report, report.page_errors))

        step = "logging in"
        t = time.monotonic()
        for session in sessions:
            if by_cookie:
                sign_in_by_cookie(session.page, server, session.report.email)
            else:
                log_in(session, server.url)
        report.phase_seconds["login"] = round(time.monotonic() - t, 1)
        report.rss_mb["after_login"] = server.memory_mb()
        say(f"{len(sessions)} sessions logged in in {report.phase_seconds['login']:.0f} s; server RSS {report.rss_mb['after_login']} MB")

        step = "creating the instances"
        t = time.monotonic()
        for session in sessions:
            create_instance(session)
        report.phase_seconds["create"] = round(time.monotonic() - t, 1)
        say(f"{len(sessions)} instances created in {report.phase_seconds['create']:.0f} s")

        step = "opening the connect dialogs"
        t = time.monotonic()
        meter = CpuMeter(server.process.pid)
        for session in sessions:
            click_connect(session)
        for session in sessions:
            wait_connect_dialog(session)
        report.phase_seconds["connect_burst"] = round(time.monotonic() - t, 1)
        report.cpu["connect_burst"] = meter.stop()
        report.rss_mb["dialogs_open"] = server.memory_mb()
        # The app gives up on a QR QR_GIVE_UP_SECONDS after "Conectar" and then stops polling: the oldest
        # dialog must be scanned, and must notice it, before that. A slow burst shortens the window.
        poll_start = time.monotonic()
        end = min(poll_start + report.poll_seconds,
                  min(session.clicked_at for session in sessions) + QR_GIVE_UP_SECONDS - SCAN_MARGIN_BASE_S - SCAN_MARGIN_PER_SESSION_S * len(sessions))
        report.poll_seconds_effective = round(max(end - poll_start, 0), 1)
        say(f"{len(sessions)} connect dialogs open in {report.phase_seconds['connect_burst']:.0f} s; "
            f"polling for {report.poll_seconds_effective:g} s")
        if report.poll_seconds_effective < report.poll_seconds:
            report.notes.append(
                f"polling window shortened from {report.poll_seconds:g} s to {report.poll_seconds_effective:g} s: "
                f"the connect burst took {report.phase_seconds['connect_burst']:.0f} s and the app gives up on a QR "
                f"{QR_GIVE_UP_SECONDS:g} s after \"Conectar\"")
            say(f"  note: {report.notes[-1]}")
            if report.poll_seconds_effective < 2 * POLL_INTERVAL_S:
                raise LoadError(f"no time left to poll: {report.notes[-1]}")

        step = "polling"
        meter = CpuMeter(server.process.pid)
        start_ms = time.time() * 1000
        next_note = time.monotonic() + 15
        while (left := end - time.monotonic()) > 0:
            sessions[0].page.wait_for_timeout(min(1_000, left * 1000))  # keeps Playwright's events flowing
            if not server.alive():
                raise LoadError("the streamlit process died while polling")
            if (rss := server.memory_mb()) is not None:
                report.rss_samples.append(rss)
            if time.monotonic() >= next_note and left > 5:
                next_note += 15
                say(f"  polling… {time.monotonic() - poll_start:.0f} s, server RSS {server.memory_mb()} MB")
        end_ms = time.time() * 1000
        report.cpu["polling"] = meter.stop()
        for session in sessions:
            collect_ticks(session, start_ms, end_ms)
        report.rss_mb["after_polling"] = server.memory_mb()

        step = "scanning"
        t = time.monotonic()
        scan_failures = scan_and_verify(sessions, server.data_dir)
        for session in sessions:
            if session.report.index in scan_failures:
                why = scan_failures[session.report.index]
                if session.page.get_by_text(GIVE_UP_TEXT).count():
                    why += (f"; the dialog gave up on its QR (open {time.monotonic() - session.clicked_at:.0f} s; "
                            f"the app gives up {QR_GIVE_UP_SECONDS:g} s after \"Conectar\")")
                report.failures.append(f"{session.label}: not seen connected: {why}")
                _screenshot(session, work)
        report.phase_seconds["scan_verify"] = round(time.monotonic() - t, 1)
    except (LoadError, AssertionError, PlaywrightError) as exc:
        report.failures.append(f"while {step}: {first_line(exc)}")
        for session in sessions:
            _screenshot(session, work)
    finally:
        for session in sessions:
            report.page_errors.extend(collect_problems(session))
            session.context.close()


def first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _screenshot(session: Session, work: Path) -> None:
    try:
        session.page.screenshot(path=str(work / f"session-{session.report.index:02d}.png"), full_page=True, timeout=10_000)
    except PlaywrightError:
        pass


# -- command line -------------------------------------------------------------------------------
def run_cli(sessions: int, poll_seconds: float, out: Path, work_dir: Path | None) -> dict:
    """What `python -m bench.load` runs: run_load, its full report written to `out` as JSON."""
    report = run_load(sessions, poll_seconds, work_dir=work_dir)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report.to_json(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return {"ok": report.ok, "table": report.table(), "out": str(out)}


def main(argv: list[str] | None = None) -> int:
    return bench_main(
        argv, "load", __doc__, run_cli, lambda args, result: ["", result["table"], "", f"results: {result['out']}"],
        Option("--sessions", 20, "concurrent admin sessions"),
        Option("--poll-seconds", 60.0, f"how long every connect dialog polls before the scan (max {MAX_POLL_SECONDS:g})"),
        Option("--out", DEFAULT_OUT, "JSON results", type=Path),
        Option("--work-dir", None, "keep the server log and data here", type=Path),
        save=False,  # its own file: bench.run_all keeps what it needs under "memory"
    )


if __name__ == "__main__":
    sys.exit(main())
