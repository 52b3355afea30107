"""Keep-rate intervals of the plots: the rate always lies inside its interval."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from promisekit.analysis._intervals import error_bars, keep_intervals
from promisekit.commitments import wilson_interval

pd = pytest.importorskip("pandas")
matplotlib = pytest.importorskip("matplotlib")


@pytest.fixture(autouse=True)
def agg() -> Iterator[Any]:
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    yield plt
    plt.close("all")


def test_every_n_up_to_1000_and_every_k() -> None:
    """Exhaustive: all 501,500 pairs (k, n) with 1 <= n <= 1000 and 0 <= k <= n."""
    n = np.repeat(np.arange(1, 1001), np.arange(2, 1002))
    k = np.concatenate([np.arange(m + 1) for m in range(1, 1001)])
    rate, lower, upper = keep_intervals(k, n)
    assert len(rate) == 501_500
    assert np.all(lower <= rate) and np.all(rate <= upper)
    assert np.all((lower >= 0) & (upper <= 1))
    assert np.all(lower[k == 0] == 0.0) and np.all(upper[k == n] == 1.0)
    assert np.all(lower[k > 0] > 0) and np.all(upper[k < n] < 1)
    assert np.all(error_bars(rate, lower, upper) >= 0)


@given(st.integers(1, 100_000).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))))
def test_interval_contains_the_rate_and_matches_wilson(pair: tuple[int, int]) -> None:
    k, n = pair
    rate, lower, upper = (float(x[0]) for x in keep_intervals([k], [n]))
    assert lower <= rate <= upper
    assert (lower == 0.0) == (k == 0) and (upper == 1.0) == (k == n)
    low, high = wilson_interval(k, n)
    assert lower == pytest.approx(low, abs=1e-12) and upper == pytest.approx(high, abs=1e-12)
    # 100 * rate - 100 * lower must not be negative either (the plot's percent scale)
    assert min(100 * rate - 100 * lower, 100 * upper - 100 * rate) >= -1e-9


def test_issue_17_repro_plot_fairness_all_kept_and_none_kept() -> None:
    """10 gold promises all kept, 5 bronze all late: no negative error bar."""
    from promisekit.analysis import PromiseBook, plot_fairness

    t = pd.Timestamp("2026-03-02 09:00", tz="UTC")
    f = pd.DataFrame(
        {
            "made_at": [t] * 15,
            "due": [t + pd.Timedelta(hours=1)] * 15,
            "completed_at": [t + pd.Timedelta(minutes=50)] * 10 + [t + pd.Timedelta(hours=2)] * 5,
            "segment": ["gold"] * 10 + ["bronze"] * 5,
        }
    )
    ax = plot_fairness(PromiseBook.from_frame(f, now=t + pd.Timedelta(days=1)), by="segment")
    heights = sorted(round(p.get_height()) for p in ax.patches)
    assert heights == [0, 100]


@pytest.mark.parametrize("n", [3, 6, 7, 10, 12, 13, 14, 25])
def test_plot_fairness_at_the_sizes_of_the_issue(n: int) -> None:
    from promisekit.analysis import PromiseBook, plot_fairness

    t = pd.Timestamp("2026-03-02 09:00", tz="UTC")
    f = pd.DataFrame(
        {
            "made_at": [t] * (2 * n),
            "due": [t + pd.Timedelta(hours=1)] * (2 * n),
            "completed_at": [t + pd.Timedelta(minutes=50)] * n + [t + pd.Timedelta(hours=2)] * n,
            "segment": ["a"] * n + ["b"] * n,
        }
    )
    plot_fairness(PromiseBook.from_frame(f, now=t + pd.Timedelta(days=1)), by="segment")
