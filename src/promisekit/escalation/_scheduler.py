"""The scheduler: a book of open promises, a heap of next checks, escalations on demand.

:class:`Escalator` keeps, for every open promise, the instant of its next check (computed in
closed form by the policy) in a binary heap. :meth:`Escalator.advance` pops only the promises
due by ``now`` — ``O(k log n)`` for ``k`` firing promises among ``n`` — evaluates them, and
pushes their next check back.

**Firing by firing.** Each entry keeps its *agenda*: the next firing instant of every rule
(:mod:`._agenda`). When a promise's check comes, the firings due are taken in order and only
the rules that fired are recomputed — the work per escalation is close to popping
precomputed instants from a heap. Customer-facing actions held for contact hours go through
the general evaluation (:func:`._engine.run`); both give the same escalations.

**Compact.** Per promise: a slotted entry holding integer instants, the agenda and the small
memory of what fired; the promise's timeline is rebuilt when its check comes rather than
kept (it would be most of the memory). Rare state — escalations waiting for contact hours,
consecutive failures — lives in side tables.

**Failures are isolated.** Evaluating one promise is atomic: when it raises, nothing of it
is released or remembered, the promise is retried after a bounded exponential backoff, the
failure is reported (:class:`~._failures.EscalationFailure`), and every other promise is
evaluated as usual.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime, timedelta

from promisekit._validation import check_aware, describe
from promisekit.errors import InvalidTypeError, InvalidValueError
from promisekit.escalation._agenda import advance_fast, agenda_us
from promisekit.escalation._engine import RuleFailure, features, next_check_us, run
from promisekit.escalation._failures import (
    EscalationFailedError,
    EscalationFailure,
    failure_message,
)
from promisekit.escalation._policy import EscalationPolicy
from promisekit.escalation._records import Escalation, EscalationMemory, Grant
from promisekit.escalation._time import INF, from_us, td_us, to_us
from promisekit.escalation._timeline import Timeline
from promisekit.escalation._track import TrackedPromise

__all__ = ["Escalator"]

_Fired = tuple[object, ...]


class _Entry:
    """One open promise in the scheduler (compact: ints and small tuples)."""

    __slots__ = ("agenda", "fired", "next", "track", "watermark")

    def __init__(self, track: TrackedPromise, watermark: int | None, fired: _Fired) -> None:
        self.track = track
        self.watermark = watermark
        self.fired = fired  # flat: name, revision, count, last, name, revision, …
        self.next: int | None = None
        # Per rule, its next firing instant (µs) after the watermark; None: to compute.
        self.agenda: tuple[int, ...] | None = None


def _timeline(track: TrackedPromise) -> tuple[Timeline, bool]:
    """The track's timeline, and whether it was cached on the track before."""
    cache = track._cache
    if cache:
        cached: Timeline = cache[0]
        return cached, True
    return Timeline(track), False


def _forget(track: TrackedPromise, had: bool) -> None:
    """Drop the timeline the engine cached on the track, unless it was there before."""
    if not had:
        track._cache.clear()


def _unpack(fired: _Fired) -> dict[tuple[str, int], tuple[int, int]]:
    """The packed memory of what fired, as the engine's dict ``(rule, revision) -> (count,
    last)``."""
    return {
        fired[i : i + 2]: fired[i + 2 : i + 4]  # type: ignore[misc]
        for i in range(0, len(fired), 4)
    }


def _pack(fired: dict[tuple[str, int], tuple[int, int]]) -> _Fired:
    """The engine's dict of what fired, packed flat: ``name, revision, count, last, …``."""
    flat: _Fired = sum([key + value for key, value in fired.items()], ())
    return flat


def _check_retry(field: str, value: object) -> int:
    if not isinstance(value, timedelta):
        raise InvalidTypeError(
            f"{field!r} must be a timedelta (got {type(value).__name__} {describe(value)})"
        )
    if value <= timedelta(0):
        raise InvalidValueError(f"{field!r} must be a positive duration (got {value})")
    return td_us(value)


# The grants of a customer who has none (never mutated: the engine only reads it).
_NO_GRANTS: list[Grant] = []

# Compact the heap when it holds more stale entries than this and than live ones.
_COMPACT_MIN = 64

