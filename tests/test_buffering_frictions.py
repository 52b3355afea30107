"""Regression tests for the frictions of issue 15 (segments, fallbacks, messages)."""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from promisekit.buffering import (
    EmpiricalCapability,
    FixedBuffer,
    HistoryRecord,
    OptimalBuffer,
    PointCapability,
    QuantileBuffer,
    ReferenceQuantile,
    SegmentedCapability,
    StepSatisfaction,
    UnknownSegmentError,
    backtest,
    quote,
)
from promisekit.buffering._optimal import _support
from promisekit.errors import (
    InsufficientDataError,
    InvalidTypeError,
    InvalidValueError,
    PromiseKitError,
)

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)


def _cap(minutes: int) -> EmpiricalCapability:
    return EmpiricalCapability.from_durations([timedelta(minutes=minutes)] * 3)


def test_segmented_fallback_chain_route_then_carrier_origin_then_all() -> None:
    everything = _cap(60)
    carrier_origin = SegmentedCapability(
        {("AC", "YUL"): _cap(30)}, fallback=everything, key=lambda s: s[:2]
    )
    routes = SegmentedCapability({("AC", "YUL", "YYZ"): _cap(10)}, fallback=carrier_origin)
    assert routes.for_segment(("AC", "YUL", "YYZ")).median() == timedelta(minutes=10)
    assert routes.for_segment(("AC", "YUL", "YVR")).median() == timedelta(minutes=30)
    assert routes.for_segment(("WS", "YYC", "YVR")).median() == timedelta(minutes=60)
    q = quote(T0, routes, FixedBuffer(0), segment=("AC", "YUL", "YOW"))
    assert q.window == timedelta(minutes=30)
    assert quote(T0, routes, FixedBuffer(0)).window == timedelta(minutes=60)  # no segment
    strict = SegmentedCapability({"a": _cap(5)}, fallback=SegmentedCapability({"b": _cap(7)}))
    with pytest.raises(UnknownSegmentError):
        strict.for_segment("c")


def test_segmented_errors_do_not_dump_objects() -> None:
    huge = SegmentedCapability({i: PointCapability(60) for i in range(5000)})
    with pytest.raises(InvalidTypeError) as info:
        SegmentedCapability({"a": PointCapability(60)}, fallback=[huge] * 100)  # type: ignore[arg-type]
    assert len(str(info.value)) < 600
    with pytest.raises(InvalidTypeError) as info:
        SegmentedCapability({"a": huge})  # type: ignore[dict-item]
    assert len(str(info.value)) < 600
    with pytest.raises(UnknownSegmentError) as unknown:
        huge.for_segment("x" * 10_000)
    assert len(str(unknown.value)) < 1000
    with pytest.raises(PromiseKitError) as info:
        backtest([], {"p": huge})  # type: ignore[dict-item]
    assert len(str(info.value)) < 600
    with pytest.raises(InvalidTypeError, match="'key'"):
        SegmentedCapability({"a": PointCapability(60)}, key=3)  # type: ignore[arg-type]


def _routes(seed: int, n: int = 300) -> list[HistoryRecord]:
    rng = random.Random(seed)
    records = []
    for _ in range(n):
        start = T0 + timedelta(minutes=rng.randint(0, 60 * 24 * 20))
        carrier = rng.choice(["AC", "WS"])
        dest = rng.choice(["YYZ", "YVR", "YOW", "YHZ", "YQB", "YXE"])
        base = 30 if carrier == "AC" else 90
        work = timedelta(minutes=base + rng.randint(0, 60))
        records.append(HistoryRecord(start, start + work, (carrier, "YUL", dest)))
    return records


def test_backtest_pools_thin_segments_through_fallback_keys() -> None:
    records = _routes(1)
    policy = {"p90": QuantileBuffer(0.9, min_samples=10)}
    plain = backtest(records, policy, segment_key="segment", min_samples=10)
    pooled = backtest(
        records,
        policy,
        segment_key="segment",
        min_samples=10,
        fallback_keys=[lambda s: s[:2]],
        keep_quotes=True,
    )
    # Thin routes now quote from their carrier (or everything) instead of skipping.
    assert pooled.row("p90").n_skipped < plain.row("p90").n_skipped
    assert pooled.row("p90").n_quoted == len(records) - pooled.row("p90").n_skipped
    # A quote from the carrier level is the carrier's p90: WS routes promise >= 90 min.
    for q in pooled.quotes:
        if q.window is not None and records[q.index].segment[0] == "WS":
            assert q.window >= timedelta(minutes=90)
    with pytest.raises(InvalidValueError, match="fallback_keys"):
        backtest(records, policy, fallback_keys=[lambda s: s])
    with pytest.raises(InvalidTypeError, match="fallback_keys"):
        backtest(records, policy, segment_key="segment", fallback_keys=[3])  # type: ignore[list-item]


def test_columnar_backtest_pools_like_backtest() -> None:
    pytest.importorskip("numpy")
    from promisekit.buffering import backtest_columns

    records = _routes(2, 400)
    policies = {"p90": QuantileBuffer(0.9, min_samples=10), "p50": QuantileBuffer(0.5, 1)}
    keys = [lambda s: s[:2], lambda s: s[0]]
    a = backtest(
        records,
        policies,
        segment_key="segment",
        min_samples=10,
        fallback_keys=keys,
        keep_quotes=True,
    )
    b = backtest_columns(
        records,
        policies,
        by_segment=True,
        min_samples=10,
        fallback_keys=keys,
        keep_quotes=True,
        max_segments=100,
    )
    assert a.rows == b.rows
    assert a.quotes == b.quotes


