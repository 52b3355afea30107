"""The timeline of a tracked promise: spans of constant recorded state, and the SLA clock.

A promise's life is cut at every recorded event (a pause or a resume, a revision, a customer
update, a progress report, the completion) into :class:`Segment` s, spans ``[lo, hi)`` during
which the recorded state is constant. Each segment knows the SLA clock at its start, the
window and due date of the revision in force (and its internal target), whether the promise
is paused or closed, the last contact and the progress — everything a trigger needs to say
exactly when it is true, and everything the engine needs to evaluate a span.

**The SLA clock.** Elapsed, remaining, overdue and silence are measured on one clock: working
time of the track's calendar (real time without one), stopped while the promise is paused
and while it was closed before a reopening (such a closing counts as a pause: the due date
moves with it; the final completion stops nothing, since no rule fires after it). A
due date announced at instant ``A`` (the promise itself, or a revision) is reached when the
clock has run ``calendar.between(A, due)`` after ``A`` — so pause time after the announcement
extends the due date exactly as ``calendar.add`` would, and elapsed history is never lost on a
revision (the clock keeps counting from ``made_at``).

This module is the one place where the timeline is built and read: :mod:`._track` (the
records), :mod:`._triggers` and :mod:`._engine` all ask it. It imports only :mod:`._time`
(the track is read through its attributes, never imported).
"""

from __future__ import annotations

from bisect import bisect_right
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from promisekit.escalation._time import INF, from_us, td_us, to_us

if TYPE_CHECKING:
    from promisekit.calendar import BusinessCalendar
    from promisekit.escalation._track import TrackedPromise

__all__ = ["Segment", "Timeline", "reach", "span", "timeline"]

_UTC = timezone.utc


def span(calendar: BusinessCalendar | None, a: int, b: int) -> int:
    """Working time (µs) from instant ``a`` to instant ``b`` (``b - a`` without calendar)."""
    if calendar is None:
        return b - a
    return td_us(calendar.between(from_us(a, _UTC), from_us(b, _UTC)))


def reach(calendar: BusinessCalendar | None, start: int, work: int) -> int:
    """The earliest instant ``t >= start`` with ``work`` µs of working time in ``[start, t]``."""
    if work <= 0:
        return start
    if calendar is None:
        return start + work
    if start + work >= INF:
        return INF
    return to_us(calendar.add(from_us(start, _UTC), timedelta(microseconds=work)))


class Segment:
    """A span ``[lo, hi)`` of a promise's life during which its recorded state is constant.

    Attributes (integer µs): ``lo``, ``hi``; ``c0`` the SLA clock at ``lo``; ``revision``
    in force, announced at ``rev_start``, with its ``window`` (the clock value at which it
    is due), its literal due date ``deadline`` and internal ``target`` (or ``None``);
    ``paused``, ``closed``; ``contact`` the clock at the last customer contact;
    ``progress`` the last reported fraction; ``track`` the tracked promise.
    """

    __slots__ = (
        "c0",
        "calendar",
        "closed",
        "contact",
        "deadline",
        "hi",
        "index",
        "lo",
        "paused",
        "progress",
        "rev_start",
        "revision",
        "target",
        "timeline",
        "track",
        "window",
    )

    c0: int
    revision: int
    rev_start: int
    window: int
    paused: bool
    closed: bool
    contact: int
    progress: float
    deadline: int
    target: int | None

    def __init__(
        self, timeline: Timeline, index: int, lo: int, hi: int, row: tuple[Any, ...]
    ) -> None:
        self.timeline = timeline
        self.track = timeline.track
        self.calendar = timeline.calendar
        self.index = index
        self.lo = lo
        self.hi = hi
        (
            self.c0,
            self.revision,
            self.rev_start,
            self.window,
            self.paused,
            self.closed,
            self.contact,
            self.progress,
            self.deadline,
            self.target,
        ) = row

    def clock(self, instant: int) -> int:
        """The SLA clock (µs since ``made_at``) at ``instant`` within the segment."""
        if self.paused or instant <= self.lo:
            return self.c0
        return self.c0 + span(self.calendar, self.lo, instant)

    def reach(self, value: int) -> int:
        """The first instant ``>= lo`` at which the clock reaches ``value`` (INF: never).

        A value at or past the window is never reached before the due date itself: a due
        date set outside working hours (08:00 before a 09:00 opening) is not overdue at the
        previous closing, although no working time separates them.
        """
        if value <= self.c0:
            moment = self.lo
        elif self.paused:
            return INF
        else:
            moment = reach(self.calendar, self.lo, value - self.c0)
        if value >= self.window and moment < self.deadline:
            moment = self.deadline
        return moment

    def due(self) -> int:
        """The instant the clock reached (or will reach) the window of the revision in force.

        When it was reached in an earlier segment, that earlier instant; while paused before
        reaching it, ``INF`` (the due date moves with the pause).
        """
        window = self.window
        if self.c0 < window or self.lo <= self.deadline:
            return self.reach(window)
        tl = self.timeline
        rows = tl.rows
        j = self.index - 1
        while j >= 0 and rows[j][1] == self.revision and rows[j][0] >= window:
            j -= 1
        if j < 0 or rows[j][1] != self.revision:
            return max(tl.starts[j + 1], self.deadline)
        return Segment(tl, j, tl.starts[j], tl.starts[j + 1], rows[j]).reach(window)

    def after(self, value: int) -> list[tuple[int, int]]:
        """The part of the segment where the clock is ``>= value``, as an interval list."""
        start = self.reach(value)
        return [(start, self.hi)] if start < self.hi else []


