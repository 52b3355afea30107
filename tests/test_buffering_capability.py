"""Capabilities: point, empirical (inverted-CDF quantiles), parametric, segmented."""

from __future__ import annotations

import math
import statistics
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from promisekit.buffering import (
    EmpiricalCapability,
    HistoryRecord,
    ParametricCapability,
    PointCapability,
    SegmentedCapability,
    UnknownSegmentError,
)
from promisekit.calendar import BusinessCalendar
from promisekit.errors import (
    InconsistentRecordError,
    InsufficientDataError,
    InvalidTypeError,
    InvalidValueError,
    NaiveDatetimeError,
    PromiseKitError,
)

UTC = timezone.utc
PARIS = ZoneInfo("Europe/Paris")
M = timedelta(minutes=1)
S = timedelta(seconds=1)


def minutes(*values: float) -> list[timedelta]:
    return [timedelta(minutes=v) for v in values]


# --------------------------------------------------------------------------- point


def test_point_capability_is_a_step() -> None:
    cap = PointCapability(20 * M)
    assert not cap.is_distribution
    assert cap.n_samples is None
    assert cap.quantile(0.1) == cap.quantile(0.99) == cap.median() == 20 * M
    assert cap.cdf(19 * M) == 0.0
    assert cap.cdf(20 * M) == 1.0
    assert cap.residual_quantile(0.9, 5 * M) == 15 * M
    assert cap.residual_cdf(15 * M, 5 * M) == 1.0
    assert cap.residual_cdf(14 * M, 5 * M) == 0.0
    assert cap.describe() == "estimate"


def test_point_capability_accepts_seconds() -> None:
    assert PointCapability(90).duration == timedelta(seconds=90)


def test_point_residual_after_the_estimate_is_insufficient() -> None:
    with pytest.raises(InsufficientDataError, match="point estimate") as info:
        PointCapability(20 * M).residual_quantile(0.9, 25 * M)
    assert "25 min" in str(info.value)
    with pytest.raises(InsufficientDataError, match="elapsed"):
        PointCapability(20 * M).residual_cdf(M, 20 * M)


@pytest.mark.parametrize(
    ("value", "error", "words"),
    [
        ("20 min", InvalidTypeError, ["'duration'", "'20 min'"]),
        (-5, InvalidValueError, ["'duration'", "negative", "-1 day"]),
        (float("nan"), InvalidValueError, ["'duration'", "nan"]),
    ],
)
def test_point_capability_errors(value: object, error: type[Exception], words: list[str]) -> None:
    with pytest.raises(error) as info:
        PointCapability(value)  # type: ignore[arg-type]
    assert isinstance(info.value, PromiseKitError)
    for word in words:
        assert word in str(info.value)


# --------------------------------------------------------------------------- empirical


def test_empirical_quantile_is_the_inverted_cdf() -> None:
    cap = EmpiricalCapability.from_durations(minutes(10, 20, 30, 40))
    assert cap.quantile(0.0) == 10 * M
    assert cap.quantile(0.25) == 10 * M  # F(10) = 0.25 reaches 0.25
    assert cap.quantile(0.2500001) == 20 * M
    assert cap.quantile(0.5) == 20 * M
    assert cap.quantile(0.75) == 30 * M
    assert cap.quantile(0.76) == 40 * M
    assert cap.quantile(1.0) == 40 * M
    assert cap.cdf(9 * M) == 0.0
    assert cap.cdf(20 * M) == 0.5
    assert cap.cdf(timedelta(days=1)) == 1.0
    assert cap.cdf(-M) == 0.0


def test_empirical_quantile_is_immune_to_binary_rounding() -> None:
    # 0.9 * 40 == 36.00000000000001 in binary; the p90 of 40 values is still the 36th.
    cap = EmpiricalCapability.from_durations([timedelta(minutes=m) for m in range(1, 41)])
    assert cap.quantile(0.9) == 36 * M
    assert cap.cdf(cap.quantile(0.9)) >= 0.9
    # 0.7 * 10 == 7.000000000000001: the 7th of 10.
    ten = EmpiricalCapability.from_durations([timedelta(minutes=m) for m in range(1, 11)])
    assert ten.quantile(0.7) == 7 * M


