"""backtest(): hand-checked replay, no look-ahead, agreement with a naive reference."""

from __future__ import annotations

import random
import sys
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from promisekit.buffering import (
    HISTORICAL,
    BufferPolicy,
    EmpiricalCapability,
    FixedBuffer,
    HistoryRecord,
    NoBuffer,
    QuantileBuffer,
    RoundUp,
    backtest,
    quote,
)
from promisekit.buffering._common import CompiledClock
from promisekit.calendar import BusinessCalendar
from promisekit.errors import (
    InsufficientDataError,
    InvalidTypeError,
    InvalidValueError,
    MissingDependencyError,
    PromiseKitError,
)

UTC = timezone.utc
PARIS = ZoneInfo("Europe/Paris")
M = timedelta(minutes=1)
OFFICE = BusinessCalendar("Europe/Paris", hours={"mon-fri": ["09:00-12:30", "13:30-18:00"]})


def at(hour: int, minute: int) -> datetime:
    return datetime(2026, 3, 10, hour, minute, tzinfo=UTC)


def small_history() -> list[HistoryRecord]:
    """Five requests; see test_backtest_by_hand for the replay worked out."""
    return [
        HistoryRecord(at(9, 50), at(10, 10), "b", promised_due=at(10, 0)),  # r3
        HistoryRecord(at(9, 0), at(9, 5), "a"),  # r0
        HistoryRecord(at(9, 20), at(9, 30), "b"),  # r2
        HistoryRecord(at(10, 20), at(10, 21), "a", promised_due=at(10, 30)),  # r4
        HistoryRecord(at(9, 10), at(9, 40), "a"),  # r1
    ]


def test_backtest_by_hand() -> None:
    # r3 (09:50) sees r0, r2, r1 completed: [5, 10, 30] min -> median 10, max 30.
    # r4 (10:20) also sees r3: [5, 10, 20, 30] -> median 10 (the 2nd of 4), max 30.
    result = backtest(
        small_history(),
        {"median": NoBuffer(), "max": QuantileBuffer(1.0, min_samples=1)},
        min_samples=2,
        satisfaction=lambda late, window: -max(late.total_seconds(), 0.0) / 60,
        keep_quotes=True,
    )
    median = result.row("median")
    assert (median.n_quoted, median.n_skipped) == (2, 3)
    assert median.on_time_rate == 0.5  # r3 due 10:00, done 10:10; r4 due 10:30, done 10:21
    assert median.mean_window == median.median_window == 10 * M
    assert median.mean_confidence == pytest.approx((2 / 3 + 2 / 4) / 2)
    assert median.expected_satisfaction == pytest.approx(-5.0)
    assert not median.business_time
    top = result.row("max")
    assert (top.n_quoted, top.on_time_rate, top.mean_window) == (2, 1.0, 30 * M)
    assert top.mean_confidence == 1.0
    history = result.row(HISTORICAL)
    assert (history.n_quoted, history.n_skipped, history.on_time_rate) == (2, 3, 0.5)
    assert history.mean_confidence is None
    assert history.mean_window == 10 * M  # 10:00 - 09:50 and 10:30 - 10:20
    by_index = {(q.index, q.policy): q for q in result.quotes}
    assert by_index[(0, "median")].due == at(10, 0)
    assert by_index[(0, "median")].on_time is False
    assert by_index[(3, "max")].due == at(10, 50)
    assert by_index[(1, "median")].due is None and by_index[(1, "median")].on_time is None
    assert len(result.quotes) == 5 * 3


def test_backtest_by_segment() -> None:
    result = backtest(
        small_history(), [NoBuffer()], min_samples=1, segment_key="segment", keep_quotes=True
    )
    assert [(r.segment, r.n_quoted) for r in result.rows if r.policy == "NoBuffer()"] == [
        (None, 3),
        ("a", 2),
        ("b", 1),
    ]
    # Segment "b" at 09:50 knows only r2 (10 min); "a" at 10:20 knows r0 and r1.
    dues = {q.index: q.due for q in result.quotes if q.policy == "NoBuffer()"}
    assert dues[0] == at(10, 0)
    assert dues[3] == at(10, 25)  # median of [5, 30] is the 1st of 2 -> 5 min
    callable_key = backtest(small_history(), NoBuffer(), min_samples=1, segment_key=lambda r: 1)
    assert {r.segment for r in callable_key.rows} == {None, 1}


def test_backtest_text_table() -> None:
    result = backtest(small_history(), {"median": NoBuffer()}, min_samples=2)
    lines = result.to_text().splitlines()
    assert lines[0].split() == [
        "policy",
        "quoted",
        "skipped",
        "on",
        "time",
        "mean",
        "conf.",
        "mean",
        "window",
        "median",
    ]
    assert lines[2].split() == [
        "median",
        "2",
        "3",
        "50",
        "%",
        "58.3",
        "%",
        "10",
        "min",
        "10",
        "min",
    ]
    assert str(result) == result.to_text()
    assert "segment" in backtest(small_history(), NoBuffer(), segment_key="segment").to_text()


