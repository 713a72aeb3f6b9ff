"""The product as `make run` starts it, for tests and benchmarks: `streamlit run server.py` (app.py,
the routes of lib/api.py and the status monitor in its lifespan) on a free loopback port, with its
own data dir and nothing of the developer's configuration."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, Mapping

from harness.seeding import ADMIN_EMAIL, add_account
from lib.config.provider import WEBHOOK_ACTIONS, WebhookSettings
from lib.store.sqlite.database import SQLiteDatabase

ROOT = Path(__file__).resolve().parent.parent
# Variables that would switch the app away from the embedded default (see lib/config/settings.py,
# lib/provider/sandbox/shared.py) or change its monitor and events.
CONFIG_ENV_PREFIXES = ("PROVIDER", "WEBHOOK_", "SUPABASE_", "SANDBOX_", "STREAMLIT_", "MONITOR_", "EVENTS_", "APP_")
HEALTH_TIMEOUT_S = 60


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def stop_process(process: subprocess.Popen, timeout: float = 15) -> None:
    """Terminate, and kill if it does not exit in time."""
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=timeout)


def healthy(url: str) -> bool:
    """Streamlit's health endpoint answers ok."""
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200 and response.read().strip() == b"ok"
    except (urllib.error.URLError, OSError):
        return False


def scrubbed_environ() -> dict[str, str]:
    """This process's environment without anything that configures the app."""
    return {k: v for k, v in os.environ.items() if not k.startswith(CONFIG_ENV_PREFIXES)}


def run_streamlit() -> None:
    """`streamlit` with this process's arguments: how a runner module (AppServer.runner) that has
    patched something ends its main()."""
    from streamlit.web import cli

    sys.argv = ["streamlit", *sys.argv[1:]]
    cli.main(prog_name="streamlit")


@dataclass
class AppServer:
    """`streamlit run server.py` on a free loopback port, with its own data dir: webhooks pointed at
    `webhooks`, or the embedded sandbox when None; `env` adds settings (MONITOR_INTERVAL_SECONDS...).
    `runner` is the module that runs it (`python -m streamlit run ...`; bench.instrumented
    instruments it), `script` what it runs (another app file: the benchmarks' one-line page). A
    context manager: the process is always stopped. Raises RuntimeError, with the log, when it does
    not start."""

    work_dir: Path
    webhooks: WebhookSettings | None = None
    env: dict[str, str] = field(default_factory=dict)
    data_dir: Path | None = None  # default: work_dir / "data"
    runner: str = "streamlit"
    script: str = "server.py"
    process: subprocess.Popen | None = None

    def __post_init__(self):
        self.data_dir = self.data_dir or self.work_dir / "data"
        self.port = free_port()
        self.log_path = self.work_dir / f"streamlit-{self.port}.log"
        self.url = f"http://127.0.0.1:{self.port}"
        self.database = SQLiteDatabase.in_dir(self.data_dir)

    def add_user(self, email: str = ADMIN_EMAIL, role: str = "admin") -> str:
        """An account in the server's data dir, with harness.seeding's PASSWORD."""
        return add_account(self.database, email, role)

    def environment(self) -> dict[str, str]:
        env = scrubbed_environ()
        if self.webhooks is not None:
            env.update({f"WEBHOOK_{a.upper()}_URL": self.webhooks.url_for(a) for a in WEBHOOK_ACTIONS})
        env.update(APP_DATA_DIR=str(self.data_dir), APP_SECRETS_FILE=str(self.work_dir / "no-secrets.toml"),
                   PYTHONUNBUFFERED="1")
        env.update(self.env)  # may point APP_SECRETS_FILE at a secrets file of the caller's
        return env

    def start(self) -> "AppServer":
        command = [sys.executable, "-m", self.runner, "run", self.script,
                   "--server.port", str(self.port), "--server.address", "127.0.0.1",
                   "--server.headless", "true",
                   "--server.fileWatcherType", "none",  # others' edits must not reload the app mid-run
                   "--browser.gatherUsageStats", "false"]
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(command, cwd=ROOT, env=self.environment(), stdout=log,
                                            stderr=subprocess.STDOUT)
        deadline = time.monotonic() + HEALTH_TIMEOUT_S
        while not healthy(f"{self.url}/_stcore/health"):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"streamlit did not start:\n{self.log()}")
            time.sleep(0.2)
        return self

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            stop_process(process, 15)

    def __enter__(self) -> "AppServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace") if self.log_path.exists() else ""


@contextmanager
def running_server(data_dir: Path, env: Mapping[str, str] | None = None) -> Iterator[AppServer]:
    """For tests: the server on `data_dir` (its work dir is the parent), until the end of the
    block; its log is printed then, for failures."""
    data_dir.mkdir(parents=True, exist_ok=True)
    server = AppServer(data_dir.parent, env=dict(env or {}), data_dir=data_dir)
    try:
        with server:
            yield server
    finally:
        print(f"--- streamlit log ({server.log_path}) ---\n{server.log()}")
