"""BusinessCalendar.add_many / between_many: exactly the scalar API, over numpy arrays."""

from __future__ import annotations

import subprocess
import sys
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from promisekit.calendar import BusinessCalendar
from promisekit.errors import (
    InvalidTypeError,
    InvalidValueError,
    NaiveDatetimeError,
    NoWorkingTimeError,
    PromiseKitError,
)

EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
US = timedelta(microseconds=1)
# DST zones (Lord Howe shifts by 30 minutes; Havana and Santiago change at midnight,
# which exercises the "local date disagrees with the real day" path) and two without.
ZONES = [
    "America/Toronto",
    "Europe/Paris",
    "Australia/Lord_Howe",
    "America/Havana",
    "America/Santiago",
    "Asia/Kolkata",
    "UTC",
]
# DST-change days of 2026 in those zones, so that examples hit them often.
DST_DAYS = [
    date(2026, 3, 8),
    date(2026, 11, 1),
    date(2026, 3, 29),
    date(2026, 10, 25),
    date(2026, 4, 5),
    date(2026, 10, 4),
    date(2026, 9, 6),
    date(2026, 3, 15),
]


def to_us(moment: datetime) -> int:
    return (moment - EPOCH) // US


def from_us(value: int) -> datetime:
    return EPOCH + timedelta(microseconds=int(value))


def dt64(values: list[int]) -> np.ndarray:
    return np.array(values, dtype=np.int64).view("datetime64[us]")


def td64(values: list[int]) -> np.ndarray:
    return np.array(values, dtype=np.int64).view("timedelta64[us]")


@st.composite
def day_specs(draw: st.DrawFn) -> list[str]:
    cuts = sorted(draw(st.sets(st.integers(0, 96), max_size=6)))  # quarter hours
    out = []
    for i in range(0, len(cuts) - 1, 2):
        s, e = cuts[i] * 15, cuts[i + 1] * 15
        out.append(f"{s // 60:02d}:{s % 60:02d}-{e // 60:02d}:{e % 60:02d}")
    return out


@st.composite
def calendars(draw: st.DrawFn) -> BusinessCalendar:
    tz = draw(st.sampled_from(ZONES))
    style = draw(st.sampled_from(["random", "office", "always", "night"]))
    if style == "office":
        hours: dict[str | int, object] = {"mon-fri": ["08:30-12:00", "13:00-17:00"]}
    elif style == "always":
        hours = {"daily": "00:00-24:00"}
    elif style == "night":
        hours = {"daily": ["00:00-06:00", "18:00-24:00"]}
    else:
        week = [draw(day_specs()) for _ in range(7)]
        if not any(week):
            week[0] = ["09:00-17:00"]
        hours = dict(enumerate(week))
    base = date(2026, 1, 1)
    holidays = draw(
        st.lists(
            st.one_of(
                st.sampled_from(DST_DAYS),
                st.integers(0, 364).map(lambda n: base + timedelta(days=n)),
            ),
            max_size=8,
        )
    )
    overrides = draw(
        st.dictionaries(
            st.sampled_from(DST_DAYS + [base + timedelta(days=n) for n in range(0, 365, 37)]),
            day_specs(),
            max_size=3,
        )
    )
    return BusinessCalendar(tz, hours=hours, holidays=holidays, overrides=overrides)


@st.composite
def instants(draw: st.DrawFn, cal: BusinessCalendar) -> int:
    anchor = draw(
        st.one_of(
            st.sampled_from(DST_DAYS + list(cal.holidays) + [d for d, _ in cal.overrides]),
            st.integers(0, 364).map(lambda n: date(2026, 1, 1) + timedelta(days=n)),
        )
    )
    local = datetime(anchor.year, anchor.month, anchor.day, tzinfo=ZoneInfo(cal.tz))
    minutes = draw(st.integers(-24 * 60, 48 * 60))
    micros = draw(st.sampled_from([0, 0, 0, 1, 999_999, 123_456]))
    return to_us(local) + minutes * 60_000_000 + micros


works = st.one_of(
    st.just(0),
    st.integers(1, 3 * 24 * 60).map(lambda m: m * 60_000_000),
    st.integers(1, 80 * 3_600_000_000),
)

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(st.data())
def test_add_many_equals_scalar_add(data: st.DataObject) -> None:
    cal = data.draw(calendars())
    starts = data.draw(st.lists(instants(cal), min_size=1, max_size=25))
    amounts = data.draw(st.lists(works, min_size=len(starts), max_size=len(starts)))
    # Vectorized first, on a fresh calendar: it builds and extends the tables itself.
    got = cal.add_many(dt64(starts), td64(amounts))
    assert got.dtype == np.dtype("datetime64[us]")
    expected = [
        to_us(cal.add(from_us(s), timedelta(microseconds=w)))
        for s, w in zip(starts, amounts, strict=True)
    ]
    assert got.view(np.int64).tolist() == expected


