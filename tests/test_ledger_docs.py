"""Run the python blocks of docs/crm-integration.md, in order, in an empty directory."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parent.parent / "docs" / "crm-integration.md"


def python_blocks(text: str) -> list[str]:
    return re.findall(r"^```python\n(.*?)^```", text, flags=re.DOTALL | re.MULTILINE)


def test_the_crm_guide_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocks = python_blocks(DOC.read_text(encoding="utf-8"))
    assert len(blocks) >= 10
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {"__name__": "crm_guide"}
    try:
        for index, block in enumerate(blocks):
            code = compile(block, f"{DOC.name}[block {index}]", "exec")
            exec(code, namespace)
    finally:
        ledger = namespace.get("ledger")
        close = getattr(ledger, "close", None)
        if callable(close):
            close()
