"""Every Python block in the README and the docs pages runs as written."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
# Pages whose examples are executed here (others run their own, next to their module's tests).
PAGES = [
    "README.md",
    "docs/buffering.md",
    "docs/calendar.md",
    "docs/errors.md",
    "docs/running-escalations.md",
]
BLOCK = re.compile(r"^( *)```python\n(.*?)^\1```", re.MULTILINE | re.DOTALL)


def _blocks(path: Path) -> list[str]:
    text = path.read_text(encoding="utf-8")
    out = []
    for indent, body in BLOCK.findall(text):
        lines = [line[len(indent) :] for line in body.splitlines()]
        out.append("\n".join(lines))
    return out


@pytest.mark.parametrize("page", PAGES)
def test_page_examples_run(page: str, capsys: pytest.CaptureFixture[str]) -> None:
    path = ROOT / page
    if not path.exists():  # pragma: no cover - installed without sources
        pytest.skip(f"{page} is not next to the tests")
    blocks = _blocks(path)
    assert blocks, f"{page} has no python examples"
    namespace: dict[str, Any] = {"__name__": f"docs_{path.stem}"}
    for block in blocks:
        exec(compile(block, str(path), "exec"), namespace)
