"""The policy protocol, the quote it produces, and the combinators ``+`` and ``|``.

:class:`BufferPolicy` is what a plugin policy subclasses; its operators build
:class:`Chain` and :class:`Later`, and :meth:`BufferPolicy.quote` runs :func:`quote`,
whose :class:`Quote` names the policy: one concept, kept in one module.
"""

from __future__ import annotations

import abc
from collections.abc import Hashable
from datetime import datetime, timedelta
from typing import Any

import attrs

from promisekit._validation import check_aware, check_non_empty_str, describe
from promisekit.buffering._capability._protocol import Capability
from promisekit.buffering._capability._segmented import _resolve_capability
from promisekit.buffering._common import (
    check_calendar,
    fmt_duration,
    fmt_moment,
    fmt_zone,
    to_us,
    us_td,
)
from promisekit.buffering._policies._context import QuoteContext
from promisekit.calendar import BusinessCalendar
from promisekit.errors import InvalidTypeError, InvalidValueError


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
        explanation: One human line naming the zone of the due (:attr:`zone`),
            e.g. ``"callback by 14:30 America/Toronto (p90 of 212 past callbacks
            = 37 business min, +15 min buffer, rounded up to the half-hour)"``.

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

    @property
    def zone(self) -> str:
        """The label of the zone every datetime of the quote is in (``"Europe/Paris"``).

        .. versionadded:: 0.1.0
        """
        return fmt_zone(self.due)


def _check_policy(field: str, value: Any) -> BufferPolicy:
    if not isinstance(value, BufferPolicy):
        raise InvalidTypeError(
            f"{field!r} must be a BufferPolicy such as QuantileBuffer(0.9) "
            f"(got {type(value).__name__} {describe(value)})"
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
            f"policy {describe(policy)} must return a datetime from apply() "
            f"(got {type(due).__name__})"
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


def _build_quote(
    context: QuoteContext, policy: BufferPolicy, *, what: str = "due", zone_label: bool = True
) -> Quote:
    """Run ``policy`` in ``context`` and assemble the :class:`Quote` (private API).

    The explanation names the zone of the due after the time (``"callback by
    15:00 Europe/Paris (...)"``), formatted like negotiation reasons; ``zone_label``
    is kept for callers that still pass it.
    """
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
        explanation=f"{what} by {fmt_moment(due, context.start)}"
        f"{' ' + fmt_zone(due) if zone_label else ''} ({', '.join(notes)})",
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
        callback by 15:00 UTC (p90 of 40 past callbacks = 45 min, rounded up to the half-hour)
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
