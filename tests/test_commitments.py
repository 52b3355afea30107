"""Published commitments: Wilson intervals, publishability, achievable windows."""

from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone
from statistics import NormalDist
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from promisekit.buffering import HistoryRecord
from promisekit.calendar import BusinessCalendar
from promisekit.commitments import Commitment, CommitmentCheck, achievable_window, wilson_interval
from promisekit.errors import (
    InsufficientDataError,
    InvalidTypeError,
    InvalidValueError,
    NaiveDatetimeError,
    PromiseKitError,
)

UTC = timezone.utc
PARIS = ZoneInfo("Europe/Paris")
M = timedelta(minutes=1)
H = timedelta(hours=1)
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
Z95 = NormalDist().inv_cdf(0.975)


def history_of(minutes: list[float]) -> list[HistoryRecord]:
    return [HistoryRecord(T0, T0 + timedelta(minutes=m)) for m in minutes]


def reference_wilson(k: int, n: int, z: float) -> tuple[float, float]:
    """The textbook form: (p + z²/2n ± z sqrt(p(1-p)/n + z²/4n²)) / (1 + z²/n)."""
    p = k / n
    center = p + z * z / (2 * n)
    spread = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return (center - spread) / (1 + z * z / n), (center + spread) / (1 + z * z / n)


# --------------------------------------------------------------------------- Wilson


def test_wilson_closed_forms() -> None:
    lower, upper = wilson_interval(10, 10)
    assert lower == pytest.approx(10 / (10 + Z95**2))  # all kept: n / (n + z²)
    assert upper == 1.0
    lower, upper = wilson_interval(0, 10)
    assert lower == 0.0
    assert upper == pytest.approx(Z95**2 / (10 + Z95**2))
    lower, upper = wilson_interval(95, 100)
    assert (round(lower, 4), round(upper, 4)) == (0.8882, 0.9785)


@given(st.integers(1, 5000).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))))
def test_wilson_matches_the_textbook_formula(pair: tuple[int, int]) -> None:
    k, n = pair
    lower, upper = wilson_interval(k, n)
    ref_lower, ref_upper = reference_wilson(k, n, Z95)
    assert lower == pytest.approx(max(ref_lower, 0.0), abs=1e-12)
    assert upper == pytest.approx(min(ref_upper, 1.0), abs=1e-12)
    assert 0.0 <= lower <= k / n <= upper <= 1.0


def test_wilson_confidence_level_widens_the_interval() -> None:
    narrow = wilson_interval(90, 100, 0.8)
    wide = wilson_interval(90, 100, 0.99)
    assert wide[0] < narrow[0] < 0.9 < narrow[1] < wide[1]


@pytest.mark.parametrize(
    ("args", "error", "words"),
    [
        ((5, 0), InvalidValueError, ["'n'", "0"]),
        ((11, 10), InvalidValueError, ["'successes'", "11"]),
        ((-1, 10), InvalidValueError, ["'successes'", "-1"]),
        ((1.5, 10), InvalidTypeError, ["'successes'", "1.5"]),
        ((1, True), InvalidTypeError, ["'n'", "True"]),
        ((1, 10, 1.0), InvalidValueError, ["'confidence'", "1.0"]),
    ],
)
def test_wilson_errors(args: tuple, error: type[Exception], words: list[str]) -> None:  # type: ignore[type-arg]
    with pytest.raises(error) as info:
        wilson_interval(*args)
    assert isinstance(info.value, PromiseKitError)
    for word in words:
        assert word in str(info.value)


# --------------------------------------------------------------------------- check


