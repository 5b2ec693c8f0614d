"""The package's layering: the core imports NumPy only, and no module imports itself
back through others (the only loops allowed are a ``Report``'s deferred imports of
its own renderings)."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "gradcheck"
MODULES = {p.stem: p for p in SRC.glob("*.py")}
#: Modules that bring in a framework, a plotting or test library, or the command line
#: (and every ``_torch*`` / ``_jax*`` helper of the adapters): everything else is the core.
FRONT_ENDS = {
    "__main__",
    "_frameworks",
    "_html",
    "cli",
    "demo",
    "jax",
    "plot",
    "pytest_plugin",
    "torch",
} | {m for m in MODULES if m.startswith(("_torch", "_jax"))}
CORE = sorted(set(MODULES) - FRONT_ENDS - {"__init__"})
#: Imports made inside a function on purpose, which would otherwise close a loop:
#: ``Report.plot`` / ``Report.to_html`` render the report with the modules that read it.
DEFERRED = {("_report", "plot"), ("_report", "_html")}
HEAVY = ("torch", "jax", "jaxlib", "matplotlib", "scipy", "dask", "pandas", "pytest")


def _type_checking(test: ast.expr) -> bool:
    name = test.id if isinstance(test, ast.Name) else getattr(test, "attr", "")
    return name == "TYPE_CHECKING"


def _top_level(body: list[ast.stmt]) -> Iterator[ast.Import | ast.ImportFrom]:
    """The imports a module runs when it is imported (not under ``TYPE_CHECKING``)."""
    for node in body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        elif isinstance(node, ast.If):
            if not _type_checking(node.test):
                yield from _top_level(node.body)
            yield from _top_level(node.orelse)
        elif isinstance(node, ast.Try):
            for block in (node.body, node.orelse, node.finalbody):
                yield from _top_level(block)
            for handler in node.handlers:
                yield from _top_level(handler.body)


def _targets(node: ast.Import | ast.ImportFrom) -> set[str]:
    """The gradcheck modules an import names (``__init__`` for the package itself)."""
    if isinstance(node, ast.Import):
        dotted = [a.name.split(".") for a in node.names]
        return {d[1] if len(d) > 1 else "__init__" for d in dotted if d[0] == "gradcheck"}
    parts = (node.module or "").split(".")
    if parts[0] != "gradcheck" or node.level:
        return set()
    if len(parts) > 1:
        return {parts[1]}
    return {a.name if a.name in MODULES else "__init__" for a in node.names}


def imports(module: str, *, everywhere: bool) -> set[str]:
    """The gradcheck modules ``module`` imports: at import time, or ``everywhere``
    (also inside functions and under ``TYPE_CHECKING``)."""
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    nodes = ast.walk(tree) if everywhere else _top_level(tree.body)
    found: set[str] = set()
    for node in nodes:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            found |= _targets(node)
    return found - {module}


def _third_party(module: str) -> set[str]:
    """The packages other than gradcheck and the standard library that ``module``
    imports at import time."""
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    names = set()
    for node in _top_level(tree.body):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif node.module and not node.level:
            names.add(node.module.split(".")[0])
    return names - set(sys.stdlib_module_names) - {"gradcheck", "__future__"}


def cycle(graph: dict[str, set[str]]) -> list[str]:
    """One loop of ``graph`` as the modules along it, or ``[]`` when there is none."""
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(node: str) -> list[str]:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        state[node] = 2
        path.pop()
        return []

    for start in sorted(graph):
        if start not in state:
            found = visit(start)
            if found:
                return found
    return []


class TestCycleFinder:
    def test_finds_a_loop_and_none_where_there_is_none(self) -> None:
        assert cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
        assert cycle({"a": {"b", "c"}, "b": {"c"}, "c": set()}) == []

    def test_reads_deferred_and_type_checking_imports_only_everywhere(self) -> None:
        # _report imports plot inside Report.plot, and not when it is imported
        assert "plot" in imports("_report", everywhere=True)
        assert "plot" not in imports("_report", everywhere=False)


@pytest.mark.parametrize("everywhere", [False, True])
def test_no_import_cycles(everywhere: bool) -> None:
    graph = {m: imports(m, everywhere=everywhere) for m in MODULES}
    for source, target in DEFERRED:
        graph[source].discard(target)
    assert cycle(graph) == []


def _reaches(graph: dict[str, set[str]], start: str, goal: str) -> bool:
    seen, todo = {start}, [start]
    while todo:
        for nxt in graph.get(todo.pop(), ()):
            if nxt == goal:
                return True
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return False


def test_the_deferred_imports_are_still_needed() -> None:
    # each allowed deferred import would close a loop: otherwise it should not be allowed
    graph = {m: imports(m, everywhere=True) for m in MODULES}
    for source, target in DEFERRED:
        assert target in graph[source]
        assert _reaches(graph, target, source)


def test_the_deferred_loops_hold_only_the_report_and_its_renderings() -> None:
    # a module that took Diagnosis or Entry from _report rather than _results, under
    # plot's imports, pulled itself and six more (_diagnose, _localise, _modes, _inputs,
    # _sweep, _plot_sweep) into the loop the deferred imports close
    graph = {m: imports(m, everywhere=True) for m in MODULES}
    loop = {m for m in MODULES if _reaches(graph, "_report", m) and _reaches(graph, m, "_report")}
    assert loop == {"_report", "plot", "_html"}


@pytest.mark.parametrize("module", CORE)
def test_the_core_imports_numpy_only(module: str) -> None:
    assert _third_party(module) <= {"numpy"}


def test_importing_the_core_loads_no_framework() -> None:
    code = (
        "import importlib, sys\n"
        f"for m in {CORE!r}: importlib.import_module('gradcheck.' + m)\n"
        f"print(sorted(h for h in {HEAVY!r} if h in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["[]"], out.stderr


def test_the_code_map_names_every_module() -> None:
    # docs/architecture.md: a newcomer finds the engine, the numerics, each strategy
    # and each adapter by file name (issue 13); a module added or removed is said there
    page = (SRC.parents[1] / "docs" / "architecture.md").read_text(encoding="utf-8")
    named = set(re.findall(r"`(\w+)\.py`", page))
    grouped = ("_jac", "_torch_", "_jax_")  # named by their group's line
    unnamed = {m for m in MODULES if m not in named and not m.startswith(grouped)}
    assert unnamed == {"__init__"}, f"name them in docs/architecture.md: {sorted(unnamed)}"
    assert named <= set(MODULES), "docs/architecture.md names a module that is gone"
