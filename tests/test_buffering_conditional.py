"""ConditionalQuantileBuffer: calendar features, hierarchical shrinkage, recency, reference."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from promisekit.buffering import (
    ConditionalQuantileBuffer,
    ConditionalQuoter,
    GridCapability,
    HistoryColumns,
    QuantileBuffer,
    QuoteColumns,
    negotiate,
)
from promisekit.buffering._conditional import _shrinkage_weight as shrinkage_weight
from promisekit.buffering._features import OPEN, calendar_features, local_us
from promisekit.errors import (
    InsufficientDataError,
    InvalidTypeError,
    InvalidValueError,
    PromiseKitError,
)

MIN = 60_000_000
HOUR = 60 * MIN
DAY = 24 * HOUR
UTC = timezone.utc


def hourly(n: int = 2000, seed: int = 0, **kw: Any) -> HistoryColumns:
    """Requests every hour; mornings take ~10 min, afternoons ~30 min."""
    rng = np.random.default_rng(seed)
    t = np.arange(n, dtype=np.int64) * HOUR + (1_700_000_000 * 1_000_000 // DAY) * DAY
    hour = (t // HOUR) % 24
    d = np.where(hour < 12, 10, 30) * MIN * rng.uniform(0.8, 1.2, n)
    return HistoryColumns(t, t + d.astype(np.int64), **kw)


def minutes(window: Any) -> list[int]:
    return [round(float(w) / MIN) for w in np.asarray(window)]


class TestFeatures:
    def test_hour_weekday_month_season_in_the_zone(self) -> None:
        paris = ZoneInfo("Europe/Paris")
        moments = [
            datetime(2026, 3, 29, 1, 30, tzinfo=paris),  # before the spring change
            datetime(2026, 3, 29, 3, 30, tzinfo=paris),
            datetime(2026, 7, 4, 23, 59, tzinfo=paris),
            datetime(2026, 12, 31, 23, 0, tzinfo=paris),
        ]
        us = np.array([int(m.timestamp() * 1e6) for m in moments], dtype=np.int64)
        cal = calendar_features(us, "Europe/Paris")
        assert cal["hour"].tolist() == [1, 3, 23, 23]
        assert cal["weekday"].tolist() == [m.weekday() for m in moments]
        assert cal["month"].tolist() == [3, 3, 7, 12]
        assert cal["season"].tolist() == [1, 1, 2, 0]

    @given(
        st.lists(st.integers(-(10**15), 4 * 10**15), min_size=1, max_size=30),
        st.sampled_from(["Europe/Paris", "Australia/Lord_Howe", "America/St_Johns", "UTC"]),
    )
    @settings(max_examples=60, deadline=None)
    def test_wall_clock_matches_zoneinfo(self, instants: list[int], zone: str) -> None:
        tz = ZoneInfo(zone)
        got = local_us(np.asarray(instants, dtype=np.int64), zone)
        for value, wall in zip(instants, got.tolist(), strict=True):
            moment = datetime.fromtimestamp(value // 10**6, UTC).astimezone(tz)
            naive = moment.replace(tzinfo=UTC)
            assert wall // 10**6 == int(naive.timestamp())

    def test_unknown_zone_is_refused(self) -> None:
        with pytest.raises(PromiseKitError, match="zone"):
            calendar_features(np.zeros(1, dtype=np.int64), "Mars/Olympus")


class TestConditional:
    def test_learns_the_hour_of_day(self) -> None:
        past = hourly()
        quoter = ConditionalQuantileBuffer(q=0.5, by=("hour",), k=5).fit_columns(past)
        quotes = quoter.quote_columns(past)
        assert isinstance(quotes, QuoteColumns)
        hour = (past.requested_us // HOUR) % 24
        morning = np.median(quotes.window_us[hour < 12]) / MIN
        afternoon = np.median(quotes.window_us[hour >= 12]) / MIN
        assert 9 <= morning <= 11
        assert 28 <= afternoon <= 32
        assert quotes.window_us.dtype == np.int64
        assert np.all(quotes.confidence >= 0.5 - 1e-9)

    def test_without_features_it_is_the_pooled_quantile(self) -> None:
        past = hourly(400)
        quoter = ConditionalQuantileBuffer(q=0.9, by=()).fit_columns(past)
        window = quoter.quote_columns(past).window_us
        assert len(set(window.tolist())) == 1
        y = past.completed_us - past.requested_us
        assert window[0] == np.quantile(y, 0.9, method="inverted_cdf")

    def test_thin_segment_borrows_from_its_parent(self) -> None:
        rng = np.random.default_rng(3)
        n = 3000
        t = np.arange(n, dtype=np.int64) * MIN
        seg = np.where(np.arange(n) % 100 == 0, "thin", "big").astype(object)
        d = np.where(seg == "thin", 5, 60) * MIN * rng.uniform(0.9, 1.1, n)
        past = HistoryColumns(t, t + d.astype(np.int64), segment=seg)
        parents = {"thin": "region", "big": "region"}
        probe = HistoryColumns(t[:1], t[:1], segment=np.array(["thin"], dtype=object))
        own = ConditionalQuantileBuffer(q=0.5, by=("segment",), k=0).fit_columns(past)
        pooled = ConditionalQuantileBuffer(q=0.5, by=("segment",), parents=parents, k=1000)
        w_own = own.quote_columns(probe).window_us[0] / MIN
        w_pooled = pooled.fit_columns(past).quote_columns(probe).window_us[0] / MIN
        assert 4 <= w_own <= 6
        assert w_pooled > 40  # 30 own records against k = 1000: mostly the parent's

    def test_parents_as_function_or_mapping_and_unseen_segments(self) -> None:
        past = hourly(500, segment=np.array(["a", "b"] * 250, dtype=object))
        mapping = {"a": "ab", "b": "ab", "new": "ab"}
        by_map = ConditionalQuantileBuffer(parents=mapping).fit_columns(past)
        by_fun = ConditionalQuantileBuffer(parents=mapping.get).fit_columns(past)
        probe = HistoryColumns(
            past.requested_us[:3],
            np.full(3, OPEN, dtype=np.int64),
            segment=np.array(["a", "new", "unknown"], dtype=object),
        )
        a = by_map.quote_columns(probe)
        b = by_fun.quote_columns(probe)
        assert a.window_us.tolist() == b.window_us.tolist()

    def test_a_cycle_in_the_parents_is_refused(self) -> None:
        past = hourly(50, segment=np.array(["a"] * 50, dtype=object))
        with pytest.raises(InvalidValueError, match="cycle"):
            ConditionalQuantileBuffer(parents={"a": "b", "b": "a"}).fit_columns(past)

    def test_recency_follows_a_shift(self) -> None:
        n = 2000
        t = np.arange(n, dtype=np.int64) * HOUR
        d = np.where(np.arange(n) < n // 2, 10, 30) * MIN
        past = HistoryColumns(t, t + d)
        flat = ConditionalQuantileBuffer(q=0.5, by=()).fit_columns(past)
        recent = ConditionalQuantileBuffer(q=0.5, by=(), half_life=timedelta(days=3))
        assert minutes(flat.quote_columns(past).window_us[:1]) != [30]
        assert minutes(recent.fit_columns(past).quote_columns(past).window_us[:1]) == [30]

    def test_binned_caller_feature(self) -> None:
        n = 1000
        t = np.arange(n, dtype=np.int64) * MIN
        queue = np.arange(n) % 20
        d = (5 + 3 * queue) * MIN
        past = HistoryColumns(t, t + d, features={"queue": queue.astype(float)})
        policy = ConditionalQuantileBuffer(q=1.0, by=("queue",), bins={"queue": (5, 10, 15)}, k=0)
        window = policy.fit_columns(past).quote_columns(past).window_us
        assert minutes(window[queue == 0][:1]) == [5 + 3 * 4]
        assert minutes(window[queue == 19][:1]) == [5 + 3 * 19]

    def test_relative_to_a_reference(self) -> None:
        n = 500
        t = np.arange(n, dtype=np.int64) * HOUR
        scheduled = np.where(np.arange(n) % 2 == 0, 20, 60) * MIN
        late = (np.arange(n) % 10) * MIN  # 0..9 minutes late
        past = HistoryColumns(t, t + scheduled + late, reference_us=t + scheduled)
        quoter = ConditionalQuantileBuffer(q=1.0, by=(), relative=True).fit_columns(past)
        window = quoter.quote_columns(past).window_us
        assert minutes(window[:2]) == [29, 69]
        with pytest.raises(InvalidValueError, match="reference_us"):
            quoter.quote_columns(HistoryColumns(t, t))
        with pytest.raises(InvalidValueError, match="reference_us"):
            ConditionalQuantileBuffer(relative=True).fit_columns(HistoryColumns(t, t))

    def test_early_deviations_are_negative(self) -> None:
        t = np.arange(100, dtype=np.int64) * HOUR
        past = HistoryColumns(t, t + 50 * MIN, reference_us=t + 60 * MIN)
        quoter = ConditionalQuantileBuffer(q=0.9, by=(), relative=True).fit_columns(past)
        assert minutes(quoter.quote_columns(past).window_us[:1]) == [50]

    def test_capability_plugs_into_quotes_and_negotiation(self) -> None:
        past = hourly(segment=np.array(["x"] * 2000, dtype=object))
        quoter = ConditionalQuantileBuffer(by=("segment", "hour"), k=5).fit_columns(past)
        assert isinstance(quoter, ConditionalQuoter)
        morning = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)
        cap = quoter.capability(morning, "x")
        assert isinstance(cap, GridCapability)
        assert timedelta(minutes=8) <= cap.quantile(0.5) <= timedelta(minutes=12)
        assert cap.cdf(cap.quantile(0.7)) >= 0.7
        q = QuantileBuffer(0.9).quote(morning, cap, what="callback")
        assert q.confidence >= 0.9
        assert "pooled by segment, hour" in q.explanation
        answer = negotiate(
            morning + timedelta(hours=2), start=morning, capability=cap, min_confidence=0.9
        )
        assert answer.decision.name == "ACCEPT"
        rest = cap.residual_quantile(0.5, timedelta(minutes=5))
        assert rest >= timedelta(0)
        assert 0.0 <= cap.residual_cdf(timedelta(minutes=3), timedelta(minutes=5)) <= 1.0
        with pytest.raises(InvalidValueError):
            cap.quantile(1.0)

    def test_capability_of_a_relative_model_needs_the_reference(self) -> None:
        t = np.arange(100, dtype=np.int64) * HOUR
        past = HistoryColumns(t, t + 70 * MIN, reference_us=t + 60 * MIN)
        quoter = ConditionalQuantileBuffer(by=(), relative=True).fit_columns(past)
        at = datetime(2026, 1, 1, tzinfo=UTC)
        with pytest.raises(InvalidValueError, match="reference"):
            quoter.capability(at)
        cap = quoter.capability(at, reference=at + timedelta(hours=1))
        assert cap.quantile(0.5) == timedelta(minutes=70)


class TestValidation:
    @pytest.mark.parametrize(
        ("kwargs", "error", "match"),
        [
            ({"q": 1.5}, InvalidValueError, "'q'"),
            ({"q": "0.9"}, InvalidTypeError, "'q'"),
            ({"by": ("hour", "hour")}, InvalidValueError, "twice"),
            ({"by": (1,)}, InvalidTypeError, "'by'"),
            ({"by": ("a", "b", "c", "d", "e")}, InvalidValueError, "at most"),
            ({"parents": 3}, InvalidTypeError, "'parents'"),
            ({"half_life": -1.0}, InvalidValueError, "'half_life'"),
            ({"k": -1}, InvalidValueError, "'k'"),
            ({"grid": 1}, InvalidValueError, "'grid'"),
        ],
    )
    def test_bad_arguments(self, kwargs: dict[str, Any], error: type, match: str) -> None:
        with pytest.raises(error, match=match):
            ConditionalQuantileBuffer(**kwargs)

    def test_bad_histories(self) -> None:
        with pytest.raises(InvalidTypeError, match="'past' must be a HistoryColumns"):
            ConditionalQuantileBuffer().fit_columns([1, 2])  # type: ignore[arg-type]
        empty = HistoryColumns(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64))
        with pytest.raises(InsufficientDataError, match="no completed record"):
            ConditionalQuantileBuffer().fit_columns(empty)
        with pytest.raises(InvalidValueError, match="'queue'"):
            ConditionalQuantileBuffer(by=("queue",)).fit_columns(hourly(10))

    def test_long_values_are_truncated_in_messages(self) -> None:
        with pytest.raises(InvalidTypeError) as info:
            ConditionalQuantileBuffer(parents=3.5 + 0j)  # type: ignore[arg-type]
        assert len(str(info.value)) < 300


class TestProperties:
    @given(st.floats(0, 1e6, allow_nan=False), st.floats(0, 1e4, allow_nan=False))
    def test_shrinkage_weight_is_in_the_unit_interval(self, n: float, k: float) -> None:
        w = float(shrinkage_weight(n, k))
        assert 0.0 <= w <= 1.0

    @given(
        st.integers(0, 2**32 - 1),
        st.lists(st.floats(0.0, 1.0), min_size=2, max_size=8),
        st.sampled_from([(), ("segment",), ("segment", "hour"), ("hour", "weekday")]),
        st.sampled_from([None, "log", "additive"]),
    )
    @settings(max_examples=60, deadline=None)
    def test_quantiles_increase_with_the_level(
        self, seed: int, levels: list[float], by: tuple[str, ...], location: str | None
    ) -> None:
        rng = np.random.default_rng(seed)
        n = int(rng.integers(5, 300))
        t = np.sort(rng.integers(0, 60 * DAY, n)).astype(np.int64)
        d = rng.exponential(30 * MIN, n).astype(np.int64)
        seg = rng.choice(np.array(["a", "b", "c"], dtype=object), n)
        past = HistoryColumns(t, t + d, segment=seg, zone="Europe/Paris")
        policy = ConditionalQuantileBuffer(by=by, parents={"a": "ab", "b": "ab"}, location=location)
        quoter = policy.fit_columns(past)
        dist = quoter.distributions(past)
        rows = dist.cdf
        assert np.all(np.diff(rows, axis=1) >= -1e-12)
        assert np.all((rows >= 0) & (rows <= 1 + 1e-12))
        assert np.allclose(rows[:, -1], 1.0)
        ordered = sorted(levels)
        windows = [dist.quantile_us(q) for q in ordered]
        for lo, hi in itertools.pairwise(windows):
            assert np.all(lo <= hi + 1e-6)
        for q, w in zip(ordered, windows, strict=True):
            assert np.all(dist.cdf_at(w) >= q - 1e-9)


class TestScale:
    def test_many_cells_get_a_coarser_grid(self, monkeypatch: pytest.MonkeyPatch) -> None:
        import promisekit.buffering._conditional as conditional

        monkeypatch.setattr(conditional, "_MAX_TABLE", 64 * 40)
        rng = np.random.default_rng(0)
        n = 5000
        t = np.arange(n, dtype=np.int64) * MIN
        seg = rng.integers(0, 30, n).astype(str).astype(object)
        past = HistoryColumns(t, t + rng.integers(1, 10**9, n), segment=seg)
        quoter = ConditionalQuantileBuffer(by=("segment",)).fit_columns(past)
        assert quoter._grid.shape[0] < 100  # 31 cells x at most 82 grid points
        window = quoter.quote_columns(past).window_us
        assert np.all(np.isin(window, quoter._grid))

    def test_segment_in_by_without_segments(self) -> None:
        past = hourly(300)
        quotes = ConditionalQuantileBuffer().fit_columns(past).quote_columns(past)
        assert len(quotes.window_us) == 300


class TestLocation:
    def rush_history(self, seed: int = 0) -> tuple[HistoryColumns, dict[str, str]]:
        """Segments of different scales; every one 60 % slower at 08:00-09:59 UTC."""
        rng = np.random.default_rng(seed)
        n = 6000
        t = np.sort(rng.integers(0, 120 * DAY, n)).astype(np.int64)
        seg = rng.choice(np.array(["big", "small", "thin"], dtype=object), n, p=[0.6, 0.39, 0.01])
        scale = np.where(seg == "big", 20.0, np.where(seg == "small", 40.0, 80.0))
        rush = np.isin((t // HOUR) % 24, [8, 9])
        d = scale * np.where(rush, 1.6, 1.0) * np.exp(0.2 * rng.standard_normal(n)) * MIN
        return HistoryColumns(t, t + d.astype(np.int64), segment=seg), {
            "big": "all-teams",
            "small": "all-teams",
            "thin": "all-teams",
        }

    def test_a_thin_segment_keeps_its_scale_and_borrows_the_rush_hour(self) -> None:
        past, parents = self.rush_history()
        policy = ConditionalQuantileBuffer(
            q=0.5, by=("segment", "hour"), parents=parents, location="log"
        )
        quoter = policy.fit_columns(past)
        at = np.array([3 * HOUR, 8 * HOUR + 30 * MIN], dtype=np.int64) + 200 * DAY
        probe = HistoryColumns(at, at, segment=np.array(["thin", "thin"], dtype=object))
        calm, rush = quoter.quote_columns(probe).window_us / MIN
        assert 70 <= calm <= 90
        assert 1.45 <= rush / calm <= 1.75
        plain = ConditionalQuantileBuffer(q=0.5, by=("segment", "hour"), parents=parents)
        calm_plain, rush_plain = plain.fit_columns(past).quote_columns(probe).window_us / MIN
        # Without main effects, the thin segment's rush hour is mostly its parent's.
        assert abs(rush_plain / calm_plain - 1.6) > abs(rush / calm - 1.6)

    def test_additive_location_for_deviations(self) -> None:
        n = 2000
        t = np.arange(n, dtype=np.int64) * HOUR
        late = np.where((t // HOUR) % 24 < 12, -5, 15) * MIN + (np.arange(n) % 3) * MIN
        past = HistoryColumns(t, t + 60 * MIN + late, reference_us=t + 60 * MIN)
        policy = ConditionalQuantileBuffer(
            q=1.0, by=("hour",), relative=True, location="additive", k=0
        )
        window = policy.fit_columns(past).quote_columns(past).window_us[[0, 13]] / MIN
        assert window.tolist() == pytest.approx([55, 76], abs=0.5)  # i % 3 is fixed per hour

    def test_budget_on_scaled_distributions(self) -> None:
        from promisekit.buffering import allocate_budget

        past, _ = self.rush_history(1)
        quoter = ConditionalQuantileBuffer(by=("segment",), location="log").fit_columns(past)
        dist = quoter.distributions(past)
        assert dist.scale is not None
        uniform = quoter.quote_columns(past, q=0.8)
        budget = allocate_budget(dist, float(uniform.window_us.mean()))
        assert budget.window_us.sum() == round(float(uniform.window_us.mean()) * len(past))
        assert budget.confidence.sum() >= uniform.confidence.sum()

    def test_bad_location(self) -> None:
        with pytest.raises(InvalidValueError, match="'location'"):
            ConditionalQuantileBuffer(location="exp")
        with pytest.raises(InvalidValueError, match="relative"):
            ConditionalQuantileBuffer(location="log", relative=True)


def test_mixed_segment_labels_are_refused() -> None:
    t = np.arange(4, dtype=np.int64) * HOUR
    past = HistoryColumns(t, t + MIN, segment=np.array(["a", 1, None, "b"], dtype=object))
    with pytest.raises(InvalidTypeError, match="'segment' labels"):
        ConditionalQuantileBuffer().fit_columns(past)
