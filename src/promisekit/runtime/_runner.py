"""The escalation runner: a policy run as a durable service over a ledger store.

One :meth:`EscalationRunner.step` does, in order:

1. **Lead.** Take or renew the store's lease for the runner's name; a runner that does not
   hold it does nothing (two runners on one store never both fire).
2. **Read.** Fold the events recorded since its cursor (``store.events_since``) into its
   book of open promises: each touched promise is rebuilt from its ledger state.
3. **Fire.** Advance the :class:`~promisekit.escalation.Escalator` to ``now``. Each
   action of each firing becomes an :class:`~promisekit.ledger.EscalationFired` event whose
   id derives from the action's idempotency key and whose document is what the sink will
   get. The events, and the cursor, are appended in **one transaction** (a transactional
   outbox): a crash leaves either both or neither. A promise whose evaluation raises is
   recorded as :class:`~promisekit.ledger.EscalationFailed`, retried later, and never
   stops the others.
4. **Deliver.** Hand every fired action not yet delivered to the sink, **at least once**;
   record :class:`~promisekit.ledger.ActionDelivered` when the sink returns, or
   :class:`~promisekit.ledger.EscalationFailed` and a later retry (bounded exponential
   backoff) when it raises.

On start (and after losing the lease) the runner rebuilds everything from the ledger: the
memory of what fired (so a restart never fires again what the ledger records), the
compensation granted (for the caps), and the outbox of actions not yet delivered.
"""

from __future__ import annotations

import contextlib
import os
import socket
import time
import uuid
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any

import attrs

from promisekit._validation import check_aware, check_duration, check_non_empty_str, describe
from promisekit.calendar import BusinessCalendar
from promisekit.errors import InvalidTypeError, InvalidValueError
from promisekit.escalation import (
    Compensate,
    Escalation,
    EscalationFailure,
    EscalationPolicy,
    Escalator,
    Grant,
    NotifyCustomer,
    TrackedPromise,
    firing_letter,
)
from promisekit.ledger import (
    ActionDelivered,
    Checkpoint,
    EscalationFailed,
    EscalationFired,
    Event,
    LeaseLostError,
    LedgerStore,
)
from promisekit.runtime._envelope import ActionEnvelope, escalation_document, notice_document
from promisekit.runtime._firing import action_index, firings
from promisekit.runtime._keys import (
    action_name,
    delivered_event_id,
    failure_event_id,
    fired_event_id,
    idempotency_key,
)
from promisekit.runtime._recovery import grant_from_document, memory_from_state
from promisekit.runtime._sinks import Sink

__all__ = ["Backoff", "EscalationRunner", "StepReport"]

_READ_CHUNK = 1000


@attrs.frozen
class Backoff:
    """Bounded exponential backoff: ``first``, then ×``factor`` per attempt, at most ``cap``.

    .. versionadded:: 0.1.0
    """

    first: timedelta = attrs.field(default=timedelta(seconds=30))
    factor: float = attrs.field(default=2.0)
    cap: timedelta = attrs.field(default=timedelta(hours=1))

    def __attrs_post_init__(self) -> None:
        check_duration("first", self.first)
        check_duration("cap", self.cap)
        if not self.factor >= 1:
            raise InvalidValueError(f"'factor' must be >= 1 (got {describe(self.factor)})")

    def delay(self, attempt: int) -> timedelta:
        """The wait after failed attempt number ``attempt`` (1-based)."""
        seconds = self.first.total_seconds() * self.factor ** min(max(attempt - 1, 0), 60)
        return min(timedelta(seconds=min(seconds, self.cap.total_seconds())), self.cap)


@attrs.frozen(kw_only=True)
class StepReport:
    """What one :meth:`EscalationRunner.step` did.

    Attributes:
        leader: Whether this runner held the lease (nothing else happened otherwise).
        position: The cursor after the step (the last ledger position folded in).
        events_read: Events read from the ledger.
        fired: Actions fired (``EscalationFired`` events appended).
        delivered: Actions the sink took.
        failures: Failures recorded (evaluation or sink).
        outbox: Actions fired and not yet delivered, after the step.
        next_check: The earliest instant something may fire next, or ``None``.
        errors: The errors recorded for the deliveries that failed (one line each).

    .. versionadded:: 0.1.0
    """

    leader: bool
    position: int = 0
    events_read: int = 0
    fired: int = 0
    delivered: int = 0
    failures: int = 0
    outbox: int = 0
    next_check: datetime | None = None
    errors: tuple[str, ...] = ()


