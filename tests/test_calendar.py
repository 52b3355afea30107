"""BusinessCalendar: golden cases, DST rules, errors and properties against an oracle."""

from __future__ import annotations

import sys
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from dateutil.rrule import MO, YEARLY, rrule
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from promisekit.calendar import BusinessCalendar, holidays_from_package
from promisekit.errors import (
    InvalidTypeError,
    InvalidValueError,
    MissingDependencyError,
    NaiveDatetimeError,
    NoWorkingTimeError,
    PromiseKitError,
    UnknownTimeZoneError,
)
from promisekit.testing import calendars as pk_calendars

from .calendar_oracle import Oracle

TORONTO = ZoneInfo("America/Toronto")
PARIS = ZoneInfo("Europe/Paris")
LORD_HOWE = ZoneInfo("Australia/Lord_Howe")
H = timedelta(hours=1)
M = timedelta(minutes=1)


def tor(*args: int) -> datetime:
    return datetime(*args, tzinfo=TORONTO)  # type: ignore[misc]


@pytest.fixture
def office() -> BusinessCalendar:
    return BusinessCalendar(
        "America/Toronto",
        hours={"mon-fri": ["08:30-12:00", "13:00-17:00"]},
        holidays=[date(2026, 7, 1)],
        holiday_rules=[rrule(YEARLY, bymonth=6, bymonthday=24, dtstart=datetime(2000, 1, 1))],
        overrides={date(2026, 12, 24): "08:30-12:00", date(2026, 12, 19): "10:00-14:00"},
    )


# ----------------------------------------------------------------------------- golden cases


