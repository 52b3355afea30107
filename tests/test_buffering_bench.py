"""The backtest benchmark's columnar and optimal parts run and agree (tiny sizes)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

pytest.importorskip("numpy")

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_backtest.py"


def _bench() -> object:
    spec = importlib.util.spec_from_file_location("bench_backtest", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_backtest"] = module
    spec.loader.exec_module(module)
    return module


@pytest.mark.skipif(not BENCH.exists(), reason="benchmarks are not next to the tests")
def test_columnar_part_agrees_with_the_numpy_reference(capsys: pytest.CaptureFixture[str]) -> None:
    bench = _bench()
    status = bench.main(["--part", "columnar", "--columnar", "3000", "--segments", "2", "40"])  # type: ignore[attr-defined]
    out = capsys.readouterr().out
    assert status == 0
    assert out.count("agree: yes") == 2
    assert "hand-written numpy replay (ref.)" in out


@pytest.mark.skipif(not BENCH.exists(), reason="benchmarks are not next to the tests")
def test_optimal_part_checks_the_summarized_searches(capsys: pytest.CaptureFixture[str]) -> None:
    bench = _bench()
    status = bench.main(["--part", "optimal"])  # type: ignore[attr-defined]
    out = capsys.readouterr().out
    assert status == 0
    assert "plain callable, full search (ref.)" in out
    assert "numpy, vectorized=True, summary 256" in out
    assert "closed form as good as the search: yes; summaries within" in out
