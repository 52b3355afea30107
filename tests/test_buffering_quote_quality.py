"""The acceptance experiment, small: ``benchmarks/quote_quality.py --small``.

At equal mean window, the conditional calibrated quotes keep more promises than the
per-route empirical quantile and than the reference schedule plus a constant shift;
adaptive conformal inference keeps every month within 2 points of the stated 90 %.
"""

from __future__ import annotations

import importlib.util
import sys
from datetime import datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

SCRIPT = Path(__file__).resolve().parent.parent / "benchmarks" / "quote_quality.py"


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    name = "promisekit_bench_quote_quality"
    spec = importlib.util.spec_from_file_location(name, SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def result(bench: ModuleType) -> dict[str, Any]:
    history, parents = bench.make_data(7, months=8, per_day=60.0)
    out: dict[str, Any] = bench.experiment(history, parents, datetime(2026, 2, 1))
    return out


def test_equal_mean_window(result: dict[str, Any]) -> None:
    rows = {name: (mean, kept) for name, _, mean, kept in result["table1"]}
    means = [mean for mean, _ in rows.values()]
    assert max(means) - min(means) < 0.2  # minutes: every policy at the same mean window
    calibrated = rows["conditional + split conformal"][1]
    assert calibrated > rows["per-route empirical quantile"][1] + 0.01
    assert calibrated > rows["reference schedule + constant shift"][1] + 0.01
    assert rows["conditional on reference + conformal"][1] > calibrated - 0.005
    located = rows["conditional, log location + conformal"][1]
    assert located > calibrated
    assert rows["log location + conformal + budget"][1] >= located - 0.005


def test_adaptive_calibration_per_month(result: dict[str, Any]) -> None:
    months = result["table2"]
    assert len(months) == 4
    for _, _, _, adaptive, _ in months:
        assert abs(adaptive - 0.9) <= 0.02


def test_report_prints(bench: ModuleType, result: dict[str, Any]) -> None:
    text = bench.report(result)
    assert "Table 1" in text
    assert "Table 2" in text
    assert "adaptive: largest monthly gap" in text


def test_queue_predictors_table(bench: ModuleType) -> None:
    rows = {name: (error, coverage) for name, error, coverage in bench.queue_table(10_000, 7)}
    blind = rows["state-blind (past mean; p90)"][0]
    assert rows["queue length (QL)"][0] < blind
    assert rows["head of line (HOL)"][0] < blind
    for name in ("queue length (QL)", "head of line (HOL)"):
        assert abs(rows[name][1] - 0.9) < 0.04
