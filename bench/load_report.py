"""The load run's report (bench.load): what each session measured, and the whole run's figures,
table and JSON."""

from __future__ import annotations

import statistics
from dataclasses import asdict, dataclass, field

from bench.page import POLL_INTERVAL_S


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
