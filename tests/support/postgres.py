"""Throwaway PostgreSQL cluster for tests: unix socket only, trust auth, temp dir.

Usage:
    server = start_postgres()
    try:
        psycopg.connect(server.dsn(user="postgres", dbname="postgres"))
    finally:
        server.stop()

initdb and pg_ctl refuse to run as root, so when the tests run as root the
server runs as the ``postgres`` OS user (via ``runuser``).
"""

from __future__ import annotations

import atexit
import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

INSTALL_HINT = "apt-get install -y postgresql-15"
SERVER_OS_USER = "postgres"
PORT = 5432  # only names the socket file; the socket lives in a private dir


def find_bindir() -> Path:
    """Directory holding initdb/pg_ctl: $PG_BINDIR, `pg_config --bindir`, or Debian's path."""
    candidates: list[str] = []
    if os.environ.get("PG_BINDIR"):
        candidates.append(os.environ["PG_BINDIR"])
    pg_config = shutil.which("pg_config")
    if pg_config:
        result = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True)
        if result.returncode == 0:
            candidates.append(result.stdout.strip())
    candidates.append("/usr/lib/postgresql/15/bin")
    candidates.extend(sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True))
    for candidate in candidates:
        path = Path(candidate)
        if (path / "initdb").is_file() and (path / "pg_ctl").is_file():
            return path
    raise RuntimeError(f"PostgreSQL server binaries (initdb, pg_ctl) not found; install them: {INSTALL_HINT}")


@dataclass
class PgServer:
    """A running throwaway cluster; connect with dsn(), shut down with stop()."""

    bindir: Path
    base_dir: Path
    run_as: str | None  # OS user running the server, None for the current user
    port: int = PORT
    _stopped: bool = field(default=False, repr=False)

    @property
    def data_dir(self) -> Path:
        return self.base_dir / "data"

    @property
    def socket_dir(self) -> Path:
        return self.base_dir / "sock"

    @property
    def log_file(self) -> Path:
        return self.base_dir / "server.log"

    def dsn(self, user: str = "postgres", dbname: str = "postgres") -> str:
        """libpq connection string for the unix socket."""
        return f"host={self.socket_dir} port={self.port} user={user} dbname={dbname}"

    def log(self) -> str:
        """Server log text (for error messages)."""
        try:
            return self.log_file.read_text(errors="replace")
        except OSError:
            return ""

    def stop(self) -> None:
        """Stop the server and delete its files; safe to call twice."""
        if self._stopped:
            return
        self._stopped = True
        try:
            if (self.data_dir / "postmaster.pid").exists():
                _run(self, [str(self.bindir / "pg_ctl"), "-D", str(self.data_dir), "-m", "fast", "-w", "stop"])
        finally:
            shutil.rmtree(self.base_dir, ignore_errors=True)


def _run(server: PgServer, argv: list[str]) -> None:
    if server.run_as:
        argv = ["runuser", "-u", server.run_as, "--", *argv]
    result = subprocess.run(argv, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(
            f"{' '.join(argv)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}\n{server.log()}"
        )


def start_postgres() -> PgServer:
    """initdb a fresh cluster in a temp dir and start it; the caller must stop() it."""
    bindir = find_bindir()
    run_as = None
    if os.geteuid() == 0:
        try:
            account = pwd.getpwnam(SERVER_OS_USER)
        except KeyError:
            raise RuntimeError(f"running as root needs a '{SERVER_OS_USER}' OS user; {INSTALL_HINT}") from None
        run_as = SERVER_OS_USER

    base_dir = Path(tempfile.mkdtemp(prefix="pgtest-", dir="/tmp"))
    server = PgServer(bindir=bindir, base_dir=base_dir, run_as=run_as)
    try:
        server.socket_dir.mkdir()
        if run_as:
            for path in (base_dir, server.socket_dir):
                os.chown(path, account.pw_uid, account.pw_gid)
        _run(server, [
            str(bindir / "initdb"), "-D", str(server.data_dir), "--auth=trust", "--username=postgres",
            "--encoding=UTF8", "--locale=C", "--no-sync",
        ])
        with open(server.data_dir / "postgresql.conf", "a") as conf:
            conf.write(
                "\n# throwaway test cluster\n"
                "listen_addresses = ''\n"
                f"unix_socket_directories = '{server.socket_dir}'\n"
                f"port = {server.port}\n"
                "fsync = off\n"
                "synchronous_commit = off\n"
                "full_page_writes = off\n"
            )
        _run(server, [
            str(bindir / "pg_ctl"), "-D", str(server.data_dir), "-l", str(server.log_file), "-w", "-t", "60", "start",
        ])
    except BaseException:
        server.stop()
        raise
    atexit.register(server.stop)  # safety net if the caller forgets
    return server
