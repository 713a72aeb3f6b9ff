"""The real server for tests: `streamlit run server.py` on a free loopback port, with its own data
folder and nothing of the developer's configuration (embedded default unless told otherwise), as
the benchmarks start it (bench.common.AppServer), without their instrumentation."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Mapping

from bench.common import AppServer


@contextmanager
def streamlit_server(data_dir: Path, env: Mapping[str, str] | None = None) -> Iterator[AppServer]:
    """Start the server, wait until Streamlit answers its health check, stop it at the end (the
    log is printed then, for failures)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    server = AppServer(data_dir.parent, env=dict(env or {}), instrumented=False, data_dir=data_dir)
    try:
        with server:
            yield server
    finally:
        print(f"--- streamlit log ({server.log_path}) ---\n{server.log()}")
