"""Columnar backtest: same answers as backtest(), warm-up, periods, columnar policies."""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

np = pytest.importorskip("numpy")

from promisekit.buffering import (  # noqa: E402
    HISTORICAL,
    Cap,
    FixedBuffer,
    Floor,
    HistoryColumns,
    HistoryRecord,
    NoBuffer,
    ProportionalBuffer,
    QuantileBuffer,
    QuoteColumns,
    RoundUp,
    backtest,
    backtest_columns,
)
from promisekit.buffering._backtest_kernels import _RangeOrder  # noqa: E402
from promisekit.calendar import BusinessCalendar  # noqa: E402
from promisekit.errors import (  # noqa: E402
    InconsistentRecordError,
    InvalidTypeError,
    InvalidValueError,
    PromiseKitError,
)

PARIS = ZoneInfo("Europe/Paris")
T0 = datetime(2025, 3, 1, tzinfo=PARIS)


def _history(seed: int, n: int = 400, days: int = 90) -> list[HistoryRecord]:
    rng = random.Random(seed)
    records = []
    for _ in range(n):
        # Arithmetic through UTC: a wall time in a DST gap is not a real instant.
        start = T0.astimezone(timezone.utc) + timedelta(minutes=rng.randint(0, 60 * 24 * days))
        work = timedelta(minutes=rng.choice([0, rng.randint(0, 600)]))
        promised = (start + timedelta(hours=2)).astimezone(PARIS) if rng.random() < 0.7 else None
        end = (start + work).astimezone(PARIS)
        records.append(HistoryRecord(start.astimezone(PARIS), end, rng.choice("abc"), promised))
    return records


POLICIES: dict[str, Any] = {
    "none": NoBuffer(),
    "p90": QuantileBuffer(0.9),
    "p50 thin": QuantileBuffer(0.5, min_samples=5),
    "p80 +10": QuantileBuffer(0.8) + FixedBuffer(600),
    "prop | p95": ProportionalBuffer(0.37) | QuantileBuffer(0.95, min_samples=40),
    "cap floor": QuantileBuffer(0.99) + Cap(timedelta(hours=3)) + Floor(timedelta(minutes=20)),
}


@pytest.mark.parametrize("segment_key", [None, "segment"])
def test_same_rows_and_quotes_as_backtest(segment_key: str | None) -> None:
    records = _history(1)
    warm = T0 + timedelta(days=20)
    a = backtest(records, POLICIES, segment_key=segment_key, keep_quotes=True, score_from=warm)
    b = backtest_columns(
        records, POLICIES, by_segment=segment_key is not None, keep_quotes=True, score_from=warm
    )
    assert a.rows == b.rows
    assert a.quotes == b.quotes


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    n=st.integers(0, 120),
    q=st.floats(0.05, 1.0),
    floor=st.integers(1, 12),
    by_segment=st.booleans(),
    days=st.integers(1, 30),
)
def test_random_histories_agree_with_backtest(
    seed: int, n: int, q: float, floor: int, by_segment: bool, days: int
) -> None:
    records = _history(seed, n, days)
    policies = {
        "q": QuantileBuffer(q, min_samples=floor),
        "chain": QuantileBuffer(q, min_samples=floor) + ProportionalBuffer(0.25) + Cap(7200),
        "later": FixedBuffer(300) | QuantileBuffer(q, min_samples=floor + 3),
    }
    kwargs = {"min_samples": floor, "keep_quotes": True}
    a = backtest(records, policies, segment_key="segment" if by_segment else None, **kwargs)
    b = backtest_columns(records, policies, by_segment=by_segment, **kwargs)
    assert a.rows == b.rows
    assert a.quotes == b.quotes


OFFICE = BusinessCalendar("Europe/Paris", hours={"mon-fri": "09:00-17:00"})


