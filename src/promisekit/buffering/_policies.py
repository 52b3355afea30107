"""Buffer policies, their combinators, and the :class:`Quote` they produce.

The policy protocol (what a plugin policy implements): a policy maps
``(start, target, capability, calendar, due-so-far)`` to a new due. The first four
travel together in a :class:`QuoteContext`, so the one method to write is::

    def apply(self, context: QuoteContext, due: datetime) -> datetime: ...

A quote starts from ``due = context.target`` (``start`` plus the capability's median,
or the point estimate) and lets the policy transform it; combinators pass the due
from step to step (:class:`Chain`) or keep the latest of several (:class:`Later`).
Optionally, ``note(context, before, after)`` returns a few words for the quote's
explanation.
"""

from __future__ import annotations

import abc
from collections.abc import Hashable
from datetime import datetime, timedelta, tzinfo
from typing import Any, Literal

import attrs

from promisekit._validation import check_aware, check_duration, check_finite, check_non_empty_str
from promisekit.buffering._capability import Capability, _resolve_capability
from promisekit.buffering._common import (
    Clock,
    check_calendar,
    check_count,
    check_probability,
    fmt_duration,
    fmt_moment,
    fmt_quantile,
    round_up_wall,
    td_us,
    to_us,
    us_td,
)
from promisekit.calendar import BusinessCalendar
from promisekit.errors import InsufficientDataError, InvalidTypeError, InvalidValueError

__all__ = [
    "BufferPolicy",
    "Cap",
    "Chain",
    "FixedBuffer",
    "Floor",
    "Later",
    "NoBuffer",
    "ProportionalBuffer",
    "QuantileBuffer",
    "Quote",
    "QuoteContext",
    "RoundUp",
    "quote",
]


# --------------------------------------------------------------------------- context


class QuoteContext:
    """What a policy knows while quoting: start, internal target, capability, calendar.

    Policies receive it; they do not build it. All its arithmetic goes through
    the calendar when there is one (business time) and through UTC otherwise,
    and every datetime it returns is in :attr:`zone`.

    The keyword-only constructor arguments ``clock`` and ``start_us`` are private
    (the backtest passes a precomputed clock).

    Attributes:
        start: When the work was requested, in :attr:`zone`.
        target: The internal target: ``start`` plus :attr:`target_window`.
        target_window: The capability's median (or point estimate).
        capability: The capability being quoted.
        calendar: The business calendar, or ``None`` (real time).

    .. versionadded:: 0.1.0
    """

    __slots__ = (
        "_at",
        "_clock",
        "_instants",
        "_windows",
        "calendar",
        "capability",
        "start",
        "target",
        "target_window",
    )

    def __init__(
        self,
        start: datetime,
        capability: Capability,
        calendar: BusinessCalendar | None,
        *,
        clock: Clock | None = None,
        start_us: int | None = None,
    ) -> None:
        self._clock = Clock(calendar, start) if clock is None else clock
        self._at: dict[int, datetime] = {}
        self._windows: dict[int, int] = {}
        # id(datetime) -> (datetime, instant µs) for the datetimes this context made;
        # holding the object keeps its id from being reused.
        self._instants: dict[int, tuple[datetime, int]] = {}
        self.calendar = calendar
        self.capability = capability
        self.start = self._remember(
            self._clock.local(start), to_us(start) if start_us is None else start_us
        )
        self.target_window = capability.median()
        self.target = self.at(self.target_window)

    def __repr__(self) -> str:
        return (
            f"QuoteContext(start={self.start.isoformat()}, target={self.target.isoformat()}, "
            f"capability={self.capability!r}, calendar={self.calendar!r})"
        )

    def _remember(self, moment: datetime, instant: int) -> datetime:
        self._instants[id(moment)] = (moment, instant)
        return moment

    def _instant_us(self, moment: datetime) -> int:
        """Microseconds since the epoch of ``moment`` (cached; private API)."""
        known = self._instants.get(id(moment))
        if known is not None and known[0] is moment:
            return known[1]
        return to_us(moment)

    @property
    def zone(self) -> tzinfo:
        """The zone of every returned datetime (the calendar's, else the start's).

        .. versionadded:: 0.1.0
        """
        return self._clock.zone

    @property
    def business(self) -> bool:
        """Whether durations are business time (a calendar is in use).

        .. versionadded:: 0.1.0
        """
        return self.calendar is not None

    def at(self, window: timedelta) -> datetime:
        """``start`` plus ``window`` (>= 0) of business (or real) time.

        .. versionadded:: 0.1.0
        """
        key = td_us(window)
        cached = self._at.get(key)
        if cached is None:
            start = self.start
            cached, instant = self._clock.add_us(start, self._instant_us(start), key)
            self._at[key] = self._remember(cached, instant)
            self._windows[instant] = key
        return cached

    def advance(self, moment: datetime, work: timedelta) -> datetime:
        """``moment`` plus ``work`` (>= 0) of business (or real) time.

        .. versionadded:: 0.1.0
        """
        result, instant = self._clock.add_us(moment, self._instant_us(moment), td_us(work))
        return self._remember(result, instant)

    def later(self, a: datetime, b: datetime) -> datetime:
        """The later of two instants (``a`` on a tie).

        .. versionadded:: 0.1.0
        """
        return a if self._instant_us(a) >= self._instant_us(b) else b

    def window(self, due: datetime) -> timedelta:
        """Business (or real) time from ``start`` to ``due``: the promised window.

        .. versionadded:: 0.1.0
        """
        return us_td(self._window_us(due))

    def _window_us(self, due: datetime) -> int:
        """:meth:`window` in microseconds (private API)."""
        instant = self._instant_us(due)
        known = self._windows.get(instant)
        if known is not None:
            return known
        start = self.start
        return self._clock.span_us(start, self._instant_us(start), due, instant)


