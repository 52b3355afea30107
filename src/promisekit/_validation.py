"""Shared argument checks, so every error message has the same shape."""

from __future__ import annotations

import decimal
import math
import numbers
import reprlib
from collections.abc import Iterable
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import attrs

from promisekit.errors import (
    InvalidTypeError,
    InvalidValueError,
    NaiveDatetimeError,
    UnknownTimeZoneError,
)

__all__ = [
    "aware",
    "check_aware",
    "check_duration",
    "check_finite",
    "check_in_range",
    "check_non_empty_str",
    "describe",
    "describe_names",
    "fmt_instant",
    "load_zone",
    "non_empty_str",
    "optional_aware",
    "optional_cost",
    "optional_quality",
    "optional_quantity",
    "optional_str",
    "to_decimal",
    "to_timedelta",
    "tuple_of",
    "utc",
]


class _SafeRepr(reprlib.Repr):
    """A ``reprlib.Repr`` that never fails: huge integers, deep nesting, broken ``__repr__``."""

    def __init__(self) -> None:
        super().__init__()
        self.maxlevel = 3
        self.maxstring = 60
        self.maxother = 60
        self.maxlong = 40
        self.maxlist = self.maxtuple = self.maxdict = self.maxset = self.maxfrozenset = 6

    def repr_int(self, x: int, level: int) -> str:
        if x.bit_length() > 128:
            return f"<an integer of about {int(x.bit_length() * 0.30103) + 1} digits>"
        return super().repr_int(x, level)

    def repr_instance(self, x: object, level: int) -> str:
        try:
            return super().repr_instance(x, level)
        except Exception:  # a broken or refusing __repr__ must not hide the real error
            return f"<{type(x).__name__} object>"


_SAFE_REPR = _SafeRepr()


def describe(value: object) -> str:
    """Return a short, safe ``repr`` of ``value`` for an error message.

    Never raises and never grows with the input: long strings and containers are cut
    (``...``), nesting deeper than three levels is elided, integers too large to print
    are described by their digit count. Error messages quote bad input through this so
    that reporting a bad value can never fail by itself.
    """
    try:
        return _SAFE_REPR.repr(value)
    except Exception:
        return f"<{type(value).__name__} object>"


def describe_names(names: Iterable[object], *, limit: int = 30) -> str:
    """Quote a list of names for a message: each one shortened, at most ``limit`` of them.

    ``describe_names(["a", "b"])`` gives ``"'a', 'b'"``; past ``limit`` names it ends with
    ``"… and N more"``, so a header of a thousand bad columns still makes a short message.
    """
    items = list(names)
    shown = ", ".join(describe(item) for item in items[:limit])
    if len(items) > limit:
        shown += f", … and {len(items) - limit} more"
    return shown


def load_zone(name: object, *, field: str = "tz") -> ZoneInfo:
    """Return the IANA zone ``name`` as a ``ZoneInfo``, or raise :class:`UnknownTimeZoneError`.

    Every zone name promisekit accepts goes through here, so every way a name can be
    wrong (unknown, malformed, a directory of the zone database such as ``"America"``)
    gives the same error naming ``field``.
    """
    if isinstance(name, ZoneInfo):
        return name
    if not isinstance(name, str):
        raise InvalidTypeError(
            f"{field!r} must be an IANA time-zone name such as 'America/Toronto' "
            f"(got {type(name).__name__} {describe(name)})"
        )
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError, TypeError):
        # OSError covers IsADirectoryError ("America") and unreadable files.
        raise UnknownTimeZoneError(
            f"{field!r} must be an IANA time-zone name such as 'America/Toronto' "
            f"(got {describe(name)})"
        ) from None


def check_in_range(field: str, value: datetime) -> datetime:
    """Return the aware ``value`` if its UTC instant is representable, else raise.

    ``datetime(9999, 12, 31, 23, 30, tzinfo=UTC-1)`` is a valid Python object whose
    instant lies after ``datetime.max`` in UTC: it cannot be compared with instants in
    other zones, converted or stored. Such values are refused where they enter.
    """
    if value.year in (1, 9999):
        try:
            value.astimezone(timezone.utc)
        except (OverflowError, ValueError):
            raise InvalidValueError(
                f"{field!r} is outside the range of representable instants: "
                f"{value.isoformat()} is before 0001-01-01 or after 9999-12-31 in UTC"
            ) from None
    return value


def check_aware(field: str, value: Any) -> datetime:
    """Return ``value`` if it is an aware datetime whose UTC instant exists, else raise."""
    if not isinstance(value, datetime):
        raise InvalidTypeError(
            f"{field!r} must be a timezone-aware datetime "
            f"(got {type(value).__name__} {describe(value)})"
        )
    if value.tzinfo is None or value.utcoffset() is None:
        raise NaiveDatetimeError(field, value)
    return check_in_range(field, value)


