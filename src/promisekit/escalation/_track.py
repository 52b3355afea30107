"""The state the escalation engine watches: a promise and what happened to it, with instants.

A :class:`TrackedPromise` bundles a :class:`~promisekit.promise.Promise` (with its revisions)
and the events that matter for escalation — pauses (waiting on the customer), customer
updates, progress reports and completion — plus the calendars that measure time. Every event
carries its instant, so the state *as of* any instant is known and evaluation at any sequence
of times replays exactly what a continuous evaluation would have seen.

These are the records; the timeline built from them (segments, the SLA clock, due dates)
lives in :mod:`._timeline`, which the clock readings here delegate to. Imports
:mod:`._timeline` and :mod:`._time` only.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone, tzinfo
from typing import Any, Protocol
from zoneinfo import ZoneInfo

import attrs

from promisekit._validation import (
    check_aware,
    check_finite,
    check_non_empty_str,
    describe,
    load_zone,
    tuple_of,
)
from promisekit.calendar import BusinessCalendar
from promisekit.errors import InconsistentRecordError, InvalidTypeError, InvalidValueError
from promisekit.escalation._messages import (
    InboundMessage,
    Reopening,
    check_ticket_records,
    convert_inbound,
    convert_reopenings,
    delivered_at,
    past_targets_of,
    ticket_records_of,
)
from promisekit.escalation._time import from_us, to_us
from promisekit.escalation._timeline import timeline
from promisekit.promise import Promise

__all__ = [
    "LOCALES",
    "CustomerUpdate",
    "LedgerStateLike",
    "Pause",
    "ProgressReport",
    "TrackedPromise",
]

#: Locales the built-in notices are written in.
LOCALES = ("en", "fr-CA")
_LOCALE_ALIASES = {
    "en": "en",
    "en-ca": "en",
    "en-us": "en",
    "en-gb": "en",
    "fr": "fr-CA",
    "fr-ca": "fr-CA",
}
_UTC = timezone.utc


# --------------------------------------------------------------------------- validators


def _aware(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    check_aware(attribute.name, value)


def _optional_aware(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is not None:
        check_aware(attribute.name, value)


def _optional_str(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is not None:
        check_non_empty_str(attribute.name, value)


def _optional_calendar(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is not None and not isinstance(value, BusinessCalendar):
        raise InvalidTypeError(
            f"{describe(attribute.name)} must be a BusinessCalendar or None "
            f"(got {type(value).__name__} {describe(value)})"
        )


def _convert_locale(value: object) -> str:
    if not isinstance(value, str):
        raise InvalidTypeError(
            f"'locale' must be a string (got {type(value).__name__} {describe(value)})"
        )
    key = value.strip().replace("_", "-").lower()
    if key not in _LOCALE_ALIASES:
        raise InvalidValueError(
            f"'locale' must be one of {', '.join(LOCALES)} (or an alias such as 'fr', "
            f"'en-US') (got {describe(value)})"
        )
    return _LOCALE_ALIASES[key]


def _convert_tz(value: object) -> str | None:
    if value is None:
        return None
    return load_zone(value, field="customer_tz").key


# --------------------------------------------------------------------------- events


@attrs.frozen
class Pause:
    """A span during which the promise waits on the customer: its clock stops.

    Attributes:
        start: When the promise was paused (aware).
        end: When it resumed (aware, after ``start``), or ``None`` while still paused.
        reason: Why (free text), or ``None``.

    .. versionadded:: 0.1.0
    """

    start: datetime = attrs.field(validator=_aware)
    end: datetime | None = attrs.field(default=None, validator=_optional_aware)
    reason: str | None = attrs.field(default=None, kw_only=True, validator=_optional_str)

    @end.validator
    def _check_end(self, attribute: attrs.Attribute[Any], value: datetime | None) -> None:
        if value is not None and to_us(value) <= to_us(self.start):
            raise InvalidValueError(
                f"'end' must be after 'start' ({self.start.isoformat(' ')}) "
                f"(got {value.isoformat(' ')})"
            )


@attrs.frozen
class CustomerUpdate:
    """The customer was told something about the promise (a progress update, a new date…).

    Attributes:
        at: When (aware).
        kind: What kind of update (``"progress"``, ``"delay"``, ``"apology"``…), or ``None``.

    .. versionadded:: 0.1.0
    """

    at: datetime = attrs.field(validator=_aware)
    kind: str | None = attrs.field(default=None, validator=_optional_str)


def _convert_fraction(value: object) -> float:
    number = check_finite("fraction", value, minimum=0)
    if number > 1:
        raise InvalidValueError(f"'fraction' must be between 0 and 1 (got {describe(value)})")
    return number


@attrs.frozen
class ProgressReport:
    """How much of the work was done, as reported at an instant (Critical Chain progress).

    Attributes:
        at: When the progress was reported (aware).
        fraction: Fraction of the work done, in ``[0, 1]``.

    .. versionadded:: 0.1.0
    """

    at: datetime = attrs.field(validator=_aware)
    fraction: float = attrs.field(converter=_convert_fraction)


def _convert_pauses(value: object) -> tuple[Pause, ...]:
    return tuple_of(Pause, "pauses", value)


def _convert_updates(value: object) -> tuple[CustomerUpdate, ...]:
    items: tuple[CustomerUpdate, ...] = tuple_of(CustomerUpdate, "updates", value)
    return tuple(sorted(items, key=lambda item: to_us(item.at)))


def _convert_progress(value: object) -> tuple[ProgressReport, ...]:
    items: tuple[ProgressReport, ...] = tuple_of(ProgressReport, "progress", value)
    return tuple(sorted(items, key=lambda item: to_us(item.at)))


def _convert_past_targets(value: object) -> tuple[datetime | None, ...]:
    if isinstance(value, (str, bytes)) or not isinstance(value, (tuple, list)):
        raise InvalidTypeError(
            f"'past_targets' must be a tuple of aware datetimes or None "
            f"(got {type(value).__name__} {describe(value)})"
        )
    for index, item in enumerate(value):
        if item is not None:
            check_aware(f"past_targets[{index}]", item)
    return tuple(value)


class LedgerStateLike(Protocol):
    """What :meth:`TrackedPromise.from_state` reads from a ledger's promise state.

    Matches :class:`promisekit.ledger.PromiseState` without importing it.

    .. versionadded:: 0.1.0
    """

    @property
    def promise(self) -> Promise: ...

    @property
    def paused_intervals(self) -> tuple[Any, ...]: ...

    @property
    def notifications(self) -> tuple[Any, ...]: ...


# --------------------------------------------------------------------------- TrackedPromise


@attrs.frozen(kw_only=True)
class TrackedPromise:
    """A promise and the events the escalation engine needs, each with its instant.

    Attributes:
        promise: The promise, as last revised (its revisions carry their instants).
        calendar: Business hours measuring the SLA clock, or ``None`` for real time.
        contact_hours: When the customer may be contacted; customer-facing actions
            triggered outside them are deferred to the next opening. ``None``: any time.
        pauses: Spans waiting on the customer, in order, not overlapping; only the last
            may be open. The clock stops and no rule fires while paused.
        updates: Customer updates (any order; kept sorted). A revision also counts as
            an update (the new date was announced), and so does making the promise.
        progress: Progress reports (kept sorted); used by :class:`BufferZone`.
        past_targets: The internal target of each earlier revision, by revision number
            (``past_targets[0]`` is the original promise's), ``None`` where it had none;
            the current revision's is ``promise.target``. :meth:`revise` keeps it, so
            :class:`BufferZone` judges each revision by its own target and due. Missing
            entries (a promise revised elsewhere) count as "no target".
        completed_at: When the promise was completed or cancelled, or ``None``. No rule
            fires from then on (until :meth:`reopen`).
        inbound: Messages from the customer (any order; kept sorted), see :meth:`receive`.
        reopenings: Earlier closings, each from its ``closed_at`` to its reopening, in
            order (see :meth:`reopen`). The SLA clock stops while closed.
        locale: Language of customer notices: ``"en"`` or ``"fr-CA"`` (aliases such as
            ``"fr"`` or ``"en-US"`` are normalised).
        customer_tz: IANA zone of the customer for notices, or ``None`` (then the zone
            of ``contact_hours``, of ``calendar``, or of the promise's due date).

    Raises:
        InvalidTypeError: A value has the wrong type.
        NaiveDatetimeError: A datetime has no time zone.
        InconsistentRecordError: An event is before ``made_at``, pauses overlap or are
            out of order, a pause other than the last is open, or reopenings overlap or
            follow the completion.

    .. versionadded:: 0.1.0
    """

    promise: Promise = attrs.field()
    calendar: BusinessCalendar | None = attrs.field(default=None, validator=_optional_calendar)
    contact_hours: BusinessCalendar | None = attrs.field(default=None, validator=_optional_calendar)
    pauses: tuple[Pause, ...] = attrs.field(default=(), converter=_convert_pauses)
    updates: tuple[CustomerUpdate, ...] = attrs.field(default=(), converter=_convert_updates)
    progress: tuple[ProgressReport, ...] = attrs.field(default=(), converter=_convert_progress)
    completed_at: datetime | None = attrs.field(default=None, validator=_optional_aware)
    locale: str = attrs.field(default="en", converter=_convert_locale)
    customer_tz: str | None = attrs.field(default=None, converter=_convert_tz)
    past_targets: tuple[datetime | None, ...] = attrs.field(
        default=(), converter=_convert_past_targets
    )
    inbound: tuple[InboundMessage, ...] = attrs.field(default=(), converter=convert_inbound)
    reopenings: tuple[Reopening, ...] = attrs.field(default=(), converter=convert_reopenings)
    _cache: list[Any] = attrs.field(init=False, factory=list, eq=False, repr=False, hash=False)

    @promise.validator
    def _check_promise(self, attribute: attrs.Attribute[Any], value: object) -> None:
        if not isinstance(value, Promise):
            raise InvalidTypeError(
                f"'promise' must be a Promise (got {type(value).__name__} {describe(value)})"
            )

    def __attrs_post_init__(self) -> None:
        made = to_us(self.promise.made_at)
        previous_end: int | None = None
        for index, pause in enumerate(self.pauses):
            start = to_us(pause.start)
            if start < made:
                raise InconsistentRecordError(
                    f"'pauses' must not start before the promise's 'made_at' "
                    f"({self.promise.made_at.isoformat(' ')}) (got pause {index} starting "
                    f"{pause.start.isoformat(' ')})"
                )
            if index and previous_end is None:
                raise InconsistentRecordError(
                    f"'pauses' may leave only the last pause open (got pause {index - 1} "
                    f"without an end, followed by pause {index})"
                )
            if previous_end is not None and start < previous_end:
                raise InconsistentRecordError(
                    f"'pauses' must be in order and must not overlap (got pause {index} "
                    f"starting {pause.start.isoformat(' ')}, before the end of pause "
                    f"{index - 1})"
                )
            previous_end = None if pause.end is None else to_us(pause.end)
        for field, items in (("updates", self.updates), ("progress", self.progress)):
            for item in items:
                if to_us(item.at) < made:
                    raise InconsistentRecordError(
                        f"{field!r} must not be before the promise's 'made_at' "
                        f"({self.promise.made_at.isoformat(' ')}) (got {describe(item)})"
                    )
        self._check_past_targets()
        check_ticket_records(self.promise.made_at, self.inbound, self.reopenings, self.completed_at)
        if self.completed_at is not None and to_us(self.completed_at) < made:
            raise InconsistentRecordError(
                f"'completed_at' must not be before the promise's 'made_at' "
                f"({self.promise.made_at.isoformat(' ')}) "
                f"(got {self.completed_at.isoformat(' ')})"
            )

    def _check_past_targets(self) -> None:
        if not self.past_targets:
            return
        promise = self.promise
        if len(self.past_targets) > promise.revision:
            raise InconsistentRecordError(
                f"'past_targets' must have at most one target per earlier revision "
                f"({promise.revision}) (got {len(self.past_targets)})"
            )
        made = to_us(promise.made_at)
        for number, target in enumerate(self.past_targets):
            if target is None:
                continue
            due = promise.revisions[number].previous_due
            if not made <= to_us(target) <= to_us(due):
                raise InconsistentRecordError(
                    f"'past_targets[{number}]' must be between the promise's 'made_at' "
                    f"({promise.made_at.isoformat(' ')}) and the due of revision {number} "
                    f"({due.isoformat(' ')}) (got {target.isoformat(' ')})"
                )

    def target_at(self, revision: int) -> datetime | None:
        """The internal target of ``revision`` (0 = original), or ``None`` (none, or unknown).

        .. versionadded:: 0.1.0
        """
        current = self.promise.revision
        if revision == current:
            return self.promise.target
        return self.past_targets[revision] if revision < len(self.past_targets) else None

    # ----------------------------------------------------------------- adapters

    @classmethod
    def from_state(
        cls,
        state: LedgerStateLike,
        *,
        calendar: BusinessCalendar | None = None,
        contact_hours: BusinessCalendar | None = None,
        completed_at: datetime | None = None,
        locale: str = "en",
        customer_tz: str | None = None,
    ) -> TrackedPromise:
        """Build a tracked promise from a ledger's promise state, read in full (duck-typed).

        What is read from ``state`` (a :class:`promisekit.ledger.PromiseState` or any
        object with these attributes):

        * ``state.promise`` — the promise with its revisions (each revision's target is
          recovered from the state's events for :class:`BufferZone`, see
          :attr:`past_targets`);
        * ``state.paused_intervals`` (``start``/``end``/``reason``) — the pauses. A pause
          that ended the instant it began (``start == end``: paused and resumed, or
          paused and cancelled, at the same instant) stopped no clock and is dropped;
        * ``state.notifications`` (``at``) — the customer updates;
        * ``state.deliveries`` — the promise is complete at the instant its deliveries
          fulfil it, as the state itself assesses it (``state.assess(moment)
          .completed_at``, ``moment`` the state's ``as_of``, else its last event): no rule
          fires from then on, so a promise delivered early never goes overdue;
        * ``state.cancelled_at`` — a cancellation closes the promise too (the earlier of
          completion and cancellation counts);
        * ``state.events`` — ``message_received`` events are the :attr:`inbound` messages;
          a ``promise_reopened`` event reopens a completed promise (see :attr:`reopenings`),
          and after it the next delivery or cancellation closes it again.

        Args:
            state: The ledger state of the promise.
            calendar: Business hours measuring the SLA clock, or ``None``.
            contact_hours: When the customer may be contacted, or ``None``.
            completed_at: When the promise was closed; given, it overrides what the
                deliveries and the cancellation say.
            locale: Language of customer notices.
            customer_tz: IANA zone of the customer, or ``None``.

        Raises:
            InconsistentRecordError: The state's records contradict each other (pauses
                overlapping…).

        .. versionadded:: 0.1.0
        """
        pauses = [
            Pause(item.start, item.end, reason=getattr(item, "reason", None))
            for item in state.paused_intervals
            if item.end is None or to_us(item.end) != to_us(check_aware("start", item.start))
        ]
        updates = [CustomerUpdate(item.at) for item in state.notifications]
        closed = completed_at
        if closed is None:
            ends = [
                moment
                for moment in (delivered_at(state), getattr(state, "cancelled_at", None))
                if moment is not None
            ]
            closed = min(ends, key=to_us) if ends else None
        inbound, reopenings, closed = ticket_records_of(state, closed)
        if completed_at is not None:
            closed = completed_at
        return cls(
            inbound=inbound,
            reopenings=reopenings,
            past_targets=past_targets_of(state),
            promise=state.promise,
            calendar=calendar,
            contact_hours=contact_hours,
            pauses=pauses,
            updates=updates,
            completed_at=closed,
            locale=locale,
            customer_tz=customer_tz,
        )

    # ----------------------------------------------------------------- events

    @property
    def is_paused(self) -> bool:
        """Whether the last recorded pause is still open.

        .. versionadded:: 0.1.0
        """
        return bool(self.pauses) and self.pauses[-1].end is None

    def pause(self, at: datetime, *, reason: str | None = None) -> TrackedPromise:
        """Return a copy paused from ``at`` (waiting on the customer).

        Raises:
            InconsistentRecordError: The promise is already paused, or ``at`` is before
                the end of the last pause.

        .. versionadded:: 0.1.0
        """
        if self.is_paused:
            raise InconsistentRecordError(
                f"cannot pause at {at.isoformat(' ')}: the promise is already paused since "
                f"{self.pauses[-1].start.isoformat(' ')}"
            )
        return attrs.evolve(self, pauses=(*self.pauses, Pause(at, reason=reason)))

    def resume(self, at: datetime) -> TrackedPromise:
        """Return a copy whose open pause ends at ``at``.

        A pause resumed the instant it began (pending then open in the same second of a
        helpdesk history) stopped no clock: it is dropped rather than kept empty.

        Raises:
            InconsistentRecordError: The promise is not paused.

        .. versionadded:: 0.1.0
        """
        if not self.is_paused:
            raise InconsistentRecordError(
                f"cannot resume at {at.isoformat(' ')}: the promise is not paused"
            )
        last = self.pauses[-1]
        if to_us(check_aware("at", at)) == to_us(last.start):
            return attrs.evolve(self, pauses=self.pauses[:-1])
        return attrs.evolve(
            self, pauses=(*self.pauses[:-1], Pause(last.start, at, reason=last.reason))
        )

    def notify(self, at: datetime, kind: str | None = None) -> TrackedPromise:
        """Return a copy recording a customer update at ``at``.

        .. versionadded:: 0.1.0
        """
        return attrs.evolve(self, updates=(*self.updates, CustomerUpdate(at, kind)))

    def receive(
        self, at: datetime, *, channel: str | None = None, resume: bool = False
    ) -> TrackedPromise:
        """Return a copy recording a message *from* the customer at ``at``.

        Unlike :meth:`notify` (a message to the customer) it does not reset
        :class:`Silence`. With ``resume=True`` a pause still open is ended at ``at`` (the
        customer answered what the promise was waiting on).

        .. versionadded:: 0.1.0
        """
        track = self.resume(at) if resume and self.is_paused else self
        message = InboundMessage(at, channel)
        return attrs.evolve(track, inbound=(*track.inbound, message))

    def report_progress(self, at: datetime, fraction: float) -> TrackedPromise:
        """Return a copy recording that ``fraction`` of the work was done at ``at``.

        .. versionadded:: 0.1.0
        """
        return attrs.evolve(self, progress=(*self.progress, ProgressReport(at, fraction)))

    def revise(
        self,
        *,
        due: datetime,
        at: datetime,
        reason: str | None = None,
        target: datetime | None = None,
    ) -> TrackedPromise:
        """Return a copy whose promise is revised (see :meth:`Promise.revise`).

        .. versionadded:: 0.1.0
        """
        current = self.promise
        promise = current.revise(due=due, at=at, reason=reason, target=target)
        known = self.past_targets + (None,) * (current.revision - len(self.past_targets))
        return attrs.evolve(self, promise=promise, past_targets=(*known, current.target))

    def complete(self, at: datetime) -> TrackedPromise:
        """Return a copy completed (or cancelled) at ``at``: no rule fires from then on.

        .. versionadded:: 0.1.0
        """
        return attrs.evolve(self, completed_at=at)

    def reopen(self, at: datetime) -> TrackedPromise:
        """Return a copy of a completed promise reopened at ``at``.

        The SLA clock stood still while closed and runs again from ``at``, keeping the
        time already used; rules fire again from ``at``.

        Raises:
            InconsistentRecordError: The promise is not completed.
            InvalidValueError: ``at`` is before the completion.

        .. versionadded:: 0.1.0
        """
        if self.completed_at is None:
            raise InconsistentRecordError(
                f"cannot reopen at {check_aware('at', at).isoformat(' ')}: the promise is "
                f"not completed"
            )
        reopening = Reopening(self.completed_at, at)
        return attrs.evolve(self, completed_at=None, reopenings=(*self.reopenings, reopening))

    # ----------------------------------------------------------------- clock

    @property
    def zone(self) -> tzinfo:
        """Zone of the datetimes the engine returns: the calendar's, else the due's.

        .. versionadded:: 0.1.0
        """
        if self.calendar is not None:
            return self.calendar.zone
        tz = self.promise.due.tzinfo
        return tz if tz is not None else _UTC

    @property
    def customer_zone(self) -> tzinfo:
        """Zone used to write dates in customer notices.

        ``customer_tz``, else the zone of ``contact_hours``, else :attr:`zone`.

        .. versionadded:: 0.1.0
        """
        if self.customer_tz is not None:
            return ZoneInfo(self.customer_tz)
        if self.contact_hours is not None:
            return self.contact_hours.zone
        return self.zone

    def elapsed(self, at: datetime) -> timedelta:
        """SLA-clock time from ``made_at`` to ``at`` (working time, pauses excluded).

        .. versionadded:: 0.1.0
        """
        instant = to_us(check_aware("at", at))
        return timedelta(microseconds=timeline(self).clock_at(instant))

    def is_paused_at(self, at: datetime) -> bool:
        """Whether the SLA clock is paused at ``at`` (a closing later reopened counts).

        .. versionadded:: 0.1.0
        """
        return timeline(self).paused_at(to_us(check_aware("at", at)))

    def effective_due(self, at: datetime | None = None) -> datetime:
        """The due date in force at ``at``, extended by the pause time known at ``at``.

        With ``at=None``, the latest due extended by every recorded pause. While the
        promise is paused, the pause is counted up to ``at`` only.

        .. versionadded:: 0.1.0
        """
        instant = None if at is None else to_us(check_aware("at", at))
        return from_us(timeline(self).effective_due(instant), self.zone)

    def promise_at(self, revision: int) -> Promise:
        """The promise as it stood in ``revision`` (0 = original).

        .. versionadded:: 0.1.0
        """
        if isinstance(revision, bool) or not isinstance(revision, int):
            raise InvalidTypeError(
                f"'revision' must be an int (got {type(revision).__name__} {describe(revision)})"
            )
        current = self.promise
        if not 0 <= revision <= current.revision:
            raise InvalidValueError(
                f"'revision' must be between 0 and {current.revision} (got {describe(revision)})"
            )
        if revision == current.revision:
            return current
        due = current.revisions[revision].previous_due
        return attrs.evolve(
            current,
            due=due,
            target=self.target_at(revision),
            revisions=current.revisions[:revision],
        )
