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
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

from bench.load_report import LoadReport, SessionReport
from bench.load_session import (
    LoadError, Session, click_connect, collect_problems, collect_ticks, create_instance, first_line, log_in,
    open_session, scan_and_verify, wait_connect_dialog,
)
from bench.measure import BenchServer, CpuMeter
from bench.page import POLL_INTERVAL_S
from bench.report import Option, main as bench_main
from harness.browser import launch_chromium, sign_in_by_cookie
from harness.seeding import PASSWORD
from lib.ui.connect_dialog import QR_GIVE_UP_SECONDS
from playwright.sync_api import Browser, sync_playwright
from playwright.sync_api import Error as PlaywrightError

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "bench" / "load-results.json"
# A connect dialog open longer than QR_GIVE_UP_SECONDS stops polling and shows GIVE_UP_TEXT: the
# burst of N "Conectar" clicks, the polling and the scan must fit in it.
GIVE_UP_TEXT = re.compile(r"O QR Code não foi lido")
MAX_POLL_SECONDS = QR_GIVE_UP_SECONDS - 30
# Scanning the N sessions, then one more tick for each to notice (3 s, more under load), all before
# the first dialog gives up: the polling window ends at least BASE + N * PER_SESSION before that.
SCAN_MARGIN_BASE_S = 12.0
SCAN_MARGIN_PER_SESSION_S = 0.6
LOG_ERROR = re.compile(r"Traceback \(most recent call last\)|Uncaught app (exception|execution)|\bERROR\b|\bCRITICAL\b")


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