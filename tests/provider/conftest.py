"""The provider tests' fixtures: `clock`, a clock the test moves, and `sbx`, a sandbox provider on
it (a real loopback HTTP server)."""

from __future__ import annotations

import pytest

from lib.provider.sandbox.provider import SandboxProvider
from tests.support.sandbox import FakeClock


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def sbx(clock):
    with SandboxProvider(clock=clock) as provider:
        yield provider
