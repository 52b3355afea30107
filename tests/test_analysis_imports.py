"""The module graph: no import cycle, no lazy import dodging one, every module's doctests run.

Module-level imports (outside ``if TYPE_CHECKING:`` blocks) must form a graph without
cycles. In the analysis-side packages (satisfaction, buffering, testing, analysis,
datasets, plotting, impact, commitments), a function may import another promisekit
module only through a documented seam listed here; lazy imports of the optional heavy
dependencies (numpy, scipy, pandas, matplotlib...) are not promisekit modules and are
not concerned.
"""

from __future__ import annotations

import ast
import doctest
import importlib
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "promisekit"
AREA = [
    "satisfaction",
    "buffering",
    "testing",
    "analysis",
    "datasets.py",
    "_plotting.py",
    "impact.py",
    "commitments.py",
]
# (module, imported module): the function-level promisekit imports that are allowed.
SEAMS = {
    # the models reach the fitting code through one function (_fit depends on the models)
    ("promisekit.satisfaction._base", "promisekit.satisfaction._fit"),
    # the light datasets module imports the numpy generators of its columnar histories
    # when one is called (they import it at module level, for the calendar and constants)
    ("promisekit.datasets", "promisekit.analysis._histories"),
}


def _modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


MODULES = _modules()


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _targets(module: str, node: ast.Import | ast.ImportFrom) -> Iterator[str]:
    if isinstance(node, ast.Import):
        yield from (alias.name for alias in node.names if alias.name in MODULES)
        return
    base = node.module or ""
    if node.level:
        package = module if MODULES[module].name == "__init__.py" else module.rpartition(".")[0]
        for _ in range(node.level - 1):
            package = package.rpartition(".")[0]
        base = f"{package}.{base}" if base else package
    for alias in node.names:
        if f"{base}.{alias.name}" in MODULES:
            yield f"{base}.{alias.name}"
        elif base in MODULES:
            yield base


def _module_level(tree: ast.Module) -> Iterator[ast.Import | ast.ImportFrom]:
    for node in tree.body:
        if isinstance(node, ast.If) and _is_type_checking(node):
            continue
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        elif isinstance(node, (ast.If, ast.Try)):
            for inner in ast.walk(node):
                if isinstance(inner, (ast.Import, ast.ImportFrom)):
                    yield inner


def _function_level(tree: ast.Module) -> Iterator[ast.Import | ast.ImportFrom]:
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for inner in ast.walk(node):
                if isinstance(inner, (ast.Import, ast.ImportFrom)):
                    yield inner


def _graph() -> dict[str, set[str]]:
    graph = {}
    for module, path in MODULES.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        graph[module] = {
            target for node in _module_level(tree) for target in _targets(module, node)
        } - {module}
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}  # 1 = on the path, 2 = done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for target in sorted(graph[node]):
            if state.get(target) == 1:
                return [*path[path.index(target) :], target]
            if target not in state and (found := visit(target)):
                return found
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def _in_area(module: str) -> bool:
    rest = module.removeprefix("promisekit.")
    return any(rest == a.removesuffix(".py") or rest.startswith(f"{a}.") for a in AREA)


def test_module_level_imports_have_no_cycle() -> None:
    assert _cycle(_graph()) is None


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


def test_function_level_promisekit_imports_are_documented_seams() -> None:
    lazy = set()
    for module, path in MODULES.items():
        if not _in_area(module):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in _function_level(tree):
            lazy |= {(module, target) for target in _targets(module, node)}
    assert lazy <= SEAMS


AREA_MODULES = sorted(m for m in MODULES if _in_area(m))


@pytest.mark.parametrize("name", AREA_MODULES)
def test_every_module_runs_its_doctests(name: str) -> None:
    """Also the private modules behind a facade (doctest only looks at a module's own objects)."""
    module = importlib.import_module(name)
    package = importlib.import_module(".".join(name.split(".")[:2]))
    result = doctest.testmod(module, extraglobs=vars(package), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
