"""Triggers: conditions on a tracked promise that become true at a computable instant.

Every trigger answers, for a span of the promise's life during which its recorded state is
constant (a *segment*), the exact set of instants at which it is true — a sorted list of
half-open intervals ``[a, b)`` of integer microseconds. Time-driven triggers are monotone in
the SLA clock, so that set is one interval starting where the clock reaches a threshold, found
in closed form through :meth:`BusinessCalendar.add <promisekit.calendar.BusinessCalendar.add>`
(or by bisection on a monotone function for :class:`AtRisk` and
:class:`PredictedDissatisfaction`) — never by scanning. Half-open intervals are closed under
``&``, ``|`` and ``~``, so every combination still has a *first* instant at which it is true.

This module holds the base class and the combinators (which the base class's operators
build); the built-in triggers live in :mod:`._clock_triggers` and :mod:`._state_triggers`.
Imports :mod:`._intervals`, :mod:`._timeline`, :mod:`._track` and :mod:`._time`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import attrs

from promisekit._validation import check_aware, check_finite, describe
from promisekit.errors import InvalidTypeError, InvalidValueError
from promisekit.escalation._intervals import Intervals, complement, first_in, intersect, union
from promisekit.escalation._time import INF, from_us, to_us
from promisekit.escalation._timeline import Segment, timeline
from promisekit.escalation._track import TrackedPromise

__all__ = ["AllOf", "AnyOf", "Not", "Trigger"]


def ceil_mul(value: int, ratio: tuple[int, int]) -> int:
    """``ceil(value * num / den)`` exactly."""
    num, den = ratio
    return -((-value * num) // den)


def pct(value: float) -> str:
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
        check_trigger("&", other)
        return AllOf(self, other)

    def __or__(self, other: Trigger) -> Trigger:
        check_trigger("|", other)
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


def check_trigger(op: str, value: object) -> None:
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


def unit_fraction(field: str, value: Any, *, allow_zero: bool = False) -> float:
    number = check_finite(field, value)
    low_ok = number >= 0 if allow_zero else number > 0
    if not low_ok or number > 1:
        interval = "[0, 1]" if allow_zero else "(0, 1]"
        raise InvalidValueError(
            f"{field!r} must be a fraction in {interval}, i.e. at most 100% (got {describe(value)})"
        )
    return number


# --------------------------------------------------------------------------- combinators


def _flatten(kind: type, triggers: tuple[Any, ...]) -> tuple[Trigger, ...]:
    out: list[Trigger] = []
    for item in triggers:
        check_trigger(kind.__name__, item)
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
            result = intersect(result, trigger.truth(segment))
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
            result = union(result, trigger.truth(segment))
        return result


def _check_inner(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    check_trigger("~", value)


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
        return complement(self.trigger.truth(segment), segment.lo, segment.hi)
