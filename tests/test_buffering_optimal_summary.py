"""OptimalBuffer's summarized search: K weighted points for the search, exact scores at the end."""

from __future__ import annotations

import math
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from promisekit.buffering import EmpiricalCapability, OptimalBuffer
from promisekit.buffering._optimal import _support
from promisekit.buffering._optimal_summary import summarize, summarize_array, summary_error
from promisekit.errors import InvalidTypeError, InvalidValueError

M = timedelta(minutes=1)
H = timedelta(hours=1)


def _eps(cap: EmpiricalCapability, points: int, k: int) -> float:
    """The documented bound per unit of variation: ``ceil(m / k) / m``."""
    return summary_error(len(_support(cap, points)), k)


@settings(max_examples=80, deadline=None)
@given(
    values=st.lists(st.integers(-50, 5000), min_size=1, max_size=400),
    k=st.integers(16, 64),
    cut=st.integers(-100, 5100),
)
def test_summary_weights_and_error_bound(values: list[int], k: int, cut: int) -> None:
    values.sort()
    points, weights, exact = summarize(values, k)
    assert len(points) <= k and math.isclose(sum(weights), 1.0)
    assert points == sorted(points) and set(points) <= set(values)
    assert exact == (len(set(values)) <= k)
    # A step at ``cut`` (variation 1): the summary's mean is within the bound.
    full = sum(1 for v in values if v <= cut) / len(values)
    summary = sum(w for p, w in zip(points, weights, strict=True) if p <= cut)
    bound = 1e-12 if exact else summary_error(len(values), k) + 1e-12
    assert abs(summary - full) <= bound
    np = pytest.importorskip("numpy")
    a_points, a_weights, a_exact = summarize_array(np, np.asarray(values, dtype=np.int64), k)
    assert a_exact == exact and a_points.tolist() == points
    assert a_weights.tolist() == pytest.approx(weights, abs=1e-15)


def _step(on_time: float, late: float) -> Any:
    def step(lateness: timedelta, window: timedelta) -> float:
        return on_time if lateness <= timedelta(0) else late

    return step


def _clipped(lateness: timedelta, window: timedelta) -> float:
    """Linear lateness cost capped at 2 h: total variation 2 in lateness."""
    return -min(max(lateness / H, 0.0), 2.0) - 0.2 * (window / H)


samples = st.lists(st.integers(0, 600), min_size=1, max_size=150)


@settings(max_examples=40, deadline=None)
@given(
    minutes=samples,
    on_time=st.floats(0.5, 2.0),
    late=st.floats(-1.0, 0.4),
    cost=st.floats(0.0, 3.0),
    k=st.integers(16, 40),
)
def test_summarized_search_is_within_two_eps_of_the_full_search(
    minutes: list[int], on_time: float, late: float, cost: float, k: int
) -> None:
    cap = EmpiricalCapability.from_durations([m * M for m in minutes])
    for satisfaction, variation in ((_step(on_time, late), on_time - late), (_clipped, 2.0)):
        full = OptimalBuffer(satisfaction, quote_cost=cost, summary_points=None)
        fast = OptimalBuffer(satisfaction, quote_cost=cost, summary_points=k)
        optimum = full.objective(cap, full.optimal_window(cap))
        found = full.objective(cap, fast.optimal_window(cap))
        if len(set(minutes)) <= k:  # the summary is the sample: the same search
            assert found == pytest.approx(optimum, rel=1e-9, abs=1e-9)
        else:
            assert found >= optimum - 2 * variation * _eps(cap, 2000, k) - 1e-9


@settings(max_examples=30, deadline=None)
@given(minutes=samples, cost=st.floats(0.0, 3.0), k=st.integers(16, 40))
def test_vectorized_summarized_search_is_within_two_eps_of_the_full_search(
    minutes: list[int], cost: float, k: int
) -> None:
    np = pytest.importorskip("numpy")
    zero = np.timedelta64(0, "us")
    hour = np.timedelta64(3_600_000_000, "us")

    def step(lateness: Any, window: Any) -> Any:
        return np.where(lateness <= zero, 1.0, 0.0)

    def clipped(lateness: Any, window: Any) -> Any:
        return -np.minimum(np.maximum(lateness / hour, 0.0), 2.0) - 0.2 * (window / hour)

    cap = EmpiricalCapability.from_durations([m * M for m in minutes])
    for vector, scalar, variation in ((step, _step(1.0, 0.0), 1.0), (clipped, _clipped, 2.0)):
        full = OptimalBuffer(vector, quote_cost=cost, vectorized=True, summary_points=None)
        fast = OptimalBuffer(vector, quote_cost=cost, vectorized=True, summary_points=k)
        exact = OptimalBuffer(scalar, quote_cost=cost)  # objective(): exact, scalar
        optimum = exact.objective(cap, full.optimal_window(cap))
        found = exact.objective(cap, fast.optimal_window(cap))
        if len(set(minutes)) <= k:
            assert found == pytest.approx(optimum, rel=1e-9, abs=1e-9)
        else:
            assert found >= optimum - 2 * variation * _eps(cap, 2000, k) - 1e-9


def test_default_summary_and_points_interplay() -> None:
    cap = EmpiricalCapability.from_durations([m * M for m in range(1, 301)])
    step = _step(1.0, 0.0)
    default = OptimalBuffer(step, quote_cost=0.5)
    assert default.summary_points == 256
    full = OptimalBuffer(step, quote_cost=0.5, summary_points=None)
    optimum = full.objective(cap, full.optimal_window(cap))
    found = full.objective(cap, default.optimal_window(cap))
    assert found >= optimum - 2 * summary_error(300, 256)
    # Fewer durations than the summary: the same search exactly.
    small = EmpiricalCapability.from_durations([m * M for m in range(1, 201)])
    assert default.optimal_window(small) == full.optimal_window(small)


@pytest.mark.parametrize(
    ("value", "error", "words"),
    [
        (8, InvalidValueError, ["'summary_points'", ">= 16", "8"]),
        ("many", InvalidTypeError, ["'summary_points'", "'many'"]),
        (True, InvalidTypeError, ["'summary_points'"]),
    ],
)
def test_summary_points_is_validated(
    value: object, error: type[Exception], words: list[str]
) -> None:
    with pytest.raises(error) as info:
        OptimalBuffer(_clipped, summary_points=value)  # type: ignore[arg-type]
    for word in words:
        assert word in str(info.value)


@given(m=st.integers(16, 3000), k=st.integers(16, 300), data=st.data())
def test_local_runs_cover_the_bracket(m: int, k: int, data: st.DataObject) -> None:
    from promisekit.buffering._optimal_summary import local_runs

    k = min(k, m)
    start = data.draw(st.integers(0, m))
    stop = data.draw(st.integers(start, m))
    first, last, a, b = local_runs(m, k, start, stop)
    assert 0 <= first < last <= k
    assert a == first * m // k and b == last * m // k
    assert a <= start and (stop <= b or last == k)
