"""The ``promisekit`` command."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta

import pytest

from promisekit.cli import format_duration, format_table, main


def test_demo_prints_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    assert "late (real)" in out
    assert "late (biz)" in out
    for status in ("kept", "late", "short", "pending"):
        assert f"  {status}  " in out or f"  {status} " in out
    assert "promises kept" in out


def test_demo_is_deterministic(capsys: pytest.CaptureFixture[str]) -> None:
    main(["demo", "--n", "20", "--seed", "3"])
    first = capsys.readouterr().out
    main(["demo", "--n", "20", "--seed", "3"])
    assert capsys.readouterr().out == first
    assert first.count("\nP00") == 20


def test_demo_bad_n(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--n", "0"]) == 1
    assert "'n' must be at least 1" in capsys.readouterr().err


def test_no_command_prints_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert "demo" in capsys.readouterr().out


def test_console_script_entry_point() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "promisekit.cli", "--version"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.startswith("promisekit 0.1.0")


@pytest.mark.parametrize(
    ("delta", "text"),
    [
        (None, "-"),
        (timedelta(0), "0m"),
        (timedelta(seconds=59), "0m"),
        (timedelta(minutes=-12), "-12m"),
        (timedelta(hours=1, minutes=5), "+1h05m"),
        (timedelta(days=2, hours=3), "+2d3h"),
        (timedelta(days=-2), "-2d"),
    ],
)
def test_format_duration(delta: timedelta | None, text: str) -> None:
    assert format_duration(delta) == text


def test_format_table_aligns() -> None:
    table = format_table(["a", "long header"], [["xyz", "1"], ["", "22"]])
    lines = table.splitlines()
    assert lines[0] == "a    long header"
    assert lines[2] == "xyz  1"
