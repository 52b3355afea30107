"""Hypothesis strategies for ledger events (:mod:`promisekit.ledger`).

For promisekit's own property tests and for integrators testing code that consumes
events (importers, escalation engines, CRM adapters). Needs the ``testing`` extra:
``pip install 'promisekit[testing]'``.

Every event generated is valid on its own. A *history* is not always a tidy story: it
may hold events dated before the promise was made, a resume without a pause, a second
promise-made event, a revision to the due date already in force, events after a
cancellation — exactly what replay must cope with (it lists them in
:attr:`PromiseState.ignored <promisekit.ledger.PromiseState.ignored>`).

.. versionadded:: 0.1.0
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from promisekit.errors import InvalidTypeError, InvalidValueError
from promisekit.ledger import (
    CustomerNotified,
    DeliveryRecorded,
    EscalationFired,
    Event,
    PromiseCancelled,
    PromiseMade,
    PromisePaused,
    PromiseResumed,
    PromiseRevised,
)
from promisekit.testing.strategies import DEFAULT_TIMEZONES, promises

try:
    from hypothesis import strategies as st
    from hypothesis.strategies import SearchStrategy
except ImportError as exc:  # pragma: no cover - depends on the environment
    from promisekit.errors import MissingDependencyError

    raise MissingDependencyError("hypothesis", "testing", "promisekit.testing") from exc

__all__ = ["EVENT_KINDS", "event_histories", "events"]

#: The event types :func:`event_histories` draws from, in shrinking order (a history
#: shrinks towards notifications, the simplest events).
#:
#: .. versionadded:: 0.1.0
EVENT_KINDS: tuple[str, ...] = (
    "customer_notified",
    "delivery_recorded",
    "promise_revised",
    "promise_paused",
    "promise_resumed",
    "escalation_fired",
    "promise_cancelled",
    "promise_made",
)

_ZONES = tuple(ZoneInfo(name) for name in DEFAULT_TIMEZONES)
_CHANNELS = ("sms", "email", "phone")
_RULES = ("overdue-1h", "half-elapsed", "silence-4h")
_ACTIONS = ("notify_owner", "escalate", "propose_revision")
_REASONS = ("technician delayed", "waiting on customer", "customer request")


def _shift(value: datetime, seconds: int) -> datetime:
    """Add real seconds to an aware datetime, keeping its zone."""
    return (value.astimezone(timezone.utc) + timedelta(seconds=seconds)).astimezone(value.tzinfo)


def event_histories(*, max_events: int = 10, max_revisions: int = 0) -> SearchStrategy[list[Event]]:
    """Lists of events about one promise: a promise-made event, then up to ``max_events`` more.

    The first event is a :class:`~promisekit.ledger.PromiseMade`; the others are of
    every type.

    The promise comes from :func:`~promisekit.testing.promises` (its made event has id
    ``"E-0"``; the others ``"E-1"``, ``"E-2"``…). Other events happen from an hour
    before the promise was made to a day after its due date, at whole seconds (so
    several often share an instant), in any of the default zones; each is recorded
    from a minute before to a day after it happened.

    Shrinks towards ``[made]`` alone, then towards notifications at the instant the
    promise was made.

    Args:
        max_events: Most events after the promise-made event (``>= 0``).

    Returns:
        A strategy generating lists of events (in occurrence order, unique ids).

    Raises:
        InvalidTypeError: ``max_events`` is not an int.
        InvalidValueError: ``max_events`` is negative.

    .. versionadded:: 0.1.0
    """
    if isinstance(max_events, bool) or not isinstance(max_events, int):
        raise InvalidTypeError(
            f"'max_events' must be an int (got {type(max_events).__name__} {max_events!r})"
        )
    if max_events < 0:
        raise InvalidValueError(f"'max_events' must be >= 0 (got {max_events!r})")

    @st.composite
    def build(draw: st.DrawFn) -> list[Event]:
        promise = draw(promises(max_revisions=0))
        made_at = promise.made_at
        span = int((promise.due - made_at).total_seconds()) + 86_400
        made = PromiseMade.from_promise(
            promise, id="E-0", recorded_at=_shift(made_at, draw(st.integers(-60, 86_400)))
        )
        history: list[Event] = [made]
        for number in range(1, draw(st.integers(0, max_events)) + 1):
            kind = draw(st.sampled_from(EVENT_KINDS))
            zone = draw(st.sampled_from(_ZONES))
            at = _shift(made_at, draw(st.integers(-3600, span))).astimezone(zone)
            common = {
                "id": f"E-{number}",
                "promise_id": promise.id,
                "at": at,
                "recorded_at": _shift(at, draw(st.integers(-60, 86_400))),
            }
            history.append(_one(draw, kind, common, made))
        return history

    return build()


def _one(draw: st.DrawFn, kind: str, common: dict[str, object], made: PromiseMade) -> Event:
    at = common["at"]
    assert isinstance(at, datetime)
    reasons = st.none() | st.sampled_from(_REASONS)
    if kind == "customer_notified":
        return CustomerNotified(
            **common,  # type: ignore[arg-type]
            channel=draw(st.none() | st.sampled_from(_CHANNELS)),
            message=draw(st.none() | st.just("We are on it")),
        )
    if kind == "delivery_recorded":
        return DeliveryRecorded(
            **common,  # type: ignore[arg-type]
            quantity=draw(st.none() | st.floats(0, 10)),
            quality=draw(st.none() | st.floats(0, 10)),
            cost=draw(st.none() | st.decimals(0, 100, places=2)),
            note=draw(st.none() | st.just("left at the door")),
        )
    if kind == "promise_revised":
        due = _shift(at, draw(st.integers(0, 3 * 86_400)))
        target = draw(st.none() | st.integers(0, 3 * 86_400))
        return PromiseRevised(
            **common,  # type: ignore[arg-type]
            due=due,
            reason=draw(reasons),
            target=None if target is None else min(_shift(at, target), due),
        )
    if kind == "promise_paused":
        return PromisePaused(**common, reason=draw(reasons))  # type: ignore[arg-type]
    if kind == "promise_resumed":
        return PromiseResumed(**common)  # type: ignore[arg-type]
    if kind == "escalation_fired":
        return EscalationFired(
            **common,  # type: ignore[arg-type]
            rule=draw(st.sampled_from(_RULES)),
            action=draw(st.sampled_from(_ACTIONS)),
            level=draw(st.integers(0, 3)),
            revision=draw(st.integers(0, 3)),
        )
    if kind == "promise_cancelled":
        return PromiseCancelled(**common, reason=draw(reasons))  # type: ignore[arg-type]
    # A second promise-made event for the same promise (replay ignores it).
    due = max(made.due, at, key=lambda d: d.astimezone(timezone.utc))
    return PromiseMade(
        **common,  # type: ignore[arg-type]
        customer_id=made.customer_id,
        kind=made.kind,
        due=due,
        terms=made.terms,
    )


def events() -> SearchStrategy[Event]:
    """Single valid events of every type (one event of an :func:`event_histories` list).

    Shrinks towards the promise-made event of the simplest promise.

    Returns:
        A strategy generating events.

    .. versionadded:: 0.1.0
    """
    return event_histories(max_events=4).flatmap(st.sampled_from)