def test_backtest_to_pandas() -> None:
    frame = backtest(small_history(), {"median": NoBuffer()}, min_samples=2).to_pandas()
    assert list(frame["policy"]) == ["median", HISTORICAL]
    assert list(frame["n_quoted"]) == [2, 2]


def test_backtest_to_pandas_without_pandas(monkeypatch: pytest.MonkeyPatch) -> None:
    result = backtest(small_history(), NoBuffer(), min_samples=2)
    monkeypatch.setitem(sys.modules, "pandas", None)
    with pytest.raises(MissingDependencyError) as info:
        result.to_pandas()
    assert isinstance(info.value, ImportError)
    assert "'pandas'" in str(info.value) and "promisekit[analysis]" in str(info.value)


def test_backtest_in_business_time() -> None:
    def paris(day: int, hour: int, minute: int) -> datetime:
        return datetime(2026, 3, day, hour, minute, tzinfo=PARIS)

    history = [
        HistoryRecord(paris(9, 10, 0), paris(9, 10, 30)),  # 30 business min
        HistoryRecord(paris(9, 12, 20), paris(9, 13, 50)),  # 10 + 20 = 30 business min
        HistoryRecord(paris(9, 17, 45), paris(10, 9, 15)),  # 15 + 15 = 30 business min
        HistoryRecord(paris(10, 12, 15), paris(10, 13, 40)),  # 15 + 10 = 25 business min
    ]
    result = backtest(
        history, {"median": NoBuffer()}, calendar=OFFICE, min_samples=3, keep_quotes=True
    )
    row = result.row("median")
    assert row.business_time
    assert row.n_quoted == 1
    assert row.mean_window == 30 * M
    assert row.on_time_rate == 1.0
    (quoted,) = [q for q in result.quotes if q.due is not None]
    assert quoted.due == paris(10, 13, 45)  # 15 min before lunch, 15 after
    assert quoted.due.tzinfo is OFFICE.zone
    assert "(business)" in result.to_text()


def synthetic(n: int, seed: int, zone: timezone | ZoneInfo = UTC) -> list[HistoryRecord]:
    rng = random.Random(seed)
    origin = datetime(2026, 3, 2, 8, 0, tzinfo=zone)
    records = []
    for _ in range(n):
        requested = origin + timedelta(minutes=rng.uniform(0, 10 * 24 * 60))
        duration = timedelta(minutes=rng.lognormvariate(3.0, 0.8))
        segment = rng.choice(["callback", "repair"])
        records.append(HistoryRecord(requested, requested + duration, segment))
    return records


POLICIES: dict[str, BufferPolicy] = {
    "median": NoBuffer(),
    "p90": QuantileBuffer(0.9, min_samples=5),
    "p80+15m|half-hour": QuantileBuffer(0.8, min_samples=5)
    + FixedBuffer(15 * M)
    + RoundUp("half-hour"),
}


@pytest.mark.parametrize("calendar", [None, OFFICE])
@pytest.mark.parametrize("segment_key", [None, "segment"])
def test_backtest_has_no_look_ahead(
    calendar: BusinessCalendar | None, segment_key: str | None
) -> None:
    """Changing what happens after t never changes the quotes of requests before t."""
    history = sorted(synthetic(300, seed=1), key=lambda r: r.requested_at)
    t = history[150].requested_at
    before = [r for r in history if r.requested_at < t]
    rng = random.Random(99)
    altered_past = [
        # Known before t: unchanged. Completed at or after t: unknown before t, so move it.
        r
        if r.completed_at < t
        else HistoryRecord(
            r.requested_at, r.completed_at + timedelta(hours=rng.uniform(0, 9)), r.segment
        )
        for r in before
    ]
    future = [
        HistoryRecord(
            t + timedelta(minutes=rng.uniform(0, 5000)),
            t + timedelta(minutes=rng.uniform(5000, 9000)),
            rng.choice(["callback", "repair", "vip"]),
        )
        for _ in range(200)
    ]
    original = backtest(
        before + history[150:],
        POLICIES,
        calendar=calendar,
        min_samples=5,
        segment_key=segment_key,
        keep_quotes=True,
    )
    changed = backtest(
        altered_past + future,
        POLICIES,
        calendar=calendar,
        min_samples=5,
        segment_key=segment_key,
        keep_quotes=True,
    )
    n = len(before)

    def early(result_quotes: tuple) -> dict:  # type: ignore[type-arg]
        return {(q.index, q.policy): q.due for q in result_quotes if q.index < n}

    assert early(original.quotes) == early(changed.quotes)
    assert sum(due is not None for due in early(original.quotes).values()) > 100