@given(
    st.lists(st.integers(0, 10**6), min_size=1, max_size=60),
    st.floats(0, 1, allow_nan=False),
)
def test_empirical_quantile_properties(values: list[int], q: float) -> None:
    cap = EmpiricalCapability.from_durations(values)
    x = cap.quantile(q)
    assert x.total_seconds() in values  # always an observed duration
    assert cap.cdf(x) >= q  # reaches q ...
    below = [v for v in values if v < x.total_seconds()]
    if below:  # ... and no smaller observed duration does
        assert cap.cdf(timedelta(seconds=max(below))) < q or q == 0.0


def test_empirical_ties_and_zero_durations() -> None:
    cap = EmpiricalCapability.from_durations([0, 0, 60, 60, 60])
    assert cap.quantile(0.3) == timedelta(0)
    assert cap.quantile(0.41) == M
    assert cap.cdf(timedelta(0)) == 0.4


def test_empirical_residual_quantile() -> None:
    cap = EmpiricalCapability.from_durations(minutes(*range(1, 101)), label="repairs")
    # Given 60 min spent: the 40 durations 61..100 remain; residuals 1..40 min.
    assert cap.n_longer_than(60 * M) == 40
    assert cap.residual_quantile(0.9, 60 * M) == 36 * M
    assert cap.residual_quantile(0.5, 60 * M, min_samples=40) == 20 * M
    assert cap.residual_cdf(20 * M, 60 * M) == 0.5
    assert cap.residual_cdf(-M, 60 * M) == 0.0
    assert cap.residual_quantile(0.9, timedelta(0)) == cap.quantile(0.9)


def test_empirical_residual_with_too_few_remaining() -> None:
    cap = EmpiricalCapability.from_durations(minutes(*range(1, 101)), label="repairs")
    with pytest.raises(InsufficientDataError) as info:
        cap.residual_quantile(0.9, 90 * M)  # 10 remain, 30 needed by default
    message = str(info.value)
    assert "only 10 of the 100 past repairs" in message
    assert "1 h 30 min" in message
    assert "30" in message
    with pytest.raises(InsufficientDataError, match="only 0 of the 100"):
        cap.residual_cdf(M, 100 * M)


def test_empirical_describe_repr_and_accessors() -> None:
    cap = EmpiricalCapability.from_durations(minutes(30, 10, 20), label="callbacks")
    assert cap.describe() == "3 past callbacks"
    assert cap.durations == tuple(minutes(10, 20, 30))
    assert cap.mean == 20 * M
    assert cap.n_samples == 3
    assert cap.max_confidence == 0.75
    assert repr(cap) == (
        "EmpiricalCapability(n=3, median=0:20:00, p90=0:30:00, max=0:30:00, label='callbacks')"
    )
    assert cap == EmpiricalCapability(minutes(10, 30, 20), label="callbacks")
    assert hash(cap) == hash(EmpiricalCapability(minutes(10, 30, 20), label="callbacks"))


def test_empirical_from_pairs_in_business_time() -> None:
    cal = BusinessCalendar("Europe/Paris", hours={"mon-fri": "09:00-17:00"})
    friday = datetime(2026, 3, 6, 16, 30, tzinfo=PARIS)
    monday = datetime(2026, 3, 9, 9, 30, tzinfo=PARIS)
    cap = EmpiricalCapability.from_pairs([(friday, monday)], cal)
    assert cap.durations == (timedelta(hours=1),)
    real = EmpiricalCapability.from_pairs([(friday, monday)])
    assert real.durations == (monday - friday,)


def test_empirical_from_history() -> None:
    t0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    history = [
        HistoryRecord(t0, t0 + 10 * M, "a"),
        (t0, t0 + 20 * M, "b"),
        (t0, t0 + 30 * M, "a"),
    ]
    assert EmpiricalCapability.from_history(history).n_samples == 3
    assert EmpiricalCapability.from_history(history, segment="a").durations == tuple(
        minutes(10, 30)
    )
    with pytest.raises(InsufficientDataError, match="segment 'z'"):
        EmpiricalCapability.from_history(history, segment="z")