@pytest.mark.parametrize("segment_key", [None, "segment"])
def test_business_time_gives_the_answers_of_backtest(segment_key: str | None) -> None:
    records = _history(13, 500, 60)
    policies = {**POLICIES, "round": QuantileBuffer(0.9) + RoundUp("half-hour")}
    kwargs: dict[str, Any] = {"calendar": OFFICE, "keep_quotes": True}
    kwargs["score_from"] = T0 + timedelta(days=10)
    a = backtest(records, policies, segment_key=segment_key, **kwargs)
    b = backtest_columns(records, policies, by_segment=segment_key is not None, **kwargs)
    assert a.rows == b.rows
    assert a.quotes == b.quotes
    assert all(r.business_time for r in b.rows)


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(0, 80), q=st.floats(0.05, 1.0))
def test_random_histories_agree_with_backtest_in_business_time(seed: int, n: int, q: float) -> None:
    records = _history(seed, n, 20)
    policies = {"q": QuantileBuffer(q, min_samples=3) + FixedBuffer(900) + Cap(7200)}
    a = backtest(records, policies, calendar=OFFICE, min_samples=3, keep_quotes=True)
    b = backtest_columns(records, policies, calendar=OFFICE, min_samples=3, keep_quotes=True)
    assert a.rows == b.rows
    assert a.quotes == b.quotes


def test_plugin_policies_are_replayed_by_backtest() -> None:
    records = _history(2, 200)
    policies = {"round": QuantileBuffer(0.9) + RoundUp("half-hour")}
    a = backtest(records, policies, keep_quotes=True)
    b = backtest_columns(records, policies, keep_quotes=True)
    assert a.rows == b.rows
    assert a.quotes == b.quotes


def test_quotes_keep_window_and_confidence() -> None:
    result = backtest_columns(_history(3), QuantileBuffer(0.9), keep_quotes=True)
    quoted = [q for q in result.quotes if q.policy != HISTORICAL and q.due is not None]
    assert quoted
    for q in quoted:
        assert q.window is not None and q.confidence is not None
        assert _us(q.due) - _us(q.requested_at) == q.window // timedelta(microseconds=1)
        assert 0.9 <= q.confidence <= 1.0
    classic = backtest(_history(3), QuantileBuffer(0.9), keep_quotes=True)
    assert [q.window for q in classic.quotes if q.policy != HISTORICAL] == [
        q.window for q in result.quotes if q.policy != HISTORICAL
    ]


def test_score_from_skips_the_warm_up_but_keeps_its_history() -> None:
    records = _history(4)
    warm = T0 + timedelta(days=45)
    full = backtest_columns(records, QuantileBuffer(0.9), keep_quotes=True)
    late = backtest_columns(records, QuantileBuffer(0.9), keep_quotes=True, score_from=warm)
    assert all(q.requested_at >= warm for q in late.quotes)
    expected = [q for q in full.quotes if q.requested_at >= warm]
    assert list(late.quotes) == expected
    assert late.row("QuantileBuffer(0.9)").n_skipped == 0


def test_rows_by_period_are_compact_and_add_up() -> None:
    records = _history(5, 600, 120)
    result = backtest_columns(records, {"p90": QuantileBuffer(0.9)}, period="M")
    months = [r for r in result.rows if r.policy == "p90" and r.period is not None]
    assert [r.period for r in months] == ["2025-03", "2025-04", "2025-05", "2025-06"]
    total = result.row("p90")
    assert sum(r.n_quoted for r in months) == total.n_quoted
    assert sum(r.n_skipped for r in months) == total.n_skipped
    assert result.row("p90", period="2025-04").mean_confidence is not None
    assert "period" in result.to_text()
    assert len(result.rows) == 2 * (1 + len(months))  # p90 and the historical promises


@pytest.mark.parametrize(
    ("period", "first"), [("D", "2025-03-01"), ("W", "2025-02-24"), ("Q", "2025-Q1"), ("Y", "2025")]
)
def test_period_labels(period: str, first: str) -> None:
    result = backtest_columns(_history(6), NoBuffer(), period=period, min_samples=1)
    labels = [r.period for r in result.rows if r.period is not None]
    assert labels[0] == first


def test_period_is_local_to_the_zone() -> None:
    # 23:30 UTC on 31 March is 1 April in Paris.
    start = datetime(2025, 3, 31, 23, 30, tzinfo=timezone.utc)
    requested = np.array([_us(start)], dtype=np.int64)
    cols = HistoryColumns(requested, requested + 60_000_000, "Europe/Paris")
    result = backtest_columns(cols, NoBuffer(), period="M")
    assert [r.period for r in result.rows] == [None, "2025-04"]


