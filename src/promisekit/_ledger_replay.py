"""Replay: the state of a promise from its events.

Private to :mod:`promisekit.ledger`, which re-exports :func:`replay`. Every ledger (the
in-memory one, :class:`promisekit.store.SQLiteLedger`,
:class:`promisekit.postgres.PostgresLedger`) replays through :func:`_replay_sorted`,
the one place the replay rules are written. It builds the records of a state from
values that valid events already checked, one slot write per field (no attrs
``__init__`` and validators again): a store reads a promise's state per few events, so
this is the hot path of ``states()``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from types import MemberDescriptorType
from typing import Any

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
from promisekit._ledger_state import (
    IgnoredEvent,
    PausedInterval,
    PromiseState,
    UnknownPromiseError,
)
from promisekit._validation import check_aware, check_non_empty_str, describe
from promisekit.delivery import Delivery
from promisekit.errors import InconsistentRecordError, InvalidTypeError, PromiseKitError
from promisekit.promise import Promise, _fmt, _utc

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
_DELIVERY_SETTERS = tuple(
    slot_setter(Delivery, name)
    for name in ("promise_id", "at", "quantity", "quality", "cost", "id", "note")
)


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
    promise_id, at, quantity, quality, cost, id_, note = _DELIVERY_SETTERS
    promise_id(delivery, event.promise_id)
    at(delivery, event.at)
    quantity(delivery, event.quantity)
    quality(delivery, event.quality)
    cost(delivery, event.cost)
    id_(delivery, event.id)
    note(delivery, event.note)
    return delivery


# PromiseState has no validators or converters: replay's values go in as they are.
_STATE_FIELDS = (
    "promise_id",
    "promise",
    "made",
    "deliveries",
    "paused_intervals",
    "notifications",
    "escalations",
    "action_deliveries",
    "failures",
    "cancellation",
    "events",
    "ignored",
    "as_of",
    "known_at",
)
assert tuple(field.name for field in attrs.fields(PromiseState)) == _STATE_FIELDS
assert not any(field.validator or field.converter for field in attrs.fields(PromiseState))
_STATE_SETTERS = tuple(slot_setter(PromiseState, name) for name in _STATE_FIELDS)


def _state(
    promise_id: str,
    promise: Promise,
    made: PromiseMade,
    deliveries: tuple[Delivery, ...],
    paused_intervals: tuple[PausedInterval, ...],
    notifications: tuple[CustomerNotified, ...],
    escalations: tuple[EscalationFired, ...],
    action_deliveries: tuple[ActionDelivered, ...],
    failures: tuple[EscalationFailed, ...],
    cancellation: PromiseCancelled | None,
    events: tuple[Event, ...],
    ignored: tuple[IgnoredEvent, ...],
    as_of: datetime | None,
    known_at: datetime | None,
) -> PromiseState:
    """``PromiseState(...)`` of replay's values, one slot write per field (without
    attrs' ``__init__``, whose ``object.__setattr__`` calls cost twice as much)."""
    state: PromiseState = _new(PromiseState)
    s0, s1, s2, s3, s4, s5, s6, s7, s8, s9, s10, s11, s12, s13 = _STATE_SETTERS
    s0(state, promise_id)
    s1(state, promise)
    s2(state, made)
    s3(state, deliveries)
    s4(state, paused_intervals)
    s5(state, notifications)
    s6(state, escalations)
    s7(state, action_deliveries)
    s8(state, failures)
    s9(state, cancellation)
    s10(state, events)
    s11(state, ignored)
    s12(state, as_of)
    s13(state, known_at)
    return state


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
    paused_since: datetime | None,
) -> str | None:
    """Why an event of ``kind`` cannot be applied to the state built so far (paused
    since ``paused_since``, or not paused), or ``None``."""
    if kind is PromiseMade:
        return f"the promise was already made by event {describe(made.id)} at {_fmt(made.at)}"
    if cancellation is not None and kind in _CLOSED_BY_CANCELLATION:
        return (
            f"happened after the promise was cancelled at {_fmt(cancellation.at)} "
            f"(event {describe(cancellation.id)})"
        )
    if kind is PromisePaused and paused_since is not None:
        return f"the promise was already paused since {_fmt(paused_since)}"
    if kind is PromiseResumed and paused_since is None:
        return "the promise was not paused"
    return None


def _before_made(early: list[Event], made: PromiseMade) -> list[IgnoredEvent]:
    """The events sorted before the promise-made event, ignored (they happened earlier)."""
    return [
        IgnoredEvent(
            event=event,
            reason=(
                f"happened at {_fmt(event.at)}, before the promise was made at "
                f"{_fmt(made.at)} (event {describe(made.id)})"
            ),
        )
        for event in early
    ]


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
    ignored = _before_made(events[:start], made) if start else []
    skipped = len(ignored)  # the events ignored so far are not applied
    deliveries: list[Delivery] = []
    pauses: list[PausedInterval] = []  # the pauses that ended
    paused_since: datetime | None = None  # and the one still open: its start and reason
    paused_why: str | None = None
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
            if kind is PromisePaused and paused_since is None:
                assert isinstance(event, PromisePaused)
                paused_since, paused_why = event.at, event.reason
                continue
            if kind is PromiseResumed and paused_since is not None:
                pauses.append(_paused(paused_since, event.at, paused_why))
                paused_since = None
                continue
        reason = _ignore_reason(kind, made, cancellation, paused_since)
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
            paused_since, paused_why = event.at, event.reason
        elif kind is PromiseResumed:
            assert paused_since is not None
            pauses.append(_paused(paused_since, event.at, paused_why))
            paused_since = None
        elif kind is DeliveryRecorded:
            assert isinstance(event, DeliveryRecorded)
            deliveries.append(_delivery(event))
        elif kind is PromiseCancelled:
            assert isinstance(event, PromiseCancelled)
            cancellation = event
            if paused_since is not None:  # a cancellation ends the pause
                pauses.append(_paused(paused_since, event.at, paused_why))
                paused_since = None
    if paused_since is not None:
        pauses.append(_paused(paused_since, None, paused_why))
    if len(ignored) == skipped:  # (the usual case: every event from the made one applies)
        applied = tuple(events[start:])
    else:
        left_out = {id(item.event) for item in ignored[skipped:]}
        applied = tuple(e for e in events[start:] if id(e) not in left_out)
    return _state(
        promise_id,
        promise,
        made,
        tuple(deliveries),
        tuple(pauses),
        tuple(notifications),
        tuple(escalations),
        tuple(action_deliveries),
        tuple(failures),
        cancellation,
        applied,
        tuple(ignored),
        as_of,
        known_at,
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
