"""Shared argument checks, so every error message has the same shape."""

from __future__ import annotations

import decimal
import math
import numbers
from collections.abc import Iterable
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any, TypeVar

import attrs

from promisekit.errors import InvalidTypeError, InvalidValueError, NaiveDatetimeError

__all__ = [
    "aware",
    "check_aware",
    "check_duration",
    "check_finite",
    "check_non_empty_str",
    "fmt_instant",
    "non_empty_str",
    "optional_aware",
    "optional_str",
    "to_decimal",
    "to_timedelta",
    "tuple_of",
    "utc",
]


def check_aware(field: str, value: Any) -> datetime:
    """Return ``value`` if it is an aware datetime, else raise a clear error."""
    if not isinstance(value, datetime):
        raise InvalidTypeError(
            f"{field!r} must be a timezone-aware datetime (got {type(value).__name__} {value!r})"
        )
    if value.tzinfo is None or value.utcoffset() is None:
        raise NaiveDatetimeError(field, value)
    return value


def to_timedelta(field: str, value: Any) -> timedelta:
    """Convert a duration (``timedelta``, or seconds as int/float) to ``timedelta``."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidTypeError(
            f"{field!r} must be a timedelta or a number of seconds "
            f"(got {type(value).__name__} {value!r})"
        )
    if not math.isfinite(value):
        raise InvalidValueError(f"{field!r} must be a finite duration (got {value!r})")
    return timedelta(seconds=value)


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
        raise InvalidTypeError(f"{field!r} must be a number (got {type(value).__name__} {value!r})")
    try:
        number = float(value)
    except OverflowError:
        raise InvalidValueError(
            f"{field!r} must be a finite number (got an integer of {len(str(abs(value)))} "
            "digits, too large for a float)"
        ) from None
    if not math.isfinite(number):
        raise InvalidValueError(f"{field!r} must be a finite number (got {value!r})")
    if minimum is not None and number < minimum:
        raise InvalidValueError(f"{field!r} must be >= {minimum:g} (got {value!r})")
    return number


def check_non_empty_str(field: str, value: Any) -> str:
    """Return ``value`` if it is a non-blank string."""
    if not isinstance(value, str):
        raise InvalidTypeError(f"{field!r} must be a string (got {type(value).__name__} {value!r})")
    if not value.strip():
        raise InvalidValueError(f"{field!r} must be a non-empty string (got {value!r})")
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
            f"(got {type(value).__name__} {value!r})"
        )
    if isinstance(value, Decimal):
        number = value
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise InvalidValueError(f"{field!r} must be a finite decimal number (got {value!r})")
        number = Decimal(str(value))
    elif isinstance(value, int):
        number = Decimal(value)
    else:
        try:
            number = Decimal(value.strip())
        except decimal.InvalidOperation:
            raise InvalidValueError(f"{field!r} must be a decimal number (got {value!r})") from None
    if not number.is_finite():
        raise InvalidValueError(f"{field!r} must be a finite decimal number (got {value!r})")
    if minimum is not None and number < minimum:
        raise InvalidValueError(f"{field!r} must be >= {minimum} (got {value!r})")
    return number


_T = TypeVar("_T")


def tuple_of(kind: type[_T], field: str, value: object) -> tuple[_T, ...]:
    """Return ``value`` as a tuple if it is an iterable of ``kind`` instances (not a string)."""
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        raise InvalidTypeError(
            f"{field!r} must be an iterable of {kind.__name__} "
            f"(got {type(value).__name__} {value!r})"
        )
    items = tuple(value)
    for index, item in enumerate(items):
        if not isinstance(item, kind):
            raise InvalidTypeError(
                f"{field!r} must contain only {kind.__name__} instances "
                f"(got {type(item).__name__} {item!r} at index {index})"
            )
    return items