class TestGolden:
    def test_add_rolls_over_weekend(self) -> None:
        cal = BusinessCalendar("America/Toronto", hours={"mon-fri": "09:00-17:00"})
        assert cal.add(tor(2026, 3, 6, 16), 2 * H) == tor(2026, 3, 9, 10)

    def test_add_landing_on_close_stays(self) -> None:
        cal = BusinessCalendar("America/Toronto", hours={"mon-fri": "09:00-17:00"})
        assert cal.add(tor(2026, 3, 6, 16), H) == tor(2026, 3, 6, 17)

    def test_add_from_closed_time_starts_at_next_opening(self, office: BusinessCalendar) -> None:
        # Saturday 2026-03-07 -> Monday 08:30 + 1 h
        assert office.add(tor(2026, 3, 7, 12), H) == tor(2026, 3, 9, 9, 30)
        # lunch break is skipped
        assert office.add(tor(2026, 3, 9, 11, 30), H) == tor(2026, 3, 9, 13, 30)

    def test_add_zero_is_identity_even_when_closed(self, office: BusinessCalendar) -> None:
        saturday = tor(2026, 3, 7, 12)
        assert office.add(saturday, timedelta(0)) == saturday
        assert office.subtract(saturday, timedelta(0)) == saturday

    def test_results_are_in_calendar_zone(self, office: BusinessCalendar) -> None:
        start = datetime(2026, 3, 9, 15, 0, tzinfo=timezone.utc)
        result = office.add(start, H)
        assert result.tzinfo == TORONTO
        assert result == tor(2026, 3, 9, 12, 0) or result == start + H
        assert office.add(start, timedelta(0)).tzinfo == TORONTO

    def test_holidays_rules_and_overrides(self, office: BusinessCalendar) -> None:
        assert not office.is_open(tor(2026, 7, 1, 10))  # explicit holiday (Wednesday)
        assert not office.is_open(tor(2026, 6, 24, 10))  # rrule: every 24 June
        assert office.is_open(tor(2026, 12, 24, 11))
        assert not office.is_open(tor(2026, 12, 24, 14))  # early close
        assert office.is_open(tor(2026, 12, 19, 10))  # exceptional Saturday opening
        assert office.between(tor(2026, 12, 19), tor(2026, 12, 20)) == 4 * H
        assert office.is_business_day(date(2026, 12, 19))
        assert not office.is_business_day(date(2026, 6, 24))

    def test_rrule_last_monday_before_may_25(self) -> None:
        rule = rrule(
            YEARLY, bymonth=5, bymonthday=range(18, 25), byweekday=MO, dtstart=datetime(2000, 1, 1)
        )
        cal = BusinessCalendar("America/Toronto", holiday_rules=[rule])
        assert not cal.is_business_day(date(2026, 5, 18))
        assert not cal.is_business_day(date(2025, 5, 19))
        assert cal.is_business_day(date(2026, 5, 25))
        # the same rule as an RFC 5545 string
        text = "RRULE:FREQ=YEARLY;BYMONTH=5;BYMONTHDAY=18,19,20,21,22,23,24;BYDAY=MO"
        assert not BusinessCalendar("UTC", holiday_rules=[text]).is_business_day(date(2027, 5, 24))

    def test_between_is_signed(self, office: BusinessCalendar) -> None:
        a, b = tor(2026, 3, 9, 9), tor(2026, 3, 10, 9)
        assert office.between(a, b) == timedelta(hours=7.5)
        assert office.between(b, a) == -timedelta(hours=7.5)

    def test_subtract(self, office: BusinessCalendar) -> None:
        assert office.subtract(tor(2026, 3, 10, 9, 30), H) == tor(2026, 3, 10, 8, 30)
        assert office.subtract(tor(2026, 3, 10, 9, 30), 2 * H) == tor(2026, 3, 9, 16, 0)
        assert office.subtract(tor(2026, 3, 9, 13, 30), H) == tor(2026, 3, 9, 11, 30)

    def test_next_open_and_end_of_day(self, office: BusinessCalendar) -> None:
        assert office.next_open(tor(2026, 3, 9, 12, 30)) == tor(2026, 3, 9, 13)
        assert office.next_open(tor(2026, 3, 9, 10)) == tor(2026, 3, 9, 10)
        assert office.next_open(tor(2026, 3, 6, 17)) == tor(2026, 3, 9, 8, 30)
        assert office.end_of_day(tor(2026, 3, 9, 10)) == tor(2026, 3, 9, 17)
        assert office.end_of_day(tor(2026, 3, 9, 17)) == tor(2026, 3, 9, 17)
        assert office.end_of_day(tor(2026, 3, 9, 18)) == tor(2026, 3, 10, 17)
        assert office.end_of_day(tor(2026, 3, 7, 10)) == tor(2026, 3, 9, 17)
        assert office.end_of_day(tor(2026, 12, 24, 9)) == tor(2026, 12, 24, 12)

    def test_working_intervals(self, office: BusinessCalendar) -> None:
        got = list(office.working_intervals(tor(2026, 3, 9, 10), tor(2026, 3, 10, 9)))
        assert got == [
            (tor(2026, 3, 9, 10), tor(2026, 3, 9, 12)),
            (tor(2026, 3, 9, 13), tor(2026, 3, 9, 17)),
            (tor(2026, 3, 10, 8, 30), tor(2026, 3, 10, 9)),
        ]
        always = BusinessCalendar.always_open("America/Toronto")
        merged = list(always.working_intervals(tor(2026, 3, 1), tor(2026, 3, 4)))
        assert merged == [(tor(2026, 3, 1), tor(2026, 3, 4))]
        assert list(office.working_intervals(tor(2026, 3, 10), tor(2026, 3, 9))) == []

    def test_long_spans_are_exact(self, office: BusinessCalendar) -> None:
        start = tor(2026, 3, 9, 9)
        for years in (1, 10, 80):
            work = timedelta(hours=7.5 * 250 * years)
            end = office.add(start, work)
            assert office.between(start, end) == work
        past = tor(1950, 1, 2, 9)
        assert office.between(past, office.add(past, timedelta(hours=1000))) == timedelta(
            hours=1000
        )

    def test_equality_and_repr(self) -> None:
        a = BusinessCalendar("UTC", hours={"mon-fri": "09:00-17:00"})
        b = BusinessCalendar("UTC", hours={"mon": "09:00-17:00", "tue-fri": ["09:00-17:00"]})
        assert a == b
        assert hash(a) == hash(b)
        assert "BusinessCalendar('UTC'" in repr(a)
        assert a.weekly_hours == timedelta(hours=40)

    def test_night_shift_as_two_intervals(self) -> None:
        cal = BusinessCalendar("UTC", hours={"mon-fri": "22:00-24:00", "tue-sat": "00:00-06:00"})
        monday_night = datetime(2026, 3, 9, 23, tzinfo=timezone.utc)
        assert cal.add(monday_night, 3 * H) == datetime(2026, 3, 10, 2, tzinfo=timezone.utc)
        assert cal.between(monday_night, monday_night + 3 * H) == 3 * H

    def test_time_objects_and_seconds(self) -> None:
        cal = BusinessCalendar("UTC", hours={0: (time(9), time(17, 0, 30))})
        monday = datetime(2026, 3, 9, tzinfo=timezone.utc)
        assert cal.between(monday, monday + timedelta(days=1)) == timedelta(hours=8, seconds=30)

    def test_microseconds_are_exact(self, office: BusinessCalendar) -> None:
        start = tor(2026, 3, 9, 9, 0, 0, 123456)
        work = timedelta(hours=3, microseconds=7)
        assert office.between(start, office.add(start, work)) == work


