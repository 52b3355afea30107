"""Every Python block of docs/analysis.md runs as written (in order, one namespace)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

PAGE = Path(__file__).resolve().parent.parent / "docs" / "analysis.md"
BLOCK = re.compile(r"^( *)```python\n(.*?)^\1```", re.MULTILINE | re.DOTALL)


def test_analysis_page_examples_run(capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("pandas")
    if not PAGE.exists():  # pragma: no cover - installed without sources
        pytest.skip("docs/analysis.md is not next to the tests")
    blocks = [body for _, body in BLOCK.findall(PAGE.read_text(encoding="utf-8"))]
    assert len(blocks) >= 5
    namespace: dict[str, Any] = {"__name__": "docs_analysis"}
    for block in blocks:
        exec(compile(block, str(PAGE), "exec"), namespace)
    out = capsys.readouterr().out
    assert "Fairness by 'segment'" in out
