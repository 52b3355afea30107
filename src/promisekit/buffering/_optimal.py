"""The optimal quote: the due that maximizes expected satisfaction minus the cost of waiting.

A longer promise is kept more often but wins fewer customers. Given the distribution
of the duration ``T`` and a satisfaction function ``s(lateness, window)`` (lateness
``T - window`` is positive when late, negative when early), the optimal window is::

    w* = argmax_w  E[ s(T - w, w) ]  -  quote_cost * w / cost_unit

With the linear special case :class:`LinearLatenessCost` (``s = -c_late * max(T - w, 0)
- c_quote * w``), the first-order condition ``c_late * P(T > w) = c_quote`` gives the
newsvendor quantile ``F(w*) = 1 - c_quote / c_late``, computed exactly through the
capability's quantile. Any other callable is optimized numerically.
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Hashable
from datetime import datetime, timedelta
from typing import Any

import attrs

from promisekit._validation import check_duration, check_finite, describe
from promisekit.buffering._capability._empirical import _SampleMixin
from promisekit.buffering._capability._protocol import Capability, _rank
from promisekit.buffering._common import (
    check_count,
    fmt_duration,
    fmt_quantile,
    td_us,
    us_td,
)
from promisekit.buffering._optimal_summary import local_runs as _local_runs
from promisekit.buffering._optimal_summary import summarize as _summarize
from promisekit.buffering._optimal_summary import summarize_array as _summarize_array
from promisekit.buffering._policies._base import BufferPolicy, Quote, _check_policy, quote
from promisekit.buffering._policies._context import QuoteContext
from promisekit.calendar import BusinessCalendar
from promisekit.errors import InvalidTypeError, InvalidValueError, MissingDependencyError

__all__ = [
    "LinearLatenessCost",
    "OptimalBuffer",
    "SatisfactionFunction",
    "StepSatisfaction",
    "optimal_quote",
]

#: ``satisfaction(lateness_or_earliness, quoted_window) -> float``: lateness is
#: ``actual - due`` (negative when early), both business time with a calendar.
SatisfactionFunction = Callable[[timedelta, timedelta], float]

_HOUR = timedelta(hours=1)
_GRID = 100
_GOLDEN_STEPS = 60
_INV_PHI = (math.sqrt(5) - 1) / 2


def _positive(field: str, value: Any) -> float:
    number = check_finite(field, value)
    if number <= 0:
        raise InvalidValueError(f"{field!r} must be > 0 (got {describe(value)})")
    return number


def _convert_c_late(value: Any) -> float:
    return _positive("c_late", value)


def _convert_c_quote(value: Any) -> float:
    return _positive("c_quote", value)


def _convert_unit(value: Any) -> timedelta:
    unit = check_duration("unit", value)
    if unit <= timedelta(0):
        raise InvalidValueError(f"'unit' must be a positive duration (got {unit})")
    return unit


@attrs.frozen(slots=True)
class LinearLatenessCost:
    """Linear costs: ``c_late`` per unit of lateness, ``c_quote`` per unit of quoted window.

    As a satisfaction function (higher is better)::

        s(lateness, window) = -(c_late * max(lateness, 0) + c_quote * window) / unit

    Its optimal window is the newsvendor quantile ``F(w*) = 1 - c_quote / c_late``
    (``0`` when ``c_quote >= c_late``: then waiting costs more than lateness).

    Args:
        c_late: Cost per ``unit`` of lateness (``> 0``).
        c_quote: Cost per ``unit`` of quoted window (``> 0``).
        unit: The time unit of both costs (default one hour).

    Example:
        >>> LinearLatenessCost(c_late=20, c_quote=1).service_level
        0.95

    .. versionadded:: 0.1.0
    """

    c_late: float = attrs.field(converter=_convert_c_late)
    c_quote: float = attrs.field(converter=_convert_c_quote)
    unit: timedelta = attrs.field(default=_HOUR, converter=_convert_unit)

    def __call__(self, lateness: timedelta, window: timedelta) -> float:
        """The (negative) satisfaction of a job ``lateness`` late under a ``window`` promise."""
        late = max(td_us(lateness), 0)
        return -(self.c_late * late + self.c_quote * td_us(window)) / td_us(self.unit)

    @property
    def service_level(self) -> float:
        """``1 - c_quote / c_late``: the optimal probability of keeping the promise.

        .. versionadded:: 0.1.0
        """
        return 1.0 - self.c_quote / self.c_late


def _finite(field: str, value: Any) -> float:
    return check_finite(field, value)


def _convert_on_time(value: Any) -> float:
    return _finite("on_time", value)


def _convert_late(value: Any) -> float:
    return _finite("late", value)


#: Relative tolerance under which two objective values are a tie (the shorter window wins).
_TIE = 1e-12


@attrs.frozen(slots=True)
class StepSatisfaction:
    """Satisfaction ``on_time`` when the promise is kept, ``late`` when it is not.

    As a satisfaction function: ``on_time if lateness <= 0 else late``. Its
    :class:`OptimalBuffer` optimum has a closed form: the expected satisfaction
    is ``late + (on_time - late) * F(w)``, so with a ``quote_cost`` the best
    window is the observed duration (or ``0``) maximizing ``(on_time - late) *
    F(w) - quote_cost * w / cost_unit`` — one pass over the sorted durations.

    Args:
        on_time: Satisfaction of a kept promise (default ``1``).
        late: Satisfaction of a broken one (default ``0``).

    Example:
        >>> StepSatisfaction()(timedelta(minutes=-5), timedelta(hours=1))
        1.0

    .. versionadded:: 0.1.0
    """

    on_time: float = attrs.field(default=1.0, converter=_convert_on_time)
    late: float = attrs.field(default=0.0, converter=_convert_late)

    def __call__(self, lateness: timedelta, window: timedelta) -> float:
        """``on_time`` when ``lateness <= 0``, else ``late``."""
        return self.on_time if lateness <= timedelta(0) else self.late


def _check_satisfaction(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not callable(value):
        raise InvalidTypeError(
            f"'satisfaction' must be a callable (lateness, window) -> float "
            f"(got {type(value).__name__} {describe(value)})"
        )


def _convert_quote_cost(value: Any) -> float:
    return check_finite("quote_cost", value, minimum=0)


def _convert_cost_unit(value: Any) -> timedelta:
    unit = check_duration("cost_unit", value)
    if unit <= timedelta(0):
        raise InvalidValueError(f"'cost_unit' must be a positive duration (got {unit})")
    return unit


def _check_flag(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, bool):
        raise InvalidTypeError(
            f"{attribute.name!r} must be a bool (got {type(value).__name__} {describe(value)})"
        )


def _convert_points(value: Any) -> int:
    return check_count("points", value, minimum=10)


def _convert_summary_points(value: Any) -> int | None:
    if value is None:
        return None
    return check_count("summary_points", value, minimum=16)


#: Windows re-scored exactly around the summary's optimum (besides it and its
#: neighbouring sample durations).
_EXACT_STEPS = 4


@attrs.frozen(slots=True)
class OptimalBuffer(BufferPolicy):
    """Promise the window that maximizes expected satisfaction minus the cost of quoting.

    The due becomes the later of the due so far and ``start + w*`` where ``w*``
    maximizes ``E[satisfaction(T - w, w)] - quote_cost * w / cost_unit``.

    * With a :class:`LinearLatenessCost`, ``w*`` is the exact newsvendor quantile
      of the capability (``quote_cost`` is folded into ``c_quote``).
    * With a :class:`StepSatisfaction`, ``w*`` is found in one pass over the
      same equally likely durations as below (closed form, no search).
    * Any other callable is optimized numerically. The expectation (and
      :meth:`objective`) is an average over ``points`` equally likely durations
      (every observed duration when there are at most ``points``, else the
      mid-quantiles ``(i + 0.5) / points``). The search scans 100 quantile
      levels, then refines between the neighbours of the best one: by a
      golden-section search, or with ``vectorized=True`` by a finer scan.
    * With ``vectorized=True`` the satisfaction is called with numpy arrays
      (``timedelta64[us]`` lateness and window arrays of one shape, returning an
      array of floats): each scan is a single call (the ``analysis`` extra).
    * ``summary_points`` (default 256) makes the search fast: it scores the
      candidate windows against at most ``summary_points`` weighted durations —
      every distinct duration with its share when there are that few (then the
      scores are exact and the window is the full search's, up to floating-point
      rounding), else runs of consecutive sorted durations of equal size, each
      at its middle value; after the 100-level scan, the runs between the
      neighbours of the best level are replaced by their durations, so the
      refinement scores exactly near the optimum. Only the search is
      approximate: the window it finds, its neighbouring durations and a few
      windows around it are then re-scored exactly over all ``m`` durations
      (``m = min(n_samples, points)``) and the best is kept. Guarantee: every
      summary score is within ``eps = V * ceil(m / summary_points) / m`` of the
      exact one, where ``V`` bounds the total variation of ``lateness ->
      satisfaction(lateness, w)`` (``on_time - late`` for a kept-or-not step:
      ``eps`` is 0.4 % of it with 2,000 durations), so the window's exact
      objective is within ``2 * eps`` of the best window the search scores (a
      Hypothesis test checks it is within ``2 * eps`` of the full search's
      optimum). With 2,000 durations that is about 6 × fewer calls
      (or array elements); ``summary_points=None`` runs the full search (about
      160 × ``m`` calls, or 230 × ``m`` array elements).

    Args:
        satisfaction: ``satisfaction(lateness, window) -> float`` (higher is better).
        quote_cost: Cost per ``cost_unit`` of quoted window, subtracted from the
            expected satisfaction (``>= 0``).
        cost_unit: Time unit of ``quote_cost`` (default one hour).
        points: Size of the numerical expectation (``>= 10``).
        vectorized: The satisfaction accepts numpy arrays (see above).
        summary_points: Size of the weighted summary the search scores against
            (``>= 16``), or ``None`` to search over all ``points`` durations.

    .. versionchanged:: 0.1.0
       The search scores a summary of ``summary_points`` weighted durations, then
       re-scores the best windows exactly (``summary_points=None``: as before).

    .. versionadded:: 0.1.0
    """

    satisfaction: SatisfactionFunction = attrs.field(validator=_check_satisfaction)
    quote_cost: float = attrs.field(default=0.0, converter=_convert_quote_cost, kw_only=True)
    cost_unit: timedelta = attrs.field(default=_HOUR, converter=_convert_cost_unit, kw_only=True)
    points: int = attrs.field(default=2000, converter=_convert_points, kw_only=True)
    vectorized: bool = attrs.field(default=False, validator=_check_flag, kw_only=True)
    summary_points: int | None = attrs.field(
        default=256, converter=_convert_summary_points, kw_only=True
    )

    def _service_level(self) -> float | None:
        cost = self.satisfaction
        if not isinstance(cost, LinearLatenessCost):
            return None
        per_us_quote = cost.c_quote / td_us(cost.unit) + self.quote_cost / td_us(self.cost_unit)
        return 1.0 - per_us_quote / (cost.c_late / td_us(cost.unit))

    def objective(self, capability: Capability, window: timedelta) -> float:
        """Expected satisfaction minus quote cost for a promised ``window``.

        .. versionadded:: 0.1.0
        """
        support = _support(capability, self.points)
        return self._objective(support, td_us(check_duration("window", window)))

    def _objective(
        self, support: list[int], window: int, weights: list[float] | None = None
    ) -> float:
        func = self.satisfaction
        quoted = us_td(window)
        total = 0.0
        if weights is None:
            for value in support:
                total += func(us_td(value - window), quoted)
            mean = total / len(support)
        else:
            for value, weight in zip(support, weights, strict=True):
                total += weight * func(us_td(value - window), quoted)
            mean = total
        if not math.isfinite(mean):
            raise InvalidValueError(
                f"'satisfaction' must return finite numbers (got a mean of {mean!r} "
                f"for window={quoted})"
            )
        return mean - self.quote_cost * window / td_us(self.cost_unit)

    def optimal_window(self, capability: Capability) -> timedelta:
        """The optimal promised window ``w*`` for ``capability``.

        .. versionadded:: 0.1.0
        """
        if not isinstance(capability, Capability):
            raise InvalidTypeError(
                f"'capability' must be a Capability (got {type(capability).__name__})"
            )
        level = self._service_level()
        if level is not None:
            return timedelta(0) if level <= 0 else capability.quantile(level)
        if isinstance(self.satisfaction, StepSatisfaction):
            return us_td(self._step_window(_support(capability, self.points, as_array=True)))
        if self.vectorized:
            return us_td(self._vector_window(capability))
        support = _support(capability, self.points)
        points, weights, exact = support, None, True
        if self.summary_points is not None and len(support) > self.summary_points:
            points, summary_weights, exact = _summarize(support, self.summary_points)
            weights = summary_weights

        def score(window: int) -> float:
            return self._objective(points, window, weights)

        candidates = sorted({0, support[-1], *_grid(capability)})
        values = [score(c) for c in candidates]
        best = max(range(len(values)), key=values.__getitem__)
        lo = candidates[max(best - 1, 0)]
        hi = candidates[min(best + 1, len(candidates) - 1)]
        if not exact and weights is not None:
            m = len(support)
            first, last, a, b = _local_runs(
                m, len(points), bisect_left(support, lo), bisect_right(support, hi)
            )
            if b - a <= len(points):  # the durations around the bracket, exactly
                points = [*points[:first], *support[a:b], *points[last:]]
                weights = [*weights[:first], *([1.0 / m] * (b - a)), *weights[last:]]
        window, value = self._golden(score, lo, hi)
        if value <= score(candidates[best]):
            window = candidates[best]
        if exact:
            return us_td(window)
        finals = _neighbourhood(support, window, lo, hi)
        exact_values = [self._objective(support, c) for c in finals]
        return us_td(finals[_first_best(exact_values)])

    def _step_window(self, support: Any) -> int:
        """Closed form for a step satisfaction: best of ``0`` and each support value."""
        step = self.satisfaction
        assert isinstance(step, StepSatisfaction)
        gain = (step.on_time - step.late) / len(support)
        per_us = self.quote_cost / td_us(self.cost_unit)
        np: Any
        try:
            import numpy as np
        except ImportError:
            np = None
        if np is not None:
            values = np.asarray(support, dtype=np.int64)
            counts = np.searchsorted(values, values, side="right")
            scores = np.where(values > 0, gain * counts - per_us * values, -np.inf)
            at_zero = gain * int(np.searchsorted(values, 0, side="right"))
            top = max(float(scores.max()), at_zero)
            # Ties (within rounding) go to the shortest window: 0, then the smallest value.
            tol = _TIE * max(1.0, abs(top))
            if at_zero >= top - tol:
                return 0
            return int(values[int(np.argmax(scores >= top - tol))])
        best_window = 0
        best = gain * sum(1 for v in support if v <= 0)  # F(0)
        count = 0
        n = len(support)
        for index, value in enumerate(support):
            count += 1
            if index + 1 < n and support[index + 1] == value:
                continue  # F jumps after the last copy of a value
            if value <= 0:
                continue
            score = gain * count - per_us * value
            if score > best + _TIE * max(1.0, abs(best)):
                best, best_window = score, value
        return best_window

    def _vector_window(self, capability: Capability) -> int:
        """Grid scan then two zooms, each a single call of the vectorized satisfaction."""
        try:
            import numpy as np
        except ImportError:
            raise MissingDependencyError(
                "numpy", "analysis", "OptimalBuffer(vectorized=True)"
            ) from None
        values = np.asarray(_support(capability, self.points, as_array=True), dtype=np.int64)
        per_us = self.quote_cost / td_us(self.cost_unit)
        points, exact = values, True
        weights: Any = None
        if self.summary_points is not None and values.shape[0] > self.summary_points:
            points, weights, exact = _summarize_array(np, values, self.summary_points)

        def scores(windows: Any, sample: Any, shares: Any) -> Any:
            late = (sample[None, :] - windows[:, None]).view("timedelta64[us]")
            quoted = np.broadcast_to(windows.view("timedelta64[us]")[:, None], late.shape)
            vector: Any = self.satisfaction
            result = np.asarray(vector(late, quoted), dtype=np.float64)
            if result.shape != late.shape:
                raise InvalidValueError(
                    f"'satisfaction' must return an array of shape {late.shape} when "
                    f"vectorized=True (got shape {result.shape})"
                )
            mean = result.mean(axis=1) if shares is None else result @ shares
            if not np.isfinite(mean).all():
                raise InvalidValueError("'satisfaction' must return finite numbers")
            return mean - per_us * windows

        candidates = np.unique(np.concatenate(([0, values[-1]], _grid_array(np, capability))))
        found = scores(candidates, points, weights)
        best = int(np.argmax(found))
        window, value = int(candidates[best]), float(found[best])
        lo = int(candidates[max(best - 1, 0)])
        hi = int(candidates[min(best + 1, candidates.shape[0] - 1)])
        around = (lo, hi)
        if not exact:
            m, k = values.shape[0], points.shape[0]
            start = int(np.searchsorted(values, lo, side="left"))
            first, last, a, b = _local_runs(
                m, k, start, int(np.searchsorted(values, hi, side="right"))
            )
            if b - a <= k:  # the durations around the bracket, exactly
                points = np.concatenate((points[:first], values[a:b], points[last:]))
                weights = np.concatenate((weights[:first], np.full(b - a, 1.0 / m), weights[last:]))
                value = float(scores(np.asarray([window]), points, weights)[0])
        for _ in range(2):
            if hi - lo <= 1:
                break
            grid = np.unique(np.ceil(np.linspace(lo, hi, 64)).astype(np.int64))
            found = scores(grid, points, weights)
            best = int(np.argmax(found))
            if float(found[best]) > value:
                window, value = int(grid[best]), float(found[best])
            lo = int(grid[max(best - 1, 0)])
            hi = int(grid[min(best + 1, grid.shape[0] - 1)])
        if exact:
            return window
        index = int(np.searchsorted(values, window, side="right"))
        sides = values[max(index - 1, 0) : index + 1].tolist()
        finals = np.asarray(_neighbourhood(sides, window, *around), dtype=np.int64)
        exact_values = scores(finals, values, None).tolist()
        return int(finals[_first_best(exact_values)])

    def _golden(self, score: Callable[[int], float], lo: int, hi: int) -> tuple[int, float]:
        a, b = float(lo), float(hi)
        c = b - _INV_PHI * (b - a)
        d = a + _INV_PHI * (b - a)
        fc = score(math.ceil(c))
        fd = score(math.ceil(d))
        for _ in range(_GOLDEN_STEPS):
            if b - a < 1.0:
                break
            if fc >= fd:
                b, d, fd = d, c, fc
                c = b - _INV_PHI * (b - a)
                fc = score(math.ceil(c))
            else:
                a, c, fc = c, d, fd
                d = a + _INV_PHI * (b - a)
                fd = score(math.ceil(d))
        return (math.ceil(c), fc) if fc >= fd else (math.ceil(d), fd)

    def apply(self, context: QuoteContext, due: datetime) -> datetime:
        """``max(due, start + w*)``.

        .. versionadded:: 0.1.0
        """
        return context.later(due, context.at(self.optimal_window(context.capability)))

    def note(self, context: QuoteContext, before: datetime, after: datetime) -> str | None:
        """``"newsvendor optimum p95 = 59.9 min"`` or ``"optimal window 1 h 02 min"``.

        .. versionadded:: 0.1.0
        """
        window = fmt_duration(context.window(after), business=context.business)
        level = self._service_level()
        if level is not None and level > 0:
            return f"newsvendor optimum {fmt_quantile(round(level, 6))} = {window}"
        return f"optimal window {window} for expected satisfaction"

    def __str__(self) -> str:
        name = getattr(self.satisfaction, "__name__", None) or repr(self.satisfaction)
        extra = f", quote_cost={self.quote_cost:g}" if self.quote_cost else ""
        return f"OptimalBuffer({name}{extra})"


def _support(capability: Capability, points: int, *, as_array: bool = False) -> Any:
    """Equally likely durations (µs) standing for the capability's distribution.

    A list, or with ``as_array`` a numpy array when numpy is installed.
    """
    if not capability.is_distribution:
        return [td_us(capability.quantile(0.5))]
    n = capability.n_samples
    m = points if n is None else min(n, points)
    if isinstance(capability, _SampleMixin):
        values = capability._values  # sorted µs: the same quantiles, without conversions
        assert n is not None
        np: Any
        try:
            import numpy as np
        except ImportError:
            np = None
        if np is None or (m == n and not as_array):
            if m == n:
                return list(values)  # the mid-quantile (i + 0.5) / n of n values is the i-th
            return [values[_rank((i + 0.5) / m, n)] for i in range(m)]
        array = np.fromiter(values, dtype=np.int64, count=n)
        if m != n:
            array = array[_ranks_for_levels(np, (np.arange(m) + 0.5) / m, n)]
        return array if as_array else array.tolist()
    return [td_us(capability.quantile((i + 0.5) / m)) for i in range(m)]


def _ranks_for_levels(np: Any, levels: Any, n: int) -> Any:
    """``_rank(q, n)`` for every level ``q``: the same float comparisons, as arrays."""
    size = float(n)
    k = np.clip(np.ceil(levels * size), 1, n).astype(np.int64)
    while True:
        down = (k > 1) & ((k - 1) / size >= levels)
        if not down.any():
            break
        k -= down
    while True:
        up = (k < n) & (k / size < levels)
        if not up.any():
            break
        k += up
    return k - 1


def _neighbourhood(support: list[int], window: int, lo: int, hi: int) -> list[int]:
    """Windows re-scored exactly: ``window``, the sample durations on each side of it,
    and ``_EXACT_STEPS - 1`` evenly spaced windows strictly between ``lo`` and ``hi``."""
    index = bisect_right(support, window)
    near = {window, *support[max(index - 1, 0) : index + 1]}
    step = (hi - lo) / _EXACT_STEPS
    near.update(lo + math.ceil(step * j) for j in range(1, _EXACT_STEPS))
    return sorted(near)


def _first_best(values: list[float]) -> int:
    """The first index of the largest value (candidates ascend: the shortest window)."""
    top = max(values)
    if not math.isfinite(top):
        raise InvalidValueError(f"'satisfaction' must return finite numbers (got {top!r})")
    return values.index(top)


def _grid_array(np: Any, capability: Capability) -> Any:
    """:func:`_grid` as an ``int64`` array, without a conversion per level for a sample."""
    if isinstance(capability, _SampleMixin):
        values = capability._values
        n = len(values)
        levels = np.arange(1, _GRID, dtype=np.int64) / _GRID  # the same floats as j / _GRID
        return np.asarray([values[r] for r in _ranks_for_levels(np, levels, n).tolist()])
    return np.asarray(_grid(capability), dtype=np.int64)


def _grid(capability: Capability) -> list[int]:
    if not capability.is_distribution:
        return [td_us(capability.quantile(0.5))]
    return [td_us(capability.quantile(j / _GRID)) for j in range(1, _GRID)]


def optimal_quote(
    start: datetime,
    capability: Capability | Any,
    satisfaction: SatisfactionFunction,
    *,
    quote_cost: float = 0.0,
    cost_unit: timedelta = _HOUR,
    calendar: BusinessCalendar | None = None,
    policy: BufferPolicy | None = None,
    segment: Hashable | None = None,
    points: int = 2000,
    what: str = "due",
) -> Quote:
    """Quote the due maximizing expected satisfaction minus the cost of the quoted window.

    Same as :func:`quote` with ``OptimalBuffer(satisfaction, ...)`` followed by
    ``policy`` (e.g. ``RoundUp("quarter-hour")``).

    Example:
        >>> from datetime import datetime, timezone
        >>> cap = ParametricCapability.exponential(mean=timedelta(minutes=20))
        >>> start = datetime(2026, 3, 10, 9, 0, tzinfo=timezone.utc)
        >>> q = optimal_quote(start, cap, LinearLatenessCost(c_late=20, c_quote=1))
        >>> round(q.window.total_seconds() / 60, 2)
        59.91

    .. versionadded:: 0.1.0
    """
    optimal = OptimalBuffer(satisfaction, quote_cost=quote_cost, cost_unit=cost_unit, points=points)
    combined: BufferPolicy = (
        optimal if policy is None else optimal + _check_policy("policy", policy)
    )
    return quote(start, capability, combined, calendar, segment=segment, what=what)
