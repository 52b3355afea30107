"""The conditional and calibrated models run inside the columnar backtest."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

np = pytest.importorskip("numpy")

from promisekit.buffering import (  # noqa: E402
    ConditionalQuantileBuffer,
    ConformalBuffer,
    HistoryColumns,
    QuantileBuffer,
    backtest_columns,
)

MIN = 60_000_000


def _history(n: int = 3000) -> HistoryColumns:
    rng = np.random.default_rng(1)
    start = int(datetime(2026, 1, 5, tzinfo=timezone.utc).timestamp() * 1e6)
    requested = np.sort(start + rng.integers(0, 120 * 24 * 60, n) * MIN)
    team = rng.choice(np.array(["a", "b"], dtype=object), n)
    hour = (requested // (60 * MIN)) % 24
    median = np.where(np.isin(hour, [8, 9, 16, 17]), 50.0, 25.0)
    durations = (median * np.exp(0.3 * rng.standard_normal(n)) * MIN).astype(np.int64)
    return HistoryColumns(
        requested,
        requested + durations,
        zone="UTC",
        segment=team,
        reference_us=requested + 35 * MIN,
    )


def test_conditional_and_conformal_policies_are_refitted_and_scored_per_period() -> None:
    history = _history()
    model = ConditionalQuantileBuffer(q=0.9, by=("segment", "hour"))
    result = backtest_columns(
        history,
        {"q90": QuantileBuffer(0.9), "cond": model, "conf": ConformalBuffer(model)},
        period="M",
        score_from=datetime(2026, 2, 1, tzinfo=timezone.utc),
    )
    for name in ("q90", "cond", "conf"):
        total = result.row(name)
        assert total.n_quoted > 2000
        # Stated 90 %: each policy keeps close to it on this stationary history.
        assert 0.85 <= total.on_time_rate <= 0.95
    # Conditioning on the hour spends the window where the work is slow: at a similar
    # on-time rate the conditional policy needs a shorter mean window than one quantile.
    assert result.row("cond").mean_window < result.row("q90").mean_window
    months = {row.period for row in result.rows if row.policy == "cond"}
    assert {"2026-02", "2026-03", "2026-04"} <= months