ErrorHandler = Callable[[EscalationFailure], object]


class Escalator:
    """Runs an :class:`EscalationPolicy` over a book of open promises.

    Args:
        policy: The policy to apply to every promise.
        granted: Compensation already granted (for the caps of ``Compensate``).
        retry_first: How long after a failed evaluation the promise is checked again
            (the first time; doubled on each consecutive failure).
        retry_cap: The longest wait between two attempts of a failing promise.

    Example:
        .. code-block:: python

            escalator = Escalator(policy)
            for track in open_promises:
                escalator.add(track)
            while running:
                for escalation in escalator.advance(now(), on_error=log_failure):
                    perform(escalation)
            # when something happens to a promise (a pause, a customer update…):
            escalator.update(new_track)

    .. versionadded:: 0.1.0
    """

    __slots__ = (
        "_attempts",
        "_entries",
        "_grants",
        "_heap",
        "_pending",
        "_plan",
        "_policy",
        "_retry_cap",
        "_retry_first",
        "_stale",
    )

    def __init__(
        self,
        policy: EscalationPolicy,
        *,
        granted: Iterable[Grant] = (),
        retry_first: timedelta = timedelta(seconds=30),
        retry_cap: timedelta = timedelta(hours=1),
    ) -> None:
        if not isinstance(policy, EscalationPolicy):
            raise InvalidTypeError(
                f"'policy' must be an EscalationPolicy (got {type(policy).__name__} "
                f"{describe(policy)})"
            )
        self._retry_first = _check_retry("retry_first", retry_first)
        self._retry_cap = _check_retry("retry_cap", retry_cap)
        if self._retry_cap < self._retry_first:
            raise InvalidValueError(
                f"'retry_cap' must not be shorter than 'retry_first' ({retry_first}) "
                f"(got {retry_cap})"
            )
        self._policy = policy
        self._plan = features(policy.rules)
        self._entries: dict[str, _Entry] = {}
        self._heap: list[tuple[int, str]] = []
        self._stale = 0  # heap items whose promise was removed or rescheduled
        # Rare state, kept out of the entries: escalations waiting for contact hours, and
        # consecutive failed evaluations, by promise id.
        self._pending: dict[str, tuple[Escalation, ...]] = {}
        self._attempts: dict[str, int] = {}
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

    # ----------------------------------------------------------------- the heap

    def _push(self, promise_id: str, entry: _Entry, moment: int | None) -> None:
        """Make ``moment`` the entry's next check (the old heap item, if any, goes stale)."""
        if moment == entry.next:
            return
        if entry.next is not None:
            self._stale += 1
        entry.next = moment
        if moment is not None:
            heapq.heappush(self._heap, (moment, promise_id))
        self._compact()

    def _compact(self) -> None:
        heap = self._heap
        if self._stale > _COMPACT_MIN and 2 * self._stale > len(heap):
            self._heap = [(e.next, pid) for pid, e in self._entries.items() if e.next is not None]
            heapq.heapify(self._heap)
            self._stale = 0

    def _schedule(self, promise_id: str, entry: _Entry) -> None:
        track = entry.track
        pending = self._pending.get(promise_id, ())
        fired = _unpack(entry.fired)
        tl, had = _timeline(track)
        try:
            if pending:
                entry.agenda = None
                moment = next_check_us(self._policy.rules, track, entry.watermark, fired, pending)
            else:
                entry.agenda = agenda = agenda_us(self._policy.rules, tl, entry.watermark, fired)
                moment = _first(agenda)
        except Exception:
            # A trigger raised: check the promise at the next advance, which reports the
            # failure (naming the rule) and backs off.
            entry.agenda = None
            moment = to_us(track.promise.made_at)
            if entry.watermark is not None:
                moment = max(moment, entry.watermark + 1)
        finally:
            _forget(track, had)
        self._push(promise_id, entry, moment)

    # ----------------------------------------------------------------- the book

    def add(self, track: TrackedPromise, memory: EscalationMemory | None = None) -> None:
        """Start watching a promise (with the memory of earlier evaluations, if any).

        Raises:
            InvalidTypeError: ``track`` is not a :class:`TrackedPromise`, or ``memory`` not
                an :class:`EscalationMemory`.
            InvalidValueError: The promise is already in the book (use :meth:`update`), or
                ``memory`` belongs to another promise.

        .. versionadded:: 0.1.0
        """
        _check_track(track)
        promise_id = track.promise.id
        if promise_id in self._entries:
            raise InvalidValueError(
                f"promise {describe(promise_id)} is already in the book; use update() to replace it"
            )
        if memory is None:
            entry = _Entry(track, None, ())
        else:
            if not isinstance(memory, EscalationMemory):
                raise InvalidTypeError(
                    f"'memory' must be an EscalationMemory or None "
                    f"(got {type(memory).__name__} {describe(memory)})"
                )
            if memory.promise_id != promise_id:
                raise InvalidValueError(
                    f"'memory' belongs to promise {describe(memory.promise_id)}, not "
                    f"{describe(promise_id)}"
                )
            fired = {(n, r): (c, last) for n, r, c, last in memory.fired}
            entry = _Entry(track, memory.evaluated_until, _pack(fired))
            if memory.pending:
                self._pending[promise_id] = memory.pending
        self._entries[promise_id] = entry
        self._schedule(promise_id, entry)

    def update(self, track: TrackedPromise) -> None:
        """Replace a promise's track after something was recorded (keeps its memory).

        Raises:
            InvalidTypeError: ``track`` is not a :class:`TrackedPromise`.
            InvalidValueError: The promise is not in the book.

        .. versionadded:: 0.1.0
        """
        _check_track(track)
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
        entry = self._entries.pop(promise_id)
        self._pending.pop(promise_id, None)
        self._attempts.pop(promise_id, None)
        if entry.next is not None:
            self._stale += 1
            self._compact()
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
            self._pending.get(promise_id, ()),
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
            self._stale -= 1
        return None

    # ----------------------------------------------------------------- advancing

    def backoff(self, attempt: int) -> timedelta:
        """The wait before checking a promise again after ``attempt`` consecutive failures.

        ``retry_first`` doubled on each further failure, never longer than ``retry_cap``.

        .. versionadded:: 0.1.0
        """
        if isinstance(attempt, bool) or not isinstance(attempt, int) or attempt < 1:
            raise InvalidValueError(f"'attempt' must be an int >= 1 (got {describe(attempt)})")
        return timedelta(microseconds=self._backoff_us(attempt))

    def _backoff_us(self, attempt: int) -> int:
        first, cap = self._retry_first, self._retry_cap
        if attempt > 62 or first << (attempt - 1) >= cap:
            return cap
        return first << (attempt - 1)

    def advance(self, now: datetime, *, on_error: ErrorHandler | None = None) -> list[Escalation]:
        """Every escalation due up to ``now`` since the last call, ordered by ``at``.

        Only the promises whose next check has come are evaluated. Each promise's
        evaluation is atomic: when it raises an :class:`Exception` (a revision proposer
        with too little history, a compensation policy, a plugin trigger), none of its
        escalations of this call is released, its memory, its escalations waiting for
        contact hours and its grants stay as before the call, and it is checked again at
        ``now`` plus :meth:`backoff` of its consecutive failures; every other promise is
        evaluated as usual. A later successful evaluation resets the count.

        Args:
            now: The instant to advance to (aware).
            on_error: Called once per failed promise with an :class:`EscalationFailure`,
                after every promise due was evaluated. ``None``: raise
                :class:`EscalationFailedError` at the end of the call instead.

        Returns:
            The escalations released, ordered by ``at``.

        Raises:
            EscalationFailedError: Some promise failed and ``on_error`` is ``None`` — or
                ``on_error`` raised (then its exception is the ``__cause__``). It carries
                the escalations released in the call (``.escalations``) and the failures
                (``.failures``), so nothing is lost.
            NaiveDatetimeError: ``now`` has no time zone.

        .. versionadded:: 0.1.0
        """
        now_us = to_us(check_aware("now", now))
        if on_error is not None and not callable(on_error):
            raise InvalidTypeError(
                f"'on_error' must be callable as on_error(failure), or None "
                f"(got {type(on_error).__name__} {describe(on_error)})"
            )
        heap = self._heap
        entries = self._entries
        rules = self._policy.rules
        grants = self._grants
        pendings = self._pending
        attempts = self._attempts
        out: list[Escalation] = []
        failures: list[EscalationFailure] = []
        while heap and heap[0][0] <= now_us:
            moment, promise_id = heapq.heappop(heap)
            entry = entries.get(promise_id)
            if entry is None or entry.next != moment:
                self._stale -= 1
                continue  # stale: removed or rescheduled
            track = entry.track
            customer = track.promise.customer_id
            ledger = grants.get(customer, _NO_GRANTS)
            cache = track._cache
            had = bool(cache)
            try:
                tl = cache[0] if had else Timeline(track)
                result = None
                if promise_id not in pendings:
                    # Firing by firing from the agenda (on a copy: atomic on failure).
                    fired = _unpack(entry.fired) if entry.fired else {}
                    agenda = entry.agenda
                    if agenda is None:
                        agenda = agenda_us(rules, tl, entry.watermark, fired)
                    result = advance_fast(rules, tl, now_us, agenda, fired, ledger, self._plan)
                if result is not None:
                    released, new_grants, agenda = result
                    next_us: int | None = _first(agenda)
                    still: list[Escalation] = []
                else:
                    fired = _unpack(entry.fired)
                    agenda = None
                    if not had:
                        track._cache.append(tl)  # run() reads the cached timeline
                    released, still, new_grants, next_us, _ = run(
                        rules,
                        track,
                        now_us,
                        entry.watermark,
                        fired,
                        list(pendings.get(promise_id, ())),
                        ledger,
                    )
            except Exception as exc:
                failures.append(self._failed(promise_id, entry, exc, now, now_us))
                continue
            except BaseException:
                heapq.heappush(heap, (moment, promise_id))  # still due: keep it scheduled
                raise
            finally:
                if not had:
                    cache.clear()
            if attempts:
                attempts.pop(promise_id, None)
            watermark = entry.watermark
            entry.watermark = now_us if watermark is None or watermark < now_us else watermark
            entry.fired = _pack(fired)
            entry.agenda = None if next_us is None else agenda
            if still:
                pendings[promise_id] = tuple(still)
            elif pendings:
                pendings.pop(promise_id, None)
            if new_grants:
                grants.setdefault(customer, []).extend(new_grants)
            out.extend(released)
            entry.next = next_us
            if next_us is not None:
                heapq.heappush(heap, (next_us, promise_id))
        if len(out) > 1:
            out.sort(key=lambda e: to_us(e.at))
        if failures:
            if on_error is None:
                raise EscalationFailedError(out, failures)
            try:
                for failure in failures:
                    on_error(failure)
            except Exception as exc:
                raise EscalationFailedError(
                    out,
                    failures,
                    reason=f"'on_error' raised {type(exc).__name__} while handling failures",
                ) from exc
        return out

    def _failed(
        self, promise_id: str, entry: _Entry, exc: Exception, now: datetime, now_us: int
    ) -> EscalationFailure:
        """Reschedule a promise whose evaluation raised; describe the failure."""
        if isinstance(exc, RuleFailure):
            rule, action, error = exc.rule, exc.action, exc.error
        else:
            rule, action, error = None, None, exc
        attempt = self._attempts.get(promise_id, 0) + 1
        self._attempts[promise_id] = attempt
        retry_us = now_us + self._backoff_us(attempt)
        entry.next = retry_us
        heapq.heappush(self._heap, (retry_us, promise_id))
        return EscalationFailure(
            promise_id=promise_id,
            rule=rule,
            action=action,
            error=error,
            message=failure_message(promise_id, rule, action, error),
            attempt=attempt,
            at=now,
            retry_at=from_us(retry_us, now.tzinfo or entry.track.zone),
        )


def _first(agenda: tuple[int, ...]) -> int | None:
    """The earliest instant of an agenda, or ``None`` when no rule will fire."""
    moment = min(agenda, default=INF)
    return None if moment >= INF else moment


def _check_track(track: object) -> None:
    if not isinstance(track, TrackedPromise):
        raise InvalidTypeError(
            f"'track' must be a TrackedPromise (got {type(track).__name__} {describe(track)})"
        )
