"""Private helpers of :mod:`promisekit.satisfaction`: checks, time and small maths.

Nothing here imports numpy, scipy or pandas: the helpers for the optional analysis stack
(:func:`require`) import them on demand and turn a missing one into a
:class:`~promisekit.errors.MissingDependencyError` naming the extra to install.
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from types import MappingProxyType, ModuleType
from typing import Any

from promisekit._validation import check_finite
from promisekit.calendar import BusinessCalendar
from promisekit.errors import InvalidTypeError, InvalidValueError, MissingDependencyError

__all__: list[str] = []

UTC = timezone.utc


def utc(moment: datetime) -> datetime:
    """The same instant in UTC (aware subtraction through UTC is exact across DST)."""
    return moment.astimezone(UTC)


def elapsed(calendar: BusinessCalendar | None, start: datetime, end: datetime) -> float:
    """Seconds from ``start`` to ``end``: working time with a calendar, else real time."""
    if calendar is None:
        return (utc(end) - utc(start)).total_seconds()
    return calendar.between(start, end).total_seconds()


def check_calendar(value: Any) -> BusinessCalendar | None:
    """``None`` or a :class:`BusinessCalendar`; anything else is a type error."""
    if value is not None and not isinstance(value, BusinessCalendar):
        raise InvalidTypeError(
            f"'calendar' must be a BusinessCalendar or None (got {type(value).__name__} {value!r})"
        )
    return value


def check_positive(field: str, value: Any) -> float:
    """A finite number ``> 0`` as a float."""
    number = check_finite(field, value)
    if number <= 0:
        raise InvalidValueError(f"{field!r} must be > 0 (got {value!r})")
    return number


def check_non_negative(field: str, value: Any) -> float:
    """A finite number ``>= 0`` as a float."""
    return check_finite(field, value, minimum=0)


def check_positive_duration(field: str, value: Any) -> timedelta:
    """A ``timedelta`` strictly greater than zero."""
    if not isinstance(value, timedelta):
        raise InvalidTypeError(
            f"{field!r} must be a timedelta (got {type(value).__name__} {value!r})"
        )
    if value <= timedelta(0):
        raise InvalidValueError(f"{field!r} must be a positive duration (got {value})")
    return value


def check_bool(field: str, value: Any) -> bool:
    """A real ``bool`` (``0``/``1`` refused: nothing is silently coerced)."""
    if not isinstance(value, bool):
        raise InvalidTypeError(f"{field!r} must be a bool (got {type(value).__name__} {value!r})")
    return value


def frozen_mapping(field: str, value: Any) -> Mapping[str, float]:
    """A read-only copy of a ``str -> finite float`` mapping."""
    if not isinstance(value, Mapping):
        raise InvalidTypeError(
            f"{field!r} must be a mapping of str to float (got {type(value).__name__} {value!r})"
        )
    copy: dict[str, float] = {}
    for key, item in value.items():
        if not isinstance(key, str):
            raise InvalidTypeError(
                f"{field!r} keys must be strings (got {type(key).__name__} {key!r})"
            )
        if isinstance(item, (bool, str, bytes)) or not isinstance(item, (int, float)):
            raise InvalidTypeError(
                f"{field!r} values must be numbers (got {type(item).__name__} {item!r} "
                f"for key {key!r})"
            )
        if not math.isfinite(item):
            raise InvalidValueError(
                f"{field!r} values must be finite numbers (got {item!r} for key {key!r})"
            )
        copy[key] = float(item)
    return MappingProxyType(copy)


def expit(z: float) -> float:
    """The logistic function ``1 / (1 + exp(-z))``, without overflow."""
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


def require(package: str, feature: str) -> ModuleType:
    """Import an optional package of the ``analysis`` extra, or raise a clear error."""
    try:
        return importlib.import_module(package)
    except ImportError as exc:
        extra = "plot" if package.startswith("matplotlib") else "analysis"
        raise MissingDependencyError(package.split(".")[0], extra, feature) from exc