def test_max_segments_keeps_the_largest() -> None:
    records = _history(7)
    result = backtest_columns(records, QuantileBuffer(0.9), by_segment=True, max_segments=2)
    segments = [r.segment for r in result.rows if r.policy != HISTORICAL and r.segment]
    assert len(segments) == 2


def _us(moment: datetime) -> int:
    return round(moment.timestamp() * 1_000_000)


def test_dataframe_input_and_from_frame() -> None:
    pd = pytest.importorskip("pandas")
    records = _history(8)
    frame = pd.DataFrame(
        {
            "requested_at": [r.requested_at for r in records],
            "completed_at": [r.completed_at for r in records],
            "segment": [r.segment for r in records],
            "promised_due": [r.promised_due for r in records],
        }
    )
    frame["requested_at"] = pd.to_datetime(frame["requested_at"], utc=True).dt.tz_convert(
        "Europe/Paris"
    )
    frame["completed_at"] = pd.to_datetime(frame["completed_at"], utc=True)
    frame["promised_due"] = pd.to_datetime(frame["promised_due"], utc=True)
    a = backtest_columns(records, POLICIES, by_segment=True)
    b = backtest_columns(frame, POLICIES, by_segment=True)
    assert a.rows == b.rows
    cols = HistoryColumns.from_frame(frame, segment="segment", reference="promised_due")
    assert cols.zone == "Europe/Paris"
    assert int((cols.reference_us == np.iinfo(np.int64).min).sum()) == sum(
        r.promised_due is None for r in records
    )


def test_from_frame_naive_needs_tz_and_missing_completion_is_open() -> None:
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame(
        {
            "requested_at": pd.to_datetime(["2025-03-01 09:00", "2025-03-01 10:00"]),
            "completed_at": pd.to_datetime(["2025-03-01 09:30", None]),
            "load": [1.0, 2.0],
        }
    )
    with pytest.raises(InvalidValueError, match="tz="):
        HistoryColumns.from_frame(frame)
    cols = HistoryColumns.from_frame(frame, tz="Europe/Paris", features=["load"])
    assert cols.zone == "Europe/Paris"
    assert cols.requested_us[0] == _us(datetime(2025, 3, 1, 8, tzinfo=timezone.utc))
    assert cols.completed_us[1] == np.iinfo(np.int64).max
    assert list(cols.features["load"]) == [1.0, 2.0]
    with pytest.raises(InvalidValueError, match="'nope'"):
        HistoryColumns.from_frame(frame, requested_at="nope", tz="UTC")


def test_from_records_round_trip() -> None:
    records = _history(9, 50)
    cols = HistoryColumns.from_records(records)
    assert cols.zone == "Europe/Paris"
    assert len(cols) == 50
    assert list(cols.segment) == [r.segment for r in records]


class _MeanPlusTwo:
    """A tiny ColumnarPolicy: twice the mean duration of the past, stated confidence 0.8."""

    def __init__(self, *, relative: bool = False) -> None:
        self.fits: list[int] = []
        self.relative = relative

    def fit_columns(self, past: HistoryColumns) -> Any:
        assert (past.completed_us != np.iinfo(np.int64).max).all()
        self.fits.append(len(past))
        mean = int((past.completed_us - past.requested_us).mean())
        return _Quoter(2 * mean, self.relative, past)


class _Quoter:
    def __init__(self, window: int, relative: bool, past: HistoryColumns) -> None:
        self.window = window
        self.relative = relative
        self.past = past

    def quote_columns(self, requests: HistoryColumns) -> QuoteColumns:
        # No look-ahead: outcomes are hidden, and the past ends before these requests.
        assert (requests.completed_us == np.iinfo(np.int64).max).all()
        assert self.past.completed_us.max() < requests.requested_us.min()
        n = len(requests)
        window = np.full(n, self.window, dtype=np.int64)
        if self.relative:
            window = np.full(n, -600_000_000, dtype=np.int64)  # 10 min early
        return QuoteColumns(window, np.full(n, 0.8), relative_to_reference=self.relative)