# ----------------------------------------------------------------------------- DST


class TestDaylightSaving:
    def test_day_is_real_elapsed_time(self) -> None:
        cal = BusinessCalendar.always_open("America/Toronto")
        assert cal.between(tor(2026, 3, 8), tor(2026, 3, 9)) == timedelta(hours=23)
        assert cal.between(tor(2026, 11, 1), tor(2026, 11, 2)) == timedelta(hours=25)
        assert cal.between(tor(2026, 3, 10), tor(2026, 3, 11)) == timedelta(hours=24)

    def test_opening_in_a_gap_opens_at_first_existing_instant(self) -> None:
        cal = BusinessCalendar("America/Toronto", hours={"sun": "02:30-10:00"})
        # 2026-03-08: 02:00 -> 03:00; opening at 02:30 happens at 03:00 EDT
        opening = cal.next_open(tor(2026, 3, 8, 0))
        assert opening == datetime(2026, 3, 8, 7, 0, tzinfo=timezone.utc)
        assert cal.between(tor(2026, 3, 8), tor(2026, 3, 9)) == timedelta(hours=7)

    def test_ambiguous_opening_uses_first_occurrence(self) -> None:
        cal = BusinessCalendar("America/Toronto", hours={"sun": "01:30-05:00"})
        # 2026-11-01: 02:00 EDT -> 01:00 EST; 01:30 first occurs at 05:30 UTC
        opening = cal.next_open(tor(2026, 11, 1, 0))
        # (compare in UTC: Python never finds an ambiguous time equal across zones)
        assert opening.astimezone(timezone.utc) == datetime(2026, 11, 1, 5, 30, tzinfo=timezone.utc)
        assert opening.fold == 0
        assert cal.between(tor(2026, 11, 1), tor(2026, 11, 2)) == timedelta(hours=4, minutes=30)

    def test_office_hours_are_unaffected_by_night_transitions(self) -> None:
        cal = BusinessCalendar("America/Toronto", hours={"daily": "09:00-17:00"})
        assert cal.between(tor(2026, 3, 8), tor(2026, 3, 9)) == 8 * H
        assert cal.add(tor(2026, 3, 7, 16), 2 * H) == tor(2026, 3, 8, 10)

    def test_lord_howe_half_hour_shift(self) -> None:
        cal = BusinessCalendar.always_open("Australia/Lord_Howe")
        # DST ends 2026-04-05 02:00 (+11 -> +10:30), starts 2026-10-04 02:00 (+10:30 -> +11)
        a = datetime(2026, 4, 5, tzinfo=LORD_HOWE)
        assert cal.between(a, a + timedelta(days=1)) == timedelta(hours=24, minutes=30)
        b = datetime(2026, 10, 4, tzinfo=LORD_HOWE)
        assert cal.between(b, b + timedelta(days=1)) == timedelta(hours=23, minutes=30)

    def test_paris_add_across_spring_change(self) -> None:
        cal = BusinessCalendar.always_open("Europe/Paris")
        start = datetime(2026, 3, 29, 1, 0, tzinfo=PARIS)
        assert cal.add(start, 2 * H) == datetime(2026, 3, 29, 4, 0, tzinfo=PARIS)


# ----------------------------------------------------------------------------- errors


