"""The README's two set-up commands stay true: CI runs exactly the documented test command."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _readme_commands() -> list[str]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    setup = readme.split("## Set-up", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```sh\n\s*(.+?)\n\s*```", setup)


def test_readme_has_two_setup_commands() -> None:
    if not (ROOT / "README.md").exists():  # pragma: no cover - installed without sources
        pytest.skip("README.md is not next to the tests")
    commands = _readme_commands()
    assert len(commands) == 2
    assert "promisekit demo" in commands[0]
    assert "pytest" in commands[1]


def test_ci_runs_the_readme_commands() -> None:
    ci = ROOT / ".ci" / "run"
    if not ci.exists():  # pragma: no cover
        pytest.skip(".ci/run is not next to the tests")
    lines = {line.strip() for line in ci.read_text(encoding="utf-8").splitlines()}
    main_job, tests = _readme_commands()
    assert tests in lines
    assert any(line.startswith(main_job) for line in lines)
