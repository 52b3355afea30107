"""Flat business-time tables: one set of arrays for scalar and vectorized calendar arithmetic.

For a range of years, a calendar's working time is a sorted run of **real intervals**
(UTC instants, integer microseconds since the Unix epoch): ``starts[i]``, and the
cumulative working time ``W`` at each start, ``cum[i]``. No work happens between two
intervals, so ``cum[i + 1]`` is also ``W`` at the end of interval ``i`` (which ends at
``starts[i] + cum[i + 1] - cum[i]``):

* ``W(t)`` is one ``bisect`` over the starts: ``min(cum[i] + t - starts[i], cum[i + 1])``;
* the earliest instant at which ``W`` reaches an amount is one ``bisect`` over ``cum``
  (the latest one: ``bisect_right``), then ``starts[j] + amount - cum[j]``.

Each local day also has the real instant of its midnight and the index of its first
interval, for the questions asked per day (end of day, business day, intervals).

Tables live in :class:`Timeline`, one per calendar, built lazily for the years in use and
extended by whole year ranges on either side: existing entries never change (the
cumulative time is anchored at the first build), so values computed before and after
an extension agree. The tables are Python lists of ints, which ``bisect`` searches
about twice as fast as ``array("q")`` (some 50 kB a year for Monday-Friday office
hours, days included); the vectorized code (:mod:`promisekit._vectorized_calendar`)
copies them once per snapshot into numpy arrays.

DST semantics: a local opening or closing time in a gap happens at the first existing
instant after it (the transition), one in a fold at its first occurrence (``fold=0``),
and working time is real elapsed time.
"""

from __future__ import annotations

import threading
from bisect import bisect_left, bisect_right
from datetime import date, datetime, timedelta, timezone
from typing import Any

import attrs

from promisekit._calendar_hours import Intervals, rule_dates
from promisekit._validation import load_zone
from promisekit.errors import NoWorkingTimeError

__all__ = [
    "DAY_US",
    "EPOCH",
    "EPOCH_ORDINAL",
    "MAX_YEAR",
    "MIN_YEAR",
    "Tables",
    "Timeline",
    "td_us",
    "to_us",
]

US = 1_000_000
DAY_S = 86_400
DAY_US = DAY_S * US
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
EPOCH_NAIVE = datetime(1970, 1, 1)
EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
# 1970-01-01 was a Thursday: weekday(day) == (day + 3) % 7 with Monday == 0.
WEEKDAY_SHIFT = 3
MIN_YEAR = 2
MAX_YEAR = 9998
# Coverage never exceeds this many years: a calendar whose holidays remove every
# working day would otherwise be searched forever.
MAX_SPAN_YEARS = 600

# Serializes table extensions; one module-level lock keeps calendars picklable.
_LOCK = threading.RLock()
_OFFSET_CACHE: dict[tuple[str, int], list[tuple[int, int, int]]] = {}


def td_us(delta: timedelta) -> int:
    """``delta`` in integer microseconds."""
    return (delta.days * DAY_S + delta.seconds) * US + delta.microseconds


def to_us(moment: datetime) -> int:
    """The aware ``moment`` as integer microseconds since the Unix epoch."""
    delta = moment - EPOCH
    return (delta.days * DAY_S + delta.seconds) * US + delta.microseconds


def year_start_day(year: int) -> int:
    """The local day (days since 1970-01-01) of 1 January ``year``."""
    return date(year, 1, 1).toordinal() - EPOCH_ORDINAL


def _year_of_day(day: int) -> int:
    return (EPOCH_NAIVE + timedelta(days=max(min(day, 2_900_000), -719_000))).year


@attrs.frozen(slots=True)
class Tables:
    """An immutable snapshot of a calendar's working time over the years ``[y_lo, y_hi)``.

    Instants are integer microseconds since the Unix epoch (UTC), days are local days
    since 1970-01-01, amounts are integer microseconds of working time.
    """

    y_lo: int
    y_hi: int
    d_lo: int  # first covered local day
    d_hi: int  # first day after coverage
    u_lo: int  # instants covered: [u_lo, u_hi) (the real midnights of d_lo and d_hi)
    u_hi: int
    #: Starts of the real working intervals, sorted, after a zero-length sentinel at
    #: ``u_lo`` (so that every covered instant has an interval at or before it).
    starts: list[int]
    cum: list[int]  # W at each start, and at the end of the last interval (size + 1)
    day_start: list[int]  # real instant of each covered day's midnight, and of d_hi's
    day_first: list[int]  # index of each covered day's first interval, and the size
    size: int  # the number of intervals, sentinel included


