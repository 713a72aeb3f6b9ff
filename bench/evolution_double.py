"""The Evolution API double (harness.doubles.evolution) in a process of its own, as a real provider
would be (its threads don't compete with the app's for the GIL, its CPU is not the app's), with a
fleet already there: the instances of harness.seeding.seed_fleet, open with their numbers, one in
DROPPED_EVERY closed by WhatsApp (401).

    .venv/bin/python -m bench.evolution_double --instances 1000 --latency-ms 100

It prints "ready <base URL>", then answers a line "counts" on its stdin with the requests served so
far as one JSON line ({"GET /instance/fetchInstances": 3, ...}); it ends at the end of its stdin.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import subprocess
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from harness.doubles.evolution import EvolutionDouble  # noqa: E402
from harness.doubles.evolution_session import Instance  # noqa: E402
from harness.seeding import DROPPED_EVERY, fleet_phone  # noqa: E402

API_KEY = "bench-evolution-key-0123456789"


def fleet_credentials(count: int) -> list[tuple[str, str]]:
    """(Evolution's instance name, its token) of each instance of the fleet, the same in every
    process (the store is seeded with them by harness.seeding.seed_fleet)."""
    return [(f"cobranca-{i:04d}", str(uuid.uuid5(uuid.NAMESPACE_URL, f"bench-fleet-{i}")).upper())
            for i in range(count)]


def seed(double: EvolutionDouble, count: int) -> None:
    """The fleet at the double: open with its number, or closed by WhatsApp (401: does not reconnect)."""
    for i, (name, token) in enumerate(fleet_credentials(count)):
        inst = Instance(name=name, token=token)
        if i % DROPPED_EVERY == 0:
            inst.state = inst.db_status = "close"
            inst.status_reason = inst.reason_code = 401
        else:
            inst.wuid = inst.owner_jid = f"{fleet_phone(i).lstrip('+')}@s.whatsapp.net"
            inst.state, inst.db_status, inst.status_reason, inst.linked = "open", "open", 200, True
            inst.profile_name = "Cobrança"
        double.instances[name] = inst


@dataclass
class DoubleProcess:
    """The parent's handle on the child: its URL and its request counts."""

    process: subprocess.Popen
    url: str

    def counts(self) -> dict[str, int]:
        self.process.stdin.write("counts\n")
        self.process.stdin.flush()
        return json.loads(self.process.stdout.readline())


@contextlib.contextmanager
def double_process(instances: int, latency_ms: int) -> Iterator[DoubleProcess]:
    """The double in a child process with `instances` seeded, answering `latency_ms` late."""
    process = subprocess.Popen([sys.executable, "-m", "bench.evolution_double", "--instances", str(instances),
                                "--latency-ms", str(latency_ms)], cwd=ROOT, stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, text=True)
    try:
        ready = process.stdout.readline().split()
        if ready[:1] != ["ready"]:
            raise RuntimeError("the Evolution double did not start")
        yield DoubleProcess(process, ready[1])
    finally:
        with contextlib.suppress(OSError):
            process.stdin.close()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.evolution_double", description=__doc__.split("\n\n")[0])
    parser.add_argument("--instances", type=int, default=1000)
    parser.add_argument("--latency-ms", type=int, default=100)
    args = parser.parse_args(argv)
    double = EvolutionDouble(API_KEY).start()
    double.latency_ms = args.latency_ms
    seed(double, args.instances)
    print("ready", double.base_url, flush=True)
    try:
        for line in sys.stdin:  # bounded by the parent: its end closes our stdin
            if line.strip() == "counts":
                print(json.dumps(double.counts()), flush=True)
    except KeyboardInterrupt:
        pass
    double.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