# --------------------------------------------------------------------------- quote


@attrs.frozen(slots=True)
class Quote:
    """A promise to make: internal target, external due, and why.

    Attributes:
        start: When the work was requested.
        target: The internal target (start plus the median or the point estimate).
        due: The external due date to promise; never before ``target``.
        buffer: ``due - target`` in real time.
        business_buffer: ``due - target`` in business time when a calendar was
            used, else ``None``.
        window: ``due - start``: business time with a calendar, real time without.
        confidence: Probability of keeping the promise (the capability's CDF at
            ``window``), or ``None`` for a point estimate.
        policy: The policy that produced the quote.
        explanation: One human line, e.g. ``"callback by 14:30 (p90 of 212 past
            callbacks = 37 business min, +15 min buffer, rounded up to the
            half-hour)"``.

    Every datetime is aware, in the calendar's zone (the start's zone without one).

    .. versionadded:: 0.1.0
    """

    start: datetime
    target: datetime
    due: datetime
    buffer: timedelta
    business_buffer: timedelta | None
    window: timedelta
    confidence: float | None
    policy: BufferPolicy
    explanation: str

    def __str__(self) -> str:
        return self.explanation


def _check_policy(field: str, value: Any) -> BufferPolicy:
    if not isinstance(value, BufferPolicy):
        raise InvalidTypeError(
            f"{field!r} must be a BufferPolicy such as QuantileBuffer(0.9) "
            f"(got {type(value).__name__} {value!r})"
        )
    return value


def _target_note(context: QuoteContext) -> str:
    capability = context.capability
    window = fmt_duration(context.target_window, business=context.business)
    if capability.is_distribution:
        return f"median of {capability.describe()} = {window}"
    return f"{capability.describe()} {window}"


class _Notes(list[str]):
    """Explanation fragments; ``leads`` when the first one states the base duration."""

    leads = False


def _check_due(policy: BufferPolicy, due: object) -> datetime:
    if not isinstance(due, datetime):
        raise InvalidTypeError(
            f"policy {policy!r} must return a datetime from apply() (got {type(due).__name__})"
        )
    if due.tzinfo is None or due.utcoffset() is None:
        check_aware(f"due returned by {policy!s}", due)
    return due