def test_signed_deviations_from_a_reference() -> None:
    cap = EmpiricalCapability.from_deviations(
        [timedelta(minutes=m) for m in (-20, -10, -5, 0, 3, 8, 15, 30, 60, 90)], label="trains"
    )
    assert cap.signed
    assert cap.quantile(0.2) == timedelta(minutes=-10)
    assert cap.cdf(timedelta(minutes=-6)) == pytest.approx(0.2)
    assert not EmpiricalCapability.from_durations([60, 120]).signed
    with pytest.raises(InvalidValueError, match="negative"):
        EmpiricalCapability([60, -1])
    with pytest.raises(InvalidTypeError, match="'durations'"):
        EmpiricalCapability.from_deviations("soon")  # type: ignore[arg-type]
    schedule = datetime(2026, 3, 2, 14, 0, tzinfo=timezone(timedelta(hours=1)))
    policy = ReferenceQuantile(0.8, min_samples=5)
    due = policy.due(schedule, cap)
    assert due == schedule + timedelta(minutes=30)
    assert due.utcoffset() == timedelta(hours=1)
    assert ReferenceQuantile(0.2, min_samples=5).due(schedule, cap) < schedule  # earlier
    with pytest.raises(InsufficientDataError):
        ReferenceQuantile(0.8).due(schedule, cap)
    # From a request time a negative window is refused, with a PromiseKitError.
    with pytest.raises(PromiseKitError):
        quote(T0, cap, QuantileBuffer(0.1, min_samples=5))


def test_reference_quantile_in_a_columnar_backtest() -> None:
    np = pytest.importorskip("numpy")
    from promisekit.buffering import HistoryColumns, backtest_columns

    rng = np.random.default_rng(3)
    n = 4000
    requested = (
        np.sort(rng.integers(0, 120 * 86_400_000_000, n)).astype(np.int64) + 1_700_000_000_000_000
    )
    reference = requested + 3 * 3_600_000_000  # the schedule: 3 h
    deviation = (rng.normal(-10, 20, n) * 60e6).astype(np.int64)  # usually early
    completed = np.maximum(reference + deviation, requested)
    cols = HistoryColumns(requested, completed, "UTC", None, reference)
    result = backtest_columns(
        cols,
        {"ref p80": ReferenceQuantile(0.8)},
        refit="M",
        period="M",
        score_from=datetime.fromtimestamp(requested[n // 4] / 1e6, timezone.utc),
    )
    row = result.row("ref p80")
    assert row.on_time_rate == pytest.approx(0.8, abs=0.03)
    assert row.mean_confidence == pytest.approx(0.8, abs=0.01)
    assert row.mean_window < timedelta(minutes=10)  # schedule + a few minutes at most
    historical = result.row("historical promises")
    assert historical.on_time_rate > 0.6


@settings(max_examples=60, deadline=None)
@given(
    minutes=st.lists(st.integers(0, 600), min_size=1, max_size=80),
    on_time=st.floats(0.5, 2.0),
    late=st.floats(-1.0, 0.4),
    cost=st.floats(0.0, 3.0),
    points=st.integers(10, 100),
)
# A tie within rounding between the empty window and 10 minutes: the shorter wins.
@example(minutes=[0, 0, 0, 0, 0, 10], on_time=1.0, late=0.0, cost=1.0, points=10)
def test_step_satisfaction_closed_form_is_the_best_support_window(
    minutes: list[int], on_time: float, late: float, cost: float, points: int
) -> None:
    cap = EmpiricalCapability.from_durations([timedelta(minutes=m) for m in minutes])
    step = StepSatisfaction(on_time, late)
    policy = OptimalBuffer(step, quote_cost=cost, points=points)
    best = policy.optimal_window(cap)
    # Brute force over 0 and every support duration with the scalar objective.
    support = _support(cap, points)
    candidates = [timedelta(0)] + [timedelta(microseconds=v) for v in support]
    scalar = OptimalBuffer(
        lambda lateness, window: step(lateness, window), quote_cost=cost, points=points
    )
    values = [scalar.objective(cap, c) for c in candidates]
    top = max(values)
    assert scalar.objective(cap, best) == pytest.approx(top, abs=1e-9)
    assert best == min(c for c, v in zip(candidates, values, strict=True) if v >= top - 1e-12)


def test_vectorized_optimal_search_matches_the_scalar_search() -> None:
    np = pytest.importorskip("numpy")
    rng = random.Random(4)
    cap = EmpiricalCapability.from_durations(
        [timedelta(minutes=rng.lognormvariate(3, 0.7)) for _ in range(400)]
    )
    hour = np.timedelta64(3_600_000_000, "us")

    def scalar(lateness: timedelta, window: timedelta) -> float:
        late_h = max(lateness / timedelta(hours=1), 0.0)
        return -(late_h**2) - 0.3 * (window / timedelta(hours=1))

    def vector(lateness: object, window: object) -> object:
        late_h = np.maximum(lateness / hour, 0.0)
        return -(late_h**2) - 0.3 * (window / hour)

    slow = OptimalBuffer(scalar)
    fast = OptimalBuffer(vector, vectorized=True)
    a, b = slow.optimal_window(cap), fast.optimal_window(cap)
    assert slow.objective(cap, b) == pytest.approx(slow.objective(cap, a), abs=1e-6)
    with pytest.raises(InvalidValueError, match="shape"):
        OptimalBuffer(lambda late, w: 1.0, vectorized=True).optimal_window(cap)
    with pytest.raises(InvalidTypeError, match="'vectorized'"):
        OptimalBuffer(vector, vectorized="yes")  # type: ignore[arg-type]
