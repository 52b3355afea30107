"""allocate_budget and BudgetBuffer: the mean window is the target, floors hold, more kept."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from promisekit.buffering import (
    BudgetBuffer,
    BudgetQuoter,
    ConditionalQuantileBuffer,
    GridDistributions,
    HistoryColumns,
    allocate_budget,
)
from promisekit.errors import InvalidTypeError, InvalidValueError

MIN = 60_000_000


def mixed_history(n: int, seed: int) -> HistoryColumns:
    """Two segments: 'tight' (30 ± 2 min) and 'loose' (exponential, mean 30 min)."""
    rng = np.random.default_rng(seed)
    t = np.arange(n, dtype=np.int64) * 5 * MIN
    seg = rng.choice(np.array(["tight", "loose"], dtype=object), n)
    tight = rng.uniform(28, 32, n)
    loose = rng.exponential(30, n)
    d = (np.where(seg == "tight", tight, loose) * MIN).astype(np.int64)
    return HistoryColumns(t, t + d, segment=seg)


def random_dist(seed: int, n_keys: int, n_requests: int) -> GridDistributions:
    rng = np.random.default_rng(seed)
    grid = np.sort(rng.choice(np.arange(1, 10_000), 40, replace=False)).astype(float) * MIN
    mass = rng.exponential(1.0, (n_keys, 40)) * (rng.uniform(size=(n_keys, 40)) < 0.6)
    mass[:, -1] += 1e-3
    cdf = np.cumsum(mass, axis=1) / mass.sum(axis=1, keepdims=True)
    key = rng.integers(0, n_keys, n_requests)
    offset = rng.choice([0.0, 5.0 * MIN], n_requests)
    return GridDistributions(grid, cdf, key, offset)


class TestAllocate:
    def test_keeps_more_than_one_level_for_all(self) -> None:
        h = mixed_history(4000, 0)
        quoter = ConditionalQuantileBuffer(by=("segment",)).fit_columns(h)
        dist = quoter.distributions(h)
        uniform = quoter.quote_columns(h, q=0.8)
        target = float(uniform.window_us.mean())
        budget = allocate_budget(dist, target, floor=0.5)
        assert budget.window_us.mean() == pytest.approx(target, abs=1)
        assert budget.confidence.sum() > uniform.confidence.sum()
        y = h.completed_us - h.requested_us
        assert (y <= budget.window_us).mean() > (y <= uniform.window_us).mean()
        # The tight segment gets its sure window; the loose one gives minutes up.
        tight = np.asarray(h.segment) == "tight"
        assert budget.confidence[tight].min() > 0.99
        assert budget.confidence[~tight].min() >= 0.5

    def test_timedelta_target_and_empty(self) -> None:
        dist = random_dist(1, 3, 10)
        floor_mean = dist.quantile_us(0.5).mean()
        result = allocate_budget(dist, timedelta(microseconds=int(floor_mean) + MIN))
        assert result.window_us.sum() == (int(floor_mean) + MIN) * 10
        empty = GridDistributions(dist.grid_us, dist.cdf, dist.key[:0], dist.offset_us[:0])
        assert len(allocate_budget(empty, MIN).window_us) == 0

    def test_unreachable_targets(self) -> None:
        dist = random_dist(2, 3, 10)
        with pytest.raises(InvalidValueError, match="below the mean window of the floor"):
            allocate_budget(dist, 1.0, floor=0.5)
        with pytest.raises(InvalidValueError, match="beyond the longest"):
            allocate_budget(dist, 1e15)
        with pytest.raises(InvalidTypeError, match="'mean_window'"):
            allocate_budget(dist, "1h")  # type: ignore[arg-type]
        with pytest.raises(InvalidTypeError, match="'dist'"):
            allocate_budget([1, 2], 10.0)  # type: ignore[arg-type]
        with pytest.raises(InvalidValueError, match="'floor'"):
            allocate_budget(dist, 10.0, floor=1.5)

    @given(
        st.integers(0, 2**31),
        st.integers(1, 6),
        st.integers(1, 60),
        st.floats(0.0, 1.0),
        st.sampled_from([0.0, 0.5, 0.8]),
    )
    @settings(max_examples=80, deadline=None)
    def test_mean_window_equals_the_target(
        self, seed: int, n_keys: int, n: int, where: float, floor: float
    ) -> None:
        dist = random_dist(seed, n_keys, n)
        low = dist.quantile_us(floor).mean()
        high = (dist.offset_us + dist.grid_us[-1]).mean()
        target = low + where * (high - low)
        result = allocate_budget(dist, target, floor=floor)
        assert abs(result.window_us.sum() - round(target * n)) == 0
        # Every quote keeps its floor (one microsecond of rounding aside).
        assert np.all(dist.cdf_at(result.window_us + 1) >= floor - 1e-12)
        assert np.all((result.confidence >= 0) & (result.confidence <= 1))


class TestBudgetBuffer:
    def test_blocks_have_the_target_mean(self) -> None:
        h = mixed_history(2000, 3)
        policy = BudgetBuffer(ConditionalQuantileBuffer(), mean_window=timedelta(minutes=45))
        quoter = policy.fit_columns(h)
        assert isinstance(quoter, BudgetQuoter)
        quotes = quoter.quote_columns(h)
        assert quotes.window_us.mean() == pytest.approx(45 * MIN, abs=1)

    @pytest.mark.parametrize(
        ("kwargs", "error"),
        [
            ({"base": 1, "mean_window": timedelta(minutes=5)}, InvalidTypeError),
            ({"base": ConditionalQuantileBuffer(), "mean_window": 5}, InvalidValueError),
            (
                {"base": ConditionalQuantileBuffer(), "mean_window": timedelta(0)},
                InvalidValueError,
            ),
            (
                {"base": ConditionalQuantileBuffer(), "mean_window": timedelta(1), "floor": 2.0},
                InvalidValueError,
            ),
        ],
    )
    def test_bad_arguments(self, kwargs: dict[str, Any], error: type) -> None:
        with pytest.raises(error):
            BudgetBuffer(**kwargs)