def _run(policy: BufferPolicy, context: QuoteContext, notes: _Notes | None) -> datetime:
    """Apply ``policy`` from the target and check the plugin contract."""
    due = _check_due(policy, policy._trace(context, context.target, notes))
    if context._instant_us(due) < context._instant_us(context.target):
        raise InvalidValueError(
            f"policy {policy!s} returned a due ({due.isoformat(' ')}) before the internal "
            f"target ({context.target.isoformat(' ')}); a promise must leave room for the work"
        )
    return context._clock.local(due)


def _build_quote(context: QuoteContext, policy: BufferPolicy, *, what: str = "due") -> Quote:
    """Run ``policy`` in ``context`` and assemble the :class:`Quote` (private API)."""
    notes = _Notes()
    due = _run(policy, context, notes)
    if not notes.leads:
        notes.insert(0, _target_note(context))
    if to_us(due) == to_us(context.target) and len(notes) == 1:
        notes.append("no buffer")
    window = context.window(due)
    capability = context.capability
    confidence = capability.cdf(window) if capability.is_distribution else None
    calendar = context.calendar
    return Quote(
        start=context.start,
        target=context.target,
        due=due,
        buffer=us_td(to_us(due) - to_us(context.target)),
        business_buffer=None if calendar is None else calendar.between(context.target, due),
        window=window,
        confidence=confidence,
        policy=policy,
        explanation=f"{what} by {fmt_moment(due, context.start)} ({', '.join(notes)})",
    )


def quote(
    start: datetime,
    capability: Capability | Any,
    policy: BufferPolicy,
    calendar: BusinessCalendar | None = None,
    *,
    segment: Hashable | None = None,
    what: str = "due",
) -> Quote:
    """Quote a due date for work requested at ``start``.

    The internal target is ``start`` plus the capability's median (or point
    estimate); ``policy`` then moves the due from the target (see the module
    docstring for the protocol). With a calendar, all arithmetic is business
    time and datetimes are in its zone; without, real (UTC) time in the start's
    zone.

    Args:
        start: When the work is requested (aware).
        capability: A :class:`Capability`, or a :class:`SegmentedCapability`
            together with ``segment``.
        policy: The :class:`BufferPolicy` to apply.
        calendar: Business calendar, or ``None`` for real time.
        segment: The segment to quote for, with a :class:`SegmentedCapability`.
        what: First word(s) of the explanation, e.g. ``"callback"``.

    Returns:
        The :class:`Quote`.

    Raises:
        NaiveDatetimeError: ``start`` has no time zone.
        InvalidTypeError: An argument has the wrong type.
        InsufficientDataError: The policy needs more history than the capability has.
        UnknownSegmentError: ``segment`` is unknown and there is no fallback.

    Example:
        >>> from datetime import datetime, timedelta, timezone
        >>> cap = EmpiricalCapability.from_durations(
        ...     [timedelta(minutes=m) for m in range(10, 50)], label="callbacks")
        >>> start = datetime(2026, 3, 10, 13, 50, tzinfo=timezone.utc)
        >>> q = quote(start, cap, QuantileBuffer(0.9) + RoundUp("half-hour"), what="callback")
        >>> print(q.explanation)
        callback by 15:00 (p90 of 40 past callbacks = 45 min, rounded up to the half-hour)
        >>> q.target.strftime("%H:%M"), round(q.confidence, 3)
        ('14:19', 1.0)

    .. versionadded:: 0.1.0
    """
    check_aware("start", start)
    _check_policy("policy", policy)
    calendar = check_calendar(calendar)
    check_non_empty_str("what", what)
    resolved = _resolve_capability(capability, segment)
    return _build_quote(QuoteContext(start, resolved, calendar), policy, what=what)


# --------------------------------------------------------------------------- base policy


