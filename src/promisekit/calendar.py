"""Business time: working hours, holidays and exact, closed-form arithmetic.

A :class:`BusinessCalendar` says when work happens: weekly working intervals in
*local wall-clock time* of an IANA time zone, holidays (explicit dates and
``dateutil.rrule`` recurrences) and per-date overrides (an early close on 24
December, an exceptional Saturday opening). It answers the questions every
policy and rule asks:

* :meth:`~BusinessCalendar.add` / :meth:`~BusinessCalendar.subtract` — when will
  ``work`` of working time have elapsed after (before) an instant?
* :meth:`~BusinessCalendar.between` — how much working time lies between two
  instants (signed)?
* :meth:`~BusinessCalendar.is_open`, :meth:`~BusinessCalendar.next_open`,
  :meth:`~BusinessCalendar.end_of_day`, :meth:`~BusinessCalendar.working_intervals`.

Semantics:

* Working time is **real elapsed time**: a 00:00–24:00 day lasts 23 hours on
  the spring DST change and 25 hours in autumn.
* A local opening (or closing) time that falls in a DST gap happens at the
  first existing instant after it (the transition instant); an ambiguous one
  (in a DST fold) uses its first occurrence (``fold=0``).
* Inputs are aware datetimes in any zone; results are in the calendar's zone.
* Arithmetic is exact to the microsecond and closed form: a cumulative
  working-time function built from per-week prefix sums plus a sorted list of
  "exception" days (holidays, overrides and days that contain a UTC-offset
  change), searched with :mod:`bisect`. Long spans cost the same as short ones.

Example:
    >>> from datetime import datetime, timedelta
    >>> from zoneinfo import ZoneInfo
    >>> cal = BusinessCalendar("America/Toronto", hours={"mon-fri": "09:00-17:00"})
    >>> friday = datetime(2026, 3, 6, 16, 0, tzinfo=ZoneInfo("America/Toronto"))
    >>> cal.add(friday, timedelta(hours=2)).isoformat()
    '2026-03-09T10:00:00-04:00'

.. versionadded:: 0.1.0
"""

from __future__ import annotations

import re
import threading
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import date, datetime, time, timedelta, timezone
from math import gcd
from typing import TYPE_CHECKING, Any, TypeAlias
from zoneinfo import ZoneInfo

import attrs

from promisekit._validation import check_aware, check_duration, describe, load_zone
from promisekit.errors import (
    InvalidTypeError,
    InvalidValueError,
    MissingDependencyError,
    NoWorkingTimeError,
)

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

__all__ = ["BusinessCalendar", "HoursSpec", "holidays_from_package"]

_US = 1_000_000
_DAY_S = 86_400
_DAY_US = _DAY_S * _US
_ONE_US = timedelta(microseconds=1)
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_EPOCH_NAIVE = datetime(1970, 1, 1)
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
# 1970-01-01 was a Thursday: weekday(day) == (day + 3) % 7 with Monday == 0.
_WEEKDAY_SHIFT = 3
_MIN_YEAR = 2
_MAX_YEAR = 9998
# Where a holiday rule without a start of its own starts: a rule without dtstart
# means "every year", so its periods count from 1 January of year 1 (a Monday).
_RULE_START = datetime(1, 1, 1)
# Coverage of the lazily built tables never exceeds this many years: a calendar
# whose holidays remove every working day would otherwise be searched forever.
_MAX_SPAN_YEARS = 600

_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_TIME_RE = re.compile(r"^\s*(\d{1,2}):(\d{2})(?::(\d{2}))?\s*$")

#: One working interval: ``"09:00-17:00"`` or a pair of ``"HH:MM[:SS]"`` strings /
#: :class:`datetime.time` objects. ``"24:00"`` is accepted as an end.
IntervalSpec: TypeAlias = "str | tuple[str | time, str | time]"
#: The intervals of one day: one interval, a sequence of them, or empty (closed).
DaySpec: TypeAlias = "IntervalSpec | Sequence[IntervalSpec] | None"
#: Weekly hours: keys are day names (``"mon"``), ranges (``"mon-fri"``), lists
#: (``"sat,sun"``), ``"daily"``, or weekday numbers (0 = Monday).
HoursSpec = Mapping[str | int, DaySpec]

_Intervals = tuple[tuple[int, int], ...]  # seconds since local midnight, [start, end)


# --------------------------------------------------------------------------- parsing


def _parse_time(field: str, value: str | time, *, is_end: bool) -> int:
    if isinstance(value, time):
        if value.tzinfo is not None:
            raise InvalidValueError(
                f"{field!r} must be a local wall-clock time without tzinfo (got {describe(value)})"
            )
        return value.hour * 3600 + value.minute * 60 + value.second
    if not isinstance(value, str):
        raise InvalidTypeError(
            f"{field!r} must be a 'HH:MM' string or a datetime.time "
            f"(got {type(value).__name__} {describe(value)})"
        )
    match = _TIME_RE.match(value)
    if match is None:
        raise InvalidValueError(f"{field!r} must be a time written 'HH:MM' (got {describe(value)})")
    hours, minutes, seconds = (int(g) if g else 0 for g in match.groups())
    total = hours * 3600 + minutes * 60 + seconds
    if minutes > 59 or seconds > 59 or total > _DAY_S or (total == _DAY_S and not is_end):
        raise InvalidValueError(
            f"{field!r} must be between 00:00 and 24:00 (24:00 only as an end) "
            f"(got {describe(value)})"
        )
    return total