@pytest.mark.parametrize(
    ("call", "error", "words"),
    [
        (lambda: EmpiricalCapability([]), InsufficientDataError, ["'durations'", "empty"]),
        (lambda: EmpiricalCapability([60, -1]), InvalidValueError, ["'durations[1]'", "negative"]),
        (lambda: EmpiricalCapability([60, "x"]), InvalidTypeError, ["'durations[1]'", "'x'"]),
        (lambda: EmpiricalCapability(60), InvalidTypeError, ["'durations'", "60"]),
        (lambda: EmpiricalCapability("60"), InvalidTypeError, ["'durations'", "'60'"]),
        (lambda: EmpiricalCapability([60], label=""), InvalidValueError, ["'label'", "''"]),
        (
            lambda: EmpiricalCapability([60]).quantile(1.5),
            InvalidValueError,
            ["'q'", "1.5", "[0, 1]"],
        ),
        (lambda: EmpiricalCapability([60]).quantile("x"), InvalidTypeError, ["'q'", "'x'"]),
        (
            lambda: EmpiricalCapability([60]).cdf("soon"),
            InvalidTypeError,
            ["'duration'", "'soon'"],
        ),
        (
            lambda: EmpiricalCapability([60]).residual_quantile(0.5, -M),
            InvalidValueError,
            ["'elapsed'", "negative"],
        ),
        (
            lambda: EmpiricalCapability([60]).residual_quantile(0.5, M, min_samples=0),
            InvalidValueError,
            ["'min_samples'", "0"],
        ),
        (
            lambda: EmpiricalCapability.from_pairs(
                [(datetime(2026, 1, 1), datetime(2026, 3, 10, 9, 0, tzinfo=UTC))]
            ),
            NaiveDatetimeError,
            ["'pairs[0][0]'", "naive"],
        ),
        (
            lambda: EmpiricalCapability.from_pairs(
                [(datetime(2026, 1, 2, tzinfo=UTC), datetime(2026, 1, 1, tzinfo=UTC))]
            ),
            InvalidValueError,
            ["'pairs[0]'", "end before it starts", "2026-01-02"],
        ),
        (
            lambda: EmpiricalCapability.from_pairs([(datetime(2026, 1, 2, tzinfo=UTC),)]),
            InvalidTypeError,
            ["'pairs[0]'", "pair"],
        ),
        (lambda: EmpiricalCapability.from_pairs(5), InvalidTypeError, ["'pairs'", "int"]),
        (
            lambda: EmpiricalCapability.from_pairs([], calendar="Paris"),
            InvalidTypeError,
            ["'calendar'", "'Paris'"],
        ),
        (
            lambda: EmpiricalCapability.from_history([(1, 2)]),
            InvalidTypeError,
            ["'history[0].requested_at'", "int"],
        ),
        (
            lambda: EmpiricalCapability.from_history(
                [(datetime(2026, 1, 2, tzinfo=UTC), datetime(2026, 1, 1, tzinfo=UTC))]
            ),
            InconsistentRecordError,
            ["history[0]", "'completed_at'", "before"],
        ),
        (lambda: EmpiricalCapability.from_history("abc"), InvalidTypeError, ["'history'"]),
        (
            lambda: EmpiricalCapability.from_history([[1, 2]]),
            InvalidTypeError,
            ["'history[0]'", "HistoryRecord"],
        ),
    ],
)
def test_empirical_errors(call: object, error: type[Exception], words: list[str]) -> None:
    with pytest.raises(error) as info:
        call()  # type: ignore[operator]
    assert isinstance(info.value, PromiseKitError)
    for word in words:
        assert word in str(info.value)


# --------------------------------------------------------------------------- parametric


