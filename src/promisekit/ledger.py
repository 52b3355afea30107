"""An event-sourced promise lifecycle: what happened to each promise, and its state.

Everything that happens to a promise is recorded as an immutable **event**:
:class:`PromiseMade`, :class:`PromiseRevised`, :class:`PromisePaused`,
:class:`PromiseResumed`, :class:`CustomerNotified`, :class:`DeliveryRecorded`,
:class:`PromiseCancelled` and :class:`EscalationFired`. Each has an ``id`` (unique in
the ledger), the ``promise_id`` it is about, the instant it happened (``at``) and the
instant it was recorded (``recorded_at``) — both given by the caller, never read from
the wall clock.

A :class:`PromiseLedger` collects events; :func:`replay` turns the events of one
promise into its :class:`PromiseState`. The state is a **pure function of the set of
events**: the order in which they arrived does not matter, and appending the same
event twice changes nothing.

Replay semantics (all decided here, and tested):

* **Order.** Events are applied by occurrence: ``at`` (as an absolute instant), then
  at the same instant :class:`PromiseMade` first and :class:`PromiseCancelled` last,
  then by ``id``. ``recorded_at`` never changes the order; it only filters with
  ``known_at=`` ("what did we know then?").
* **The promise-made event** starts the promise. Without one, there is no state
  (:class:`UnknownPromiseError`). A second :class:`PromiseMade` for the same promise,
  and any event that happened strictly *before* the promise was made, is not applied:
  it is listed in :attr:`PromiseState.ignored` with the reason — nothing is dropped
  silently, and the ledger keeps every event it was given.
* **Revisions** apply :meth:`Promise.revise <promisekit.promise.Promise.revise>` in
  order of occurrence, so revision numbers are 1, 2, 3… by occurrence. A revision
  ``revise`` refuses (same due date as the one in force…) is ignored, with the reason.
* **Pause / resume** alternate: a pause while paused, or a resume while running, is
  ignored. A pause still open at cancellation ends at the cancellation.
* **Deliveries** become :class:`~promisekit.delivery.Delivery` records (their ``id``
  is the event id) and are assessed by :func:`~promisekit.delivery.assess`.
* **Cancellation** is final: revisions, pauses, resumes, deliveries and further
  cancellations that happened after it are ignored. Notifications and escalations
  after it are still applied (telling the customer about a cancellation is normal).

Example:
    >>> from datetime import datetime, timedelta, timezone
    >>> t0 = datetime(2026, 3, 10, 9, 0, tzinfo=timezone.utc)
    >>> ledger = PromiseLedger()
    >>> ledger.append(PromiseMade(id="E-1", promise_id="P-1", at=t0, recorded_at=t0,
    ...                           customer_id="C-1", kind="callback",
    ...                           due=t0 + timedelta(hours=1)))
    True
    >>> ledger.append(DeliveryRecorded(id="E-2", promise_id="P-1",
    ...                                at=t0 + timedelta(minutes=59),
    ...                                recorded_at=t0 + timedelta(minutes=59)))
    True
    >>> ledger.state("P-1").assess(t0 + timedelta(hours=2)).status.name
    'KEPT'

.. versionadded:: 0.1.0
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

import attrs

from promisekit._validation import (
    check_aware,
    check_non_empty_str,
    describe,
    optional_cost,
    optional_quality,
    optional_quantity,
)
from promisekit.delivery import Delivery, Outcome, assess
from promisekit.errors import (
    InconsistentRecordError,
    InvalidTypeError,
    InvalidValueError,
    PromiseKitError,
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

if TYPE_CHECKING:
    from promisekit.calendar import BusinessCalendar

__all__ = [
    "EVENT_TYPES",
    "CustomerNotified",
    "DeliveryRecorded",
    "EscalationFired",
    "Event",
    "IgnoredEvent",
    "Ledger",
    "PausedInterval",
    "PromiseCancelled",
    "PromiseLedger",
    "PromiseMade",
    "PromisePaused",
    "PromiseResumed",
    "PromiseRevised",
    "PromiseState",
    "UnknownPromiseError",
    "replay",
]


class UnknownPromiseError(InvalidValueError, LookupError):
    """No state can be given for a promise id: the ledger has no promise-made event for it.

    Raised by :meth:`PromiseLedger.state` when the ledger holds no event for the id, only
    events without a :class:`PromiseMade`, or when the promise was made after the
    ``at`` instant asked for. Also a :class:`LookupError`.

    Attributes:
        promise_id: The promise id that was asked for.

    .. versionadded:: 0.1.0
    """

    def __init__(self, promise_id: str, message: str) -> None:
        self.promise_id = promise_id
        super().__init__(message)


# --------------------------------------------------------------------------- validators


def _check_count(instance: object, attribute: attrs.Attribute[int], value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidTypeError(
            f"{attribute.name!r} must be an int (got {type(value).__name__} {describe(value)})"
        )
    if value < 0:
        raise InvalidValueError(f"{attribute.name!r} must be >= 0 (got {describe(value)})")


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

    Raises:
        InvalidTypeError: A value has the wrong type.
        InvalidValueError: A string is blank or a number negative.

    .. versionadded:: 0.1.0
    """

    event_type: ClassVar[str] = "escalation_fired"

    rule: str = attrs.field(validator=_non_empty_str)
    action: str = attrs.field(validator=_non_empty_str)
    level: int = attrs.field(validator=_check_count)
    revision: int = attrs.field(validator=_check_count)


