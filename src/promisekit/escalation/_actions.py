"""Actions: what should happen when a rule fires — plain data the integrating system performs.

Actions never do anything themselves. When a rule fires, the engine returns an
:class:`~promisekit.escalation.Escalation` per action, carrying what the action needs
resolved at that instant: the realistic new date of a :class:`ProposeRevision` (from a
proposer, e.g. :class:`CapabilityProposer`), the capped amount of a :class:`Compensate`.
Customer-facing actions (:class:`NotifyCustomer`, :class:`Compensate`) are deferred to the
customer's next contact opening; owner-facing ones are not.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any, ClassVar, Protocol, runtime_checkable

import attrs

from promisekit._validation import check_finite, check_non_empty_str, describe
from promisekit._validation import to_decimal as _to_decimal
from promisekit.calendar import BusinessCalendar
from promisekit.errors import InsufficientDataError, InvalidTypeError, InvalidValueError
from promisekit.escalation._time import from_us, td_us, to_us
from promisekit.escalation._timeline import reach
from promisekit.escalation._track import TrackedPromise
from promisekit.promise import Promise

__all__ = [
    "NOTICE_KINDS",
    "Action",
    "CapabilityProposer",
    "Compensate",
    "CompensationPolicy",
    "CompensationRequest",
    "EscalateTo",
    "NotifyCustomer",
    "NotifyOwner",
    "ProposeRevision",
    "ResidualCapabilityLike",
    "RevisionProposer",
    "RevisionRequest",
]

#: The kinds of customer notice: a progress update, a delay (with the new date), an apology.
NOTICE_KINDS = ("progress", "delay", "apology")


@attrs.frozen
class Action:
    """Base class of actions (plain, immutable data).

    Subclass it (a frozen attrs class) for an action of your own; set ``customer_facing``
    to ``True`` when it reaches the customer, so it is deferred to contact hours.

    .. versionadded:: 0.1.0
    """

    #: Whether the action reaches the customer (deferred outside contact hours).
    customer_facing: ClassVar[bool] = False

    def describe(self) -> str:
        """The action in the policy-file syntax (``"notify_customer:delay"``).

        .. versionadded:: 0.1.0
        """
        return repr(self)

    def __str__(self) -> str:
        return self.describe()


def _optional_text(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is not None:
        check_non_empty_str(attribute.name, value)


@attrs.frozen
class NotifyOwner(Action):
    """Warn the promise's owner (agent, team) that the promise needs attention.

    .. versionadded:: 0.1.0
    """

    message: str | None = attrs.field(default=None, validator=_optional_text)

    def describe(self) -> str:
        return "notify_owner"


def _convert_kind(value: object) -> str:
    if not isinstance(value, str):
        raise InvalidTypeError(
            f"'kind' must be a string (got {type(value).__name__} {describe(value)})"
        )
    kind = value.strip().lower()
    if kind not in NOTICE_KINDS:
        raise InvalidValueError(
            f"'kind' must be one of {', '.join(NOTICE_KINDS)} (got {describe(value)})"
        )
    return kind


@attrs.frozen
class NotifyCustomer(Action):
    """Tell the customer: a progress update, a delay or an apology.

    ``kind`` is ``"progress"``, ``"delay"`` (with the new date when the rule also
    proposes one) or ``"apology"``.

    Deferred to the customer's next contact opening (never at midnight or on a Sunday
    when contact hours say so). See :func:`~promisekit.escalation.draft_notice`.

    .. versionadded:: 0.1.0
    """

    customer_facing: ClassVar[bool] = True
    kind: str = attrs.field(default="progress", converter=_convert_kind)

    def describe(self) -> str:
        return f"notify_customer:{self.kind}"


def _check_to(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise InvalidTypeError(
            f"'to' must be a role name or a level number (got {type(value).__name__} "
            f"{describe(value)})"
        )
    if isinstance(value, int) and value < 1:
        raise InvalidValueError(f"'to' must be a level >= 1 (got {describe(value)})")
    if isinstance(value, str):
        check_non_empty_str("to", value)


@attrs.frozen
class EscalateTo(Action):
    """Escalate to a role (``"team-lead"``, ``"manager"``) or a numbered level.

    .. versionadded:: 0.1.0
    """

    to: str | int = attrs.field(validator=_check_to)

    def describe(self) -> str:
        return f"escalate:{self.to}"


# --------------------------------------------------------------------------- revision


@attrs.frozen(kw_only=True)
class RevisionRequest:
    """What a revision proposer is told when a rule fires.

    Attributes:
        track: The tracked promise.
        promise: The promise as in force (its revision).
        at: The instant the rule fired.
        elapsed: SLA-clock time since ``made_at`` (business time with a calendar,
            pauses excluded).
        calendar: The track's business calendar, or ``None``.

    .. versionadded:: 0.1.0
    """

    track: TrackedPromise
    promise: Promise
    at: datetime
    elapsed: timedelta
    calendar: BusinessCalendar | None


#: ``proposer(request) -> datetime``: a realistic new due date for the promise.
RevisionProposer = Callable[[RevisionRequest], datetime]


@runtime_checkable
class ResidualCapabilityLike(Protocol):
    """What :class:`CapabilityProposer` needs: the remaining-time quantile.

    :class:`promisekit.buffering.Capability` implements it.

    .. versionadded:: 0.1.0
    """

    def residual_quantile(self, q: float, elapsed: timedelta) -> timedelta:
        """How much more time is needed with probability ``q``, given ``elapsed`` spent."""
        ...


def _check_residual(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not callable(getattr(value, "residual_quantile", None)):
        raise InvalidTypeError(
            f"'capability' must have a residual_quantile(q, elapsed) method, such as a "
            f"promisekit.buffering capability (got {type(value).__name__} {describe(value)})"
        )


def _convert_confidence(value: Any) -> float:
    number = check_finite("confidence", value)
    if not 0 < number < 1:
        raise InvalidValueError(f"'confidence' must be in (0, 1) (got {describe(value)})")
    return number


def _check_granularity(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is None:
        return
    if not isinstance(value, timedelta) or value <= timedelta(0):
        raise InvalidValueError(
            f"'round_up_to' must be a positive timedelta or None (got {describe(value)})"
        )
    if timedelta(days=1) % value:
        raise InvalidValueError(f"'round_up_to' must divide a day evenly (got {value})")


def round_up(moment: datetime, granularity: timedelta) -> datetime:
    """Round an aware datetime up to a multiple of ``granularity`` of its local wall clock."""
    midnight = moment.replace(hour=0, minute=0, second=0, microsecond=0, fold=0)
    since = moment.replace(tzinfo=None) - midnight.replace(tzinfo=None)
    steps = -(-since // granularity)
    local = (midnight.replace(tzinfo=None) + steps * granularity).replace(tzinfo=moment.tzinfo)
    rounded = local.astimezone(timezone.utc).astimezone(moment.tzinfo)
    return rounded if to_us(rounded) >= to_us(moment) else moment


def _check_min_samples(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidTypeError(
            f"'min_samples' must be an int or None (got {type(value).__name__} {describe(value)})"
        )
    if value < 1:
        raise InvalidValueError(f"'min_samples' must be >= 1 (got {describe(value)})")


def _check_fallback(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is None:
        return
    if not isinstance(value, timedelta):
        raise InvalidTypeError(
            f"'fallback' must be a timedelta or None (got {type(value).__name__} {describe(value)})"
        )
    if value <= timedelta(0):
        raise InvalidValueError(f"'fallback' must be a positive duration (got {value})")


def _takes_min_samples(method: Any) -> bool:
    """Whether ``method`` accepts a ``min_samples`` keyword (promisekit capabilities do)."""
    try:
        parameters = inspect.signature(method).parameters
    except (TypeError, ValueError):
        return False
    return "min_samples" in parameters or any(
        p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()
    )


def _sample_count(capability: Any, elapsed: timedelta) -> int | None:
    """The samples backing a residual estimate after ``elapsed``, if the capability says.

    ``n_longer_than(elapsed)`` (the durations still running at ``elapsed``), else
    ``n_samples``; ``None`` when it exposes neither (not sample-based).
    """
    counter = getattr(capability, "n_longer_than", None)
    if callable(counter):
        count = counter(elapsed)
        if isinstance(count, int) and not isinstance(count, bool):
            return count
    count = getattr(capability, "n_samples", None)
    if isinstance(count, int) and not isinstance(count, bool):
        return count
    return None


@attrs.frozen
class CapabilityProposer:
    """Propose ``now + residual quantile``: the time still needed, given the time spent.

    The remaining work is the ``confidence``-quantile of ``T - e`` given ``T > e`` (``e``
    the elapsed SLA-clock time, pauses excluded), added in business time — a realistic
    date, not an imaginary one that risks a second miss — then rounded up to a round
    time of the day (``round_up_to``, 15 minutes by default; ``None`` keeps it exact).

    **Thin history.** When the capability cannot answer honestly — it raises
    :class:`~promisekit.errors.InsufficientDataError` (too few past durations longer than
    the time already spent), or it reports fewer than ``min_samples`` samples behind the
    estimate (``n_longer_than(elapsed)``, else ``n_samples``, when it exposes a count) —
    the proposer uses ``fallback`` if given: ``fallback`` of business time (of the
    track's calendar; real time without one) added to the firing instant, rounded up the
    same way. Without ``fallback`` it raises ``InsufficientDataError`` naming the promise
    and the cause; in an :class:`~promisekit.escalation.Escalator` that promise is then
    rolled back and retried later, while the rest of the book goes on.

    Args:
        capability: Anything with ``residual_quantile(q, elapsed)``, such as a
            :class:`promisekit.buffering.EmpiricalCapability`.
        confidence: The quantile, in ``(0, 1)``.
        round_up_to: Granularity the date is rounded up to (divides a day), or ``None``.
        min_samples: The fewest samples an estimate may rest on, or ``None`` to leave it
            to the capability. Passed on as ``residual_quantile(..., min_samples=...)``
            when the capability accepts it.
        fallback: The remaining time to assume when the history is too thin, or
            ``None`` to raise.

    Raises:
        InsufficientDataError: (when called) The history is too thin and there is no
            ``fallback``.

    .. versionadded:: 0.1.0
    """

    capability: ResidualCapabilityLike = attrs.field(validator=_check_residual)
    confidence: float = attrs.field(default=0.9, converter=_convert_confidence)
    round_up_to: timedelta | None = attrs.field(
        default=timedelta(minutes=15), kw_only=True, validator=_check_granularity
    )
    min_samples: int | None = attrs.field(default=None, kw_only=True, validator=_check_min_samples)
    fallback: timedelta | None = attrs.field(default=None, kw_only=True, validator=_check_fallback)
    _pass_min: bool = attrs.field(init=False, default=False, eq=False, repr=False)

    def __attrs_post_init__(self) -> None:
        if self.min_samples is not None:
            method = self.capability.residual_quantile
            object.__setattr__(self, "_pass_min", _takes_min_samples(method))

    def __call__(self, request: RevisionRequest) -> datetime:
        try:
            remaining = self._remaining(request)
        except InsufficientDataError as exc:
            if self.fallback is None:
                raise InsufficientDataError(
                    f"cannot propose a new date for promise {describe(request.promise.id)}: "
                    f"{exc} (give CapabilityProposer a 'fallback' to use when the history "
                    f"is this thin)"
                ) from exc
            remaining = self.fallback
        start = to_us(request.at)
        due = from_us(
            reach(request.calendar, start, max(td_us(remaining), 0)),
            request.at.tzinfo or request.track.zone,
        )
        return due if self.round_up_to is None else round_up(due, self.round_up_to)

    def _remaining(self, request: RevisionRequest) -> timedelta:
        floor = self.min_samples
        if floor is None:
            return self.capability.residual_quantile(self.confidence, request.elapsed)
        count = _sample_count(self.capability, request.elapsed)
        if count is not None and count < floor:
            raise InsufficientDataError(
                f"only {count} past durations back the estimate after "
                f"{request.elapsed} elapsed (need {floor}, 'min_samples')"
            )
        if self._pass_min:
            method: Any = self.capability.residual_quantile
            result: timedelta = method(self.confidence, request.elapsed, min_samples=floor)
            return result
        return self.capability.residual_quantile(self.confidence, request.elapsed)


def _check_proposer(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is not None and not callable(value):
        raise InvalidTypeError(
            f"'proposer' must be callable as proposer(request) -> datetime, or None "
            f"(got {type(value).__name__} {describe(value)})"
        )


@attrs.frozen
class ProposeRevision(Action):
    """Propose a realistic new due date (carried as ``Escalation.proposed_due``).

    With ``proposer=None`` the escalation carries no date and the integrator proposes one.
    The date is also given to the rule's other actions (a delay notice shows it).

    .. versionadded:: 0.1.0
    """

    proposer: RevisionProposer | None = attrs.field(default=None, validator=_check_proposer)

    def describe(self) -> str:
        return "propose_revision"


# --------------------------------------------------------------------------- compensation


@attrs.frozen(kw_only=True)
class CompensationRequest:
    """What a compensation policy is told when a rule fires.

    Attributes:
        track: The tracked promise.
        promise: The promise as in force.
        at: The instant the rule fired.
        overdue: SLA-clock time past the due date (zero if not overdue).

    .. versionadded:: 0.1.0
    """

    track: TrackedPromise
    promise: Promise
    at: datetime
    overdue: timedelta


#: ``policy(request) -> Decimal``: the amount to offer before caps.
CompensationPolicy = Callable[[CompensationRequest], Any]


def _convert_amount(value: Any) -> Any:
    if callable(value):
        return value
    return _to_decimal("amount", value, minimum=Decimal(0))


def _cap(field: str, value: Any) -> Decimal | None:
    return None if value is None else _to_decimal(field, value, minimum=Decimal(0))


def _cap_promise(value: Any) -> Decimal | None:
    return _cap("per_promise", value)


def _cap_customer(value: Any) -> Decimal | None:
    return _cap("per_customer", value)


def _cap_period(value: Any) -> Decimal | None:
    return _cap("per_period", value)


def _check_period(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, timedelta) or value <= timedelta(0):
        raise InvalidValueError(f"'period' must be a positive timedelta (got {describe(value)})")


@attrs.frozen
class Compensate(Action):
    """Offer compensation — apologize, fix, compensate if needed, but not at any cost.

    The amount (a fixed ``Decimal`` or ``policy(request) -> Decimal``) is capped so that
    the total granted stays within ``per_promise`` for this promise, ``per_customer`` for
    the customer, and ``per_period`` for the customer over any rolling ``period``. At least
    one cap is required. A capped-out grant is still returned (amount 0, ``capped_by`` set)
    so the integrator apologizes without paying.

    .. versionadded:: 0.1.0
    """

    customer_facing: ClassVar[bool] = True
    amount: Decimal | CompensationPolicy = attrs.field(converter=_convert_amount)
    currency: str | None = attrs.field(default=None, kw_only=True, validator=_optional_text)
    per_promise: Decimal | None = attrs.field(default=None, kw_only=True, converter=_cap_promise)
    per_customer: Decimal | None = attrs.field(default=None, kw_only=True, converter=_cap_customer)
    per_period: Decimal | None = attrs.field(default=None, kw_only=True, converter=_cap_period)
    period: timedelta = attrs.field(
        default=timedelta(days=30), kw_only=True, validator=_check_period
    )

    def __attrs_post_init__(self) -> None:
        if self.per_promise is None and self.per_customer is None and self.per_period is None:
            raise InvalidValueError(
                "Compensate needs a cap: give per_promise, per_customer or per_period "
                "(compensation is never granted at any cost) (got none)"
            )

    def describe(self) -> str:
        if isinstance(self.amount, Decimal):
            return f"compensate:{self.amount}"
        return "compensate"

    def requested(self, request: CompensationRequest) -> Decimal:
        """The amount before caps, for ``request``.

        .. versionadded:: 0.1.0
        """
        if isinstance(self.amount, Decimal):
            return self.amount
        value = self.amount(request)
        if isinstance(value, float):
            check_finite("compensation amount", value)
        return _to_decimal("compensation amount", value, minimum=Decimal(0))
