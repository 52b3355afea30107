"""promisekit.analysis as a package: exports, docstrings, doctests, optional numpy/pandas."""

from __future__ import annotations

import doctest
import inspect
import subprocess
import sys
from types import ModuleType

import pytest

import promisekit._vectorized_calendar as vectorized
import promisekit.analysis as analysis
from promisekit.analysis import _book, _columns, _fairness, _scoring, datasets
from promisekit.calendar import BusinessCalendar
from promisekit.datasets import callback_centre_history

MODULES = [analysis, datasets, _book, _columns, _fairness, _scoring, vectorized]


def isort_key(name: str) -> tuple[int, str]:
    """Constants, then classes, then the rest, each alphabetically (ruff's RUF022)."""
    kind = 0 if name.isupper() else 1 if name[:1].isupper() else 2
    return kind, name


@pytest.mark.parametrize("module", MODULES, ids=lambda m: m.__name__)
def test_all_is_sorted_and_complete(module: ModuleType) -> None:
    names = module.__all__
    assert names == sorted(names, key=isort_key)  # ruff's RUF022 order
    for name in names:
        assert hasattr(module, name), name
    if module is analysis:
        public = {
            name
            for name, value in vars(module).items()
            if not name.startswith("_")
            and name != "annotations"
            and (not isinstance(value, ModuleType) or name == "datasets")
        }
        assert set(names) == public


def public_objects() -> list[tuple[str, object]]:
    out: list[tuple[str, object]] = []
    for module in (analysis, datasets):
        for name in module.__all__:
            value = getattr(module, name)
            if isinstance(value, ModuleType) or not callable(value):
                continue  # constants are documented with #: comments
            out.append((f"{module.__name__}.{name}", value))
            if inspect.isclass(value):
                for attr, member in vars(value).items():
                    if attr.startswith("_") or not (
                        callable(member)
                        or isinstance(member, (property, classmethod, staticmethod))
                    ):
                        continue
                    out.append((f"{module.__name__}.{name}.{attr}", getattr(value, attr)))
    out.append(("BusinessCalendar.add_many", BusinessCalendar.add_many))
    out.append(("BusinessCalendar.between_many", BusinessCalendar.between_many))
    return out


@pytest.mark.parametrize(("name", "value"), public_objects(), ids=lambda x: str(x))
def test_public_names_are_documented_with_versionadded(name: str, value: object) -> None:
    doc = inspect.getdoc(value) or ""
    assert doc, f"{name} has no docstring"
    assert ".. versionadded:: 0.1.0" in doc, f"{name} has no versionadded"


@pytest.mark.parametrize("module", [analysis, datasets, _columns, _book], ids=lambda m: m.__name__)
def test_module_doctests(module: ModuleType) -> None:
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0


def test_calendar_method_doctests() -> None:
    finder = doctest.DocTestFinder()
    runner = doctest.DocTestRunner()
    import promisekit.calendar as calendar_module

    for test in finder.find(BusinessCalendar.add_many, "add_many", module=calendar_module):
        runner.run(test)
    assert runner.failures == 0
    assert runner.tries > 0


def run(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)


def test_import_promisekit_does_not_import_analysis() -> None:
    out = run(
        "import sys, promisekit; "
        "print([m for m in ('promisekit.analysis', 'numpy', 'pandas') if m in sys.modules])"
    )
    assert out.stdout.strip() == "[]", out.stderr


def test_analysis_does_not_import_pandas_eagerly() -> None:
    out = run("import sys, promisekit.analysis; print('pandas' in sys.modules)")
    assert out.stdout.strip() == "False", out.stderr


def test_missing_numpy_names_the_extra() -> None:
    code = (
        "import sys; sys.modules['numpy'] = None\n"
        "from promisekit.errors import MissingDependencyError\n"
        "try:\n"
        "    import promisekit.analysis\n"
        "except MissingDependencyError as exc:\n"
        "    print(exc)\n"
    )
    out = run(code)
    assert "promisekit.analysis needs the optional dependency 'numpy'" in out.stdout, out.stderr
    assert "pip install 'promisekit[analysis]'" in out.stdout


def test_missing_pandas_for_dataframes(monkeypatch: pytest.MonkeyPatch) -> None:
    from promisekit.errors import MissingDependencyError

    book = analysis.PromiseBook.from_frame(callback_centre_history(50, as_frame=False))
    monkeypatch.setitem(sys.modules, "pandas", None)
    with pytest.raises(MissingDependencyError, match=r"PromiseBook\.summary\(\) needs"):
        book.summary()
    with pytest.raises(MissingDependencyError, match="'pandas'"):
        book.outcomes()
    assert "<table>" in book._repr_html_()  # the HTML view needs no pandas
