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
    assert "classifier.ingest.sources" in g["classifier.ingest"]
    assert "classifier.report" in g["classifier.cli"] and "classifier" not in g["classifier.ingest.mime"]
    assert cycles({"a": {"b": 1}, "b": {"c": 2}, "c": {"a": 3}, "d": {"a": 4}}) == [["a", "b", "c"]]


def test_no_import_loops():
    g = import_graph()
    loops = [_loop_through(g, c) for c in cycles(g)]
    assert not loops, "import loops (move what both sides need down into a module both can import):\n" + \
        "\n".join(loops)


# --------------------------------------------------------------------------- private names stay inside their part

TESTS = PACKAGE.parent / "tests"


def _test_part(path: Path) -> str | None:
    """The part a test file tests: ``tests/ingest/*`` ingest, ``tests/test_x.py`` and ``test_x_browser.py`` x."""
    rel = path.relative_to(TESTS)
    if rel.parts[0] in {p.rpartition(".")[2] for p in MODULES if _is_package(p)} and len(rel.parts) > 1:
        return f"classifier.{rel.parts[0]}"
    stem = rel.stem.removeprefix("test_").removesuffix("_browser")
    return f"classifier.{stem}" if rel.stem.startswith("test_") and f"classifier.{stem}" in MODULES else None


def _reached_names(path: Path, imports: list[Import]) -> list[Import]:
    """Names a file reaches inside classifier modules besides importing them: ``mod._name``, ``"classifier.mod._name"``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    bound: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.name in MODULES:
                    bound[a.asname or a.name.partition(".")[0]] = a.asname and a.name or a.name.partition(".")[0]
    for imp in imports:
        if imp.name is None:
            bound[imp.target.rpartition(".")[2]] = imp.target
    out: list[Import] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and _is_private(node.attr):
            head, *rest = ast.unparse(node.value).split(".")
            target = ".".join([bound[head], *rest]) if head in bound else None
            if target in MODULES:
                out.append(Import("", node.lineno, target, node.attr))
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.startswith("classifier."):
            target, _, name = node.value.rpartition(".")
            if target in MODULES and _is_private(name):
                out.append(Import("", node.lineno, target, name))
    return out


def _imports_of_file(path: Path) -> list[Import]:
    """The classifier imports of any file (a test), resolved as if it were a top-level module."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip = _type_checking_nodes(tree)
    out = []
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            out += [Import("", node.lineno, a.name, None) for a in node.names if a.name in MODULES]
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module in MODULES:
            for a in node.names:
                sub = f"{node.module}.{a.name}"
                out.append(Import("", node.lineno, sub, None) if sub in MODULES
                           else Import("", node.lineno, node.module, a.name))
    return out


def _crossings(where: str, part: str | None, imports: list[Import]) -> list[str]:
    """The private names (and private modules) among ``imports`` that come from outside ``part``."""
    bad = []
    for imp in imports:
        if part_of(imp.target) == part:
            continue
        private_module = any(_is_private(p) for p in imp.target.split("."))
        if private_module or (imp.name and _is_private(imp.name)):
            bad.append(f"{where}:{imp.line} takes {imp.target}{'.' + imp.name if imp.name else ''}")
    return bad


def _all_of(module: str) -> set[str] | None:
    """A module's ``__all__`` (a literal list), or None when it has none."""
    for node in ast.parse(MODULES[module].read_text(encoding="utf-8")).body:
        target = node.targets[0] if isinstance(node, ast.Assign) else getattr(node, "target", None)
        if isinstance(target, ast.Name) and target.id == "__all__":
            return set(ast.literal_eval(node.value))
    return None


def _undocumented(module: str) -> set[str]:
    """The functions and classes a module defines at top level without a docstring."""
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    return {n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef)) and not ast.get_docstring(n)}


def test_private_names_stay_inside_their_part():
    bad = []
    for m in MODULES:
        imports = imports_of(m)
        bad += _crossings(m, part_of(m), imports + _reached_names(MODULES[m], imports))
    assert not bad, ("private names taken from another part (make the name public, documented and in its "
                     "module's __all__, or move it where both can use it):\n" + "\n".join(bad))


def test_tests_use_public_names_or_their_own_parts_internals():
    bad = []
    for path in sorted(TESTS.rglob("*.py")):
        if path == Path(__file__).resolve():
            continue  # names private names as data, in the probe below
        imports = _imports_of_file(path)
        bad += _crossings(str(path.relative_to(TESTS)), _test_part(path), imports + _reached_names(path, imports))
    assert not bad, "tests reaching into another part's private names:\n" + "\n".join(bad)


def test_package_inits_re_export_public_names_only():
    bad = [f"{m}:{imp.line} imports {imp.target}.{imp.name}" for m in MODULES if _is_package(m)
           for imp in imports_of(m) if imp.name and _is_private(imp.name)]
    assert not bad, "a package __init__ re-exports private names:\n" + "\n".join(bad)


def test_what_one_part_offers_another_is_in_all_and_documented():
    bad = []
    for m in MODULES:
        for imp in imports_of(m):
            t = imp.target
            if imp.name is None or part_of(t) == part_of(m) or imp.name.startswith("__"):
                continue
            if imp.name not in (_all_of(t) or set()):
                bad.append(f"{m}:{imp.line} takes {t}.{imp.name}, which is not in {t}.__all__")
            elif imp.name in _undocumented(t):
                bad.append(f"{m}:{imp.line} takes {t}.{imp.name}, which has no docstring")
    assert not bad, "\n".join(bad)


def test_the_checks_see_what_they_look_for(tmp_path):
    assert _test_part(TESTS / "ingest" / "test_mime.py") == "classifier.ingest"
    assert _test_part(TESTS / "test_review_browser.py") == "classifier.review"
    assert _test_part(TESTS / "conftest.py") is None
    probe = tmp_path / "probe.py"
    probe.write_text("import classifier.label as lab\nfrom classifier import ingest\nfrom classifier.io import _x\n"
                     "lab._Writer\ningest.mime._FMP\nm.setattr('classifier.text._cache', 1)\n", encoding="utf-8")
    imports = _imports_of_file(probe)
    found = _crossings("probe", "classifier.cli", imports + _reached_names(probe, imports))
    assert [f.split(" takes ")[1] for f in found] == ["classifier.io._x", "classifier.label._Writer",
                                                      "classifier.ingest.mime._FMP", "classifier.text._cache"]
