"""What every benchmark script ends with: its table and targets printed, its key of
bench/results.json updated. Nothing here asserts a time: the targets are compared and reported,
never enforced as test failures."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Iterable

from harness.server import ROOT

RESULTS_PATH = ROOT / "bench" / "results.json"


def save_results(key: str, data: dict) -> None:
    """Merge `data` under `key` into bench/results.json (each script owns one key)."""
    results = {}
    if RESULTS_PATH.exists():
        try:
            results = json.loads(RESULTS_PATH.read_text(encoding="utf-8"))
        except ValueError:
            results = {}
    results[key] = data
    tmp = RESULTS_PATH.with_suffix(".tmp")
    tmp.write_text(json.dumps(results, indent=2, ensure_ascii=False, default=str) + "\n", encoding="utf-8")
    os.replace(tmp, RESULTS_PATH)


def target(name: str, figure: str, goal: str, met: bool) -> dict:
    """One line of the summary printed by bench.run_all."""
    return {"name": name, "figure": figure, "target": goal, "met": bool(met)}


def table(headers: list[str], rows: Iterable[Iterable]) -> str:
    rows = [[str(cell) for cell in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]
    line = lambda cells: "  ".join(c.ljust(w) for c, w in zip(cells, widths)).rstrip()  # noqa: E731
    return "\n".join([line(headers), line(["-" * w for w in widths]), *(line(r) for r in rows)])


def print_targets(targets: list[dict]) -> None:
    print(table(["target", "figure", "goal", "met"],
                [(t["name"], t["figure"], t["target"], "yes" if t["met"] else "NO") for t in targets]))


def report(key: str, lines: list[str], result: dict) -> None:
    """Print a benchmark's own lines, a blank line and its targets; save its result under `key`."""
    print("\n".join(lines))
    print()
    print_targets(result["targets"])
    save_results(key, result)


def ms(seconds: float) -> float:
    return round(seconds * 1000, 2)


def work_dir(prefix: str) -> Path:
    return Path(tempfile.mkdtemp(prefix=f"bench-{prefix}-"))