class BufferPolicy(abc.ABC):
    """Base class of buffer policies: one small step from the due chosen so far.

    Subclasses implement :meth:`apply` (and optionally :meth:`note`). The base
    provides the combinators: ``a + b`` is :class:`Chain` (apply ``a`` then
    ``b``), ``a | b`` is :class:`Later` (the later of the two dues), and
    ``sum([a, b, c])`` chains too.

    .. versionadded:: 0.1.0
    """

    __slots__ = ()

    @abc.abstractmethod
    def apply(self, context: QuoteContext, due: datetime) -> datetime:
        """Return the new due given the due chosen so far.

        Args:
            context: Start, target, capability and calendar (with arithmetic helpers).
            due: The due chosen so far (initially ``context.target``).

        .. versionadded:: 0.1.0
        """

    def note(self, context: QuoteContext, before: datetime, after: datetime) -> str | None:
        """A few words for the explanation, or ``None`` to say nothing.

        The default describes a change of due and says nothing otherwise.

        .. versionadded:: 0.1.0
        """
        if to_us(before) == to_us(after):
            return None
        return f"{self!s}: {fmt_moment(before)} -> {fmt_moment(after)}"

    def quote(
        self,
        start: datetime,
        capability: Capability | Any,
        calendar: BusinessCalendar | None = None,
        *,
        segment: Hashable | None = None,
        what: str = "due",
    ) -> Quote:
        """Same as :func:`quote` with this policy.

        .. versionadded:: 0.1.0
        """
        return quote(start, capability, self, calendar, segment=segment, what=what)

    def _trace(self, context: QuoteContext, due: datetime, notes: _Notes | None) -> datetime:
        after = _check_due(self, self.apply(context, due))
        if notes is not None:
            text = self.note(context, due, after)
            if text:
                if not notes and self._states_base():
                    notes.leads = True
                notes.append(text)
        return after

    def _states_base(self) -> bool:
        """Whether this policy's note states the base duration (no target note needed)."""
        return False

    def __add__(self, other: object) -> Chain:
        return Chain(self, _check_policy("right operand of +", other))

    def __radd__(self, other: object) -> BufferPolicy:
        if isinstance(other, int) and not isinstance(other, bool) and other == 0:
            return self  # sum([...]) starts from 0
        return Chain(_check_policy("left operand of +", other), self)

    def __or__(self, other: object) -> Later:
        return Later(self, _check_policy("right operand of |", other))

    def __ror__(self, other: object) -> Later:
        return Later(_check_policy("left operand of |", other), self)


# --------------------------------------------------------------------------- policies


@attrs.frozen(slots=True)
class NoBuffer(BufferPolicy):
    """Promise the internal target itself (no buffer): the baseline of a backtest.

    .. versionadded:: 0.1.0
    """

    def apply(self, context: QuoteContext, due: datetime) -> datetime:
        """Return ``due`` unchanged.

        .. versionadded:: 0.1.0
        """
        return due

    def __str__(self) -> str:
        return "NoBuffer()"


def _convert_delta(value: Any) -> timedelta:
    return check_duration("delta", value)


@attrs.frozen(slots=True)
class FixedBuffer(BufferPolicy):
    """Add a fixed amount of (business) time to the due.

    Args:
        delta: The buffer (``timedelta`` or seconds, ``>= 0``).

    Raises:
        InvalidTypeError: ``delta`` is not a duration.
        InvalidValueError: ``delta`` is negative.

    .. versionadded:: 0.1.0
    """

    delta: timedelta = attrs.field(converter=_convert_delta)

    def apply(self, context: QuoteContext, due: datetime) -> datetime:
        """``due + delta`` (business time with a calendar).

        .. versionadded:: 0.1.0
        """
        return context.advance(due, self.delta)

    def note(self, context: QuoteContext, before: datetime, after: datetime) -> str | None:
        """``"+15 min buffer"``.

        .. versionadded:: 0.1.0
        """
        return f"+{fmt_duration(self.delta)} buffer" if self.delta else None

    def __str__(self) -> str:
        return f"FixedBuffer({fmt_duration(self.delta)})"


def _convert_factor(value: Any) -> float:
    return check_finite("factor", value, minimum=0)