def test_columnar_policy_is_refitted_per_block() -> None:
    records = _history(10, 500, 90)
    policy = _MeanPlusTwo()
    result = backtest_columns(records, {"mean x2": policy}, refit="M", keep_quotes=True)
    assert len(policy.fits) == 2  # April and May; March has no history before it: skipped
    assert policy.fits == sorted(policy.fits)
    row = result.row("mean x2")
    assert row.mean_confidence == pytest.approx(0.8)
    assert row.n_quoted + row.n_skipped == len(records)
    kept = [q for q in result.quotes if q.policy == "mean x2" and q.due is not None]
    assert all(q.on_time == (records[q.index].completed_at <= q.due) for q in kept)

    weekly = _MeanPlusTwo()
    backtest_columns(records, {"w": weekly}, refit="7D")
    assert len(weekly.fits) > 10
    daily = _MeanPlusTwo()
    backtest_columns(
        records, {"d": daily}, refit=timedelta(days=1), score_from=T0 + timedelta(days=80)
    )
    assert 9 <= len(daily.fits) <= 11


def test_columnar_policy_relative_to_reference() -> None:
    records = _history(11, 300)
    result = backtest_columns(records, {"ref": _MeanPlusTwo(relative=True)}, keep_quotes=True)
    quoted = [q for q in result.quotes if q.policy == "ref" and q.due is not None]
    assert quoted
    for q in quoted:
        promised = records[q.index].promised_due
        assert promised is not None
        assert q.window == timedelta(minutes=-10)
        assert _us(q.due) == _us(promised) - 600_000_000
    no_reference = sum(
        r.promised_due is None
        for r in records
        if r.requested_at >= T0 + timedelta(days=31)  # first fitted block: April
    )
    assert result.row("ref").n_skipped >= no_reference


def test_bad_inputs_raise_promisekit_errors() -> None:
    records = _history(12, 40)
    with pytest.raises(InvalidTypeError, match="'calendar'"):
        backtest_columns(records, NoBuffer(), calendar="Mon-Fri")
    with pytest.raises(InvalidValueError, match="'period'"):
        backtest_columns(records, NoBuffer(), period="fortnight")
    with pytest.raises(InvalidValueError, match="'refit'"):
        backtest_columns(records, NoBuffer(), refit="often")
    with pytest.raises(InvalidTypeError, match="BufferPolicy or a ColumnarPolicy"):
        backtest_columns(records, {"x": object()})
    with pytest.raises(InvalidTypeError, match="'history'"):
        backtest_columns(42, NoBuffer())
    with pytest.raises(InvalidValueError, match="by_segment"):
        backtest_columns(
            HistoryColumns(np.array([1, 2]), np.array([3, 4])), NoBuffer(), by_segment=True
        )
    requested = np.array([10, 20], dtype=np.int64)
    with pytest.raises(InconsistentRecordError, match="row 1"):
        backtest_columns(HistoryColumns(requested, np.array([10, 5])), NoBuffer())
    with pytest.raises(InvalidTypeError, match="int64"):
        backtest_columns(HistoryColumns(requested, np.array([10.0, 25.0])), NoBuffer())
    with pytest.raises(InvalidValueError, match="entries"):
        backtest_columns(HistoryColumns(requested, np.array([10], dtype=np.int64)), NoBuffer())
    huge = "x" * 10_000
    with pytest.raises(PromiseKitError) as info:
        backtest_columns(records, {huge: object()})
    assert len(str(info.value)) < 400


@settings(max_examples=60, deadline=None)
@given(
    values=st.lists(st.integers(0, 40), min_size=1, max_size=60),
    data=st.data(),
)
def test_range_order_matches_sorting(values: list[int], data: Any) -> None:
    order = _RangeOrder(np, np.array(values, dtype=np.int64))
    s = data.draw(st.integers(0, len(values) - 1))
    e = data.draw(st.integers(s + 1, len(values)))
    k = data.draw(st.integers(0, e - s - 1))
    bound = data.draw(st.integers(0, 70))
    one = np.array([s]), np.array([e])
    assert int(order.kth(*one, np.array([k]))[0]) == sorted(values[s:e])[k]
    assert int(order.count_below(*one, np.array([bound]))[0]) == sum(v < bound for v in values[s:e])
