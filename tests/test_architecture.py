"""The import graph matches ARCHITECTURE.md: layers point downward, no cycles, no private names
across packages.

The layer contract lives in ``pyproject.toml`` (``[tool.importlinter]``) and is checked here with
import-linter; the cycle check is stricter than its sibling contract: no two modules may import
each other by any path, counting imports inside functions and under ``TYPE_CHECKING``, which is
where cycles used to hide.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import grimp
import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "ruleplus"


def test_the_import_contracts_are_kept() -> None:
    result = subprocess.run(
        [str(Path(sys.executable).with_name("lint-imports")), "--config", "pyproject.toml"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def _cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for start in sorted(graph.modules):
        if start in index:
            continue
        work = [(start, iter(sorted(graph.find_modules_directly_imported_by(start))))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append(
                        (child, iter(sorted(graph.find_modules_directly_imported_by(child))))
                    )
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_no_module_imports_itself_by_any_path() -> None:
    graph = grimp.build_graph("ruleplus", exclude_type_checking_imports=False)
    assert _cycles(graph) == []


def test_the_cycle_finder_finds_a_cycle() -> None:
    graph = grimp.ImportGraph()
    for name in ("p", "p.a", "p.b", "p.c"):
        graph.add_module(name)
    graph.add_import(importer="p.a", imported="p.b")
    graph.add_import(importer="p.b", imported="p.c")
    graph.add_import(importer="p.c", imported="p.a")
    assert _cycles(graph) == [["p.a", "p.b", "p.c"]]


def _private_imports() -> list[str]:
    """Imports of a private module or name (``_x``) from outside the package that owns it."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        here = ".".join(parts[:-1])  # the package a module (or a package's __init__) is in
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names: list[tuple[str, str | None]] = []
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [(node.module, alias.name) for alias in node.names]
            elif isinstance(node, ast.Import):
                names = [(alias.name, None) for alias in node.names]
            for module, name in names:
                if module.split(".")[0] != "ruleplus":
                    continue
                segments = module.split(".")
                owner = next(
                    (".".join(segments[:i]) for i, s in enumerate(segments) if s.startswith("_")),
                    None,
                )
                if owner is None and name and name.startswith("_") and not name.startswith("__"):
                    owner = module
                if owner is not None and here != owner and not here.startswith(owner + "."):
                    found.append(f"{path.relative_to(ROOT)}:{node.lineno} {module} {name or ''}")
    return found


def test_no_private_name_is_imported_across_packages() -> None:
    assert _private_imports() == []


@pytest.mark.parametrize("layer", ["cli", "service", "serving", "store", "batch"])
def test_each_layer_named_in_the_architecture_is_a_package(layer: str) -> None:
    assert (PACKAGE / layer / "__init__.py").is_file()
