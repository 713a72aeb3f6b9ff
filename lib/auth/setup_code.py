"""The first administrator's one-time setup code (like Jupyter's token): made once, kept in a 0600
file in the data folder and printed by the server when it starts, so that someone who merely
reaches the port cannot claim a fresh install.

The file is written whole or not at all (a temporary file, fsync, rename): a disk that fills
halfway leaves no file rather than an empty one, and a file that is empty or not a whole code
counts as missing. The code is gone once the first administrator exists, and nothing but the
login page of a server without users (or its start) makes a new one."""

from __future__ import annotations

import re
import secrets
import threading
from pathlib import Path

from lib.errors import StoreError
from lib.private_files import write_atomically

SETUP_CODE_FILENAME = "setup_code.txt"
CODE_SHAPE = re.compile(r"[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}")
MSG_NOT_WRITTEN = ("Não foi possível gravar o código de configuração na pasta de dados do servidor "
                   "(disco cheio ou sem permissão). Libere espaço e recarregue a página.")
_writing = threading.Lock()  # one writer per process: two threads never make two different codes


def setup_code_path(data_dir: Path) -> Path:
    return Path(data_dir) / SETUP_CODE_FILENAME


def read_setup_code(data_dir: Path) -> str | None:
    """The code in the file, or None: no file, or not a whole code (an empty or cut-off file)."""
    try:
        text = setup_code_path(data_dir).read_text(encoding="utf-8").strip()
    except (FileNotFoundError, UnicodeDecodeError):
        return None
    return text if CODE_SHAPE.fullmatch(text) else None


def ensure_setup_code(data_dir: Path) -> str:
    """The code, made now when there is none. Raises StoreError when it can't be written."""
    with _writing:
        code = read_setup_code(data_dir)
        if code is None:
            code = "-".join(secrets.token_hex(2).upper() for _ in range(3))
            try:
                write_atomically(setup_code_path(data_dir), code + "\n")
            except OSError as exc:
                raise StoreError(MSG_NOT_WRITTEN) from exc
        return code


def discard_setup_code(data_dir: Path) -> None:
    """The first administrator exists: the code is good no more."""
    setup_code_path(data_dir).unlink(missing_ok=True)
