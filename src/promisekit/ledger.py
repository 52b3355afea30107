"""An event-sourced promise lifecycle: what happened to each promise, and its state.

Everything that happens to a promise is recorded as an immutable **event**:
:class:`PromiseMade`, :class:`PromiseRevised`, :class:`PromisePaused`,
:class:`PromiseResumed`, :class:`CustomerNotified`, :class:`DeliveryRecorded`,
:class:`PromiseCancelled`, :class:`EscalationFired`, :class:`ActionDelivered`,
:class:`EscalationFailed`, and for helpdesk tickets :class:`MessageReceived` (the customer
wrote) and :class:`PromiseReopened` (read by ``TrackedPromise.from_state``; replay keeps
them in ``state.events``). Each has an ``id`` (unique in
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
  cancellations that happened after it are ignored. Notifications, escalations,
  action deliveries and escalation failures after it are still applied (telling the
  customer about a cancellation is normal).
* **Escalation outcomes.** :class:`EscalationFired`, :class:`ActionDelivered` and
  :class:`EscalationFailed` events are listed in :attr:`PromiseState.escalations`,
  :attr:`PromiseState.action_deliveries` and :attr:`PromiseState.failures`; they
  change nothing else in the state.

Reading a ledger like a log: a :class:`LedgerStore` (both :class:`PromiseLedger` and
:class:`promisekit.store.SQLiteLedger`) numbers its events 1, 2, 3… in commit order,
without gaps; :meth:`LedgerStore.events_since` reads them from a position, a
:class:`Checkpoint` saves a reader's position in the same transaction as the events
it appends, and a :class:`Lease` lets one reader among several do the work.

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

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Protocol, runtime_checkable

from promisekit._ledger_cursor import Checkpoint, Lease
from promisekit._ledger_events import (
    EVENT_TYPES,
    ActionDelivered,
    CustomerNotified,
    DeliveryRecorded,
    EscalationFailed,
    EscalationFired,
    Event,
    MessageReceived,
    PromiseCancelled,
    PromiseMade,
    PromisePaused,
    PromiseReopened,
    PromiseResumed,
    PromiseRevised,
)
from promisekit._ledger_memory import PromiseLedger
from promisekit._ledger_replay import replay
from promisekit._ledger_state import (
    IgnoredEvent,
    PausedInterval,
    PromiseState,
    UnknownPromiseError,
)
from promisekit.errors import LeaseLostError, PositionConflictError

__all__ = [
    "EVENT_TYPES",
    "ActionDelivered",
    "Checkpoint",
    "CustomerNotified",
    "DeliveryRecorded",
    "EscalationFailed",
    "EscalationFired",
    "Event",
    "IgnoredEvent",
    "Lease",
    "LeaseLostError",
    "Ledger",
    "LedgerStore",
    "MessageReceived",
    "PausedInterval",
    "PositionConflictError",
    "PromiseCancelled",
    "PromiseLedger",
    "PromiseMade",
    "PromisePaused",
    "PromiseReopened",
    "PromiseResumed",
    "PromiseRevised",
    "PromiseState",
    "UnknownPromiseError",
    "replay",
]


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


@runtime_checkable
class LedgerStore(Ledger, Protocol):
    """A :class:`Ledger` read like a log, with checkpoints and leases.

    What a durable reader such as an escalation runner needs: both
    :class:`PromiseLedger` and :class:`promisekit.store.SQLiteLedger` implement it.

    * **Positions.** Every event recorded has a position: 1, 2, 3… without gaps, in
      commit order — a reader never sees position ``n + 1`` before ``n``. A repeat (an
      idempotent no-op append) takes no position.
    * **Checkpoints.** ``append``/``append_many`` with ``checkpoint=`` save a
      :class:`Checkpoint` in the same transaction as the events (a transactional
      outbox): both are written or neither, even when the batch is empty or every
      event is a repeat.
    * **Leases and fencing.** :meth:`acquire_lease` lets one holder among several
      own a name for a while; a checkpoint with ``holder`` set is written only while
      that holder holds the lease of the same name, checked inside the transaction
      (:class:`~promisekit.errors.LeaseLostError` otherwise).

    The built-in stores also take ``expected_position=`` (the ledger's last position)
    and ``expected_positions=`` (per promise: the position of its last event) in
    ``append_many`` — optimistic concurrency,
    :class:`~promisekit.errors.PositionConflictError` when another writer appended
    first; they are not part of this protocol.

    .. versionadded:: 0.1.0
    """

    def append(self, event: Event, *, checkpoint: Checkpoint | None = None) -> bool:
        """Record one event (and ``checkpoint`` in the same transaction)."""
        ...

    def append_many(self, events: Iterable[Event], *, checkpoint: Checkpoint | None = None) -> int:
        """Record several events and ``checkpoint``, all or none; return how many were added."""
        ...

    @property
    def last_position(self) -> int:
        """The position of the last event (0 when empty)."""
        ...

    def events_since(
        self, position: int = 0, *, limit: int | None = None
    ) -> list[tuple[int, Event]]:
        """``(position, event)`` pairs after ``position``, ascending, at most ``limit``."""
        ...

    def checkpoint(self, name: str) -> Checkpoint | None:
        """The checkpoint saved under ``name``, or ``None``."""
        ...

    def acquire_lease(self, name: str, holder: str, *, now: datetime, ttl: timedelta) -> bool:
        """Take or renew the lease ``name``; whether ``holder`` holds it afterwards."""
        ...

    def release_lease(self, name: str, holder: str) -> None:
        """Give up the lease ``name`` if ``holder`` holds it."""
        ...

    def lease(self, name: str) -> Lease | None:
        """The lease ``name`` (possibly expired), or ``None``."""
        ...
