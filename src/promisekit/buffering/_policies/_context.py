"""The quote context: what a policy sees (start, target, capability, calendar)."""

from __future__ import annotations

from datetime import datetime, timedelta, tzinfo

from promisekit.buffering._capability._protocol import Capability
from promisekit.buffering._common import (
    Clock,
    td_us,
    to_us,
    us_td,
)
from promisekit.calendar import BusinessCalendar


class QuoteContext:
    """What a policy knows while quoting: start, internal target, capability, calendar.

    Policies receive it; they do not build it. All its arithmetic goes through
    the calendar when there is one (business time) and through UTC otherwise,
    and every datetime it returns is in :attr:`zone`.

    The keyword-only constructor arguments ``clock`` and ``start_us`` are private
    (the backtest passes a precomputed clock).

    Attributes:
        start: When the work was requested, in :attr:`zone`.
        target: The internal target: ``start`` plus :attr:`target_window`.
        target_window: The capability's median (or point estimate).
        capability: The capability being quoted.
        calendar: The business calendar, or ``None`` (real time).

    .. versionadded:: 0.1.0
    """

    __slots__ = (
        "_at",
        "_clock",
        "_instants",
        "_windows",
        "calendar",
        "capability",
        "start",
        "target",
        "target_window",
    )

    def __init__(
        self,
        start: datetime,
        capability: Capability,
        calendar: BusinessCalendar | None,
        *,
        clock: Clock | None = None,
        start_us: int | None = None,
    ) -> None:
        self._clock = Clock(calendar, start) if clock is None else clock
        self._at: dict[int, datetime] = {}
        self._windows: dict[int, int] = {}
        # id(datetime) -> (datetime, instant µs) for the datetimes this context made;
        # holding the object keeps its id from being reused.
        self._instants: dict[int, tuple[datetime, int]] = {}
        self.calendar = calendar
        self.capability = capability
        self.start = self._remember(
            self._clock.local(start), to_us(start) if start_us is None else start_us
        )
        self.target_window = capability.median()
        self.target = self.at(self.target_window)

    def __repr__(self) -> str:
        return (
            f"QuoteContext(start={self.start.isoformat()}, target={self.target.isoformat()}, "
            f"capability={self.capability!r}, calendar={self.calendar!r})"
        )

    def _remember(self, moment: datetime, instant: int) -> datetime:
        self._instants[id(moment)] = (moment, instant)
        return moment

    def _instant_us(self, moment: datetime) -> int:
        """Microseconds since the epoch of ``moment`` (cached; private API)."""
        known = self._instants.get(id(moment))
        if known is not None and known[0] is moment:
            return known[1]
        return to_us(moment)

    @property
    def zone(self) -> tzinfo:
        """The zone of every returned datetime (the calendar's, else the start's).

        .. versionadded:: 0.1.0
        """
        return self._clock.zone

    @property
    def business(self) -> bool:
        """Whether durations are business time (a calendar is in use).

        .. versionadded:: 0.1.0
        """
        return self.calendar is not None

    def at(self, window: timedelta) -> datetime:
        """``start`` plus ``window`` (>= 0) of business (or real) time.

        .. versionadded:: 0.1.0
        """
        key = td_us(window)
        cached = self._at.get(key)
        if cached is None:
            start = self.start
            cached, instant = self._clock.add_us(start, self._instant_us(start), key)
            self._at[key] = self._remember(cached, instant)
            self._windows[instant] = key
        return cached

    def advance(self, moment: datetime, work: timedelta) -> datetime:
        """``moment`` plus ``work`` (>= 0) of business (or real) time.

        .. versionadded:: 0.1.0
        """
        result, instant = self._clock.add_us(moment, self._instant_us(moment), td_us(work))
        return self._remember(result, instant)

    def later(self, a: datetime, b: datetime) -> datetime:
        """The later of two instants (``a`` on a tie).

        .. versionadded:: 0.1.0
        """
        return a if self._instant_us(a) >= self._instant_us(b) else b

    def window(self, due: datetime) -> timedelta:
        """Business (or real) time from ``start`` to ``due``: the promised window.

        .. versionadded:: 0.1.0
        """
        return us_td(self._window_us(due))

    def _window_us(self, due: datetime) -> int:
        """:meth:`window` in microseconds (private API)."""
        instant = self._instant_us(due)
        known = self._windows.get(instant)
        if known is not None:
            return known
        start = self.start
        return self._clock.span_us(start, self._instant_us(start), due, instant)
