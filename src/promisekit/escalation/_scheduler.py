"""The scheduler: a book of open promises, a heap of next checks, escalations on demand.

:class:`Escalator` keeps, for every open promise, the instant of its next check (computed in
closed form by the policy) in a binary heap. :meth:`Escalator.advance` pops only the promises
due by ``now`` — ``O(k log n)`` for ``k`` firing promises among ``n`` — evaluates them, and
pushes their next check back. Per-promise state is compact: a slotted entry holding integer
instants and the small memory of what fired.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Iterator
from datetime import datetime

from promisekit._validation import check_aware, describe
from promisekit.errors import InvalidTypeError, InvalidValueError
from promisekit.escalation._engine import next_check_us, run
from promisekit.escalation._policy import EscalationPolicy
from promisekit.escalation._records import Escalation, EscalationMemory, Grant
from promisekit.escalation._time import from_us, to_us
from promisekit.escalation._track import TrackedPromise

__all__ = ["Escalator"]

_Fired = tuple[object, ...]


class _Entry:
    """One open promise in the scheduler (compact: ints and small tuples)."""

    __slots__ = ("fired", "next", "pending", "track", "watermark")

    def __init__(
        self,
        track: TrackedPromise,
        watermark: int | None,
        fired: _Fired,
        pending: tuple[Escalation, ...],
    ) -> None:
        self.track = track
        self.watermark = watermark
        self.fired = fired  # flat: name, revision, count, last, name, revision, …
        self.pending = pending
        self.next: int | None = None


def _unpack(fired: _Fired) -> dict[tuple[str, int], tuple[int, int]]:
    out: dict[tuple[str, int], tuple[int, int]] = {}
    for i in range(0, len(fired), 4):
        name, revision, count, last = fired[i : i + 4]
        assert isinstance(name, str)
        assert isinstance(revision, int)
        assert isinstance(count, int)
        assert isinstance(last, int)
        out[(name, revision)] = (count, last)
    return out


def _pack(fired: dict[tuple[str, int], tuple[int, int]]) -> _Fired:
    if not fired:
        return ()
    flat: list[object] = []
    for (name, revision), (count, last) in fired.items():
        flat.extend((name, revision, count, last))
    return tuple(flat)


class Escalator:
    """Runs an :class:`EscalationPolicy` over a book of open promises.

    Args:
        policy: The policy to apply to every promise.
        granted: Compensation already granted (for the caps of ``Compensate``).

    Example:
        .. code-block:: python

            escalator = Escalator(policy)
            for track in open_promises:
                escalator.add(track)
            while running:
                for escalation in escalator.advance(now()):
                    perform(escalation)
            # when something happens to a promise (a pause, a customer update…):
            escalator.update(new_track)

    .. versionadded:: 0.1.0
    """

    __slots__ = ("_entries", "_grants", "_heap", "_policy")

    def __init__(self, policy: EscalationPolicy, *, granted: Iterable[Grant] = ()) -> None:
        if not isinstance(policy, EscalationPolicy):
            raise InvalidTypeError(
                f"'policy' must be an EscalationPolicy (got {type(policy).__name__} "
                f"{describe(policy)})"
            )
        self._policy = policy
        self._entries: dict[str, _Entry] = {}
        self._heap: list[tuple[int, str]] = []
        self._grants: dict[str, list[Grant]] = {}
        for grant in granted:
            if not isinstance(grant, Grant):
                raise InvalidTypeError(
                    f"'granted' must contain only Grant records (got {type(grant).__name__})"
                )
            self._grants.setdefault(grant.customer_id, []).append(grant)

    @property
    def policy(self) -> EscalationPolicy:
        """The policy applied.

        .. versionadded:: 0.1.0
        """
        return self._policy

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, promise_id: object) -> bool:
        return promise_id in self._entries

    def __iter__(self) -> Iterator[TrackedPromise]:
        return (entry.track for entry in self._entries.values())

    def _schedule(self, promise_id: str, entry: _Entry) -> None:
        moment = next_check_us(
            self._policy.rules, entry.track, entry.watermark, _unpack(entry.fired), entry.pending
        )
        entry.next = moment
        if moment is not None:
            heapq.heappush(self._heap, (moment, promise_id))

    def add(self, track: TrackedPromise, memory: EscalationMemory | None = None) -> None:
        """Start watching a promise (with the memory of earlier evaluations, if any).

        Raises:
            InvalidValueError: The promise is already in the book (use :meth:`update`).

        .. versionadded:: 0.1.0
        """
        if not isinstance(track, TrackedPromise):
            raise InvalidTypeError(
                f"'track' must be a TrackedPromise (got {type(track).__name__} {describe(track)})"
            )
        promise_id = track.promise.id
        if promise_id in self._entries:
            raise InvalidValueError(
                f"promise {describe(promise_id)} is already in the book; use update() to replace it"
            )
        if memory is None:
            entry = _Entry(track, None, (), ())
        else:
            if memory.promise_id != promise_id:
                raise InvalidValueError(
                    f"'memory' belongs to promise {describe(memory.promise_id)}, not "
                    f"{describe(promise_id)}"
                )
            fired = {(n, r): (c, last) for n, r, c, last in memory.fired}
            entry = _Entry(track, memory.evaluated_until, _pack(fired), memory.pending)
        self._entries[promise_id] = entry
        self._schedule(promise_id, entry)

    def update(self, track: TrackedPromise) -> None:
        """Replace a promise's track after something was recorded (keeps its memory).

        Raises:
            InvalidValueError: The promise is not in the book.

        .. versionadded:: 0.1.0
        """
        promise_id = track.promise.id
        entry = self._entries.get(promise_id)
        if entry is None:
            raise InvalidValueError(f"promise {describe(promise_id)} is not in the book; use add()")
        entry.track = track
        self._schedule(promise_id, entry)

    def remove(self, promise_id: str) -> EscalationMemory:
        """Stop watching a promise; return its memory.

        .. versionadded:: 0.1.0
        """
        memory = self.memory(promise_id)
        del self._entries[promise_id]
        return memory

    def memory(self, promise_id: str) -> EscalationMemory:
        """The memory of what fired for a promise (to persist it).

        .. versionadded:: 0.1.0
        """
        entry = self._entries.get(promise_id)
        if entry is None:
            raise InvalidValueError(f"promise {describe(promise_id)} is not in the book")
        fired = _unpack(entry.fired)
        return EscalationMemory(
            promise_id,
            entry.watermark,
            tuple((n, r, c, last) for (n, r), (c, last) in fired.items()),
            entry.pending,
        )

    def granted(self, customer_id: str) -> tuple[Grant, ...]:
        """Compensation granted to a customer so far.

        .. versionadded:: 0.1.0
        """
        return tuple(self._grants.get(customer_id, ()))

    def next_check(self) -> datetime | None:
        """The earliest instant at which some promise could escalate, or ``None``.

        .. versionadded:: 0.1.0
        """
        heap = self._heap
        while heap:
            moment, promise_id = heap[0]
            entry = self._entries.get(promise_id)
            if entry is not None and entry.next == moment:
                return from_us(moment, entry.track.zone)
            heapq.heappop(heap)
        return None

    def advance(self, now: datetime) -> list[Escalation]:
        """Every escalation due up to ``now`` since the last call, ordered by ``at``.

        Only the promises whose next check has come are evaluated.

        .. versionadded:: 0.1.0
        """
        now_us = to_us(check_aware("now", now))
        heap = self._heap
        entries = self._entries
        policy = self._policy
        grants = self._grants
        out: list[Escalation] = []
        while heap and heap[0][0] <= now_us:
            moment, promise_id = heapq.heappop(heap)
            entry = entries.get(promise_id)
            if entry is None or entry.next != moment:
                continue  # stale: removed or rescheduled
            entry.next = None
            customer = entry.track.promise.customer_id
            ledger = grants.get(customer, [])
            fired = _unpack(entry.fired)
            released, still, new_grants, next_us, watermark = run(
                policy.rules,
                entry.track,
                now_us,
                entry.watermark,
                fired,
                list(entry.pending),
                ledger,
            )
            entry.watermark = watermark
            entry.fired = _pack(fired)
            entry.pending = tuple(still) if still else ()
            if new_grants:
                grants.setdefault(customer, []).extend(new_grants)
            out.extend(released)
            entry.next = next_us
            if next_us is not None:
                heapq.heappush(heap, (next_us, promise_id))
        if len(out) > 1:
            out.sort(key=lambda e: to_us(e.at))
        return out
