"""Due dates that are calendar dates: reading a due at midnight as the end of that day.

An e-commerce "estimated delivery date" is a date, stored as a datetime at midnight: a
parcel delivered that afternoon is on time, yet measured against the midnight instant
it is most of a day late. :func:`end_of_day` gives the last instant of that calendar day
(``23:59:59.999999`` local time, in the due's own zone or a given one, across daylight
saving changes); :meth:`Expectation.end_of_day` builds an expectation measured against
it, keeping the stated midnight due so outcomes assessed against it still match.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta, timezone, tzinfo

from promisekit._validation import check_aware, load_zone
from promisekit.errors import InvalidTypeError, InvalidValueError

_MICROSECOND = timedelta(microseconds=1)


def _zone(zone: str | tzinfo | None, field: str) -> tzinfo | None:
    if zone is None or isinstance(zone, tzinfo):
        return zone
    if isinstance(zone, str):
        loaded: tzinfo = load_zone(zone, field=field)
        return loaded
    raise InvalidTypeError(
        f"{field!r} must be a time-zone name, a tzinfo or None (got {type(zone).__name__})"
    )


def end_of_day(due: datetime, zone: str | tzinfo | None = None, *, field: str = "due") -> datetime:
    """The last microsecond of the calendar day that ``due`` (a midnight) stands for.

    Args:
        due: An aware datetime at midnight in ``zone`` (by default its own zone).
        zone: The zone whose calendar day is meant (name or tzinfo), or ``None``.
        field: The name used in error messages.

    Returns:
        ``23:59:59.999999`` of that day in the zone (aware, in the zone).

    Raises:
        NaiveDatetimeError: ``due`` has no time zone.
        InvalidValueError: ``due`` is not at midnight in the zone, or the zone is unknown.
    """
    check_aware(field, due)
    where = _zone(zone, "zone") or due.tzinfo
    assert where is not None
    local = due.astimezone(where)
    if local.time() != time(0):
        raise InvalidValueError(
            f"{field!r} must be at midnight to be read as a calendar date "
            f"(got {local.isoformat(' ')} in {where})"
        )
    next_midnight = datetime.combine(local.date() + timedelta(days=1), time(0), tzinfo=where)
    return (next_midnight.astimezone(timezone.utc) - _MICROSECOND).astimezone(where)
