"""The package's structure, read from its source with ``ast``: no import loops, private names kept inside their part.

A *part* is a top-level module (``classifier.label``) or a subpackage with everything below
it (``classifier.ingest``, ``classifier.report``). Inside a part, modules may share private
helpers; what one part offers another is public. Imports count wherever they stand: at
module level and inside functions (a function-level import is still a loop, only a later
one); imports under ``if TYPE_CHECKING:`` never run and do not count.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "classifier"


def _module_name(path: Path) -> str:
    """``classifier/ingest/mime.py`` -> ``classifier.ingest.mime``; a package's ``__init__`` is the package."""
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _is_package(module: str) -> bool:
    return MODULES[module].name == "__init__.py"


def _ancestors(module: str) -> list[str]:
    """The packages above a module, the nearest last: ``a.b.c`` -> ``[a, a.b]``."""
    parts = module.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts))]


def part_of(module: str) -> str:
    """The part a module belongs to: the package root, a top-level module or a top-level subpackage."""
    return ".".join(module.split(".")[:2])


def _is_private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


@dataclass(frozen=True)
class Import:
    """One name one module takes from another: ``name`` is None when the module itself is imported."""

    module: str
    line: int
    target: str
    name: str | None


def _type_checking_nodes(tree: ast.AST) -> set[int]:
    """The ids of the nodes inside ``if TYPE_CHECKING:`` blocks."""
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skip.update(id(n) for child in node.body for n in ast.walk(child))
    return skip


def imports_of(module: str) -> list[Import]:
    """Every import of a classifier module that ``module`` makes, at any depth of its code."""
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    skip = _type_checking_nodes(tree)
    here = module if _is_package(module) else module.rpartition(".")[0]
    out: list[Import] = []
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            out += [Import(module, node.lineno, a.name, None) for a in node.names if a.name in MODULES]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = here.split(".")[: len(here.split(".")) - node.level + 1]
                base = ".".join(up + ([node.module] if node.module else []))
            if base not in MODULES:
                continue
            for a in node.names:
                sub = f"{base}.{a.name}"
                out.append(Import(module, node.lineno, sub, None) if sub in MODULES
                           else Import(module, node.lineno, base, a.name))
    return out


def import_graph() -> dict[str, dict[str, int]]:
    """Module -> {module it makes Python import: the line of the first such import}.

    Importing ``a.b.c`` runs the ``__init__`` of ``a`` and ``a.b`` first: those count too,
    except the packages the importing module itself lies in (they are already being imported).
    An explicit import of a name from an enclosing package (``from . import x`` where ``x``
    is defined in the package's ``__init__``) does count: it needs that ``__init__`` run.
    """
    graph: dict[str, dict[str, int]] = {m: {} for m in MODULES}
    for m in MODULES:
        own = set(_ancestors(m))
        for imp in imports_of(m):
            for t in [a for a in _ancestors(imp.target) if a not in own] + [imp.target]:
                if t != m:
                    graph[m].setdefault(t, imp.line)
    return graph


def cycles(graph: dict[str, dict[str, int]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), each as a list of modules."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def _loop_through(graph: dict[str, dict[str, int]], comp: list[str]) -> str:
    """One loop inside a component, as ``a:line -> b:line -> ... -> a`` (breadth-first from its first module)."""
    start, members = comp[0], set(comp)
    prev: dict[str, str] = {}
    todo = [start]
    while todo:
        v = todo.pop(0)
        for w in graph[v]:
            if w == start:
                path = [v]
                while path[-1] != start:
                    path.append(prev[path[-1]])
                path.reverse()
                return " -> ".join(f"{a} (line {graph[a][b]})" for a, b in zip(path, path[1:] + [start])) + f" -> {start}"
            if w in members and w not in prev:
                prev[w] = v
                todo.append(w)
    return ", ".join(comp)


def test_the_graph_sees_function_level_and_parent_package_imports():
    g = import_graph()
    assert "classifier.ingest" in g["classifier.label"]  # function-level `from .ingest import ...`
    assert "classifier.ingest.mime" in g["classifier.ingest"]
    assert "classifier.report" in g["classifier.cli"] and "classifier" not in g["classifier.ingest.mime"]
    assert cycles({"a": {"b": 1}, "b": {"c": 2}, "c": {"a": 3}, "d": {"a": 4}}) == [["a", "b", "c"]]


def test_no_import_loops():
    g = import_graph()
    loops = [_loop_through(g, c) for c in cycles(g)]
    assert not loops, "import loops (move what both sides need down into a module both can import):\n" + \
        "\n".join(loops)
