"""Every Python block of docs/plugins.md runs as written, in one module namespace."""

from __future__ import annotations

import re
import sys
import types
from pathlib import Path

import pytest

from promisekit import plugins

PAGE = Path(__file__).resolve().parent.parent / "docs" / "plugins.md"
BLOCK = re.compile(r"^```python\n(.*?)^```", re.MULTILINE | re.DOTALL)


def test_plugins_page_examples_run(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    if not PAGE.exists():  # pragma: no cover - installed without sources
        pytest.skip("docs/plugins.md is not next to the tests")
    monkeypatch.delenv(plugins.DISABLE_AUTOLOAD_ENV, raising=False)
    monkeypatch.delenv(plugins.BLOCKED_ENV, raising=False)
    blocks = BLOCK.findall(PAGE.read_text(encoding="utf-8"))
    assert len(blocks) >= 8
    # A real module, so that the classes the page defines pickle (the contract checks it).
    module = types.ModuleType("docs_plugins")
    monkeypatch.setitem(sys.modules, module.__name__, module)
    for block in blocks:
        exec(compile(block, str(PAGE), "exec"), module.__dict__)
    out = capsys.readouterr().out
    for block in blocks:
        # Each "# ..." comment right after a print() is the output it shows.
        for expected in re.findall(r"^print\(.*\)\n((?:# .*\n)+)", block, re.MULTILINE):
            text = " ".join(line[2:] for line in expected.splitlines())
            assert _matches(text, out), f"{text!r} not in the output:\n{out}"


def _squash(text: str) -> str:
    return " ".join(text.split())


def _matches(shown: str, out: str) -> bool:
    """Whether ``out`` contains ``shown``, where ``...`` in ``shown`` stands for anything."""
    parts = [re.escape(part) for part in _squash(shown).split("...")]
    return re.search(".*?".join(parts), _squash(out)) is not None
