"""Vectorized business time: :class:`~promisekit.calendar.BusinessCalendar` over numpy arrays.

The engine behind :meth:`BusinessCalendar.add_many
<promisekit.calendar.BusinessCalendar.add_many>` and :meth:`BusinessCalendar.between_many
<promisekit.calendar.BusinessCalendar.between_many>`. It reads the very tables the scalar
methods use (:mod:`promisekit._calendar_tables`: the sorted starts of the real working
intervals and the cumulative working time at each, copied once per table snapshot into
``int64`` arrays), so results are *exactly* those of :meth:`~BusinessCalendar.add` and
:meth:`~BusinessCalendar.between` converted to UTC microseconds:

* the cumulative working time ``W(t)``: one ``searchsorted`` over the interval starts,
  then ``min(cum[i] + t - starts[i], cum[i + 1])``;
* its inverse, the earliest instant at which ``W`` reaches an amount: one
  ``searchsorted`` over ``cum``, then ``starts[j] + amount - cum[j]``.

Everything is exact ``int64`` microsecond arithmetic. ``numpy`` is needed (the
``analysis`` extra) and imported by the functions that use it, so importing this module
(which :mod:`promisekit.calendar` does) never imports numpy.

Inputs: ``datetime64`` values are **UTC instants** (numpy has no time zones; a pandas
column with a time zone is converted to UTC first). Any unit works when it converts
exactly to microseconds; ``timedelta64`` likewise for durations. Aware
:class:`~datetime.datetime` and :class:`~datetime.timedelta` scalars are accepted and
broadcast.
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, Protocol

from promisekit._calendar_tables import DAY_US, MAX_YEAR, MIN_YEAR, Tables, Timeline
from promisekit._validation import check_aware
from promisekit.errors import (
    InvalidTypeError,
    InvalidValueError,
    MissingDependencyError,
    NoWorkingTimeError,
)

if TYPE_CHECKING:
    import numpy
    from numpy.typing import NDArray

    I64 = NDArray[numpy.int64]

__all__ = [
    "add_many",
    "as_durations",
    "as_instants",
    "between_many",
    "check_shapes",
    "cum_at_many",
    "earliest_many",
]

_NAT = -(2**63)
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
# Work longer than the supported years can hold can never be done.
_MAX_WORK_US = (MAX_YEAR - MIN_YEAR) * 366 * DAY_US


class HasTimeline(Protocol):
    """What the functions here need of a calendar: its tables (a ``BusinessCalendar``)."""

    @property
    def _timeline(self) -> Timeline: ...


def _numpy() -> Any:
    """The numpy module, or :class:`MissingDependencyError` naming the extra."""
    try:
        import numpy
    except ImportError as exc:
        raise MissingDependencyError(
            "numpy", "analysis", "Vectorized business time (add_many / between_many)"
        ) from exc
    return numpy


# --------------------------------------------------------------------------- inputs


def _to_numpy(value: Any) -> Any:
    """``value`` as a numpy array or numpy scalar; pandas time-zone columns go to UTC."""
    np = _numpy()
    dtype = getattr(value, "dtype", None)
    if getattr(dtype, "tz", None) is not None and hasattr(value, "to_numpy"):
        # A pandas column (Series/Index) with a time zone: its UTC instants.
        return value.to_numpy(dtype=f"datetime64[{getattr(dtype, 'unit', 'ns')}]")
    if isinstance(value, (np.ndarray, np.generic)):
        return value
    return np.asarray(value)


def _exact_us(field: str, values: Any, kind: str) -> Any:
    """Cast a datetime64/timedelta64 array to microseconds, refusing any rounding."""
    np = _numpy()
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
    np = _numpy()
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
    np = _numpy()
    if isinstance(value, datetime):
        check_aware(field, value)
        delta = value - _EPOCH
        scalar: I64 = np.asarray(
            (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds,
            dtype=np.int64,
        )
        return scalar
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
    np = _numpy()
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


# --------------------------------------------------------------------------- closed form


_CACHE: dict[int, tuple[Tables, I64, I64]] = {}
_CACHE_SIZE = 16
_CACHE_LOCK = threading.Lock()


def _views(tables: Tables) -> tuple[I64, I64]:
    """The snapshot's ``starts`` and ``cum`` as int64 arrays (cached per snapshot)."""
    key = id(tables)
    with _CACHE_LOCK:
        hit = _CACHE.get(key)
    if hit is not None and hit[0] is tables:
        return hit[1], hit[2]
    np = _numpy()
    starts = np.array(tables.starts, dtype=np.int64)
    cum = np.array(tables.cum, dtype=np.int64)
    with _CACHE_LOCK:
        _CACHE[key] = (tables, starts, cum)  # the snapshot is kept alive with its arrays
        while len(_CACHE) > _CACHE_SIZE:
            del _CACHE[next(iter(_CACHE))]
    return starts, cum


