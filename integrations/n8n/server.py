"""A real n8n, headless, for `make n8n-check`: its own data folder in a temporary directory,
loopback ports of its own (the web server and the task runners' broker), nothing phoned home,
the workflow imported and published before it starts (what `n8n import:workflow`,
`n8n publish:workflow` and a restart do to a running n8n), stopped with its task runner."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import requests

from harness.server import free_port

READY_SECONDS = 180  # a cold start on a busy 2-core machine
QUIET = {  # no telemetry, no version or template look-ups, no banners
    "N8N_DIAGNOSTICS_ENABLED": "false",
    "N8N_VERSION_NOTIFICATIONS_ENABLED": "false",
    "N8N_TEMPLATES_ENABLED": "false",
    "N8N_PERSONALIZATION_ENABLED": "false",
    "N8N_HIRING_BANNER_ENABLED": "false",
    "N8N_ENFORCE_SETTINGS_FILE_PERMISSIONS": "true",
}


class N8n:
    def __init__(self, executable: Path, evolution_url: str, evolution_key: str):
        self.executable = executable
        self.folder = Path(tempfile.mkdtemp(prefix="n8n-check-"))
        self.port = free_port()
        broker = free_port()
        while broker == self.port:
            broker = free_port()
        self.env = {
            **os.environ, **QUIET,
            "N8N_USER_FOLDER": str(self.folder),
            "N8N_LISTEN_ADDRESS": "127.0.0.1", "N8N_HOST": "127.0.0.1", "N8N_PORT": str(self.port),
            "N8N_RUNNERS_BROKER_LISTEN_ADDRESS": "127.0.0.1", "N8N_RUNNERS_BROKER_PORT": str(broker),
            "N8N_BLOCK_ENV_ACCESS_IN_NODE": "false",
            "EVOLUTION_API_URL": evolution_url, "EVOLUTION_API_KEY": evolution_key,
        }
        self.log_path = self.folder / "n8n.log"
        self._process: subprocess.Popen | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def command(self, *args: str, expect: str) -> None:
        """One n8n command line; RuntimeError with its output's tail unless it says `expect`
        (n8n's commands log their errors and may still exit 0)."""
        done = subprocess.run([str(self.executable), *args], env=self.env, capture_output=True, text=True,
                              timeout=300)
        output = done.stdout + done.stderr
        if done.returncode != 0 or expect not in output or "GOT ERROR" in output:
            raise RuntimeError(f"n8n {args[0]} failed:\n{_tail(output)}")

    def install(self, workflow: Path, workflow_id: str) -> None:
        self.command("import:workflow", f"--input={workflow}", expect="Successfully imported 1 workflow")
        self.command("publish:workflow", f"--id={workflow_id}", expect=f"Publishing workflow with ID: {workflow_id}")

    def start(self, probe_path: str) -> None:
        """Starts n8n and waits for /healthz/readiness, then for `probe_path` to be served by the
        published workflow (n8n answers 404 until it has activated it)."""
        with self.log_path.open("a") as log:
            self._process = subprocess.Popen([str(self.executable), "start"], env=self.env, stdout=log,
                                             stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + READY_SECONDS
        for path in ("/healthz/readiness", probe_path):
            while not self._answers(path):
                if self._process.poll() is not None:
                    raise RuntimeError(f"n8n exited with {self._process.returncode}:\n{self.log_tail()}")
                if time.monotonic() > deadline:
                    raise RuntimeError(f"n8n not serving {path} after {READY_SECONDS} s:\n{self.log_tail()}")
                time.sleep(0.5)

    def _answers(self, path: str) -> bool:
        try:
            code = requests.get(self.base_url + path, timeout=5).status_code
        except requests.RequestException:
            return False
        return code == 200 if path.startswith("/healthz") else code != 404

    def log_tail(self) -> str:
        return _tail(self.log_path.read_text(errors="replace")) if self.log_path.exists() else ""

    def restart(self, probe_path: str, **env: str) -> None:
        """Stops n8n and starts it again on the same data, with `env` changed."""
        self._end()
        self.env.update(env)
        self.start(probe_path)

    def stop(self) -> None:
        """Stops n8n; its data folder is removed."""
        self._end()
        shutil.rmtree(self.folder, ignore_errors=True)

    def _end(self) -> None:
        """SIGTERM to n8n's process group (n8n and its task runner), SIGKILL when it has not
        exited in 30 s."""
        if self._process is None:
            return
        _signal_group(self._process.pid, signal.SIGTERM)
        try:
            self._process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            _signal_group(self._process.pid, signal.SIGKILL)
            self._process.wait()
        self._process = None


def _signal_group(group: int, signum: int) -> None:
    try:
        os.killpg(group, signum)
    except ProcessLookupError:  # the whole group has exited
        pass


def _tail(text: str, lines: int = 25) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])
