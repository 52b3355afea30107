"""The guide docs/escalation.md runs: its python blocks execute in order, in one namespace."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[1] / "docs" / "escalation.md"


def python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.S)


def test_the_guide_has_examples() -> None:
    assert len(python_blocks()) >= 8


def test_the_guide_runs(capsys: pytest.CaptureFixture[str]) -> None:
    namespace: dict[str, object] = {"__name__": "escalation_guide"}
    for index, block in enumerate(python_blocks()):
        try:
            exec(compile(block, f"{DOC.name}[block {index}]", "exec"), namespace)
        except Exception as exc:  # pragma: no cover - the message says which block failed
            pytest.fail(f"block {index} of {DOC.name} failed: {exc!r}\n{block}")
    assert "le mercredi 11 mars 2026" in capsys.readouterr().out


def test_the_figure_exists() -> None:
    assert (DOC.parent / "img" / "escalation-timeline.png").stat().st_size > 10_000
