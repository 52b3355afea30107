"""Public surface of promisekit.buffering and promisekit.commitments: exports, docs, imports."""

from __future__ import annotations

import doctest
import importlib
import inspect
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

import promisekit.buffering as buffering
import promisekit.commitments as commitments

MODULES = [
    "promisekit.buffering",
    "promisekit.buffering._backtest",
    "promisekit.buffering._backtest_columns",
    "promisekit.buffering._budget",
    "promisekit.buffering._calibration",
    "promisekit.buffering._capability",
    "promisekit.buffering._columns",
    "promisekit.buffering._conditional",
    "promisekit.buffering._conformal",
    "promisekit.buffering._gbm",
    "promisekit.buffering._grid",
    "promisekit.buffering._grid_capability",
    "promisekit.buffering._history",
    "promisekit.buffering._negotiation",
    "promisekit.buffering._optimal",
    "promisekit.buffering._policies",
    "promisekit.buffering._queue_predictors",
    "promisekit.commitments",
]


def _public_names(module: ModuleType) -> set[str]:
    return {
        name
        for name, value in vars(module).items()
        if not name.startswith("_")
        and (inspect.isclass(value) or inspect.isfunction(value))
        and getattr(value, "__module__", "").startswith(module.__name__)
    }


@pytest.mark.parametrize("name", MODULES)
def test_all_lists_the_public_names(name: str) -> None:
    module = importlib.import_module(name)
    exported = set(module.__all__)
    assert _public_names(module) <= exported
    assert all(hasattr(module, n) for n in exported)
    if not name.split(".")[-1].startswith("_"):
        assert list(module.__all__) == sorted(module.__all__, key=lambda n: (not n.isupper(), n))


def test_package_reexports_every_private_module_export() -> None:
    exported: set[str] = set()
    for name in MODULES[1:-1]:
        exported |= set(importlib.import_module(name).__all__)
    assert exported == set(buffering.__all__)


def _documented_objects() -> list[tuple[str, object]]:
    found: list[tuple[str, object]] = []
    for module in (buffering, commitments):
        for name in module.__all__:
            value = getattr(module, name)
            if not (inspect.isclass(value) or inspect.isfunction(value)):
                continue
            found.append((f"{module.__name__}.{name}", value))
            if inspect.isclass(value):
                for attr, member in vars(value).items():
                    if attr.startswith("_"):
                        continue
                    if isinstance(member, property):
                        member = member.fget
                    if inspect.isfunction(member) or isinstance(member, classmethod):
                        found.append((f"{module.__name__}.{name}.{attr}", member))
    return found


@pytest.mark.parametrize(("name", "obj"), _documented_objects())
def test_public_names_have_docstrings_with_versionadded(name: str, obj: object) -> None:
    if isinstance(obj, classmethod):
        obj = obj.__func__
    doc = inspect.getdoc(obj) or ""
    assert doc.strip(), f"{name} has no docstring"
    assert ".. versionadded:: 0.1.0" in doc, f"{name} lacks '.. versionadded:: 0.1.0'"


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name: str) -> None:
    module = importlib.import_module(name)
    result = doctest.testmod(module, extraglobs=vars(buffering), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0


def test_import_stays_light() -> None:
    code = (
        "import sys, promisekit.buffering, promisekit.commitments; "
        "print(sorted(m for m in ('numpy', 'pandas', 'scipy') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"


def test_buffering_guide_examples_run() -> None:
    guide = Path(__file__).resolve().parents[1] / "docs" / "buffering.md"
    result = doctest.testfile(
        str(guide), module_relative=False, optionflags=doctest.ELLIPSIS, verbose=False
    )
    assert result.attempted > 20
    assert result.failed == 0
