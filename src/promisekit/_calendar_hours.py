"""Parsing the specification of a business calendar: hours, holidays, rules, overrides.

The converters of :class:`~promisekit.calendar.BusinessCalendar`'s fields. Weekly hours
and overrides become intervals of integer seconds since local midnight; holiday rules
become RFC 5545 text (see :func:`convert_rules`), evaluated per range of years by
:func:`rule_dates`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, time, timedelta
from math import gcd
from typing import Any, TypeAlias
from zoneinfo import ZoneInfo

from promisekit._validation import describe, load_zone
from promisekit.errors import InvalidTypeError, InvalidValueError

__all__ = [
    "WEEKDAYS",
    "DaySpec",
    "HoursSpec",
    "IntervalSpec",
    "Intervals",
    "convert_dates",
    "convert_hours",
    "convert_overrides",
    "convert_rules",
    "convert_tz",
    "fmt_interval",
    "rule_dates",
]

_DAY_S = 86_400
# Where a holiday rule without a start of its own starts: a rule without dtstart
# means "every year", so its periods count from 1 January of year 1 (a Monday).
_RULE_START = datetime(1, 1, 1)

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_TIME_RE = re.compile(r"^\s*(\d{1,2}):(\d{2})(?::(\d{2}))?\s*$")

#: One working interval: ``"09:00-17:00"`` or a pair of ``"HH:MM[:SS]"`` strings /
#: :class:`datetime.time` objects. ``"24:00"`` is accepted as an end.
IntervalSpec: TypeAlias = "str | tuple[str | time, str | time]"
#: The intervals of one day: one interval, a sequence of them, or empty (closed).
DaySpec: TypeAlias = "IntervalSpec | Sequence[IntervalSpec] | None"
#: Weekly hours: keys are day names (``"mon"``), ranges (``"mon-fri"``), lists
#: (``"sat,sun"``), ``"daily"``, or weekday numbers (0 = Monday).
HoursSpec = Mapping[str | int, DaySpec]

Intervals = tuple[tuple[int, int], ...]  # seconds since local midnight, [start, end)


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


def _parse_day(field: str, spec: Any) -> Intervals:
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
                f"({fmt_interval(merged[-1])} and {fmt_interval((start, end))})"
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
            if first[:3] not in WEEKDAYS or last[:3] not in WEEKDAYS:
                raise InvalidValueError(
                    f"hours key {describe(key)} has an unknown day name in {describe(part)}"
                )
            lo, hi = WEEKDAYS.index(first[:3]), WEEKDAYS.index(last[:3])
            days.extend(range(lo, hi + 1) if lo <= hi else [*range(lo, 7), *range(hi + 1)])
        elif part[:3] in WEEKDAYS and WEEKDAYS[WEEKDAYS.index(part[:3])].startswith(part[:3]):
            days.append(WEEKDAYS.index(part[:3]))
        else:
            raise InvalidValueError(
                f"hours key {describe(key)} is not a day name "
                "(expected e.g. 'mon', 'mon-fri', 'sat,sun')"
            )
    return days


def convert_hours(spec: Any) -> tuple[Intervals, ...]:
    if spec is None:
        spec = {"mon-fri": "09:00-17:00"}
    if isinstance(spec, tuple) and len(spec) == 7 and all(isinstance(d, tuple) for d in spec):
        # Already normalized (seconds) — e.g. from attrs.evolve or deserialization.
        return tuple(
            _parse_day(f"hours[{WEEKDAYS[i]}]", _seconds_to_spec(d)) for i, d in enumerate(spec)
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
            week[day].extend(fmt_interval(iv) for iv in intervals)
    # A day named by several keys gets the union of their intervals (checked for overlaps).
    return tuple(_parse_day(f"hours[{WEEKDAYS[i]!r}]", d) for i, d in enumerate(week))


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
            out.append(fmt_interval(item))
        else:
            raise InvalidTypeError(
                f"'hours' interval must be a pair of seconds (got {describe(item)})"
            )
    return out


def _fmt_seconds(seconds: int) -> str:
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours:02d}:{minutes:02d}" + (f":{secs:02d}" if secs else "")


def fmt_interval(interval: tuple[int, int]) -> str:
    return f"{_fmt_seconds(interval[0])}-{_fmt_seconds(interval[1])}"


def convert_tz(value: Any) -> str:
    if isinstance(value, ZoneInfo) and value.key is not None:
        value = value.key
    if isinstance(value, ZoneInfo):
        raise InvalidTypeError(
            "'tz' must be an IANA time-zone name such as 'America/Toronto' "
            "(got a ZoneInfo built from a file, without a key)"
        )
    load_zone(value, field="tz")
    return str(value)


def convert_dates(value: Any) -> tuple[date, ...]:
    if value is None:
        return ()
    if isinstance(value, (str, date)) or not isinstance(value, Iterable):
        raise InvalidTypeError(
            f"'holidays' must be a collection of dates "
            f"(got {type(value).__name__} {describe(value)})"
        )
    out = set()
    for item in value:
        if isinstance(item, datetime) or not isinstance(item, date):
            raise InvalidTypeError(
                "'holidays' must contain datetime.date values "
                f"(got {type(item).__name__} {describe(item)})"
            )
        out.add(item)
    return tuple(sorted(out))


def convert_rules(value: Any) -> tuple[str, ...]:
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
    if not isinstance(value, Iterable):
        raise InvalidTypeError(
            f"'holiday_rules' must be a recurrence rule or a collection of them "
            f"(got {type(value).__name__} {describe(value)})"
        )
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


def rule_dates(text: str, year_lo: int, year_hi: int) -> list[date]:
    """The dates on which rule ``text`` occurs in the years ``[year_lo, year_hi)``."""
    from dateutil.rrule import rrulestr

    rule: Any = rrulestr(text, dtstart=_RULE_START)
    if rule._count is None:
        # The same occurrences from a start in phase with the rule's own, shortly
        # before year_lo (dateutil iterates from the start: from year 1, for seconds).
        start = _in_phase_start(rule._dtstart, rule._freq, rule._interval, year_lo - 1)
        if start != rule._dtstart:
            rule = rule.replace(dtstart=start)
    return [
        moment.date()
        for moment in rule.between(datetime(year_lo, 1, 1), datetime(year_hi, 1, 1), inc=True)
    ]


def _in_phase_start(start: datetime, freq: int, interval: int, year: int) -> datetime:
    """The latest start before ``year`` whose periods and defaults are those of ``start``.

    Moves ``start`` by whole periods of the rule: the month, day, weekday and time of
    day that dateutil derives defaults from stay the same.
    """
    from dateutil.rrule import MONTHLY, YEARLY

    if start.year >= year:
        return start
    if freq in (YEARLY, MONTHLY):
        step = interval if freq == YEARLY else interval // gcd(interval, 12)  # in years
        if (start.month, start.day) == (2, 29):
            step = step * 400 // gcd(step, 400)  # the Gregorian cycle keeps 29 February
        return start.replace(year=start.year + (year - 1 - start.year) // step * step)
    period = (604_800, _DAY_S, 3_600, 60, 1)[freq - 2] * interval  # WEEKLY..SECONDLY
    step = period // gcd(period, _DAY_S)  # in days (a multiple of 7 for WEEKLY)
    days = (datetime(year - 1, 1, 1) - start).days
    if days <= 0:
        return start
    return start + timedelta(days=days // step * step)


def convert_overrides(value: Any) -> tuple[tuple[date, Intervals], ...]:
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
    out: dict[date, Intervals] = {}
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
