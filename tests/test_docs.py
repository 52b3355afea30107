"""Every Python block in the README and the docs pages runs as written."""

from __future__ import annotations

import re
import sys
import types
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
    "docs/helpdesk-slas.md",
    "docs/notebook-analysis.md",
    "docs/running-escalations.md",
    "docs/satisfaction.md",
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
    # a registered module, so that classes the examples define can be pickled
    module = types.ModuleType(f"docs_{path.stem.replace('-', '_')}")
    sys.modules[module.__name__] = module
    namespace: dict[str, Any] = module.__dict__
    try:
        for block in blocks:
            exec(compile(block, str(path), "exec"), namespace)
    finally:
        del sys.modules[module.__name__]


def test_every_code_fence_closes_on_a_line_of_its_own() -> None:
    """A closing fence with text after it does not close the block (CommonMark): the
    rest of the page would render as code, and the examples here would run cut."""
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
    problems = []
    for path in pages:
        opened: str | None = None
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            stripped = line.strip()
            if not stripped.startswith("```"):
                continue
            if opened is None:
                opened = line[: len(line) - len(line.lstrip())]
                if not re.fullmatch(r"```[\w+-]*( .*)?", stripped):
                    problems.append(f"{path.name}:{number}: odd opening fence {line!r}")
            elif stripped == "```":
                opened = None
            else:
                problems.append(f"{path.name}:{number}: text after a closing fence {line!r}")
                opened = None
        if opened is not None:
            problems.append(f"{path.name}: a code block is never closed")
    assert not problems, "\n".join(problems)