def test_check_publishable_and_not() -> None:
    history = history_of([30] * 490 + [90] * 10)  # 98 % within the hour
    strict = Commitment("callback", H, 0.98, business_time=False)
    result = strict.check(history)
    assert isinstance(result, CommitmentCheck)
    assert (result.n, result.n_kept, result.rate) == (500, 490, 0.98)
    assert (result.lower, result.upper) == wilson_interval(490, 500)
    assert result.lower < 0.98 < result.upper
    assert not result.publishable
    assert result.verdict.startswith(
        "not publishable: 'callback within 1 h, 98 % of the time' was met 98 % of the time "
        "over 500 requests (95 % interval"
    )
    assert "below the target 98 %" in result.verdict
    assert str(result) == result.verdict
    relaxed = Commitment("callback", H, 0.95, business_time=False).check(history)
    assert relaxed.publishable
    assert relaxed.verdict.startswith("publishable: 'callback within 1 h, 95 % of the time'")
    assert relaxed.confidence == 0.95


def test_check_in_business_time() -> None:
    office = BusinessCalendar("Europe/Paris", hours={"mon-fri": "09:00-17:00"})
    friday = datetime(2026, 3, 6, 16, 30, tzinfo=PARIS)
    history = [(friday, friday + timedelta(days=3))] * 400  # Monday 16:30: 8 h 30 business
    history += [(friday, datetime(2026, 3, 9, 9, 20, tzinfo=PARIS))] * 100  # 50 business min
    commitment = Commitment("callback", H, 0.5)
    assert str(commitment) == "callback within 1 h, 50 % of the time"
    result = commitment.check(history, office)  # business time: a calendar is given
    assert result.n_kept == 100
    assert not result.publishable
    explicit = Commitment("callback", H, 0.5, business_time=True)
    assert str(explicit) == "callback within 1 business h, 50 % of the time"
    assert explicit.check(history, office).n_kept == 100
    real = Commitment("callback", timedelta(days=3), 0.99, business_time=False).check(history)
    assert real.n_kept == 500 and real.publishable


def test_check_requires_a_calendar_for_business_time() -> None:
    with pytest.raises(InvalidValueError) as info:
        Commitment("callback", H, 0.98, business_time=True).check(history_of([10]))
    assert "'calendar'" in str(info.value) and "business_time=False" in str(info.value)


def test_default_is_business_time_only_with_a_calendar() -> None:
    # Regression (issue 15): the default used to demand a calendar.
    t0 = datetime(2026, 3, 6, 16, 30, tzinfo=PARIS)  # a Friday, 30 min before closing
    history = [(t0, t0 + timedelta(hours=2))] * 50
    real = Commitment("arrival", timedelta(hours=3), 0.9).check(history)
    assert real.n_kept == 50
    office = BusinessCalendar("Europe/Paris", hours={"mon-fri": "09:00-17:00"})
    business = Commitment("arrival", timedelta(hours=3), 0.9).check(history, office)
    assert business.n_kept == 50  # 30 business min
    assert achievable_window(history, 0.5) == 2 * H
    assert achievable_window(history, 0.5, office) == 30 * M


def test_commitment_relative_to_the_promised_due() -> None:
    t0 = datetime(2026, 3, 2, 9, 0, tzinfo=PARIS)
    schedule = t0 + timedelta(hours=3)
    history = [
        HistoryRecord(t0, schedule + timedelta(minutes=m), promised_due=schedule)
        for m in (-20, -5, 0, 10, 15, 16, 40)
    ]
    history.append(HistoryRecord(t0, t0 + timedelta(hours=9)))  # no promised due: left out
    commitment = Commitment("arrival", 15 * M, 0.5, relative_to="promised_due")
    assert str(commitment) == "arrival by the promised due + 15 min, 50 % of the time"
    result = commitment.check(history)
    assert (result.n, result.n_kept) == (7, 5)
    with pytest.raises(InsufficientDataError, match="promised_due"):
        commitment.check(history[-1:])
    with pytest.raises(InvalidValueError, match="'relative_to'"):
        Commitment("arrival", 15 * M, 0.5, relative_to="schedule")


