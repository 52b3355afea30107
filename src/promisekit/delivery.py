"""Deliveries and their assessment against a promise.

A :class:`Delivery` records something that happened for a promise (a callback made, a
parcel handed over, a repair done). :func:`assess` compares the deliveries known at an
instant ``now`` with the :class:`~promisekit.promise.Promise` and returns an
:class:`Outcome`: is the promise still pending, overdue, kept, late or short, by how much,
and which terms were not met.
"""

from __future__ import annotations

import decimal
import enum
import itertools
import math
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import TYPE_CHECKING

import attrs

from promisekit._validation import aware as _aware
from promisekit._validation import (
    check_aware,
    check_finite,
    describe,
    optional_cost,
    optional_quality,
    optional_quantity,
)
from promisekit._validation import fmt_instant as _fmt
from promisekit._validation import non_empty_str as _non_empty_str
from promisekit._validation import optional_aware as _optional_aware
from promisekit._validation import optional_str as _optional_str
from promisekit._validation import to_decimal as _to_decimal
from promisekit._validation import utc as _utc
from promisekit.errors import InconsistentRecordError, InvalidTypeError, InvalidValueError
from promisekit.promise import Promise, Terms, _in_force

if TYPE_CHECKING:
    from promisekit.calendar import BusinessCalendar

__all__ = ["Delivery", "Outcome", "Shortfall", "Status", "assess"]

# Sums of costs are exact: no rounding to the default 28 significant digits.
_EXACT = decimal.Context(
    prec=decimal.MAX_PREC, Emax=decimal.MAX_EMAX, Emin=decimal.MIN_EMIN, traps=[]
)


# --------------------------------------------------------------------------- Delivery


@attrs.frozen
class Delivery:
    """Something delivered for a promise, at an instant.

    A promise may be delivered in several parts (see :func:`assess`). Each part reports
    what it can: the quantity delivered, the quality achieved, what it cost the customer.

    Attributes:
        promise_id: Id of the promise this delivery is for (non-empty).
        at: When it was delivered (aware).
        quantity: Quantity delivered, finite and ``>= 0``, or ``None`` if not reported
            (it then counts for nothing towards a quantity term).
        quality: Quality achieved (finite, on the promise's scale), or ``None``.
        cost: What the customer was charged, a ``Decimal >= 0`` in the currency of the
            promise's cost ceiling, or ``None``. ``int``, ``str`` and ``float`` are
            converted as for :attr:`Terms.max_cost <promisekit.promise.Terms.max_cost>`.
        id: Identifier of the delivery record, or ``None``.
        note: Free text, or ``None``.

    Raises:
        InvalidTypeError: A value has the wrong type.
        NaiveDatetimeError: ``at`` has no time zone.
        InvalidValueError: A number is not finite or is negative, or a string is blank.

    Example:
        .. code-block:: python

            Delivery("P-1", datetime(2026, 3, 10, 9, 59, tzinfo=paris), quantity=2)

    .. versionadded:: 0.1.0
    """

    promise_id: str = attrs.field(validator=_non_empty_str)
    at: datetime = attrs.field(validator=_aware)
    quantity: float | None = attrs.field(default=None, kw_only=True, converter=optional_quantity)
    quality: float | None = attrs.field(default=None, kw_only=True, converter=optional_quality)
    cost: Decimal | None = attrs.field(default=None, kw_only=True, converter=optional_cost)
    id: str | None = attrs.field(default=None, kw_only=True, validator=_optional_str)
    note: str | None = attrs.field(default=None, kw_only=True, validator=_optional_str)


# --------------------------------------------------------------------------- Status


class Status(enum.Enum):
    """Where a promise stands at the instant it is assessed.

    Open statuses (the promise is not complete yet):

    * ``PENDING`` — not complete, and its due date has not passed.
    * ``OVERDUE`` — not complete, and its due date has passed.

    Closed statuses (the promise is complete):

    * ``KEPT`` — completed on time (at or before ``due``) with every term met.
    * ``LATE`` — completed after ``due``.
    * ``SHORT`` — completed on time, but a quantity, quality or cost term was not met.

    Precedence: ``LATE`` wins over ``SHORT``. A promise completed late *and* short is
    ``LATE``; its :attr:`Outcome.kept` is ``False`` and :attr:`Outcome.shortfall` still
    lists the unmet terms.

    .. versionadded:: 0.1.0
    """

    PENDING = "pending"
    OVERDUE = "overdue"
    KEPT = "kept"
    LATE = "late"
    SHORT = "short"


