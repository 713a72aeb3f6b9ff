"""The sandbox configured from the environment (SANDBOX_AUTO_SCAN_SECONDS, SANDBOX_LATENCY_MS,
also the command line's defaults), and the process-wide sandbox of a data folder the app starts."""

from __future__ import annotations

import atexit
import os
import threading
from pathlib import Path
from typing import Mapping

from lib.errors import ConfigError
from lib.provider.sandbox.provider import SandboxProvider
from lib.provider.sandbox.state import STATE_FILENAME

ENV_AUTO_SCAN = "SANDBOX_AUTO_SCAN_SECONDS"
ENV_LATENCY = "SANDBOX_LATENCY_MS"


def settings_from_env(env: Mapping[str, str] | None = None) -> dict:
    """SandboxProvider kwargs from SANDBOX_AUTO_SCAN_SECONDS / SANDBOX_LATENCY_MS."""
    env = os.environ if env is None else env
    kwargs: dict = {"auto_scan_seconds": None, "latency_ms": 0}
    raw_scan = (env.get(ENV_AUTO_SCAN) or "").strip()
    if raw_scan:
        try:
            kwargs["auto_scan_seconds"] = float(raw_scan)
        except ValueError:
            kwargs["auto_scan_seconds"] = -1.0
        if not kwargs["auto_scan_seconds"] >= 0:  # also rejects nan
            raise ConfigError(f"Configuração inválida: {ENV_AUTO_SCAN} deve ser um número maior ou igual a zero.")
    raw_latency = (env.get(ENV_LATENCY) or "").strip()
    if raw_latency:
        try:
            kwargs["latency_ms"] = int(raw_latency)
        except ValueError:
            kwargs["latency_ms"] = -1
        if kwargs["latency_ms"] < 0:
            raise ConfigError(f"Configuração inválida: {ENV_LATENCY} deve ser um inteiro maior ou igual a zero.")
    return kwargs


_shared: dict[Path, SandboxProvider] = {}
_shared_lock = threading.Lock()


def shared_sandbox(data_dir: Path) -> SandboxProvider:
    """The process-wide sandbox of this data folder (its instances persist there), started once
    (thread-safe, lazily), configured from env SANDBOX_AUTO_SCAN_SECONDS / SANDBOX_LATENCY_MS;
    stopped at interpreter exit (atexit).

    Raises ConfigError when one of those variables is invalid."""
    key = Path(data_dir).resolve()
    with _shared_lock:
        if key not in _shared:
            provider = SandboxProvider(**settings_from_env(), state_path=key / STATE_FILENAME).start()
            atexit.register(provider.stop)
            _shared[key] = provider
        return _shared[key]
