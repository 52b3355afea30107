"""Triggers on named SLA clocks, the plan that names a ticket's clocks, and "who spoke last".

:class:`ClockCondition` is true when a named clock (:class:`~._sla_clocks.SlaClock`) has at
most some time remaining, has used some time or share of its target, or is overdue; within
a segment of the ticket's timeline its truth is one interval found in closed form, so it
combines with the other triggers and keeps sparse evaluation equal to continuous
evaluation. :class:`SlaPlan` gathers a ticket's clocks; passed to a policy as the binding
``"sla"``, its clocks are usable in conditions (``"next_response remaining <= 15m"``).
Imports :mod:`._sla_clocks`, :mod:`._triggers`, :mod:`._timeline` and :mod:`._time`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

import attrs

from promisekit._validation import describe
from promisekit.errors import InvalidTypeError, InvalidValueError
from promisekit.escalation._intervals import Intervals
from promisekit.escalation._sla_clocks import ClockReading, SlaClock, clock_table, round_up
from promisekit.escalation._time import (
    duration_from_kwargs,
    format_duration,
    kwargs_repr,
    parse_duration,
    td_us,
)
from promisekit.escalation._timeline import Segment, reach
from promisekit.escalation._track import TrackedPromise
from promisekit.escalation._triggers import Trigger, pct, unit_fraction

__all__ = ["MEASURES", "ClockCondition", "SlaPlan", "Unanswered", "clock_condition"]

#: The measures a condition may read from a named clock.
MEASURES = ("remaining", "elapsed", "overdue", "breached")


def _check_clock(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, SlaClock):
        raise InvalidTypeError(
            f"'clock' must be an SlaClock (got {type(value).__name__} {describe(value)})"
        )


def _convert_measure(value: object) -> str:
    if not isinstance(value, str) or value not in MEASURES:
        raise InvalidValueError(
            f"'measure' must be one of {', '.join(MEASURES)} (got {describe(value)})"
        )
    return value


def _convert_amount(value: object) -> timedelta | float:
    if isinstance(value, float) and not isinstance(value, bool):
        return unit_fraction("amount", value)
    return duration_from_kwargs("amount", value)


@attrs.frozen
class ClockCondition(Trigger):
    """A condition on a named SLA clock of the ticket.

    * ``ClockCondition(clock, "remaining", timedelta(minutes=15))`` — the clock is active
      and at most 15 minutes of its target remain (also true once breached);
    * ``ClockCondition(clock, "elapsed", 0.5)`` (a fraction of the target) or
      ``ClockCondition(clock, "elapsed", timedelta(hours=1))``;
    * ``ClockCondition(clock, "overdue", timedelta(hours=1))`` — breached by at least 1h;
      ``ClockCondition(clock, "breached")`` — breached (overdue by 0).

    Never true while the clock is not active (a ``next_response`` clock before a customer
    message, a ``first_response`` clock once answered). Rules fire only while the ticket is
    open and not paused: a clock that keeps running while paused (``pauses=False``) is
    exact in its readings, and a condition that became true during a pause fires at the
    resumption.

    .. versionadded:: 0.1.0
    """

    clock: SlaClock = attrs.field(validator=_check_clock)
    measure: str = attrs.field(converter=_convert_measure)
    amount: timedelta | float = attrs.field(default=timedelta(0), converter=_convert_amount)

    def __attrs_post_init__(self) -> None:
        if isinstance(self.amount, float) and self.measure != "elapsed":
            raise InvalidValueError(
                f"'amount' may be a fraction of the target only for 'elapsed' "
                f"(got {describe(self.amount)} for {describe(self.measure)})"
            )

    def describe(self) -> str:
        name = self.clock.name
        if self.measure == "breached" or (
            self.measure == "overdue" and self.amount == timedelta(0)
        ):
            return f"{name} breached"
        op = "<=" if self.measure == "remaining" else ">="
        if isinstance(self.amount, float):
            return f"{name} elapsed >= {pct(self.amount)}"
        return f"{name} {self.measure} {op} {format_duration(self.amount)}"

    def threshold(self) -> int:
        """The exact clock value (µs) from which the condition is true."""
        target = td_us(self.clock.target)
        amount = self.amount
        if isinstance(amount, float):
            num, den = amount.as_integer_ratio()
            value = -((-target * num) // den)
        elif self.measure == "remaining":
            value = max(target - td_us(amount), 0)
        elif self.measure == "elapsed":
            value = td_us(amount)
        else:
            value = target + td_us(amount)
        return round_up(value, self.clock.rounding)

    def truth(self, segment: Segment) -> Intervals:
        track = segment.track
        active, value, running = clock_table(track, self.clock)[segment.index]
        if not active:
            return []
        goal = self.threshold()
        if value >= goal:
            return [(segment.lo, segment.hi)]
        if not running:
            return []
        start = reach(self.clock.calendar_of(track), segment.lo, goal - value)
        return [(start, segment.hi)] if start < segment.hi else []


@attrs.frozen(init=False, repr=False)
class Unanswered(Trigger):
    """The customer spoke last, at least ``threshold`` of SLA-clock time ago.

    Counts from the customer's last :class:`~promisekit.escalation.InboundMessage` not
    followed by a message to the customer (:meth:`TrackedPromise.notify`), on the track's
    calendar, stopped while paused or closed. :class:`Silence` is its counterpart: time
    since the last message *to* the customer.

    Example:
        ``Unanswered(hours=4)``

    .. versionadded:: 0.1.0
    """

    threshold: timedelta
    _clock: SlaClock = attrs.field(eq=False, hash=False)

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
        clock = SlaClock("unanswered", "next_response", max(delta, timedelta(microseconds=1)))
        self.__attrs_init__(delta, clock)

    def __repr__(self) -> str:
        return f"Unanswered({kwargs_repr(self.threshold)})"

    def describe(self) -> str:
        return f"unanswered >= {format_duration(self.threshold)}"

    def truth(self, segment: Segment) -> Intervals:
        condition = ClockCondition(self._clock, "elapsed", self.threshold)
        return condition.truth(segment)


def _convert_clocks(value: object) -> tuple[SlaClock, ...]:
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        raise InvalidTypeError(
            f"'clocks' must be a sequence of SlaClock (got {type(value).__name__} "
            f"{describe(value)})"
        )
    clocks = tuple(value)
    seen: set[str] = set()
    for index, clock in enumerate(clocks):
        if not isinstance(clock, SlaClock):
            raise InvalidTypeError(
                f"'clocks[{index}]' must be an SlaClock (got {type(clock).__name__} "
                f"{describe(clock)})"
            )
        if clock.name in seen:
            raise InvalidValueError(f"'clocks' names {describe(clock.name)} twice")
        seen.add(clock.name)
    return clocks


@attrs.frozen
class SlaPlan:
    """The named SLA clocks of a ticket (say, of one priority).

    Pass it to a policy as the binding ``"sla"``
    (``EscalationPolicy.from_toml(text, bindings={"sla": plan})``) to name its clocks in
    conditions: ``"first_response remaining <= 30m"``, ``"resolution elapsed >= 75%"``,
    ``"next_response breached"``, ``"resolution overdue >= 2h"``.

    Attributes:
        clocks: The clocks, with distinct names.

    .. versionadded:: 0.1.0
    """

    clocks: tuple[SlaClock, ...] = attrs.field(converter=_convert_clocks)

    def clock(self, name: str) -> SlaClock:
        """The clock named ``name``.

        Raises:
            InvalidValueError: No clock has that name.

        .. versionadded:: 0.1.0
        """
        for clock in self.clocks:
            if clock.name == name:
                return clock
        known = ", ".join(c.name for c in self.clocks) or "none"
        raise InvalidValueError(f"no SLA clock named {describe(name)} (the plan has: {known})")

    def readings(self, track: TrackedPromise, at: datetime) -> dict[str, ClockReading]:
        """Every clock's reading at ``at``, by name.

        .. versionadded:: 0.1.0
        """
        return {clock.name: clock.reading(track, at) for clock in self.clocks}

    def replace(self, clock: SlaClock) -> SlaPlan:
        """A copy with ``clock`` in place of the clock of the same name (or added).

        .. versionadded:: 0.1.0
        """
        _check_clock(self, attrs.fields(SlaPlan).clocks, clock)
        kept = [c for c in self.clocks if c.name != clock.name]
        return SlaPlan((*kept, clock))


def clock_condition(
    name: str, measure: str, op: str | None, value: str | None, bindings: Mapping[str, Any]
) -> Trigger:
    """Build the condition ``NAME MEASURE [OP VALUE]`` on a clock of ``bindings["sla"]``."""
    plan = bindings.get("sla")
    if not isinstance(plan, SlaPlan):
        raise InvalidValueError(
            f"the clock condition {describe(name + ' ' + measure)} needs the binding 'sla' "
            f"(an SlaPlan naming the clocks): pass bindings={{'sla': plan}}"
        )
    clock = plan.clock(name)
    where = f"{name} {measure}"
    if measure == "breached":
        if op is not None:
            raise InvalidValueError(f"{describe(where)} takes no comparison (got {op!r})")
        return ClockCondition(clock, "breached")
    allowed = ("<=", "<") if measure == "remaining" else (">=", ">")
    if op is None and measure == "overdue":
        return ClockCondition(clock, "overdue")
    if op not in allowed or value is None:
        got = "no comparison" if op is None else repr(op)
        raise InvalidValueError(
            f"{describe(where)} must be compared with {' or '.join(repr(a) for a in allowed)} "
            f"and a duration (got {got})"
        )
    if measure == "elapsed" and value.endswith("%"):
        try:
            number = float(value[:-1])
        except ValueError:
            number = math.nan
        if not 0 < number <= 100:
            raise InvalidValueError(
                f"{describe(where)} needs a percentage above 0% and at most 100% "
                f"(got {describe(value)})"
            )
        return ClockCondition(clock, "elapsed", number / 100)
    try:
        amount = parse_duration(value)
    except InvalidValueError as exc:
        raise InvalidValueError(f"{describe(where)}: {exc}") from None
    return ClockCondition(clock, measure, amount)