def _covering(timeline: Timeline, lo: int, hi: int) -> Tables:
    """A snapshot covering the instants ``[lo, hi]`` (extending the tables if needed)."""
    while True:
        tables = timeline.for_instant(lo)
        if hi < tables.u_hi:
            return tables
        tables = timeline.for_instant(hi)
        if tables.u_lo <= lo:
            return tables


# --------------------------------------------------------------------------- public


def cum_at_many(cal: HasTimeline, instants: I64) -> I64:
    """Cumulative working time (µs, from the calendar's origin) at each UTC instant.

    ``instants`` are ``int64`` microseconds (no NaT); any shape.
    """
    np = _numpy()
    flat = np.ravel(instants)
    if flat.size == 0:
        return np.zeros(np.shape(instants), dtype=np.int64)  # type: ignore[no-any-return]
    starts, cum = _views(_covering(cal._timeline, int(flat.min()), int(flat.max())))
    i = np.searchsorted(starts, flat, side="right") - 1
    out: I64 = np.minimum(cum[i] + (flat - starts[i]), cum[i + 1]).reshape(np.shape(instants))
    return out


def earliest_many(cal: HasTimeline, amounts: I64) -> I64:
    """The earliest UTC instant (µs) at which the cumulative working time reaches each amount.

    The inverse of :func:`cum_at_many`; call it on amounts derived from its results.
    """
    np = _numpy()
    flat = np.ravel(amounts)
    if flat.size == 0:
        return np.zeros(np.shape(amounts), dtype=np.int64)  # type: ignore[no-any-return]
    timeline = cal._timeline
    while True:
        tables = timeline.tables if timeline.tables is not None else timeline.extend(0)
        starts, cum = _views(tables)
        # The first interval whose end reaches the amount (cum[j + 1] >= amount);
        # the sentinel (index 0, before the snapshot) and len(starts) mean "extend".
        j = np.searchsorted(cum, flat, side="left") - 1
        if j.min() <= 0:
            timeline.for_amount(int(flat.min()), earliest=True)
        elif j.max() >= len(starts):
            timeline.for_amount(int(flat.max()), earliest=True)
        else:
            out: I64 = (starts[j] + (flat - cum[j])).reshape(np.shape(amounts))
            return out


def add_many(cal: HasTimeline, starts: Any, works: Any) -> NDArray[numpy.datetime64]:
    """Vectorized :meth:`BusinessCalendar.add`: see :meth:`BusinessCalendar.add_many`."""
    np = _numpy()
    begin = as_instants("starts", starts)
    work = as_durations("works", works)
    shape = check_shapes(starts=begin, works=work)
    if work.size and int(work.max()) > _MAX_WORK_US:
        raise NoWorkingTimeError(
            f"'works' must fit in the supported years {MIN_YEAR + 1}-{MAX_YEAR - 2} "
            f"(got {timedelta(microseconds=int(work.max()))})"
        )
    result = np.array(np.broadcast_to(begin, shape), dtype=np.int64)
    if result.size == 0:
        return result.view("datetime64[us]")  # type: ignore[no-any-return]
    amount = np.broadcast_to(cum_at_many(cal, begin) + work, shape)
    work_b = np.broadcast_to(work, shape)
    positive = work_b > 0  # add(t, 0) is t itself, even when closed
    if positive.any():
        result[positive] = earliest_many(cal, amount[positive])
    out: NDArray[numpy.datetime64] = result.view("datetime64[us]")
    return out


def between_many(cal: HasTimeline, a: Any, b: Any) -> NDArray[numpy.timedelta64]:
    """Vectorized :meth:`BusinessCalendar.between`: see :meth:`BusinessCalendar.between_many`."""
    np = _numpy()
    lo = as_instants("a", a)
    hi = as_instants("b", b)
    shape = check_shapes(a=lo, b=hi)
    if lo.ndim and hi.ndim:
        both = cum_at_many(cal, np.concatenate([np.ravel(lo), np.ravel(hi)]))
        size = lo.size
        diff = (both[size:] - both[:size]).reshape(shape)
    else:
        diff = np.broadcast_to(cum_at_many(cal, hi) - cum_at_many(cal, lo), shape)
    out: NDArray[numpy.timedelta64] = np.ascontiguousarray(diff, dtype=np.int64).view(
        "timedelta64[us]"
    )
    return out