def test_exponential_quantile_and_cdf_are_exact() -> None:
    cap = ParametricCapability.exponential(mean=20 * M)
    assert cap.quantile(0.0) == timedelta(0)
    p95 = cap.quantile(0.95).total_seconds() / 60
    assert p95 == pytest.approx(-20 * math.log(0.05), abs=1e-6)
    assert cap.cdf(cap.quantile(0.95)) >= 0.95
    assert cap.cdf(20 * M) == pytest.approx(1 - math.exp(-1), abs=1e-15)
    assert cap.cdf(timedelta(0)) == 0.0
    assert cap.median() == cap.quantile(0.5)
    assert cap.mean == 20 * M
    assert cap.describe() == "exponential durations (mean 20 min)"
    assert cap.n_samples is None
    assert cap.max_confidence < 1.0


def test_exponential_is_memoryless() -> None:
    cap = ParametricCapability.exponential(mean=20 * M)
    assert cap.residual_quantile(0.9, 3 * timedelta(hours=1)) == cap.quantile(0.9)
    assert cap.residual_cdf(20 * M, 2 * timedelta(hours=1)) == pytest.approx(cap.cdf(20 * M))


def test_lognormal_quantile_cdf_and_residual() -> None:
    cap = ParametricCapability.lognormal(median=30 * M, sigma=0.8)
    normal = statistics.NormalDist()
    z = normal.inv_cdf(0.9)
    assert cap.quantile(0.9).total_seconds() == pytest.approx(1800 * math.exp(0.8 * z), abs=1e-5)
    assert cap.quantile(0.5) == 30 * M
    assert cap.cdf(30 * M) == pytest.approx(0.5)
    assert cap.mean.total_seconds() == pytest.approx(1800 * math.exp(0.32), abs=1e-5)
    # Residual: P(T <= e + r | T > e) = q, checked against the CDF.
    elapsed = 45 * M
    r = cap.residual_quantile(0.8, elapsed)
    tail = 1 - cap.cdf(elapsed)
    assert (cap.cdf(elapsed + r) - cap.cdf(elapsed)) / tail == pytest.approx(0.8, abs=1e-9)
    assert cap.residual_cdf(r, elapsed) == pytest.approx(0.8, abs=1e-9)
    assert cap.residual_cdf(timedelta(0), elapsed) == 0.0
    assert "lognormal" in cap.describe()


def test_lognormal_residual_far_in_the_tail() -> None:
    cap = ParametricCapability.lognormal(median=M, sigma=0.1)
    with pytest.raises(InsufficientDataError, match="'elapsed'"):
        cap.residual_quantile(0.9, timedelta(days=300))
    with pytest.raises(InsufficientDataError, match="'elapsed'"):
        cap.residual_cdf(M, timedelta(days=300))


def test_parametric_fit() -> None:
    exp = ParametricCapability.fit(minutes(10, 20, 30), family="exponential")
    assert exp == ParametricCapability.exponential(20 * M)
    logn = ParametricCapability.fit(minutes(10, 40))
    assert logn.family == "lognormal"
    assert logn.scale == 20 * M
    assert logn.sigma == pytest.approx(math.log(2))


@pytest.mark.parametrize(
    ("call", "error", "words"),
    [
        (lambda: ParametricCapability("gamma", M), InvalidValueError, ["'family'", "'gamma'"]),
        (lambda: ParametricCapability.exponential(0), InvalidValueError, ["'mean'", "positive"]),
        (lambda: ParametricCapability.exponential("x"), InvalidTypeError, ["'mean'", "'x'"]),
        (lambda: ParametricCapability.lognormal(-M, 1), InvalidValueError, ["'median'"]),
        (lambda: ParametricCapability.lognormal(M, 0), InvalidValueError, ["'sigma'", "0"]),
        (lambda: ParametricCapability("lognormal", M), InvalidValueError, ["'sigma'", "None"]),
        (lambda: ParametricCapability("exponential", M, 1.0), InvalidValueError, ["'sigma'"]),
        (
            lambda: ParametricCapability.exponential(M).quantile(1.0),
            InvalidValueError,
            ["'q'", "< 1", "1.0"],
        ),
        (
            lambda: ParametricCapability.exponential(M).quantile(-0.1),
            InvalidValueError,
            ["'q'", "-0.1"],
        ),
        (lambda: ParametricCapability.fit([0, 60]), InvalidValueError, ["'durations'", "positive"]),
        (lambda: ParametricCapability.fit([60]), InsufficientDataError, ["at least 2", "1"]),
        (lambda: ParametricCapability.fit([60, 60]), InvalidValueError, ["equal"]),
        (lambda: ParametricCapability.fit([60], "weibull"), InvalidValueError, ["'weibull'"]),
    ],
)
def test_parametric_errors(call: object, error: type[Exception], words: list[str]) -> None:
    with pytest.raises(error) as info:
        call()  # type: ignore[operator]
    assert isinstance(info.value, PromiseKitError)
    for word in words:
        assert word in str(info.value)


