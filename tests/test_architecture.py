"""The package's shape, read from its source with `ast`: module size, docstrings, pytest imports, cycles."""

from __future__ import annotations

import ast
import functools
import json
import subprocess
import sys
from collections.abc import Iterator, Mapping, Set
from dataclasses import dataclass
from pathlib import Path

import pytest_flowai

PACKAGE = Path(pytest_flowai.__file__).parent
MAX_LINES = 600
# pytest's side of the package: the hooks, the collection nodes, the fixture and the report plugins. All the
# rest (the runner, the spec loader, transports, the emulator) works without pytest.
PYTEST_SIDE = frozenset({"pytest_flowai.plugin", "pytest_flowai.nodes", "pytest_flowai.fixtures"})
REPORT = "pytest_flowai.report"
# The report package's pure modules, and its init, which pytest's side and the runner both import.
PURE_REPORT = (
    REPORT,
    "pytest_flowai.report.text",
    "pytest_flowai.report.wording",
    "pytest_flowai.report.html_page",
    "pytest_flowai.report.html_views",
)


@dataclass(frozen=True, slots=True)
class Import:
    """One import statement's target: one of our modules when it names one, else the name as written."""

    target: str
    line: int
    type_checking: bool  # inside `if TYPE_CHECKING:`, so never run


@dataclass(frozen=True, slots=True)
class Module:
    """A module of the package, parsed."""

    name: str
    path: Path
    tree: ast.Module
    lines: int

    @property
    def is_package(self) -> bool:
        return self.path.name == "__init__.py"


@functools.cache
def modules() -> Mapping[str, Module]:
    """Every module of the package by dotted name, parsed."""
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        text = path.read_text(encoding="utf-8")
        found[name] = Module(name, path, ast.parse(text, filename=str(path)), len(text.splitlines()))
    return found


def imports_of(module: Module, known: Set[str]) -> list[Import]:
    """Every import in ``module`` at any depth (functions included); ``known``: our modules' names."""
    found: list[Import] = []

    def visit(node: ast.AST, type_checking: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child.test):
                for statement in child.body:
                    visit_one(statement, True)
                for statement in child.orelse:
                    visit_one(statement, type_checking)
            else:
                visit_one(child, type_checking)

    def visit_one(node: ast.AST, type_checking: bool) -> None:
        if isinstance(node, ast.Import):
            found.extend(Import(alias.name, node.lineno, type_checking) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(module, node)
            for alias in node.names:
                # `from pytest_flowai import nodes` imports the module pytest_flowai.nodes.
                full = f"{base}.{alias.name}"
                found.append(Import(full if full in known else base, node.lineno, type_checking))
        visit(node, type_checking)

    visit(module.tree, False)
    return found


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _absolute(module: Module, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    package = module.name.split(".") if module.is_package else module.name.split(".")[:-1]
    package = package[: len(package) - (node.level - 1)]
    return ".".join([*package, *([node.module] if node.module else [])])


def import_graph(found: Mapping[str, Module]) -> dict[str, set[str]]:
    """Which of our modules each module imports when it runs (imports under TYPE_CHECKING never run)."""
    graph: dict[str, set[str]] = {}
    for name, module in found.items():
        edges = set()
        for item in imports_of(module, found.keys()):
            target = item.target
            while target and target not in found:
                target = target.rpartition(".")[0]
            if target and target != name and not item.type_checking:
                edges.add(target)
        graph[name] = edges
    return graph


def find_cycle(graph: Mapping[str, Set[str]]) -> list[str] | None:
    """One import cycle as a path that ends where it starts, or None."""
    done: set[str] = set()

    def walk(node: str, path: list[str]) -> list[str] | None:
        if node in path:
            return [*path[path.index(node) :], node]
        if node in done:
            return None
        for target in sorted(graph.get(node, ())):
            cycle = walk(target, [*path, node])
            if cycle is not None:
                return cycle
        done.add(node)
        return None

    for start in sorted(graph):
        cycle = walk(start, [])
        if cycle is not None:
            return cycle
    return None


def _may_import_pytest(name: str) -> bool:
    return name not in PURE_REPORT and (name in PYTEST_SIDE or name.startswith(f"{REPORT}."))


def _pytest_imports(module: Module) -> Iterator[Import]:
    for item in imports_of(module, modules().keys()):
        if item.target.split(".")[0] in ("pytest", "_pytest"):
            yield item


def test_no_module_is_over_600_lines() -> None:
    """Every module of the package has at most 600 lines."""
    long = {name: module.lines for name, module in modules().items() if module.lines > MAX_LINES}
    assert long == {}


def test_every_module_starts_with_a_docstring() -> None:
    """Every module, package inits included, opens with a docstring saying what it owns."""
    missing = [name for name, module in modules().items() if ast.get_docstring(module.tree) is None]
    assert missing == []


def test_only_the_pytest_side_imports_pytest() -> None:
    """Only plugin, nodes, fixtures and the report package's plugins import pytest, even for type checks."""
    outside = [
        f"{module.path.relative_to(PACKAGE.parent)}:{item.line}: imports {item.target}"
        for name, module in modules().items()
        if not _may_import_pytest(name)
        for item in _pytest_imports(module)
    ]
    assert outside == []


def test_the_runner_and_the_pure_report_text_load_without_pytest() -> None:
    """A fresh interpreter imports the runner and the report's text and wording without loading pytest."""
    names = ["pytest_flowai.conversation", "pytest_flowai.session", *PURE_REPORT]
    probe = "import json, sys\n" + "".join(f"import {name}\n" for name in names)
    probe += "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules} & {'pytest', '_pytest'})))"
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []


def test_there_is_no_import_cycle() -> None:
    """No module of the package imports itself through others, counting imports inside functions."""
    cycle = find_cycle(import_graph(modules()))
    assert cycle is None, "import cycle: " + " -> ".join(cycle or ())


def test_the_checks_see_imports_in_functions_and_type_checking_blocks() -> None:
    """The reader finds a function's import and marks a TYPE_CHECKING one, so the checks above can fail."""
    source = (
        '"""Doc."""\nfrom typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import pytest\n'
        "def f():\n    from . import b\n"
    )
    module = Module("pkg.a", Path("pkg/a.py"), ast.parse(source), 6)
    found = imports_of(module, {"pkg.a", "pkg.b"})
    assert Import("pytest", 4, True) in found
    assert Import("pkg.b", 6, False) in found
    assert find_cycle({"pkg.a": {"pkg.b"}, "pkg.b": {"pkg.c"}, "pkg.c": {"pkg.a"}}) == [
        "pkg.a",
        "pkg.b",
        "pkg.c",
        "pkg.a",
    ]
    assert find_cycle({"pkg.a": {"pkg.b"}, "pkg.b": set()}) is None