# Order of events at the same instant: a pause ends before another starts, a customer's
# message comes before the reply to it. Closings and reopenings share one kind: the sort is
# stable, so at one instant they keep the order in which they are listed (chronological).
_RESUME, _PAUSE, _REVISE, _INBOUND, _UPDATE, _PROGRESS, _CLOSE = range(7)
_REOPEN = "reopen"


class Timeline:
    """The piecewise-constant state of a tracked promise over time (cached on the track)."""

    __slots__ = ("calendar", "extra", "last_event", "rows", "starts", "track")

    def __init__(self, track: TrackedPromise) -> None:
        self.track = track
        #: Derived tables cached with the timeline (named SLA clocks).
        self.extra: dict[Any, Any] = {}
        self.calendar = calendar = track.calendar
        promise = track.promise
        made = to_us(promise.made_at)
        if not (
            track.pauses
            or promise.revisions
            or track.updates
            or track.progress
            or track.completed_at is not None
            or track.inbound
            or track.reopenings
        ):
            # Nothing happened yet (most open promises): one segment, built directly.
            deadline = to_us(promise.due)
            target = None if promise.target is None else to_us(promise.target)
            window = span(calendar, made, deadline)
            self.starts = [made]
            self.rows = [(0, 0, made, window, False, False, 0, 0.0, deadline, target)]
            self.last_event = made
            return
        events: list[tuple[int, int, Any]] = []
        for pause in track.pauses:  # (most tracks have no events: these loops are empty)
            events.append((to_us(pause.start), _PAUSE, None))
            if pause.end is not None:
                events.append((to_us(pause.end), _RESUME, None))
        for change in promise.revisions:
            events.append((to_us(change.at), _REVISE, change))
        for update in track.updates:
            events.append((to_us(update.at), _UPDATE, None))
        for report in track.progress:
            events.append((to_us(report.at), _PROGRESS, report.fraction))
        for message in track.inbound:
            events.append((to_us(message.at), _INBOUND, None))
        for reopening in track.reopenings:
            events.append((to_us(reopening.closed_at), _CLOSE, True))
            events.append((to_us(reopening.at), _CLOSE, _REOPEN))
        if track.completed_at is not None:
            events.append((to_us(track.completed_at), _CLOSE, None))
        if len(events) > 1:
            events.sort(key=lambda event: (event[0], event[1]))
        deadline = to_us(promise.original_due)
        window = span(calendar, made, deadline)
        # row: c0, revision, rev_start, window, paused, closed, contact, progress, deadline,
        # target (of the revision in force, µs or None)
        c0, revision, rev_start, contact, progress = 0, 0, made, 0, 0.0
        paused = closed = suspended = False
        target = _us_or_none(track.target_at(0))
        starts = [made]
        rows: list[tuple[Any, ...]] = []
        lo = made
        for instant, kind, payload in events:
            if instant > lo:
                rows.append(
                    (
                        c0,
                        revision,
                        rev_start,
                        window,
                        paused or suspended,
                        closed,
                        contact,
                        progress,
                        deadline,
                        target,
                    )
                )
                if not (paused or suspended):
                    c0 += span(calendar, lo, instant)
                lo = instant
                starts.append(lo)
            if kind == _PAUSE:
                paused = True
            elif kind == _RESUME:
                paused = False
            elif kind == _REVISE:
                revision = payload.number
                rev_start = instant
                deadline = to_us(payload.due)
                target = _us_or_none(track.target_at(revision))
                window = c0 + span(calendar, instant, deadline)
                contact = c0
            elif kind == _UPDATE:
                contact = c0
            elif kind == _PROGRESS:
                progress = payload
            elif kind == _CLOSE:
                if payload == _REOPEN:
                    closed = suspended = False
                else:
                    closed = True
                    suspended = payload is True
        rows.append(
            (
                c0,
                revision,
                rev_start,
                window,
                paused or suspended,
                closed,
                contact,
                progress,
                deadline,
                target,
            )
        )
        self.starts = starts
        self.rows = rows
        self.last_event = starts[-1]

    def segment_at(self, instant: int, *, extend: bool = False) -> Segment | None:
        """The segment containing ``instant`` (``None`` before ``made_at``).

        With ``extend``, the segment is taken to last forever (state as of ``instant``).
        """
        index = bisect_right(self.starts, instant) - 1
        if index < 0:
            return None
        hi = INF if extend or index + 1 == len(self.starts) else self.starts[index + 1]
        return Segment(self, index, self.starts[index], hi, self.rows[index])

    def segment(self, index: int) -> Segment:
        """The ``index``-th segment (the last one lasts forever)."""
        starts = self.starts
        hi = starts[index + 1] if index + 1 < len(starts) else INF
        return Segment(self, index, starts[index], hi, self.rows[index])

    def open_from(self, start: int) -> range:
        """Indices of the segments overlapping ``[start, INF)``, in order."""
        return range(max(bisect_right(self.starts, start) - 1, 0), len(self.starts))

    def revision_at(self, instant: int) -> int | None:
        """The revision in force at ``instant`` (``None`` before ``made_at``)."""
        index = bisect_right(self.starts, instant) - 1
        return None if index < 0 else int(self.rows[index][1])

    def is_open(self, index: int) -> bool:
        """Whether rules may fire in the ``index``-th segment (neither paused nor closed)."""
        row = self.rows[index]
        return not (row[4] or row[5])

    def revision_of(self, index: int) -> int:
        """The revision in force in the ``index``-th segment."""
        return int(self.rows[index][1])

    def segments(self, lo: int, hi: int, *, as_of: int | None = None) -> list[Segment]:
        """The segments overlapping ``[lo, hi)``; with ``as_of``, ignore later events."""
        starts = self.starts
        first = max(bisect_right(starts, lo) - 1, 0)
        last = len(starts) if as_of is None else bisect_right(starts, as_of)
        result = []
        for index in range(first, last):
            seg_lo = starts[index]
            if seg_lo >= hi:
                break
            seg_hi = INF if index + 1 >= last else starts[index + 1]
            if seg_hi <= lo:
                continue
            result.append(Segment(self, index, seg_lo, seg_hi, self.rows[index]))
        return result

    # ----------------------------------------------------------------- readings

    def clock_at(self, instant: int) -> int:
        """The SLA clock (µs since ``made_at``) at ``instant`` (0 before ``made_at``)."""
        segment = self.segment_at(instant)
        return 0 if segment is None else segment.clock(instant)

    def paused_at(self, instant: int) -> bool:
        """Whether the promise is paused at ``instant``."""
        segment = self.segment_at(instant)
        return segment is not None and segment.paused

    def effective_due(self, instant: int | None = None) -> int:
        """The due instant in force at ``instant``, extended by the pauses known then.

        ``None``: the latest due, extended by every recorded pause. While paused before the
        due is reached, the pause counts up to ``instant`` only (the due moves with it).
        """
        at = self.last_event if instant is None else instant
        segment = self.segment_at(max(at, self.starts[0]), extend=True)
        assert segment is not None
        if segment.paused and segment.c0 < segment.window:
            moment = max(at, segment.lo)
            due = reach(self.calendar, moment, segment.window - segment.c0)
            return max(due, segment.deadline)
        return segment.due()


def _us_or_none(moment: datetime | None) -> int | None:
    return None if moment is None else to_us(moment)


def timeline(track: TrackedPromise) -> Timeline:
    """The (cached) timeline of a tracked promise."""
    cache = track._cache
    if cache:
        result: Timeline = cache[0]
        return result
    built = Timeline(track)
    cache.append(built)
    return built
