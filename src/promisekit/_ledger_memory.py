"""The in-memory ledger.

Private to :mod:`promisekit.ledger`, which re-exports :class:`PromiseLedger`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime, timedelta

import attrs

from promisekit._ledger_cursor import (
    Checkpoint,
    Lease,
    check_checkpoint,
    check_checkpoint_position,
    check_expected,
    check_expected_position,
    check_expected_positions,
    check_fence,
    check_lease_args,
    check_limit,
    check_position,
    check_promise_positions,
    decide_lease,
    lease_expiry,
)
from promisekit._ledger_events import (
    EVENT_TYPES,
    Event,
    PromiseMade,
    _check_event,
    _conflict,
    _same_payload,
)
from promisekit._ledger_replay import _replay_sorted, _select
from promisekit._ledger_state import PromiseState, UnknownPromiseError, _StateSource
from promisekit._validation import (
    check_non_empty_str,
    describe,
)
from promisekit.errors import (
    InconsistentRecordError,
    InvalidTypeError,
)
from promisekit.promise import (
    _utc,
)

_CLASSES = frozenset(EVENT_TYPES.values())


@attrs.frozen
class _Batch:
    """A checked batch: its new events, by id and by promise, and its first conflict."""

    new: dict[str, Event]
    by_promise: dict[str, list[Event]]
    conflict: InconsistentRecordError | None


def _check_batch(events: Iterable[Event], recorded: Mapping[str, Event]) -> _Batch:
    """Check a batch in one pass: the types, that it does not contradict itself, and which
    events are new (not in ``recorded``); drop repeats.

    A bad item or two different events under one id in the batch raise at once; the
    first event that contradicts ``recorded`` is returned as ``conflict`` (the caller
    raises it after its own checks, as when the batch was checked first).
    """
    if isinstance(events, (str, bytes, Event)) or not isinstance(events, Iterable):
        raise InvalidTypeError(
            f"'events' must be an iterable of Event (got {type(events).__name__} "
            f"{describe(events)})"
        )
    new: dict[str, Event] = {}
    repeats: dict[str, Event] = {}  # first occurrence in the batch of an id already recorded
    by_promise: dict[str, list[Event]] = {}
    conflict: InconsistentRecordError | None = None
    for index, item in enumerate(events):
        if type(item) not in _CLASSES:
            _check_event(item, f"'events[{index}]'")
        event_id = item.id
        if event_id in new or event_id in recorded:  # (every repeat is in recorded)
            first = new.get(event_id)
            if first is None:
                first = repeats.get(event_id)
            if first is not None:
                if first is not item and not _same_payload(first, item):
                    raise _conflict(first, item)
                continue
            repeats[event_id] = item
            seen = recorded[event_id]
            if conflict is None and seen is not item and not _same_payload(seen, item):
                conflict = _conflict(seen, item)
            continue
        new[event_id] = item
        promise_id = item.promise_id
        bucket = by_promise.get(promise_id)
        if bucket is None:
            by_promise[promise_id] = [item]
        else:
            bucket.append(item)
    return _Batch(new, by_promise, conflict)


class PromiseLedger(_StateSource):
    """An in-memory, append-only set of events, with the state of every promise.

    Appending is idempotent: the same event twice is a no-op; the same id with a
    different payload raises :class:`~promisekit.errors.InconsistentRecordError` (and
    records nothing). Payloads are compared as their JSON documents would be: two
    datetimes for the same instant in different zones are different payloads.

    Every event also has a **position** in the ledger: 1, 2, 3… in the order it was
    appended (a repeat takes none). :meth:`events_since` reads the ledger from a
    position like a cursor, and a reader saves its position as a :class:`Checkpoint`,
    in the same call as the events it appends; a :class:`Lease` lets one reader
    among several do the work (see :class:`~promisekit.ledger.LedgerStore`).

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
        self._log: list[Event] = []
        self._checkpoints: dict[str, Checkpoint] = {}
        self._leases: dict[str, Lease] = {}
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

    def append(self, event: Event, *, checkpoint: Checkpoint | None = None) -> bool:
        """Record one event (and a checkpoint with it).

        Args:
            event: The event.
            checkpoint: A :class:`Checkpoint` to save with the event, all or nothing
                (saved even when the event is a repeat), or ``None``.

        Returns:
            True if it was added, False if the same event was already recorded.

        Raises:
            InvalidTypeError: ``event`` is not an :class:`Event`, or ``checkpoint``
                not a :class:`Checkpoint`.
            InconsistentRecordError: Its id is recorded with a different payload.
            LeaseLostError: ``checkpoint.holder`` does not hold the lease named
                ``checkpoint.name`` (nothing is recorded).
            InvalidValueError: ``checkpoint.position`` is after the last position.

        .. versionadded:: 0.1.0
        """
        _check_event(event)
        return self._write(_check_batch((event,), self._by_id), check_checkpoint(checkpoint)) == 1

    def append_many(
        self,
        events: Iterable[Event],
        *,
        checkpoint: Checkpoint | None = None,
        expected_position: int | None = None,
        expected_positions: Mapping[str, int] | None = None,
    ) -> int:
        """Record several events (and a checkpoint with them), all or none.

        Every event is checked before any is recorded: a bad item, a conflicting id,
        a lost lease or an unexpected position raises and leaves the ledger unchanged
        (events and checkpoint).

        Args:
            events: The events (any iterable; repeats are no-ops).
            checkpoint: A :class:`Checkpoint` to save with the events (even when the
                batch is empty or every event a repeat), or ``None``. With a
                ``holder``, the lease named ``checkpoint.name`` must be held by it.
            expected_position: For optimistic concurrency: the :attr:`last_position`
                the caller decided on (``>= 0``); if the ledger has moved on, nothing
                is written and :class:`~promisekit.errors.PositionConflictError` is
                raised. ``None`` (the default) appends wherever the ledger is.
            expected_positions: Optimistic concurrency per promise: promise id →
                the position of the last event of that promise the caller decided on
                (``0``: it has none), checked inside the transaction; if another writer
                appended to one of them meanwhile, nothing is written and
                :class:`~promisekit.errors.PositionConflictError` (naming the promise) is
                raised. Writers of other promises do not conflict.

        Returns:
            How many events were added.

        Raises:
            InvalidTypeError: An item is not an :class:`Event`, or ``checkpoint`` not
                a :class:`Checkpoint`.
            InconsistentRecordError: An id is recorded (or repeated in the batch) with a
                different payload.
            LeaseLostError: The checkpoint is fenced by a lease its holder lost.
            PositionConflictError: ``expected_position`` is not the last position, or a
                promise of ``expected_positions`` has moved on.
            InvalidValueError: ``checkpoint.position`` is after the last position, or
                ``expected_position`` is negative.

        .. versionadded:: 0.1.0
        """
        saved = check_checkpoint(checkpoint)
        expected = check_expected(expected_position)
        per_promise = check_expected_positions(expected_positions)
        batch = _check_batch(events, self._by_id)
        check_promise_positions(per_promise, self._last_position_of)
        return self._write(batch, saved, expected)

    def _last_position_of(self, promise_id: str) -> int:
        """The position of the last event of ``promise_id`` (0 without any): a walk back
        from the end of the log (only optimistic appends ask)."""
        if promise_id not in self._by_promise:
            return 0
        for index in range(len(self._log) - 1, -1, -1):
            if self._log[index].promise_id == promise_id:
                return index + 1
        return 0  # pragma: no cover - a promise with a bucket has events in the log

    def _write(
        self, batch: _Batch, checkpoint: Checkpoint | None, expected: int | None = None
    ) -> int:
        # Every check before the first change: all or nothing.
        if checkpoint is not None:
            check_fence(checkpoint, self._leases.get(checkpoint.name))
        check_expected_position(expected, len(self._log))
        if batch.conflict is not None:
            raise batch.conflict
        new = batch.new
        check_checkpoint_position(checkpoint, len(self._log) + len(new), "the ledger")
        self._log.extend(new.values())
        if not self._by_id:  # a first batch: take its tables as they are
            self._by_id, self._by_promise = new, batch.by_promise
            return self._save(checkpoint, len(new))
        self._by_id.update(new)
        by_promise = self._by_promise
        for promise_id, events in batch.by_promise.items():
            bucket = by_promise.get(promise_id)
            if bucket is None:
                by_promise[promise_id] = events
            else:
                bucket.extend(events)
        return self._save(checkpoint, len(new))

    def _save(self, checkpoint: Checkpoint | None, added: int) -> int:
        if checkpoint is not None:
            self._checkpoints[checkpoint.name] = checkpoint
        return added

    # ----------------------------------------------------------------- cursor

    @property
    def last_position(self) -> int:
        """The position of the last event appended (0 when the ledger is empty).

        .. versionadded:: 0.1.0
        """
        return len(self._log)

    def events_since(
        self, position: int = 0, *, limit: int | None = None
    ) -> list[tuple[int, Event]]:
        """The events after ``position``, with their positions, in append order.

        Args:
            position: Return the events whose position is greater (``>= 0``).
            limit: At most this many (``>= 0``), or ``None`` for all.

        Returns:
            ``(position, event)`` pairs, positions ascending and without gaps.

        Raises:
            InvalidTypeError: ``position`` or ``limit`` is not an int.
            InvalidValueError: ``position`` or ``limit`` is negative.

        .. versionadded:: 0.1.0
        """
        start = check_position("position", position)
        count = check_limit(limit)
        end = len(self._log) if count is None else start + count
        return list(enumerate(self._log[start:end], start=start + 1))

    def checkpoint(self, name: str) -> Checkpoint | None:
        """The checkpoint saved under ``name``, or ``None``.

        Raises:
            InvalidValueError: ``name`` is blank.

        .. versionadded:: 0.1.0
        """
        return self._checkpoints.get(check_non_empty_str("name", name))

    def acquire_lease(self, name: str, holder: str, *, now: datetime, ttl: timedelta) -> bool:
        """Take or renew the lease ``name`` for ``holder`` until ``now + ttl``.

        Granted when nobody holds it, when it expired (``expires_at <= now``) or when
        ``holder`` already holds it; a refused request changes nothing.

        Args:
            name: Name of the lease (non-empty).
            holder: Who asks (non-empty).
            now: The current instant (aware; promisekit never reads the clock).
            ttl: How long the lease lasts (a positive timedelta).

        Returns:
            Whether ``holder`` holds the lease afterwards.

        Raises:
            InvalidTypeError: A value has the wrong type.
            InvalidValueError: A string is blank or ``ttl`` is not positive.
            NaiveDatetimeError: ``now`` has no time zone.

        .. versionadded:: 0.1.0
        """
        name, holder = check_lease_args(name, holder)
        expires_at = lease_expiry(now, ttl)
        granted = decide_lease(self._leases.get(name), name, holder, now, expires_at)
        if granted is None:
            return False
        self._leases[name] = granted
        return True

    def release_lease(self, name: str, holder: str) -> None:
        """Give up the lease ``name`` if ``holder`` holds it (otherwise do nothing).

        Raises:
            InvalidValueError: A string is blank.

        .. versionadded:: 0.1.0
        """
        name, holder = check_lease_args(name, holder)
        current = self._leases.get(name)
        if current is not None and current.holder == holder:
            del self._leases[name]

    def lease(self, name: str) -> Lease | None:
        """The lease ``name`` (possibly expired), or ``None`` if nobody holds it.

        Raises:
            InvalidValueError: ``name`` is blank.

        .. versionadded:: 0.1.0
        """
        return self._leases.get(check_non_empty_str("name", name))

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