def naive_dues(
    history: list[HistoryRecord], policy: BufferPolicy, min_samples: int
) -> dict[int, datetime | None]:
    dues: dict[int, datetime | None] = {}
    for i, record in enumerate(history):
        past = [
            r.duration
            for r in history
            if r.completed_at.timestamp() < record.requested_at.timestamp()
        ]
        if len(past) < min_samples:
            dues[i] = None
            continue
        try:
            dues[i] = quote(record.requested_at, EmpiricalCapability(past), policy).due
        except InsufficientDataError:
            dues[i] = None
    return dues


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 10**6), st.integers(1, 40))
def test_backtest_agrees_with_a_naive_replay(seed: int, min_samples: int) -> None:
    history = synthetic(60, seed)
    result = backtest(history, POLICIES, min_samples=min_samples, keep_quotes=True)
    for name, policy in POLICIES.items():
        fast = {q.index: q.due for q in result.quotes if q.policy == name}
        assert fast == naive_dues(history, policy, min_samples)


CALENDARS = [
    OFFICE,
    BusinessCalendar(
        "America/Toronto", hours={"mon-fri": "09:00-17:00"}, holidays=[datetime(2026, 3, 9).date()]
    ),
    BusinessCalendar.always_open("Australia/Lord_Howe"),
    BusinessCalendar("Europe/London", hours={"daily": ["00:00-02:30", "22:00-24:00"]}),
]


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from(CALENDARS),
    st.integers(0, 40 * 24 * 3600 * 10**6),
    st.integers(0, 40 * 24 * 3600 * 10**6),
    st.integers(0, 80 * 3600 * 10**6),
)
def test_compiled_clock_matches_the_calendar(
    calendar: BusinessCalendar, a_us: int, b_us: int, work_us: int
) -> None:
    lo = datetime(2026, 2, 20, tzinfo=UTC)
    hi = lo + timedelta(days=45)
    clock = CompiledClock(calendar, lo, hi)
    a = lo + timedelta(microseconds=a_us)
    b = lo + timedelta(microseconds=b_us)
    work = timedelta(microseconds=work_us)
    assert clock.between(a, b) == calendar.between(a, b)
    got, expected = clock.add(a, work), calendar.add(a, work)
    assert got.timestamp() == expected.timestamp()
    assert got.tzinfo is expected.tzinfo and got.fold == expected.fold
    outside = hi + timedelta(days=3)
    assert clock.add(outside, work) == calendar.add(outside, work)
    assert clock.between(lo - timedelta(days=2), a) == calendar.between(lo - timedelta(days=2), a)


@pytest.mark.parametrize(
    ("call", "error", "words"),
    [
        (lambda: backtest(small_history(), []), InvalidValueError, ["'policies'", "at least one"]),
        (lambda: backtest(small_history(), "p90"), InvalidTypeError, ["'policies'", "'p90'"]),
        (
            lambda: backtest(small_history(), [NoBuffer(), NoBuffer()]),
            InvalidValueError,
            ["'policies'", "'NoBuffer()'", "twice"],
        ),
        (
            lambda: backtest(small_history(), {HISTORICAL: NoBuffer()}),
            InvalidValueError,
            ["'policies'", "reserved"],
        ),
        (
            lambda: backtest(small_history(), {1: NoBuffer()}),
            InvalidTypeError,
            ["'policies key'", "1"],
        ),
        (
            lambda: backtest(small_history(), {"x": "p90"}),
            InvalidTypeError,
            ["policies['x']", "'p90'"],
        ),
        (
            lambda: backtest(small_history(), NoBuffer(), min_samples=0),
            InvalidValueError,
            ["'min_samples'", "0"],
        ),
        (
            lambda: backtest(small_history(), NoBuffer(), segment_key="kind"),
            InvalidValueError,
            ["'segment_key'", "'kind'"],
        ),
        (
            lambda: backtest(small_history(), NoBuffer(), segment_key=3),
            InvalidTypeError,
            ["'segment_key'", "3"],
        ),
        (
            lambda: backtest(small_history(), NoBuffer(), segment_key=lambda r: []),
            InvalidTypeError,
            ["segment of history[0]", "hashable"],
        ),
        (
            lambda: backtest(small_history(), NoBuffer(), satisfaction=1.0),
            InvalidTypeError,
            ["'satisfaction'", "1.0"],
        ),
        (
            lambda: backtest(small_history(), NoBuffer(), calendar="Paris"),
            InvalidTypeError,
            ["'calendar'", "'Paris'"],
        ),
        (lambda: backtest(42, NoBuffer()), InvalidTypeError, ["'history'", "42"]),
        (
            lambda: backtest(small_history(), NoBuffer()).row("p99"),
            InvalidValueError,
            ["'policy'", "'p99'"],
        ),
    ],
)
def test_backtest_errors(call: object, error: type[Exception], words: list[str]) -> None:
    with pytest.raises(error) as info:
        call()  # type: ignore[operator]
    assert isinstance(info.value, PromiseKitError)
    for word in words:
        assert word in str(info.value)


def test_backtest_of_an_empty_history() -> None:
    result = backtest([], NoBuffer())
    assert [(r.n_quoted, r.on_time_rate, r.mean_window) for r in result.rows] == [(0, None, None)]
