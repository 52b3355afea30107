"""Private helpers of :mod:`promisekit.buffering`: time arithmetic, checks and formatting.

Every instant is compared through UTC (two aware datetimes sharing a ``tzinfo`` are
otherwise compared on their wall clocks, which is wrong across a DST fold), and every
duration is handled internally as integer microseconds so that quantiles and business
time stay exact.
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from collections.abc import Hashable
from datetime import date, datetime, time, timedelta, timezone, tzinfo
from typing import Any

from promisekit._validation import check_finite, describe
from promisekit.calendar import BusinessCalendar
from promisekit.errors import InvalidTypeError, InvalidValueError

__all__: list[str] = []

UTC = timezone.utc
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
US_PER_S = 1_000_000
_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


# --------------------------------------------------------------------------- conversions


def td_us(delta: timedelta) -> int:
    """A timedelta as integer microseconds (exact)."""
    return (delta.days * 86_400 + delta.seconds) * US_PER_S + delta.microseconds


def us_td(amount: int) -> timedelta:
    """Integer microseconds as a timedelta."""
    return timedelta(microseconds=amount)


def to_us(moment: datetime) -> int:
    """An aware datetime as integer microseconds since the Unix epoch (UTC)."""
    delta = moment - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * US_PER_S + delta.microseconds


def utc(moment: datetime) -> datetime:
    """The same instant in UTC."""
    return moment.astimezone(UTC)


# --------------------------------------------------------------------------- checks


def check_calendar(value: Any) -> BusinessCalendar | None:
    """``None`` or a :class:`BusinessCalendar`; anything else is a type error."""
    if value is not None and not isinstance(value, BusinessCalendar):
        raise InvalidTypeError(
            f"'calendar' must be a BusinessCalendar or None "
            f"(got {type(value).__name__} {describe(value)})"
        )
    return value


def check_probability(
    field: str, value: Any, *, allow_zero: bool = False, allow_one: bool = True
) -> float:
    """A probability as a float, within ``(0, 1]`` by default."""
    number = check_finite(field, value)
    low_ok = number >= 0.0 if allow_zero else number > 0.0
    high_ok = number <= 1.0 if allow_one else number < 1.0
    if not (low_ok and high_ok):
        low = "[0" if allow_zero else "(0"
        high = "1]" if allow_one else "1)"
        raise InvalidValueError(
            f"{field!r} must be a probability in {low}, {high} (got {describe(value)})"
        )
    return number


def check_count(field: str, value: Any, *, minimum: int = 1) -> int:
    """An ``int >= minimum`` (booleans refused)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidTypeError(
            f"{field!r} must be an int (got {type(value).__name__} {describe(value)})"
        )
    if value < minimum:
        raise InvalidValueError(f"{field!r} must be >= {minimum} (got {describe(value)})")
    return value


def check_segment(field: str, value: Any) -> Hashable:
    """A segment key: any hashable value."""
    try:
        hash(value)
    except TypeError:
        raise InvalidTypeError(
            f"{field!r} must be hashable (got {type(value).__name__} {describe(value)})"
        ) from None
    return value  # type: ignore[no-any-return]


# --------------------------------------------------------------------------- clock


class Clock:
    """Duration arithmetic in business time (with a calendar) or real time (without).

    Results are in ``zone``: the calendar's zone, or the zone of the reference
    instant when there is no calendar.
    """

    __slots__ = ("calendar", "zone")

    def __init__(self, calendar: BusinessCalendar | None, reference: datetime) -> None:
        self.calendar = calendar
        zone: tzinfo | None = calendar.zone if calendar is not None else reference.tzinfo
        assert zone is not None
        self.zone: tzinfo = zone

    @property
    def business(self) -> bool:
        """Whether durations are business time."""
        return self.calendar is not None

    def local(self, moment: datetime) -> datetime:
        """``moment`` in the clock's zone."""
        return moment.astimezone(self.zone)

    def add(self, moment: datetime, work: timedelta) -> datetime:
        """``moment`` plus ``work`` (>= 0) of business or real time."""
        if self.calendar is not None:
            return self.calendar.add(moment, work)
        return (moment.astimezone(UTC) + work).astimezone(self.zone)

    def between(self, a: datetime, b: datetime) -> timedelta:
        """Signed business or real time from ``a`` to ``b``."""
        if self.calendar is not None:
            return self.calendar.between(a, b)
        return us_td(to_us(b) - to_us(a))

    def between_us(self, a: datetime, b: datetime) -> int:
        """:meth:`between` in integer microseconds."""
        if self.calendar is not None:
            return td_us(self.calendar.between(a, b))
        return to_us(b) - to_us(a)

    def add_us(self, moment: datetime, begin: int, work: int) -> tuple[datetime, int]:
        """:meth:`add` given ``moment``'s instant ``begin`` (µs); returns the result and its µs."""
        if self.calendar is not None:
            result = self.calendar.add(moment, us_td(work))
            return result, to_us(result)
        if work < 0:
            raise InvalidValueError(f"'work' must not be negative (got {us_td(work)})")
        instant = begin + work
        return (_EPOCH + us_td(instant)).astimezone(self.zone), instant

    def span_us(self, a: datetime, a_us: int, b: datetime, b_us: int) -> int:
        """:meth:`between_us` given both instants in µs."""
        if self.calendar is not None:
            return td_us(self.calendar.between(a, b))
        return b_us - a_us

    def midnight(self, day: date) -> datetime:
        """The first instant of local date ``day`` (after a DST gap at midnight)."""
        naive = datetime.combine(day, time())
        return resolve_wall(naive, self.zone)

    def end_of_day(self, moment: datetime) -> datetime:
        """Close of the business day of ``moment`` (next local midnight without calendar)."""
        if self.calendar is not None:
            return self.calendar.end_of_day(moment)
        local = self.local(moment)
        start = self.midnight(local.date())
        if to_us(start) == to_us(moment):
            return local
        return self.midnight(local.date() + timedelta(days=1))