@pytest.mark.parametrize(
    ("call", "error", "words"),
    [
        (lambda: Commitment("", H, 0.9), InvalidValueError, ["'name'", "''"]),
        (lambda: Commitment(None, H, 0.9), InvalidTypeError, ["'name'", "None"]),
        (lambda: Commitment("cb", -H, 0.9), InvalidValueError, ["'window'", "negative"]),
        (lambda: Commitment("cb", "1h", 0.9), InvalidTypeError, ["'window'", "'1h'"]),
        (lambda: Commitment("cb", H, 0), InvalidValueError, ["'target_rate'", "0"]),
        (lambda: Commitment("cb", H, 98), InvalidValueError, ["'target_rate'", "98"]),
        (lambda: Commitment("cb", H, 0.9, "yes"), InvalidTypeError, ["'business_time'", "'yes'"]),
        (
            lambda: Commitment("cb", H, 0.9, False).check([]),
            InsufficientDataError,
            ["'history'", "at least one"],
        ),
        (
            lambda: Commitment("cb", H, 0.9, False).check(history_of([1]), confidence=0),
            InvalidValueError,
            ["'confidence'", "0"],
        ),
        (
            lambda: Commitment("cb", H, 0.9, False).check([(datetime(2026, 3, 2), T0)]),
            NaiveDatetimeError,
            ["'history[0].requested_at'"],
        ),
        (
            lambda: Commitment("cb", H, 0.9).check(history_of([1]), calendar="Paris"),
            InvalidTypeError,
            ["'calendar'", "'Paris'"],
        ),
    ],
)
def test_commitment_errors(call: object, error: type[Exception], words: list[str]) -> None:
    with pytest.raises(error) as info:
        call()  # type: ignore[operator]
    assert isinstance(info.value, PromiseKitError)
    for word in words:
        assert word in str(info.value)


# --------------------------------------------------------------------------- achievable window


def test_achievable_window_is_the_smallest_publishable_one() -> None:
    minutes = [1 + i % 60 for i in range(600)]  # 10 records at each of 1..60 minutes
    history = history_of(minutes)
    window = achievable_window(history, 0.9, business_time=False)
    assert window == 56 * M
    assert Commitment("cb", window, 0.9, business_time=False).check(history).publishable
    assert not Commitment("cb", window - M, 0.9, business_time=False).check(history).publishable


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.integers(0, 500), min_size=1, max_size=400),
    st.floats(0.05, 0.9),
)
def test_achievable_window_property(minutes: list[int], rate: float) -> None:
    history = history_of(minutes)
    try:
        window = achievable_window(history, rate, business_time=False)
    except InsufficientDataError:
        assert not Commitment("cb", max(minutes) * M, rate, False).check(history).publishable
        return
    assert Commitment("cb", window, rate, business_time=False).check(history).publishable
    shorter = [m for m in minutes if m * M < window]
    if shorter:
        below = Commitment("cb", max(shorter) * M, rate, business_time=False)
        assert not below.check(history).publishable


def test_achievable_window_needs_enough_records() -> None:
    history = history_of([10] * 500)
    with pytest.raises(InsufficientDataError) as info:
        achievable_window(history, 0.999, business_time=False)
    message = str(info.value)
    assert "'rate' 99.9 %" in message
    assert "from 500 records" in message
    assert "at least 3838 records" in message
    assert achievable_window(history_of([10] * 3838), 0.999, business_time=False) == 10 * M
    with pytest.raises(InsufficientDataError, match="100 % rate"):
        achievable_window(history, 1.0, business_time=False)


def test_achievable_window_in_business_time() -> None:
    office = BusinessCalendar("Europe/Paris", hours={"mon-fri": "09:00-17:00"})
    friday = datetime(2026, 3, 6, 16, 45, tzinfo=PARIS)
    history = [(friday, datetime(2026, 3, 9, 9, 15, tzinfo=PARIS))] * 200
    assert achievable_window(history, 0.9, office) == 30 * M
    with pytest.raises(InvalidValueError, match="'calendar'"):
        achievable_window(history, 0.9, business_time=True)
    with pytest.raises(InvalidTypeError, match="'business_time'"):
        achievable_window(history, 0.9, office, business_time=1)  # type: ignore[arg-type]
    with pytest.raises(InvalidValueError, match="'rate'"):
        achievable_window(history, 0.0, office)