_EVENT_CLASSES: tuple[type[Event], ...] = (
    PromiseMade,
    PromiseRevised,
    PromisePaused,
    PromiseResumed,
    CustomerNotified,
    DeliveryRecorded,
    PromiseCancelled,
    EscalationFired,
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


# --------------------------------------------------------------------------- state


@attrs.frozen(kw_only=True)
class PausedInterval:
    """One pause of a promise's clock: from ``start`` to ``end`` (``None`` while paused).

    Attributes:
        start: When the pause began (the :class:`PromisePaused` event's ``at``).
        end: When it ended (resume or cancellation), or ``None`` if still paused.
        reason: The pause's reason, or ``None``.

    .. versionadded:: 0.1.0
    """

    start: datetime = attrs.field(validator=_aware)
    end: datetime | None = attrs.field(default=None, validator=_optional_aware)
    reason: str | None = attrs.field(default=None, validator=_optional_str)

    def duration(self, now: datetime) -> timedelta:
        """Real time paused, up to ``now`` (an open pause runs until ``now``).

        Args:
            now: The instant to measure up to (aware).

        Returns:
            The paused time before ``now`` (zero if the pause starts after ``now``).

        .. versionadded:: 0.1.0
        """
        now_utc = _utc(check_aware("now", now))
        end = now_utc if self.end is None else min(_utc(self.end), now_utc)
        return max(end - _utc(self.start), timedelta(0))


@attrs.frozen(kw_only=True)
class IgnoredEvent:
    """An event of the promise that replay did not apply, and why.

    Attributes:
        event: The event.
        reason: Why it was not applied (before the promise was made, after its
            cancellation, a resume without pause…).

    .. versionadded:: 0.1.0
    """

    event: Event
    reason: str


def _check_state_now(state: PromiseState, now: datetime) -> datetime:
    check_aware("now", now)
    if _utc(now) < _utc(state.promise.made_at):
        raise InvalidValueError(
            f"'now' must not be before the promise's 'made_at' ({_fmt(state.promise.made_at)}) "
            f"(got {_fmt(now)})"
        )
    return now


@attrs.frozen(kw_only=True)
class PromiseState:
    """The state of one promise, replayed from its events (see :func:`replay`).

    It plugs into the rest of promisekit: :attr:`promise` and :attr:`deliveries` go to
    :func:`~promisekit.delivery.assess` (or :meth:`assess`), the satisfaction models
    take the :class:`~promisekit.promise.Promise` and the
    :class:`~promisekit.delivery.Outcome`, and the escalation engine reads
    :attr:`last_notified_at`, :attr:`paused_intervals` and :meth:`escalated`.

    Attributes:
        promise_id: Id of the promise.
        promise: The current :class:`~promisekit.promise.Promise` revision.
        made: The :class:`PromiseMade` event the promise started from.
        deliveries: Its deliveries, in order of occurrence.
        paused_intervals: Its pauses, in order; the last one has ``end=None`` while
            paused.
        notifications: The :class:`CustomerNotified` events, in order.
        escalations: The :class:`EscalationFired` events, in order.
        cancellation: The :class:`PromiseCancelled` event, or ``None``.
        events: Every applied event, in replay order.
        ignored: Events of the promise that were not applied, with the reason.
        as_of: The ``at`` of the replay (events after it are not included), or
            ``None`` for every event.
        known_at: The ``known_at`` of the replay (events recorded after it are not
            included), or ``None``.

    .. versionadded:: 0.1.0
    """

    promise_id: str
    promise: Promise
    made: PromiseMade
    deliveries: tuple[Delivery, ...] = ()
    paused_intervals: tuple[PausedInterval, ...] = ()
    notifications: tuple[CustomerNotified, ...] = ()
    escalations: tuple[EscalationFired, ...] = ()
    cancellation: PromiseCancelled | None = None
    events: tuple[Event, ...] = ()
    ignored: tuple[IgnoredEvent, ...] = ()
    as_of: datetime | None = None
    known_at: datetime | None = None

    @property
    def cancelled(self) -> bool:
        """True when the promise was cancelled.

        .. versionadded:: 0.1.0
        """
        return self.cancellation is not None

    @property
    def cancelled_at(self) -> datetime | None:
        """When the promise was cancelled, or ``None``.

        .. versionadded:: 0.1.0
        """
        return None if self.cancellation is None else self.cancellation.at

    @property
    def revision(self) -> int:
        """The revision number of :attr:`promise` (0 when never revised).

        .. versionadded:: 0.1.0
        """
        return self.promise.revision

    @property
    def is_paused(self) -> bool:
        """True while the last pause has not ended.

        .. versionadded:: 0.1.0
        """
        return bool(self.paused_intervals) and self.paused_intervals[-1].end is None

    @property
    def last_notified_at(self) -> datetime | None:
        """When the customer was last notified, or ``None`` if never.

        .. versionadded:: 0.1.0
        """
        return self.notifications[-1].at if self.notifications else None

    @property
    def last_event_at(self) -> datetime:
        """When the last applied event happened.

        .. versionadded:: 0.1.0
        """
        return self.events[-1].at

    def paused_time(self, now: datetime) -> timedelta:
        """Total real time the promise's clock was paused before ``now``.

        Args:
            now: The instant to measure up to (aware); an open pause runs until then.

        Returns:
            The total paused time.

        Raises:
            NaiveDatetimeError: ``now`` has no time zone.

        .. versionadded:: 0.1.0
        """
        return sum((p.duration(now) for p in self.paused_intervals), timedelta(0))

    def escalated(self, rule: str, revision: int | None = None) -> bool:
        """Whether ``rule`` fired for ``revision`` (by default the current revision).

        Args:
            rule: Name of the rule.
            revision: Revision number, or ``None`` for :attr:`revision`.

        Returns:
            True if an :class:`EscalationFired` event records it.

        .. versionadded:: 0.1.0
        """
        wanted = self.revision if revision is None else revision
        return any(e.rule == rule and e.revision == wanted for e in self.escalations)

    def assess(self, now: datetime, calendar: BusinessCalendar | None = None) -> Outcome:
        """Assess the promise against its deliveries at ``now``.

        This is :func:`~promisekit.delivery.assess` on :attr:`promise` and
        :attr:`deliveries`.

        A cancelled promise is assessed like any other (the
        :class:`~promisekit.delivery.Outcome` has no "cancelled" status): check
        :attr:`cancelled` first, or use :meth:`is_open`.

        Args:
            now: The instant of the assessment (aware, not before the promise was made).
                Events after the state's :attr:`as_of` are not in the state.
            calendar: A :class:`~promisekit.calendar.BusinessCalendar` to also measure
                lateness in working time, or ``None``.

        Returns:
            The outcome.

        Raises:
            NaiveDatetimeError: ``now`` has no time zone.
            InvalidValueError: ``now`` is before the promise was made.

        .. versionadded:: 0.1.0
        """
        return assess(
            self.promise, self.deliveries, now=_check_state_now(self, now), calendar=calendar
        )

    def is_open(self, now: datetime) -> bool:
        """True when, at ``now``, the promise is neither cancelled nor complete.

        Args:
            now: The instant (aware, not before the promise was made).

        Returns:
            Whether the promise is still open.

        .. versionadded:: 0.1.0
        """
        _check_state_now(self, now)
        if self.cancellation is not None and _utc(self.cancellation.at) <= _utc(now):
            return False
        return self.assess(now).is_open


def _ignore_reason(
    event: Event,
    made: PromiseMade,
    cancellation: PromiseCancelled | None,
    pauses: list[PausedInterval],
) -> str | None:
    """Why ``event`` cannot be applied to the state built so far, or ``None`` if it can."""
    if isinstance(event, PromiseMade):
        return f"the promise was already made by event {describe(made.id)} at {_fmt(made.at)}"
    if cancellation is not None and isinstance(
        event, (PromiseRevised, PromisePaused, PromiseResumed, DeliveryRecorded, PromiseCancelled)
    ):
        return (
            f"happened after the promise was cancelled at {_fmt(cancellation.at)} "
            f"(event {describe(cancellation.id)})"
        )
    paused = bool(pauses) and pauses[-1].end is None
    if isinstance(event, PromisePaused) and paused:
        return f"the promise was already paused since {_fmt(pauses[-1].start)}"
    if isinstance(event, PromiseResumed) and not paused:
        return "the promise was not paused"
    return None


def _replay_sorted(
    promise_id: str,
    events: list[Event],
    as_of: datetime | None,
    known_at: datetime | None,
) -> PromiseState:
    """Replay the events of one promise, already unique by id and in replay order."""
    start = next((i for i, e in enumerate(events) if isinstance(e, PromiseMade)), None)
    if start is None:
        if as_of is not None or known_at is not None:
            limits = []
            if as_of is not None:
                limits.append(f"at {_fmt(as_of)}")
            if known_at is not None:
                limits.append(f"known at {_fmt(known_at)}")
            raise UnknownPromiseError(
                promise_id,
                f"promise {describe(promise_id)} had not been made as of {' and '.join(limits)} "
                f"(no promise_made event up to then)",
            )
        raise UnknownPromiseError(
            promise_id,
            f"promise {describe(promise_id)} has {len(events)} event(s) but no promise_made event",
        )
    made = events[start]
    assert isinstance(made, PromiseMade)
    promise = made.promise
    # Events sorted before the promise-made event happened strictly earlier.
    ignored = [
        IgnoredEvent(
            event=early,
            reason=(
                f"happened at {_fmt(early.at)}, before the promise was made at "
                f"{_fmt(made.at)} (event {describe(made.id)})"
            ),
        )
        for early in events[:start]
    ]
    applied: list[Event] = [made]
    deliveries: list[Delivery] = []
    pauses: list[PausedInterval] = []
    notifications: list[CustomerNotified] = []
    escalations: list[EscalationFired] = []
    cancellation: PromiseCancelled | None = None
    for event in events[start + 1 :]:
        reason = _ignore_reason(event, made, cancellation, pauses)
        if reason is None and isinstance(event, PromiseRevised):
            try:
                promise = promise.revise(
                    due=event.due, at=event.at, reason=event.reason, target=event.target
                )
            except PromiseKitError as exc:
                reason = f"the revision was refused: {exc}"
        if reason is not None:
            ignored.append(IgnoredEvent(event=event, reason=reason))
            continue
        applied.append(event)
        if isinstance(event, PromisePaused):
            pauses.append(PausedInterval(start=event.at, reason=event.reason))
        elif isinstance(event, PromiseResumed):
            pauses[-1] = attrs.evolve(pauses[-1], end=event.at)
        elif isinstance(event, CustomerNotified):
            notifications.append(event)
        elif isinstance(event, DeliveryRecorded):
            deliveries.append(event.delivery())
        elif isinstance(event, PromiseCancelled):
            cancellation = event
            if pauses and pauses[-1].end is None:
                pauses[-1] = attrs.evolve(pauses[-1], end=event.at)
        elif isinstance(event, EscalationFired):
            escalations.append(event)
    return PromiseState(
        promise_id=promise_id,
        promise=promise,
        made=made,
        deliveries=tuple(deliveries),
        paused_intervals=tuple(pauses),
        notifications=tuple(notifications),
        escalations=tuple(escalations),
        cancellation=cancellation,
        events=tuple(applied),
        ignored=tuple(ignored),
        as_of=as_of,
        known_at=known_at,
    )


def _limit(field: str, value: datetime | None) -> datetime | None:
    return None if value is None else _utc(check_aware(field, value))


def _select(
    events: Iterable[Event], as_of: datetime | None, known_at: datetime | None
) -> list[Event]:
    """The events that happened by ``as_of`` and were recorded by ``known_at``, in order."""
    at_utc = _limit("at", as_of)
    known_utc = _limit("known_at", known_at)
    chosen = [
        e
        for e in events
        if (at_utc is None or _utc(e.at) <= at_utc)
        and (known_utc is None or _utc(e.recorded_at) <= known_utc)
    ]
    chosen.sort(key=Event.order_key)
    return chosen


def replay(
    promise_id: str,
    events: Iterable[Event],
    *,
    at: datetime | None = None,
    known_at: datetime | None = None,
) -> PromiseState:
    """The state of a promise from a collection of its events (a pure function of the set).

    The order of ``events`` does not matter, and an event given twice counts once.
    See the module documentation for the replay rules.

    Args:
        promise_id: Id of the promise.
        events: Its events, in any order, possibly with repeats.
        at: Replay only the events that happened at or before this instant (aware), or
            ``None`` for all.
        known_at: Replay only the events recorded at or before this instant (aware), or
            ``None`` for all — "what was known then".

    Returns:
        The :class:`PromiseState`.

    Raises:
        InvalidTypeError: An item is not an :class:`Event`.
        NaiveDatetimeError: ``at`` or ``known_at`` has no time zone.
        InconsistentRecordError: An event is about another promise, or two events share
            an id with different payloads.
        UnknownPromiseError: No :class:`PromiseMade` event is among the replayed events.

    .. versionadded:: 0.1.0
    """
    check_non_empty_str("promise_id", promise_id)
    if isinstance(events, (str, bytes, Event)) or not isinstance(events, Iterable):
        raise InvalidTypeError(
            f"'events' must be an iterable of Event (got {type(events).__name__} "
            f"{describe(events)})"
        )
    unique: dict[str, Event] = {}
    for index, item in enumerate(events):
        event = _check_event(item, f"'events[{index}]'")
        if event.promise_id != promise_id:
            raise InconsistentRecordError(
                f"'events' must all be about promise {describe(promise_id)} (got event "
                f"{describe(event.id)} "
                f"about promise {describe(event.promise_id)})"
            )
        seen = unique.get(event.id)
        if seen is None:
            unique[event.id] = event
        elif not _same_payload(seen, event):
            raise _conflict(seen, event)
    return _replay_sorted(promise_id, _select(unique.values(), at, known_at), at, known_at)


# --------------------------------------------------------------------------- ledgers


class Ledger(Protocol):
    """What :class:`PromiseLedger` and :class:`promisekit.store.SQLiteLedger` both offer.

    Code that only reads and appends events (the escalation engine, an importer) can
    accept any ``Ledger``.

    .. versionadded:: 0.1.0
    """

    def append(self, event: Event) -> bool:
        """Record one event; False if the same event was already recorded."""
        ...

    def append_many(self, events: Iterable[Event]) -> int:
        """Record several events, all or none; return how many were added."""
        ...

    def state(
        self, promise_id: str, at: datetime | None = None, *, known_at: datetime | None = None
    ) -> PromiseState:
        """The state of a promise, replaying its events."""
        ...

    def open_promises(self, now: datetime) -> tuple[PromiseState, ...]:
        """The states of the promises open at ``now``."""
        ...

    def history(self, promise_id: str | None = None) -> tuple[Event, ...]:
        """Every event (of one promise, or of all), in replay order."""
        ...

    def promise_ids(self) -> tuple[str, ...]:
        """Ids of every promise with at least one event, sorted."""
        ...

    def get(self, event_id: str) -> Event | None:
        """The event recorded with ``event_id``, or ``None``."""
        ...

    def __len__(self) -> int:
        """The number of events."""
        ...

    def __contains__(self, event_id: object) -> bool:
        """Whether an event with this id is recorded."""
        ...


def _check_batch(events: Iterable[Event]) -> list[Event]:
    """Check the types of a batch and that it does not contradict itself; drop repeats."""
    if isinstance(events, (str, bytes, Event)) or not isinstance(events, Iterable):
        raise InvalidTypeError(
            f"'events' must be an iterable of Event (got {type(events).__name__} "
            f"{describe(events)})"
        )
    batch: dict[str, Event] = {}
    for index, item in enumerate(events):
        event = _check_event(item, f"'events[{index}]'")
        seen = batch.get(event.id)
        if seen is None:
            batch[event.id] = event
        elif not _same_payload(seen, event):
            raise _conflict(seen, event)
    return list(batch.values())


def _open_states(states: Iterable[PromiseState], now: datetime) -> tuple[PromiseState, ...]:
    return tuple(s for s in states if s.is_open(now))


class PromiseLedger:
    """An in-memory, append-only set of events, with the state of every promise.

    Appending is idempotent: the same event twice is a no-op; the same id with a
    different payload raises :class:`~promisekit.errors.InconsistentRecordError` (and
    records nothing). Payloads are compared as their JSON documents would be: two
    datetimes for the same instant in different zones are different payloads.

    :class:`promisekit.store.SQLiteLedger` offers the same API, persisted. This class
    is not thread-safe.

    Args:
        events: Events to start with (appended with :meth:`append_many`).

    Raises:
        InvalidTypeError: An item is not an :class:`Event`.
        InconsistentRecordError: Two events share an id with different payloads.

    Example:
        .. code-block:: python

            ledger = PromiseLedger()
            ledger.append(made)
            state = ledger.state("P-1", at=now)
            outcome = state.assess(now)

    .. versionadded:: 0.1.0
    """

    def __init__(self, events: Iterable[Event] = ()) -> None:
        self._by_id: dict[str, Event] = {}
        self._by_promise: dict[str, list[Event]] = {}
        self.append_many(events)

    def __repr__(self) -> str:
        return f"PromiseLedger({len(self._by_id)} events, {len(self._by_promise)} promises)"

    def __len__(self) -> int:
        return len(self._by_id)

    def __contains__(self, event_id: object) -> bool:
        return event_id in self._by_id

    def __iter__(self) -> Iterator[Event]:
        return iter(self.history())

    def get(self, event_id: str) -> Event | None:
        """The event recorded with ``event_id``, or ``None``.

        .. versionadded:: 0.1.0
        """
        return self._by_id.get(event_id)

    def append(self, event: Event) -> bool:
        """Record one event.

        Args:
            event: The event.

        Returns:
            True if it was added, False if the same event was already recorded.

        Raises:
            InvalidTypeError: ``event`` is not an :class:`Event`.
            InconsistentRecordError: Its id is recorded with a different payload.

        .. versionadded:: 0.1.0
        """
        _check_event(event)
        seen = self._by_id.get(event.id)
        if seen is not None:
            if _same_payload(seen, event):
                return False
            raise _conflict(seen, event)
        self._add(event)
        return True

    def append_many(self, events: Iterable[Event]) -> int:
        """Record several events, all or none.

        Every event is checked before any is recorded: a bad item or a conflicting id
        raises and leaves the ledger unchanged.

        Args:
            events: The events (any iterable; repeats are no-ops).

        Returns:
            How many events were added.

        Raises:
            InvalidTypeError: An item is not an :class:`Event`.
            InconsistentRecordError: An id is recorded (or repeated in the batch) with a
                different payload.

        .. versionadded:: 0.1.0
        """
        batch = _check_batch(events)
        new: list[Event] = []
        for event in batch:
            seen = self._by_id.get(event.id)
            if seen is None:
                new.append(event)
            elif not _same_payload(seen, event):
                raise _conflict(seen, event)
        for event in new:
            self._add(event)
        return len(new)

    def _add(self, event: Event) -> None:
        self._by_id[event.id] = event
        bucket = self._by_promise.get(event.promise_id)
        if bucket is None:
            self._by_promise[event.promise_id] = [event]
        else:
            bucket.append(event)

    def promise_ids(self) -> tuple[str, ...]:
        """Ids of every promise with at least one event, sorted.

        .. versionadded:: 0.1.0
        """
        return tuple(sorted(self._by_promise))

    def state(
        self, promise_id: str, at: datetime | None = None, *, known_at: datetime | None = None
    ) -> PromiseState:
        """The state of a promise, replaying its events (see :func:`replay`).

        Args:
            promise_id: Id of the promise.
            at: Replay only what happened at or before this instant (aware), or
                ``None`` for everything.
            known_at: Replay only what was recorded at or before this instant, or
                ``None``.

        Returns:
            The :class:`PromiseState`.

        Raises:
            NaiveDatetimeError: ``at`` or ``known_at`` has no time zone.
            UnknownPromiseError: The ledger has no event for ``promise_id``, or no
                promise-made event among those replayed.

        .. versionadded:: 0.1.0
        """
        check_non_empty_str("promise_id", promise_id)
        bucket = self._by_promise.get(promise_id)
        if bucket is None:
            raise UnknownPromiseError(
                promise_id, f"promise {describe(promise_id)} has no event in the ledger"
            )
        return _replay_sorted(promise_id, _select(bucket, at, known_at), at, known_at)

    def open_promises(self, now: datetime) -> tuple[PromiseState, ...]:
        """The states at ``now`` of every promise made by then, not cancelled, not complete.

        Args:
            now: The instant (aware).

        Returns:
            The open promises' states (replayed up to ``now``), sorted by promise id.

        Raises:
            NaiveDatetimeError: ``now`` has no time zone.

        .. versionadded:: 0.1.0
        """
        now_utc = _utc(check_aware("now", now))
        states = []
        for promise_id in sorted(self._by_promise):
            bucket = self._by_promise[promise_id]
            if not any(isinstance(e, PromiseMade) and _utc(e.at) <= now_utc for e in bucket):
                continue
            states.append(self.state(promise_id, at=now))
        return _open_states(states, now)

    def history(self, promise_id: str | None = None) -> tuple[Event, ...]:
        """Every event (of one promise, or of all), in replay order.

        Args:
            promise_id: A promise id, or ``None`` for the whole ledger.

        Returns:
            The events, ordered by occurrence (see the module documentation); empty
            for an unknown promise.

        .. versionadded:: 0.1.0
        """
        if promise_id is None:
            events: Iterable[Event] = self._by_id.values()
        else:
            events = self._by_promise.get(promise_id, ())
        return tuple(sorted(events, key=Event.order_key))
