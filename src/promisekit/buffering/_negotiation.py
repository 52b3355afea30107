"""Honest answers: accept, counter-offer or decline a requested date; realistic revisions."""

from __future__ import annotations

import enum
import math
from collections.abc import Hashable
from datetime import datetime, timedelta
from typing import Any

import attrs

from promisekit._validation import check_aware, check_non_empty_str, describe
from promisekit.buffering._capability._protocol import Capability, _Residual
from promisekit.buffering._capability._segmented import _resolve_capability
from promisekit.buffering._common import (
    Clock,
    check_calendar,
    check_count,
    check_probability,
    fmt_moment,
    fmt_rate,
    fmt_zone,
    to_us,
)
from promisekit.buffering._policies._base import BufferPolicy, Quote, _build_quote, _check_policy
from promisekit.buffering._policies._context import QuoteContext
from promisekit.buffering._policies._steps import QuantileBuffer
from promisekit.calendar import BusinessCalendar
from promisekit.errors import InsufficientDataError, InvalidValueError

__all__ = ["Decision", "Negotiation", "negotiate", "propose_revision"]


class Decision(enum.Enum):
    """The answer to a requested due date.

    .. versionadded:: 0.1.0
    """

    #: The requested date is kept with at least the minimum confidence.
    ACCEPT = "accept"
    #: The requested date is too risky; here is the earliest one that is not.
    COUNTER_OFFER = "counter-offer"
    #: No acceptable date can be offered (not enough evidence, or past ``max_due``).
    DECLINE = "decline"


@attrs.frozen(slots=True)
class Negotiation:
    """The outcome of :func:`negotiate`.

    Attributes:
        decision: ACCEPT, COUNTER_OFFER or DECLINE.
        requested_due: The date the customer asked for (in the calendar's zone).
        requested_confidence: Probability of keeping the requested date.
        min_confidence: The confidence the business requires.
        due: The date to promise: the requested one (ACCEPT), the counter-offer
            (COUNTER_OFFER) or ``None`` (DECLINE).
        confidence: Probability of keeping ``due`` (``None`` on DECLINE).
        reason: One human sentence explaining the decision.

    .. versionadded:: 0.1.0
    """

    decision: Decision
    requested_due: datetime
    requested_confidence: float
    min_confidence: float
    due: datetime | None
    confidence: float | None
    reason: str

    @property
    def accepted(self) -> bool:
        """Whether the requested date was accepted as is.

        .. versionadded:: 0.1.0
        """
        return self.decision is Decision.ACCEPT

    def __str__(self) -> str:
        return f"{self.decision.value}: {self.reason}"


def _needed_samples(confidence: float) -> int:
    """Smallest ``n`` with ``n / (n + 1) >= confidence``."""
    if confidence >= 1.0:
        return -1
    return max(1, math.ceil(confidence / (1.0 - confidence) - 1e-9))


def negotiate(
    requested_due: datetime,
    *,
    start: datetime,
    capability: Capability | Any,
    min_confidence: float,
    calendar: BusinessCalendar | None = None,
    max_due: datetime | None = None,
    segment: Hashable | None = None,
) -> Negotiation:
    """Accept, counter-offer or decline a requested due date — frankly.

    * **ACCEPT** when the capability keeps ``requested_due`` with probability
      ``>= min_confidence``.
    * **COUNTER_OFFER** otherwise, with the earliest due reaching ``min_confidence``:
      ``start + quantile(min_confidence)`` (business time with a calendar).
    Every datetime of the answer is in the calendar's zone, else in ``start``'s
    zone, and the reason names that zone ("09:30 UTC is kept with …").

    * **DECLINE** when no due can honestly reach ``min_confidence`` — a sample of
      ``n`` durations supports at most ``n / (n + 1)`` (the chance that a new job
      is not longer than the longest of ``n`` past ones), an unbounded distribution
      never reaches 1 — or when the counter-offer would be after ``max_due``.
      The first check comes first: not even a generous requested date is accepted
      with a confidence the evidence cannot support.

    Args:
        requested_due: The date the customer asks for (aware).
        start: When the work is requested (aware).
        capability: A distribution (not a point estimate), or a
            :class:`SegmentedCapability` with ``segment``.
        min_confidence: Required probability of keeping the promise, in ``(0, 1]``.
        calendar: Business calendar, or ``None`` for real time.
        max_due: Latest date the business is willing to offer, or ``None``.
        segment: The segment, with a :class:`SegmentedCapability`.

    Raises:
        NaiveDatetimeError: A datetime has no time zone.
        InvalidValueError: ``min_confidence`` is outside ``(0, 1]``.
        InsufficientDataError: The capability is a point estimate (no confidence).

    Example:
        >>> from datetime import datetime, timedelta, timezone
        >>> cap = ParametricCapability.exponential(mean=timedelta(minutes=20))
        >>> t0 = datetime(2026, 3, 10, 9, 0, tzinfo=timezone.utc)
        >>> n = negotiate(t0 + timedelta(minutes=30), start=t0, capability=cap,
        ...               min_confidence=0.95)
        >>> n.decision, n.due.strftime("%H:%M")
        (<Decision.COUNTER_OFFER: 'counter-offer'>, '09:59')

    .. versionadded:: 0.1.0
    """
    check_aware("requested_due", requested_due)
    check_aware("start", start)
    if max_due is not None:
        check_aware("max_due", max_due)
    level = check_probability("min_confidence", min_confidence)
    calendar = check_calendar(calendar)
    cap = _resolve_capability(capability, segment)
    if not cap.is_distribution:
        raise InsufficientDataError(
            f"negotiate() needs a distribution of durations to state a confidence; "
            f"got a point {cap.describe()} ({describe(cap)})"
        )
    clock = Clock(calendar, start)
    requested = clock.local(requested_due)
    window = clock.between(start, requested)
    requested_conf = cap.cdf(window) if window >= timedelta(0) else 0.0
    local_start = clock.local(start)
    label = fmt_zone(local_start)
    asked = f"{fmt_moment(requested, local_start)} {label}"

    def result(
        decision: Decision, due: datetime | None, conf: float | None, why: str
    ) -> Negotiation:
        return Negotiation(decision, requested, requested_conf, level, due, conf, why)

    ceiling = cap.max_confidence
    if level > ceiling:
        n = cap.n_samples
        if n is None:
            why = (
                f"no finite due reaches {fmt_rate(level)} confidence with "
                f"{cap.describe()}; {asked} has only {fmt_rate(requested_conf)}"
            )
        else:
            need = _needed_samples(level)
            more = f"at least {need} past durations are needed" if need > 0 else "no sample can"
            why = (
                f"even the longest of the {n} observed durations is kept with only "
                f"{fmt_rate(ceiling)} confidence for a new request (n/(n+1)); "
                f"to promise {fmt_rate(level)}, {more}"
            )
        return result(Decision.DECLINE, None, None, why)
    if requested_conf >= level:
        return result(
            Decision.ACCEPT,
            requested,
            requested_conf,
            f"{asked} is kept with {fmt_rate(requested_conf)} confidence "
            f"(>= the required {fmt_rate(level)})",
        )
    counter_window = cap.quantile(level)
    counter = clock.add(clock.local(start), counter_window)
    counter_conf = cap.cdf(counter_window)
    if max_due is not None and to_us(counter) > to_us(max_due):
        return result(
            Decision.DECLINE,
            None,
            None,
            f"the earliest due reaching {fmt_rate(level)} confidence "
            f"({fmt_moment(counter, local_start)} {label}) is after the latest acceptable date "
            f"({fmt_moment(clock.local(max_due), local_start)} {label})",
        )
    return result(
        Decision.COUNTER_OFFER,
        counter,
        counter_conf,
        f"{asked} is kept with only {fmt_rate(requested_conf)} confidence; "
        f"{fmt_moment(counter, local_start)} {label} is the earliest due with "
        f">= {fmt_rate(level)} ({fmt_rate(counter_conf)})",
    )


