"""A buffer policy: a safety margin proportional to the expected duration, with a floor.

.. versionadded:: 0.1.0
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import attrs
from promisekit.buffering import BufferPolicy, QuoteContext
from promisekit.errors import InvalidTypeError, InvalidValueError

__all__ = ["SafetyMargin"]


def _share(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidTypeError(f"'share' must be a number (got {type(value).__name__} {value!r})")
    if not 0 <= value <= 10:
        raise InvalidValueError(f"'share' must be between 0 and 10 (got {value!r})")
    return float(value)


def _at_least(value: Any) -> timedelta:
    if not isinstance(value, timedelta) or value < timedelta(0):
        raise InvalidValueError(f"'at_least' must be a timedelta >= 0 (got {value!r})")
    return value


def _minutes(delta: timedelta) -> str:
    return f"{delta.total_seconds() / 60:g} min"


@attrs.frozen(slots=True)
class SafetyMargin(BufferPolicy):
    """Add ``share`` of the expected duration to the due, and never less than ``at_least``.

    ``SafetyMargin(0.25, timedelta(minutes=30))`` on a 4-hour job adds an hour; on a
    20-minute job, 30 minutes. Business time with a calendar, like every built-in policy.

    Args:
        share: Share of the target window (the capability's median) to add, in ``[0, 10]``.
        at_least: The smallest margin (``>= 0``).

    Example:
        >>> from datetime import datetime, timezone
        >>> from promisekit.buffering import PointCapability
        >>> start = datetime(2026, 3, 10, 9, 0, tzinfo=timezone.utc)
        >>> SafetyMargin().quote(start, PointCapability(timedelta(hours=4))).due.strftime("%H:%M")
        '14:00'

    .. versionadded:: 0.1.0
    """

    share: float = attrs.field(default=0.25, converter=_share)
    at_least: timedelta = attrs.field(default=timedelta(minutes=30), converter=_at_least)

    def _margin(self, context: QuoteContext) -> timedelta:
        return max(context.target_window * self.share, self.at_least)

    def apply(self, context: QuoteContext, due: datetime) -> datetime:
        """``due`` plus the margin (business time with a calendar).

        .. versionadded:: 0.1.0
        """
        return context.advance(due, self._margin(context))

    def note(self, context: QuoteContext, before: datetime, after: datetime) -> str | None:
        """``"+60 min safety margin"``.

        .. versionadded:: 0.1.0
        """
        margin = self._margin(context)
        return f"+{_minutes(margin)} safety margin" if margin else None

    def __str__(self) -> str:
        return f"SafetyMargin({self.share:g}, at least {_minutes(self.at_least)})"
