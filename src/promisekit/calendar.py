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
* Arithmetic is exact to the microsecond and closed form: per range of years, a
  flat sorted table of the real working intervals (UTC microseconds) with the
  cumulative working time at each, searched with :mod:`bisect` (see
  :mod:`promisekit._calendar_tables`). Long spans cost the same as short ones.

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

from bisect import bisect_right
from collections.abc import Iterable, Iterator
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import attrs

from promisekit import _vectorized_calendar as _vectorized
from promisekit._calendar_hours import (
    WEEKDAYS,
    HoursSpec,
    Intervals,
    convert_dates,
    convert_hours,
    convert_overrides,
    convert_rules,
    convert_tz,
    fmt_interval,
)
from promisekit._calendar_hours import DaySpec as DaySpec  # re-exported type aliases
from promisekit._calendar_hours import IntervalSpec as IntervalSpec
from promisekit._calendar_tables import EPOCH as _EPOCH
from promisekit._calendar_tables import EPOCH_ORDINAL, Timeline, td_us, to_us
from promisekit._validation import check_aware, check_duration, describe
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


def _instant(field: str, moment: Any) -> int:
    """``check_aware(field, moment)`` and the instant in µs, computing the offset once."""
    if moment.__class__ is datetime and 1 < moment.year < 9999:
        try:
            delta = moment - _EPOCH  # TypeError when naive
        except TypeError:
            pass
        else:
            return (delta.days * 86_400 + delta.seconds) * _US + delta.microseconds
    check_aware(field, moment)
    return to_us(moment)


def _work(work: Any) -> int:
    """``check_duration("work", work)`` in µs."""
    if work.__class__ is timedelta and work.days >= 0:
        return (work.days * 86_400 + work.seconds) * _US + work.microseconds
    return td_us(check_duration("work", work))


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

    tz: str = attrs.field(converter=convert_tz)
    hours: tuple[Intervals, ...] = attrs.field(default=None, converter=convert_hours)
    holidays: tuple[date, ...] = attrs.field(default=(), converter=convert_dates)
    holiday_rules: tuple[str, ...] = attrs.field(default=(), converter=convert_rules)
    overrides: tuple[tuple[date, Intervals], ...] = attrs.field(
        default=(), converter=convert_overrides
    )

    _zone: ZoneInfo = attrs.field(init=False, eq=False, repr=False, hash=False)
    _week_total: int = attrs.field(init=False, eq=False, repr=False, hash=False)
    _timeline: Timeline = attrs.field(init=False, eq=False, repr=False, hash=False)

    def __attrs_post_init__(self) -> None:
        week_iv = tuple(tuple((s * _US, e * _US) for s, e in day) for day in self.hours)
        week_total = sum(e - s for day in week_iv for s, e in day)
        if week_total == 0:
            raise NoWorkingTimeError(
                "'hours' must contain some working time in the week (got none); "
                "use overrides for isolated openings on top of a working week"
            )
        timeline = Timeline(self.tz, week_iv, self.holidays, self.holiday_rules, self.overrides)
        object.__setattr__(self, "_zone", timeline.zone)
        object.__setattr__(self, "_week_total", week_total)
        object.__setattr__(self, "_timeline", timeline)

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
            text = ", ".join(fmt_interval(iv) for iv in day)
            if groups and groups[-1][2] == text and groups[-1][1] == index - 1:
                groups[-1] = (groups[-1][0], index, text)
            else:
                groups.append((index, index, text))
        days = []
        for first, last, text in groups:
            if text:
                name = WEEKDAYS[first] if first == last else f"{WEEKDAYS[first]}-{WEEKDAYS[last]}"
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
        begin = _instant("start", start)
        amount = _work(work)
        if amount == 0:
            return start.astimezone(self._zone)
        timeline = self._timeline
        instant = timeline.earliest(timeline.cum_at(begin) + amount)
        return (_EPOCH + timedelta(microseconds=instant)).astimezone(self._zone)

    def subtract(self, end: datetime, work: timedelta) -> datetime:
        """The latest instant before ``end`` with exactly ``work`` of working time up to ``end``.

        The mirror of :meth:`add`: a result landing on an opening time stays
        there. ``subtract(t, timedelta(0)) == t``.

        Raises:
            NaiveDatetimeError: ``end`` has no time zone.
            InvalidValueError: ``work`` is negative.
        """
        stop = _instant("end", end)
        amount = _work(work)
        if amount == 0:
            return end.astimezone(self._zone)
        timeline = self._timeline
        return self._from_us(timeline.latest(timeline.cum_at(stop) - amount))

    def between(self, a: datetime, b: datetime) -> timedelta:
        """Signed working time from ``a`` to ``b`` (negative when ``b`` is before ``a``).

        ``between(a, add(a, w)) == w`` for every ``w >= 0``.

        Raises:
            NaiveDatetimeError: ``a`` or ``b`` has no time zone.
        """
        begin = _instant("a", a)
        cum_at = self._timeline.cum_at
        return timedelta(microseconds=cum_at(_instant("b", b)) - cum_at(begin))

    def is_open(self, moment: datetime) -> bool:
        """Whether ``moment`` lies in working time (intervals are half-open: ``[open, close)``)."""
        check_aware("moment", moment)
        instant = to_us(moment)
        tables = self._timeline.for_instant(instant)
        i = bisect_right(tables.starts, instant) - 1
        return instant - tables.starts[i] < tables.cum[i + 1] - tables.cum[i]

    def next_open(self, moment: datetime) -> datetime:
        """``moment`` itself if open, else the next opening instant."""
        check_aware("moment", moment)
        instant = to_us(moment)
        result = self._timeline.latest(self._timeline.cum_at(instant))
        return moment.astimezone(self._zone) if result == instant else self._from_us(result)

    def end_of_day(self, moment: datetime) -> datetime:
        """The close of the business day containing ``moment``, or of the next business day.

        A business day is a local date with working time. When ``moment`` is
        after that date's last close (or the date has no working time), the
        next business day's last close is returned. A moment exactly at the
        last close is its own end of day.
        """
        check_aware("moment", moment)
        instant = to_us(moment)
        timeline = self._timeline
        day = timeline.day_of(instant)
        intervals = timeline.day_intervals(day)
        if not intervals or instant > intervals[-1][1]:
            intervals = timeline.day_intervals(timeline.next_working_day(day))
        return self._from_us(intervals[-1][1])

    def working_intervals(self, a: datetime, b: datetime) -> Iterator[tuple[datetime, datetime]]:
        """Yield the working intervals ``(start, end)`` clipped to ``[a, b]``, in order.

        Intervals touching across midnight (a 24/7 calendar) are merged.

        Raises:
            NaiveDatetimeError: ``a`` or ``b`` has no time zone.
        """
        check_aware("a", a)
        check_aware("b", b)
        lo, hi = to_us(a), to_us(b)
        if hi <= lo:
            return
        timeline = self._timeline
        first, last = timeline.day_of(lo), timeline.day_of(hi)
        pending: tuple[int, int] | None = None
        for day in range(first, last + 1):
            for s, e in timeline.day_intervals(day):
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
        return bool(self._timeline.day_intervals(day.toordinal() - EPOCH_ORDINAL))

    def _from_us(self, instant: int) -> datetime:
        return (_EPOCH + timedelta(microseconds=instant)).astimezone(self._zone)

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
        return _vectorized.add_many(self, starts, works)

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
        return _vectorized.between_many(self, a, b)


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
