"""What `make run` prints before Streamlit's own lines (see __main__.py)."""

from __future__ import annotations

from lib.config.settings import Settings


def describe(settings: Settings, address: str, port: int) -> str:
    """What `make run` prints before Streamlit's own lines: where, in which mode, with which data."""
    host = "localhost" if address in ("127.0.0.1", "localhost") else address
    lines = [
        f"Painel de instâncias WhatsApp em http://{host}:{port}",
        f"Modo: {settings.mode_label}",
        f"Dados: {settings.data_dir.resolve()}",
    ]
    if settings.provider.url:
        lines.insert(2, f"Provedor: {settings.provider.label}")
    if address in ("127.0.0.1", "localhost"):
        lines.append("Só este computador acessa; para a rede local: make run ADDRESS=0.0.0.0")
    return "\n".join(lines)