class TestErrors:
    def test_naive_datetimes(self, office: BusinessCalendar) -> None:
        naive = datetime(2026, 3, 10, 9)
        with pytest.raises(NaiveDatetimeError, match="'start' must be a timezone-aware datetime"):
            office.add(naive, H)
        with pytest.raises(NaiveDatetimeError, match="'end' must be a timezone-aware"):
            office.subtract(naive, H)
        with pytest.raises(NaiveDatetimeError, match="'b' must be a timezone-aware"):
            office.between(tor(2026, 3, 10), naive)
        with pytest.raises(NaiveDatetimeError, match="'moment'"):
            office.is_open(naive)
        with pytest.raises(ValueError, match="got naive 2026-03-10 09:00"):
            office.next_open(naive)

    def test_not_a_datetime(self, office: BusinessCalendar) -> None:
        with pytest.raises(InvalidTypeError, match="'start' must be a timezone-aware datetime"):
            office.add("2026-03-10", H)  # type: ignore[arg-type]

    def test_negative_work(self, office: BusinessCalendar) -> None:
        with pytest.raises(InvalidValueError, match="'work' must not be negative"):
            office.add(tor(2026, 3, 10), -H)
        with pytest.raises(InvalidValueError, match="'work' must not be negative"):
            office.subtract(tor(2026, 3, 10), -H)

    def test_work_type(self, office: BusinessCalendar) -> None:
        with pytest.raises(InvalidTypeError, match="'work' must be a timedelta"):
            office.add(tor(2026, 3, 10), "1h")  # type: ignore[arg-type]

    def test_unknown_zone(self) -> None:
        with pytest.raises(UnknownTimeZoneError, match="'tz' must be an IANA time-zone name"):
            BusinessCalendar("Mars/Olympus")
        with pytest.raises(InvalidTypeError, match="'tz'"):
            BusinessCalendar(5)  # type: ignore[arg-type]

    @pytest.mark.parametrize(
        ("hours", "words"),
        [
            ({"mon": "17:00-09:00"}, "must end after it starts"),
            ({"mon": "9-17"}, "must be a time written 'HH:MM'"),
            ({"mon": "09:00-25:00"}, "between 00:00 and 24:00"),
            ({"mon": "24:00-24:00"}, "24:00 only as an end"),
            ({"mon": "09:70-10:00"}, "between 00:00 and 24:00"),
            ({"mon": ["09:00-12:00", "11:00-13:00"]}, "overlapping intervals"),
            ({"mon-fri": "09:00-17:00", "fri": "09:00-12:00"}, "overlapping intervals"),
            ({"funday": "09:00-17:00"}, "is not a day name"),
            ({"mon-xyz": "09:00-17:00"}, "unknown day name"),
            ({7: "09:00-17:00"}, r"weekday 0 \(Monday\) to 6"),
            ({"mon": "09:00"}, "'HH:MM-HH:MM'"),
        ],
    )
    def test_bad_hours(self, hours: dict[object, object], words: str) -> None:
        with pytest.raises(InvalidValueError, match=words):
            BusinessCalendar("UTC", hours=hours)  # type: ignore[arg-type]

    def test_bad_hour_types(self) -> None:
        with pytest.raises(InvalidTypeError, match="'hours' must be a mapping"):
            BusinessCalendar("UTC", hours="mon-fri 9-5")  # type: ignore[arg-type]
        with pytest.raises(InvalidTypeError, match="must be an interval, a list"):
            BusinessCalendar("UTC", hours={"mon": 9})  # type: ignore[dict-item]
        with pytest.raises(InvalidTypeError, match=r"'HH:MM' string or a datetime\.time"):
            BusinessCalendar("UTC", hours={"mon": (9, 17)})  # type: ignore[dict-item]

    def test_empty_week(self) -> None:
        with pytest.raises(NoWorkingTimeError, match="must contain some working time"):
            BusinessCalendar("UTC", hours={"mon-sun": []})

    def test_bad_holidays(self) -> None:
        with pytest.raises(InvalidTypeError, match=r"'holidays' must contain datetime\.date"):
            BusinessCalendar("UTC", holidays=["2026-07-01"])  # type: ignore[list-item]
        with pytest.raises(InvalidTypeError, match="'holidays' must be a collection"):
            BusinessCalendar("UTC", holidays=date(2026, 7, 1))  # type: ignore[arg-type]

    def test_bad_rules(self) -> None:
        with pytest.raises(InvalidValueError, match="not a valid RFC 5545 rule"):
            BusinessCalendar("UTC", holiday_rules=["RRULE:FREQ=SOMETIMES"])
        aware = rrule(YEARLY, dtstart=datetime(2020, 1, 1, tzinfo=timezone.utc))
        with pytest.raises(InvalidValueError, match="naive"):
            BusinessCalendar("UTC", holiday_rules=[aware])
        with pytest.raises(InvalidTypeError, match="'holiday_rules' must contain"):
            BusinessCalendar("UTC", holiday_rules=[42])  # type: ignore[list-item]

    def test_bad_overrides(self) -> None:
        with pytest.raises(InvalidTypeError, match=r"'overrides' keys must be datetime\.date"):
            BusinessCalendar("UTC", overrides={"2026-12-24": "09:00-12:00"})  # type: ignore[dict-item]
        with pytest.raises(InvalidValueError, match=r"overrides\[2026-12-24\]"):
            BusinessCalendar("UTC", overrides={date(2026, 12, 24): "12:00-09:00"})

    def test_no_working_time_ahead(self) -> None:
        cal = BusinessCalendar(
            "UTC",
            hours={"mon": "09:00-10:00"},
            holiday_rules=["DTSTART:20200101T000000\nRRULE:FREQ=WEEKLY;BYDAY=MO"],
        )
        with pytest.raises(NoWorkingTimeError, match="no working time ahead"):
            cal.add(datetime(2026, 3, 9, tzinfo=timezone.utc), H)

    def test_errors_are_promisekit_errors(self) -> None:
        for cls in (NaiveDatetimeError, InvalidValueError, UnknownTimeZoneError):
            assert issubclass(cls, PromiseKitError)
            assert issubclass(cls, ValueError)
        assert issubclass(InvalidTypeError, TypeError)


