"""Public surface of promisekit.satisfaction and promisekit.impact: exports, docs, imports."""

from __future__ import annotations

import doctest
import importlib
import inspect
import re
import subprocess
import sys
import types
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

import promisekit.impact as impact
import promisekit.satisfaction as satisfaction

ROOT = Path(__file__).resolve().parents[1]
PRIVATE = [
    "promisekit.satisfaction._compensation",
    "promisekit.satisfaction._diagnostics",
    "promisekit.satisfaction._expectation",
    "promisekit.satisfaction._fit",
    "promisekit.satisfaction._fitted",
    "promisekit.satisfaction._labels",
    "promisekit.satisfaction._models",
    "promisekit.satisfaction._value",
]
MODULES = ["promisekit.satisfaction", *PRIVATE, "promisekit.impact"]


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
    for name in PRIVATE:
        exported |= set(importlib.import_module(name).__all__)
    assert exported == set(satisfaction.__all__)


def _documented_objects() -> list[tuple[str, object]]:
    found: list[tuple[str, object]] = []
    for module in (satisfaction, impact):
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
    # the models' shared methods live on their private base class
    for attr, member in vars(satisfaction._models._ModelBase).items():
        if attr.startswith("_"):
            continue
        if isinstance(member, property):
            member = member.fget
        found.append((f"Disconfirmation.{attr}", member))
    return found


@pytest.mark.parametrize(("name", "obj"), _documented_objects())
def test_public_names_have_docstrings_with_versionadded(name: str, obj: Any) -> None:
    if isinstance(obj, classmethod):
        obj = obj.__func__
    doc = inspect.getdoc(obj) or ""
    assert doc.strip(), f"{name} has no docstring"
    assert ".. versionadded:: 0.1.0" in doc, f"{name} lacks '.. versionadded:: 0.1.0'"


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name: str) -> None:
    module = importlib.import_module(name)
    result = doctest.testmod(module, extraglobs=vars(satisfaction), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0


def test_import_stays_light() -> None:
    code = (
        "import sys, promisekit.satisfaction, promisekit.impact; "
        "print(sorted(m for m in ('numpy', 'pandas', 'scipy', 'matplotlib') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"


@pytest.mark.parametrize("missing", ["numpy", "scipy"])
def test_fitting_without_the_analysis_extra(missing: str) -> None:
    code = f"""
import sys
sys.modules[{missing!r}] = None
from datetime import datetime, timedelta, timezone
from promisekit.errors import MissingDependencyError
from promisekit.satisfaction import Disconfirmation, Expectation
t = datetime(2026, 1, 1, tzinfo=timezone.utc)
e = Expectation(kind="callback", made_at=t, due=t + timedelta(hours=1))
o = e.completed(t + timedelta(minutes=30))
model = Disconfirmation()
assert model.score(e, o).label.name == "VERY_SATISFIED"   # scoring needs no extra
try:
    model.fit([e], [o], [4])
except MissingDependencyError as exc:
    assert isinstance(exc, ImportError)
    print(exc)
"""
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert f"Disconfirmation.fit needs the optional dependency {missing!r}" in out
    assert "pip install 'promisekit[analysis]'" in out


@pytest.mark.parametrize("page", ["satisfaction.md", "impact.md"])
def test_doc_pages_run(page: str) -> None:
    path = ROOT / "docs" / page
    blocks = re.findall(r"```python\n(.*?)```", path.read_text(encoding="utf-8"), re.DOTALL)
    assert len(blocks) >= 4
    # a registered module, so that classes the examples define can be pickled
    module = types.ModuleType(f"docs_{path.stem.replace('-', '_')}")
    sys.modules[module.__name__] = module
    namespace: dict[str, Any] = module.__dict__
    try:
        for index, block in enumerate(blocks):
            exec(compile(block, f"{path.name}[block {index}]", "exec"), namespace)
    finally:
        del sys.modules[module.__name__]


def test_the_guides_own_model_keeps_the_contract() -> None:
    """The "Writing your own model" example passes check_satisfaction_model."""
    text = (ROOT / "docs" / "satisfaction.md").read_text(encoding="utf-8")
    section = text.split("## Writing your own model", 1)[1].split("\n## ", 1)[0]
    (block,) = re.findall(r"```python\n(.*?)```", section, re.DOTALL)
    assert "check_satisfaction_model(OnTimeOrNot()" in block
    module = types.ModuleType("docs_own_model")
    sys.modules[module.__name__] = module
    try:
        exec(compile(block, "satisfaction.md[own model]", "exec"), module.__dict__)
        from promisekit.testing.contracts import check_satisfaction_model

        check_satisfaction_model(module.__dict__["OnTimeOrNot"](penalty=2.0), max_examples=10)
    finally:
        del sys.modules[module.__name__]


def test_value_function_figure_is_shipped() -> None:
    script = ROOT / "docs" / "img" / "make_value_function.py"
    image = ROOT / "docs" / "img" / "value-function.png"
    assert image.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "value-function.png" in script.read_text(encoding="utf-8")
    assert "img/value-function.png" in (ROOT / "docs" / "satisfaction.md").read_text("utf-8")


@pytest.mark.parametrize(
    ("model", "loss_averse"),
    [
        (satisfaction.Disconfirmation(), True),
        (satisfaction.ZoneOfTolerance(0.0, 0.5), True),
        (satisfaction.ZoneOfTolerance(-0.1, 0.5), False),  # slightly late is within the zone
    ],
    ids=repr,
)
def test_built_in_models_keep_the_plugin_contract(model: Any, loss_averse: bool) -> None:
    from promisekit.testing import contracts

    contracts.check_satisfaction_model(model, max_examples=10, loss_averse=loss_averse)
