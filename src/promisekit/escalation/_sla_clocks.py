"""Named SLA clocks on one ticket: first response, next response, update, resolution.

A ticket (a :class:`~._track.TrackedPromise`) carries its messages both ways (customer
updates out, :class:`~._messages.InboundMessage` in), its pauses and its closings and
reopenings. An :class:`SlaClock` reads them as a helpdesk does: each *kind* of clock starts,
stops and restarts on its own events, and counts business time toward its own ``target``.

The clock's value is computed per segment of the ticket's timeline (which cuts at every
recorded event, messages included), so within a segment it is either constant or grows as
the calendar's working time: the first instant it reaches a value is found in closed form
through ``BusinessCalendar.add`` (:func:`._timeline.reach`), exactly as the main SLA clock.
Imports :mod:`._timeline`, :mod:`._time` and :mod:`._track` (types only).
"""

from __future__ import annotations

import re
from bisect import bisect_right
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import attrs

from promisekit._validation import check_aware, describe
from promisekit.calendar import BusinessCalendar
from promisekit.errors import InvalidTypeError, InvalidValueError
from promisekit.escalation._time import from_us, parse_duration, td_us, to_us
from promisekit.escalation._timeline import Timeline, reach, span, timeline

if TYPE_CHECKING:
    from promisekit.escalation._track import TrackedPromise

__all__ = ["CLOCK_KINDS", "ROUNDINGS", "ClockReading", "SlaClock", "clock_table", "round_up"]

#: The kinds of clock: what starts, stops and restarts each.
CLOCK_KINDS = ("first_response", "next_response", "update", "resolution")
#: How clock readings are counted: ``"exact"`` (to the microsecond) or ``"minute"``.
ROUNDINGS = ("exact", "minute")
_MINUTE = 60_000_000
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
#: Words a clock may not be named (keywords and measures of the condition language).
RESERVED = frozenset({"and", "or", "not", "remaining", "elapsed", "overdue", "breached"})


def _check_name(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, str) or not _NAME.match(value) or value in RESERVED:
        raise InvalidValueError(
            f"'name' must be lowercase letters, digits and '_', starting with a letter, and "
            f"not one of {', '.join(sorted(RESERVED))} (got {describe(value)})"
        )


def _choice(field: str, value: object, choices: tuple[str, ...]) -> str:
    if not isinstance(value, str) or value not in choices:
        raise InvalidValueError(
            f"{field!r} must be one of {', '.join(choices)} (got {describe(value)})"
        )
    return value


def _convert_kind(value: object) -> str:
    return _choice("kind", value, CLOCK_KINDS)


def _convert_rounding(value: object) -> str:
    return _choice("rounding", value, ROUNDINGS)


def _convert_on_reopen(value: object) -> str:
    return _choice("on_reopen", value, ("keep", "restart"))


def _convert_target(value: object) -> timedelta:
    if isinstance(value, str):
        try:
            value = parse_duration(value)
        except InvalidValueError as exc:
            raise InvalidValueError(f"'target': {exc}") from None
    if not isinstance(value, timedelta):
        raise InvalidTypeError(
            f"'target' must be a timedelta or a duration such as '4h' "
            f"(got {type(value).__name__} {describe(value)})"
        )
    if value <= timedelta(0):
        raise InvalidValueError(f"'target' must be a positive duration (got {describe(value)})")
    return value


def _check_bool(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, bool):
        raise InvalidTypeError(
            f"{describe(attribute.name)} must be True or False "
            f"(got {type(value).__name__} {describe(value)})"
        )


def _check_restart(instance: Any, attribute: attrs.Attribute[Any], value: bool) -> None:
    if not value and instance.kind != "next_response":
        raise InvalidValueError(
            f"'restart_on_inbound' is for next_response clocks (got False on a "
            f"{instance.kind} clock, where it would change nothing)"
        )


def _check_reopen(instance: Any, attribute: attrs.Attribute[Any], value: str) -> None:
    if value != "keep" and instance.kind != "resolution":
        raise InvalidValueError(
            f"'on_reopen' is for resolution clocks (got {describe(value)} on a "
            f"{instance.kind} clock, where it would change nothing)"
        )


