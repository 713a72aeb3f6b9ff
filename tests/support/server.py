"""The real server for tests: `streamlit run server.py` on a free loopback port, with its own data
folder and nothing of the developer's configuration (embedded default unless told otherwise)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Mapping

import pytest

from bench.common import CONFIG_ENV_PREFIXES, free_port, healthy, stop_process

ROOT = Path(__file__).resolve().parents[2]
HEALTH_TIMEOUT_S = 60


@dataclass
class RunningServer:
    url: str
    data_dir: Path
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")


@contextmanager
def streamlit_server(data_dir: Path, env: Mapping[str, str] | None = None) -> Iterator[RunningServer]:
    """Start the server, wait until Streamlit answers its health check, stop it at the end (the
    log is printed then, for failures)."""
    port = free_port()
    data_dir.mkdir(parents=True, exist_ok=True)
    process_env = {k: v for k, v in os.environ.items() if not k.startswith(CONFIG_ENV_PREFIXES)}
    process_env.update({
        "APP_DATA_DIR": str(data_dir),
        "APP_SECRETS_FILE": str(data_dir / "no-secrets.toml"),  # ignore a developer's secrets
        "PYTHONUNBUFFERED": "1",
        **(env or {}),
    })
    log_path = data_dir.parent / f"streamlit-{port}.log"
    command = [
        sys.executable, "-m", "streamlit", "run", "server.py",
        "--server.port", str(port),
        "--server.address", "127.0.0.1",
        "--server.headless", "true",
        "--browser.gatherUsageStats", "false",
    ]
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(command, cwd=ROOT, env=process_env, stdout=log_file, stderr=subprocess.STDOUT)
        server = RunningServer(f"http://127.0.0.1:{port}", data_dir, log_path)
        try:
            deadline = time.monotonic() + HEALTH_TIMEOUT_S
            while not healthy(f"{server.url}/_stcore/health"):
                if process.poll() is not None:
                    pytest.fail(f"streamlit exited with {process.returncode}:\n{server.log()}")
                if time.monotonic() > deadline:
                    pytest.fail(f"streamlit not healthy after {HEALTH_TIMEOUT_S} s:\n{server.log()}")
                time.sleep(0.25)
            yield server
        finally:
            stop_process(process)
            print(f"--- streamlit log ({log_path}) ---\n{server.log()}")