def _parse_interval(field: str, spec: Any) -> tuple[int, int]:
    if isinstance(spec, str):
        parts = spec.split("-")
        if len(parts) != 2:
            raise InvalidValueError(
                f"{field!r} must be an interval written 'HH:MM-HH:MM' (got {describe(spec)})"
            )
        start_spec, end_spec = parts
    elif isinstance(spec, (tuple, list)) and len(spec) == 2:
        start_spec, end_spec = spec
    else:
        raise InvalidTypeError(
            f"{field!r} must be 'HH:MM-HH:MM' or a (start, end) pair "
            f"(got {type(spec).__name__} {describe(spec)})"
        )
    start = _parse_time(field, start_spec, is_end=False)
    end = _parse_time(field, end_spec, is_end=True)
    if end <= start:
        raise InvalidValueError(
            f"{field!r} must end after it starts (got {describe(spec)}); "
            "write a night shift as two intervals, e.g. 'mon': '22:00-24:00', 'tue': '00:00-06:00'"
        )
    return start, end


def _parse_day(field: str, spec: Any) -> _Intervals:
    if spec is None:
        return ()
    if isinstance(spec, str) or (
        isinstance(spec, tuple) and len(spec) == 2 and not isinstance(spec[0], (tuple, list))
    ):
        items: list[Any] = [spec]
    elif isinstance(spec, (list, tuple)):
        items = list(spec)
    else:
        raise InvalidTypeError(
            f"{field!r} must be an interval, a list of intervals or None "
            f"(got {type(spec).__name__} {describe(spec)})"
        )
    intervals = sorted(_parse_interval(field, item) for item in items)
    merged: list[tuple[int, int]] = []
    for start, end in intervals:
        if merged and start < merged[-1][1]:
            raise InvalidValueError(
                f"{field!r} has overlapping intervals "
                f"({_fmt_interval(merged[-1])} and {_fmt_interval((start, end))})"
            )
        if merged and start == merged[-1][1]:
            merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return tuple(merged)


def _day_keys(key: str | int) -> list[int]:
    if isinstance(key, bool) or not isinstance(key, (str, int)):
        raise InvalidTypeError(f"hours keys must be day names or numbers (got {describe(key)})")
    if isinstance(key, int):
        if not 0 <= key <= 6:
            raise InvalidValueError(
                f"hours key must be a weekday 0 (Monday) to 6 (got {describe(key)})"
            )
        return [key]
    days: list[int] = []
    for part in key.lower().replace(" ", "").split(","):
        if part in ("daily", "*", "all"):
            days.extend(range(7))
        elif "-" in part:
            first, _, last = part.partition("-")
            if first[:3] not in _WEEKDAYS or last[:3] not in _WEEKDAYS:
                raise InvalidValueError(
                    f"hours key {describe(key)} has an unknown day name in {describe(part)}"
                )
            lo, hi = _WEEKDAYS.index(first[:3]), _WEEKDAYS.index(last[:3])
            days.extend(range(lo, hi + 1) if lo <= hi else [*range(lo, 7), *range(hi + 1)])
        elif part[:3] in _WEEKDAYS and _WEEKDAYS[_WEEKDAYS.index(part[:3])].startswith(part[:3]):
            days.append(_WEEKDAYS.index(part[:3]))
        else:
            raise InvalidValueError(
                f"hours key {describe(key)} is not a day name "
                "(expected e.g. 'mon', 'mon-fri', 'sat,sun')"
            )
    return days


def _convert_hours(spec: Any) -> tuple[_Intervals, ...]:
    if spec is None:
        spec = {"mon-fri": "09:00-17:00"}
    if isinstance(spec, tuple) and len(spec) == 7 and all(isinstance(d, tuple) for d in spec):
        # Already normalized (seconds) — e.g. from attrs.evolve or deserialization.
        return tuple(
            _parse_day(f"hours[{_WEEKDAYS[i]}]", _seconds_to_spec(d)) for i, d in enumerate(spec)
        )
    if not isinstance(spec, Mapping):
        raise InvalidTypeError(
            "'hours' must be a mapping of days to intervals "
            f"(got {type(spec).__name__} {describe(spec)})"
        )
    week: list[list[Any]] = [[] for _ in range(7)]
    for key, day_spec in spec.items():
        field = f"hours[{describe(key)}]"
        intervals = _parse_day(field, day_spec)
        for day in _day_keys(key):
            week[day].extend(_fmt_interval(iv) for iv in intervals)
    # A day named by several keys gets the union of their intervals (checked for overlaps).
    return tuple(_parse_day(f"hours[{_WEEKDAYS[i]!r}]", d) for i, d in enumerate(week))


def _seconds_to_spec(day: Any) -> list[str]:
    out = []
    for item in day:
        if isinstance(item, str):
            out.append(item)
        elif (
            isinstance(item, tuple)
            and len(item) == 2
            and all(isinstance(x, int) and not isinstance(x, bool) for x in item)
        ):
            out.append(_fmt_interval(item))
        else:
            raise InvalidTypeError(
                f"'hours' interval must be a pair of seconds (got {describe(item)})"
            )
    return out


def _fmt_seconds(seconds: int) -> str:
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours:02d}:{minutes:02d}" + (f":{secs:02d}" if secs else "")


def _fmt_interval(interval: tuple[int, int]) -> str:
    return f"{_fmt_seconds(interval[0])}-{_fmt_seconds(interval[1])}"


def _convert_tz(value: Any) -> str:
    if isinstance(value, ZoneInfo) and value.key is not None:
        value = value.key
    if isinstance(value, ZoneInfo):
        raise InvalidTypeError(
            "'tz' must be an IANA time-zone name such as 'America/Toronto' "
            "(got a ZoneInfo built from a file, without a key)"
        )
    load_zone(value, field="tz")
    return str(value)


def _convert_dates(value: Any) -> tuple[date, ...]:
    if value is None:
        return ()
    if isinstance(value, (str, date)):
        raise InvalidTypeError(f"'holidays' must be a collection of dates (got {describe(value)})")
    out = set()
    for item in value:
        if isinstance(item, datetime) or not isinstance(item, date):
            raise InvalidTypeError(
                "'holidays' must contain datetime.date values "
                f"(got {type(item).__name__} {describe(item)})"
            )
        out.add(item)
    return tuple(sorted(out))


