"""Vectorized business time: :class:`~promisekit.calendar.BusinessCalendar` over numpy arrays.

The engine behind :meth:`BusinessCalendar.add_many
<promisekit.calendar.BusinessCalendar.add_many>` and :meth:`BusinessCalendar.between_many
<promisekit.calendar.BusinessCalendar.between_many>`. It runs the calendar's closed form
(see :mod:`promisekit.calendar`) over whole arrays, on the same table snapshot as the
scalar methods, so results are *exactly* those of :meth:`~BusinessCalendar.add` and
:meth:`~BusinessCalendar.between` converted to UTC microseconds:

* the cumulative working time ``cum(t)`` of an instant: the UTC offset by
  ``searchsorted`` over the offset changes, the local day by floor division, the
  exception day (holiday, override, day next to a UTC-offset change) by ``searchsorted``,
  regular days by a piecewise-linear *week function* (one ``searchsorted`` over the
  week's interval ends), exception days by a padded array of their real intervals;
* its inverse, the earliest instant at which ``cum`` reaches an amount: the day by
  ``searchsorted`` over the exceptions' cumulative time and the week prefix sums, then
  the instant inside that day from the same tables.

Everything is exact ``int64`` microsecond arithmetic. ``numpy`` is needed (the
``analysis`` extra); this module is imported lazily by the calendar, so ``import
promisekit.calendar`` never imports numpy.

Inputs: ``datetime64`` values are **UTC instants** (numpy has no time zones; a pandas
column with a time zone is converted to UTC first). Any unit works when it converts
exactly to microseconds; ``timedelta64`` likewise for durations. Aware
:class:`~datetime.datetime` and :class:`~datetime.timedelta` scalars are accepted and
broadcast.
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from promisekit._validation import check_aware
from promisekit.calendar import _DAY_US, _MAX_YEAR, _MIN_YEAR, _WEEKDAY_SHIFT, _Tables
from promisekit.errors import (
    InvalidTypeError,
    InvalidValueError,
    MissingDependencyError,
    NoWorkingTimeError,
)

try:
    import numpy as np
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise MissingDependencyError(
        "numpy", "analysis", "Vectorized business time (add_many / between_many)"
    ) from exc

from numpy.typing import NDArray

if TYPE_CHECKING:
    from promisekit.calendar import BusinessCalendar

__all__ = [
    "add_many",
    "as_durations",
    "as_instants",
    "between_many",
    "check_shapes",
    "cum_at_many",
    "earliest_many",
]

I64 = NDArray[np.int64]

_WEEK_US = 7 * _DAY_US
_NAT = np.iinfo(np.int64).min
_BIG = np.iinfo(np.int64).max
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
# Work longer than the supported years can hold can never be done.
_MAX_WORK_US = (_MAX_YEAR - _MIN_YEAR) * 366 * _DAY_US


# --------------------------------------------------------------------------- inputs


def _to_numpy(value: Any) -> Any:
    """``value`` as a numpy array or numpy scalar; pandas time-zone columns go to UTC."""
    dtype = getattr(value, "dtype", None)
    if getattr(dtype, "tz", None) is not None and hasattr(value, "to_numpy"):
        # A pandas column (Series/Index) with a time zone: its UTC instants.
        return value.to_numpy(dtype=f"datetime64[{getattr(dtype, 'unit', 'ns')}]")
    if isinstance(value, (np.ndarray, np.generic)):
        return value
    return np.asarray(value)


def _exact_us(field: str, values: Any, kind: str) -> Any:
    """Cast a datetime64/timedelta64 array to microseconds, refusing any rounding."""
    target = np.dtype("datetime64[us]" if kind == "M" else "timedelta64[us]")
    if values.dtype == target:
        return values
    converted = values.astype(target)
    back = converted.astype(values.dtype)
    lost = (back != values) & ~np.isnat(values)
    if np.any(lost):
        index = int(np.flatnonzero(np.ravel(lost))[0])
        raise InvalidValueError(
            f"{field!r} must hold whole microseconds (got {np.ravel(values)[index]} "
            f"at index {index}, finer than 1 µs)"
        )
    return converted


def _first_nat(field: str, ints: I64, what: str) -> None:
    nat = ints == _NAT
    if np.any(nat):
        index = int(np.flatnonzero(np.ravel(nat))[0])
        raise InvalidValueError(
            f"{field!r} must not contain NaT (got NaT at index {index}); {what}"
        )


def as_instants(field: str, value: Any, *, allow_nat: bool = False) -> I64:
    """UTC instants as ``int64`` microseconds since the epoch (NaT as ``int64`` min).

    Accepts ``datetime64`` arrays/scalars (taken as UTC instants), pandas datetime
    columns (time-zone aware ones are converted to UTC), and aware
    :class:`~datetime.datetime` scalars.

    Raises:
        NaiveDatetimeError: a naive :class:`~datetime.datetime` scalar.
        InvalidTypeError: the values are not datetimes.
        InvalidValueError: NaT where not allowed, or sub-microsecond values.
    """
    if isinstance(value, datetime):
        check_aware(field, value)
        delta = value - _EPOCH
        return np.asarray(
            (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds,
            dtype=np.int64,
        )
    array = _to_numpy(value)
    if array.dtype.kind != "M":
        hint = ""
        if array.dtype == object:
            hint = " (convert aware datetimes first, e.g. with pandas.to_datetime(..., utc=True))"
        raise InvalidTypeError(
            f"{field!r} must be numpy datetime64 values, taken as UTC instants "
            f"(got dtype {array.dtype}){hint}"
        )
    ints: I64 = _exact_us(field, array, "M").view(np.int64)
    if not allow_nat:
        _first_nat(field, ints, "mask missing values out before the call")
    return ints


def as_durations(field: str, value: Any, *, allow_negative: bool = False) -> I64:
    """Durations as ``int64`` microseconds (``timedelta64`` values or a ``timedelta``).

    Raises:
        InvalidTypeError: the values are not durations.
        InvalidValueError: NaT, a negative duration (unless allowed), or sub-microsecond
            values.
    """
    if isinstance(value, timedelta):
        ints: I64 = np.asarray(
            (value.days * 86_400 + value.seconds) * 1_000_000 + value.microseconds,
            dtype=np.int64,
        )
    else:
        array = _to_numpy(value)
        if array.dtype.kind != "m":
            raise InvalidTypeError(
                f"{field!r} must be numpy timedelta64 values or a datetime.timedelta "
                f"(got dtype {array.dtype})"
            )
        ints = _exact_us(field, array, "m").view(np.int64)
        _first_nat(field, ints, "mask missing values out before the call")
    if not allow_negative and np.any(ints < 0):
        index = int(np.flatnonzero(np.ravel(ints < 0))[0])
        bad = timedelta(microseconds=int(np.ravel(ints)[index]))
        raise InvalidValueError(f"{field!r} must not be negative (got {bad} at index {index})")
    return ints


def check_shapes(**arrays: NDArray[Any]) -> tuple[int, ...]:
    """The common shape of ``arrays``; a 0-d array (a scalar) broadcasts to any shape.

    Raises:
        InvalidValueError: two non-scalar arrays differ in shape (length).
    """
    shape: tuple[int, ...] = ()
    first = ""
    for name, array in arrays.items():
        if array.ndim == 0:
            continue
        if not first:
            first, shape = name, array.shape
        elif array.shape != shape:
            raise InvalidValueError(
                f"{first!r} and {name!r} must have the same length "
                f"(got {_describe(shape)} and {_describe(array.shape)})"
            )
    return shape


def _describe(shape: tuple[int, ...]) -> str:
    return str(shape[0]) if len(shape) == 1 else f"shape {shape}"


# --------------------------------------------------------------------------- tables


class _Vec:
    """numpy views of one :class:`~promisekit.calendar._Tables` snapshot and the week."""

    __slots__ = (
        "d_hi",
        "d_lo",
        "day_exc",
        "day_k",
        "day_off",
        "exc_cum",
        "exc_cum_raw",
        "exc_days",
        "exc_len",
        "exc_pref",
        "exc_start",
        "exc_start_iv",
        "n_exc",
        "off_days",
        "off_keys",
        "off_vals",
        "prefix",
        "tables",
        "u_hi",
        "u_lo",
        "week_cum",
        "week_ends",
        "week_len",
        "week_start",
        "week_starts",
        "week_total",
    )

    def __init__(self, cal: BusinessCalendar, tables: _Tables) -> None:
        def i64(values: Any) -> I64:
            return np.asarray(values, dtype=np.int64)

        self.tables = tables
        self.d_lo, self.d_hi = tables.d_lo, tables.d_hi
        self.u_lo, self.u_hi = tables.u_lo, tables.u_hi
        self.off_keys = i64(tables.off_keys)
        self.off_vals = i64(tables.off_vals)
        self.off_days = i64(tables.off_days)
        n = len(tables.exc_days)
        self.n_exc = n
        # A sentinel after the last exception keeps every index in range.
        self.exc_days = i64([*tables.exc_days, _BIG])
        self.exc_cum_raw = i64(tables.exc_cum)
        self.exc_cum = i64([*tables.exc_cum, 0])
        self.exc_pref = i64(tables.exc_pref)  # n + 1 entries
        self.exc_start = i64([*tables.exc_start, 0])
        # Dense per-day lookups over the covered days [d_lo, d_hi): the number of
        # exceptions before each day, whether it is one, and its UTC offset
        # (a gather is several times faster than a searchsorted).
        days = np.arange(tables.d_lo, tables.d_hi, dtype=np.int64)
        self.day_k = np.searchsorted(self.exc_days[:n], days, side="left")
        self.day_exc = self.exc_days[self.day_k] == days
        self.day_off = self.off_vals[np.searchsorted(self.off_days, days, side="right")]
        week_iv = cal._week_iv
        width = max(1, *(len(day) for day in week_iv), *(len(iv) for iv in tables.exc_iv))
        # Padded real intervals of every exception day (length 0 pads add nothing).
        exc_s = np.zeros((n + 1, width), dtype=np.int64)
        exc_l = np.zeros((n + 1, width), dtype=np.int64)
        for k, intervals in enumerate(tables.exc_iv):
            for j, (s, e) in enumerate(intervals):
                exc_s[k, j], exc_l[k, j] = s, e - s
        self.exc_start_iv, self.exc_len = exc_s, exc_l
        # Padded wall-clock intervals of each weekday (µs since local midnight).
        week_s = np.zeros((7, width), dtype=np.int64)
        week_l = np.zeros((7, width), dtype=np.int64)
        for day, intervals in enumerate(week_iv):
            for j, (s, e) in enumerate(intervals):
                week_s[day, j], week_l[day, j] = s, e - s
        self.week_start, self.week_len = week_s, week_l
        self.week_total = int(cal._week_total)
        self.prefix = i64(cal._prefix)
        # The week function G(p): working time from Monday 00:00 (wall) to p, for p in
        # [0, 1 week). Intervals merged across midnights; G(p) = cum[i] + max(p - start[i], 0)
        # with i = number of intervals ending at or before p.
        merged: list[list[int]] = []
        for day, intervals in enumerate(week_iv):
            for s, e in intervals:
                s, e = s + day * _DAY_US, e + day * _DAY_US
                if merged and merged[-1][1] == s:
                    merged[-1][1] = e
                else:
                    merged.append([s, e])
        cum = [0]
        for s, e in merged:
            cum.append(cum[-1] + e - s)
        self.week_starts = i64([s for s, _ in merged] + [_BIG])
        self.week_ends = i64([e for _, e in merged])
        self.week_cum = i64(cum)


_CACHE: dict[int, tuple[_Tables, _Vec]] = {}
_CACHE_SIZE = 16
_CACHE_LOCK = threading.Lock()


def _vec(cal: BusinessCalendar, tables: _Tables) -> _Vec:
    """The numpy tables of a snapshot (cached; the snapshot is kept alive with them)."""
    key = id(tables)
    with _CACHE_LOCK:
        hit = _CACHE.get(key)
        if hit is not None and hit[0] is tables:
            return hit[1]
    vec = _Vec(cal, tables)
    with _CACHE_LOCK:
        _CACHE[key] = (tables, vec)
        while len(_CACHE) > _CACHE_SIZE:
            del _CACHE[next(iter(_CACHE))]
    return vec


def _covering(cal: BusinessCalendar, lo: int, hi: int) -> _Vec:
    """Tables covering the instants ``[lo, hi]`` (extending the calendar's if needed)."""
    while True:
        tables = cal._tables
        if tables is not None and tables.u_lo <= lo and hi < tables.u_hi:
            return _vec(cal, tables)
        cal._tables_for_instant(lo)
        cal._tables_for_instant(hi)


# --------------------------------------------------------------------------- closed form


def _base(vec: _Vec, day: I64) -> I64:
    weeks, weekday = np.divmod(day + _WEEKDAY_SHIFT, 7)
    out: I64 = weeks * vec.week_total + vec.prefix[weekday]
    return out


def _exception_index(vec: _Vec, day: I64) -> tuple[I64, NDArray[np.bool_]]:
    """For covered days: the number of exception days before each, and whether it is one."""
    index = day - vec.d_lo
    return vec.day_k[index], vec.day_exc[index]


def _day_offset(vec: _Vec, day: I64) -> I64:
    """UTC offset of each covered local day (as ``BusinessCalendar._day_offset``)."""
    out: I64 = vec.day_off[day - vec.d_lo]
    return out


def _day_start(vec: _Vec, day: I64) -> I64:
    """Real instant at which local ``day`` starts (as ``BusinessCalendar._day_start``)."""
    k, exc = _exception_index(vec, day)
    out: I64 = np.where(exc, vec.exc_start[k], day * _DAY_US - _day_offset(vec, day))
    return out


def _cum_day(vec: _Vec, day: I64, k: I64, exc: NDArray[np.bool_]) -> I64:
    out: I64 = np.where(exc, vec.exc_cum[k], _base(vec, day) + vec.exc_pref[k])
    return out


def _day_intervals(vec: _Vec, day: I64, k: I64, exc: NDArray[np.bool_]) -> tuple[I64, I64]:
    """Padded real intervals (starts, lengths) of each local day, shape ``(n, width)``."""
    weekday = (day + _WEEKDAY_SHIFT) % 7
    base = day * _DAY_US - _day_offset(vec, day)
    starts: I64 = np.where(
        exc[:, None], vec.exc_start_iv[k], base[:, None] + vec.week_start[weekday]
    )
    lengths: I64 = np.where(exc[:, None], vec.exc_len[k], vec.week_len[weekday])
    return starts, lengths


def _cum_at(vec: _Vec, t: I64) -> I64:
    """``BusinessCalendar._cum_at`` over a 1-d array of covered instants."""
    offset = vec.off_vals[np.searchsorted(vec.off_keys, t, side="right")]
    local = t + offset
    day = local // _DAY_US
    k, exc = _exception_index(vec, day)
    # Regular days: the week function at the wall-clock position in the week.
    weeks, position = np.divmod(local + _WEEKDAY_SHIFT * _DAY_US, _WEEK_US)
    i = np.searchsorted(vec.week_ends, position, side="right")
    total: I64 = (
        weeks * vec.week_total
        + vec.week_cum[i]
        + np.maximum(position - vec.week_starts[i], 0)
        + vec.exc_pref[k]
    )
    if np.any(exc):
        index = np.flatnonzero(exc)
        total[index] = _cum_at_exception(vec, t[index], day[index])
    return total


def _cum_at_exception(vec: _Vec, t: I64, day: I64) -> I64:
    """The slow path of ``_cum_at`` for instants whose local day is an exception day."""
    # Near a UTC-offset change the local date can disagree with the real span of the
    # day (a fold at midnight): adjust against real day starts, as _day_of does.
    for _ in range(8):
        forward = t >= _day_start(vec, day + 1)
        if not np.any(forward):
            break
        day = day + forward
    for _ in range(8):
        backward = t < _day_start(vec, day)
        if not np.any(backward):
            break
        day = day - backward
    k, exc = _exception_index(vec, day)
    starts, lengths = _day_intervals(vec, day, k, exc)
    within = np.clip(t[:, None] - starts, 0, lengths).sum(axis=1)
    out: I64 = _cum_day(vec, day, k, exc) + within
    return out


def _earliest(cal: BusinessCalendar, amount: I64) -> I64:
    """``BusinessCalendar._earliest`` over a 1-d array of cumulative amounts.

    Fuses ``_first_day_reaching`` (the first day ``m`` whose start has at least
    ``amount`` of working time before it) with the walk inside day ``m - 1``. With
    ``k`` the first exception whose cumulative time reaches ``amount``, the answer lies
    after exception ``k - 1``: on a regular day, found by inverting the week function
    at ``divmod(amount - exc_pref[k] - 1, week_total)``, or on exception ``k - 1``
    itself, walked through its padded real intervals. Computes on the current
    snapshot, checks coverage, extends and recomputes (as the scalar code does, one
    element at a time).
    """
    while True:
        tables = cal._tables
        if tables is None:  # pragma: no cover - callers build the tables first
            cal._extend(int(amount[0] // cal._week_total) * 7)
            continue
        vec = _vec(cal, tables)
        k = np.searchsorted(vec.exc_cum_raw, amount, side="left")
        weeks, rest = np.divmod(amount - vec.exc_pref[k] - 1, vec.week_total)
        value = rest + 1  # working time since Monday 00:00 (wall), in (0, week_total]
        i = np.searchsorted(vec.week_cum[1:], value, side="left")
        position = vec.week_starts[i] + value - vec.week_cum[i]
        week_start = (weeks * 7 - _WEEKDAY_SHIFT) * _DAY_US  # local Monday 00:00
        day = weeks * 7 - _WEEKDAY_SHIFT + (position - 1) // _DAY_US
        # The first day after exception k - 1 (or the first covered day).
        after = np.where(k > 0, vec.exc_days[np.maximum(k - 1, 0)] + 1, vec.d_lo)
        on_exception = day < after  # then m = after: the day is exception k - 1
        m = np.maximum(day + 1, after)
        high = (k == vec.n_exc) & (m >= vec.d_hi - 6)
        if np.any(high):
            cal._extend(int(m[high].max()) + 3)
            continue
        low = m <= vec.d_lo + 3
        if np.any(low):
            cal._extend(int(m[low].min()) - 3)
            continue
        day = np.clip(day, vec.d_lo, vec.d_hi - 1)  # only exception rows can be outside
        result: I64 = week_start + position - _day_offset(vec, day)
        if np.any(on_exception):
            index = np.flatnonzero(on_exception)
            row = k[index] - 1
            starts = vec.exc_start_iv[row]
            lengths = vec.exc_len[row]
            ends = np.cumsum(lengths, axis=1)
            remaining = amount[index] - vec.exc_cum[row]
            j = (ends < remaining[:, None]).sum(axis=1)
            cols = np.arange(len(index))
            result[index] = starts[cols, j] + remaining - (ends[cols, j] - lengths[cols, j])
        return result


# --------------------------------------------------------------------------- public


def cum_at_many(cal: BusinessCalendar, instants: I64) -> I64:
    """Cumulative working time (µs, from the calendar's origin) at each UTC instant.

    ``instants`` are ``int64`` microseconds (no NaT); any shape.
    """
    flat = np.ravel(instants)
    if flat.size == 0:
        return np.zeros(np.shape(instants), dtype=np.int64)
    vec = _covering(cal, int(flat.min()), int(flat.max()))
    out: I64 = _cum_at(vec, flat).reshape(np.shape(instants))
    return out


def earliest_many(cal: BusinessCalendar, amounts: I64) -> I64:
    """The earliest UTC instant (µs) at which the cumulative working time reaches each amount.

    The inverse of :func:`cum_at_many`; call it on amounts derived from its results.
    """
    flat = np.ravel(amounts)
    if flat.size == 0:
        return np.zeros(np.shape(amounts), dtype=np.int64)
    if cal._tables is None:
        cal._extend(int(flat[0] // cal._week_total) * 7)
    out: I64 = _earliest(cal, flat).reshape(np.shape(amounts))
    return out


def add_many(cal: BusinessCalendar, starts: Any, works: Any) -> NDArray[np.datetime64]:
    """Vectorized :meth:`BusinessCalendar.add`: see :meth:`BusinessCalendar.add_many`."""
    begin = as_instants("starts", starts)
    work = as_durations("works", works)
    shape = check_shapes(starts=begin, works=work)
    if work.size and int(work.max()) > _MAX_WORK_US:
        raise NoWorkingTimeError(
            f"'works' must fit in the supported years {_MIN_YEAR + 1}-{_MAX_YEAR - 2} "
            f"(got {timedelta(microseconds=int(work.max()))})"
        )
    begin_b = np.broadcast_to(begin, shape)
    work_b = np.broadcast_to(work, shape)
    if begin_b.size == 0:
        return np.empty(shape, dtype="datetime64[us]")
    amount = cum_at_many(cal, begin) + work  # broadcasts
    result = np.where(work_b == 0, begin_b, earliest_many(cal, np.broadcast_to(amount, shape)))
    out: NDArray[np.datetime64] = np.ascontiguousarray(result, dtype=np.int64).view(
        "datetime64[us]"
    )
    return out


def between_many(cal: BusinessCalendar, a: Any, b: Any) -> NDArray[np.timedelta64]:
    """Vectorized :meth:`BusinessCalendar.between`: see :meth:`BusinessCalendar.between_many`."""
    lo = as_instants("a", a)
    hi = as_instants("b", b)
    shape = check_shapes(a=lo, b=hi)
    if lo.ndim and hi.ndim:
        both = cum_at_many(cal, np.concatenate([np.ravel(lo), np.ravel(hi)]))
        size = lo.size
        diff = (both[size:] - both[:size]).reshape(shape)
    else:
        diff = np.broadcast_to(cum_at_many(cal, hi) - cum_at_many(cal, lo), shape)
    out: NDArray[np.timedelta64] = np.ascontiguousarray(diff, dtype=np.int64).view(
        "timedelta64[us]"
    )
    return out
