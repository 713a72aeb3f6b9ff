"""The command line every benchmark script shares (main: options, the run, its table and targets
printed, its key of bench/results.json updated). Nothing here asserts a time: the targets are
compared and reported, never enforced as test failures."""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable

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


def targets_table(targets: list[dict]) -> str:
    return table(["target", "figure", "goal", "met"],
                 [(t["name"], t["figure"], t["target"], "yes" if t["met"] else "NO") for t in targets])


def ms(seconds: float) -> float:
    return round(seconds * 1000, 2)


def work_dir(prefix: str) -> Path:
    return Path(tempfile.mkdtemp(prefix=f"bench-{prefix}-"))


@dataclass(frozen=True)
class Option:
    """One command-line option of a benchmark script; `--latency-ms` reaches run() as latency_ms."""

    flag: str
    default: Any
    help: str = ""
    type: Callable[[str], Any] | None = None  # default: the default's own type


def main(argv: list[str] | None, key: str, doc: str, run: Callable[..., dict],
         describe: Callable[[argparse.Namespace, dict], list[str]], *options: Option, save: bool = True) -> int:
    """`python -m bench.KEY [options]`: parse `options`, call run(**options), print describe(args,
    result) and the result's targets, and (with `save`) keep the result under KEY in
    bench/results.json. A ValueError from run() is a usage error; Ctrl-C or SIGTERM (bench.run_all
    stopping a script) ends the run cleanly, its servers and browsers stopped, with status 130.
    The status is 1 when the result says it is not "ok", else 0 (a missed target is no failure)."""
    parser = argparse.ArgumentParser(prog=f"python -m bench.{key}", description=doc.split("\n\n")[0])
    for option in options:
        parser.add_argument(option.flag, type=option.type or type(option.default), default=option.default,
                            help=f"{option.help} (default %(default)s)".strip())
    args = parser.parse_args(argv)
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)
    try:
        result = run(**vars(args))
    except ValueError as exc:
        parser.error(str(exc))
    except KeyboardInterrupt:
        print("interrupted (servers and browsers stopped)", file=sys.stderr)
        return 130
    print("\n".join(describe(args, result)))
    if result.get("targets"):
        print()
        print(targets_table(result["targets"]))
    if save:
        save_results(key, result)
    return 0 if result.get("ok", True) else 1


def _raise_keyboard_interrupt(signum, frame) -> None:
    raise KeyboardInterrupt
