"""Helpdesk records of a tracked promise: inbound messages and reopenings.

An :class:`InboundMessage` is a message *from* the customer (a :class:`CustomerUpdate
<._track.CustomerUpdate>` is one sent *to* the customer); a :class:`Reopening` is a span
during which a completed promise was closed before it was reopened. The checks of these
records against the rest of a track, and their reading from a ledger state, live here too,
so :mod:`._track` stays small, with the other readings of a ledger state that
:meth:`TrackedPromise.from_state <._track.TrackedPromise.from_state>` makes. Imports
:mod:`._time` only.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import attrs

from promisekit._validation import check_aware, check_non_empty_str, describe, tuple_of
from promisekit.errors import InconsistentRecordError, InvalidValueError
from promisekit.escalation._time import INF, to_us
from promisekit.promise import Promise

__all__ = [
    "InboundMessage",
    "Reopening",
    "check_ticket_records",
    "convert_inbound",
    "convert_reopenings",
    "delivered_at",
    "past_targets_of",
    "ticket_records_of",
]


def _aware(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    check_aware(attribute.name, value)


def _optional_str(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is not None:
        check_non_empty_str(attribute.name, value)


@attrs.frozen
class InboundMessage:
    """The customer wrote (an e-mail, a portal reply, a call…) at ``at``.

    Kept apart from :class:`~promisekit.escalation.CustomerUpdate` (a message *to* the
    customer): together they say who spoke last, which the ``next_response`` and
    ``update`` clocks of :mod:`promisekit.helpdesk` and the :class:`Unanswered` trigger read.

    Attributes:
        at: When the message arrived (aware).
        channel: How (``"email"``, ``"portal"``…), or ``None``.

    .. versionadded:: 0.1.0
    """

    at: datetime = attrs.field(validator=_aware)
    channel: str | None = attrs.field(default=None, validator=_optional_str)


@attrs.frozen
class Reopening:
    """A completed promise was reopened: closed from ``closed_at`` until ``at``.

    Attributes:
        closed_at: When it had been completed (aware).
        at: When it was reopened (aware, not before ``closed_at``).

    .. versionadded:: 0.1.0
    """

    closed_at: datetime = attrs.field(validator=_aware)
    at: datetime = attrs.field(validator=_aware)

    @at.validator
    def _check_at(self, attribute: attrs.Attribute[Any], value: datetime) -> None:
        if to_us(value) < to_us(self.closed_at):
            raise InvalidValueError(
                f"'at' must not be before 'closed_at' ({self.closed_at.isoformat(' ')}) "
                f"(got {value.isoformat(' ')})"
            )


def convert_inbound(value: object) -> tuple[InboundMessage, ...]:
    """The ``inbound`` field of a track: a tuple of :class:`InboundMessage`, kept sorted."""
    items: tuple[InboundMessage, ...] = tuple_of(InboundMessage, "inbound", value)
    return tuple(sorted(items, key=lambda item: to_us(item.at)))


def convert_reopenings(value: object) -> tuple[Reopening, ...]:
    """The ``reopenings`` field of a track: a tuple of :class:`Reopening`, in order."""
    items: tuple[Reopening, ...] = tuple_of(Reopening, "reopenings", value)
    return items


def check_ticket_records(
    made_at: datetime,
    inbound: tuple[InboundMessage, ...],
    reopenings: tuple[Reopening, ...],
    completed_at: datetime | None,
) -> None:
    """Check inbound messages and reopenings against ``made_at`` and each other.

    Raises:
        InconsistentRecordError: A message or a closing is before ``made_at``, reopenings
            overlap or are out of order, or the completion is before the last reopening.
    """
    made = to_us(made_at)
    if inbound and to_us(inbound[0].at) < made:
        raise InconsistentRecordError(
            f"'inbound' must not be before the promise's 'made_at' ({made_at.isoformat(' ')}) "
            f"(got {describe(inbound[0])})"
        )
    previous = made
    for index, item in enumerate(reopenings):
        if to_us(item.closed_at) < previous:
            raise InconsistentRecordError(
                f"'reopenings' must be in order, after 'made_at' and not overlap (got "
                f"reopening {index} closed at {item.closed_at.isoformat(' ')})"
            )
        previous = to_us(item.at)
    if reopenings and completed_at is not None and to_us(completed_at) < previous:
        raise InconsistentRecordError(
            f"'completed_at' must not be before the last reopening "
            f"({reopenings[-1].at.isoformat(' ')}) (got {completed_at.isoformat(' ')})"
        )


def ticket_records_of(
    state: object, closed: datetime | None
) -> tuple[list[InboundMessage], list[Reopening], datetime | None]:
    """Inbound messages and reopenings read from a ledger state's events (duck-typed).

    ``closed`` is when the state says the promise was first completed (deliveries or
    cancellation), or ``None``. A ``message_received`` event is an inbound message. A
    ``promise_reopened`` event at or after the current closing reopens the promise; once
    reopened, the next ``delivery_recorded`` or ``promise_cancelled`` event closes it again
    (a reopening while open is ignored, and so is one after a cancellation: the ledger
    ignores pauses and revisions after it, so a cancellation is final). Returns the
    messages, the reopenings and the current completion instant.
    """
    inbound: list[InboundMessage] = []
    reopenings: list[Reopening] = []
    cancelled = getattr(state, "cancelled_at", None)
    final = INF if not isinstance(cancelled, datetime) else to_us(cancelled)
    reopened_any = False
    for event in getattr(state, "events", ()):
        kind = getattr(event, "event_type", None)
        at = getattr(event, "at", None)
        if not isinstance(at, datetime):
            continue
        if kind == "message_received":
            inbound.append(InboundMessage(at, getattr(event, "channel", None)))
        elif kind == "promise_reopened":
            if closed is not None and to_us(closed) <= to_us(at) < final:
                reopenings.append(Reopening(closed, at))
                closed = None
                reopened_any = True
        elif (
            reopened_any
            and closed is None
            and kind in ("delivery_recorded", "promise_cancelled")
            and to_us(at) >= to_us(reopenings[-1].at)
        ):
            closed = at
    return inbound, reopenings, closed


def delivered_at(state: object) -> datetime | None:
    """When the state's deliveries fulfilled the promise, by the state's own assessment.

    ``None`` without deliveries, without an ``assess`` method, or while not fulfilled.
    """
    deliveries = getattr(state, "deliveries", ())
    assess = getattr(state, "assess", None)
    if not deliveries or not callable(assess):
        return None
    moment = getattr(state, "as_of", None)
    if moment is None:
        moment = getattr(state, "last_event_at", None)
    if moment is None:
        moment = max((item.at for item in deliveries), key=to_us)
    completed = getattr(assess(moment), "completed_at", None)
    return completed if isinstance(completed, datetime) else None


def past_targets_of(state: object) -> tuple[datetime | None, ...]:
    """The targets of the earlier revisions, read from a ledger state's events (duck-typed).

    ``state.made.target`` is revision 0's; each later applied event with ``due`` and
    ``target`` (a revision) gives the next. Unknown when they do not line up.
    """
    promise = getattr(state, "promise", None)
    made = getattr(state, "made", None)
    if not isinstance(promise, Promise) or not promise.revision or made is None:
        return ()
    targets: list[datetime | None] = [getattr(made, "target", None)]
    for event in getattr(state, "events", ()):
        if event is made or not (hasattr(event, "due") and hasattr(event, "target")):
            continue
        targets.append(event.target)
    if len(targets) != promise.revision + 1 or not all(
        t is None or isinstance(t, datetime) for t in targets
    ):
        return ()
    return tuple(targets[:-1])