class CompiledClock(Clock):
    """A :class:`Clock` whose business-time arithmetic is precomputed over a span.

    The calendar's own working intervals over ``[lo, hi]`` (from the public
    :meth:`BusinessCalendar.working_intervals`) become sorted lists of
    microsecond instants with prefix sums of working time, so ``add`` and
    ``between`` inside the span are two bisections instead of a calendar call.
    Outside the span it defers to the calendar. Results are identical to the
    calendar's (same intervals, same "earliest instant" rule for ``add``); the
    backtest uses it because it performs millions of such operations.
    """

    __slots__ = ("_cum_end", "_cum_start", "_ends", "_hi", "_lo", "_starts")

    def __init__(self, calendar: BusinessCalendar, lo: datetime, hi: datetime) -> None:
        super().__init__(calendar, lo)
        starts: list[int] = []
        ends: list[int] = []
        cum = [0]
        for begin, end in calendar.working_intervals(lo, hi):
            starts.append(to_us(begin))
            ends.append(to_us(end))
            cum.append(cum[-1] + ends[-1] - starts[-1])
        self._starts = starts
        self._ends = ends
        self._cum_start = cum[:-1]
        self._cum_end = cum[1:]
        self._lo = to_us(lo)
        self._hi = to_us(hi)

    def _cum(self, instant: int) -> int:
        i = bisect_right(self._starts, instant) - 1
        if i < 0:
            return 0
        return self._cum_start[i] + min(instant, self._ends[i]) - self._starts[i]

    def add_us(self, moment: datetime, begin: int, work: int) -> tuple[datetime, int]:
        """As :meth:`Clock.add_us`, precomputed inside the span."""
        if work > 0 and self._lo <= begin <= self._hi:
            target = self._cum(begin) + work
            i = bisect_left(self._cum_end, target)
            if i < len(self._cum_end):
                instant = self._starts[i] + target - self._cum_start[i]
                return (_EPOCH + us_td(instant)).astimezone(self.zone), instant
        return super().add_us(moment, begin, work)

    def add(self, moment: datetime, work: timedelta) -> datetime:
        """As :meth:`Clock.add`, precomputed inside the span."""
        return self.add_us(moment, to_us(moment), td_us(work))[0]

    def span_us(self, a: datetime, a_us: int, b: datetime, b_us: int) -> int:
        """As :meth:`Clock.span_us`, precomputed inside the span."""
        if self._lo <= a_us <= self._hi and self._lo <= b_us <= self._hi:
            return self._cum(b_us) - self._cum(a_us)
        return super().span_us(a, a_us, b, b_us)

    def between_us(self, a: datetime, b: datetime) -> int:
        """As :meth:`Clock.between_us`, precomputed inside the span."""
        return self.span_us(a, to_us(a), b, to_us(b))

    def between(self, a: datetime, b: datetime) -> timedelta:
        """As :meth:`Clock.between`, precomputed inside the span."""
        return us_td(self.between_us(a, b))