# --------------------------------------------------------------------------- segmented


def test_segmented_lookup_and_fallback() -> None:
    callback = PointCapability(20 * M)
    repair = EmpiricalCapability(minutes(60, 120))
    seg = SegmentedCapability({"callback": callback, "repair": repair})
    assert seg.for_segment("callback") is callback
    assert seg["repair"] is repair
    assert seg.segments == ("callback", "repair")
    with pytest.raises(UnknownSegmentError) as info:
        seg.for_segment("parcel")
    assert isinstance(info.value, InvalidValueError)
    assert info.value.segment == "parcel"
    assert info.value.known == ("callback", "repair")
    assert "'parcel'" in str(info.value)
    assert "'callback', 'repair'" in str(info.value)
    fallback = PointCapability(M)
    with_fallback = SegmentedCapability({"callback": callback}, fallback=fallback)
    assert with_fallback.for_segment("parcel") is fallback
    assert with_fallback.for_segment(["unhashable"]) is fallback  # type: ignore[arg-type]


def test_segmented_from_history() -> None:
    t0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    history = [(t0, t0 + k * M, "a" if k % 2 else "b") for k in range(1, 11)]
    history.append((t0, t0 + 99 * M, "rare"))
    seg = SegmentedCapability.from_history(history, min_samples=2, fallback="pooled")
    assert set(seg.segments) == {"a", "b"}
    assert seg.for_segment("a").quantile(1.0) == 9 * M
    assert seg.for_segment("rare").n_samples == 11  # pooled fallback
    strict = SegmentedCapability.from_history(history)
    assert strict.for_segment("rare").quantile(0.5) == 99 * M
    with pytest.raises(InvalidValueError, match="'fallback'"):
        SegmentedCapability.from_history(history, fallback="everything")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("call", "error", "words"),
    [
        (lambda: SegmentedCapability({}), InvalidValueError, ["'capabilities'", "empty"]),
        (lambda: SegmentedCapability([1]), InvalidTypeError, ["'capabilities'", "list"]),
        (
            lambda: SegmentedCapability({"a": 5}),
            InvalidTypeError,
            ["'capabilities['a']'", "int 5"],
        ),
        (
            lambda: SegmentedCapability({"a": PointCapability(1)}, fallback=3),
            InvalidTypeError,
            ["'fallback'", "3"],
        ),
        (
            lambda: SegmentedCapability.from_history([], fallback="pooled"),
            InsufficientDataError,
            ["'history'", "empty"],
        ),
    ],
)
def test_segmented_errors(call: object, error: type[Exception], words: list[str]) -> None:
    with pytest.raises(error) as info:
        call()  # type: ignore[operator]
    assert isinstance(info.value, PromiseKitError)
    for word in words:
        assert word in str(info.value)


def test_history_record() -> None:
    t0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    record = HistoryRecord(t0, t0 + 5 * M, segment=("vip", 1), promised_due=t0 + 10 * M)
    assert record.duration == 5 * M
    with pytest.raises(InconsistentRecordError, match="'promised_due'"):
        HistoryRecord(t0, t0 + M, promised_due=t0 - M)
    with pytest.raises(NaiveDatetimeError, match="'completed_at'"):
        HistoryRecord(t0, datetime(2026, 3, 2, 10, 0))
    with pytest.raises(InvalidTypeError, match="'segment'"):
        HistoryRecord(t0, t0, segment=["unhashable"])
