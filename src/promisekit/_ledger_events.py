"""The ledger events: what happened to a promise, and how two events are compared.

Private to :mod:`promisekit.ledger`, which re-exports the event classes and
:data:`~promisekit.ledger.EVENT_TYPES`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, ClassVar

import attrs

from promisekit._ledger_document import optional_json_document
from promisekit._validation import (
    describe,
    optional_cost,
    optional_quality,
    optional_quantity,
)
from promisekit.delivery import Delivery
from promisekit.errors import (
    InconsistentRecordError,
    InvalidTypeError,
    InvalidValueError,
)
from promisekit.promise import (
    Promise,
    Terms,
    _aware,
    _convert_metadata,
    _fmt,
    _non_empty_str,
    _optional_aware,
    _optional_str,
    _optional_terms,
    _utc,
)

# --------------------------------------------------------------------------- validators


#: The largest count an event stores: a signed 64-bit integer, as databases keep them.
_MAX_COUNT = 2**63 - 1


def _check_count(instance: object, attribute: attrs.Attribute[int], value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidTypeError(
            f"{attribute.name!r} must be an int (got {type(value).__name__} {describe(value)})"
        )
    if value < 0:
        raise InvalidValueError(f"{attribute.name!r} must be >= 0 (got {describe(value)})")
    if value > _MAX_COUNT:
        raise InvalidValueError(
            f"{attribute.name!r} must be <= {_MAX_COUNT} (got {describe(value)})"
        )


def _check_positive(instance: object, attribute: attrs.Attribute[int], value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidTypeError(
            f"{attribute.name!r} must be an int (got {type(value).__name__} {describe(value)})"
        )
    if value < 1:
        raise InvalidValueError(f"{attribute.name!r} must be >= 1 (got {describe(value)})")


# --------------------------------------------------------------------------- events

# At the same instant: the promise is made first and cancelled last.
_RANK_MADE, _RANK_OTHER, _RANK_CANCELLED = 0, 1, 2


@attrs.frozen(kw_only=True)
class Event:
    """Base class of every ledger event (do not instantiate it directly).

    Attributes:
        id: Identifier of the event, unique in a ledger (non-empty). Appending an event
            whose id is already recorded is a no-op when the payload is the same, and an
            :class:`~promisekit.errors.InconsistentRecordError` otherwise.
        promise_id: Id of the promise the event is about (non-empty).
        at: When it happened (aware).
        recorded_at: When it was recorded (aware). Given by the caller (promisekit
            never reads the clock). It may precede ``at``: the clocks of the systems
            that report events are not trusted to agree, so it is kept as given.

    Class attributes:
        event_type: The name of the event in documents (``"promise_made"``…).

    Raises:
        InvalidTypeError: A value has the wrong type, or ``Event`` itself is
            instantiated.
        NaiveDatetimeError: A datetime has no time zone.
        InvalidValueError: A string is blank.

    .. versionadded:: 0.1.0
    """

    event_type: ClassVar[str] = ""
    _rank: ClassVar[int] = _RANK_OTHER

    id: str = attrs.field(validator=_non_empty_str)
    promise_id: str = attrs.field(validator=_non_empty_str)
    at: datetime = attrs.field(validator=_aware)
    recorded_at: datetime = attrs.field(validator=_aware)

    def __attrs_post_init__(self) -> None:
        if not type(self).event_type:
            raise InvalidTypeError(
                "Event is an abstract base class: create one of "
                f"{', '.join(cls.__name__ for cls in _EVENT_CLASSES)} (got Event)"
            )

    def order_key(self) -> tuple[datetime, int, str]:
        """The sort key of replay: ``(at in UTC, rank at the same instant, id)``.

        .. versionadded:: 0.1.0
        """
        return (_utc(self.at), self._rank, self.id)


@attrs.frozen(kw_only=True)
class PromiseMade(Event):
    """A promise was made to a customer (the first event of every promise).

    ``at`` is when the promise was made (:attr:`Promise.made_at
    <promisekit.promise.Promise.made_at>`); the other fields are those of the
    :class:`~promisekit.promise.Promise` (``id`` of the promise is ``promise_id``).
    The event is checked as a promise when created.

    Attributes:
        customer_id: Customer the promise was made to.
        kind: What was promised (``"callback"``…).
        due: The due date given to the customer (not before ``at``).
        target: Internal target (``at <= target <= due``), or ``None``.
        terms: Non-time :class:`~promisekit.promise.Terms`, or ``None``.
        segment: Customer segment, or ``None``.
        owner: Who is responsible, or ``None``.
        commitment: Published commitment applied, or ``None``.
        metadata: Free-form CRM fields (``str`` to ``str``), a read-only copy.
        supersedes: Id of a promise this one replaces, or ``None``.

    Raises:
        InvalidTypeError: A value has the wrong type.
        NaiveDatetimeError: A datetime has no time zone.
        InvalidValueError: The fields do not make a valid promise (``due`` before
            ``at``, ``target`` out of range…).

    Example:
        .. code-block:: python

            PromiseMade(
                id="E-1", promise_id="P-1", at=t0, recorded_at=t0,
                customer_id="C-42", kind="callback", due=t0 + timedelta(hours=1),
            )

    .. versionadded:: 0.1.0
    """

    event_type: ClassVar[str] = "promise_made"
    _rank: ClassVar[int] = _RANK_MADE

    customer_id: str = attrs.field(validator=_non_empty_str)
    kind: str = attrs.field(validator=_non_empty_str)
    due: datetime = attrs.field(validator=_aware)
    target: datetime | None = attrs.field(default=None, validator=_optional_aware)
    terms: Terms | None = attrs.field(default=None, validator=_optional_terms)
    segment: str | None = attrs.field(default=None, validator=_optional_str)
    owner: str | None = attrs.field(default=None, validator=_optional_str)
    commitment: str | None = attrs.field(default=None, validator=_optional_str)
    metadata: Mapping[str, str] = attrs.field(
        default=None, converter=_convert_metadata, eq=True, hash=False
    )
    supersedes: str | None = attrs.field(default=None, validator=_optional_str)
    _promise: Promise = attrs.field(init=False, eq=False, repr=False, hash=False)

    def __attrs_post_init__(self) -> None:
        super().__attrs_post_init__()
        if _utc(self.due) < _utc(self.at):
            raise InvalidValueError(
                f"'due' must not be before 'at' ({_fmt(self.at)}), when the promise was made "
                f"(got {_fmt(self.due)})"
            )
        if self.target is not None and not _utc(self.at) <= _utc(self.target) <= _utc(self.due):
            raise InvalidValueError(
                f"'target' must be between 'at' ({_fmt(self.at)}) and 'due' ({_fmt(self.due)}) "
                f"(got {_fmt(self.target)})"
            )
        promise = Promise(
            id=self.promise_id,
            customer_id=self.customer_id,
            kind=self.kind,
            made_at=self.at,
            due=self.due,
            target=self.target,
            terms=self.terms,
            segment=self.segment,
            owner=self.owner,
            commitment=self.commitment,
            metadata=self.metadata,
            supersedes=self.supersedes,
        )
        object.__setattr__(self, "_promise", promise)

    # A mappingproxy cannot be pickled: store plain values (as Promise does).
    def __getstate__(self) -> dict[str, Any]:
        state = {f.name: getattr(self, f.name) for f in attrs.fields(PromiseMade) if f.init}
        state["metadata"] = dict(self.metadata)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        rebuilt = PromiseMade(**state)
        for field in attrs.fields(PromiseMade):
            object.__setattr__(self, field.name, getattr(rebuilt, field.name))

    @property
    def promise(self) -> Promise:
        """The promise as made (revision 0).

        .. versionadded:: 0.1.0
        """
        return self._promise

    @classmethod
    def from_promise(cls, promise: Promise, *, id: str, recorded_at: datetime) -> PromiseMade:
        """The event that makes ``promise`` (an unrevised promise).

        Args:
            promise: The promise; it must not be revised (record its revisions as
                :class:`PromiseRevised` events).
            id: Id of the event.
            recorded_at: When the event is recorded (aware).

        Returns:
            The event.

        Raises:
            InvalidTypeError: ``promise`` is not a Promise.
            InvalidValueError: ``promise`` has revisions.

        .. versionadded:: 0.1.0
        """
        if not isinstance(promise, Promise):
            raise InvalidTypeError(
                f"'promise' must be a Promise (got {type(promise).__name__} {describe(promise)})"
            )
        if promise.revisions:
            raise InvalidValueError(
                f"'promise' must be unrevised to make a PromiseMade event (got revision "
                f"{promise.revision}); record its revisions as PromiseRevised events"
            )
        return cls(
            id=id,
            promise_id=promise.id,
            at=promise.made_at,
            recorded_at=recorded_at,
            customer_id=promise.customer_id,
            kind=promise.kind,
            due=promise.due,
            target=promise.target,
            terms=promise.terms,
            segment=promise.segment,
            owner=promise.owner,
            commitment=promise.commitment,
            metadata=promise.metadata,
            supersedes=promise.supersedes,
        )


@attrs.frozen(kw_only=True)
class PromiseRevised(Event):
    """The promise's due date was changed and announced to the customer at ``at``.

    Replay applies ``promise.revise(due=due, at=at, reason=reason, target=target)``.

    Attributes:
        due: The new due date (not before ``at``).
        reason: Why, or ``None``.
        target: New internal target (not after ``due``), or ``None``.

    Raises:
        InvalidValueError: ``due`` is before ``at`` or ``target`` after ``due``.

    .. versionadded:: 0.1.0
    """

    event_type: ClassVar[str] = "promise_revised"

    due: datetime = attrs.field(validator=_aware)
    reason: str | None = attrs.field(default=None, validator=_optional_str)
    target: datetime | None = attrs.field(default=None, validator=_optional_aware)

    def __attrs_post_init__(self) -> None:
        super().__attrs_post_init__()
        if _utc(self.due) < _utc(self.at):
            raise InvalidValueError(
                f"'due' must not be before 'at' ({_fmt(self.at)}): a revised date cannot be "
                f"in the past (got {_fmt(self.due)})"
            )
        if self.target is not None and _utc(self.target) > _utc(self.due):
            raise InvalidValueError(
                f"'target' must not be after 'due' ({_fmt(self.due)}) (got {_fmt(self.target)})"
            )


@attrs.frozen(kw_only=True)
class PromisePaused(Event):
    """The promise's clock was paused (waiting on the customer, on a third party…).

    Attributes:
        reason: Why, or ``None``.

    .. versionadded:: 0.1.0
    """

    event_type: ClassVar[str] = "promise_paused"

    reason: str | None = attrs.field(default=None, validator=_optional_str)


@attrs.frozen(kw_only=True)
class PromiseResumed(Event):
    """The promise's clock resumed after a pause.

    .. versionadded:: 0.1.0
    """

    event_type: ClassVar[str] = "promise_resumed"


@attrs.frozen(kw_only=True)
class CustomerNotified(Event):
    """The customer was told something about the promise (progress, delay, apology…).

    Attributes:
        channel: How (``"sms"``, ``"email"``, ``"phone"``…), or ``None``.
        message: What, or ``None``.

    .. versionadded:: 0.1.0
    """

    event_type: ClassVar[str] = "customer_notified"

    channel: str | None = attrs.field(default=None, validator=_optional_str)
    message: str | None = attrs.field(default=None, validator=_optional_str)


@attrs.frozen(kw_only=True)
class MessageReceived(Event):
    """The customer wrote about the promise (an inbound message; see ``receive``).

    Attributes:
        channel: How (``"email"``, ``"portal"``…), or ``None``.

    .. versionadded:: 0.1.0
    """

    event_type: ClassVar[str] = "message_received"

    channel: str | None = attrs.field(default=None, validator=_optional_str)


@attrs.frozen(kw_only=True)
class PromiseReopened(Event):
    """A completed promise was reopened (a solved ticket the customer reopens).

    Attributes:
        reason: Why, or ``None``.

    .. versionadded:: 0.1.0
    """

    event_type: ClassVar[str] = "promise_reopened"

    reason: str | None = attrs.field(default=None, validator=_optional_str)


@attrs.frozen(kw_only=True)
class DeliveryRecorded(Event):
    """Something was delivered for the promise at ``at``.

    Replay turns it into a :class:`~promisekit.delivery.Delivery`.

    Attributes:
        quantity: Quantity delivered (finite, ``>= 0``), or ``None``.
        quality: Quality achieved (finite), or ``None``.
        cost: What the customer was charged (``Decimal >= 0``; ``int``, ``str`` and
            ``float`` are converted as for :class:`~promisekit.delivery.Delivery`), or
            ``None``.
        note: Free text, or ``None``.

    Raises:
        InvalidTypeError: A value has the wrong type.
        InvalidValueError: A number is not finite or is negative.

    .. versionadded:: 0.1.0
    """

    event_type: ClassVar[str] = "delivery_recorded"

    quantity: float | None = attrs.field(default=None, converter=optional_quantity)
    quality: float | None = attrs.field(default=None, converter=optional_quality)
    cost: Decimal | None = attrs.field(default=None, converter=optional_cost)
    note: str | None = attrs.field(default=None, validator=_optional_str)

    def delivery(self) -> Delivery:
        """The :class:`~promisekit.delivery.Delivery` record (its ``id`` is the event id).

        .. versionadded:: 0.1.0
        """
        return Delivery(
            self.promise_id,
            self.at,
            quantity=self.quantity,
            quality=self.quality,
            cost=self.cost,
            id=self.id,
            note=self.note,
        )


@attrs.frozen(kw_only=True)
class PromiseCancelled(Event):
    """The promise was withdrawn (by the customer or the business); it is closed.

    Attributes:
        reason: Why, or ``None``.

    .. versionadded:: 0.1.0
    """

    event_type: ClassVar[str] = "promise_cancelled"
    _rank: ClassVar[int] = _RANK_CANCELLED

    reason: str | None = attrs.field(default=None, validator=_optional_str)


@attrs.frozen(kw_only=True)
class EscalationFired(Event):
    """An escalation rule fired for the promise (plain data from the escalation engine).

    Attributes:
        rule: Name of the rule that fired (non-empty).
        action: Kind of action it produced (``"notify_owner"``, ``"escalate"``…).
        level: Escalation level (``>= 0``; 0 is the front line).
        revision: The promise revision the rule fired for (``>= 0``); a rule fires
            at most once per revision (see :meth:`PromiseState.escalated`).
        occurrence: Which firing of the rule in that revision this is (``>= 1``; 1
            unless a rule repeats within a revision).
        key: The idempotency key of the action handed to a sink, or ``None``; an
            :class:`ActionDelivered` event with the same key records its delivery.
        document: The exact JSON-ready payload handed to the sink, or ``None``: a
            mapping with ``str`` keys whose values are ``str``, ``int``, finite
            ``float``, ``bool``, ``None``, lists and such mappings, nested at most 32
            deep. The event keeps a read-only deep copy (a ``dict`` subclass, with
            read-only ``list`` arrays, that refuses changes; copy it to change it).
            It takes part in equality but not in the hash.

    Raises:
        InvalidTypeError: A value has the wrong type (a ``document`` that holds a
            value that is not JSON).
        InvalidValueError: A string is blank, a number out of range, or the
            ``document`` holds a non-finite float or nests too deep.

    .. versionadded:: 0.1.0
    """

    event_type: ClassVar[str] = "escalation_fired"

    rule: str = attrs.field(validator=_non_empty_str)
    action: str = attrs.field(validator=_non_empty_str)
    level: int = attrs.field(validator=_check_count)
    revision: int = attrs.field(validator=_check_count)
    occurrence: int = attrs.field(default=1, validator=_check_positive)
    key: str | None = attrs.field(default=None, validator=_optional_str)
    document: Mapping[str, Any] | None = attrs.field(
        default=None, converter=optional_json_document, eq=True, hash=False
    )


@attrs.frozen(kw_only=True)
class ActionDelivered(Event):
    """A sink took the escalation action with idempotency key ``key`` (at ``at``).

    Written by a runner once its sink has accepted the action fired by an
    :class:`EscalationFired` event with the same ``key``.

    Attributes:
        key: The action's idempotency key (non-empty).
        attempt: Which delivery attempt succeeded (``>= 1``).

    Raises:
        InvalidTypeError: A value has the wrong type.
        InvalidValueError: ``key`` is blank or ``attempt`` is below 1.

    .. versionadded:: 0.1.0
    """

    event_type: ClassVar[str] = "action_delivered"

    key: str = attrs.field(validator=_non_empty_str)
    attempt: int = attrs.field(validator=_check_positive)


@attrs.frozen(kw_only=True)
class EscalationFailed(Event):
    """Evaluating an escalation rule, or delivering one of its actions, failed.

    Attributes:
        rule: The rule being evaluated or whose action failed, or ``None``.
        action: Kind of the action that failed, or ``None`` (an evaluation failure).
        key: Idempotency key of the action that failed, or ``None``.
        error: What failed, naming the promise, the rule and the cause (non-empty).
        attempt: Which attempt failed (``>= 1``).
        retry_at: When the next attempt is due (aware), or ``None`` if none is
            planned.

    Raises:
        InvalidTypeError: A value has the wrong type.
        NaiveDatetimeError: ``retry_at`` has no time zone.
        InvalidValueError: A string is blank or ``attempt`` is below 1.

    .. versionadded:: 0.1.0
    """

    event_type: ClassVar[str] = "escalation_failed"

    rule: str | None = attrs.field(default=None, validator=_optional_str)
    action: str | None = attrs.field(default=None, validator=_optional_str)
    key: str | None = attrs.field(default=None, validator=_optional_str)
    error: str = attrs.field(validator=_non_empty_str)
    attempt: int = attrs.field(validator=_check_positive)
    retry_at: datetime | None = attrs.field(default=None, validator=_optional_aware)


_EVENT_CLASSES: tuple[type[Event], ...] = (
    PromiseMade,
    PromiseRevised,
    PromisePaused,
    PromiseResumed,
    CustomerNotified,
    DeliveryRecorded,
    PromiseCancelled,
    EscalationFired,
    ActionDelivered,
    EscalationFailed,
    MessageReceived,
    PromiseReopened,
)

#: Every event class by its document name (``"promise_made"`` → :class:`PromiseMade`).
#:
#: .. versionadded:: 0.1.0
EVENT_TYPES: Mapping[str, type[Event]] = {cls.event_type: cls for cls in _EVENT_CLASSES}


# --------------------------------------------------------------------------- payloads


def _canonical(value: Any) -> Any:
    """A hashable value equal exactly when the JSON documents of two values are equal.

    Datetimes compare by wall time, offset and zone (``==`` compares instants only);
    floats by ``repr`` (``-0.0`` is not ``0.0``); decimals by their string.
    """
    if isinstance(value, datetime):
        zone = value.tzinfo
        key = getattr(zone, "key", None)
        return ("datetime", value.isoformat(), key if key is not None else repr(zone))
    if isinstance(value, bool):  # True == 1, but their documents differ
        return ("bool", value)
    if isinstance(value, (str, int, type(None))):
        return value
    if isinstance(value, float):
        return ("float", repr(value))
    if isinstance(value, Decimal):
        return ("decimal", str(value))
    if isinstance(value, timedelta):
        return ("timedelta", value.days, value.seconds, value.microseconds)
    if attrs.has(type(value)):
        return (
            type(value).__name__,
            tuple((f.name, _canonical(getattr(value, f.name))) for f in attrs.fields(type(value))),
        )
    if isinstance(value, Mapping):
        return ("mapping", tuple(sorted((k, _canonical(v)) for k, v in value.items())))
    if isinstance(value, (tuple, list)):
        return ("tuple", tuple(_canonical(v) for v in value))
    return ("repr", repr(value))  # pragma: no cover - events hold only the types above


def _payload(event: Event) -> tuple[tuple[str, Any], ...]:
    return tuple(
        (f.name, _canonical(getattr(event, f.name))) for f in attrs.fields(type(event)) if f.init
    )


def _same_payload(a: Event, b: Event) -> bool:
    return type(a) is type(b) and _payload(a) == _payload(b)


def _show(value: Any) -> str:
    """A value for an error message; datetimes with their offset and zone."""
    if isinstance(value, datetime):
        key = getattr(value.tzinfo, "key", None)
        return value.isoformat() + (f"[{key}]" if key else "")
    return describe(value)


def _conflict(recorded: Event, given: Event) -> InconsistentRecordError:
    if type(recorded) is not type(given):
        detail = f"recorded as {recorded.event_type}, got {given.event_type}"
    else:
        differing = [
            f"{name!r} (recorded {_show(getattr(recorded, name))}, "
            f"got {_show(getattr(given, name))})"
            for (name, left), (_, right) in zip(_payload(recorded), _payload(given), strict=True)
            if left != right
        ]
        detail = "differs in " + ", ".join(differing)
    return InconsistentRecordError(
        f"event id {describe(recorded.id)} is already recorded with a different payload: {detail}; "
        f"an event id must always carry the same event"
    )


def _check_event(value: object, where: str = "'event'") -> Event:
    if not isinstance(value, Event):
        raise InvalidTypeError(
            f"{where} must be a ledger Event such as PromiseMade "
            f"(got {type(value).__name__} {describe(value)})"
        )
    return value
