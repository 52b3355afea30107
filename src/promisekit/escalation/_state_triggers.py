"""The triggers of recorded state: revisions, and the satisfaction a delivery now would give.

Imports :mod:`._triggers`, :mod:`._timeline` and :mod:`._time`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

import attrs

from promisekit._validation import describe
from promisekit.errors import InvalidTypeError, InvalidValueError
from promisekit.escalation._intervals import Intervals
from promisekit.escalation._time import INF, from_us, td_us, to_us
from promisekit.escalation._timeline import Segment
from promisekit.escalation._triggers import Trigger
from promisekit.promise import Promise

__all__ = ["LEVEL_NAMES", "PredictedDissatisfaction", "Revised", "SatisfactionPredictor"]

#: Names of the five satisfaction levels, worst first, valued 1 to 5
#: (as :class:`promisekit.satisfaction.Level`).
LEVEL_NAMES = ("very_dissatisfied", "dissatisfied", "neutral", "satisfied", "very_satisfied")


#: ``predictor(promise, delivered_at)`` — the satisfaction level (an ``int``-like such as
#: :class:`promisekit.satisfaction.Level`, 1 = very dissatisfied … 5 = very satisfied, or an
#: object with a ``level`` attribute) the customer would have if the promise were delivered
#: at ``delivered_at``.
SatisfactionPredictor = Callable[[Promise, datetime], Any]


# --------------------------------------------------------------------------- revisions


def _check_times(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidTypeError(
            f"'times' must be an int (got {type(value).__name__} {describe(value)})"
        )
    if value < 1:
        raise InvalidValueError(f"'times' must be >= 1 (got {describe(value)})")


@attrs.frozen
class Revised(Trigger):
    """The promise has been revised at least ``times`` times (repeated misses hurt more).

    .. versionadded:: 0.1.0
    """

    times: int = attrs.field(default=1, validator=_check_times)

    def describe(self) -> str:
        return f"revised >= {self.times}"

    def truth(self, segment: Segment) -> Intervals:
        return [(segment.lo, segment.hi)] if segment.revision >= self.times else []


def _level_value(field: str, value: object) -> int:
    level = getattr(value, "level", value)
    if isinstance(level, bool) or not isinstance(level, int):
        raise InvalidTypeError(
            f"{field!r} must be a satisfaction level (an int 1-5 such as "
            f"promisekit.satisfaction.Level) (got {type(value).__name__} {describe(value)})"
        )
    return int(level)


def _check_level(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    number = _level_value(attribute.name, value)
    if not 1 <= number <= 5:
        raise InvalidValueError(
            f"{describe(attribute.name)} must be between 1 and 5 (got {describe(value)})"
        )


def _check_predictor(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not callable(value):
        raise InvalidTypeError(
            f"'predictor' must be callable as predictor(promise, delivered_at) "
            f"(got {type(value).__name__} {describe(value)})"
        )


def _check_horizon(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, timedelta) or value <= timedelta(0):
        raise InvalidValueError(f"'horizon' must be a positive timedelta (got {describe(value)})")


@attrs.frozen
class PredictedDissatisfaction(Trigger):
    """Delivering now would leave the customer at ``at_or_below`` or worse.

    ``predictor(promise, delivered_at)`` gives the level the customer would have if the
    promise (as in force) were delivered at ``delivered_at``. A later delivery is assumed
    never to satisfy more, so the first instant is found by bisection (to the second) over
    ``made_at`` … ``due + horizon``; later than that it is never true.

    .. versionadded:: 0.1.0
    """

    at_or_below: Any = attrs.field(validator=_check_level)
    predictor: SatisfactionPredictor = attrs.field(kw_only=True, validator=_check_predictor)
    horizon: timedelta = attrs.field(
        default=timedelta(days=366), kw_only=True, validator=_check_horizon
    )

    def describe(self) -> str:
        return f"satisfaction <= {LEVEL_NAMES[_level_value('at_or_below', self.at_or_below) - 1]}"

    def _bad(self, promise: Promise, instant: int) -> bool:
        zone = promise.due.tzinfo or timezone.utc
        predicted = self.predictor(promise, from_us(instant, zone))
        return _level_value("predictor result", predicted) <= _level_value(
            "at_or_below", self.at_or_below
        )

    def threshold(self, promise: Promise) -> int:
        """The first instant (µs) at which delivering would be at or below the level."""
        start = to_us(promise.made_at)
        if self._bad(promise, start):
            return start
        seconds = (to_us(promise.due) + td_us(self.horizon) - start) // 1_000_000 + 1
        if not self._bad(promise, start + seconds * 1_000_000):
            return INF
        low, high = 0, seconds
        while high - low > 1:
            mid = (low + high) // 2
            if self._bad(promise, start + mid * 1_000_000):
                high = mid
            else:
                low = mid
        return start + high * 1_000_000

    def truth(self, segment: Segment) -> Intervals:
        moment = max(self.threshold(segment.track.promise_at(segment.revision)), segment.lo)
        return [(moment, segment.hi)] if moment < segment.hi else []