def propose_revision(
    promise_start: datetime,
    now: datetime,
    capability: Capability | Any,
    confidence: float = 0.95,
    calendar: BusinessCalendar | None = None,
    policy: BufferPolicy | None = None,
    *,
    segment: Hashable | None = None,
    min_samples: int = 30,
    what: str = "new due",
) -> Quote:
    """A realistic new due for work started at ``promise_start`` and not done at ``now``.

    The new due is ``now`` plus the ``confidence``-quantile of the *remaining*
    time given the elapsed (business) time — the distribution of ``T - elapsed``
    among past durations longer than ``elapsed`` — then ``policy`` (e.g. a
    :class:`RoundUp`) is applied. It is never before ``now`` and never below the
    residual quantile, even if ``policy`` contains a :class:`Cap`.

    Args:
        promise_start: When the work was requested (aware).
        now: The current instant (aware, not before ``promise_start``).
        capability: A distribution, or a :class:`SegmentedCapability` with ``segment``.
        confidence: Probability of keeping the new due, in ``(0, 1]``.
        calendar: Business calendar, or ``None`` for real time.
        policy: Extra policy applied after the residual quantile.
        segment: The segment, with a :class:`SegmentedCapability`.
        min_samples: Fewest past durations longer than the elapsed time to
            answer from (sample-based capabilities).
        what: First word(s) of the explanation.

    Returns:
        A :class:`Quote` whose ``start`` is ``now`` and ``confidence`` is the
        conditional probability of keeping the new due. Its datetimes are in
        the calendar's zone, else in ``promise_start``'s zone (as every quote and
        counter-offer: the zone of the original request), and its explanation
        names that zone ("new due by 10:38 Europe/Paris (…)").

    Raises:
        InvalidValueError: ``now`` is before ``promise_start``.
        InsufficientDataError: Too few past durations are longer than the
            elapsed time, or the capability is a point estimate.

    .. versionadded:: 0.1.0
    """
    check_aware("promise_start", promise_start)
    check_aware("now", now)
    level = check_probability("confidence", confidence)
    calendar = check_calendar(calendar)
    floor = check_count("min_samples", min_samples)
    check_non_empty_str("what", what)
    if policy is not None:
        _check_policy("policy", policy)
    if to_us(now) < to_us(promise_start):
        raise InvalidValueError(
            f"'now' must not be before 'promise_start' (got now={now.isoformat(' ')}, "
            f"promise_start={promise_start.isoformat(' ')})"
        )
    cap = _resolve_capability(capability, segment)
    if not cap.is_distribution:
        raise InsufficientDataError(
            f"propose_revision() needs a distribution of durations: a point {cap.describe()} "
            "cannot say how much longer late work will take"
        )
    clock = Clock(calendar, promise_start)
    elapsed = clock.between(promise_start, now)
    residual = _Residual(cap, elapsed, business=calendar is not None)
    base = QuantileBuffer(level, min_samples=floor)
    combined: BufferPolicy = base if policy is None else base + policy
    # One zone for the answer: the calendar's, else the start's (not ``now``'s).
    context = QuoteContext(clock.local(now), residual, calendar)
    proposal = _build_quote(context, combined, what=what, zone_label=True)
    floor_due = context.at(residual.quantile(level))
    if to_us(proposal.due) < to_us(floor_due):
        return _build_quote(context, base, what=what, zone_label=True)
    return proposal