_OPEN = frozenset({Status.PENDING, Status.OVERDUE})


# --------------------------------------------------------------------------- Shortfall


def _check_gap(field: str, value: object) -> float:
    """Return ``value`` as a float if it is a number ``>= 0`` (infinity allowed, not NaN)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidTypeError(
            f"{field!r} must be a number (got {type(value).__name__} {describe(value)})"
        )
    try:
        number = float(value)
    except OverflowError:
        raise InvalidValueError(
            f"{field!r} must be a number that fits a float (got {describe(value)})"
        ) from None
    if math.isnan(number) or number < 0:
        raise InvalidValueError(f"{field!r} must be a number >= 0 (got {describe(value)})")
    return number


def _convert_gap_quantity(value: float | None) -> float | None:
    return None if value is None else _check_gap("quantity", value)


def _convert_gap_quality(value: float | None) -> float | None:
    return None if value is None else _check_gap("quality", value)


@attrs.frozen(kw_only=True)
class Shortfall:
    """By how much each non-time term of a promise was missed.

    Each value is ``0`` when the term is met, positive when it is missed, and ``None``
    when there is nothing to compare: the promise has no such term, or (for quality and
    cost) no delivery counted towards completion reported a value.

    Attributes:
        quantity: Promised quantity minus delivered quantity (never below 0).
        quality: Promised minimum quality minus the lowest delivered quality (never
            below 0).
        cost: Total delivered cost minus the cost ceiling (never below 0).

    .. versionadded:: 0.1.0
    """

    quantity: float | None = attrs.field(default=None, converter=_convert_gap_quantity)
    quality: float | None = attrs.field(default=None, converter=_convert_gap_quality)
    cost: Decimal | None = attrs.field(default=None, converter=optional_cost)

    @property
    def unmet(self) -> tuple[str, ...]:
        """Names of the terms that were missed, among ``"quantity"``, ``"quality"``, ``"cost"``.

        .. versionadded:: 0.1.0
        """
        gaps: tuple[tuple[str, float | Decimal | None], ...] = (
            ("quantity", self.quantity),
            ("quality", self.quality),
            ("cost", self.cost),
        )
        return tuple(name for name, gap in gaps if gap is not None and gap > 0)

    @property
    def any(self) -> bool:
        """True if any term was missed.

        .. versionadded:: 0.1.0
        """
        return bool(self.unmet)


# --------------------------------------------------------------------------- Outcome


def _check_revision(instance: object, attribute: attrs.Attribute[int], value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidTypeError(
            f"'revision' must be an int (got {type(value).__name__} {describe(value)})"
        )
    if value < 0:
        raise InvalidValueError(f"'revision' must be >= 0 (got {describe(value)})")


def _check_status(instance: object, attribute: attrs.Attribute[Status], value: object) -> None:
    if not isinstance(value, Status):
        raise InvalidTypeError(
            f"'status' must be a Status member (got {type(value).__name__} {describe(value)})"
        )


def _check_bool(instance: object, attribute: attrs.Attribute[bool], value: object) -> None:
    if not isinstance(value, bool):
        raise InvalidTypeError(
            f"{attribute.name!r} must be a bool (got {type(value).__name__} {describe(value)})"
        )


def _optional_timedelta(
    instance: object, attribute: attrs.Attribute[timedelta | None], value: object
) -> None:
    if value is not None and not isinstance(value, timedelta):
        raise InvalidTypeError(
            f"{attribute.name!r} must be a timedelta or None (got {type(value).__name__} "
            f"{describe(value)})"
        )


def _check_shortfall(
    instance: object, attribute: attrs.Attribute[Shortfall], value: object
) -> None:
    if not isinstance(value, Shortfall):
        raise InvalidTypeError(
            f"'shortfall' must be a Shortfall instance (got {type(value).__name__} "
            f"{describe(value)})"
        )


def _convert_delivered_quantity(value: float | None) -> float | None:
    return None if value is None else _check_gap("delivered_quantity", value)


def _convert_delivered_quality(value: float | None) -> float | None:
    return None if value is None else check_finite("delivered_quality", value)


def _convert_delivered_cost(value: Decimal | int | float | str | None) -> Decimal | None:
    return None if value is None else _to_decimal("delivered_cost", value, minimum=Decimal(0))


@attrs.frozen(kw_only=True)
class Outcome:
    """The assessment of a promise at an instant, as returned by :func:`assess`.

    Attributes:
        promise_id: Id of the assessed promise.
        revision: Revision of the promise the outcome is measured against: the one in
            force at completion, or at ``assessed_at`` while the promise is open.
        status: See :class:`Status`.
        kept: True only when the promise is complete, on time, with every term met
            (``status is Status.KEPT``).
        due: The due date the outcome is measured against (of ``revision``).
        completed_at: Instant of the delivery that completed the promise, in the time
            zone of ``due``; ``None`` while the promise is open.
        lateness: Signed real time from ``due`` to ``completed_at`` (negative = early,
            zero = exactly on time); for ``OVERDUE``, from ``due`` to ``assessed_at``
            (late so far); ``None`` for ``PENDING``.
        business_lateness: The same, in signed working time of the calendar given to
            :func:`assess`; ``None`` for ``PENDING`` or without a calendar.
        delivered_quantity: Total quantity delivered up to completion (up to
            ``assessed_at`` while open); ``0.0`` with a quantity term and nothing
            reported; ``None`` without a quantity term and nothing reported.
        delivered_quality: Lowest quality reported by those deliveries, or ``None``.
        delivered_cost: Total cost reported by those deliveries, or ``None``.
        shortfall: By how much each term was missed (see :class:`Shortfall`).
        assessed_at: The ``now`` of the assessment.

    Raises:
        InvalidTypeError: A value has the wrong type.
        InvalidValueError: A value is out of range, or ``kept``, ``completed_at`` and
            ``lateness`` contradict ``status``.

    .. versionadded:: 0.1.0
    """

    promise_id: str = attrs.field(validator=_non_empty_str)
    revision: int = attrs.field(validator=_check_revision)
    status: Status = attrs.field(validator=_check_status)
    kept: bool = attrs.field(validator=_check_bool)
    due: datetime = attrs.field(validator=_aware)
    completed_at: datetime | None = attrs.field(validator=_optional_aware)
    lateness: timedelta | None = attrs.field(validator=_optional_timedelta)
    business_lateness: timedelta | None = attrs.field(default=None, validator=_optional_timedelta)
    delivered_quantity: float | None = attrs.field(
        default=None, converter=_convert_delivered_quantity
    )
    delivered_quality: float | None = attrs.field(
        default=None, converter=_convert_delivered_quality
    )
    delivered_cost: Decimal | None = attrs.field(default=None, converter=_convert_delivered_cost)
    shortfall: Shortfall = attrs.field(factory=Shortfall, validator=_check_shortfall)
    assessed_at: datetime = attrs.field(validator=_aware)

    def __attrs_post_init__(self) -> None:
        status = self.status
        if self.kept != (status is Status.KEPT):
            raise InvalidValueError(
                f"'kept' must be True exactly when 'status' is KEPT "
                f"(got kept={describe(self.kept)} with status {status.name})"
            )
        is_open = status in _OPEN
        if (self.completed_at is None) != is_open:
            expected = "None" if is_open else "a datetime"
            raise InvalidValueError(
                f"'completed_at' must be {expected} when 'status' is {status.name} "
                f"(got {describe(self.completed_at)})"
            )
        pending = status is Status.PENDING
        if (self.lateness is None) != pending:
            expected = "None" if pending else "a timedelta"
            raise InvalidValueError(
                f"'lateness' must be {expected} when 'status' is {status.name} "
                f"(got {describe(self.lateness)})"
            )
        if pending and self.business_lateness is not None:
            raise InvalidValueError(
                f"'business_lateness' must be None when 'status' is PENDING "
                f"(got {describe(self.business_lateness)})"
            )

    @property
    def is_open(self) -> bool:
        """True while the promise is not complete (``PENDING`` or ``OVERDUE``).

        .. versionadded:: 0.1.0
        """
        return self.status in _OPEN

    @property
    def on_time(self) -> bool | None:
        """Whether the promise was (or can still be) delivered on time.

        ``True`` for ``KEPT`` and ``SHORT`` (completed at or before ``due``), ``False``
        for ``LATE`` and ``OVERDUE``, and ``None`` for ``PENDING`` (not known yet).

        .. versionadded:: 0.1.0
        """
        if self.status is Status.PENDING:
            return None
        return self.status in (Status.KEPT, Status.SHORT)


# --------------------------------------------------------------------------- assess


def _to_float(value: Fraction) -> float:
    try:
        return float(value)
    except OverflowError:
        return math.inf if value > 0 else -math.inf


def _label(delivery: Delivery, index: int) -> str:
    return f"delivery {describe(delivery.id)}" if delivery.id is not None else f"delivery #{index}"


def _checked_deliveries(promise: Promise, deliveries: Iterable[Delivery]) -> list[Delivery]:
    if isinstance(deliveries, (str, bytes, Delivery)) or not isinstance(deliveries, Iterable):
        raise InvalidTypeError(
            f"'deliveries' must be an iterable of Delivery "
            f"(got {type(deliveries).__name__} {describe(deliveries)})"
        )
    records = list(deliveries)
    made_at = _utc(promise.made_at)
    for index, delivery in enumerate(records):
        if not isinstance(delivery, Delivery):
            raise InvalidTypeError(
                f"'deliveries' must contain only Delivery instances "
                f"(got {type(delivery).__name__} {describe(delivery)} at index {index})"
            )
        if delivery.promise_id != promise.id:
            raise InconsistentRecordError(
                f"'deliveries' must all be for promise {describe(promise.id)} "
                f"(got {_label(delivery, index)} for promise {describe(delivery.promise_id)})"
            )
        if _utc(delivery.at) < made_at:
            raise InconsistentRecordError(
                f"'deliveries' must not be before the promise's 'made_at' "
                f"({_fmt(promise.made_at)}) (got {_label(delivery, index)} at "
                f"{_fmt(delivery.at)})"
            )
    return records


def _calendar_between(calendar: object) -> Callable[[datetime, datetime], timedelta] | None:
    if calendar is None:
        return None
    between = getattr(calendar, "between", None)
    if not callable(between):
        raise InvalidTypeError(
            f"'calendar' must be a BusinessCalendar (or have a between(a, b) method) "
            f"(got {type(calendar).__name__} {describe(calendar)})"
        )
    result: Callable[[datetime, datetime], timedelta] = between
    return result


def assess(
    promise: Promise,
    deliveries: Iterable[Delivery],
    *,
    now: datetime,
    calendar: BusinessCalendar | None = None,
) -> Outcome:
    """Assess a promise against its deliveries, as known at ``now``.

    **As-of semantics.** Only what had happened by ``now`` counts: deliveries with
    ``at > now`` are ignored (they are still in the future), and so are revisions
    announced after ``now``. Assessing the same records at different instants replays
    history; re-assessing later never rewrites a closed outcome.

    **Completion.** Deliveries are taken in time order; deliveries at the same instant
    count together. With a quantity term, the promise is complete at the first instant
    at which the cumulative delivered quantity reaches the promised quantity (exact
    arithmetic; a delivery that reports no quantity adds nothing). Without a quantity
    term, the first delivery completes it. Deliveries after completion are ignored.

    **Status.** While not complete: ``PENDING`` if ``now <= due``, else ``OVERDUE``.
    Once complete, the due date in force at completion is used (a revision announced
    after completion cannot change the outcome): completed after it is ``LATE``;
    otherwise ``SHORT`` if a term was missed, else ``KEPT``. Delivered exactly at
    ``due`` is on time. ``LATE`` wins over ``SHORT``.

    **Terms.** Quality is the lowest quality reported by the deliveries up to
    completion; cost is the sum of their reported costs. A term no delivery reports a
    value for is not counted as missed.

    Args:
        promise: The promise to assess.
        deliveries: Its deliveries, in any order (any iterable).
        now: The instant of the assessment (aware, not before ``promise.made_at``).
        calendar: A :class:`~promisekit.calendar.BusinessCalendar` to also measure
            lateness in working time, or ``None``. Any object with a
            ``between(a, b) -> timedelta`` method returning signed working time works.

    Returns:
        The :class:`Outcome`.

    Raises:
        InvalidTypeError: ``promise``, ``deliveries`` or ``calendar`` has the wrong type.
        NaiveDatetimeError: ``now`` has no time zone.
        InvalidValueError: ``now`` is before the promise was made.
        InconsistentRecordError: A delivery is for another promise, or is dated before
            the promise was made.

    Example:
        .. code-block:: python

            outcome = assess(promise, deliveries, now=now)
            if outcome.status is Status.LATE:
                print(f"late by {outcome.lateness}")

    .. versionadded:: 0.1.0
    """
    if not isinstance(promise, Promise):
        raise InvalidTypeError(
            f"'promise' must be a Promise (got {type(promise).__name__} {describe(promise)})"
        )
    check_aware("now", now)
    now_utc = _utc(now)
    if now_utc < _utc(promise.made_at):
        raise InvalidValueError(
            f"'now' must not be before the promise's 'made_at' ({_fmt(promise.made_at)}) "
            f"(got {_fmt(now)})"
        )
    between = _calendar_between(calendar)
    records = _checked_deliveries(promise, deliveries)

    terms = promise.terms
    required = None if terms is None or terms.quantity is None else Fraction(terms.quantity)
    happened = sorted((d for d in records if _utc(d.at) <= now_utc), key=lambda d: _utc(d.at))

    # Walk instants in order until the promise is complete.
    counted: list[Delivery] = []
    total = Fraction(0)
    completed_utc: datetime | None = None
    for instant, group in itertools.groupby(happened, key=lambda d: _utc(d.at)):
        for delivery in group:
            counted.append(delivery)
            if delivery.quantity is not None:
                total += Fraction(delivery.quantity)
        if required is None or total >= required:
            completed_utc = instant
            break

    quantities = [d.quantity for d in counted if d.quantity is not None]
    qualities = [d.quality for d in counted if d.quality is not None]
    costs = [d.cost for d in counted if d.cost is not None]
    delivered_quantity = _to_float(total) if quantities or required is not None else None
    delivered_quality = min(qualities) if qualities else None
    delivered_cost: Decimal | None = None
    for cost in costs:
        delivered_cost = cost if delivered_cost is None else _EXACT.add(delivered_cost, cost)

    shortfall = _shortfall(terms, required, total, delivered_quality, delivered_cost)

    reached: datetime | None
    lateness: timedelta | None
    if completed_utc is None:
        revision, due = _in_force(promise, now)
        completed_at = None
        if now_utc <= _utc(due):
            status, lateness, reached = Status.PENDING, None, None
        else:
            status, lateness, reached = Status.OVERDUE, now_utc - _utc(due), now
    else:
        revision, due = _in_force(promise, completed_utc)
        completed_at = completed_utc.astimezone(due.tzinfo)
        lateness = completed_utc - _utc(due)
        reached = completed_at
        if lateness > timedelta(0):
            status = Status.LATE
        elif shortfall.any:
            status = Status.SHORT
        else:
            status = Status.KEPT

    business_lateness = None if between is None or reached is None else between(due, reached)

    return Outcome(
        promise_id=promise.id,
        revision=revision,
        status=status,
        kept=status is Status.KEPT,
        due=due,
        completed_at=completed_at,
        lateness=lateness,
        business_lateness=business_lateness,
        delivered_quantity=delivered_quantity,
        delivered_quality=delivered_quality,
        delivered_cost=delivered_cost,
        shortfall=shortfall,
        assessed_at=now,
    )


def _shortfall(
    terms: Terms | None,
    required: Fraction | None,
    total: Fraction,
    delivered_quality: float | None,
    delivered_cost: Decimal | None,
) -> Shortfall:
    quantity_gap = None if required is None else _to_float(max(required - total, Fraction(0)))
    quality_gap: float | None = None
    if terms is not None and terms.quality is not None and delivered_quality is not None:
        gap = terms.quality - delivered_quality
        quality_gap = gap if gap > 0 else 0.0
    cost_gap: Decimal | None = None
    if terms is not None and terms.max_cost is not None and delivered_cost is not None:
        excess = _EXACT.subtract(delivered_cost, terms.max_cost)
        cost_gap = excess if excess > 0 else Decimal(0)
    return Shortfall(quantity=quantity_gap, quality=quality_gap, cost=cost_gap)