def _convert_rules(value: Any) -> tuple[str, ...]:
    """Recurrence rules as RFC 5545 text, without ``DTSTART`` when the rule has none.

    A rule without a start means "every year": it is kept without ``DTSTART`` (so a
    pickled or serialized calendar still means that) and evaluated from the
    calendar's own start, 1 January of year 1. dateutil gives a rule built without
    ``dtstart`` the wall-clock time of its construction as start; a holiday rule is
    about dates, so a start with a time of day other than midnight is taken to be
    that default and dropped. Results never depend on the wall clock.
    """
    if value is None or value == ():
        return ()
    from dateutil.rrule import rrule, rrulestr

    if isinstance(value, (str, rrule)):
        value = [value]
    out = []
    for item in value:
        if isinstance(item, str):
            try:
                parsed = rrulestr(item, dtstart=_RULE_START)
            except (ValueError, TypeError, OverflowError) as exc:
                raise InvalidValueError(
                    f"'holiday_rules' entry {describe(item)} is not a valid RFC 5545 rule: "
                    f"{describe(str(exc))}"
                ) from None
            if not isinstance(parsed, rrule):
                raise InvalidValueError(
                    f"'holiday_rules' entry {describe(item)} must be a single RRULE, not a rule set"
                )
            item = parsed
        if not isinstance(item, rrule):
            raise InvalidTypeError(
                "'holiday_rules' must contain dateutil.rrule.rrule objects or RRULE strings "
                f"(got {type(item).__name__} {describe(item)})"
            )
        dtstart: datetime = item._dtstart  # type: ignore[attr-defined]  # no public accessor
        if dtstart.tzinfo is not None:
            raise InvalidValueError(
                "'holiday_rules' must use naive (local-date) dtstart values; "
                f"got a rule starting at aware {dtstart.isoformat()}"
            )
        if dtstart.time() != time(0):
            # dateutil's "now" default: the rule was given no start.
            item = item.replace(dtstart=_RULE_START)
            dtstart = _RULE_START
        out.append(_rule_text(item, dtstart))
    return tuple(out)


def _rule_text(rule: Any, dtstart: datetime) -> str:
    """RFC 5545 text of ``rule``; no ``DTSTART`` line when it starts at the calendar's start."""
    lines = [line for line in str(rule).split("\n") if not line.startswith("DTSTART:")]
    if dtstart != _RULE_START:
        # Written by hand: strftime does not pad years before 1000 on every platform.
        lines.insert(
            0,
            f"DTSTART:{dtstart.year:04d}{dtstart.month:02d}{dtstart.day:02d}"
            f"T{dtstart.hour:02d}{dtstart.minute:02d}{dtstart.second:02d}",
        )
    return "\n".join(lines)


def _rule_dates(text: str, year_lo: int, year_hi: int) -> list[date]:
    """The dates on which rule ``text`` occurs in the years ``[year_lo, year_hi)``."""
    from dateutil.rrule import rrulestr

    rule: Any = rrulestr(text, dtstart=_RULE_START)
    if rule._dtstart == _RULE_START and rule._count is None:
        # Same occurrences from a start in phase with year 1, shortly before year_lo
        # (dateutil iterates from the start: from year 1 it would take seconds).
        rule = rule.replace(dtstart=_in_phase_start(rule._freq, rule._interval, year_lo - 1))
    return [
        moment.date()
        for moment in rule.between(datetime(year_lo, 1, 1), datetime(year_hi, 1, 1), inc=True)
    ]