@attrs.frozen(slots=True)
class ProportionalBuffer(BufferPolicy):
    """Add ``factor`` times the target window (the median or point estimate).

    ``ProportionalBuffer(0.2)`` on a 30-minute estimate adds 6 minutes.

    Args:
        factor: A finite number ``>= 0``.

    Raises:
        InvalidTypeError: ``factor`` is not a number.
        InvalidValueError: ``factor`` is negative or not finite.

    .. versionadded:: 0.1.0
    """

    factor: float = attrs.field(converter=_convert_factor)

    def _amount(self, context: QuoteContext) -> timedelta:
        return us_td(round(td_us(context.target_window) * self.factor))

    def apply(self, context: QuoteContext, due: datetime) -> datetime:
        """``due + factor × target_window``.

        .. versionadded:: 0.1.0
        """
        return context.advance(due, self._amount(context))

    def note(self, context: QuoteContext, before: datetime, after: datetime) -> str | None:
        """``"+20 % buffer (6 min)"``.

        .. versionadded:: 0.1.0
        """
        if not self.factor:
            return None
        return f"+{self.factor * 100:.3g} % buffer ({fmt_duration(self._amount(context))})"

    def __str__(self) -> str:
        return f"ProportionalBuffer({self.factor:g})"


def _convert_q(value: Any) -> float:
    return check_probability("q", value)


def _convert_min_samples(value: Any) -> int:
    return check_count("min_samples", value)


@attrs.frozen(slots=True)
class QuantileBuffer(BufferPolicy):
    """Promise at least the ``q``-quantile of the capability: kept with probability ``q``.

    The due becomes the later of the due so far and ``start + quantile(q)``. It
    refuses to quote from fewer than ``min_samples`` observed durations, and
    from a point estimate.

    Args:
        q: Confidence level in ``(0, 1]`` (``1`` is the longest observed duration).
        min_samples: Fewest observed durations to quote from (``>= 1``).

    Raises:
        InvalidValueError: ``q`` is outside ``(0, 1]`` or ``min_samples < 1``.

    .. versionadded:: 0.1.0
    """

    q: float = attrs.field(converter=_convert_q)
    min_samples: int = attrs.field(default=30, converter=_convert_min_samples)

    def _check(self, capability: Capability) -> None:
        if not capability.is_distribution:
            raise InsufficientDataError(
                f"{self!s} needs a distribution of durations, but the capability is a point "
                f"{capability.describe()} (0 samples, needs at least {self.min_samples})"
            )
        n = capability.n_samples
        if n is not None and n < self.min_samples:
            raise InsufficientDataError(
                f"{self!s} refuses to quote from {n} past durations ({capability.describe()}); "
                f"it needs at least min_samples={self.min_samples}"
            )

    def apply(self, context: QuoteContext, due: datetime) -> datetime:
        """``max(due, start + quantile(q))``.

        Raises:
            InsufficientDataError: Fewer than ``min_samples`` durations, or a point estimate.

        .. versionadded:: 0.1.0
        """
        capability = context.capability
        self._check(capability)
        return context.later(due, context.at(capability.quantile(self.q)))

    def note(self, context: QuoteContext, before: datetime, after: datetime) -> str | None:
        """``"p90 of 212 past callbacks = 37 business min"``.

        .. versionadded:: 0.1.0
        """
        window = context.capability.quantile(self.q)
        text = (
            f"{fmt_quantile(self.q)} of {context.capability.describe()} = "
            f"{fmt_duration(window, business=context.business)}"
        )
        if to_us(before) != to_us(context.target) and to_us(before) == to_us(after):
            text += " (already covered)"
        return text

    def _states_base(self) -> bool:
        return True

    def __str__(self) -> str:
        extra = "" if self.min_samples == 30 else f", min_samples={self.min_samples}"
        return f"QuantileBuffer({self.q:g}{extra})"


_STEPS = {"hour": 60, "half-hour": 30, "quarter-hour": 15}
Rounding = Literal["hour", "half-hour", "quarter-hour", "end-of-day", "next-business-day"]
_ROUNDINGS = (*_STEPS, "end-of-day", "next-business-day")


