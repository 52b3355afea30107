"""The state of a promise: what replaying its events gives (the replay itself is in
:mod:`promisekit._ledger_replay`).

Private to :mod:`promisekit.ledger`, which re-exports :class:`PromiseState` and the
records a state holds.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import attrs

from promisekit._ledger_events import (
    ActionDelivered,
    CustomerNotified,
    EscalationFailed,
    EscalationFired,
    Event,
    PromiseCancelled,
    PromiseMade,
)
from promisekit._validation import (
    check_aware,
)
from promisekit.delivery import Delivery, Outcome, assess
from promisekit.errors import (
    InvalidValueError,
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
