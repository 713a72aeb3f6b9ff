"""The layering rules, read from the source: lib/ imports streamlit only in lib/ui/, and nothing
below lib/ui/ imports it (pages and the server sit on top)."""

from __future__ import annotations

import ast
from pathlib import Path

LIB = Path(__file__).resolve().parents[1] / "lib"


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_only_lib_ui_imports_streamlit_and_nothing_imports_lib_ui_from_below():
    offenders = {}
    for path in LIB.rglob("*.py"):
        if path.parent.name == "ui":
            continue
        wrong = {m for m in imported_modules(path)
                 if m.split(".")[0] in ("streamlit", "streamlit_autorefresh") or m.startswith("lib.ui")}
        if wrong:
            offenders[str(path.relative_to(LIB.parent))] = sorted(wrong)
    assert offenders == {}