def _check_calendar(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is not None and not isinstance(value, BusinessCalendar):
        raise InvalidTypeError(
            f"'calendar' must be a BusinessCalendar or None "
            f"(got {type(value).__name__} {describe(value)})"
        )


def round_up(value: int, rounding: str) -> int:
    """The smallest exact clock value whose reading (under ``rounding``) is ``>= value``."""
    if rounding == "minute" and value > 0:
        return -(-value // _MINUTE) * _MINUTE
    return value


@attrs.frozen
class ClockReading:
    """What an :class:`SlaClock` of a ticket reads at an instant.

    Attributes:
        name: The clock's name.
        active: Whether the clock is started and not stopped (``first_response`` stops at
            the first reply, ``next_response`` waits for a customer message).
        running: Whether it counts time now (active, the ticket open, and not paused when
            the clock stops while paused).
        elapsed: Business time counted (whole minutes with ``rounding="minute"``).
        remaining: ``target - elapsed`` (negative once breached).
        breached: Whether ``elapsed >= target``.
        due: When it reached the target (breached), when it will (running, assuming nothing
            else happens), or ``None`` (not active, or stopped for now: the due moves).

    .. versionadded:: 0.1.0
    """

    name: str
    active: bool
    running: bool
    elapsed: timedelta
    remaining: timedelta
    breached: bool
    due: datetime | None


@attrs.frozen
class SlaClock:
    """A named SLA clock of a ticket, with its target in business time.

    Kinds (what starts, stops and restarts the clock):

    * ``"first_response"`` — runs from ``made_at``; the first message to the customer
      (:meth:`TrackedPromise.notify`) stops it for good.
    * ``"next_response"`` — each customer message (:meth:`TrackedPromise.receive`)
      restarts it from zero (with ``restart_on_inbound=False``: starts it only when it is
      not already running, so it measures from the oldest unanswered message); a message
      to the customer stops it.
    * ``"update"`` — runs from ``made_at`` and restarts from zero on every message, either
      way (time since anyone last spoke).
    * ``"resolution"`` — runs from ``made_at`` until the ticket is completed; a reopening
      runs it again keeping the time used (``on_reopen="restart"``: from zero).

    Every clock stands still while the ticket is closed; with ``pauses=True`` (the
    default) also while it is paused (pending, waiting on the customer). Messages at the
    same instant: the customer's comes first, then the reply.

    Attributes:
        name: How conditions name it (``"next_response"``); lowercase, digits, ``_``.
        kind: One of :data:`CLOCK_KINDS`.
        target: Business time allowed (a ``timedelta`` or ``"4h"``), positive.
        pauses: Whether it stands still while the ticket is paused.
        calendar: Business hours it counts, or ``None`` for the ticket's calendar.
        rounding: ``"exact"`` (default) or ``"minute"``: readings count whole minutes
            (floored), so a threshold is reached at the next whole minute of clock time.
        restart_on_inbound: ``next_response`` only: restart on every customer message
            (``False`` on another kind is an error: it would change nothing).
        on_reopen: ``resolution`` only: ``"keep"`` the time used, or ``"restart"``
            (``"restart"`` on another kind is an error).

    Raises:
        InvalidValueError: A value is out of range (the message names the field).
        InvalidTypeError: A value has the wrong type.

    .. versionadded:: 0.1.0
    """

    name: str = attrs.field(validator=_check_name)
    kind: str = attrs.field(converter=_convert_kind)
    target: timedelta = attrs.field(converter=_convert_target)
    pauses: bool = attrs.field(default=True, kw_only=True, validator=_check_bool)
    calendar: BusinessCalendar | None = attrs.field(
        default=None, kw_only=True, validator=_check_calendar
    )
    rounding: str = attrs.field(default="exact", kw_only=True, converter=_convert_rounding)
    restart_on_inbound: bool = attrs.field(
        default=True, kw_only=True, validator=[_check_bool, _check_restart]
    )
    on_reopen: str = attrs.field(
        default="keep", kw_only=True, converter=_convert_on_reopen, validator=_check_reopen
    )

    def calendar_of(self, track: TrackedPromise) -> BusinessCalendar | None:
        """The calendar the clock counts on ``track``: its own, else the track's.

        .. versionadded:: 0.1.0
        """
        return self.calendar if self.calendar is not None else track.calendar

    def reading(self, track: TrackedPromise, at: datetime) -> ClockReading:
        """What the clock reads on ``track`` at ``at`` (events after ``at`` ignored).

        .. versionadded:: 0.1.0
        """
        instant = to_us(check_aware("at", at))
        tl = timeline(track)
        target = td_us(self.target)
        index = _index_at(tl, instant)
        if index < 0:
            return ClockReading(self.name, False, False, timedelta(0), self.target, False, None)
        table = clock_table(track, self)
        active, e0, running = table[index]
        calendar = self.calendar_of(track)
        lo = tl.starts[index]
        value = e0 + (span(calendar, lo, instant) if running and instant > lo else 0)
        shown = value - value % _MINUTE if self.rounding == "minute" else value
        goal = round_up(target, self.rounding)
        due: int | None = None
        if active and value >= goal:
            due = _reached(tl, table, index, goal, calendar)
        elif running:
            due = reach(calendar, instant, goal - value)
        return ClockReading(
            name=self.name,
            active=active,
            running=running,
            elapsed=timedelta(microseconds=shown),
            remaining=timedelta(microseconds=target - shown),
            breached=active and value >= goal,
            due=None if due is None else from_us(due, track.zone),
        )

    def retarget(
        self,
        track: TrackedPromise,
        at: datetime,
        *,
        target: timedelta | str | None = None,
        calendar: BusinessCalendar | None = None,
        recompute: bool = True,
    ) -> SlaClock:
        """The clock after its target or calendar changed at ``at`` (a new SLA, new hours).

        With ``recompute=True`` (the default) the clock is simply redefined: its whole
        history is measured again under the new calendar and compared with the new target,
        so its due date is recomputed from the target. With ``recompute=False`` the due
        date announced at ``at`` is kept: the returned clock's target is set so that, under
        the new calendar, the current run still reaches it at the same instant (when the
        clock is not running at ``at``, the remaining time is kept instead). The adjusted
        target also applies to later runs (a ``next_response`` clock restarted by the next
        customer message): retarget again then if that is not wanted.

        Raises:
            InvalidValueError: A bad target; InvalidTypeError: a bad calendar or flag.

        .. versionadded:: 0.1.0
        """
        if not isinstance(recompute, bool):
            raise InvalidTypeError(
                f"'recompute' must be True or False "
                f"(got {type(recompute).__name__} {describe(recompute)})"
            )
        changes: dict[str, Any] = {}
        if target is not None:
            changes["target"] = target
        if calendar is not None:
            changes["calendar"] = calendar
        new = attrs.evolve(self, **changes)
        if recompute:
            return new
        before = self.reading(track, at)
        after = new.reading(track, at)
        if not before.active or before.breached:
            return new
        if before.due is not None and before.running:
            left = span(new.calendar_of(track), to_us(at), to_us(before.due))
            kept = td_us(after.elapsed) + left
        else:
            kept = td_us(after.elapsed) + td_us(before.remaining)
        return attrs.evolve(new, target=timedelta(microseconds=max(kept, 1)))


def _index_at(tl: Timeline, instant: int) -> int:
    return bisect_right(tl.starts, instant) - 1


def _reached(
    tl: Timeline,
    table: list[tuple[bool, int, bool]],
    index: int,
    goal: int,
    calendar: BusinessCalendar | None,
) -> int:
    """The instant the current run of the clock reached ``goal`` (it has, by ``index``)."""
    first = index
    while first > 0 and table[first - 1][0] and table[first - 1][1] <= table[first][1]:
        first -= 1
    for k in range(first, index + 1):
        _, e0, running = table[k]
        if e0 >= goal:
            return tl.starts[k]
        if running:
            moment = reach(calendar, tl.starts[k], goal - e0)
            if k == index or moment < tl.starts[k + 1]:
                return moment
    return tl.starts[index]  # pragma: no cover - the goal was reached by ``index``


# Event orders at one instant: a customer's message, then the reply, then a reopening.
_INBOUND, _OUTBOUND, _REOPEN = range(3)


def clock_table(track: TrackedPromise, clock: SlaClock) -> list[tuple[bool, int, bool]]:
    """Per segment of the track's timeline: ``(active, value at its start, running)``.

    Cached on the timeline (keyed by the clock object).
    """
    tl = timeline(track)
    cache = tl.extra
    key = id(clock)
    hit = cache.get(key)
    if hit is not None and hit[0] is clock:
        result: list[tuple[bool, int, bool]] = hit[1]
        return result
    table = _build(tl, track, clock)
    cache[key] = (clock, table)
    return table


def _build(tl: Timeline, track: TrackedPromise, clock: SlaClock) -> list[tuple[bool, int, bool]]:
    events = [(to_us(m.at), _INBOUND) for m in track.inbound]
    events += [(to_us(u.at), _OUTBOUND) for u in track.updates]
    events += [(to_us(r.at), _REOPEN) for r in track.reopenings]
    events.sort()
    kind = clock.kind
    calendar = clock.calendar_of(track)
    active = kind != "next_response"
    value = 0
    starts, rows = tl.starts, tl.rows
    table: list[tuple[bool, int, bool]] = []
    j = 0
    for i, lo in enumerate(starts):
        while j < len(events) and events[j][0] <= lo:
            what = events[j][1]
            j += 1
            if what == _INBOUND:
                if kind == "update" or (
                    kind == "next_response" and (clock.restart_on_inbound or not active)
                ):
                    value, active = 0, True
            elif what == _OUTBOUND:
                if kind in ("first_response", "next_response"):
                    active = False
                elif kind == "update":
                    value = 0
            elif kind == "resolution" and clock.on_reopen == "restart":
                value = 0
        paused, closed = rows[i][4], rows[i][5]
        running = active and not closed and not (paused and clock.pauses)
        table.append((active, value, running))
        if running and i + 1 < len(starts):
            value += span(calendar, lo, starts[i + 1])
    return table
