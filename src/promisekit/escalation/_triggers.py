"""Triggers: conditions on a tracked promise that become true at a computable instant.

Every trigger answers, for a span of the promise's life during which its recorded state is
constant (a *segment*), the exact set of instants at which it is true — a sorted list of
half-open intervals ``[a, b)`` of integer microseconds. Time-driven triggers are monotone in
the SLA clock, so that set is one interval starting where the clock reaches a threshold, found
in closed form through :meth:`BusinessCalendar.add <promisekit.calendar.BusinessCalendar.add>`
(or by bisection on a monotone function for :class:`AtRisk` and
:class:`PredictedDissatisfaction`) — never by scanning. Half-open intervals are closed under
``&``, ``|`` and ``~``, so every combination still has a *first* instant at which it is true.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from fractions import Fraction
from typing import Any, ClassVar, Protocol, runtime_checkable

import attrs

from promisekit._validation import check_aware, check_finite, describe
from promisekit.errors import InvalidTypeError, InvalidValueError
from promisekit.escalation._time import (
    INF,
    duration_from_kwargs,
    format_duration,
    from_us,
    kwargs_repr,
    td_us,
    to_us,
)
from promisekit.escalation._timeline import Segment, span, timeline
from promisekit.escalation._track import TrackedPromise
from promisekit.promise import Promise

__all__ = [
    "LEVEL_NAMES",
    "AllOf",
    "AnyOf",
    "AtRisk",
    "BufferZone",
    "CapabilityLike",
    "Elapsed",
    "Not",
    "OverdueBy",
    "PredictedDissatisfaction",
    "Remaining",
    "Revised",
    "SatisfactionPredictor",
    "Silence",
    "Trigger",
]

Intervals = list[tuple[int, int]]

#: Names of the five satisfaction levels, worst first, valued 1 to 5
#: (as :class:`promisekit.satisfaction.Level`).
LEVEL_NAMES = ("very_dissatisfied", "dissatisfied", "neutral", "satisfied", "very_satisfied")


@runtime_checkable
class CapabilityLike(Protocol):
    """What :class:`AtRisk` needs from a capability: the distribution of durations.

    :class:`promisekit.buffering.Capability` implements it.

    .. versionadded:: 0.1.0
    """

    def cdf(self, duration: timedelta) -> float:
        """Probability that the work is done within ``duration``."""
        ...


#: ``predictor(promise, delivered_at)`` — the satisfaction level (an ``int``-like such as
#: :class:`promisekit.satisfaction.Level`, 1 = very dissatisfied … 5 = very satisfied, or an
#: object with a ``level`` attribute) the customer would have if the promise were delivered
#: at ``delivered_at``.
SatisfactionPredictor = Callable[[Promise, datetime], Any]


# --------------------------------------------------------------------------- interval algebra


def _intersect(a: Intervals, b: Intervals) -> Intervals:
    out: Intervals = []
    i = j = 0
    while i < len(a) and j < len(b):
        lo = max(a[i][0], b[j][0])
        hi = min(a[i][1], b[j][1])
        if lo < hi:
            out.append((lo, hi))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return out


def _union(a: Intervals, b: Intervals) -> Intervals:
    out: Intervals = []
    for lo, hi in sorted(a + b):
        if out and lo <= out[-1][1]:
            if hi > out[-1][1]:
                out[-1] = (out[-1][0], hi)
        else:
            out.append((lo, hi))
    return out


def _complement(a: Intervals, lo: int, hi: int) -> Intervals:
    out: Intervals = []
    cursor = lo
    for start, end in a:
        if start > cursor:
            out.append((cursor, start))
        cursor = max(cursor, end)
    if cursor < hi:
        out.append((cursor, hi))
    return out


def first_in(intervals: Intervals, start: int, stop: int) -> int | None:
    """The first instant in ``[start, stop)`` covered by ``intervals``, or ``None``."""
    for lo, hi in intervals:
        if hi <= start:
            continue
        moment = max(lo, start)
        return moment if moment < stop else None
    return None


def _ceil_mul(value: int, ratio: tuple[int, int]) -> int:
    """``ceil(value * num / den)`` exactly."""
    num, den = ratio
    return -((-value * num) // den)


def _pct(value: float) -> str:
    return f"{value * 100:.6g}%"


# --------------------------------------------------------------------------- base


@attrs.frozen
class Trigger:
    """Base class of triggers; combine them with ``&``, ``|`` and ``~``.

    ``a & b`` is :class:`AllOf`, ``a | b`` is :class:`AnyOf` (nested groups are flattened),
    ``~a`` is :class:`Not` (``~~a`` is ``a``). Subclass it and implement :meth:`truth` to
    plug in a trigger of your own (register it with
    :func:`~promisekit.escalation.register_trigger` to use it in TOML policies).

    .. versionadded:: 0.1.0
    """

    def truth(self, segment: Segment) -> Intervals:
        """The instants of ``segment`` (``[segment.lo, segment.hi)``) at which it is true.

        Must depend only on the segment's state (not on when it is asked), and return
        sorted, disjoint, non-empty half-open intervals inside the segment.

        .. versionadded:: 0.1.0
        """
        raise NotImplementedError

    def __and__(self, other: Trigger) -> Trigger:
        _check_trigger("&", other)
        return AllOf(self, other)

    def __or__(self, other: Trigger) -> Trigger:
        _check_trigger("|", other)
        return AnyOf(self, other)

    def __invert__(self) -> Trigger:
        return Not(self)

    def __str__(self) -> str:
        return self.describe()

    def describe(self) -> str:
        """The condition in the policy-file syntax (``"elapsed >= 50%"``).

        .. versionadded:: 0.1.0
        """
        return repr(self)

    def is_true(self, track: TrackedPromise, at: datetime) -> bool:
        """Whether the trigger is true at ``at``, given what was recorded up to ``at``.

        Always false while the promise is paused, completed, or not yet made.

        .. versionadded:: 0.1.0
        """
        instant = to_us(check_aware("at", at))
        segment = timeline(_check_track(track)).segment_at(instant)
        if segment is None or segment.paused or segment.closed:
            return False
        return first_in(self.truth(segment), instant, instant + 1) is not None

    def becomes_true(self, track: TrackedPromise, after: datetime | None = None) -> datetime | None:
        """The first instant ``>= after`` (default ``made_at``) at which the trigger is true.

        Uses the recorded history, then assumes nothing more happens after the last
        recorded event. ``None`` when it never becomes true. Computed in closed form.

        .. versionadded:: 0.1.0
        """
        tl = timeline(_check_track(track))
        start = tl.starts[0] if after is None else max(to_us(check_aware("after", after)), 0)
        for segment in tl.segments(start, INF):
            if segment.paused or segment.closed:
                continue
            moment = first_in(self.truth(segment), max(start, segment.lo), segment.hi)
            if moment is not None:
                return from_us(moment, track.zone)
        return None


def _check_trigger(op: str, value: object) -> None:
    if not isinstance(value, Trigger):
        raise InvalidTypeError(
            f"the operands of {op!r} must be triggers (got {type(value).__name__} "
            f"{describe(value)})"
        )


def _check_track(value: object) -> TrackedPromise:
    if not isinstance(value, TrackedPromise):
        raise InvalidTypeError(
            f"'track' must be a TrackedPromise (got {type(value).__name__} {describe(value)})"
        )
    return value


def _unit_fraction(field: str, value: Any, *, allow_zero: bool = False) -> float:
    number = check_finite(field, value)
    low_ok = number >= 0 if allow_zero else number > 0
    if not low_ok or number > 1:
        interval = "[0, 1]" if allow_zero else "(0, 1]"
        raise InvalidValueError(
            f"{field!r} must be a fraction in {interval}, i.e. at most 100% (got {describe(value)})"
        )
    return number


# --------------------------------------------------------------------------- time triggers


def _convert_elapsed(value: Any) -> float:
    return _unit_fraction("fraction", value)


@attrs.frozen(repr=False)
class Elapsed(Trigger):
    """At least ``fraction`` of the promise window has elapsed on the SLA clock.

    The window runs from ``made_at`` to the due date in force (business time with a
    calendar, pauses excluded); a revision changes the window, never the elapsed history.

    Args:
        fraction: In ``(0, 1]``: ``0.5`` is half the window, ``1.0`` the due date.

    Example:
        ``Elapsed(0.5) & ~Revised(times=1)``

    .. versionadded:: 0.1.0
    """

    fraction: float = attrs.field(converter=_convert_elapsed)
    _ratio: tuple[int, int] = attrs.field(init=False, eq=False, hash=False, repr=False)

    def __attrs_post_init__(self) -> None:
        object.__setattr__(self, "_ratio", self.fraction.as_integer_ratio())

    def __repr__(self) -> str:
        return f"Elapsed({self.fraction!r})"

    def describe(self) -> str:
        return f"elapsed >= {_pct(self.fraction)}"

    def truth(self, segment: Segment) -> Intervals:
        window = segment.window
        threshold = _ceil_mul(window, self._ratio) if window > 0 else 0
        return segment.after(threshold)


class _DurationTrigger(Trigger):
    """Shared constructor of the triggers with a duration threshold."""

    __slots__ = ()
    threshold: timedelta
    _keyword: ClassVar[str] = ""

    def __init__(
        self,
        threshold: timedelta | float | None = None,
        *,
        days: float = 0,
        hours: float = 0,
        minutes: float = 0,
        seconds: float = 0,
    ) -> None:
        delta = duration_from_kwargs(
            "threshold", threshold, days=days, hours=hours, minutes=minutes, seconds=seconds
        )
        self.__attrs_init__(delta)  # type: ignore[attr-defined]

    def __repr__(self) -> str:
        return f"{type(self).__name__}({kwargs_repr(self.threshold)})"

    def describe(self) -> str:
        return f"{self._keyword} {format_duration(self.threshold)}"

    @property
    def _us(self) -> int:
        return td_us(self.threshold)


@attrs.frozen(init=False, repr=False)
class Remaining(_DurationTrigger):
    """At most ``threshold`` of SLA-clock time remains before the due date.

    Example:
        ``Remaining(hours=2)``; ``Remaining(timedelta(minutes=30))``

    .. versionadded:: 0.1.0
    """

    threshold: timedelta
    _keyword: ClassVar[str] = "remaining <="

    def truth(self, segment: Segment) -> Intervals:
        return segment.after(segment.window - self._us)


@attrs.frozen(init=False, repr=False)
class OverdueBy(_DurationTrigger):
    """The due date has passed by at least ``threshold`` of SLA-clock time.

    ``OverdueBy(0)`` is true from the due date itself. On a continuous clock "more than
    ``x``" and "at least ``x``" are first reached at the same instant: the engine reports it.

    .. versionadded:: 0.1.0
    """

    threshold: timedelta
    _keyword: ClassVar[str] = "overdue >="

    def truth(self, segment: Segment) -> Intervals:
        return segment.after(segment.window + self._us)


@attrs.frozen(init=False, repr=False)
class Silence(_DurationTrigger):
    """The customer has heard nothing for at least ``threshold`` of SLA-clock time.

    Silence runs from the last :class:`~promisekit.escalation.CustomerUpdate`, the last
    revision (the new date was announced) or ``made_at``. Pair it with ``every=`` on the rule
    to keep the customer informed throughout.

    .. versionadded:: 0.1.0
    """

    threshold: timedelta
    _keyword: ClassVar[str] = "silence >="

    def truth(self, segment: Segment) -> Intervals:
        return segment.after(segment.contact + self._us)


# --------------------------------------------------------------------------- risk


def _check_capability(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not callable(getattr(value, "cdf", None)):
        raise InvalidTypeError(
            f"'capability' must have a cdf(duration) method, such as a "
            f"promisekit.buffering capability (got {type(value).__name__} {describe(value)})"
        )


def _convert_p(value: Any) -> float:
    return _unit_fraction("p", value)


@attrs.frozen
class AtRisk(Trigger):
    """The probability of missing the due date, given the elapsed time, is at least ``p``.

    With ``T`` the duration of the work (the capability's distribution, in business time
    with a calendar), ``W`` the window and ``e`` the elapsed SLA-clock time, the risk is
    ``P(T > W | T > e) = S(W) / S(e)`` (``S = 1 - cdf``): it only grows with ``e``, and is 1
    once the due date has passed. The first instant it reaches ``p`` is found by bisection
    on ``e`` (exact to the microsecond).

    Args:
        p: Threshold probability in ``(0, 1]``.
        capability: Anything with ``cdf(duration) -> float``.

    .. versionadded:: 0.1.0
    """

    p: float = attrs.field(converter=_convert_p)
    capability: CapabilityLike = attrs.field(validator=_check_capability, kw_only=True)

    def describe(self) -> str:
        return f"at_risk >= {_pct(self.p)}"

    def risk(self, elapsed: timedelta, window: timedelta) -> float:
        """``P(T > window | T > elapsed)``.

        .. versionadded:: 0.1.0
        """
        if elapsed >= window:
            return 1.0
        survive_elapsed = 1.0 - float(self.capability.cdf(elapsed))
        if survive_elapsed <= 0.0:
            return 1.0
        return min(1.0, (1.0 - float(self.capability.cdf(window))) / survive_elapsed)

    def threshold(self, window: int) -> int:
        """The smallest elapsed clock time (µs) at which the risk reaches ``p``."""
        if window <= 0:
            return 0
        cdf = self.capability.cdf
        survive_window = 1.0 - float(cdf(timedelta(microseconds=window)))
        p = self.p

        def risky(elapsed: int) -> bool:
            survive = 1.0 - float(cdf(timedelta(microseconds=elapsed)))
            return survive <= 0.0 or survive_window >= p * survive

        if risky(0):
            return 0
        low, high = 0, window  # risky(low) is false; at the window the risk is 1
        while high - low > 1:
            mid = (low + high) // 2
            if risky(mid):
                high = mid
            else:
                low = mid
        return high

    def truth(self, segment: Segment) -> Intervals:
        return segment.after(self.threshold(segment.window))


# --------------------------------------------------------------------------- buffer zone

_ZONES = ("green", "yellow", "red")


def _convert_zone(value: Any) -> str:
    if not isinstance(value, str):
        raise InvalidTypeError(
            f"'zone' must be a string (got {type(value).__name__} {describe(value)})"
        )
    zone = value.strip().lower()
    if zone not in _ZONES:
        raise InvalidValueError(
            f"'zone' must be one of 'green', 'yellow', 'red' (got {describe(value)})"
        )
    return zone


def _convert_yellow(value: Any) -> float:
    return _unit_fraction("yellow", value)


def _convert_red(value: Any) -> float:
    return _unit_fraction("red", value)


@attrs.frozen
class BufferZone(Trigger):
    """Critical Chain fever chart: the promise is in ``zone`` or worse.

    The chain is the planned work (``made_at`` to the promise's internal ``target``), the
    buffer is ``target`` to ``due`` (SLA-clock time). With progress ``f`` (the last
    :class:`~promisekit.escalation.ProgressReport`, 0 before any) and elapsed ``e``, the
    buffer consumed is ``(e - f * chain) / buffer``; the promise is *yellow* from
    ``yellow`` (1/3 by default) and *red* from ``red`` (2/3). ``BufferZone("yellow")`` is
    also true in red; for yellow only write ``BufferZone("yellow") & ~BufferZone("red")``.

    Each revision is judged by its own plan: the original promise by its original target
    and due, a revision by the target and due it set (:attr:`TrackedPromise.past_targets`
    keeps the earlier ones), so recording a revision never changes what was true before
    it. Never true for a revision without a ``target`` or with an empty buffer.

    .. versionadded:: 0.1.0
    """

    zone: str = attrs.field(converter=_convert_zone)
    yellow: float = attrs.field(default=1 / 3, kw_only=True, converter=_convert_yellow)
    red: float = attrs.field(default=2 / 3, kw_only=True, converter=_convert_red)

    @red.validator
    def _check_red(self, attribute: attrs.Attribute[float], value: float) -> None:
        if not self.yellow < value:
            raise InvalidValueError(
                f"'red' must be above 'yellow' ({describe(self.yellow)}) (got {describe(value)})"
            )

    def __repr__(self) -> str:
        extra = ""
        if (self.yellow, self.red) != (1 / 3, 2 / 3):
            extra = f", yellow={self.yellow!r}, red={self.red!r}"
        return f"BufferZone({self.zone!r}{extra})"

    def describe(self) -> str:
        return f"buffer_zone >= {self.zone}"

    def truth(self, segment: Segment) -> Intervals:
        target = segment.target
        if target is None:
            return []
        buffer = span(segment.track.calendar, target, segment.deadline)
        if buffer <= 0:
            return []
        chain = segment.window - buffer
        level = {"green": 0.0, "yellow": self.yellow, "red": self.red}[self.zone]
        threshold = Fraction(segment.progress) * chain + Fraction(level) * buffer
        return segment.after(math.ceil(threshold))


# --------------------------------------------------------------------------- state triggers


def _check_times(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidTypeError(
            f"'times' must be an int (got {type(value).__name__} {describe(value)})"
        )
    if value < 1:
        raise InvalidValueError(f"'times' must be >= 1 (got {describe(value)})")


@attrs.frozen
class Revised(Trigger):
    """The promise has been revised at least ``times`` times (repeated misses hurt more).

    .. versionadded:: 0.1.0
    """

    times: int = attrs.field(default=1, validator=_check_times)

    def describe(self) -> str:
        return f"revised >= {self.times}"

    def truth(self, segment: Segment) -> Intervals:
        return [(segment.lo, segment.hi)] if segment.revision >= self.times else []


def _level_value(field: str, value: object) -> int:
    level = getattr(value, "level", value)
    if isinstance(level, bool) or not isinstance(level, int):
        raise InvalidTypeError(
            f"{field!r} must be a satisfaction level (an int 1-5 such as "
            f"promisekit.satisfaction.Level) (got {type(value).__name__} {describe(value)})"
        )
    return int(level)


def _check_level(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    number = _level_value(attribute.name, value)
    if not 1 <= number <= 5:
        raise InvalidValueError(
            f"{describe(attribute.name)} must be between 1 and 5 (got {describe(value)})"
        )


def _check_predictor(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not callable(value):
        raise InvalidTypeError(
            f"'predictor' must be callable as predictor(promise, delivered_at) "
            f"(got {type(value).__name__} {describe(value)})"
        )


def _check_horizon(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, timedelta) or value <= timedelta(0):
        raise InvalidValueError(f"'horizon' must be a positive timedelta (got {describe(value)})")


@attrs.frozen
class PredictedDissatisfaction(Trigger):
    """Delivering now would leave the customer at ``at_or_below`` or worse.

    ``predictor(promise, delivered_at)`` gives the level the customer would have if the
    promise (as in force) were delivered at ``delivered_at``. A later delivery is assumed
    never to satisfy more, so the first instant is found by bisection (to the second) over
    ``made_at`` … ``due + horizon``; later than that it is never true.

    .. versionadded:: 0.1.0
    """

    at_or_below: Any = attrs.field(validator=_check_level)
    predictor: SatisfactionPredictor = attrs.field(kw_only=True, validator=_check_predictor)
    horizon: timedelta = attrs.field(
        default=timedelta(days=366), kw_only=True, validator=_check_horizon
    )

    def describe(self) -> str:
        return f"satisfaction <= {LEVEL_NAMES[_level_value('at_or_below', self.at_or_below) - 1]}"

    def _bad(self, promise: Promise, instant: int) -> bool:
        zone = promise.due.tzinfo or timezone.utc
        predicted = self.predictor(promise, from_us(instant, zone))
        return _level_value("predictor result", predicted) <= _level_value(
            "at_or_below", self.at_or_below
        )

    def threshold(self, promise: Promise) -> int:
        """The first instant (µs) at which delivering would be at or below the level."""
        start = to_us(promise.made_at)
        if self._bad(promise, start):
            return start
        seconds = (to_us(promise.due) + td_us(self.horizon) - start) // 1_000_000 + 1
        if not self._bad(promise, start + seconds * 1_000_000):
            return INF
        low, high = 0, seconds
        while high - low > 1:
            mid = (low + high) // 2
            if self._bad(promise, start + mid * 1_000_000):
                high = mid
            else:
                low = mid
        return start + high * 1_000_000

    def truth(self, segment: Segment) -> Intervals:
        moment = max(self.threshold(segment.track.promise_at(segment.revision)), segment.lo)
        return [(moment, segment.hi)] if moment < segment.hi else []


# --------------------------------------------------------------------------- combinators


def _flatten(kind: type, triggers: tuple[Any, ...]) -> tuple[Trigger, ...]:
    out: list[Trigger] = []
    for item in triggers:
        _check_trigger(kind.__name__, item)
        if type(item) is kind:
            out.extend(item.triggers if isinstance(item, (AllOf, AnyOf)) else ())
        else:
            out.append(item)
    if not out:
        raise InvalidValueError(f"{kind.__name__} needs at least one trigger (got none)")
    return tuple(out)


def _group_repr(trigger: Trigger) -> str:
    text = repr(trigger)
    return f"({text})" if isinstance(trigger, (AllOf, AnyOf)) else text


def _group_str(trigger: Trigger) -> str:
    text = trigger.describe()
    return f"({text})" if isinstance(trigger, (AllOf, AnyOf)) else text


@attrs.frozen(init=False, repr=False)
class AllOf(Trigger):
    """True when every one of ``triggers`` is true (``a & b``; nested groups flatten).

    .. versionadded:: 0.1.0
    """

    triggers: tuple[Trigger, ...]

    def __init__(self, *triggers: Trigger) -> None:
        self.__attrs_init__(_flatten(AllOf, triggers))

    def __repr__(self) -> str:
        if len(self.triggers) == 1:
            return f"AllOf({self.triggers[0]!r})"
        return " & ".join(_group_repr(t) for t in self.triggers)

    def describe(self) -> str:
        return " and ".join(_group_str(t) for t in self.triggers)

    def truth(self, segment: Segment) -> Intervals:
        result = self.triggers[0].truth(segment)
        for trigger in self.triggers[1:]:
            if not result:
                break
            result = _intersect(result, trigger.truth(segment))
        return result


@attrs.frozen(init=False, repr=False)
class AnyOf(Trigger):
    """True when at least one of ``triggers`` is true (``a | b``; nested groups flatten).

    .. versionadded:: 0.1.0
    """

    triggers: tuple[Trigger, ...]

    def __init__(self, *triggers: Trigger) -> None:
        self.__attrs_init__(_flatten(AnyOf, triggers))

    def __repr__(self) -> str:
        if len(self.triggers) == 1:
            return f"AnyOf({self.triggers[0]!r})"
        return " | ".join(_group_repr(t) for t in self.triggers)

    def describe(self) -> str:
        return " or ".join(_group_str(t) for t in self.triggers)

    def truth(self, segment: Segment) -> Intervals:
        result: Intervals = []
        for trigger in self.triggers:
            result = _union(result, trigger.truth(segment))
        return result


def _check_inner(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    _check_trigger("~", value)


@attrs.frozen(repr=False)
class Not(Trigger):
    """True when ``trigger`` is false (``~a``; ``~~a`` gives back ``a``).

    .. versionadded:: 0.1.0
    """

    trigger: Trigger = attrs.field(validator=_check_inner)

    def __invert__(self) -> Trigger:
        return self.trigger

    def __repr__(self) -> str:
        return f"~{_group_repr(self.trigger)}"

    def describe(self) -> str:
        return f"not {_group_str(self.trigger)}"

    def truth(self, segment: Segment) -> Intervals:
        return _complement(self.trigger.truth(segment), segment.lo, segment.hi)