def to_timedelta(field: str, value: Any) -> timedelta:
    """Convert a duration (``timedelta``, or seconds as int/float) to ``timedelta``."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidTypeError(
            f"{field!r} must be a timedelta or a number of seconds "
            f"(got {type(value).__name__} {describe(value)})"
        )
    try:
        if not math.isfinite(value):
            raise InvalidValueError(f"{field!r} must be a finite duration (got {describe(value)})")
        return timedelta(seconds=value)
    except OverflowError:
        raise InvalidValueError(
            f"{field!r} must be a duration of at most {timedelta.max.days} days "
            f"(got {describe(value)} seconds)"
        ) from None


def check_duration(field: str, value: Any, *, allow_negative: bool = False) -> timedelta:
    """Convert and check a duration; negative ones are refused unless allowed."""
    delta = to_timedelta(field, value)
    if not allow_negative and delta < timedelta(0):
        raise InvalidValueError(f"{field!r} must not be negative (got {delta})")
    return delta


def check_finite(field: str, value: Any, *, minimum: float | None = None) -> float:
    """Return ``value`` as a float if it is a finite real number (and ``>= minimum``).

    Booleans and strings are refused rather than coerced: nothing is silently converted.
    """
    if isinstance(value, (bool, str, bytes)) or not isinstance(value, (numbers.Real, Decimal)):
        raise InvalidTypeError(
            f"{field!r} must be a number (got {type(value).__name__} {describe(value)})"
        )
    try:
        number = float(value)
    except OverflowError:
        raise InvalidValueError(
            f"{field!r} must be a finite number (got {describe(value)}, too large for a float)"
        ) from None
    if not math.isfinite(number):
        raise InvalidValueError(f"{field!r} must be a finite number (got {describe(value)})")
    if minimum is not None and number < minimum:
        raise InvalidValueError(f"{field!r} must be >= {minimum:g} (got {describe(value)})")
    return number


def check_bool(field: str, value: Any) -> bool:
    """Return ``value`` if it is a bool (``True`` or ``False``, not ``1`` or ``"yes"``)."""
    if not isinstance(value, bool):
        raise InvalidTypeError(
            f"{field!r} must be a bool (got {type(value).__name__} {describe(value)})"
        )
    return value


def check_non_empty_str(field: str, value: Any) -> str:
    """Return ``value`` if it is a non-blank string."""
    if not isinstance(value, str):
        raise InvalidTypeError(
            f"{field!r} must be a string (got {type(value).__name__} {describe(value)})"
        )
    if not value.strip():
        raise InvalidValueError(f"{field!r} must be a non-empty string (got {describe(value)})")
    return value


# --------------------------------------------------------------------------- attrs validators


def utc(value: datetime) -> datetime:
    """Return the aware ``value`` as the same instant in UTC (for exact comparisons)."""
    return value.astimezone(timezone.utc)


def fmt_instant(value: datetime) -> str:
    """Format a datetime for an error message."""
    return value.isoformat(" ")


def aware(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    """Attrs validator: the value is a timezone-aware datetime."""
    check_aware(attribute.name, value)


def optional_aware(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    """Attrs validator: the value is ``None`` or a timezone-aware datetime."""
    if value is not None:
        check_aware(attribute.name, value)


def non_empty_str(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    """Attrs validator: the value is a non-blank string."""
    check_non_empty_str(attribute.name, value)


def optional_str(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    """Attrs validator: the value is ``None`` or a non-blank string."""
    if value is not None:
        check_non_empty_str(attribute.name, value)


def to_decimal(field: str, value: object, *, minimum: Decimal | None = None) -> Decimal:
    """Convert ``value`` (Decimal, int, str, or float) to a finite :class:`~decimal.Decimal`.

    Floats are converted through their shortest ``repr`` (``0.1`` becomes ``Decimal('0.1')``,
    not the binary expansion). Booleans are refused.
    """
    if isinstance(value, bool) or not isinstance(value, (Decimal, int, float, str)):
        raise InvalidTypeError(
            f"{field!r} must be a decimal number (Decimal, int, str or float) "
            f"(got {type(value).__name__} {describe(value)})"
        )
    if isinstance(value, Decimal):
        number = value
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise InvalidValueError(
                f"{field!r} must be a finite decimal number (got {describe(value)})"
            )
        number = Decimal(str(value))
    elif isinstance(value, int):
        number = Decimal(value)
    else:
        try:
            number = Decimal(value.strip())
        except decimal.InvalidOperation:
            raise InvalidValueError(
                f"{field!r} must be a decimal number (got {describe(value)})"
            ) from None
    if not number.is_finite():
        raise InvalidValueError(
            f"{field!r} must be a finite decimal number (got {describe(value)})"
        )
    if minimum is not None and number < minimum:
        raise InvalidValueError(f"{field!r} must be >= {minimum} (got {describe(value)})")
    return number


_T = TypeVar("_T")


def tuple_of(kind: type[_T], field: str, value: object) -> tuple[_T, ...]:
    """Return ``value`` as a tuple if it is an iterable of ``kind`` instances (not a string)."""
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        raise InvalidTypeError(
            f"{field!r} must be an iterable of {kind.__name__} "
            f"(got {type(value).__name__} {describe(value)})"
        )
    items = tuple(value)
    for index, item in enumerate(items):
        if not isinstance(item, kind):
            raise InvalidTypeError(
                f"{field!r} must contain only {kind.__name__} instances "
                f"(got {type(item).__name__} {describe(item)} at index {index})"
            )
    return items


# --------------------------------------------------------------------------- shared converters
# The quantity, quality and cost fields of terms, deliveries and delivery events.


def optional_quantity(value: float | None) -> float | None:
    """Attrs converter of a ``quantity``: ``None``, or a finite number ``>= 0`` as a float."""
    return None if value is None else check_finite("quantity", value, minimum=0)


def optional_quality(value: float | None) -> float | None:
    """Attrs converter of a ``quality``: ``None``, or a finite number as a float."""
    return None if value is None else check_finite("quality", value)


def optional_cost(value: Decimal | int | float | str | None) -> Decimal | None:
    """Attrs converter of a ``cost``: ``None``, or a finite :class:`~decimal.Decimal` ``>= 0``."""
    return None if value is None else to_decimal("cost", value, minimum=Decimal(0))
