"""The in-memory ledger.

Private to :mod:`promisekit.ledger`, which re-exports :class:`PromiseLedger`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime

from promisekit._ledger_events import Event, PromiseMade, _check_event, _conflict, _same_payload
from promisekit._ledger_state import (
    PromiseState,
    UnknownPromiseError,
    _replay_sorted,
    _select,
    _StateSource,
)
from promisekit._validation import (
    check_non_empty_str,
    describe,
)
from promisekit.errors import (
    InvalidTypeError,
)
from promisekit.promise import (
    _utc,
)


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


class PromiseLedger(_StateSource):
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

    def _made_states(self, at: datetime) -> Iterator[PromiseState]:
        at_utc = _utc(at)
        for promise_id in sorted(self._by_promise):
            bucket = self._by_promise[promise_id]
            if any(isinstance(e, PromiseMade) and _utc(e.at) <= at_utc for e in bucket):
                yield self.state(promise_id, at=at)

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
