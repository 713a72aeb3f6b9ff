"""A small run of the load benchmark (bench/load.py) in `make test`: the real server (`streamlit run
server.py`: the status monitor and the routes too) on the embedded default, 5 admin sessions in one
headless Chromium (signed in by cookie: the login form has tests of its own), each creating its own instance and keeping its connect dialog polling for 9 s
beside the cards' own check (every tick), then each QR read with the dialog's "Simular leitura do QR".

No timing assertions: the tick times are printed (pytest -s) for information only; `make load`
runs the heavy version (20 sessions, 60 s). Needs Debian's Chromium at /usr/bin/chromium.
"""

from __future__ import annotations

from bench import load
from bench.load import POLL_INTERVAL_S, run_load

SESSIONS = 5
POLL_SECONDS = 9  # three ticks at the app's 3 s


def test_the_benchmark_runs_on_the_apps_own_dialog_timings():
    """bench/load.py imports the connect dialog's timings from lib (no copies): a dialog polls every
    3 s and gives up 2 minutes after "Conectar", so the polling window asked here fits before that."""
    assert POLL_INTERVAL_S == 3
    assert load.QR_GIVE_UP_SECONDS == 120 and load.MAX_POLL_SECONDS == 90
    assert POLL_SECONDS < load.MAX_POLL_SECONDS


def test_concurrent_admin_sessions_each_connect_their_own_instance(browser, tmp_path):
    report = run_load(sessions=SESSIONS, poll_seconds=POLL_SECONDS, work_dir=tmp_path, browser=browser, by_cookie=True)
    print(report.table())
    details = f"\n{report.table()}\nserver log and screenshots in {tmp_path}"

    assert not report.failures, details
    assert len(report.per_session) == SESSIONS
    for session in report.per_session:
        assert session.connected, f"{session.instance} not seen connected by {session.email}{details}"
        assert session.scanned_phone, details
    # Each session saw its own instance with a phone of its own.
    assert len({session.scanned_phone for session in report.per_session}) == SESSIONS, details
    assert report.server_log_errors == [], details
    assert report.page_errors == [], details
    # The dialogs really polled, concurrently, all along (one tick every POLL_INTERVAL_S).
    assert POLL_SECONDS / POLL_INTERVAL_S >= 2
    for session in report.per_session:
        assert session.ticks >= 2, f"{session.instance}: {session.ticks} ticks in {POLL_SECONDS} s{details}"
        assert session.card_checks >= 2, f"{session.instance}: {session.card_checks} checks of the cards{details}"
    assert report.ok, details
