"""Small private files in the data folder (0600): written atomically (a temporary file, fsync,
rename), so a full disk or a crash leaves the old file or none, never a half-written one."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

EVENTS_SECRET_FILENAME = "events_secret.txt"
MIN_SECRET_LENGTH = 32


def write_atomically(path: Path, text: str) -> None:
    """`text` in `path` (0600), all of it or nothing: a temporary file beside it, flushed to the
    disk, then renamed over it; the temporary file is removed when anything fails."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    try:
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)  # the rename itself reaches the disk
    finally:
        os.close(directory)


def generated_secret(data_dir: Path, filename: str = EVENTS_SECRET_FILENAME) -> str:
    """The secret kept in this file, made (and kept) when the file is missing, empty or too short
    to be one: the same across restarts, so what a provider was told keeps working."""
    path = Path(data_dir) / filename
    try:
        kept = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        kept = ""
    if len(kept) >= MIN_SECRET_LENGTH:
        return kept
    secret = secrets.token_urlsafe(32)
    write_atomically(path, secret + "\n")
    return secret