# ----------------------------------------------------------------------------- holidays extra


def test_holidays_from_package_quebec() -> None:
    dates = holidays_from_package("CA", subdiv="QC", years=[2026])
    assert date(2026, 6, 24) in dates  # Fête nationale du Québec
    assert date(2026, 7, 1) in dates
    cal = BusinessCalendar("America/Toronto", holidays=dates)
    assert not cal.is_business_day(date(2026, 6, 24))
    france = holidays_from_package("FR", years=[2026])
    assert date(2026, 7, 14) in france


def test_holidays_from_package_unknown_country() -> None:
    with pytest.raises(InvalidValueError, match="not known to the holidays package"):
        holidays_from_package("XX", years=[2026])


def test_holidays_from_package_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "holidays", None)
    with pytest.raises(MissingDependencyError, match=r"pip install 'promisekit\[holidays\]'"):
        holidays_from_package("CA", years=[2026])


# ----------------------------------------------------------------------------- properties

ZONES = ["America/Toronto", "Europe/Paris", "Australia/Lord_Howe", "Asia/Kolkata", "UTC"]
# Days on or next to DST changes in 2026, so that examples hit them often.
DST_DAYS = [
    date(2026, 3, 8),
    date(2026, 11, 1),
    date(2026, 3, 29),
    date(2026, 10, 25),
    date(2026, 4, 5),
    date(2026, 10, 4),
]


@st.composite
def day_specs(draw: st.DrawFn) -> list[tuple[int, int]]:
    cuts = sorted(draw(st.sets(st.integers(0, 96), max_size=6)))  # quarter hours
    pairs = [(cuts[i] * 900, cuts[i + 1] * 900) for i in range(0, len(cuts) - 1, 2)]
    return [p for p in pairs if p[1] > p[0]]


def fmt(seconds: int) -> str:
    return f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}"


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
            week[0] = [(9 * 3600, 17 * 3600)]
        hours = {i: [f"{fmt(s)}-{fmt(e)}" for s, e in day] for i, day in enumerate(week)}
    base = date(2026, 1, 1)
    holidays = draw(
        st.lists(st.integers(0, 364).map(lambda n: base + timedelta(days=n)), max_size=8)
    )
    overrides = draw(
        st.dictionaries(
            st.sampled_from(DST_DAYS + [base + timedelta(days=n) for n in range(0, 365, 37)]),
            day_specs(),
            max_size=3,
        )
    )
    return BusinessCalendar(
        tz,
        hours=hours,
        holidays=holidays,
        overrides={d: [f"{fmt(s)}-{fmt(e)}" for s, e in iv] for d, iv in overrides.items()},
    )


@st.composite
def minute_instants(draw: st.DrawFn, cal: BusinessCalendar) -> datetime:
    anchor = draw(
        st.one_of(
            st.sampled_from(DST_DAYS),
            st.integers(0, 364).map(lambda n: date(2026, 1, 1) + timedelta(days=n)),
        )
    )
    minutes = draw(st.integers(-24 * 60, 48 * 60))
    local = datetime(anchor.year, anchor.month, anchor.day, tzinfo=ZoneInfo(cal.tz))
    return (local.astimezone(timezone.utc) + timedelta(minutes=minutes)).astimezone(
        ZoneInfo(draw(st.sampled_from(ZONES)))
    )


