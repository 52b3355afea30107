"""The state of a promise and its replay from events.

Private to :mod:`promisekit.ledger`, which re-exports :class:`PromiseState`,
:func:`replay` and the records a state holds. Both ledgers (the in-memory one and
:class:`promisekit.store.SQLiteLedger`) replay through :func:`_replay_sorted`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from types import MemberDescriptorType
from typing import TYPE_CHECKING, Any

import attrs

from promisekit._ledger_events import (
    _EVENT_CLASSES,
    ActionDelivered,
    CustomerNotified,
    DeliveryRecorded,
    EscalationFailed,
    EscalationFired,
    Event,
    PromiseCancelled,
    PromiseMade,
    PromisePaused,
    PromiseResumed,
    PromiseRevised,
    _check_event,
    _conflict,
    _same_payload,
)
from promisekit._validation import (
    check_aware,
    check_non_empty_str,
    describe,
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
    _aware,
    _fmt,
    _optional_aware,
    _optional_str,
    _utc,
)

if TYPE_CHECKING:
    from promisekit.calendar import BusinessCalendar


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
        action_deliveries: The :class:`ActionDelivered` events (a sink took an
            escalation action), in order.
        failures: The :class:`EscalationFailed` events (an evaluation or a delivery
            failed), in order.
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
    action_deliveries: tuple[ActionDelivered, ...] = ()
    failures: tuple[EscalationFailed, ...] = ()
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


_new = object.__new__


def slot_setter(cls: type[Any], name: str) -> Callable[[Any, Any], None]:
    """A function that sets the field ``name`` of an instance of ``cls`` as
    ``object.__setattr__`` does (past a frozen class's ``__setattr__``), faster: the
    slot's own setter when the field is a slot."""
    for klass in cls.__mro__:
        found = klass.__dict__.get(name)
        if found is not None:
            if isinstance(found, MemberDescriptorType):
                setter: Callable[[Any, Any], None] = found.__set__
                return setter
            break
    return lambda obj, value: object.__setattr__(obj, name, value)


_PAUSED_START, _PAUSED_END, _PAUSED_REASON = (
    slot_setter(PausedInterval, name) for name in ("start", "end", "reason")
)
_DELIVERY = {
    name: slot_setter(Delivery, name)
    for name in ("promise_id", "at", "quantity", "quality", "cost", "id", "note")
}


def _paused(start: datetime, end: datetime | None, reason: str | None) -> PausedInterval:
    """A :class:`PausedInterval` of values taken from valid events (not checked again)."""
    interval: PausedInterval = _new(PausedInterval)
    _PAUSED_START(interval, start)
    _PAUSED_END(interval, end)
    _PAUSED_REASON(interval, reason)
    return interval


def _delivery(event: DeliveryRecorded) -> Delivery:
    """``event.delivery()`` without checking again what the event checked.

    :class:`~promisekit.delivery.Delivery` and :class:`DeliveryRecorded` share their
    fields' converters and validators, so the values of a valid event make a valid
    delivery (the tests compare the two).
    """
    delivery: Delivery = _new(Delivery)
    set_ = _DELIVERY
    set_["promise_id"](delivery, event.promise_id)
    set_["at"](delivery, event.at)
    set_["quantity"](delivery, event.quantity)
    set_["quality"](delivery, event.quality)
    set_["cost"](delivery, event.cost)
    set_["id"](delivery, event.id)
    set_["note"](delivery, event.note)
    return delivery


# The kind of each event class, for replay's dispatch (a subclass gets its base's kind).
_KIND_BY_CLASS: dict[type[Event], type[Event]] = {cls: cls for cls in _EVENT_CLASSES}
# What a cancellation closes: these events are ignored after it.
_CLOSED_BY_CANCELLATION = frozenset(
    (PromiseRevised, PromisePaused, PromiseResumed, DeliveryRecorded, PromiseCancelled)
)


def _kind(event: Event) -> type[Event]:
    kind = _KIND_BY_CLASS.get(type(event))
    if kind is None:
        kind = next((k for k in _KIND_BY_CLASS if isinstance(event, k)), Event)
    return kind


def _ignore_reason(
    kind: type[Event],
    made: PromiseMade,
    cancellation: PromiseCancelled | None,
    pauses: list[PausedInterval],
) -> str | None:
    """Why an event of ``kind`` cannot be applied to the state built so far, or ``None``."""
    if kind is PromiseMade:
        return f"the promise was already made by event {describe(made.id)} at {_fmt(made.at)}"
    if cancellation is not None and kind in _CLOSED_BY_CANCELLATION:
        return (
            f"happened after the promise was cancelled at {_fmt(cancellation.at)} "
            f"(event {describe(cancellation.id)})"
        )
    paused = bool(pauses) and pauses[-1].end is None
    if kind is PromisePaused and paused:
        return f"the promise was already paused since {_fmt(pauses[-1].start)}"
    if kind is PromiseResumed and not paused:
        return "the promise was not paused"
    return None


def _replay_sorted(
    promise_id: str,
    events: list[Event],
    as_of: datetime | None,
    known_at: datetime | None,
) -> PromiseState:
    """Replay the events of one promise, already unique by id and in replay order."""
    if events and type(events[0]) is PromiseMade:  # (the usual case)
        start: int | None = 0
    else:
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
    skipped = len(ignored)  # the events ignored so far are not applied
    deliveries: list[Delivery] = []
    pauses: list[PausedInterval] = []
    notifications: list[CustomerNotified] = []
    escalations: list[EscalationFired] = []
    action_deliveries: list[ActionDelivered] = []
    failures: list[EscalationFailed] = []
    cancellation: PromiseCancelled | None = None
    for event in events[start + 1 :]:
        kind = _KIND_BY_CLASS.get(type(event)) or _kind(event)
        if kind is CustomerNotified:  # (never ignored)
            assert isinstance(event, CustomerNotified)
            notifications.append(event)
            continue
        if kind is EscalationFired:  # (never ignored)
            assert isinstance(event, EscalationFired)
            escalations.append(event)
            continue
        if kind is ActionDelivered:  # (never ignored)
            assert isinstance(event, ActionDelivered)
            action_deliveries.append(event)
            continue
        if kind is EscalationFailed:  # (never ignored)
            assert isinstance(event, EscalationFailed)
            failures.append(event)
            continue
        if cancellation is None:  # the usual cases, decided as _ignore_reason would
            if kind is DeliveryRecorded:
                assert isinstance(event, DeliveryRecorded)
                deliveries.append(_delivery(event))
                continue
            is_paused = bool(pauses) and pauses[-1].end is None
            if kind is PromisePaused and not is_paused:
                assert isinstance(event, PromisePaused)
                pauses.append(_paused(event.at, None, event.reason))
                continue
            if kind is PromiseResumed and is_paused:
                last = pauses[-1]
                pauses[-1] = _paused(last.start, event.at, last.reason)
                continue
        reason = _ignore_reason(kind, made, cancellation, pauses)
        if reason is None and kind is PromiseRevised:
            assert isinstance(event, PromiseRevised)
            try:
                promise = promise.revise(
                    due=event.due, at=event.at, reason=event.reason, target=event.target
                )
            except PromiseKitError as exc:
                reason = f"the revision was refused: {exc}"
        if reason is not None:
            ignored.append(IgnoredEvent(event=event, reason=reason))
            continue
        if kind is PromisePaused:
            assert isinstance(event, PromisePaused)
            pauses.append(_paused(event.at, None, event.reason))
        elif kind is PromiseResumed:
            last = pauses[-1]
            pauses[-1] = _paused(last.start, event.at, last.reason)
        elif kind is DeliveryRecorded:
            assert isinstance(event, DeliveryRecorded)
            deliveries.append(_delivery(event))
        elif kind is PromiseCancelled:
            assert isinstance(event, PromiseCancelled)
            cancellation = event
            if pauses and pauses[-1].end is None:
                last = pauses[-1]
                pauses[-1] = _paused(last.start, event.at, last.reason)
    if len(ignored) == skipped:  # (the usual case: every event from the made one applies)
        applied = tuple(events[start:])
    else:
        left_out = {id(item.event) for item in ignored[skipped:]}
        applied = tuple(e for e in events[start:] if id(e) not in left_out)
    return PromiseState(
        promise_id=promise_id,
        promise=promise,
        made=made,
        deliveries=tuple(deliveries),
        paused_intervals=tuple(pauses),
        notifications=tuple(notifications),
        escalations=tuple(escalations),
        action_deliveries=tuple(action_deliveries),
        failures=tuple(failures),
        cancellation=cancellation,
        events=applied,
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


class _StateSource:
    """What both ledgers share: the open promises, from the states of the promises made.

    A subclass gives :meth:`_made_states`; :meth:`open_promises` is written once here
    for :class:`~promisekit.ledger.PromiseLedger` and
    :class:`~promisekit.store.SQLiteLedger`.
    """

    def _made_states(self, at: datetime) -> Iterable[PromiseState]:
        """The states at ``at`` of every promise made by then, in promise-id order."""
        raise NotImplementedError  # pragma: no cover - every ledger overrides it

    def open_promises(self, now: datetime) -> tuple[PromiseState, ...]:
        """The states at ``now`` of every promise made by then, not cancelled, not complete.

        Args:
            now: The instant (aware).

        Returns:
            The open promises' states (replayed up to ``now``), sorted by promise id.

        Raises:
            NaiveDatetimeError: ``now`` has no time zone.
            StoreError: (:class:`~promisekit.store.SQLiteLedger`) the database cannot be
                read.

        .. versionadded:: 0.1.0
        """
        check_aware("now", now)
        return tuple(state for state in self._made_states(now) if state.is_open(now))
