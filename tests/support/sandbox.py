"""The sandbox provider's tests' shared parts (tests/provider/test_sandbox*.py): a clock the tests
move, and the webhook contract's calls over real loopback HTTP (the fixtures `clock` and `sbx`, a
sandbox on that clock, are in tests/provider/conftest.py)."""

from __future__ import annotations

import base64
import io
import re
from pathlib import Path

import requests
from PIL import Image

from lib.provider.sandbox.provider import SandboxProvider

PROJECT_ROOT = Path(__file__).resolve().parents[2]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PHONE_RE = re.compile(r"^\+55119\d{8}$")
T = 10  # request timeout (a safety net, never asserted on)


class FakeClock:
    def __init__(self, start: float = 1000.0):
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def create(p: SandboxProvider, name: str = "Loja Centro") -> dict:
    r = requests.post(p.webhook_settings().create_url, json={"name": name}, timeout=T)
    assert r.status_code == 200, r.text
    return r.json()


def connect(p: SandboxProvider, inst: dict) -> requests.Response:
    return requests.post(p.webhook_settings().connect_url, json=inst, timeout=T)


def status(p: SandboxProvider, inst: dict) -> requests.Response:
    return requests.get(p.webhook_settings().status_url, params=inst, timeout=T)


def disconnect(p: SandboxProvider, inst: dict) -> requests.Response:
    return requests.post(p.webhook_settings().disconnect_url, json=inst, timeout=T)


def scan(url: str) -> requests.Response:
    return requests.get(url, timeout=T)


def decode_png(b64: str) -> Image.Image:
    raw = base64.b64decode(b64, validate=True)
    assert raw.startswith(PNG_SIGNATURE)
    img = Image.open(io.BytesIO(raw))
    img.load()
    return img