@SETTINGS
@given(st.data())
def test_between_many_equals_scalar_between(data: st.DataObject) -> None:
    cal = data.draw(calendars())
    a = data.draw(st.lists(instants(cal), min_size=1, max_size=25))
    b = data.draw(st.lists(instants(cal), min_size=len(a), max_size=len(a)))
    got = cal.between_many(dt64(a), dt64(b))
    assert got.dtype == np.dtype("timedelta64[us]")
    expected = [cal.between(from_us(x), from_us(y)) // US for x, y in zip(a, b, strict=True)]
    assert got.view(np.int64).tolist() == expected


@settings(max_examples=40, deadline=None)
@given(calendars(), st.integers(-30, 30), st.integers(0, 5 * 365 * 24))
def test_far_apart_inputs_extend_the_tables(cal: BusinessCalendar, years: int, hours: int) -> None:
    # Instants years apart, and work running far past the first coverage.
    start = to_us(datetime(2026 + years, 6, 15, 10, 0, tzinfo=timezone.utc))
    starts = [to_us(datetime(2026, 1, 5, 12, tzinfo=timezone.utc)), start]
    amounts = [hours * 3_600_000_000, 3_600_000_000]
    got = cal.add_many(dt64(starts), td64(amounts)).view(np.int64).tolist()
    assert got == [
        to_us(cal.add(from_us(s), timedelta(microseconds=w)))
        for s, w in zip(starts, amounts, strict=True)
    ]
    assert cal.between_many(dt64(starts), dt64(got)).view(np.int64).tolist() == amounts


# ----------------------------------------------------------------------------- examples


@pytest.fixture
def office() -> BusinessCalendar:
    return BusinessCalendar(
        "America/Toronto",
        hours={"mon-fri": "09:00-17:00"},
        holidays=[date(2026, 7, 1)],
        overrides={date(2026, 12, 24): "09:00-12:00"},
    )


def test_docstring_example(office: BusinessCalendar) -> None:
    starts = np.array(["2026-03-06T21:00"], dtype="datetime64[us]")  # Friday 16:00 Toronto
    got = office.add_many(starts, np.array([2], dtype="timedelta64[h]"))
    assert got.tolist() == [datetime(2026, 3, 9, 14, 0)]  # Monday 10:00 Toronto, in UTC


def test_scalars_broadcast(office: BusinessCalendar) -> None:
    starts = np.array(["2026-03-06T21:00", "2026-06-30T20:00"], dtype="datetime64[us]")
    got = office.add_many(starts, timedelta(hours=2))
    expected = [office.add(from_us(s), timedelta(hours=2)) for s in starts.view(np.int64)]
    assert got.view(np.int64).tolist() == [to_us(x) for x in expected]
    friday = datetime(2026, 3, 6, 16, tzinfo=ZoneInfo("America/Toronto"))
    assert office.between_many(friday, got).tolist() == [
        office.between(friday, x) for x in expected
    ]
    assert office.add_many(friday, np.array([0, 60], dtype="timedelta64[m]")).tolist() == [
        datetime(2026, 3, 6, 21, 0),
        datetime(2026, 3, 6, 22, 0),
    ]


def test_shape_is_kept_and_empty_inputs(office: BusinessCalendar) -> None:
    starts = np.full((2, 3), np.datetime64("2026-03-10T14:00", "us"))
    works = np.full((2, 3), np.timedelta64(30, "m"))
    assert office.add_many(starts, works).shape == (2, 3)
    assert office.between_many(starts, starts).shape == (2, 3)
    empty = np.array([], dtype="datetime64[us]")
    assert office.add_many(empty, np.array([], dtype="timedelta64[us]")).shape == (0,)
    assert office.between_many(empty, empty).dtype == np.dtype("timedelta64[us]")


def test_other_units_convert_exactly(office: BusinessCalendar) -> None:
    starts_ns = np.array(["2026-03-10T14:00:00.000001000"], dtype="datetime64[ns]")
    starts_s = np.array(["2026-03-10T14:00:00"], dtype="datetime64[s]")
    got = office.between_many(starts_s, starts_ns)
    assert got.tolist() == [timedelta(microseconds=1)]


def test_pandas_columns_with_a_time_zone_are_utc(office: BusinessCalendar) -> None:
    pd = pytest.importorskip("pandas")
    local = pd.Series(pd.to_datetime(["2026-03-10 10:00"]).tz_localize("America/Toronto"))
    utc = np.array(["2026-03-10T14:00"], dtype="datetime64[us]")
    assert office.between_many(local, utc).tolist() == [timedelta(0)]


def test_results_agree_on_the_holiday_and_override(office: BusinessCalendar) -> None:
    starts = dt64(
        [
            to_us(datetime(2026, 6, 30, 16, tzinfo=ZoneInfo("America/Toronto"))),
            to_us(datetime(2026, 12, 24, 11, tzinfo=ZoneInfo("America/Toronto"))),
        ]
    )
    got = office.add_many(starts, np.array([2, 2], dtype="timedelta64[h]"))
    assert [x.replace(tzinfo=timezone.utc) for x in got.tolist()] == [
        datetime(2026, 7, 2, 10, tzinfo=ZoneInfo("America/Toronto")),
        datetime(2026, 12, 25, 10, tzinfo=ZoneInfo("America/Toronto")),
    ]


# ----------------------------------------------------------------------------- errors

ONE = np.array(["2026-03-10T14:00"], dtype="datetime64[us]")
HOUR = np.array([1], dtype="timedelta64[h]")


def test_wrong_dtype(office: BusinessCalendar) -> None:
    with pytest.raises(InvalidTypeError, match="'starts' must be numpy datetime64 values"):
        office.add_many(np.array([1, 2]), HOUR)
    with pytest.raises(InvalidTypeError, match=r"pandas\.to_datetime"):
        office.add_many(np.array([datetime.now(timezone.utc)], dtype=object), HOUR)
    with pytest.raises(InvalidTypeError, match="'works' must be numpy timedelta64"):
        office.add_many(ONE, np.array([3600]))
    with pytest.raises(InvalidTypeError, match="'b' must be numpy datetime64"):
        office.between_many(ONE, np.array([1.5]))


def test_naive_datetime_scalar(office: BusinessCalendar) -> None:
    with pytest.raises(NaiveDatetimeError, match="'a' must be a timezone-aware datetime"):
        office.between_many(datetime(2026, 3, 10, 9), ONE)


def test_nat_is_refused(office: BusinessCalendar) -> None:
    with pytest.raises(InvalidValueError, match=r"'starts' must not contain NaT .*index 1"):
        office.add_many(np.array(["2026-03-10", "NaT"], dtype="datetime64[us]"), HOUR[0])
    with pytest.raises(InvalidValueError, match="'works' must not contain NaT"):
        office.add_many(ONE, np.array(["NaT"], dtype="timedelta64[us]"))
    with pytest.raises(InvalidValueError, match="'b' must not contain NaT"):
        office.between_many(ONE, np.array(["NaT"], dtype="datetime64[us]"))


def test_negative_work(office: BusinessCalendar) -> None:
    with pytest.raises(InvalidValueError, match=r"'works' must not be negative \(got -1 day"):
        office.add_many(ONE, np.array([-1], dtype="timedelta64[s]"))


def test_mismatched_lengths(office: BusinessCalendar) -> None:
    with pytest.raises(InvalidValueError, match="'starts' and 'works' must have the same length"):
        office.add_many(np.repeat(ONE, 3), np.repeat(HOUR, 2))
    with pytest.raises(InvalidValueError, match=r"\(got 1 and 2\)"):
        office.between_many(ONE, np.repeat(ONE, 2))


def test_sub_microsecond_values(office: BusinessCalendar) -> None:
    with pytest.raises(InvalidValueError, match="whole microseconds"):
        office.between_many(np.array(["2026-03-10T14:00:00.0000005"], dtype="datetime64[ns]"), ONE)


def test_work_beyond_the_supported_years(office: BusinessCalendar) -> None:
    with pytest.raises(NoWorkingTimeError, match="supported years"):
        office.add_many(ONE, np.array([20_000 * 365], dtype="timedelta64[D]"))


def test_errors_are_promisekit_errors(office: BusinessCalendar) -> None:
    with pytest.raises(PromiseKitError):
        office.add_many(ONE, np.array([-1], dtype="timedelta64[s]"))


# ----------------------------------------------------------------------------- optional


def run(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)


def test_import_calendar_does_not_import_numpy() -> None:
    out = run("import sys, promisekit.calendar; print('numpy' in sys.modules)")
    assert out.stdout.strip() == "False", out.stderr


def test_missing_numpy_names_the_extra() -> None:
    code = (
        "import sys; sys.modules['numpy'] = None\n"
        "from promisekit.calendar import BusinessCalendar\n"
        "from promisekit.errors import MissingDependencyError\n"
        "try:\n"
        "    BusinessCalendar('UTC').between_many([], [])\n"
        "except MissingDependencyError as exc:\n"
        "    print(exc)\n"
    )
    out = run(code)
    assert "pip install 'promisekit[analysis]'" in out.stdout, out.stderr
