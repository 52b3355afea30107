"""Text forms of the JSON documents: datetimes, durations, decimals and dates.

Private to :mod:`promisekit.serialize`, which re-exports the public functions
(:func:`~promisekit.serialize.parse_datetime`, :func:`~promisekit.serialize.format_datetime`
and friends). Nothing here needs cattrs.
"""

from __future__ import annotations

import decimal
import re
from datetime import date, datetime, timedelta, timezone, tzinfo
from decimal import Decimal
from zoneinfo import ZoneInfo

from promisekit._validation import check_aware, check_in_range, describe, load_zone
from promisekit.errors import (
    InvalidTypeError,
    InvalidValueError,
    NaiveDatetimeError,
)


def _describe(value: object) -> str:
    """A short description of a received value for error messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"boolean {'true' if value else 'false'}"
    if isinstance(value, (int, float)):
        return f"number {describe(value)}"
    if isinstance(value, str):
        return f"string {describe(value)}"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "an array"
    return f"{type(value).__name__} {describe(value)}"


# =========================================================================== text forms

_DATETIME_RE = re.compile(
    r"(?P<year>[0-9]{4})-(?P<month>[0-9]{2})-(?P<day>[0-9]{2})[Tt ]"
    r"(?P<hour>[0-9]{2}):(?P<minute>[0-9]{2})"
    r"(?::(?P<second>[0-9]{2})(?:[.,](?P<fraction>[0-9]{1,6}))?)?"
    r"(?P<offset>[Zz]|[+-][0-9]{2}(?::?[0-9]{2}(?::[0-9]{2}(?:\.[0-9]{1,6})?)?)?)?"
    r"(?:\[(?P<critical>!?)(?P<zone>[^\[\]]{1,255})\])?"
)
_OFFSET_RE = re.compile(
    r"(?P<sign>[+-])(?P<h>[0-9]{2})(?::?(?P<m>[0-9]{2})"
    r"(?::(?P<s>[0-9]{2})(?:\.(?P<us>[0-9]{1,6}))?)?)?"
)
_ZONES: dict[str, tzinfo] = {}
_OFFSETS: dict[str, timedelta] = {}
_FIXED: dict[timedelta, timezone] = {}
#: Offset text (``"-03:00"``, ``"Z"``) → its fixed zone, for offsets already parsed.
_FIXED_BY_TEXT: dict[str | None, timezone] = {}


def _zone_named(field: str, name: str) -> tzinfo:
    zone = _ZONES.get(name)
    if zone is not None:
        return zone
    if _OFFSET_RE.fullmatch(name) is not None:
        offset = _parse_offset(field, name)
        zone = timezone(offset) if offset else timezone.utc
    else:
        zone = load_zone(name, field=field)
    if len(_ZONES) < 1024:
        _ZONES[name] = zone
    return zone


def _parse_offset(field: str, text: str) -> timedelta:
    cached = _OFFSETS.get(text)
    if cached is not None:
        return cached
    delta = _compute_offset(field, text)
    if len(_OFFSETS) < 1024:
        _OFFSETS[text] = delta
    return delta


def _compute_offset(field: str, text: str) -> timedelta:
    if text in ("Z", "z"):
        return timedelta(0)
    match = _OFFSET_RE.fullmatch(text)
    if match is None:  # pragma: no cover - the caller's regex only lets offsets through
        raise InvalidValueError(f"{field!r} has a malformed UTC offset (got {describe(text)})")
    hours, minutes = int(match["h"]), int(match["m"] or 0)
    seconds = int(match["s"] or 0)
    micros = int((match["us"] or "0").ljust(6, "0"))
    if hours > 23 or minutes > 59 or seconds > 59:
        raise InvalidValueError(
            f"{field!r} must have a UTC offset between -23:59 and +23:59 (got {describe(text)})"
        )
    delta = timedelta(hours=hours, minutes=minutes, seconds=seconds, microseconds=micros)
    return -delta if match["sign"] == "-" else delta


def _coerce_zone(field: str, tz: str | tzinfo) -> tzinfo:
    if isinstance(tz, tzinfo):
        return tz
    if isinstance(tz, str):
        return _zone_named(field, tz)
    raise InvalidTypeError(
        f"{field!r} must be an IANA zone name or a tzinfo (got {type(tz).__name__} {describe(tz)})"
    )


def _localize(field: str, wall: datetime, zone: tzinfo, text: str) -> datetime:
    """Attach ``zone`` to a naive wall time, refusing DST gaps and folds (no guessing)."""
    # (Built anew rather than by wall.replace(), several times slower.)
    parts = (wall.year, wall.month, wall.day, wall.hour, wall.minute, wall.second, wall.microsecond)
    first = datetime(*parts, zone)
    second = datetime(*parts, zone, fold=1)
    if first.utcoffset() == second.utcoffset():
        return first
    name = getattr(zone, "key", None) or str(zone)
    check_in_range(field, first)
    back = first.astimezone(timezone.utc).astimezone(zone).replace(tzinfo=None)
    if back != wall:
        raise InvalidValueError(
            f"{field!r} is a local time that does not exist in {name} (skipped by a "
            f"daylight-saving change): {describe(text)}; give the UTC offset"
        )
    raise InvalidValueError(
        f"{field!r} is an ambiguous local time in {name} (it happens twice at a "
        f"daylight-saving change): {describe(text)}; give the UTC offset"
    )


def parse_datetime(text: str, *, field: str = "value", tz: str | tzinfo | None = None) -> datetime:
    """Parse an RFC 3339 / RFC 9557 timestamp into an aware datetime, exactly.

    Accepted: ``YYYY-MM-DDTHH:MM[:SS[.ffffff]]`` (``T``, ``t`` or a space between date
    and time), then an offset (``Z``, ``+HH:MM``, ``+HHMM``, ``+HH``) and/or a zone in
    brackets (``[America/Toronto]``, ``[!Europe/Paris]``, ``[+02:00]``).

    * Offset and zone: the datetime is in the zone, with the ``fold`` that gives that
      offset; an offset the zone never has at that wall time is an error.
    * Offset only: a fixed-offset ``datetime.timezone`` (``timezone.utc`` for zero).
    * Zone only, or neither but ``tz`` given: the wall time in that zone; a wall time
      that a daylight-saving change skips or repeats is an error (no guessing).
    * Neither and no ``tz``: :class:`~promisekit.errors.NaiveDatetimeError`.

    Args:
        text: The timestamp.
        field: Field name for error messages.
        tz: Zone of timestamps without offset or zone (IANA name or ``tzinfo``), or
            ``None`` to refuse them.

    Returns:
        The aware datetime.

    Raises:
        InvalidTypeError: ``text`` is not a string.
        InvalidValueError: The text is not such a timestamp, a date is impossible, or
            its UTC instant is before 0001-01-01 or after 9999-12-31.
        NaiveDatetimeError: No offset, no zone and no ``tz``.
        UnknownTimeZoneError: The zone is unknown.

    Example:
        >>> parse_datetime("2026-11-01T01:30:00-05:00[America/Toronto]").fold
        1

    .. versionadded:: 0.1.0
    """
    return check_in_range(field, _parse_datetime(text, field, tz))


def _parse_datetime(text: str, field: str, tz: str | tzinfo | None) -> datetime:
    if not isinstance(text, str):
        raise InvalidTypeError(
            f"{field!r} must be a timestamp string (got {type(text).__name__} {describe(text)})"
        )
    match = _DATETIME_RE.fullmatch(text)
    if match is None:
        raise InvalidValueError(
            f"{field!r} must be an ISO 8601 / RFC 3339 timestamp such as "
            f"'2026-03-10T09:00:00-04:00' (got {describe(text)})"
        )
    year, month, day, hour, minute, second, fraction, offset_text, _, zone_text = match.groups()
    parts = (
        int(year),
        int(month),
        int(day),
        int(hour),
        int(minute),
        int(second) if second else 0,
        int(fraction.ljust(6, "0")) if fraction else 0,
    )
    try:
        # An offset alone, already met: its zone right away (the same object).
        wall = datetime(*parts, _FIXED_BY_TEXT.get(offset_text) if zone_text is None else None)
    except ValueError as exc:
        raise InvalidValueError(
            f"{field!r} is not a valid date and time: {exc} (got {describe(text)})"
        ) from None
    if wall.tzinfo is not None:
        return wall
    zone = None if zone_text is None else _zone_named(field, zone_text)
    if offset_text is None:
        if zone is not None:
            return _localize(field, wall, zone, text)
        if tz is None:
            raise NaiveDatetimeError(field, wall)
        return _localize(field, wall, _coerce_zone("tz", tz), text)
    offset = _parse_offset(field, offset_text)
    if zone is None:
        fixed = _FIXED.get(offset)
        if fixed is None:
            fixed = timezone(offset) if offset else timezone.utc
            if len(_FIXED) < 1024:
                _FIXED[offset] = fixed
        if len(_FIXED_BY_TEXT) < 1024:
            _FIXED_BY_TEXT[offset_text] = fixed
        return wall.replace(tzinfo=fixed)
    # (Built anew rather than by wall.replace(), several times slower.)
    candidate = datetime(*parts, zone)
    if candidate.utcoffset() == offset:
        return candidate
    candidate = datetime(*parts, zone, fold=1)
    if candidate.utcoffset() == offset:
        return candidate
    expected = wall.replace(tzinfo=zone).utcoffset()
    raise InvalidValueError(
        f"{field!r} has offset {offset_text} that {zone_text} never has at "
        f"{wall.isoformat()} (expected {_fmt_offset(expected)}) (got {describe(text)})"
    )


def _fmt_offset(delta: timedelta | None) -> str:
    if delta is None:  # pragma: no cover - aware zones always have an offset
        return "none"
    return datetime(2000, 1, 1, tzinfo=timezone(delta)).isoformat()[19:] or "+00:00"


def format_datetime(value: datetime, *, field: str = "value") -> str:
    """Write an aware datetime as RFC 3339 text, with an RFC 9557 zone suffix if it has one.

    Args:
        value: An aware datetime whose ``tzinfo`` is a ``zoneinfo.ZoneInfo`` (written
            as ``...-04:00[America/Toronto]``) or a ``datetime.timezone`` without a
            custom name (written as ``...-04:00``).
        field: Field name for error messages.

    Returns:
        The text; :func:`parse_datetime` reads it back exactly.

    Raises:
        InvalidTypeError: Not a datetime, or another ``tzinfo`` class.
        NaiveDatetimeError: ``value`` has no time zone.

    Example:
        >>> from zoneinfo import ZoneInfo
        >>> format_datetime(datetime(2026, 3, 10, 9, 0, tzinfo=ZoneInfo("America/Toronto")))
        '2026-03-10T09:00:00-04:00[America/Toronto]'

    .. versionadded:: 0.1.0
    """
    check_aware(field, value)
    zone = value.tzinfo
    if isinstance(zone, ZoneInfo):
        if zone.key is None:
            raise InvalidTypeError(
                f"{field!r} has a ZoneInfo without a key (loaded from a file), which "
                f"cannot be written by name (got {describe(value)})"
            )
        return f"{value.isoformat()}[{zone.key}]"
    if type(zone) is timezone:
        offset = zone.utcoffset(None)
        if zone.tzname(None) != timezone(offset).tzname(None):
            raise InvalidTypeError(
                f"{field!r} has a datetime.timezone with a custom name "
                f"{describe(zone.tzname(None))}, which the JSON form cannot keep; use a "
                f"zoneinfo.ZoneInfo or an unnamed timezone (got {describe(value)})"
            )
        return value.isoformat()
    raise InvalidTypeError(
        f"{field!r} must have a zoneinfo.ZoneInfo or datetime.timezone tzinfo to be "
        f"written exactly (got {type(zone).__name__}); convert it with "
        f".astimezone(ZoneInfo(...))"
    )


_DURATION_RE = re.compile(
    r"(?P<sign>[+-])?P(?:(?P<days>[0-9]{1,9})D)?"
    r"(?:T(?:(?P<hours>[0-9]{1,12})H)?(?:(?P<minutes>[0-9]{1,14})M)?"
    r"(?:(?P<seconds>[0-9]{1,16})(?:[.,](?P<fraction>[0-9]{1,6}))?S)?)?"
)


def format_duration(value: timedelta, *, field: str = "value") -> str:
    """Write a duration as an ISO 8601 string in days, hours, minutes and seconds.

    Args:
        value: A ``timedelta`` (negative allowed: ``"-PT5M"``).
        field: Field name for error messages.

    Returns:
        The text, e.g. ``"P1DT2H0.5S"`` or ``"PT0S"``.

    Raises:
        InvalidTypeError: ``value`` is not a timedelta.

    .. versionadded:: 0.1.0
    """
    if not isinstance(value, timedelta):
        raise InvalidTypeError(
            f"{field!r} must be a timedelta (got {type(value).__name__} {describe(value)})"
        )
    sign = "-" if value < timedelta(0) else ""
    total = -value if sign else value
    hours, rest = divmod(total.seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    text = f"{sign}P" + (f"{total.days}D" if total.days else "")
    clock = (f"{hours}H" if hours else "") + (f"{minutes}M" if minutes else "")
    if seconds or total.microseconds:
        clock += str(seconds)
        if total.microseconds:
            clock += f".{total.microseconds:06d}".rstrip("0")
        clock += "S"
    if clock or not total.days:
        text += "T" + (clock or "0S")
    return text


def parse_duration(text: str, *, field: str = "value") -> timedelta:
    """Parse an ISO 8601 duration in days, hours, minutes and seconds.

    Years, months and weeks are refused: they are not fixed lengths of time.

    Args:
        text: Such as ``"PT1H30M"``, ``"-P1DT0.25S"``.
        field: Field name for error messages.

    Returns:
        The ``timedelta``.

    Raises:
        InvalidTypeError: ``text`` is not a string.
        InvalidValueError: The text is not such a duration, or is out of range.

    .. versionadded:: 0.1.0
    """
    if not isinstance(text, str):
        raise InvalidTypeError(
            f"{field!r} must be an ISO 8601 duration string (got {type(text).__name__} "
            f"{describe(text)})"
        )
    match = _DURATION_RE.fullmatch(text)
    if match is None or not any(
        match[name] is not None for name in ("days", "hours", "minutes", "seconds")
    ):
        raise InvalidValueError(
            f"{field!r} must be an ISO 8601 duration such as 'PT1H30M' or '-P1DT2S' "
            f"(got {describe(text)})"
        )
    try:
        delta = timedelta(
            days=int(match["days"] or 0),
            hours=int(match["hours"] or 0),
            minutes=int(match["minutes"] or 0),
            seconds=int(match["seconds"] or 0),
            microseconds=int((match["fraction"] or "0").ljust(6, "0")),
        )
        return -delta if match["sign"] == "-" else delta
    except OverflowError:  # past timedelta.max, either way
        raise InvalidValueError(
            f"{field!r} is too long a duration (got {describe(text)})"
        ) from None


_DECIMAL_RE = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]{1,18})?")


def parse_decimal(text: str, *, field: str = "value") -> Decimal:
    """Parse a decimal number written as a string (``"19.99"``, ``"-1.5E+3"``), exactly.

    Args:
        text: The string (no spaces, no ``NaN`` or ``Infinity``).
        field: Field name for error messages.

    Returns:
        The ``Decimal``.

    Raises:
        InvalidTypeError: ``text`` is not a string.
        InvalidValueError: The text is not a finite decimal number.

    .. versionadded:: 0.1.0
    """
    if not isinstance(text, str):
        raise InvalidTypeError(
            f'{field!r} must be a decimal number written as a string such as "19.99" '
            f"(got {_describe(text)})"
        )
    if len(text) > 1000 or _DECIMAL_RE.fullmatch(text) is None:
        raise InvalidValueError(
            f'{field!r} must be a decimal number such as "19.99" (got {describe(text)})'
        )
    try:
        return Decimal(text)
    except (decimal.InvalidOperation, ValueError):  # pragma: no cover - the regex guards
        raise InvalidValueError(
            f"{field!r} must be a decimal number (got {describe(text)})"
        ) from None


def format_decimal(value: Decimal, *, field: str = "value") -> str:
    """Write a finite ``Decimal`` as its exact string (``str(value)``).

    Raises:
        InvalidTypeError: ``value`` is not a Decimal.
        InvalidValueError: ``value`` is not finite.

    .. versionadded:: 0.1.0
    """
    if not isinstance(value, Decimal):
        raise InvalidTypeError(
            f"{field!r} must be a Decimal (got {type(value).__name__} {describe(value)})"
        )
    if not value.is_finite():
        raise InvalidValueError(f"{field!r} must be a finite Decimal (got {describe(value)})")
    return str(value)


_DATE_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _parse_date(text: object, field: str) -> date:
    if not isinstance(text, str) or _DATE_RE.fullmatch(text) is None:
        raise InvalidValueError(
            f'{field!r} must be a date string such as "2026-12-25" (got {_describe(text)})'
        )
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise InvalidValueError(
            f"{field!r} is not a valid date: {exc} (got {describe(text)})"
        ) from None
