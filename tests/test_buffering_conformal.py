"""Split conformal, CQR, adaptive conformal inference and calibration reports."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from promisekit.buffering import (
    AdaptiveConformalBuffer,
    AdaptiveQuoter,
    CalibrationReport,
    ConditionalQuantileBuffer,
    ConformalBuffer,
    ConformalQuoter,
    GridDistributions,
    HistoryColumns,
    QuoteColumns,
    calibration_report,
)
from promisekit.buffering._calibration import _wilson as wilson
from promisekit.buffering._conformal import _conformal_rank as conformal_rank
from promisekit.buffering._conformal import _split_calibration as split_calibration
from promisekit.commitments import wilson_interval
from promisekit.errors import InsufficientDataError, InvalidTypeError, InvalidValueError

MIN = 60_000_000
HOUR = 60 * MIN
DAY = 24 * HOUR


def exchangeable(n: int, seed: int, *, scale: float = 30.0) -> HistoryColumns:
    """i.i.d. lognormal durations with a segment effect, one request every 10 minutes."""
    rng = np.random.default_rng(seed)
    t = np.arange(n, dtype=np.int64) * 10 * MIN + 1_750_000_000_000_000
    seg = rng.choice(np.array(["a", "b"], dtype=object), n)
    factor = np.where(seg == "a", 1.0, 3.0)
    d = (scale * MIN * factor * rng.lognormal(0, 0.5, n)).astype(np.int64)
    return HistoryColumns(t, t + d, segment=seg, zone="Europe/Paris")


def split(h: HistoryColumns, n_past: int) -> tuple[HistoryColumns, HistoryColumns]:
    from promisekit.buffering._features import select_rows

    idx = np.arange(len(h))
    return select_rows(h, idx < n_past), select_rows(h, idx >= n_past)


def kept(h: HistoryColumns, quotes: QuoteColumns) -> float:
    return float(((h.completed_us - h.requested_us) <= quotes.window_us).mean())


class TestSplitConformal:
    def test_corrects_a_miscalibrated_model(self) -> None:
        past, test = split(exchangeable(6000, 1), 3000)
        # The base ignores the segment: its p90 over both is wrong for each.
        base = ConditionalQuantileBuffer(by=(), k=0)
        quoter = ConformalBuffer(base, q=0.8).fit_columns(past)
        assert isinstance(quoter, ConformalQuoter)
        rate = kept(test, quoter.quote_columns(test))
        se = (0.8 * 0.2 / 3000) ** 0.5
        assert rate >= 0.8 - 3 * se
        assert rate <= 0.8 + 3 * se + 1 / 751  # n_cal = 750: at most one rank above

    def test_the_stated_confidence_is_the_recalibrated_cdf(self) -> None:
        past, test = split(exchangeable(2000, 2), 1500)
        quoter = ConformalBuffer(ConditionalQuantileBuffer(), q=0.9).fit_columns(past)
        quotes = quoter.quote_columns(test)
        assert np.all(quotes.confidence >= 0.9)
        dist = quoter.distributions(test)
        assert isinstance(dist, GridDistributions)
        assert np.array_equal(quotes.confidence, dist.cdf_at(quotes.window_us))

    def test_calibration_set_by_duration(self) -> None:
        past = exchangeable(1000, 3)
        fit, held = split_calibration(past, timedelta(days=2))
        assert len(fit) + len(held) == len(past)
        assert held.completed_us.min() > fit.completed_us.max()
        assert int(past.completed_us.max() - held.completed_us.min()) <= 2 * DAY

    def test_conformal_rank(self) -> None:
        assert conformal_rank(9, 0.9) == 9
        assert conformal_rank(99, 0.9) == 90
        assert conformal_rank(5, 0.99) == 6  # beyond the sample: the top of the grid

    @given(st.integers(0, 10_000), st.sampled_from([0.5, 0.8, 0.9, 0.95]))
    @settings(max_examples=12, deadline=None, derandomize=True)
    def test_coverage_holds_on_exchangeable_data(self, seed: int, q: float) -> None:
        past, test = split(exchangeable(3000, seed), 1500)
        policy = ConformalBuffer(ConditionalQuantileBuffer(by=("segment",)), q=q)
        rate = kept(test, policy.fit_columns(past).quote_columns(test))
        # Marginal coverage >= q; one test set of 1500 deviates by sampling error
        # (and the calibration set by about 1 / sqrt(375)).
        tolerance = 3 * (q * (1 - q) / 1500) ** 0.5 + 3 * (q * (1 - q) / 375) ** 0.5
        assert rate >= q - tolerance

    def test_cqr_with_gradient_boosting(self) -> None:
        pytest.importorskip("sklearn")
        from promisekit.buffering import GradientBoostedQuantileBuffer

        past, test = split(exchangeable(3000, 4), 2000)
        base = GradientBoostedQuantileBuffer(q=0.9, by=("segment", "hour"), max_iter=30)
        raw = base.fit_columns(past).quote_columns(test)
        assert np.all(raw.confidence == 0.9)
        quoter = ConformalBuffer(base, q=0.9).fit_columns(past)
        assert quoter.correction_us is not None
        rate = kept(test, quoter.quote_columns(test))
        assert rate >= 0.9 - 3 * (0.09 / 1000) ** 0.5 - 3 * (0.09 / 500) ** 0.5
        with pytest.raises(InvalidTypeError, match="no distributions"):
            quoter.distributions(test)

    def test_gradient_boosting_relative_and_unknown_segments(self) -> None:
        pytest.importorskip("sklearn")
        from promisekit.buffering import GradientBoostedQuantileBuffer

        n = 600
        t = np.arange(n, dtype=np.int64) * HOUR
        past = HistoryColumns(
            t,
            t + 70 * MIN,
            reference_us=t + 60 * MIN,
            segment=np.array(["x"] * n, dtype=object),
        )
        policy = GradientBoostedQuantileBuffer(q=0.5, by=("segment",), relative=True, max_iter=5)
        quoter = policy.fit_columns(past)
        probe = HistoryColumns(
            t[:2], t[:2], reference_us=t[:2] + 30 * MIN, segment=np.array(["x", "y"], dtype=object)
        )
        window = quoter.quote_columns(probe).window_us / MIN
        assert np.allclose(window, 40, atol=1)

    @pytest.mark.parametrize(
        ("kwargs", "error"),
        [
            ({"base": 3}, InvalidTypeError),
            ({"base": ConditionalQuantileBuffer(), "q": 2.0}, InvalidValueError),
            ({"base": ConditionalQuantileBuffer(), "calibration": 1.5}, InvalidValueError),
            ({"base": ConditionalQuantileBuffer(), "calibration": timedelta(0)}, InvalidValueError),
        ],
    )
    def test_bad_arguments(self, kwargs: dict[str, Any], error: type) -> None:
        with pytest.raises(error):
            ConformalBuffer(**kwargs)

    def test_too_little_history(self) -> None:
        one = exchangeable(1, 0)
        with pytest.raises(InsufficientDataError, match="at least 2"):
            ConformalBuffer(ConditionalQuantileBuffer()).fit_columns(one)


class TestAdaptive:
    def drifting(self, n: int, seed: int) -> HistoryColumns:
        rng = np.random.default_rng(seed)
        t = np.arange(n, dtype=np.int64) * 10 * MIN
        growth = np.linspace(1.0, 2.0, n)
        d = (20 * MIN * growth * rng.lognormal(0, 0.4, n)).astype(np.int64)
        return HistoryColumns(t, t + d)

    def test_update_rule(self) -> None:
        past = exchangeable(200, 0)
        policy = AdaptiveConformalBuffer(ConditionalQuantileBuffer(), q=0.9, gamma=0.01)
        quoter = policy.fit_columns(past)
        assert isinstance(quoter, AdaptiveQuoter)
        quoter.alpha = 0.1
        quoter.update([True] * 9 + [False])  # exactly the target: no change
        assert quoter.alpha == pytest.approx(0.1)
        quoter.update([False])
        assert quoter.alpha == pytest.approx(0.1 + 0.01 * (0.1 - 1.0))
        quoter.update_one(True)
        assert quoter.alpha == pytest.approx(0.1 + 0.01 * (0.1 - 1.0) + 0.01 * 0.1)
        quoter.alpha = 1.5
        assert quoter.level == 0.0
        quoter.alpha = -0.5
        assert quoter.level == 1.0

    def test_long_run_coverage_under_drift(self) -> None:
        h = self.drifting(12_000, 5)
        past, live = split(h, 2000)
        # A stale model (fitted once, never refitted) under steady growth.
        quoter = AdaptiveConformalBuffer(
            ConditionalQuantileBuffer(by=()), q=0.9, gamma=0.02
        ).fit_columns(past)
        hits = []
        y = live.completed_us - live.requested_us
        for i in range(len(live)):
            one = HistoryColumns(live.requested_us[i : i + 1], live.completed_us[i : i + 1])
            window = quoter.quote_columns(one).window_us[0]
            hit = bool(y[i] <= window)
            quoter.update([hit])
            hits.append(hit)
        assert abs(np.mean(hits) - 0.9) < 0.01
        stale = ConditionalQuantileBuffer(by=(), q=0.9).fit_columns(past).quote_columns(live)
        assert kept(live, stale) < 0.7  # without adaptation the quotes fall behind

    def test_bad_gamma(self) -> None:
        with pytest.raises(InvalidValueError, match="'gamma'"):
            AdaptiveConformalBuffer(ConditionalQuantileBuffer(), gamma=1.5)
        with pytest.raises(InvalidValueError, match="'gamma'"):
            AdaptiveConformalBuffer(ConditionalQuantileBuffer(), gamma=0)


class TestCalibrationReport:
    @pytest.fixture
    def report(self) -> CalibrationReport:
        past, test = split(exchangeable(8000, 6), 4000)
        quotes = ConformalBuffer(ConditionalQuantileBuffer(), q=0.9).fit_columns(past)
        return calibration_report(test, quotes.quote_columns(test), period="week")

    def test_rows_and_text(self, report: CalibrationReport) -> None:
        overall = [r for r in report.rows if r.segment is None]
        assert overall and all(r.period.count("-W") == 1 for r in overall)
        assert sum(r.quotes for r in overall) == 4000
        for r in report.rows:
            assert r.low <= r.realized <= r.high
            assert r.stated >= 0.9
            assert r.gap == pytest.approx(r.realized - r.stated)
        text = report.to_text()
        assert text.splitlines()[0].split() == [
            "period",
            "segment",
            "quotes",
            "stated",
            "realized",
            "interval",
        ]
        assert len(text.splitlines()) == len(report.rows) + 2

    def test_pandas(self, report: CalibrationReport) -> None:
        frame = report.to_pandas()
        assert list(frame.columns) == [
            "period",
            "segment",
            "quotes",
            "stated",
            "realized",
            "low",
            "high",
        ]
        assert len(frame) == len(report.rows)

    @pytest.fixture
    def agg(self) -> Iterator[Any]:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        yield plt
        plt.close("all")

    def test_plot(self, report: CalibrationReport, agg: Any) -> None:
        ax = report.plot()
        assert ax.get_ylabel() == "on-time rate"
        assert report.plot(segment="a") is not None
        with pytest.raises(InvalidValueError, match="no rows"):
            report.plot(segment="zzz")

    @pytest.mark.parametrize("period", ["day", "month", "quarter", "all"])
    def test_periods(self, period: str) -> None:
        h = exchangeable(300, 7)
        q = QuoteColumns(np.full(300, 40 * MIN, dtype=np.int64), np.full(300, 0.5))
        report = calibration_report(h, q, period=period, by_segment=False)
        assert sum(r.quotes for r in report.rows) == 300
        if period == "all":
            assert [r.period for r in report.rows] == ["all"]

    def test_errors(self) -> None:
        h = exchangeable(10, 0)
        q = QuoteColumns(np.zeros(10, dtype=np.int64), np.zeros(10))
        with pytest.raises(InvalidValueError, match="'period'"):
            calibration_report(h, q, period="fortnight")
        with pytest.raises(InvalidValueError, match="rows"):
            calibration_report(h, QuoteColumns(q.window_us[:3], q.confidence[:3]))
        with pytest.raises(InvalidTypeError, match="'quotes'"):
            calibration_report(h, [1, 2])  # type: ignore[arg-type]

    @given(st.integers(0, 500), st.integers(1, 500))
    def test_wilson_matches_commitments(self, kept_: int, n: int) -> None:
        kept_ = min(kept_, n)
        ours = wilson(kept_, n)
        theirs = wilson_interval(kept_, n)
        assert ours == pytest.approx(theirs, abs=1e-9)


class TestCalibratedCapability:
    def test_one_request_calibrated(self) -> None:
        from datetime import datetime, timezone

        from promisekit.buffering import GridCapability, QuantileBuffer

        past = exchangeable(3000, 8)
        quoter = ConformalBuffer(ConditionalQuantileBuffer(by=("segment",)), q=0.9).fit_columns(
            past
        )
        at = datetime(2026, 1, 5, 9, tzinfo=timezone.utc)
        cap = quoter.capability(at, "a")
        assert isinstance(cap, GridCapability)
        assert cap.describe().endswith("pooled by segment, calibrated")
        quote = QuantileBuffer(0.9).quote(at, cap, what="callback")
        assert quote.confidence >= 0.9
        with pytest.raises(InvalidTypeError, match="features"):
            quoter.capability(at, "a", {"queue": "many"})  # type: ignore[dict-item]
        with pytest.raises(InvalidTypeError, match="'features'"):
            quoter.capability(at, "a", [1])  # type: ignore[arg-type]

    def test_quantile_only_models_have_no_capability(self) -> None:
        pytest.importorskip("sklearn")
        from datetime import datetime, timezone

        from promisekit.buffering import GradientBoostedQuantileBuffer

        past = exchangeable(300, 9)
        base = GradientBoostedQuantileBuffer(by=("segment",), max_iter=5)
        quoter = ConformalBuffer(base).fit_columns(past)
        with pytest.raises(InvalidTypeError, match="single-request"):
            quoter.capability(datetime(2026, 1, 5, tzinfo=timezone.utc), "a")
