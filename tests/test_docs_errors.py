"""docs/errors.md documents every error and warning class the public modules export."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
from pathlib import Path

import pytest

import promisekit
from promisekit.errors import PromiseKitError, PromiseKitWarning

ROOT = Path(__file__).resolve().parent.parent
ERRORS_PAGE = ROOT / "docs" / "errors.md"


def _public_modules() -> list[str]:
    names = ["promisekit"]
    for info in pkgutil.walk_packages(promisekit.__path__, "promisekit."):
        if not any(part.startswith("_") for part in info.name.split(".")):
            names.append(info.name)
    return names


def _exported_errors() -> dict[str, set[str]]:
    """Each exported PromiseKitError / PromiseKitWarning subclass, with the modules exporting it."""
    found: dict[str, set[str]] = {}
    for name in _public_modules():
        try:
            module = importlib.import_module(name)
        except ImportError:  # pragma: no cover - an optional dependency is missing
            continue
        for attr in getattr(module, "__all__", ()):
            value = getattr(module, attr, None)
            if inspect.isclass(value) and issubclass(value, (PromiseKitError, PromiseKitWarning)):
                found.setdefault(value.__name__, set()).add(name)
    return found


def test_the_walk_finds_the_errors_of_every_layer() -> None:
    found = _exported_errors()
    for name in ("PromiseKitError", "UnknownPromiseError", "PluginError", "StoreError"):
        assert name in found


@pytest.mark.parametrize("name", sorted(_exported_errors()))
def test_every_exported_error_is_documented(name: str) -> None:
    page = ERRORS_PAGE.read_text(encoding="utf-8")
    # In a table row of its own: `Name` | ...
    assert re.search(rf"^\| `{name}` \|", page, flags=re.MULTILINE), (
        f"docs/errors.md has no table row for {name} (exported by "
        f"{', '.join(sorted(_exported_errors()[name]))})"
    )