def _in_phase_start(freq: int, interval: int, year: int) -> datetime:
    """The latest start at or before 1 January ``year`` with the periods of a rule from year 1."""
    from dateutil.rrule import MONTHLY, YEARLY

    if freq in (YEARLY, MONTHLY):
        step = interval if freq == YEARLY else interval // gcd(interval, 12)  # in years
        return datetime(1 + (year - 1) // step * step, 1, 1)
    period = (604_800, _DAY_S, 3_600, 60, 1)[freq - 2] * interval  # WEEKLY..SECONDLY
    step = period // gcd(period, _DAY_S)  # in days; day 1 (1 January of year 1) is a Monday
    return datetime.fromordinal(1 + (date(year, 1, 1).toordinal() - 1) // step * step)


def _convert_overrides(value: Any) -> tuple[tuple[date, _Intervals], ...]:
    if value is None:
        return ()
    if isinstance(value, tuple) and all(
        isinstance(x, tuple) and len(x) == 2 and isinstance(x[0], date) for x in value
    ):
        items: Iterable[tuple[Any, Any]] = value
    elif isinstance(value, Mapping):
        items = value.items()
    else:
        raise InvalidTypeError(
            f"'overrides' must be a mapping of dates to intervals (got {type(value).__name__})"
        )
    out: dict[date, _Intervals] = {}
    for key, spec in items:
        if isinstance(key, datetime) or not isinstance(key, date):
            raise InvalidTypeError(
                "'overrides' keys must be datetime.date values "
                f"(got {type(key).__name__} {describe(key)})"
            )
        if isinstance(spec, tuple) and all(
            isinstance(x, tuple)
            and len(x) == 2
            and all(isinstance(y, int) and not isinstance(y, bool) for y in x)
            for x in spec
        ):
            spec = _seconds_to_spec(spec)
        out[key] = _parse_day(f"overrides[{key.isoformat()}]", spec)
    return tuple(sorted(out.items()))


# --------------------------------------------------------------------------- tables


@attrs.frozen(slots=True)
class _Tables:
    """An immutable snapshot of everything the closed form needs over some years.

    All instants are integer microseconds since the Unix epoch (UTC); all days are
    integer local days since 1970-01-01; all amounts are integer microseconds.
    """

    d_lo: int  # first covered local day
    d_hi: int  # first day after coverage
    u_lo: int  # instants covered: [u_lo, u_hi)
    u_hi: int
    off_keys: list[int]  # UTC instants of offset changes
    off_vals: list[int]  # offset (µs) in force before key[0], after key[0], …
    off_days: list[int]  # local day of each offset change (regular days never equal one)
    exc_days: list[int]  # sorted exception days
    exc_cum: list[int]  # cumulative working time at the start of each exception day
    exc_pref: list[int]  # sum of (actual - default) over exceptions before index k
    exc_iv: list[tuple[tuple[int, int], ...]]  # real intervals of each exception day
    exc_start: list[int]  # real instant of each exception day's local midnight


def _td_us(delta: timedelta) -> int:
    return (delta.days * _DAY_S + delta.seconds) * _US + delta.microseconds


def _to_us(moment: datetime) -> int:
    return _td_us(moment - _EPOCH)


def _year_start_day(year: int) -> int:
    return date(year, 1, 1).toordinal() - _EPOCH_ORDINAL


# --------------------------------------------------------------------------- calendar


@attrs.frozen(slots=True, repr=False, eq=True)
class BusinessCalendar:
    """When work happens: weekly hours, holidays and overrides in one time zone.

    Args:
        tz: IANA time-zone name (``"America/Toronto"``) or a ``ZoneInfo``.
        hours: weekly working intervals in local wall-clock time, as a mapping
            of days to intervals: ``{"mon-fri": ["08:30-12:00", "13:00-17:00"],
            "sat": "10:00-14:00"}``. Keys are day names, ranges, comma lists,
            ``"daily"`` or weekday numbers (0 = Monday); ``"24:00"`` closes a
            day at midnight. A night shift is written as two intervals on two
            days. Default: Monday to Friday, 09:00–17:00.
        holidays: explicit closed dates.
        holiday_rules: recurring closed dates, as ``dateutil.rrule.rrule``
            objects with a naive ``dtstart`` or RFC 5545 ``RRULE`` strings, e.g.
            every 24 June ``rrule(YEARLY, bymonth=6, bymonthday=24)``, or the
            last Monday before 25 May ``rrule(YEARLY, bymonth=5,
            bymonthday=range(18, 25), byweekday=MO)``. A rule without
            ``dtstart`` (or whose ``dtstart`` has a time of day, which is what
            dateutil fills in: the wall clock) holds every year.
        overrides: per-date working intervals replacing the weekly ones (and a
            holiday on the same date): ``{date(2026, 12, 24): "09:00-12:00"}``;
            an empty list closes the date.

    Raises:
        UnknownTimeZoneError: ``tz`` is not an IANA zone.
        InvalidValueError: an interval is malformed, inverted or overlapping, a
            day is defined twice, or the week has no working time at all.

    .. versionadded:: 0.1.0
    """

    tz: str = attrs.field(converter=_convert_tz)
    hours: tuple[_Intervals, ...] = attrs.field(default=None, converter=_convert_hours)
    holidays: tuple[date, ...] = attrs.field(default=(), converter=_convert_dates)
    holiday_rules: tuple[str, ...] = attrs.field(default=(), converter=_convert_rules)
    overrides: tuple[tuple[date, _Intervals], ...] = attrs.field(
        default=(), converter=_convert_overrides
    )

    _zone: ZoneInfo = attrs.field(init=False, eq=False, repr=False, hash=False)
    _week_iv: tuple[tuple[tuple[int, int], ...], ...] = attrs.field(
        init=False, eq=False, repr=False, hash=False
    )
    _week_total: int = attrs.field(init=False, eq=False, repr=False, hash=False)
    _prefix: tuple[int, ...] = attrs.field(init=False, eq=False, repr=False, hash=False)
    _tables: _Tables | None = attrs.field(init=False, eq=False, repr=False, hash=False)
    _anchor: int = attrs.field(init=False, eq=False, repr=False, hash=False)

    def __attrs_post_init__(self) -> None:
        week_iv = tuple(tuple((s * _US, e * _US) for s, e in day) for day in self.hours)
        totals = [sum(e - s for s, e in day) for day in week_iv]
        week_total = sum(totals)
        if week_total == 0:
            raise NoWorkingTimeError(
                "'hours' must contain some working time in the week (got none); "
                "use overrides for isolated openings on top of a working week"
            )
        prefix = [0]
        for total in totals:
            prefix.append(prefix[-1] + total)
        setter = object.__setattr__
        setter(self, "_zone", load_zone(self.tz, field="tz"))
        setter(self, "_week_iv", week_iv)
        setter(self, "_week_total", week_total)
        setter(self, "_prefix", tuple(prefix))
        setter(self, "_tables", None)
        setter(self, "_anchor", 0)

    # ----------------------------------------------------------------- construction

    @classmethod
    def always_open(cls, tz: str | ZoneInfo = "UTC") -> BusinessCalendar:
        """A calendar open around the clock, every day (business time == real time).

        .. versionadded:: 0.1.0
        """
        return cls(tz, hours={"daily": "00:00-24:00"})

    def with_holidays(self, dates: Iterable[date]) -> BusinessCalendar:
        """Return a copy with ``dates`` added to the explicit holidays.

        .. versionadded:: 0.1.0
        """
        return attrs.evolve(self, holidays=(*self.holidays, *dates))

    def __repr__(self) -> str:
        groups: list[tuple[int, int, str]] = []  # runs of consecutive days with equal hours
        for index, day in enumerate(self.hours):
            text = ", ".join(_fmt_interval(iv) for iv in day)
            if groups and groups[-1][2] == text and groups[-1][1] == index - 1:
                groups[-1] = (groups[-1][0], index, text)
            else:
                groups.append((index, index, text))
        days = []
        for first, last, text in groups:
            if text:
                name = (
                    _WEEKDAYS[first] if first == last else f"{_WEEKDAYS[first]}-{_WEEKDAYS[last]}"
                )
                days.append(f"{name!r}: {text!r}")
        extra = ""
        if self.holidays:
            extra += f", holidays={len(self.holidays)} dates"
        if self.holiday_rules:
            extra += f", holiday_rules={len(self.holiday_rules)}"
        if self.overrides:
            extra += f", overrides={len(self.overrides)}"
        return f"BusinessCalendar({self.tz!r}, hours={{{', '.join(days)}}}{extra})"

    @property
    def zone(self) -> ZoneInfo:
        """The calendar's time zone."""
        return self._zone

    @property
    def weekly_hours(self) -> timedelta:
        """Working time in a regular week (without holidays or DST changes)."""
        return timedelta(microseconds=self._week_total)

    # ----------------------------------------------------------------- public API

    def add(self, start: datetime, work: timedelta) -> datetime:
        """The earliest instant at which ``work`` of working time has elapsed after ``start``.

        Work starts at the next opening when ``start`` is outside working hours;
        a result landing exactly on a closing time stays there (it is not rolled
        to the next opening). ``add(t, timedelta(0)) == t``.

        Args:
            start: an aware datetime, in any zone.
            work: working time to add; must not be negative.

        Returns:
            An aware datetime in the calendar's zone.

        Raises:
            NaiveDatetimeError: ``start`` has no time zone.
            InvalidValueError: ``work`` is negative (use :meth:`subtract`).
        """
        check_aware("start", start)
        amount = _td_us(check_duration("work", work))
        begin = _to_us(start)
        if amount == 0:
            return start.astimezone(self._zone)
        target = self._cum_at(begin) + amount
        return self._from_us(self._earliest(target))

    def subtract(self, end: datetime, work: timedelta) -> datetime:
        """The latest instant before ``end`` with exactly ``work`` of working time up to ``end``.

        The mirror of :meth:`add`: a result landing on an opening time stays
        there. ``subtract(t, timedelta(0)) == t``.

        Raises:
            NaiveDatetimeError: ``end`` has no time zone.
            InvalidValueError: ``work`` is negative.
        """
        check_aware("end", end)
        amount = _td_us(check_duration("work", work))
        stop = _to_us(end)
        if amount == 0:
            return end.astimezone(self._zone)
        target = self._cum_at(stop) - amount
        return self._from_us(self._latest(target))

    def between(self, a: datetime, b: datetime) -> timedelta:
        """Signed working time from ``a`` to ``b`` (negative when ``b`` is before ``a``).

        ``between(a, add(a, w)) == w`` for every ``w >= 0``.

        Raises:
            NaiveDatetimeError: ``a`` or ``b`` has no time zone.
        """
        check_aware("a", a)
        check_aware("b", b)
        return timedelta(microseconds=self._cum_at(_to_us(b)) - self._cum_at(_to_us(a)))

    def is_open(self, moment: datetime) -> bool:
        """Whether ``moment`` lies in working time (intervals are half-open: ``[open, close)``)."""
        check_aware("moment", moment)
        instant = _to_us(moment)
        day = self._day_of(instant)
        return any(s <= instant < e for s, e in self._day_intervals(day))

    def next_open(self, moment: datetime) -> datetime:
        """``moment`` itself if open, else the next opening instant."""
        check_aware("moment", moment)
        instant = _to_us(moment)
        result = self._latest(self._cum_at(instant))
        return moment.astimezone(self._zone) if result == instant else self._from_us(result)

    def end_of_day(self, moment: datetime) -> datetime:
        """The close of the business day containing ``moment``, or of the next business day.

        A business day is a local date with working time. When ``moment`` is
        after that date's last close (or the date has no working time), the
        next business day's last close is returned. A moment exactly at the
        last close is its own end of day.
        """
        check_aware("moment", moment)
        instant = _to_us(moment)
        day = self._day_of(instant)
        intervals = self._day_intervals(day)
        if intervals and instant <= intervals[-1][1]:
            return self._from_us(intervals[-1][1])
        opening = self._latest(self._cum_day(day + 1))
        return self._from_us(self._day_intervals(self._day_of(opening))[-1][1])

    def working_intervals(self, a: datetime, b: datetime) -> Iterator[tuple[datetime, datetime]]:
        """Yield the working intervals ``(start, end)`` clipped to ``[a, b]``, in order.

        Intervals touching across midnight (a 24/7 calendar) are merged.

        Raises:
            NaiveDatetimeError: ``a`` or ``b`` has no time zone.
        """
        check_aware("a", a)
        check_aware("b", b)
        lo, hi = _to_us(a), _to_us(b)
        if hi <= lo:
            return
        first, last = self._day_of(lo), self._day_of(hi)
        pending: tuple[int, int] | None = None
        for day in range(first, last + 1):
            for s, e in self._day_intervals(day):
                s, e = max(s, lo), min(e, hi)
                if s >= e:
                    continue
                if pending is not None and pending[1] == s:
                    pending = (pending[0], e)
                    continue
                if pending is not None:
                    yield self._from_us(pending[0]), self._from_us(pending[1])
                pending = (s, e)
        if pending is not None:
            yield self._from_us(pending[0]), self._from_us(pending[1])

    def is_business_day(self, day: date) -> bool:
        """Whether the local date ``day`` has any working time."""
        if isinstance(day, datetime) or not isinstance(day, date):
            raise InvalidTypeError(
                f"'day' must be a datetime.date (got {type(day).__name__} {describe(day)})"
            )
        return bool(self._day_intervals(day.toordinal() - _EPOCH_ORDINAL))

    # ----------------------------------------------------------------- closed form

    def _from_us(self, instant: int) -> datetime:
        return (_EPOCH + timedelta(microseconds=instant)).astimezone(self._zone)

    def _tables_for_day(self, day: int) -> _Tables:
        tables = self._tables
        if tables is None or not (tables.d_lo + 2 <= day < tables.d_hi - 3):
            tables = self._extend(day)
        return tables

    def _tables_for_instant(self, instant: int) -> _Tables:
        tables = self._tables
        if tables is None or not (tables.u_lo <= instant < tables.u_hi):
            tables = self._extend(instant // _DAY_US)
        return tables

    def _day_of(self, instant: int) -> int:
        """The local day whose real span contains ``instant``."""
        tables = self._tables_for_instant(instant)
        offset = tables.off_vals[bisect_right(tables.off_keys, instant)]
        day = (instant + offset) // _DAY_US
        k = bisect_left(tables.exc_days, day)
        if k < len(tables.exc_days) and tables.exc_days[k] == day:
            # Near a UTC-offset change the local date can disagree with the real
            # span of the day (a fold at midnight): adjust against real starts.
            while instant >= self._day_start(day + 1):
                day += 1
            while instant < self._day_start(day):
                day -= 1
        return day

    def _day_offset(self, tables: _Tables, day: int) -> int:
        return tables.off_vals[bisect_right(tables.off_days, day)]

    def _day_start(self, day: int) -> int:
        tables = self._tables_for_day(day)
        k = bisect_left(tables.exc_days, day)
        if k < len(tables.exc_days) and tables.exc_days[k] == day:
            return tables.exc_start[k]
        return day * _DAY_US - self._day_offset(tables, day)

    def _day_intervals(self, day: int) -> tuple[tuple[int, int], ...]:
        tables = self._tables_for_day(day)
        k = bisect_left(tables.exc_days, day)
        if k < len(tables.exc_days) and tables.exc_days[k] == day:
            return tables.exc_iv[k]
        base = day * _DAY_US - self._day_offset(tables, day)
        return tuple((base + s, base + e) for s, e in self._week_iv[(day + _WEEKDAY_SHIFT) % 7])

    def _base(self, day: int) -> int:
        weeks, weekday = divmod(day + _WEEKDAY_SHIFT, 7)
        return weeks * self._week_total + self._prefix[weekday]

    def _cum_day(self, day: int) -> int:
        """Working time from the origin to the start of local ``day``."""
        tables = self._tables_for_day(day)
        k = bisect_left(tables.exc_days, day)
        if k < len(tables.exc_days) and tables.exc_days[k] == day:
            return tables.exc_cum[k]
        return self._base(day) + tables.exc_pref[k]

    def _cum_at(self, instant: int) -> int:
        """Working time from the origin to ``instant`` (non-decreasing, continuous)."""
        tables = self._tables_for_instant(instant)
        offset = tables.off_vals[bisect_right(tables.off_keys, instant)]
        day = (instant + offset) // _DAY_US
        k = bisect_left(tables.exc_days, day)
        if k < len(tables.exc_days) and tables.exc_days[k] == day:
            day = self._day_of(instant)
            total = self._cum_day(day)
            intervals = self._day_intervals(day)
        else:
            weeks, weekday = divmod(day + _WEEKDAY_SHIFT, 7)
            total = weeks * self._week_total + self._prefix[weekday] + tables.exc_pref[k]
            wall = instant + offset - day * _DAY_US
            for s, e in self._week_iv[weekday]:
                if wall >= e:
                    total += e - s
                elif wall > s:
                    total += wall - s
                    break
                else:
                    break
            return total
        for s, e in intervals:
            if instant >= e:
                total += e - s
            elif instant > s:
                total += instant - s
                break
            else:
                break
        return total

    def _first_day_reaching(self, amount: int) -> int:
        """The smallest local day ``m`` with ``_cum_day(m) >= amount``."""
        while True:
            tables = self._tables
            if tables is None:
                tables = self._extend(self._approx_day(amount))
                continue
            n = len(tables.exc_days)
            k = bisect_left(tables.exc_cum, amount)
            lo = tables.exc_days[k - 1] + 1 if k > 0 else tables.d_lo
            target = amount - tables.exc_pref[k]
            # smallest m with _base(m) >= target
            weeks, rest = divmod(target - 1, self._week_total)
            rest += 1
            m = weeks * 7 + bisect_left(self._prefix, rest) - _WEEKDAY_SHIFT
            m = max(m, lo)
            if k == n and m >= tables.d_hi - 6:
                self._extend(m + 3)
                continue
            if m <= tables.d_lo + 3:
                self._extend(m - 3)
                continue
            return m

    def _approx_day(self, amount: int) -> int:
        return (amount // self._week_total) * 7

    def _earliest(self, amount: int) -> int:
        """The earliest instant at which the cumulative working time equals ``amount``."""
        day = self._first_day_reaching(amount) - 1
        remaining = amount - self._cum_day(day)
        for s, e in self._day_intervals(day):
            length = e - s
            if remaining <= length:
                return s + remaining
            remaining -= length
        raise AssertionError("unreachable: inconsistent working time")  # pragma: no cover

    def _latest(self, amount: int) -> int:
        """The latest instant at which the cumulative working time equals ``amount``."""
        day = self._first_day_reaching(amount + 1) - 1
        remaining = amount - self._cum_day(day)
        for s, e in self._day_intervals(day):
            length = e - s
            if remaining < length:
                return s + remaining
            remaining -= length
        raise AssertionError("unreachable: inconsistent working time")  # pragma: no cover

    # ----------------------------------------------------------------- building tables

    def _extend(self, day: int) -> _Tables:
        """Rebuild the tables so that they cover ``day`` with a margin, and return them.

        Coverage only ever grows, and cumulative working time is anchored at a
        fixed day chosen at the first build, so values computed before and
        after an extension agree.
        """
        with _TABLES_LOCK:
            current = self._tables
            if current is not None and current.d_lo + 2 <= day < current.d_hi - 3:
                return current
            clamped = max(min(day, 2_900_000), -719_000)
            year = (_EPOCH_NAIVE + timedelta(days=clamped)).year
            if year <= _MIN_YEAR or year >= _MAX_YEAR - 1:
                raise NoWorkingTimeError(
                    f"business-time arithmetic left the supported years {_MIN_YEAR + 1}-"
                    f"{_MAX_YEAR - 2} (the calendar may have no working time ahead)"
                )
            if current is None:
                lo, hi = year - 5, year + 6
                object.__setattr__(self, "_anchor", _year_start_day(year))
            else:
                lo_cur = (_EPOCH_NAIVE + timedelta(days=current.d_lo)).year
                hi_cur = (_EPOCH_NAIVE + timedelta(days=current.d_hi)).year
                span = hi_cur - lo_cur
                lo, hi = lo_cur, hi_cur
                if day < current.d_lo + 2:
                    lo = min(year - 5, lo_cur - span)
                if day >= current.d_hi - 3:
                    hi = max(year + 6, hi_cur + span)
            lo, hi = max(lo, _MIN_YEAR), min(hi, _MAX_YEAR)
            if hi - lo > _MAX_SPAN_YEARS:
                raise NoWorkingTimeError(
                    f"business-time arithmetic would span more than {_MAX_SPAN_YEARS} years "
                    f"(reaching {year}); the calendar may have no working time ahead"
                )
            tables = self._build(lo, hi)
            object.__setattr__(self, "_tables", tables)
            return tables

    def _offsets_for_year(self, year: int) -> list[tuple[int, int, int]]:
        return _offsets_for_year(self.tz, year)

    def _build(self, year_lo: int, year_hi: int) -> _Tables:
        d_lo, d_hi = _year_start_day(year_lo), _year_start_day(year_hi)
        changes: list[tuple[int, int, int]] = []
        for year in range(year_lo - 1, year_hi + 1):
            changes.extend(self._offsets_for_year(year))
        first_offset = (
            changes[0][1]
            if changes
            else _td_us(self._zone.utcoffset(datetime(year_lo, 1, 1)) or timedelta(0))
        )
        off_keys = [c[0] for c in changes]
        off_vals = [first_offset] + [c[2] for c in changes]
        off_days: list[int] = []
        tz_days: set[int] = set()
        for instant, before, after in changes:
            local_before = (instant + before) // _DAY_US
            local_after = (instant + after) // _DAY_US
            off_days.append(min(local_before, local_after))
            for d in range(min(local_before, local_after) - 1, max(local_before, local_after) + 2):
                tz_days.add(d)

        def day_of_date(value: date) -> int:
            return value.toordinal() - _EPOCH_ORDINAL

        holiday_days = {day_of_date(d) for d in self.holidays if year_lo <= d.year < year_hi}
        for text in self.holiday_rules:
            holiday_days.update(day_of_date(d) for d in _rule_dates(text, year_lo, year_hi))
        override_map = {
            day_of_date(d): iv for d, iv in self.overrides if year_lo <= d.year < year_hi
        }
        exception_days = sorted(
            d for d in holiday_days | set(override_map) | tz_days if d_lo <= d < d_hi
        )

        def offset_at(instant: int) -> int:
            return off_vals[bisect_right(off_keys, instant)]

        def resolve(wall: int) -> int:
            """Real instant of local wall time ``wall`` (µs since local epoch)."""
            naive = _EPOCH_NAIVE + timedelta(microseconds=wall)
            delta = naive.replace(tzinfo=self._zone).utcoffset()
            assert delta is not None
            candidate = wall - _td_us(delta)
            if offset_at(candidate) == wall - candidate:
                return candidate
            # In a gap: the first existing instant after it is the transition itself.
            return off_keys[bisect_right(off_keys, candidate) - 1]

        exc_pref = [0]
        exc_iv: list[tuple[tuple[int, int], ...]] = []
        exc_start: list[int] = []
        week_iv = self._week_iv
        for d in exception_days:
            weekday = (d + _WEEKDAY_SHIFT) % 7
            if d in override_map:
                wall_iv = tuple((s * _US, e * _US) for s, e in override_map[d])
            elif d in holiday_days:
                wall_iv = ()
            else:
                wall_iv = week_iv[weekday]
            midnight = d * _DAY_US
            real: list[tuple[int, int]] = []
            for s, e in wall_iv:
                rs, re_ = resolve(midnight + s), resolve(midnight + e)
                if re_ <= rs:
                    continue
                if real and real[-1][1] >= rs:
                    real[-1] = (real[-1][0], max(real[-1][1], re_))
                else:
                    real.append((rs, re_))
            actual = sum(e - s for s, e in real)
            default = sum(e - s for s, e in week_iv[weekday])
            exc_pref.append(exc_pref[-1] + actual - default)
            exc_iv.append(tuple(real))
            exc_start.append(resolve(midnight))
        # Anchor the prefix sums at a fixed day so that extensions never shift them.
        shift = exc_pref[bisect_left(exception_days, self._anchor)]
        exc_pref = [p - shift for p in exc_pref]
        exc_cum = [self._base(d) + exc_pref[k] for k, d in enumerate(exception_days)]
        return _Tables(
            d_lo=d_lo,
            d_hi=d_hi,
            u_lo=(d_lo + 2) * _DAY_US,
            u_hi=(d_hi - 3) * _DAY_US,
            off_keys=off_keys,
            off_vals=off_vals,
            off_days=off_days,
            exc_days=exception_days,
            exc_cum=exc_cum,
            exc_pref=exc_pref,
            exc_iv=exc_iv,
            exc_start=exc_start,
        )

    # ----------------------------------------------------------------- vectorized

    def add_many(self, starts: Any, works: Any) -> NDArray[np.datetime64]:
        """:meth:`add` over numpy arrays: the instants at which ``works`` have elapsed.

        Needs numpy (the ``analysis`` extra). ``datetime64`` values are **UTC
        instants** (numpy has no time zones; a pandas column with a time zone is
        converted to UTC); any unit that converts exactly to microseconds is
        accepted. Results equal :meth:`add` element by element, converted to UTC.

        Args:
            starts: ``datetime64`` array (or an aware datetime, broadcast).
            works: ``timedelta64`` array of non-negative working time (or a
                ``timedelta``, broadcast), the same length as ``starts``.

        Returns:
            ``numpy.ndarray`` of ``datetime64[us]`` UTC instants, shaped like the inputs.

        Raises:
            MissingDependencyError: numpy is not installed.
            InvalidTypeError: wrong dtypes.
            InvalidValueError: NaT, negative work, sub-microsecond values, or
                lengths that differ.

        Example:
            >>> import numpy as np
            >>> cal = BusinessCalendar("America/Toronto", hours={"mon-fri": "09:00-17:00"})
            >>> starts = np.array(["2026-03-06T21:00"], dtype="datetime64[us]")  # Fri 16:00
            >>> cal.add_many(starts, np.array([2], dtype="timedelta64[h]"))
            array(['2026-03-09T14:00:00.000000'], dtype='datetime64[us]')

        .. versionadded:: 0.1.0
        """
        from promisekit._vectorized_calendar import add_many

        return add_many(self, starts, works)

    def between_many(self, a: Any, b: Any) -> NDArray[np.timedelta64]:
        """:meth:`between` over numpy arrays: signed working time from ``a`` to ``b``.

        Needs numpy (the ``analysis`` extra). ``datetime64`` values are UTC instants
        (see :meth:`add_many`). Results equal :meth:`between` element by element.

        Args:
            a: ``datetime64`` array (or an aware datetime, broadcast).
            b: ``datetime64`` array of the same length (or an aware datetime).

        Returns:
            ``numpy.ndarray`` of ``timedelta64[us]``, shaped like the inputs.

        Raises:
            MissingDependencyError: numpy is not installed.
            InvalidTypeError: wrong dtypes.
            InvalidValueError: NaT, sub-microsecond values, or lengths that differ.

        .. versionadded:: 0.1.0
        """
        from promisekit._vectorized_calendar import between_many

        return between_many(self, a, b)


_OFFSET_CACHE: dict[tuple[str, int], list[tuple[int, int, int]]] = {}
# Serializes table (re)builds; one module-level lock keeps calendars picklable.
_TABLES_LOCK = threading.RLock()


def _offsets_for_year(tz: str, year: int) -> list[tuple[int, int, int]]:
    """UTC-offset changes of zone ``tz`` during ``year`` (UTC): ``(instant_us, before, after)``.

    zoneinfo exposes no transition list, so the offset is probed once a day and
    each change is located to the second by bisection. Results are cached per
    zone and year (zone data does not change while a process runs).
    """
    cached = _OFFSET_CACHE.get((tz, year))
    if cached is not None:
        return cached
    zone = load_zone(tz, field="tz")

    def offset(seconds: int) -> int:
        moment = (_EPOCH + timedelta(seconds=seconds)).astimezone(zone)
        delta = moment.utcoffset()
        assert delta is not None
        return _td_us(delta)

    start = int((datetime(year, 1, 1, tzinfo=timezone.utc) - _EPOCH).total_seconds())
    end = int((datetime(year + 1, 1, 1, tzinfo=timezone.utc) - _EPOCH).total_seconds())
    changes: list[tuple[int, int, int]] = []
    a, off_a = start - 1, offset(start - 1)
    while a < end - 1:
        b = min(a + _DAY_S, end - 1)
        off_b = offset(b)
        while off_b != off_a:
            lo, hi = a, b  # offset(lo) == off_a, offset(hi) != off_a
            while hi - lo > 1:
                mid = (lo + hi) // 2
                if offset(mid) == off_a:
                    lo = mid
                else:
                    hi = mid
            after = offset(hi)
            changes.append((hi * _US, off_a, after))
            a, off_a = hi, after
        a, off_a = b, off_b
    _OFFSET_CACHE[(tz, year)] = changes
    return changes


def holidays_from_package(
    country: str, *, subdiv: str | None = None, years: Iterable[int]
) -> tuple[date, ...]:
    """Public holidays from the ``holidays`` package, as dates for :class:`BusinessCalendar`.

    Needs the ``holidays`` extra (``pip install 'promisekit[holidays]'``).

    Example:
        >>> qc = holidays_from_package("CA", subdiv="QC", years=range(2025, 2027))
        >>> cal = BusinessCalendar("America/Toronto", holidays=qc)  # doctest: +SKIP

    Raises:
        MissingDependencyError: the ``holidays`` package is not installed.
        InvalidValueError: the country or subdivision is unknown.

    .. versionadded:: 0.1.0
    """
    try:
        import holidays as holidays_package
    except ImportError:
        raise MissingDependencyError("holidays", "holidays", "holidays_from_package()") from None
    try:
        table = holidays_package.country_holidays(country, subdiv=subdiv, years=list(years))
    except NotImplementedError as exc:
        raise InvalidValueError(
            f"'country'/'subdiv' {describe(country)}/{describe(subdiv)} is not known to the "
            f"holidays package: {describe(str(exc))}"
        ) from None
    return tuple(sorted(table.keys()))
