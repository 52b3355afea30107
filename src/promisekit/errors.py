"""Every error and warning promisekit raises.

Each error subclasses :class:`PromiseKitError` *and* the matching builtin
(:class:`ValueError`, :class:`TypeError`, :class:`ImportError`), so callers can
catch either ``PromiseKitError`` or the builtin they already expect.

Example:
    >>> from datetime import datetime
    >>> from promisekit.errors import NaiveDatetimeError
    >>> try:
    ...     raise NaiveDatetimeError("due", datetime(2026, 3, 10, 9, 0))
    ... except ValueError as exc:
    ...     print(exc)
    'due' must be a timezone-aware datetime (got naive 2026-03-10 09:00:00)
"""

from __future__ import annotations

from datetime import datetime

__all__ = [
    "InconsistentRecordError",
    "InsufficientDataError",
    "InvalidTypeError",
    "InvalidValueError",
    "MissingDependencyError",
    "NaiveDatetimeError",
    "NoWorkingTimeError",
    "NotFittedError",
    "PromiseKitError",
    "PromiseKitWarning",
    "UnknownTimeZoneError",
]


class PromiseKitError(Exception):
    """Base class of every error raised by promisekit."""


class InvalidValueError(PromiseKitError, ValueError):
    """A value has the right type but is not acceptable (negative, empty, out of range…)."""


class InvalidTypeError(PromiseKitError, TypeError):
    """A value has the wrong type."""


class NaiveDatetimeError(InvalidValueError):
    """A datetime without a time zone was given where an aware one is required.

    promisekit never guesses a time zone: attach one (``zoneinfo.ZoneInfo``) or,
    when loading records, pass the zone of the naive timestamps explicitly.
    """

    def __init__(self, field: str, value: datetime) -> None:
        self.field = field
        self.value = value
        super().__init__(
            f"{field!r} must be a timezone-aware datetime (got naive {value.isoformat(' ')})"
        )


class UnknownTimeZoneError(InvalidValueError):
    """A time-zone name is not a known IANA zone."""


class NoWorkingTimeError(InvalidValueError):
    """A business calendar has no working time where some was needed."""


class InconsistentRecordError(PromiseKitError, ValueError):
    """Records contradict each other (a delivery for another promise, a revision in the past…)."""


class InsufficientDataError(PromiseKitError, ValueError):
    """There is too little data to compute the requested quantity honestly."""


class NotFittedError(PromiseKitError, ValueError, AttributeError):
    """A model was used before :meth:`fit` was called on it."""


class MissingDependencyError(PromiseKitError, ImportError):
    """An optional dependency is not installed; the message names the extra to install."""

    def __init__(self, package: str, extra: str, feature: str) -> None:
        self.package = package
        self.extra = extra
        super().__init__(
            f"{feature} needs the optional dependency {package!r}; "
            f"install it with: pip install 'promisekit[{extra}]'"
        )


class PromiseKitWarning(UserWarning):
    """Base class of every warning promisekit emits."""
