"""The layering rules, read from the source: lib/ imports streamlit only in lib/ui/, nothing
below lib/ui/ imports it (pages and the server sit on top), the screens never import a store, and
no module of lib imports itself back through others."""

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


def lib_imports(package: Path) -> dict[str, set[str]]:
    """Module → the modules of `package` it imports, every import counted (type-hint ones too)."""
    def name(path: Path) -> str:
        parts = path.relative_to(LIB.parent).with_suffix("").parts
        return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)

    modules = {name(path): path for path in package.rglob("*.py")}
    graph = {}
    for module, path in modules.items():
        imported = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                imported |= {node.module, *(f"{node.module}.{alias.name}" for alias in node.names)}
            elif isinstance(node, ast.Import):
                imported |= {alias.name for alias in node.names}
        graph[module] = {m for m in imported if m in modules and m != module}
    return graph


def reaches(graph: dict[str, set[str]], start: str, goal: str) -> bool:
    seen, todo = set(), list(graph[start])
    while todo:
        module = todo.pop()
        if module == goal:
            return True
        if module not in seen:
            seen.add(module)
            todo += graph[module]
    return False


def test_lib_imports_no_circle():
    graph = lib_imports(LIB)
    assert "lib.store.supabase.instances" in graph["lib.store.supabase.user_client"]  # the walk sees imports
    assert sorted(m for m in graph if reaches(graph, m, m)) == []


def test_the_screens_never_reach_the_store():
    """lib/ui, the pages and app.py ask services (lib.instances, lib.auth) and never import a
    store: what a screen needs is a service's method."""
    root = LIB.parent
    screens = [*(LIB / "ui").rglob("*.py"), *(root / "pages").rglob("*.py"), root / "app.py"]
    offenders = {str(path.relative_to(root)): sorted(m for m in imported_modules(path) if m.startswith("lib.store"))
                 for path in screens}
    assert {path: wrong for path, wrong in offenders.items() if wrong} == {}


def test_the_screens_reach_the_store_only_through_the_services():
    """Not by import (above) and not through a service's own store attribute either."""
    root = LIB.parent
    reaching = [str(path.relative_to(root)) for path in [*(LIB / "ui").rglob("*.py"), *(root / "pages").glob("*.py")]
                if ".store." in path.read_text(encoding="utf-8").replace("lib.store.", "")
                or "service().store" in path.read_text(encoding="utf-8")]
    assert reaching == []
