"""Holiday recurrence rules mean the same at any wall-clock time; zone names are checked."""

from __future__ import annotations

import copy
import pickle
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from dateutil.rrule import MO, YEARLY, rrule, rrulestr
from hypothesis import given, settings
from hypothesis import strategies as st

from promisekit.calendar import BusinessCalendar
from promisekit.errors import InvalidTypeError, InvalidValueError, UnknownTimeZoneError
from promisekit.serialize import from_json, to_json

YEARS = range(1970, 2100)


def last_monday_before_may_25(year: int) -> date:
    day = date(year, 5, 24)
    return day - timedelta(days=day.weekday())


def docs_calendar() -> BusinessCalendar:
    """The rules of docs/calendar.md, without dtstart, as rule objects."""
    return BusinessCalendar(
        "America/Toronto",
        hours={"daily": "09:00-17:00"},
        holiday_rules=[
            rrule(YEARLY, bymonth=6, bymonthday=24),
            rrule(YEARLY, bymonth=5, bymonthday=range(18, 25), byweekday=MO),
        ],
    )


def assert_docs_rules_hold(cal: BusinessCalendar) -> None:
    for year in YEARS:
        assert not cal.is_business_day(date(year, 6, 24)), year
        assert not cal.is_business_day(last_monday_before_may_25(year)), year
        assert cal.is_business_day(date(year, 6, 23)), year
        assert cal.is_business_day(last_monday_before_may_25(year) - timedelta(days=1)), year


def test_rules_without_dtstart_hold_every_year() -> None:
    assert_docs_rules_hold(docs_calendar())


def test_rule_strings_without_dtstart_hold_every_year() -> None:
    cal = BusinessCalendar(
        "America/Toronto",
        hours={"daily": "09:00-17:00"},
        holiday_rules=[
            "RRULE:FREQ=YEARLY;BYMONTH=7;BYMONTHDAY=1",
            "FREQ=YEARLY;BYMONTH=6;BYMONTHDAY=24",
        ],
    )
    for year in YEARS:
        assert not cal.is_business_day(date(year, 7, 1)), year
        assert not cal.is_business_day(date(year, 6, 24)), year
        assert cal.is_business_day(date(year, 7, 2)), year


def test_far_past_and_future_dates_are_holidays() -> None:
    # The construction time of the rule objects (dateutil's default dtstart) is not used.
    cal = docs_calendar()
    assert not cal.is_business_day(date(1970, 6, 24))
    assert not cal.is_business_day(date(2099, 6, 24))
    assert not cal.is_business_day(date(1970, 5, 18))  # last Monday before 25 May 1970
    assert not cal.is_business_day(date(2099, 5, 18))


@settings(max_examples=25, deadline=None)
@given(moment=st.datetimes(datetime(1980, 1, 1), datetime(2090, 12, 31)))
def test_any_construction_time_gives_the_same_rule(moment: datetime) -> None:
    # What dateutil puts as dtstart when none is given: the wall clock, whole seconds.
    now = moment.replace(microsecond=0)
    if now.time() == datetime.min.time():
        now += timedelta(seconds=1)
    built_then = rrule(YEARLY, bymonth=6, bymonthday=24, dtstart=now)
    cal = BusinessCalendar("UTC", holiday_rules=[built_then])
    assert cal.holiday_rules == ("RRULE:FREQ=YEARLY;BYMONTH=6;BYMONTHDAY=24",)
    assert cal == BusinessCalendar("UTC", holiday_rules=[rrule(YEARLY, bymonth=6, bymonthday=24)])
    # A string saved by an older version (with that DTSTART) means the same.
    text = f"DTSTART:{now:%Y%m%dT%H%M%S}\nRRULE:FREQ=YEARLY;BYMONTH=6;BYMONTHDAY=24"
    assert BusinessCalendar("UTC", holiday_rules=[text]) == cal


def test_serialized_calendar_round_trips_and_still_means_every_year() -> None:
    cal = docs_calendar()
    assert all("DTSTART" not in text for text in cal.holiday_rules)
    for clone in (
        from_json(to_json(cal), BusinessCalendar),
        pickle.loads(pickle.dumps(cal)),
        copy.deepcopy(cal),
        BusinessCalendar(cal.tz, hours={"daily": "09:00-17:00"}, holiday_rules=cal.holiday_rules),
    ):
        assert clone == cal
        assert clone.holiday_rules == cal.holiday_rules
        assert_docs_rules_hold(clone)


def test_rule_with_dtstart_keeps_its_meaning() -> None:
    cal = BusinessCalendar(
        "UTC",
        hours={"daily": "09:00-17:00"},
        holiday_rules=[
            rrule(YEARLY, bymonth=6, bymonthday=24, dtstart=datetime(2000, 1, 1)),
            "DTSTART:20100101T000000\nRRULE:FREQ=YEARLY;BYMONTH=7;BYMONTHDAY=1",
            rrule(YEARLY, bymonth=8, bymonthday=3, dtstart=date(2020, 1, 1)),
            rrule(YEARLY, bymonth=9, bymonthday=9, dtstart=datetime(1990, 1, 1), count=3),
        ],
    )
    assert cal.is_business_day(date(1999, 6, 24))
    assert not cal.is_business_day(date(2000, 6, 24))
    assert not cal.is_business_day(date(2099, 6, 24))
    assert cal.is_business_day(date(2009, 7, 1))
    assert not cal.is_business_day(date(2010, 7, 1))
    assert cal.is_business_day(date(2019, 8, 3))
    assert not cal.is_business_day(date(2020, 8, 3))
    assert [cal.is_business_day(date(y, 9, 9)) for y in range(1989, 1994)] == [
        True,
        False,
        False,
        False,
        True,
    ]
    assert cal.holiday_rules[0].startswith("DTSTART:20000101T000000\n")
    assert from_json(to_json(cal), BusinessCalendar) == cal