@attrs.define
class _Pending:
    """An action fired and not yet delivered."""

    document: dict[str, Any]
    attempt: int  # attempts made so far
    not_before: datetime | None  # next attempt not before (None: now)


def _default_holder() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


_SAID = 600  # characters of a sink's error kept in the ledger
_FLUSH_EVERY = 50  # delivery records per transaction, at most


def _what(exc: Exception) -> str:
    """What a sink's exception says, quoted, on one line and at most ``_SAID`` characters
    (``describe`` would keep only a few dozen: the end, where a command's error or an HTTP
    status is, matters)."""
    try:
        text = " ".join(str(exc).split())
    except Exception:  # an exception whose str() fails
        return f"<{type(exc).__name__} object>"
    if len(text) > _SAID:
        text = text[: _SAID // 3] + " … " + text[-(_SAID * 2 // 3) :]
    return repr(text)


class EscalationRunner:
    """Run an escalation policy over a ledger store, exactly once across restarts.

    Args:
        store: The ledger store (:class:`~promisekit.ledger.PromiseLedger`,
            :class:`~promisekit.store.SQLiteLedger`…): it must offer ``events_since``,
            checkpoints and leases (every promisekit store does).
        policy: The escalation policy.
        sink: Called with each :class:`ActionEnvelope`, at least once per action; raising
            means "not taken": the attempt is recorded and retried with ``backoff``.
        name: The runner's name: its cursor and lease in the store. Runners with different
            names are independent (each fires every rule); runners sharing a name share
            one lease, so only one of them fires.
        holder: This process's identity for the lease (default: host, pid and a random
            suffix).
        calendar: Business calendar of the promises' SLA clocks, or ``None``.
        contact_hours: When customer-facing actions may go out, or ``None``.
        locale: Locale of customer notices (``"en"`` or ``"fr-CA"``).
        lease_ttl: How long the lease lasts without renewal; a runner that stops stepping
            for longer loses it to another.
        backoff: Waits between delivery attempts (and evaluation retries).
        allow_placeholders: Send customer notices that still hold a placeholder to fill
            in (an unwritten explanation). Default False: such an action is recorded as
            failed with the reason, and retried (a later policy or template change can fix
            it).
        explanation: The explanation inserted in delay and apology notices, or ``None``.

    .. versionadded:: 0.1.0
    """

    def __init__(
        self,
        store: LedgerStore,
        policy: EscalationPolicy,
        sink: Sink,
        *,
        name: str = "escalations",
        holder: str | None = None,
        calendar: BusinessCalendar | None = None,
        contact_hours: BusinessCalendar | None = None,
        locale: str = "en",
        lease_ttl: timedelta = timedelta(seconds=60),
        backoff: Backoff | None = None,
        allow_placeholders: bool = False,
        explanation: str | None = None,
    ) -> None:
        if not isinstance(policy, EscalationPolicy):
            raise InvalidTypeError(
                f"'policy' must be an EscalationPolicy (got {type(policy).__name__})"
            )
        if not callable(sink):
            raise InvalidTypeError(
                f"'sink' must be callable as sink(envelope) (got {type(sink).__name__})"
            )
        for method in ("events_since", "checkpoint", "acquire_lease", "append_many", "state"):
            if not callable(getattr(store, method, None)):
                raise InvalidTypeError(
                    f"'store' must be a ledger store with {method}() (got {type(store).__name__})"
                )
        self._store = store
        self._policy = policy
        self._sink = sink
        self.name = check_non_empty_str("name", name)
        self.holder = _default_holder() if holder is None else check_non_empty_str("holder", holder)
        self._calendar = calendar
        self._contact_hours = contact_hours
        self._locale = locale
        self._lease_ttl = check_duration("lease_ttl", lease_ttl)
        if self._lease_ttl <= timedelta(0):
            raise InvalidValueError(f"'lease_ttl' must be positive (got {self._lease_ttl})")
        self._backoff = Backoff() if backoff is None else backoff
        self._allow_placeholders = bool(allow_placeholders)
        self._explanation = explanation
        self._started = False
        self._escalator = Escalator(policy)
        self._tracks: dict[str, TrackedPromise] = {}
        self._closed: set[str] = set()
        self._outbox: dict[str, _Pending] = {}
        self._position = 0
        self._rules = {rule.name: rule for rule in policy.rules}

    # ----------------------------------------------------------------- state

    @property
    def position(self) -> int:
        """The ledger position folded in so far (0 before the first step)."""
        return self._position

    @property
    def outbox(self) -> tuple[str, ...]:
        """Keys of the actions fired and not yet delivered, sorted."""
        return tuple(sorted(self._outbox))

    def __repr__(self) -> str:
        return (
            f"EscalationRunner(name={self.name!r}, holder={self.holder!r}, "
            f"position={self._position}, open={len(self._tracks)}, outbox={len(self._outbox)})"
        )

    # ----------------------------------------------------------------- the loop

    def step(self, now: datetime) -> StepReport:
        """Lead, read, fire and deliver once, up to ``now`` (see the module docstring).

        Args:
            now: The current instant (aware): the runner reads no clock of its own.

        Returns:
            What the step did.

        Raises:
            StoreError: The store cannot be read or written (nothing half-done is kept:
                the next step starts from the ledger again).

        .. versionadded:: 0.1.0
        """
        now = check_aware("now", now)
        if not self._store.acquire_lease(self.name, self.holder, now=now, ttl=self._lease_ttl):
            self._forget()
            return StepReport(leader=False)
        try:
            return self._step(now)
        except LeaseLostError:
            self._forget()
            return StepReport(leader=False)
        except BaseException:
            self._forget()  # the ledger is the truth: rebuild from it next time
            raise

    def release(self) -> None:
        """Give up the lease now (another runner may take over at once)."""
        self._store.release_lease(self.name, self.holder)
        self._forget()

    def _forget(self) -> None:
        self._started = False

    def _step(self, now: datetime) -> StepReport:
        read = 0
        if not self._started:
            read += self._start(now)
        read += self._read(now)
        fired, failed = self._fire(now)
        delivered, errors = self._deliver(now)
        return StepReport(
            leader=True,
            position=self._position,
            events_read=read,
            fired=fired,
            delivered=delivered,
            failures=failed + len(errors),
            outbox=len(self._outbox),
            next_check=self._escalator.next_check(),
            errors=tuple(errors),
        )

    # ----------------------------------------------------------------- start

    def _start(self, now: datetime) -> int:
        """Rebuild the book, the grants and the outbox from the whole ledger."""
        self._escalator = Escalator(self._policy)
        self._tracks.clear()
        self._closed.clear()
        self._outbox.clear()
        self._position = 0
        grants: list[Grant] = []
        delivered: set[str] = set()
        attempts: dict[str, tuple[int, datetime | None]] = {}
        touched: set[str] = set()
        read = 0
        for position, event in self._events_since(0):
            read += 1
            self._position = position
            if isinstance(event, EscalationFired):
                if event.key is not None and event.document is not None:
                    self._outbox.setdefault(event.key, _Pending(dict(event.document), 0, None))
                    grant = grant_from_document(event.document)
                    if grant is not None:
                        grants.append(grant)
            elif isinstance(event, ActionDelivered):
                delivered.add(event.key)
            elif isinstance(event, EscalationFailed):
                if event.key is not None:
                    attempts[event.key] = (event.attempt, event.retry_at)
            else:
                touched.add(event.promise_id)
        for key in delivered:
            self._outbox.pop(key, None)
        for key, (attempt, retry_at) in attempts.items():
            pending = self._outbox.get(key)
            if pending is not None and attempt >= pending.attempt:
                pending.attempt, pending.not_before = attempt, retry_at
        self._escalator = Escalator(self._policy, granted=grants)
        for promise_id in sorted(touched):
            self._refresh(promise_id, now, initial=True)
        self._started = True
        return read

    # ----------------------------------------------------------------- read

    def _events_since(self, position: int) -> Iterable[tuple[int, Event]]:
        while True:
            batch = self._store.events_since(position, limit=_READ_CHUNK)
            if not batch:
                return
            yield from batch
            position = batch[-1][0]
            if len(batch) < _READ_CHUNK:
                return

    def _read(self, now: datetime) -> int:
        touched: set[str] = set()
        read = 0
        for position, event in self._events_since(self._position):
            read += 1
            self._position = position
            if isinstance(event, EscalationFired):
                if event.key is not None and event.document is not None:
                    self._outbox.setdefault(event.key, _Pending(dict(event.document), 0, None))
            elif isinstance(event, ActionDelivered):
                self._outbox.pop(event.key, None)
            elif not isinstance(event, EscalationFailed):
                touched.add(event.promise_id)
        for promise_id in sorted(touched):
            self._refresh(promise_id, now, initial=False)
        return read

    def _refresh(self, promise_id: str, now: datetime, *, initial: bool) -> None:
        state = self._store.state(promise_id)
        if state is None or getattr(state, "promise", None) is None:
            return
        track = TrackedPromise.from_state(
            state,
            calendar=self._calendar,
            contact_hours=self._contact_hours,
            locale=self._locale,
        )
        known = promise_id in self._tracks
        closed = track.completed_at is not None
        if known:
            self._escalator.update(track)
        elif closed and initial:
            return  # closed before this runner started: nothing left to fire
        else:
            self._escalator.add(track, memory_from_state(state))
        self._tracks[promise_id] = track
        if closed:
            self._closed.add(promise_id)

    # ----------------------------------------------------------------- fire

    def _fire(self, now: datetime) -> tuple[int, int]:
        failures: list[EscalationFailure] = []
        escalations = self._escalator.advance(now, on_error=failures.append)
        records: list[Event] = []
        for group in firings(escalations):
            records.extend(self._record_firing(group, now))
        for failure in failures:
            subject = f"{failure.promise_id}/{failure.rule or '-'}"
            records.append(
                EscalationFailed(
                    id=failure_event_id(subject, failure.attempt, now),
                    promise_id=failure.promise_id,
                    at=now,
                    recorded_at=now,
                    rule=failure.rule,
                    action=failure.action,
                    key=None,
                    error=failure.message,
                    attempt=failure.attempt,
                    retry_at=failure.retry_at,
                )
            )
        self._append(records)
        fired = sum(isinstance(r, EscalationFired) for r in records)
        for promise_id in list(self._closed):
            memory = self._escalator.memory(promise_id)
            if not memory.pending:
                self._escalator.remove(promise_id)
                self._tracks.pop(promise_id, None)
                self._closed.discard(promise_id)
        return fired, len(failures)

    def _record_firing(self, group: list[Escalation], now: datetime) -> list[Event]:
        """One firing of one rule: an event per action; one letter for the customer."""
        rule = self._rules.get(group[0].rule)
        keys: list[str] = []
        seen: dict[str, int] = {}
        for escalation in group:
            index = action_index(rule.actions if rule else (), escalation, seen)
            keys.append(idempotency_key(escalation, index))
        letter = firing_letter(group)
        letter_key = None if letter is None else keys[group.index(letter)]
        track = self._tracks.get(group[0].promise_id)
        out: list[Event] = []
        for escalation, key in zip(group, keys, strict=True):
            document: dict[str, Any] = {
                "key": key,
                "escalation": escalation_document(escalation),
                "customer_facing": escalation.customer_facing,
                "notice": None,
            }
            if escalation is letter and track is not None:
                try:
                    notice = escalation.draft(track, explanation=self._explanation)
                except Exception as exc:  # recorded with the firing; delivery refuses it
                    document["notice_error"] = f"{type(exc).__name__}: {describe(str(exc))}"
                else:
                    document["notice"] = notice_document(notice)
                    document["letter_covers"] = sorted(
                        str(escalation_document(e)["action"]["type"])
                        for e in group
                        if e.customer_facing
                    )
            elif escalation.customer_facing and letter is not None and _has_letter(escalation):
                document["merged_into"] = letter_key
            out.append(
                EscalationFired(
                    id=fired_event_id(key),
                    promise_id=escalation.promise_id,
                    at=escalation.triggered_at,
                    recorded_at=now,
                    rule=escalation.rule,
                    action=action_name(escalation),
                    level=escalation.level,
                    revision=escalation.revision,
                    occurrence=escalation.occurrence,
                    key=key,
                    document=document,
                )
            )
            self._outbox[key] = _Pending(document, 0, escalation.at)
        return out

    def _append(self, records: list[Event]) -> None:
        if not records:
            return
        self._store.append_many(
            records,
            checkpoint=Checkpoint(name=self.name, position=self._position, holder=self.holder),
        )

    # ----------------------------------------------------------------- deliver

    def _deliver(self, now: datetime) -> tuple[int, list[str]]:
        # In the order they fell due (then by key): retries and fresh actions alike.
        due = [
            key
            for _, key in sorted(
                (now if p.not_before is None else p.not_before, key)
                for key, p in self._outbox.items()
                if p.not_before is None or p.not_before <= now
            )
        ]
        records: list[Event] = []
        delivered = 0
        errors: list[str] = []
        flushed = time.monotonic()
        try:
            for key in due:
                # Record what was done every few actions (and after every second of
                # slow sinks): a step that outlives its lease or is interrupted keeps
                # what it delivered, and a lost lease stops it here (LeaseLostError).
                if records and (len(records) >= _FLUSH_EVERY or time.monotonic() - flushed >= 1.0):
                    self._append(records)
                    records, flushed = [], time.monotonic()
                delivered += self._deliver_one(key, now, records, errors)
        except BaseException:
            with contextlib.suppress(Exception):
                self._append(records)  # keep what was done; the original error wins
            raise
        self._append(records)
        return delivered, errors

    def _deliver_one(self, key: str, now: datetime, records: list[Event], errors: list[str]) -> int:
        """Hand one action to the sink, its record to ``records``; 1 if it was taken."""
        pending = self._outbox[key]
        attempt = pending.attempt + 1
        envelope = ActionEnvelope(key=key, document=pending.document, attempt=attempt)
        promise_id = envelope.promise_id
        error: str | None = None
        notice = pending.document.get("notice")
        if pending.document.get("notice_error"):
            error = f"the customer notice could not be drafted: {pending.document['notice_error']}"
        elif notice is not None and notice.get("placeholders") and not self._allow_placeholders:
            error = (
                f"the customer notice still holds a placeholder to fill in "
                f"({', '.join(notice['placeholders'])}); give the runner an explanation "
                f"(explanation=..., promisekit run --explanation) or allow placeholders "
                f"(allow_placeholders=True, --allow-placeholders)"
            )
        else:
            try:
                self._sink(envelope)
            except Exception as exc:  # a sink may fail any way: record it, retry later
                error = f"the sink raised {type(exc).__name__}: {_what(exc)}"
        if error is None:
            del self._outbox[key]
            records.append(
                ActionDelivered(
                    id=delivered_event_id(key),
                    promise_id=promise_id,
                    at=now,
                    recorded_at=now,
                    key=key,
                    attempt=attempt,
                )
            )
            return 1
        retry_at = now + self._backoff.delay(attempt)
        pending.attempt, pending.not_before = attempt, retry_at
        recorded = f"promise {promise_id!r}, rule {envelope.rule!r}: {error}"
        errors.append(recorded)
        records.append(
            EscalationFailed(
                id=failure_event_id(key, attempt, now),
                promise_id=promise_id,
                at=now,
                recorded_at=now,
                rule=envelope.rule,
                action=envelope.action_type,
                key=key,
                error=recorded,
                attempt=attempt,
                retry_at=retry_at,
            )
        )
        return 0

    # ----------------------------------------------------------------- run forever

    def run(
        self,
        *,
        interval: timedelta,
        clock: Callable[[], datetime],
        should_stop: Callable[[], bool],
        sleep: Callable[[float], object],
        on_step: Callable[[StepReport], object] | None = None,
    ) -> None:
        """Step every ``interval`` until ``should_stop()`` is true (checked between steps).

        A step in progress always finishes (its transaction commits or rolls back) before
        the loop looks at ``should_stop``.

        .. versionadded:: 0.1.0
        """
        wait = check_duration("interval", interval).total_seconds()
        while not should_stop():
            report = self.step(clock())
            if on_step is not None:
                on_step(report)
            slept = 0.0
            while slept < wait and not should_stop():
                chunk = min(0.2, wait - slept)
                sleep(chunk)
                slept += chunk


def _has_letter(escalation: Escalation) -> bool:
    """Whether promisekit drafts letters for this action (plugin actions render their own)."""
    return isinstance(escalation.action, (Compensate, NotifyCustomer))
