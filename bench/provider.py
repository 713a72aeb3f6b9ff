"""The sandbox provider as the benchmarks need it: counting status calls, with per-instance faults,
in this process or in its own (as a real provider would be: its threads then don't compete with
the app's for the GIL).

    .venv/bin/python -m bench.provider --port 8765 --latency-ms 100 --fail NAME --slow NAME=1.5

Faults are given by instance name: a failing instance answers HTTP 500 to status calls, a slow one
answers that many seconds late (on top of latency_ms).
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path
from typing import Iterator

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from harness.server import free_port, stop_process  # noqa: E402
from lib.config.provider import WebhookSettings  # noqa: E402
from lib.provider.sandbox.provider import SandboxProvider  # noqa: E402
from lib.provider.sandbox.server import HttpError  # noqa: E402  (for the bench's faults)


class BenchSandbox(SandboxProvider):
    def __init__(self, *, failing: set[str] = frozenset(), slow: dict[str, float] | None = None, **kwargs):
        super().__init__(**kwargs)
        self.failing = set(failing)  # instance names
        self.slow = dict(slow or {})  # instance name -> extra seconds
        self.status_log: list[tuple[float, str]] = []  # (epoch seconds answered, instance_id) per status call
        self._count_lock = threading.Lock()

    @property
    def status_calls(self) -> int:
        return len(self.status_log)

    def status_times(self, instance_id: str | None = None, after: float = 0.0) -> list[float]:
        """When status calls (for `instance_id`, or any) were answered after `after` (epoch s)."""
        with self._count_lock:
            return [t for t, i in self.status_log if t > after and (instance_id is None or i == instance_id)]

    def _status(self, query):
        instance_id = query.get("instance_id") or ""
        with self._lock:
            instance = self._instances.get(instance_id)
            name = instance.name if instance else None
        try:
            if name in self.slow:
                self._sleep(self.slow[name])
            if name in self.failing:
                raise HttpError(500, "simulated provider failure")
            return super()._status(query)
        finally:
            with self._count_lock:
                self.status_log.append((time.time(), instance_id))

    def scan(self, instance_id: str) -> None:
        """Play the phone: GET the URL in the instance's latest QR; raises unless it connected."""
        url = self.scan_url(instance_id)
        if url is None:
            raise RuntimeError(f"{instance_id}: no QR issued yet")
        with urllib.request.urlopen(url, timeout=10) as response:
            if response.status != 200:
                raise RuntimeError(f"{instance_id}: scan answered HTTP {response.status}")


@contextlib.contextmanager
def provider_process(*, latency_ms: int = 0, auto_scan_seconds: float | None = None,
                     failing: tuple[str, ...] = (), slow: dict[str, float] | None = None) -> Iterator[WebhookSettings]:
    """A BenchSandbox in a child process; yields the webhook settings that reach it."""
    port = free_port()
    command = [sys.executable, "-m", "bench.provider", "--port", str(port), "--latency-ms", str(latency_ms)]
    if auto_scan_seconds is not None:
        command += ["--auto-scan-seconds", str(auto_scan_seconds)]
    for name in failing:
        command += ["--fail", name]
    for name, seconds in (slow or {}).items():
        command += ["--slow", f"{name}={seconds}"]
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        if process.stdout.readline().strip() != "ready":
            raise RuntimeError("the provider process did not start")
        yield WebhookSettings.at(f"http://127.0.0.1:{port}")
    finally:
        stop_process(process, 10)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.provider", description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--latency-ms", type=int, default=0)
    parser.add_argument("--auto-scan-seconds", type=float, default=None)
    parser.add_argument("--fail", action="append", default=[], metavar="NAME")
    parser.add_argument("--slow", action="append", default=[], metavar="NAME=SECONDS")
    args = parser.parse_args(argv)
    slow = {name: float(seconds) for name, seconds in (item.rsplit("=", 1) for item in args.slow)}
    provider = BenchSandbox(port=args.port, latency_ms=args.latency_ms, auto_scan_seconds=args.auto_scan_seconds,
                            failing=set(args.fail), slow=slow).start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    print("ready", flush=True)
    try:
        stop.wait(timeout=3600)  # bounded: never outlives a forgotten parent by more than an hour
    except KeyboardInterrupt:
        pass
    provider.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