ORACLE_SETTINGS = settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


@ORACLE_SETTINGS
@given(st.data())
def test_between_matches_oracle(data: st.DataObject) -> None:
    cal = data.draw(calendars())
    a = data.draw(minute_instants(cal))
    span = data.draw(st.integers(0, 3 * 24 * 60))
    # Elapsed time, not wall-clock arithmetic: ``a + timedelta`` drops ``fold``, so in a
    # repeated hour (a at 01:00 fold=1) it would land an hour before ``a``.
    b = (a.astimezone(timezone.utc) + timedelta(minutes=span)).astimezone(a.tzinfo)
    expected = Oracle(cal).between_minutes(a, b)
    assert cal.between(a, b) == timedelta(minutes=expected)
    assert cal.between(b, a) == -timedelta(minutes=expected)


@ORACLE_SETTINGS
@given(st.data())
def test_add_matches_oracle(data: st.DataObject) -> None:
    cal = data.draw(calendars())
    a = data.draw(minute_instants(cal))
    # At most a week's work: up to 9 weeks of stepping when holidays take the working days.
    weekly = int(cal.weekly_hours.total_seconds()) // 60
    minutes = data.draw(st.integers(0, min(16 * 60, weekly)))
    expected = Oracle(cal).add_minutes(a, minutes, limit=70 * 24 * 60)
    assert cal.add(a, timedelta(minutes=minutes)).astimezone(timezone.utc) == expected


@ORACLE_SETTINGS
@given(st.data())
def test_is_open_and_next_open_match_oracle(data: st.DataObject) -> None:
    cal = data.draw(calendars())
    t = data.draw(minute_instants(cal))
    oracle = Oracle(cal)
    assert cal.is_open(t) == oracle.is_open(t)
    nxt = cal.next_open(t)
    assert nxt >= t
    assert oracle.is_open(nxt)
    assert cal.between(t, nxt) == timedelta(0)
    if nxt > t:
        assert not oracle.is_open(nxt.astimezone(timezone.utc) - M)


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_add_between_roundtrip_and_monotonic(data: st.DataObject) -> None:
    cal = data.draw(calendars())
    a = data.draw(minute_instants(cal)) + timedelta(
        microseconds=data.draw(st.integers(0, 59_999_999))
    )
    w1 = timedelta(microseconds=data.draw(st.integers(0, 2000 * 3600 * 10**6)))
    w2 = timedelta(microseconds=data.draw(st.integers(0, 3600 * 10**6)))
    end = cal.add(a, w1)
    assert end.tzinfo == ZoneInfo(cal.tz)
    assert cal.between(a, end) == w1
    assert cal.add(a, w1 + w2) >= end  # monotonic in work
    later = a + timedelta(seconds=data.draw(st.integers(0, 10**6)))
    assert cal.add(later, w1) >= end  # monotonic in start
    back = cal.subtract(end, w1)
    assert back <= end
    assert cal.between(back, end) == w1
    assert back >= a or w1 == timedelta(0) or cal.between(back, a) == timedelta(0)


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_end_of_day_is_a_close(data: st.DataObject) -> None:
    cal = data.draw(calendars())
    t = data.draw(minute_instants(cal))
    eod = cal.end_of_day(t)
    assert eod >= t
    oracle = Oracle(cal)
    assert oracle.is_open(eod.astimezone(timezone.utc) - timedelta(microseconds=1))
    assert not oracle.is_open(eod) or eod.astimezone(ZoneInfo(cal.tz)).time() == time(0)


@settings(max_examples=60, deadline=None)
@given(cal=pk_calendars(), data=st.data())
def test_public_calendar_strategy_roundtrip(cal: BusinessCalendar, data: st.DataObject) -> None:
    a = data.draw(minute_instants(cal))
    work = timedelta(minutes=data.draw(st.integers(0, 10_000)))
    assert cal.between(a, cal.add(a, work)) == work


def test_calendar_pickles_and_deep_copies(office: BusinessCalendar) -> None:
    import copy
    import pickle

    office.add(tor(2026, 3, 9, 9), H)  # build the lazy tables first
    for clone in (pickle.loads(pickle.dumps(office)), copy.deepcopy(office)):
        assert clone == office
        assert clone.add(tor(2026, 3, 9, 9), 30 * H) == office.add(tor(2026, 3, 9, 9), 30 * H)
