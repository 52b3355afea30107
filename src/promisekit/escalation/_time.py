"""Integer instants, durations and the duration syntax shared by the escalation engine.

Instants are stored as integer microseconds since the Unix epoch (UTC), so comparisons and
arithmetic are exact and compact; they are turned back into aware datetimes only at the edges.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone, tzinfo
from typing import Any

from promisekit._durations import UNIT_US, parse_duration
from promisekit._validation import check_aware, check_duration, describe
from promisekit.errors import InvalidTypeError, InvalidValueError

__all__ = [
    "INF",
    "duration_from_kwargs",
    "format_duration",
    "from_us",
    "parse_duration",
    "td_us",
    "to_us",
]

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_ONE_US = timedelta(microseconds=1)
#: An instant later than any real one ("never").
INF = 1 << 62


def to_us(moment: datetime) -> int:
    """Microseconds since the epoch of an aware datetime."""
    return (moment - _EPOCH) // _ONE_US


def from_us(instant: int, tz: tzinfo) -> datetime:
    """The aware datetime of ``instant`` (µs since the epoch) in ``tz``."""
    return (_EPOCH + timedelta(microseconds=instant)).astimezone(tz)


def td_us(delta: timedelta) -> int:
    """Microseconds in a timedelta."""
    return delta // _ONE_US


def format_duration(delta: timedelta) -> str:
    """The shortest ``parse_duration`` spelling of a duration (``"1h30m"``)."""
    us = td_us(delta)
    if us == 0:
        return "0s"
    sign = "-" if us < 0 else ""
    us = abs(us)
    parts = []
    for unit in ("d", "h", "m"):
        count, us = divmod(us, UNIT_US[unit])
        if count:
            parts.append(f"{count}{unit}")
    seconds, us = divmod(us, UNIT_US["s"])
    if us:  # the fraction exactly ("1.5s", "0.000001s", not "1e-06s")
        parts.append(f"{seconds}.{us:06d}".rstrip("0") + "s")
    elif seconds:
        parts.append(f"{seconds}s")
    return sign + "".join(parts)


def duration_from_kwargs(
    field: str,
    value: Any,
    *,
    days: float = 0,
    hours: float = 0,
    minutes: float = 0,
    seconds: float = 0,
) -> timedelta:
    """A non-negative duration from a positional value or from keyword units.

    ``value`` may be a ``timedelta`` (or seconds) — then no unit keyword may be given.
    """
    units = {"days": days, "hours": hours, "minutes": minutes, "seconds": seconds}
    for name, amount in units.items():
        if isinstance(amount, bool) or not isinstance(amount, (int, float)):
            raise InvalidTypeError(
                f"{describe(name)} must be a number (got {type(amount).__name__} "
                f"{describe(amount)})"
            )
    given = any(units.values())
    if value is not None:
        if given:
            raise InvalidValueError(
                f"{field!r} must be given either as a timedelta or as days=/hours=/minutes="
                f"/seconds=, not both (got {describe(value)} and {describe(units)})"
            )
        try:
            return check_duration(field, value)
        except OverflowError:
            raise InvalidValueError(
                f"{field!r} must be a duration of at most {timedelta.max.days} days "
                f"(got {describe(value)})"
            ) from None
    try:
        delta = timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)
    except (OverflowError, ValueError):
        raise InvalidValueError(
            f"{field!r} must be a finite duration of at most {timedelta.max.days} days "
            f"(got {describe(units)})"
        ) from None
    return check_duration(field, delta)


def kwargs_repr(delta: timedelta) -> str:
    """``hours=2`` / ``hours=1, minutes=30``: a readable constructor spelling."""
    us = td_us(delta)
    if us % 1_000_000:
        return f"timedelta(microseconds={us})"
    seconds = us // 1_000_000
    if seconds == 0:
        return "hours=0"
    parts = []
    days, seconds = divmod(seconds, 86_400)
    hours, seconds = divmod(seconds, 3_600)
    minutes, seconds = divmod(seconds, 60)
    for name, amount in (("days", days), ("hours", hours), ("minutes", minutes)):
        if amount:
            parts.append(f"{name}={amount}")
    if seconds:
        parts.append(f"seconds={seconds}")
    return ", ".join(parts)


def aware_us(field: str, value: Any) -> int:
    """Check that ``value`` is an aware datetime and return it in µs since the epoch."""
    return to_us(check_aware(field, value))
