"""numpy kernels of the columnar backtest: order statistics of expanding samples, policies.

* :class:`_RangeOrder` answers, for many ranges of a fixed integer array at once,
  "the k-th smallest value" and "how many values are below x" (a wavelet matrix:
  one stable partition per bit, every query walked down the levels together).
  The expanding history of a replay is a prefix of the records sorted by
  completion time, so each request's sample is one range.
* :func:`_compile` turns a tree of the built-in buffer policies into a function
  of the sample (quantiles and CDF as arrays), giving the windows the scalar
  policies give, exactly (integer microseconds, same rounding). Policies it does
  not know return ``None`` and are replayed by :func:`backtest` instead.
* :func:`_local_days` reads UTC microseconds as local days in a zone from the
  zone's transitions, without a datetime per row.

numpy is imported by the caller and passed in as ``np``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

from promisekit.buffering._common import td_us, to_us
from promisekit.buffering._policies._base import BufferPolicy, Chain, Later
from promisekit.buffering._policies._steps import (
    Cap,
    FixedBuffer,
    Floor,
    NoBuffer,
    ProportionalBuffer,
    QuantileBuffer,
)

_DAY_US = 86_400_000_000
_UTC = timezone.utc


class _RangeOrder:
    """k-th smallest and counts below a bound over ranges ``[s, e)`` of ``values``.

    ``values`` are integers in ``[0, 2**bits)``; every query method takes arrays
    of ranges and answers them all at once in ``bits`` vectorized steps.
    """

    __slots__ = ("_bits", "_levels", "_np")

    def __init__(self, np: Any, values: Any) -> None:
        self._np = np
        n = int(values.shape[0])
        top = int(values.max()) if n else 0
        self._bits = max(1, top.bit_length())
        self._levels: list[tuple[Any, int]] = []
        current = values.astype(np.int64, copy=True)
        for bit in range(self._bits - 1, -1, -1):
            ones = ((current >> bit) & 1).astype(bool)
            zeros = np.zeros(n + 1, dtype=np.int64)
            np.cumsum(~ones, out=zeros[1:])
            self._levels.append((zeros, int(zeros[-1])))
            current = np.concatenate((current[~ones], current[ones]))

    def kth(self, start: Any, end: Any, k: Any) -> Any:
        """The ``k``-th smallest (0-based) value of each range (``k < end - start``)."""
        np = self._np
        order = np.argsort(end, kind="stable")  # neighbouring ranges: cache-friendly gathers
        result = np.empty(end.shape[0], dtype=np.int64)
        result[order] = self._kth(start[order], end[order], k[order])
        return result

    def _kth(self, start: Any, end: Any, k: Any) -> Any:
        np = self._np
        s, e, k = start, end, k
        result = np.zeros(s.shape[0], dtype=np.int64)
        for zeros, n_zeros in self._levels:
            zs, ze = zeros[s], zeros[e]
            inside = ze - zs
            right = k >= inside
            k = np.where(right, k - inside, k)
            s = np.where(right, n_zeros + s - zs, zs)
            e = np.where(right, n_zeros + e - ze, ze)
            result = (result << 1) | right
        return result

    def count_below(self, start: Any, end: Any, bound: Any) -> Any:
        """How many values of each range are ``< bound`` (``bound >= 0``)."""
        np = self._np
        order = np.argsort(end, kind="stable")
        result = np.empty(end.shape[0], dtype=np.int64)
        result[order] = self._count_below(start[order], end[order], bound[order])
        return result

    def _count_below(self, start: Any, end: Any, bound: Any) -> Any:
        np = self._np
        everything = bound >= (1 << self._bits)
        x = np.where(everything, 0, bound)
        s, e = start, end
        count = np.zeros(s.shape[0], dtype=np.int64)
        for level, (zeros, n_zeros) in enumerate(self._levels):
            bit = self._bits - 1 - level
            up = ((x >> bit) & 1).astype(bool)
            zs, ze = zeros[s], zeros[e]
            count += np.where(up, ze - zs, 0)
            s = np.where(up, n_zeros + s - zs, zs)
            e = np.where(up, n_zeros + e - ze, ze)
        return np.where(everything, end - start, count)


def _ranks(np: Any, q: float, n: Any) -> Any:
    """Vectorized ``_rank(q, n)``: 0-based index of the inverted-CDF quantile (``n >= 1``)."""
    nf = n.astype(np.float64)
    k = np.minimum(np.maximum(np.ceil(q * nf), 1), nf).astype(np.int64)
    while True:  # the float division decides, exactly as the scalar rule does
        down = (k > 1) & ((k - 1) / nf >= q)
        if not down.any():
            break
        k = k - down
    while True:
        up = (k < n) & (k / nf < q)
        if not up.any():
            break
        k = k + up
    return k - 1


class _Sample:
    """The expanding samples of a block of requests: quantiles and CDF as arrays."""

    __slots__ = ("_cache", "_end", "_np", "_order", "_sorted", "_start", "n")

    def __init__(self, np: Any, order: _RangeOrder, sorted_us: Any, start: Any, end: Any) -> None:
        self._np = np
        self._order = order
        self._sorted = sorted_us
        self._start = start
        self._end = end
        self.n = end - start
        self._cache: dict[float, Any] = {}

    def quantile(self, q: float) -> Any:
        """The inverted-CDF ``q``-quantile of each sample, µs (samples must be non-empty)."""
        found = self._cache.get(q)
        if found is None:
            rank = _ranks(self._np, q, self.n)
            found = self._sorted[self._order.kth(self._start, self._end, rank)]
            self._cache[q] = found
        return found

    def cdf(self, window: Any) -> Any:
        """The fraction of each sample ``<= window``."""
        np = self._np
        bound = np.searchsorted(self._sorted, window, side="right")
        below = self._order.count_below(self._start, self._end, bound)
        return below / self.n


#: A compiled policy: (sample, target window, window so far) -> (window, refused mask).
_Step = Callable[[_Sample, Any, Any], tuple[Any, Any]]


def _compile(np: Any, policy: BufferPolicy) -> _Step | None:
    """The built-in ``policy`` as array arithmetic on windows, or ``None`` if unknown."""
    kind = type(policy)
    if kind is NoBuffer:
        return lambda sample, target, window: (window, None)
    if kind is FixedBuffer:
        delta = td_us(policy.delta)  # type: ignore[attr-defined]
        return lambda sample, target, window: (window + delta, None)
    if kind is ProportionalBuffer:
        factor = float(policy.factor)  # type: ignore[attr-defined]

        def proportional(sample: _Sample, target: Any, window: Any) -> tuple[Any, Any]:
            extra = np.rint(target.astype(np.float64) * factor).astype(np.int64)
            return window + extra, None

        return proportional
    if kind is QuantileBuffer:
        q = float(policy.q)  # type: ignore[attr-defined]
        floor = int(policy.min_samples)  # type: ignore[attr-defined]

        def quantile(sample: _Sample, target: Any, window: Any) -> tuple[Any, Any]:
            return np.maximum(window, sample.quantile(q)), sample.n < floor

        return quantile
    if kind is Cap:
        most = td_us(policy.max)  # type: ignore[attr-defined]

        def cap(sample: _Sample, target: Any, window: Any) -> tuple[Any, Any]:
            return np.where(window <= most, window, np.maximum(most, target)), None

        return cap
    if kind is Floor:
        least = td_us(policy.min)  # type: ignore[attr-defined]
        return lambda sample, target, window: (np.maximum(window, least), None)
    if kind is Chain or kind is Later:
        parts = [_compile(np, p) for p in policy.policies]  # type: ignore[attr-defined]
        if any(p is None for p in parts):
            return None
        steps: list[_Step] = [p for p in parts if p is not None]
        if kind is Chain:

            def chain(sample: _Sample, target: Any, window: Any) -> tuple[Any, Any]:
                refused = None
                for step in steps:
                    window, more = step(sample, target, window)
                    refused = _either(refused, more)
                return window, refused

            return chain

        def later(sample: _Sample, target: Any, window: Any) -> tuple[Any, Any]:
            best, refused = steps[0](sample, target, window)
            for step in steps[1:]:
                other, more = step(sample, target, window)
                best = np.maximum(best, other)
                refused = _either(refused, more)
            return best, refused

        return later
    return None


def _either(a: Any, b: Any) -> Any:
    if a is None:
        return b
    if b is None:
        return a
    return a | b


def _offsets(np: Any, zone: str, lo_us: int, hi_us: int) -> tuple[Any, Any]:
    """UTC-offset changes of ``zone`` over ``[lo_us, hi_us]``: (instants µs, offsets µs).

    The offset in force at instant ``t`` is ``offsets[searchsorted(instants, t,
    "right") - 1]``. Days are sampled and every change is located to the microsecond
    by bisection, so no datetime is built per row.
    """
    if zone == "UTC":
        return np.array([lo_us], dtype=np.int64), np.array([0], dtype=np.int64)
    tz = ZoneInfo(zone)
    epoch = datetime(1970, 1, 1, tzinfo=_UTC)

    def offset(us: int) -> int:
        moment = (epoch + timedelta(microseconds=us)).astimezone(tz)
        delta = moment.utcoffset()
        assert delta is not None
        return td_us(delta)

    instants = [lo_us]
    offsets = [offset(lo_us)]
    t = lo_us
    while t < hi_us:
        nxt = min(t + _DAY_US, hi_us)
        if offset(nxt) != offsets[-1]:
            a, b = t, nxt  # offset(a) == offsets[-1] != offset(b)
            while b - a > 1:
                mid = (a + b) // 2
                if offset(mid) == offsets[-1]:
                    a = mid
                else:
                    b = mid
            instants.append(b)
            offsets.append(offset(b))
        t = nxt
    return np.array(instants, dtype=np.int64), np.array(offsets, dtype=np.int64)


def _local_us(np: Any, zone: str, instants: Any) -> Any:
    """UTC microseconds as local wall-clock microseconds in ``zone``."""
    if instants.shape[0] == 0:
        return instants.copy()
    changes, offsets = _offsets(np, zone, int(instants.min()), int(instants.max()))
    index = np.searchsorted(changes, instants, side="right") - 1
    return instants + offsets[np.maximum(index, 0)]


#: Calendar periods a columnar backtest can report by or refit on.
PERIODS = ("D", "W", "M", "Q", "Y")


def _period_keys(np: Any, zone: str, instants: Any, period: str) -> tuple[Any, Any]:
    """Each instant's local calendar period: (integer key per instant, sorted labels).

    Labels are ``"2026-03-02"`` (day, or the Monday of a week), ``"2026-03"``,
    ``"2026-Q1"`` and ``"2026"``; keys index the labels.
    """
    days = (_local_us(np, zone, instants) // _DAY_US).astype("datetime64[D]")
    if period == "D":
        starts = days
    elif period == "W":
        # 1970-01-01 was a Thursday: Monday-based weeks start 3 days earlier.
        starts = ((days.astype(np.int64) + 3) // 7 * 7 - 3).astype("datetime64[D]")
    elif period in ("M", "Q"):
        starts = days.astype("datetime64[M]")
        if period == "Q":
            months = starts.astype(np.int64)
            starts = (months // 3 * 3).astype("datetime64[M]")
    else:
        starts = days.astype("datetime64[Y]")
    unique, keys = np.unique(starts, return_inverse=True)
    if period == "Q":
        labels = [f"{str(u)[:4]}-Q{int(str(u)[5:7]) // 3 + 1}" for u in unique]
    else:
        labels = [str(u) for u in unique]
    return keys.reshape(-1), labels


def _period_starts(np: Any, zone: str, lo_us: int, hi_us: int, period: str) -> list[int]:
    """UTC µs of the local starts of the calendar periods meeting ``[lo_us, hi_us]``."""
    tz = ZoneInfo(zone)
    epoch = datetime(1970, 1, 1, tzinfo=_UTC)
    first = (epoch + timedelta(microseconds=lo_us)).astimezone(tz).date()
    if period == "W":
        first -= timedelta(days=first.weekday())
    elif period == "M":
        first = first.replace(day=1)
    elif period == "Q":
        first = first.replace(day=1, month=(first.month - 1) // 3 * 3 + 1)
    elif period == "Y":
        first = first.replace(day=1, month=1)
    starts: list[int] = []
    day = first
    while True:
        local = datetime(day.year, day.month, day.day, tzinfo=tz)
        instant = to_us(local)
        starts.append(instant)
        if instant > hi_us:
            return starts
        if period == "D":
            day += timedelta(days=1)
        elif period == "W":
            day += timedelta(days=7)
        elif period == "Y":
            day = day.replace(year=day.year + 1)
        else:
            step = 1 if period == "M" else 3
            month = day.month - 1 + step
            day = day.replace(year=day.year + month // 12, month=month % 12 + 1)