def test_rule_starting_before_year_1000_round_trips() -> None:
    cal = BusinessCalendar("UTC", holiday_rules=[rrule(YEARLY, dtstart=datetime(500, 3, 1))])
    assert cal.holiday_rules == ("DTSTART:05000301T000000\nRRULE:FREQ=YEARLY",)
    assert not cal.is_business_day(date(2027, 3, 1))  # a Monday
    assert BusinessCalendar("UTC", holiday_rules=cal.holiday_rules) == cal


@pytest.mark.parametrize(
    "text",
    [
        "RRULE:FREQ=YEARLY;INTERVAL=3;BYMONTH=6;BYMONTHDAY=24",
        "RRULE:FREQ=MONTHLY;INTERVAL=5;BYMONTHDAY=13",
        "RRULE:FREQ=WEEKLY;INTERVAL=3;BYDAY=TU,FR",
        "RRULE:FREQ=WEEKLY;WKST=SU;INTERVAL=2;BYDAY=SU,SA",
        "RRULE:FREQ=DAILY;INTERVAL=11",
        "RRULE:FREQ=HOURLY;INTERVAL=29",
        "RRULE:FREQ=YEARLY",
        "RRULE:FREQ=WEEKLY",
    ],
)
def test_rules_without_dtstart_count_their_periods_from_year_1(text: str) -> None:
    # The calendar evaluates such a rule from a later start in phase with year 1;
    # check that against dateutil iterating from year 1 itself (early years: cheap).
    exact = rrulestr(text, dtstart=datetime(1, 1, 1))
    cal = BusinessCalendar("UTC", hours={"daily": "00:00-24:00"}, holiday_rules=[text])
    expected = {m.date() for m in exact.between(datetime(30, 1, 1), datetime(41, 1, 1), inc=True)}
    day = date(30, 1, 1)
    while day < date(41, 1, 1):
        assert cal.is_business_day(day) == (day not in expected), day
        day += timedelta(days=1)


class TestZoneNames:
    @pytest.mark.parametrize("name", ["America", "Asia", "Europe", "America/", "Etc"])
    def test_directory_names_are_unknown_zones(self, name: str) -> None:
        with pytest.raises(UnknownTimeZoneError, match=r"'tz' must be an IANA time-zone name"):
            BusinessCalendar(name)
        with pytest.raises(UnknownTimeZoneError, match=r"'tz'.*" + name):
            BusinessCalendar.always_open(name)

    def test_other_bad_names(self) -> None:
        for name in ("Mars/Olympus", "../etc/passwd", "", "America/Toronto\x00"):
            with pytest.raises(UnknownTimeZoneError, match="'tz'"):
                BusinessCalendar(name)
        with pytest.raises(InvalidTypeError, match="'tz'"):
            BusinessCalendar(5)  # type: ignore[arg-type]

    def test_unkeyed_zoneinfo(self) -> None:
        import io
        import zoneinfo

        paths = [Path(root, "UTC") for root in zoneinfo.TZPATH if Path(root, "UTC").is_file()]
        if not paths:
            pytest.skip("no system zone file to read")
        zone = zoneinfo.ZoneInfo.from_file(io.BytesIO(paths[0].read_bytes()))
        with pytest.raises(InvalidTypeError, match=r"'tz'.*without a key"):
            BusinessCalendar(zone)


class TestMessagesQuoteSafely:
    def test_huge_values_are_cut(self) -> None:
        with pytest.raises(InvalidValueError) as info:
            BusinessCalendar("UTC", hours={"mon": "09:00-" + "1" * 500})
        assert len(str(info.value)) < 300
        with pytest.raises(InvalidValueError) as info:
            BusinessCalendar("UTC", holiday_rules=["RRULE:FREQ=" + "X" * 500])
        assert len(str(info.value)) < 400
        with pytest.raises(InvalidTypeError) as info:
            BusinessCalendar("UTC").is_business_day("2026-01-01" * 100)  # type: ignore[arg-type]
        assert "'day' must be a datetime.date" in str(info.value)
        assert len(str(info.value)) < 300

    def test_broken_repr_does_not_hide_the_error(self) -> None:
        class Broken:
            def __repr__(self) -> str:
                raise RuntimeError("no repr")

        with pytest.raises(InvalidTypeError, match="'holidays' must contain"):
            BusinessCalendar("UTC", holidays=[Broken()])  # type: ignore[list-item]
        with pytest.raises(InvalidTypeError, match="hours keys must be"):
            BusinessCalendar("UTC", hours={Broken(): "09:00-17:00"})  # type: ignore[dict-item]
