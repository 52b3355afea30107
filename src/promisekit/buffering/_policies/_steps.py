"""The built-in policy steps: buffers, quantiles, rounding, caps and floors."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Literal

import attrs

from promisekit._validation import check_duration, check_finite, describe
from promisekit.buffering._capability._protocol import Capability
from promisekit.buffering._common import (
    check_count,
    check_probability,
    fmt_duration,
    fmt_quantile,
    round_up_wall,
    td_us,
    to_us,
    us_td,
)
from promisekit.buffering._policies._base import BufferPolicy
from promisekit.buffering._policies._context import QuoteContext
from promisekit.errors import InsufficientDataError, InvalidValueError


@attrs.frozen(slots=True)
class NoBuffer(BufferPolicy):
    """Promise the internal target itself (no buffer): the baseline of a backtest.

    .. versionadded:: 0.1.0
    """

    def apply(self, context: QuoteContext, due: datetime) -> datetime:
        """Return ``due`` unchanged.

        .. versionadded:: 0.1.0
        """
        return due

    def __str__(self) -> str:
        return "NoBuffer()"


def _convert_delta(value: Any) -> timedelta:
    return check_duration("delta", value)


@attrs.frozen(slots=True)
class FixedBuffer(BufferPolicy):
    """Add a fixed amount of (business) time to the due.

    Args:
        delta: The buffer (``timedelta`` or seconds, ``>= 0``).

    Raises:
        InvalidTypeError: ``delta`` is not a duration.
        InvalidValueError: ``delta`` is negative.

    .. versionadded:: 0.1.0
    """

    delta: timedelta = attrs.field(converter=_convert_delta)

    def apply(self, context: QuoteContext, due: datetime) -> datetime:
        """``due + delta`` (business time with a calendar).

        .. versionadded:: 0.1.0
        """
        return context.advance(due, self.delta)

    def note(self, context: QuoteContext, before: datetime, after: datetime) -> str | None:
        """``"+15 min buffer"``.

        .. versionadded:: 0.1.0
        """
        return f"+{fmt_duration(self.delta)} buffer" if self.delta else None

    def __str__(self) -> str:
        return f"FixedBuffer({fmt_duration(self.delta)})"


def _convert_factor(value: Any) -> float:
    return check_finite("factor", value, minimum=0)


@attrs.frozen(slots=True)
class ProportionalBuffer(BufferPolicy):
    """Add ``factor`` times the target window (the median or point estimate).

    ``ProportionalBuffer(0.2)`` on a 30-minute estimate adds 6 minutes.

    Args:
        factor: A finite number ``>= 0``.

    Raises:
        InvalidTypeError: ``factor`` is not a number.
        InvalidValueError: ``factor`` is negative or not finite.

    .. versionadded:: 0.1.0
    """

    factor: float = attrs.field(converter=_convert_factor)

    def _amount(self, context: QuoteContext) -> timedelta:
        return us_td(round(td_us(context.target_window) * self.factor))

    def apply(self, context: QuoteContext, due: datetime) -> datetime:
        """``due + factor × target_window``.

        .. versionadded:: 0.1.0
        """
        return context.advance(due, self._amount(context))

    def note(self, context: QuoteContext, before: datetime, after: datetime) -> str | None:
        """``"+20 % buffer (6 min)"``.

        .. versionadded:: 0.1.0
        """
        if not self.factor:
            return None
        return f"+{self.factor * 100:.3g} % buffer ({fmt_duration(self._amount(context))})"

    def __str__(self) -> str:
        return f"ProportionalBuffer({self.factor:g})"


def _convert_q(value: Any) -> float:
    return check_probability("q", value)


def _convert_min_samples(value: Any) -> int:
    return check_count("min_samples", value)


@attrs.frozen(slots=True)
class QuantileBuffer(BufferPolicy):
    """Promise at least the ``q``-quantile of the capability: kept with probability ``q``.

    The due becomes the later of the due so far and ``start + quantile(q)``. It
    refuses to quote from fewer than ``min_samples`` observed durations, and
    from a point estimate.

    Args:
        q: Confidence level in ``(0, 1]`` (``1`` is the longest observed duration).
        min_samples: Fewest observed durations to quote from (``>= 1``).

    Raises:
        InvalidValueError: ``q`` is outside ``(0, 1]`` or ``min_samples < 1``.

    .. versionadded:: 0.1.0
    """

    q: float = attrs.field(converter=_convert_q)
    min_samples: int = attrs.field(default=30, converter=_convert_min_samples)

    def _check(self, capability: Capability) -> None:
        if not capability.is_distribution:
            raise InsufficientDataError(
                f"{self!s} needs a distribution of durations, but the capability is a point "
                f"{capability.describe()} (0 samples, needs at least {self.min_samples})"
            )
        n = capability.n_samples
        if n is not None and n < self.min_samples:
            raise InsufficientDataError(
                f"{self!s} refuses to quote from {n} past durations ({capability.describe()}); "
                f"it needs at least min_samples={self.min_samples}"
            )

    def apply(self, context: QuoteContext, due: datetime) -> datetime:
        """``max(due, start + quantile(q))``.

        Raises:
            InsufficientDataError: Fewer than ``min_samples`` durations, or a point estimate.

        .. versionadded:: 0.1.0
        """
        capability = context.capability
        self._check(capability)
        return context.later(due, context.at(capability.quantile(self.q)))

    def note(self, context: QuoteContext, before: datetime, after: datetime) -> str | None:
        """``"p90 of 212 past callbacks = 37 business min"``.

        .. versionadded:: 0.1.0
        """
        window = context.capability.quantile(self.q)
        text = (
            f"{fmt_quantile(self.q)} of {context.capability.describe()} = "
            f"{fmt_duration(window, business=context.business)}"
        )
        if to_us(before) != to_us(context.target) and to_us(before) == to_us(after):
            text += " (already covered)"
        return text

    def _states_base(self) -> bool:
        return True

    def __str__(self) -> str:
        extra = "" if self.min_samples == 30 else f", min_samples={self.min_samples}"
        return f"QuantileBuffer({self.q:g}{extra})"


_STEPS = {"hour": 60, "half-hour": 30, "quarter-hour": 15}


Rounding = Literal["hour", "half-hour", "quarter-hour", "end-of-day", "next-business-day"]


_ROUNDINGS = (*_STEPS, "end-of-day", "next-business-day")


def _check_rounding(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value not in _ROUNDINGS:
        raise InvalidValueError(
            f"'to' must be one of {', '.join(repr(r) for r in _ROUNDINGS)} (got {describe(value)})"
        )


@attrs.frozen(slots=True)
class RoundUp(BufferPolicy):
    """Round the due *up* to a time people remember ("by end of day", not 15:47).

    * ``"hour"``, ``"half-hour"``, ``"quarter-hour"``: the next local wall-clock
      multiple (in the calendar's zone, else the start's); a due already on one
      stays. A boundary in a DST gap becomes the end of the gap.
    * ``"end-of-day"``: with a calendar, ``calendar.end_of_day(due)`` (the close
      of the due's business day, or of the next business day after hours);
      without, the next local midnight.
    * ``"next-business-day"``: the close of the first business day *after the
      start's local date* ("by tomorrow"); if the due is already later than
      that, the close of the due's own business day. Without a calendar every
      day is a business day and days end at midnight.

    It never moves a due earlier.

    Raises:
        InvalidValueError: ``to`` is not one of the names above.

    .. versionadded:: 0.1.0
    """

    to: Rounding = attrs.field(validator=_check_rounding)

    def apply(self, context: QuoteContext, due: datetime) -> datetime:
        """The rounded due (never earlier than ``due``).

        .. versionadded:: 0.1.0
        """
        clock = context._clock
        step = _STEPS.get(self.to)
        if step is not None:
            rounded, instant = round_up_wall(due, clock.zone, step, context._instant_us(due))
            return context._remember(rounded, instant)
        if self.to == "end-of-day":
            rounded = clock.end_of_day(due)
        else:
            following = context.start.date() + timedelta(days=1)
            if context.calendar is not None:
                tomorrow = context.calendar.end_of_day(clock.midnight(following))
            else:
                tomorrow = clock.midnight(following + timedelta(days=1))
            rounded = tomorrow if to_us(due) <= to_us(tomorrow) else clock.end_of_day(due)
        return clock.local(context.later(rounded, due))

    def note(self, context: QuoteContext, before: datetime, after: datetime) -> str | None:
        """``"rounded up to the half-hour"`` when the due moved.

        .. versionadded:: 0.1.0
        """
        if to_us(before) == to_us(after):
            return None
        if self.to == "end-of-day":
            label = "end of the business day" if context.business else "end of the day"
        elif self.to == "next-business-day":
            label = "end of the next business day" if context.business else "end of the next day"
        else:
            label = self.to
        return f"rounded up to the {label}"

    def __str__(self) -> str:
        return f"RoundUp({self.to!r})"


def _convert_max(value: Any) -> timedelta:
    return check_duration("max", value)


def _convert_min(value: Any) -> timedelta:
    return check_duration("min", value)


@attrs.frozen(slots=True)
class Cap(BufferPolicy):
    """Bound the promised window (start → due, business time) from above.

    The window never exceeds ``max``, except that the due is never pulled
    before the internal target: promising less than the work is expected to
    take is not a buffer policy's call (see :func:`negotiate` to decline).

    Args:
        max: Longest window to promise (``timedelta`` or seconds, ``>= 0``).

    .. versionadded:: 0.1.0
    """

    max: timedelta = attrs.field(converter=_convert_max)

    def apply(self, context: QuoteContext, due: datetime) -> datetime:
        """``max(target, min(due, start + max))``.

        .. versionadded:: 0.1.0
        """
        if context._window_us(due) <= td_us(self.max):
            return due
        return context.later(context.at(self.max), context.target)

    def note(self, context: QuoteContext, before: datetime, after: datetime) -> str | None:
        """``"capped at 2 h"`` when it binds.

        .. versionadded:: 0.1.0
        """
        if to_us(before) == to_us(after):
            return None
        text = f"capped at {fmt_duration(self.max, business=context.business)}"
        if to_us(after) == to_us(context.target) and context.target_window > self.max:
            text += " (not below the target)"
        return text

    def __str__(self) -> str:
        return f"Cap({fmt_duration(self.max)})"


@attrs.frozen(slots=True)
class Floor(BufferPolicy):
    """Bound the promised window (start → due, business time) from below.

    Args:
        min: Shortest window to promise (``timedelta`` or seconds, ``>= 0``).

    .. versionadded:: 0.1.0
    """

    min: timedelta = attrs.field(converter=_convert_min)

    def apply(self, context: QuoteContext, due: datetime) -> datetime:
        """``max(due, start + min)``.

        .. versionadded:: 0.1.0
        """
        return context.later(due, context.at(self.min))

    def note(self, context: QuoteContext, before: datetime, after: datetime) -> str | None:
        """``"raised to the 1 h floor"`` when it binds.

        .. versionadded:: 0.1.0
        """
        if to_us(before) == to_us(after):
            return None
        return f"raised to the {fmt_duration(self.min, business=context.business)} floor"

    def __str__(self) -> str:
        return f"Floor({fmt_duration(self.min)})"