def _check_rounding(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value not in _ROUNDINGS:
        raise InvalidValueError(
            f"'to' must be one of {', '.join(repr(r) for r in _ROUNDINGS)} (got {value!r})"
        )


@attrs.frozen(slots=True)
class RoundUp(BufferPolicy):
    """Round the due *up* to a time people remember ("by end of day", not 15:47).

    * ``"hour"``, ``"half-hour"``, ``"quarter-hour"``: the next local wall-clock
      multiple (in the calendar's zone, else the start's); a due already on one
      stays. A boundary in a DST gap becomes the end of the gap.
    * ``"end-of-day"``: with a calendar, ``calendar.end_of_day(due)`` (the close
      of the due's business day, or of the next business day after hours);
      without, the next local midnight.
    * ``"next-business-day"``: the close of the first business day *after the
      start's local date* ("by tomorrow"); if the due is already later than
      that, the close of the due's own business day. Without a calendar every
      day is a business day and days end at midnight.

    It never moves a due earlier.

    Raises:
        InvalidValueError: ``to`` is not one of the names above.

    .. versionadded:: 0.1.0
    """

    to: Rounding = attrs.field(validator=_check_rounding)

    def apply(self, context: QuoteContext, due: datetime) -> datetime:
        """The rounded due (never earlier than ``due``).

        .. versionadded:: 0.1.0
        """
        clock = context._clock
        step = _STEPS.get(self.to)
        if step is not None:
            rounded, instant = round_up_wall(due, clock.zone, step, context._instant_us(due))
            return context._remember(rounded, instant)
        if self.to == "end-of-day":
            rounded = clock.end_of_day(due)
        else:
            following = context.start.date() + timedelta(days=1)
            if context.calendar is not None:
                tomorrow = context.calendar.end_of_day(clock.midnight(following))
            else:
                tomorrow = clock.midnight(following + timedelta(days=1))
            rounded = tomorrow if to_us(due) <= to_us(tomorrow) else clock.end_of_day(due)
        return clock.local(context.later(rounded, due))

    def note(self, context: QuoteContext, before: datetime, after: datetime) -> str | None:
        """``"rounded up to the half-hour"`` when the due moved.

        .. versionadded:: 0.1.0
        """
        if to_us(before) == to_us(after):
            return None
        if self.to == "end-of-day":
            label = "end of the business day" if context.business else "end of the day"
        elif self.to == "next-business-day":
            label = "end of the next business day" if context.business else "end of the next day"
        else:
            label = self.to
        return f"rounded up to the {label}"

    def __str__(self) -> str:
        return f"RoundUp({self.to!r})"


def _convert_max(value: Any) -> timedelta:
    return check_duration("max", value)


def _convert_min(value: Any) -> timedelta:
    return check_duration("min", value)


@attrs.frozen(slots=True)
class Cap(BufferPolicy):
    """Bound the promised window (start → due, business time) from above.

    The window never exceeds ``max``, except that the due is never pulled
    before the internal target: promising less than the work is expected to
    take is not a buffer policy's call (see :func:`negotiate` to decline).

    Args:
        max: Longest window to promise (``timedelta`` or seconds, ``>= 0``).

    .. versionadded:: 0.1.0
    """

    max: timedelta = attrs.field(converter=_convert_max)

    def apply(self, context: QuoteContext, due: datetime) -> datetime:
        """``max(target, min(due, start + max))``.

        .. versionadded:: 0.1.0
        """
        if context._window_us(due) <= td_us(self.max):
            return due
        return context.later(context.at(self.max), context.target)

    def note(self, context: QuoteContext, before: datetime, after: datetime) -> str | None:
        """``"capped at 2 h"`` when it binds.

        .. versionadded:: 0.1.0
        """
        if to_us(before) == to_us(after):
            return None
        text = f"capped at {fmt_duration(self.max, business=context.business)}"
        if to_us(after) == to_us(context.target) and context.target_window > self.max:
            text += " (not below the target)"
        return text

    def __str__(self) -> str:
        return f"Cap({fmt_duration(self.max)})"


@attrs.frozen(slots=True)
class Floor(BufferPolicy):
    """Bound the promised window (start → due, business time) from below.

    Args:
        min: Shortest window to promise (``timedelta`` or seconds, ``>= 0``).

    .. versionadded:: 0.1.0
    """

    min: timedelta = attrs.field(converter=_convert_min)

    def apply(self, context: QuoteContext, due: datetime) -> datetime:
        """``max(due, start + min)``.

        .. versionadded:: 0.1.0
        """
        return context.later(due, context.at(self.min))

    def note(self, context: QuoteContext, before: datetime, after: datetime) -> str | None:
        """``"raised to the 1 h floor"`` when it binds.

        .. versionadded:: 0.1.0
        """
        if to_us(before) == to_us(after):
            return None
        return f"raised to the {fmt_duration(self.min, business=context.business)} floor"

    def __str__(self) -> str:
        return f"Floor({fmt_duration(self.min)})"


# --------------------------------------------------------------------------- combinators


def _flatten(
    kind: type[Chain] | type[Later], policies: tuple[Any, ...]
) -> tuple[BufferPolicy, ...]:
    flat: list[BufferPolicy] = []
    for index, policy in enumerate(policies):
        _check_policy(f"policies[{index}]", policy)
        if isinstance(policy, kind):
            flat.extend(policy.policies)
        else:
            flat.append(policy)
    return tuple(flat)


@attrs.frozen(slots=True, init=False, repr=False)
class Chain(BufferPolicy):
    """Apply policies in order, each transforming the due chosen so far (``a + b``).

    Nested chains are flattened: ``(a + b) + c == Chain(a, b, c)``. An empty
    chain leaves the target unchanged.

    Example:
        >>> p = QuantileBuffer(0.9) + FixedBuffer(900) + RoundUp("half-hour")
        >>> print(p)
        QuantileBuffer(0.9) + FixedBuffer(15 min) + RoundUp('half-hour')

    .. versionadded:: 0.1.0
    """

    policies: tuple[BufferPolicy, ...]

    def __init__(self, *policies: BufferPolicy) -> None:
        self.__attrs_init__(_flatten(Chain, policies))

    def apply(self, context: QuoteContext, due: datetime) -> datetime:
        """Each policy in turn.

        .. versionadded:: 0.1.0
        """
        for policy in self.policies:
            due = policy.apply(context, due)
        return due

    def _trace(self, context: QuoteContext, due: datetime, notes: _Notes | None) -> datetime:
        for policy in self.policies:
            due = policy._trace(context, due, notes)
        return due

    def __repr__(self) -> str:
        return f"Chain({', '.join(repr(p) for p in self.policies)})"

    def __str__(self) -> str:
        if not self.policies:
            return "Chain()"
        return " + ".join(str(p) for p in self.policies)


@attrs.frozen(slots=True, init=False, repr=False)
class Later(BufferPolicy):
    """The later of several policies' dues, each applied to the same due so far (``a | b``).

    Nested groups are flattened: ``a | (b | c) == Later(a, b, c)``.

    Raises:
        InvalidValueError: No policy is given.

    Example:
        >>> print(QuantileBuffer(0.9) | FixedBuffer(3600))
        (QuantileBuffer(0.9) | FixedBuffer(1 h))

    .. versionadded:: 0.1.0
    """

    policies: tuple[BufferPolicy, ...]

    def __init__(self, *policies: BufferPolicy) -> None:
        flat = _flatten(Later, policies)
        if not flat:
            raise InvalidValueError("'policies' must contain at least one policy (got none)")
        self.__attrs_init__(flat)

    def apply(self, context: QuoteContext, due: datetime) -> datetime:
        """The latest of the policies' dues.

        .. versionadded:: 0.1.0
        """
        best = self.policies[0].apply(context, due)
        for policy in self.policies[1:]:
            best = context.later(best, policy.apply(context, due))
        return best

    def _trace(self, context: QuoteContext, due: datetime, notes: _Notes | None) -> datetime:
        best: datetime | None = None
        best_notes = _Notes()
        for policy in self.policies:
            branch = None if notes is None else _Notes()
            result = policy._trace(context, due, branch)
            if best is None or context._instant_us(result) > context._instant_us(best):
                best = result
                if branch is not None:
                    best_notes = branch
        assert best is not None
        if notes is not None:
            if not notes and best_notes.leads:
                notes.leads = True
            notes.extend(best_notes)
        return best

    def __repr__(self) -> str:
        return f"Later({', '.join(repr(p) for p in self.policies)})"

    def __str__(self) -> str:
        return "(" + " | ".join(str(p) for p in self.policies) + ")"