def resolve_wall(naive: datetime, zone: tzinfo) -> datetime:
    """The instant of a local wall-clock time: first occurrence in a fold, end of a gap.

    A wall time that does not exist (a DST gap) resolves to the transition instant,
    the first existing instant after it (as :class:`BusinessCalendar` does).
    """
    first = naive.replace(tzinfo=zone, fold=0).astimezone(UTC)
    back = first.astimezone(zone)
    if back.replace(tzinfo=None) == naive:
        return back
    second = naive.replace(tzinfo=zone, fold=1).astimezone(UTC)
    lo, hi = sorted((to_us(first) // US_PER_S, -(-to_us(second) // US_PER_S)))
    before = _offset_at(lo, zone)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if _offset_at(mid, zone) == before:
            lo = mid
        else:
            hi = mid
    return (_EPOCH + timedelta(seconds=hi)).astimezone(zone)


def _offset_at(seconds: int, zone: tzinfo) -> timedelta | None:
    return (_EPOCH + timedelta(seconds=seconds)).astimezone(zone).utcoffset()


def round_up_wall(
    moment: datetime, zone: tzinfo, step_minutes: int, instant: int | None = None
) -> tuple[datetime, int]:
    """The earliest instant ``>= moment`` whose local wall time is a multiple of the step.

    Multiples are counted from local midnight (the step divides a day). A boundary
    that falls in a DST gap is replaced by the first instant after the gap; in a
    fold both occurrences count. Returns the instant as a datetime in ``zone`` and
    as microseconds since the epoch (``instant`` may pass ``moment``'s, if known).
    """
    begin = to_us(moment) if instant is None else instant
    local = moment.astimezone(zone)
    offset = local.utcoffset()
    assert offset is not None
    shift = td_us(offset)
    wall = begin + shift  # local wall time as µs since the local epoch; days align
    step = step_minutes * 60 * US_PER_S
    boundary = -(-wall // step) * step
    if boundary == wall:
        return local, begin
    # Fast path: the boundary read with the same UTC offset is a real instant with
    # that offset. Then no transition lies in between, wall-clock order is instant
    # order, and in a fold this picks the occurrence on ``moment``'s side.
    candidate = boundary - shift
    result = (_EPOCH + us_td(candidate)).astimezone(zone)
    if result.utcoffset() == offset:
        return result, candidate
    naive = local.replace(tzinfo=None)
    midnight = naive.replace(hour=0, minute=0, second=0, microsecond=0)
    k = -(-td_us(naive - midnight) // step)
    best: tuple[datetime, int] | None = None
    # A handful of boundaries ahead is enough: gaps and folds are shorter than that.
    for index in range(k - 1, k + 8):
        wall_time = midnight + us_td(index * step)
        for fold in (0, 1):
            aware = wall_time.replace(tzinfo=zone, fold=fold)
            found = aware.astimezone(UTC).astimezone(zone)
            if found.replace(tzinfo=None) != wall_time:
                found = resolve_wall(wall_time, zone)
            at = to_us(found)
            if at >= begin and (best is None or at < best[1]):
                best = (found, at)
    if best is None:  # pragma: no cover - only for pathological zones
        return local, begin
    return best


# --------------------------------------------------------------------------- formatting


def fmt_duration(delta: timedelta | int, *, business: bool = False) -> str:
    """A short human duration: ``"45 s"``, ``"37 min"``, ``"2 h 05 min"``.

    With ``business=True`` the first unit reads ``business``: ``"37 business min"``.
    """
    amount = delta if isinstance(delta, int) else td_us(delta)
    sign = "-" if amount < 0 else ""
    amount = abs(amount)
    word = "business " if business else ""
    seconds = amount / US_PER_S
    if seconds < 59.5:
        shown = f"{seconds:.0f}" if seconds >= 1 or seconds == 0 else f"{seconds:.3g}"
        return f"{sign}{shown} {word}s"
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"{sign}{minutes} {word}min"
    hours, rest = divmod(minutes, 60)
    if rest == 0:
        return f"{sign}{hours} {word}h"
    return f"{sign}{hours} {word}h {rest:02d} min"


def fmt_moment(moment: datetime, reference: datetime | None = None) -> str:
    """``"14:30"`` on the reference's local date, else ``"Tue 2026-03-10 14:30"``.

    Seconds are shown only when not zero, rounded *up* so that the text is never
    earlier than the instant it stands for.
    """
    if moment.microsecond:
        moment = (utc(moment) + timedelta(microseconds=US_PER_S - moment.microsecond)).astimezone(
            moment.tzinfo
        )
    clock = moment.strftime("%H:%M:%S") if moment.second else moment.strftime("%H:%M")
    if reference is not None:
        ref = reference.astimezone(moment.tzinfo)
        if ref.date() == moment.date():
            return clock
    return f"{_WEEKDAYS[moment.weekday()]} {moment.date().isoformat()} {clock}"


def fmt_zone(moment: datetime) -> str:
    """The zone label of an aware datetime: the IANA name, else its abbreviation or offset."""
    zone = moment.tzinfo
    key = getattr(zone, "key", None)
    if isinstance(key, str):
        return key
    name = moment.tzname()
    return name if name else "UTC"


def fmt_quantile(q: float) -> str:
    """``0.9`` → ``"p90"``, ``0.975`` → ``"p97.5"``, ``0.5`` → ``"median"``."""
    if q == 0.5:
        return "median"
    return f"p{q * 100:.6g}"


def fmt_rate(value: float) -> str:
    """A rate as a percentage with up to one decimal: ``0.9731`` → ``"97.3 %"``."""
    text = f"{value * 100:.1f}"
    if text.endswith(".0"):
        text = text[:-2]
    return f"{text} %"


def ceil_us(seconds: float) -> int:
    """Seconds (float) rounded *up* to whole microseconds."""
    return math.ceil(seconds * US_PER_S)