class _Chunk:
    """The intervals of a run of whole local days, before cumulative time is added."""

    __slots__ = ("day_first", "day_start", "ends", "starts")

    def __init__(self) -> None:
        self.starts: list[int] = []
        self.ends: list[int] = []
        self.day_first: list[int] = []  # relative to this chunk
        self.day_start: list[int] = []  # one more entry than days

    def total(self) -> int:
        return sum(self.ends) - sum(self.starts)


class Timeline:
    """The lazily built, lazily extended tables of one calendar.

    Holds the calendar's normalized definition (zone name, weekly intervals in
    microseconds since local midnight, holidays, rules, overrides) and the current
    :class:`Tables` snapshot. Readers take the snapshot once and work on it; extensions
    replace it under a lock.
    """

    __slots__ = ("holidays", "overrides", "rules", "tables", "tz", "week_iv", "week_total", "zone")

    def __init__(
        self,
        tz: str,
        week_iv: tuple[tuple[tuple[int, int], ...], ...],
        holidays: tuple[date, ...],
        rules: tuple[str, ...],
        overrides: tuple[tuple[date, Intervals], ...],
    ) -> None:
        self.tz = tz
        self.zone = load_zone(tz, field="tz")
        self.week_iv = week_iv
        self.week_total = sum(e - s for day in week_iv for s, e in day)
        self.holidays = holidays
        self.rules = rules
        self.overrides = overrides
        self.tables: Tables | None = None

    def __reduce__(self) -> tuple[Any, ...]:
        # Tables are a cache: rebuilt lazily after unpickling.
        return (Timeline, (self.tz, self.week_iv, self.holidays, self.rules, self.overrides))

    # ----------------------------------------------------------------- coverage

    def for_instant(self, instant: int) -> Tables:
        """A snapshot covering ``instant``."""
        tables = self.tables
        while tables is None or not tables.u_lo <= instant < tables.u_hi:
            tables = self.extend(instant // DAY_US if tables is None else self._day_toward(instant))
        return tables

    def _day_toward(self, instant: int) -> int:
        tables = self.tables
        assert tables is not None
        # A day beyond the snapshot on the side of ``instant`` (offsets are < 1 day).
        day = instant // DAY_US
        return min(day - 1, tables.d_lo - 1) if instant < tables.u_lo else max(day + 1, tables.d_hi)

    def for_day(self, day: int) -> Tables:
        """A snapshot covering local ``day``."""
        tables = self.tables
        while tables is None or not tables.d_lo <= day < tables.d_hi:
            tables = self.extend(day)
        return tables

    def for_amount(self, amount: int, *, earliest: bool) -> tuple[Tables, int]:
        """A snapshot holding the interval where ``W`` reaches ``amount``, and its index.

        ``earliest``: the first interval whose end reaches ``amount`` (``W`` reaches it
        at ``starts[i] + amount - cum[i]``, at the latest at that interval's end);
        otherwise the first interval whose end passes it (the latest instant at which
        ``W`` equals ``amount``).
        """
        find = bisect_left if earliest else bisect_right
        tables = self.tables
        if tables is None:
            tables = self.extend(0)
        while True:
            # cum[0] == cum[1] (the sentinel): index 0 is before the snapshot.
            index = find(tables.cum, amount) - 1
            if 0 < index < tables.size:
                return tables, index
            # Guess the day from the weekly working time; holidays only push it further.
            if index <= 0:
                weeks = (tables.cum[0] - amount) // self.week_total + 1
                tables = self.extend(tables.d_lo - 7 * weeks)
            else:
                weeks = (amount - tables.cum[-1]) // self.week_total + 1
                tables = self.extend(tables.d_hi + 7 * weeks)

    # ----------------------------------------------------------------- closed form

    def cum_at(self, instant: int) -> int:
        """Working time ``W`` from the origin to ``instant`` (non-decreasing, continuous)."""
        tables = self.tables
        if tables is None or not tables.u_lo <= instant < tables.u_hi:
            tables = self.for_instant(instant)
        i = bisect_right(tables.starts, instant) - 1
        cum = tables.cum
        value = cum[i] + instant - tables.starts[i]
        end = cum[i + 1]
        return value if value < end else end

    def earliest(self, amount: int) -> int:
        """The earliest instant at which ``W`` equals ``amount``."""
        tables = self.tables
        if tables is not None:
            i = bisect_left(tables.cum, amount) - 1
            if 0 < i < tables.size:
                return tables.starts[i] + amount - tables.cum[i]
        tables, i = self.for_amount(amount, earliest=True)
        return tables.starts[i] + amount - tables.cum[i]

    def latest(self, amount: int) -> int:
        """The latest instant at which ``W`` equals ``amount``."""
        tables, i = self.for_amount(amount, earliest=False)
        return tables.starts[i] + amount - tables.cum[i]

    def day_of(self, instant: int) -> int:
        """The local day whose real span contains ``instant``."""
        tables = self.for_instant(instant)
        return tables.d_lo + bisect_right(tables.day_start, instant) - 1

    def day_intervals(self, day: int) -> list[tuple[int, int]]:
        """The real working intervals of local ``day``."""
        tables = self.for_day(day)
        k = day - tables.d_lo
        starts, cum = tables.starts, tables.cum
        return [
            (starts[i], starts[i] + cum[i + 1] - cum[i])
            for i in range(tables.day_first[k], tables.day_first[k + 1])
        ]

    def next_working_day(self, day: int) -> int:
        """The first local day after ``day`` with working time."""
        tables = self.for_day(day)
        while True:
            first = tables.day_first[day - tables.d_lo + 1]
            if first < tables.size:
                return tables.d_lo + bisect_right(tables.day_first, first) - 1
            day = tables.d_hi - 1  # none in this snapshot: look past it
            tables = self.extend(tables.d_hi)

    # ----------------------------------------------------------------- building

    def extend(self, day: int) -> Tables:
        """Extend the tables by whole years so that they cover local ``day``; return them."""
        with _LOCK:
            current = self.tables
            if current is not None and current.d_lo <= day < current.d_hi:
                return current
            year = _year_of_day(day)
            if year <= MIN_YEAR or year >= MAX_YEAR - 1:
                raise NoWorkingTimeError(
                    f"business-time arithmetic left the supported years {MIN_YEAR + 1}-"
                    f"{MAX_YEAR - 2} (the calendar may have no working time ahead)"
                )
            if current is None:
                lo, hi = year - 1, year + 2
            else:
                span = current.y_hi - current.y_lo
                lo, hi = current.y_lo, current.y_hi
                # Grow by at least the current span: extensions stay rare on long walks.
                if day < current.d_lo:
                    lo = min(year - 1, lo - span)
                if day >= current.d_hi:
                    hi = max(year + 2, hi + span)
            lo, hi = max(lo, MIN_YEAR), min(hi, MAX_YEAR)
            if hi - lo > MAX_SPAN_YEARS:
                raise NoWorkingTimeError(
                    f"business-time arithmetic would span more than {MAX_SPAN_YEARS} years "
                    f"(reaching {year}); the calendar may have no working time ahead"
                )
            if current is None:
                tables = _assemble(lo, hi, self._chunk(lo, hi), None, None)
            else:
                left = self._chunk(lo, current.y_lo) if lo < current.y_lo else None
                right = self._chunk(current.y_hi, hi) if hi > current.y_hi else None
                tables = _assemble(lo, hi, left, current, right)
            self.tables = tables
            return tables

    def _chunk(self, year_lo: int, year_hi: int) -> _Chunk:
        """The real intervals of every local day of the years ``[year_lo, year_hi)``."""
        zone = self.zone
        d_lo, d_hi = year_start_day(year_lo), year_start_day(year_hi)
        changes: list[tuple[int, int, int]] = []
        for year in range(year_lo - 1, year_hi + 1):
            changes.extend(_offsets_for_year(self.tz, year))
        first_offset = (
            changes[0][1]
            if changes
            else td_us(zone.utcoffset(datetime(year_lo, 1, 1)) or timedelta(0))
        )
        off_keys = [c[0] for c in changes]
        off_vals = [first_offset] + [c[2] for c in changes]
        off_days: list[int] = []
        special: dict[int, Intervals | None] = {}  # None: the weekly hours, resolved
        for instant, before, after in changes:
            local_before = (instant + before) // DAY_US
            local_after = (instant + after) // DAY_US
            off_days.append(min(local_before, local_after))
            for d in range(min(local_before, local_after) - 1, max(local_before, local_after) + 2):
                special[d] = None

        def day_of_date(value: date) -> int:
            return value.toordinal() - EPOCH_ORDINAL

        for holiday in self.holidays:
            if year_lo <= holiday.year < year_hi:
                special[day_of_date(holiday)] = ()
        for text in self.rules:
            for holiday in rule_dates(text, year_lo, year_hi):
                special[day_of_date(holiday)] = ()
        for when, intervals in self.overrides:
            if year_lo <= when.year < year_hi:
                special[day_of_date(when)] = tuple((s * US, e * US) for s, e in intervals)

        def resolve(wall: int) -> int:
            """Real instant of local wall time ``wall`` (µs since the local epoch)."""
            naive = EPOCH_NAIVE + timedelta(microseconds=wall)
            delta = naive.replace(tzinfo=zone).utcoffset()
            assert delta is not None
            candidate = wall - td_us(delta)
            if off_vals[bisect_right(off_keys, candidate)] == wall - candidate:
                return candidate
            # In a gap: the first existing instant after it is the transition itself.
            return off_keys[bisect_right(off_keys, candidate) - 1]

        chunk = _Chunk()
        starts, ends, week_iv = chunk.starts, chunk.ends, self.week_iv
        for d in range(d_lo, d_hi + 1):
            midnight = d * DAY_US
            wall_iv = week_iv[(d + WEEKDAY_SHIFT) % 7]
            if d in special:
                chunk.day_start.append(resolve(midnight))
                if d == d_hi:
                    break
                chunk.day_first.append(len(starts))
                override = special[d]
                for s, e in wall_iv if override is None else override:
                    rs, re_ = resolve(midnight + s), resolve(midnight + e)
                    if re_ <= rs:
                        continue
                    if len(starts) > chunk.day_first[-1] and ends[-1] >= rs:
                        ends[-1] = max(ends[-1], re_)  # touching after a DST change
                    else:
                        starts.append(rs)
                        ends.append(re_)
                continue
            base = midnight - off_vals[bisect_right(off_days, d)]
            chunk.day_start.append(base)
            if d == d_hi:
                break
            chunk.day_first.append(len(starts))
            for s, e in wall_iv:
                starts.append(base + s)
                ends.append(base + e)
        return chunk


def _assemble(
    y_lo: int, y_hi: int, left: _Chunk | None, current: Tables | None, right: _Chunk | None
) -> Tables:
    """Tables for ``[y_lo, y_hi)``: ``current`` with ``left`` and ``right`` chunks joined.

    The cumulative time of ``current`` is kept as is; the new chunks continue it.
    """
    if current is None:
        assert left is not None
        first_day_start, cum_lo = left.day_start[0], 0
    else:
        first_day_start = left.day_start[0] if left is not None else current.u_lo
        cum_lo = current.cum[0] - (left.total() if left is not None else 0)
    starts = [first_day_start]
    cum = [cum_lo]  # the sentinel's start; each interval adds the W at its end
    day_start: list[int] = []
    day_first: list[int] = []

    def append(chunk: _Chunk) -> None:
        offset = len(starts)
        day_first.extend(k + offset for k in chunk.day_first)
        starts.extend(chunk.starts)
        running = cum[-1]
        for s, e in zip(chunk.starts, chunk.ends, strict=True):
            running += e - s
            cum.append(running)

    cum.append(cum_lo)  # W at the sentinel's end
    if left is not None:
        append(left)
        day_start.extend(left.day_start[:-1])
    if current is not None:
        shift = len(starts) - 1
        day_first.extend(k + shift for k in current.day_first[:-1])
        starts.extend(current.starts[1:])
        cum.extend(current.cum[2:])
        day_start.extend(current.day_start[:-1] if right is not None else current.day_start)
    if right is not None:
        append(right)
        day_start.extend(right.day_start)
    elif current is None:
        assert left is not None
        day_start.append(left.day_start[-1])
    day_first.append(len(starts))
    return Tables(
        y_lo=y_lo,
        y_hi=y_hi,
        d_lo=year_start_day(y_lo),
        d_hi=year_start_day(y_hi),
        u_lo=day_start[0],
        u_hi=day_start[-1],
        starts=starts,
        cum=cum,
        day_start=day_start,
        day_first=day_first,
        size=len(starts),
    )


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
        moment = (EPOCH + timedelta(seconds=seconds)).astimezone(zone)
        delta = moment.utcoffset()
        assert delta is not None
        return td_us(delta)

    start = int((datetime(year, 1, 1, tzinfo=timezone.utc) - EPOCH).total_seconds())
    end = int((datetime(year + 1, 1, 1, tzinfo=timezone.utc) - EPOCH).total_seconds())
    changes: list[tuple[int, int, int]] = []
    a, off_a = start - 1, offset(start - 1)
    while a < end - 1:
        b = min(a + DAY_S, end - 1)
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
            changes.append((hi * US, off_a, after))
            a, off_a = hi, after
        a, off_a = b, off_b
    _OFFSET_CACHE[(tz, year)] = changes
    return changes
