"""Package-level checks: public exports, version, typing marker, light import."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import promisekit


def test_all_matches_public_names() -> None:
    # dir(), not vars(): the domain classes load on first attribute access (PEP 562).
    public = {
        name
        for name in dir(promisekit)
        if not name.startswith("_") and not isinstance(getattr(promisekit, name), type(sys))
    }
    public.discard("annotations")
    assert sorted(promisekit.__all__) == promisekit.__all__
    assert set(promisekit.__all__) - {"__version__"} == public


def test_every_export_resolves_and_is_documented() -> None:
    for name in promisekit.__all__:
        value = getattr(promisekit, name)
        if name != "__version__":
            assert value.__doc__, f"{name} has no docstring"


def test_version() -> None:
    assert promisekit.__version__.startswith("0.1.0")
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        promisekit.nope  # noqa: B018


def test_py_typed_is_shipped() -> None:
    assert (Path(promisekit.__file__).parent / "py.typed").exists()


def test_domain_classes_load_on_first_use() -> None:
    code = (
        "import sys, promisekit; "
        "before = sorted(m for m in sys.modules if m.startswith('promisekit')); "
        "cls = promisekit.Promise; "
        "print(before, 'promisekit.promise' in sys.modules, cls.__module__)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert out == "['promisekit', 'promisekit.errors'] True promisekit.promise"


def test_import_is_light() -> None:
    code = (
        "import sys, promisekit; "
        "heavy = [m for m in ('numpy', 'pandas', 'scipy', 'matplotlib', 'cattrs', "
        "'hypothesis', 'dateutil.rrule', 'importlib.metadata') if m in sys.modules]; "
        "print(','.join(heavy))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert out == ""


def test_huge_integers_are_refused_clearly() -> None:
    from promisekit import InvalidValueError, Terms

    with pytest.raises(InvalidValueError, match=r"'quantity' must be a finite number.*too large"):
        Terms(quantity=10**400)
