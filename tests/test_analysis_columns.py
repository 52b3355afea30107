"""assess_columns: the one-by-one assess, over whole columns."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from promisekit import BusinessCalendar, Delivery, Promise, Status, Terms, assess
from promisekit.analysis import STATUS_CODES, ColumnScorer, OutcomeColumns, assess_columns
from promisekit.errors import (
    InconsistentRecordError,
    InvalidTypeError,
    InvalidValueError,
    NaiveDatetimeError,
)

EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
US = timedelta(microseconds=1)
NAT = np.iinfo(np.int64).min
BASE = (datetime(2026, 3, 6, 12, tzinfo=timezone.utc) - EPOCH) // US
HOUR = 3_600_000_000

CALENDARS = [
    None,
    BusinessCalendar("America/Toronto", hours={"mon-fri": "09:00-17:00"}),
    BusinessCalendar(
        "Europe/Paris",
        hours={"mon-fri": ["08:30-12:00", "13:00-17:00"]},
        holidays=[date(2026, 3, 30), date(2026, 4, 6)],
        overrides={date(2026, 3, 29): "10:00-12:00"},
    ),
    BusinessCalendar("Australia/Lord_Howe", hours={"daily": ["00:00-06:00", "18:00-24:00"]}),
]


def moment(value: int) -> datetime:
    return (EPOCH + timedelta(microseconds=int(value))).astimezone(ZoneInfo("America/Toronto"))


@st.composite
def rows(draw: st.DrawFn) -> tuple[int, int, int | None, int, bool]:
    """(made, due, done or None, now, short) in µs, with ties made likely."""
    made = BASE + draw(st.integers(0, 60 * 24 * HOUR))
    window = draw(st.one_of(st.just(0), st.integers(0, 5 * 24 * HOUR)))
    due = made + window
    done: int | None = draw(
        st.one_of(
            st.none(),
            st.sampled_from([made, due, due - 1, due + 1]).filter(lambda x: x >= made),
            st.integers(made, due + 3 * 24 * HOUR),
        )
    )
    now = draw(
        st.one_of(
            st.sampled_from([made, due, due + 1] + ([done] if done is not None else [])),
            st.integers(made, due + 6 * 24 * HOUR),
        )
    )
    return made, due, done, now, draw(st.booleans())


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(rows(), min_size=1, max_size=20), st.sampled_from(CALENDARS), st.booleans())
def test_equals_one_by_one_assess(
    data: list[tuple[int, int, int | None, int, bool]],
    calendar: BusinessCalendar | None,
    scalar_now: bool,
) -> None:
    if scalar_now:
        common = max(r[3] for r in data)
        data = [(m, d, c, common, s) for m, d, c, _, s in data]
    made = np.array([r[0] for r in data], dtype=np.int64)
    due = np.array([r[1] for r in data], dtype=np.int64)
    done = np.array([NAT if r[2] is None else r[2] for r in data], dtype=np.int64)
    now = np.array([r[3] for r in data], dtype=np.int64)
    short = np.array([r[4] for r in data])
    out = assess_columns(
        made_at=made.view("datetime64[us]"),
        due=due.view("datetime64[us]"),
        completed_at=done.view("datetime64[us]"),
        now=now[0].view("datetime64[us]") if scalar_now else now.view("datetime64[us]"),
        short=short,
        calendar=calendar,
    )
    for i, (m, d, c, n, s) in enumerate(data):
        promise = Promise(
            id="P",
            customer_id="C",
            kind="callback",
            made_at=moment(m),
            due=moment(d),
            terms=Terms(quality=1.0),
        )
        deliveries = [] if c is None else [Delivery("P", moment(c), quality=0.0 if s else 1.0)]
        expected = assess(promise, deliveries, now=moment(n), calendar=calendar)
        assert STATUS_CODES[out.status[i]] is expected.status
        assert bool(out.kept[i]) is expected.kept
        got_late = out.lateness.view(np.int64)[i]
        assert (None if got_late == NAT else timedelta(microseconds=int(got_late))) == (
            expected.lateness
        )
        got_business = out.business_lateness.view(np.int64)[i]
        assert (
            None if got_business == NAT else timedelta(microseconds=int(got_business))
        ) == expected.business_lateness
        got_done = out.completed_at.view(np.int64)[i]
        assert (None if got_done == NAT else moment(got_done)) == expected.completed_at


def columns(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "made_at": np.array(["2026-03-10T13:00", "2026-03-10T13:00"], dtype="datetime64[us]"),
        "due": np.array(["2026-03-10T14:00", "2026-03-10T14:00"], dtype="datetime64[us]"),
        "completed_at": np.array(["2026-03-10T13:59", "NaT"], dtype="datetime64[us]"),
        "now": np.datetime64("2026-03-10T15:00", "us"),
    }
    base.update(overrides)
    return base


def test_docstring_example() -> None:
    out = assess_columns(**columns())
    assert [s.name for s in out.statuses()] == ["KEPT", "OVERDUE"]
    assert (out.lateness // np.timedelta64(1, "m")).tolist() == [-1, 60]
    assert out.business_lateness.tolist() == [None, None]  # NaT without a calendar
    assert len(out) == 2
    assert repr(out) == "OutcomeColumns(2 rows: pending=0, overdue=1, kept=1, late=0, short=0)"


def test_aware_datetime_now_and_business_lateness() -> None:
    cal = BusinessCalendar("America/Toronto", hours={"mon-fri": "09:00-17:00"})
    now = datetime(2026, 3, 10, 11, 0, tzinfo=ZoneInfo("America/Toronto"))  # 15:00 UTC
    out = assess_columns(**columns(now=now), calendar=cal)
    assert out.business_lateness.tolist() == [timedelta(minutes=-1), timedelta(hours=1)]


def test_completion_after_now_has_not_happened() -> None:
    out = assess_columns(**columns(now=np.datetime64("2026-03-10T13:30", "us")))
    assert [s.name for s in out.statuses()] == ["PENDING", "PENDING"]
    assert out.completed_at.tolist() == [None, None]
    assert out.lateness.tolist() == [None, None]


def test_to_pandas() -> None:
    pytest.importorskip("pandas")
    frame = assess_columns(**columns()).to_pandas(tz="America/Toronto")
    assert list(frame.columns) == [
        "status",
        "kept",
        "due",
        "completed_at",
        "lateness",
        "business_lateness",
    ]
    assert frame["status"].tolist() == ["kept", "overdue"]
    assert str(frame["due"].dt.tz) == "America/Toronto"


def test_dataframe_in_and_out() -> None:
    pd = pytest.importorskip("pandas")
    data = columns()
    frame = pd.DataFrame(
        {
            "created": pd.DatetimeIndex(data["made_at"])
            .tz_localize("UTC")
            .tz_convert("Europe/Paris"),
            "due": data["due"],
            "completed_at": data["completed_at"],
            "short": [True, False],
        },
        index=["a", "b"],
    )
    out = assess_columns(frame, now=data["now"], columns={"made_at": "created"})
    assert list(out.index) == ["a", "b"]
    assert out["status"].tolist() == ["short", "overdue"]
    frame["now"] = data["now"]
    assert assess_columns(frame, columns={"made_at": "created"})["kept"].tolist() == [False, False]


class HalfScorer:
    def score_columns(self, outcomes: OutcomeColumns) -> np.ndarray:
        return np.where(outcomes.kept, 5.0, 1.0)


def test_scorer_hook() -> None:
    assert isinstance(HalfScorer(), ColumnScorer)
    out = assess_columns(**columns(), scorer=HalfScorer())
    assert out.score is not None
    assert out.score.tolist() == [5.0, 1.0]
    pytest.importorskip("pandas")
    assert out.to_pandas()["score"].tolist() == [5.0, 1.0]


# ----------------------------------------------------------------------------- errors


def test_wrong_dtype() -> None:
    with pytest.raises(InvalidTypeError, match="'due' must be numpy datetime64"):
        assess_columns(**columns(due=np.array([1, 2])))
    with pytest.raises(InvalidTypeError, match="'short' must be a column of booleans"):
        assess_columns(**columns(short=np.array([1, 0])))
    with pytest.raises(InvalidTypeError, match="'calendar' must be a BusinessCalendar"):
        assess_columns(**columns(), calendar="America/Toronto")  # type: ignore[arg-type]
    with pytest.raises(InvalidTypeError, match="'scorer' must have a score_columns"):
        assess_columns(**columns(), scorer=object())  # type: ignore[arg-type]
    with pytest.raises(InvalidTypeError, match="'frame' must be a pandas DataFrame"):
        assess_columns({"made_at": 1})


def test_naive_datetime_now() -> None:
    with pytest.raises(NaiveDatetimeError, match="'now' must be a timezone-aware"):
        assess_columns(**columns(now=datetime(2026, 3, 10, 15)))


def test_mismatched_lengths() -> None:
    with pytest.raises(InvalidValueError, match="'made_at' and 'completed_at' must have the same"):
        assess_columns(**columns(completed_at=np.array(["NaT"], dtype="datetime64[us]")))
    square = np.full((2, 2), np.datetime64("2026-03-10T13:00", "us"))
    with pytest.raises(InvalidValueError, match="one-dimensional"):
        assess_columns(**columns(made_at=square, due=square, completed_at=square))


def test_nat_where_not_allowed() -> None:
    bad = np.array(["2026-03-10T13:00", "NaT"], dtype="datetime64[us]")
    with pytest.raises(InvalidValueError, match="'made_at' must not contain NaT"):
        assess_columns(**columns(made_at=bad))
    with pytest.raises(InvalidValueError, match="'due' must not contain NaT"):
        assess_columns(**columns(due=bad))


def test_out_of_order_rows() -> None:
    early = np.array(["2026-03-10T12:00", "2026-03-10T14:00"], dtype="datetime64[us]")
    with pytest.raises(InvalidValueError, match=r"'due' must not be before 'made_at'.*row 0"):
        assess_columns(**columns(due=early))
    with pytest.raises(InvalidValueError, match="'now' must not be before 'made_at'"):
        assess_columns(**columns(now=np.datetime64("2026-03-10T12:00", "us")))
    with pytest.raises(InconsistentRecordError, match="'completed_at' must not be before"):
        assess_columns(**columns(completed_at=early))


def test_missing_columns_and_arguments() -> None:
    with pytest.raises(InvalidValueError, match="needs the columns 'now'"):
        assess_columns(**columns(now=None))
    with pytest.raises(InvalidValueError, match="'columns' is only used with a DataFrame"):
        assess_columns(**columns(), columns={"due": "x"})
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame({"made_at": columns()["made_at"]})
    with pytest.raises(InvalidValueError, match="has no column 'due'"):
        assess_columns(frame, now=columns()["now"])
    frame = pd.DataFrame({k: v for k, v in columns().items() if k != "now"})
    with pytest.raises(InvalidValueError, match="'now' must be given"):
        assess_columns(frame)
    with pytest.raises(InvalidValueError, match="'columns' keys must be among"):
        assess_columns(frame, now=columns()["now"], columns={"deadline": "due"})
    with pytest.raises(InvalidValueError, match="columns are read from it"):
        assess_columns(frame, now=columns()["now"], due=columns()["due"])  # type: ignore[call-overload]


def test_scorer_must_return_one_score_per_row() -> None:
    class Bad:
        def score_columns(self, outcomes: OutcomeColumns) -> np.ndarray:
            return np.zeros(3)

    with pytest.raises(InvalidValueError, match="one score per row"):
        assess_columns(**columns(), scorer=Bad())


def test_status_codes_are_stable() -> None:
    assert [s.value for s in STATUS_CODES] == ["pending", "overdue", "kept", "late", "short"]
    assert set(STATUS_CODES) == set(Status)
