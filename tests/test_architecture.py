"""The house rules, checked: imports inside promisekit only point down, rooms stay small.

The import graph is read from the source with :mod:`ast` (nothing is imported): every
``import`` and ``from … import`` of a ``promisekit`` module, at module level or inside a
function, counts, except those under ``if TYPE_CHECKING:`` (annotations only) and the
explicitly named lazy seams below. Importing ``promisekit.a.b`` from outside package
``promisekit.a`` also runs ``promisekit/a/__init__.py``, so it counts as an edge to the
package too.
"""

from __future__ import annotations

import ast
from pathlib import Path

import promisekit

SRC = Path(promisekit.__file__).parent

#: Deliberate function-level imports that would close a cycle if they were at module
#: level; each is a documented seam (importer, imported).
LAZY_SEAMS: frozenset[tuple[str, str]] = frozenset(
    {
        # A model's fit() delegates to the fitting code, which depends on the model
        # classes (satisfaction._base._fit_seam).
        ("promisekit.satisfaction._base", "promisekit.satisfaction"),
        ("promisekit.satisfaction._base", "promisekit.satisfaction._fit"),
        # The one sample-data module: its columnar histories are computed by the
        # analysis layer (numpy), loaded when one is asked for (datasets._histories).
        ("promisekit.datasets", "promisekit.analysis"),
        ("promisekit.datasets", "promisekit.analysis._histories"),
    }
)

#: Modules allowed to exceed MAX_LINES, with the reason.
LARGE_MODULES: dict[str, str] = {
    "promisekit.analysis._book": "one class (PromiseBook), mostly the docstrings of its methods",
}

MAX_LINES = 650


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(tree: ast.AST, module: str, is_package: bool) -> set[str]:
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".")
                if not is_package:
                    base = base[:-1]
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            found.add(target)
            # ``from package import submodule`` imports the submodule.
            found.update(f"{target}.{alias.name}" for alias in node.names)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return found


def _graph() -> dict[str, set[str]]:
    files = {_module_name(p): p for p in SRC.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in files.items():
        is_package = path.name == "__init__.py"
        edges: set[str] = set()
        for target in _imports(ast.parse(path.read_text("utf-8")), name, is_package):
            if target not in files or target == name or (name, target) in LAZY_SEAMS:
                continue
            edges.add(target)
            # Importing a module of another package runs that package's __init__ first.
            parts = target.split(".")
            for i in range(2, len(parts)):
                parent = ".".join(parts[:i])
                if parent in files and not (name == parent or name.startswith(parent + ".")):
                    edges.add(parent)
        graph[name] = edges
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []

    def strong(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            strong(v)
    return out


def test_no_import_cycle() -> None:
    cycles = _cycles(_graph())
    assert cycles == [], "import cycles inside promisekit: " + "; ".join(
        " <-> ".join(c) for c in cycles
    )


def test_cycle_detector_finds_a_cycle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _cycles(graph) == [["a", "b", "c"]]


def test_relative_imports_are_resolved() -> None:
    tree = ast.parse("from . import _x\nfrom ..errors import E\n")
    assert _imports(tree, "promisekit.pkg.mod", is_package=False) >= {
        "promisekit.pkg._x",
        "promisekit.errors",
    }


def test_rooms_stay_small() -> None:
    sizes = {_module_name(p): len(p.read_text("utf-8").splitlines()) for p in SRC.rglob("*.py")}
    large = {name: n for name, n in sizes.items() if n > MAX_LINES}
    assert set(large) <= set(LARGE_MODULES), f"modules over {MAX_LINES} lines: {large}"
