"""What the benchmarks measure a server with: CPU and memory from /proc, and the app's server run
under bench.instrumented, which records each script run and the calls made outside any."""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

from harness.server import AppServer


def _proc_stat(pid: int) -> list[str] | None:
    """The fields of /proc/PID/stat after the command's name (which may hold spaces and
    parentheses), the parent's pid first; None when the process is gone."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def process_cpu_seconds(pid: int) -> float | None:
    """utime + stime of a process so far (from /proc/PID/stat), None when it is gone."""
    fields = _proc_stat(pid)
    return None if fields is None else (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def process_memory_mb(pid: int, key: str = "VmRSS") -> float | None:
    """A memory figure of /proc/PID/status (VmRSS, VmHWM...) in MB, None when it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(f"{key}:"):
                return round(int(line.split()[1]) / 1024, 1)
    except (OSError, ValueError, IndexError):
        return None
    return None


def machine_busy_seconds() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot, all cores (from /proc/stat)."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + (values[4] if len(values) > 4 else 0)  # idle + iowait
    ticks = os.sysconf("SC_CLK_TCK")
    return (sum(values[:8]) - idle) / ticks, sum(values[:8]) / ticks


@dataclass
class BenchServer(AppServer):
    """harness.server.AppServer that reports its CPU and memory. With `instrumented` it runs under
    bench.instrumented: each script run is appended to events.jsonl (see runs()), calls made outside
    any run (the monitor, provider events) are counted in background.json (see background())."""

    instrumented: bool = True

    def __post_init__(self):
        super().__post_init__()
        self.events_path = self.work_dir / "events.jsonl"
        self.background_path = self.work_dir / "background.json"
        if self.instrumented:
            self.runner = "bench.instrumented"

    def environment(self) -> dict[str, str]:
        env = super().environment()
        env.update(BENCH_EVENTS=str(self.events_path), BENCH_BACKGROUND=str(self.background_path))
        return env

    def cpu_seconds(self) -> float | None:
        return process_cpu_seconds(self.process.pid) if self.alive() else None

    def memory_mb(self, key: str = "VmRSS") -> float | None:
        return process_memory_mb(self.process.pid, key) if self.alive() else None

    def runs(self, since: float = 0.0) -> list[dict]:
        """Script runs recorded by bench.instrumented that started at or after `since` (epoch s)."""
        if not self.events_path.exists():
            return []
        runs = [json.loads(line) for line in self.events_path.read_text(encoding="utf-8").splitlines() if line]
        return [r for r in runs if r["start"] >= since]

    def background(self) -> dict[str, int]:
        """Calls made outside any script run so far, by label (bench.instrumented writes them
        every half second: wait that long after the calls before asking)."""
        if not self.background_path.exists():
            return {}
        return json.loads(self.background_path.read_text(encoding="utf-8"))["calls"]


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
