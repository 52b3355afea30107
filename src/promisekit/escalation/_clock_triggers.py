"""The triggers of the SLA clock: elapsed, remaining, overdue, silence, risk, buffer zone.

Each is monotone in the SLA clock within a segment, so its truth is one interval starting
where the clock reaches a threshold: :meth:`Segment.after <._timeline.Segment.after>` finds
it in closed form (through ``BusinessCalendar.add``), or after a bisection on a monotone
function for :class:`AtRisk`. Imports :mod:`._triggers`, :mod:`._timeline` and :mod:`._time`.
"""

from __future__ import annotations

import math
from datetime import timedelta
from fractions import Fraction
from typing import Any, ClassVar, Protocol, runtime_checkable

import attrs

from promisekit._validation import describe
from promisekit.errors import InvalidTypeError, InvalidValueError
from promisekit.escalation._intervals import Intervals
from promisekit.escalation._time import duration_from_kwargs, format_duration, kwargs_repr, td_us
from promisekit.escalation._timeline import Segment, span
from promisekit.escalation._triggers import Trigger, ceil_mul, pct, unit_fraction

__all__ = [
    "AtRisk",
    "BufferZone",
    "CapabilityLike",
    "Elapsed",
    "OverdueBy",
    "Remaining",
    "Silence",
]


@runtime_checkable
class CapabilityLike(Protocol):
    """What :class:`AtRisk` needs from a capability: the distribution of durations.

    :class:`promisekit.buffering.Capability` implements it.

    .. versionadded:: 0.1.0
    """

    def cdf(self, duration: timedelta) -> float:
        """Probability that the work is done within ``duration``."""
        ...


# --------------------------------------------------------------------------- time triggers


def _convert_elapsed(value: Any) -> float:
    return unit_fraction("fraction", value)


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
        return f"elapsed >= {pct(self.fraction)}"

    def truth(self, segment: Segment) -> Intervals:
        window = segment.window
        threshold = ceil_mul(window, self._ratio) if window > 0 else 0
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
    return unit_fraction("p", value)


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
        return f"at_risk >= {pct(self.p)}"

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
    return unit_fraction("yellow", value)


def _convert_red(value: Any) -> float:
    return unit_fraction("red", value)


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
