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
    "LeaseLostError",
    "MissingDependencyError",
    "NaiveDatetimeError",
    "NoWorkingTimeError",
    "NotFittedError",
    "PositionConflictError",
    "PromiseKitError",
    "PromiseKitWarning",
    "UnknownTimeZoneError",
]


def _short(name: str) -> str:
    """Quote a name (already checked to be a string) for a message, cut to 60 characters."""
    return repr(name if len(name) <= 60 else name[:57] + "...")


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


class LeaseLostError(PromiseKitError, RuntimeError):
    """A fenced write was refused: its lease is held by someone else, or by nobody.

    Raised by ``append`` and ``append_many`` of a ledger store when a
    :class:`~promisekit.ledger.Checkpoint` with a ``holder`` is written while the lease
    named like the checkpoint is not held by that holder; nothing is written.

    Attributes:
        lease: Name of the lease.
        holder: The holder that tried to write.
        current: The holder of the lease now, or ``None`` if nobody holds it.

    .. versionadded:: 0.1.0
    """

    def __init__(self, lease: str, holder: str, current: str | None) -> None:
        self.lease = lease
        self.holder = holder
        self.current = current
        now = "nobody holds it" if current is None else f"it is held by {_short(current)}"
        super().__init__(
            f"lease {_short(lease)} is not held by {_short(holder)}: {now}; "
            f"the write was refused and nothing was written"
        )

    def __reduce__(self) -> tuple[type[LeaseLostError], tuple[str, str, str | None]]:
        return (type(self), (self.lease, self.holder, self.current))


class PositionConflictError(PromiseKitError, RuntimeError):
    """An append with ``expected_position`` found the ledger elsewhere.

    Another writer appended first (optimistic concurrency). Nothing was written; read
    the new events and decide again. Raised for ``expected_position`` (the ledger's last
    position) and for ``expected_positions`` (the last position of one promise's
    events; ``promise_id`` names it).

    Attributes:
        expected: The last position the writer expected.
        actual: The last position found (of the ledger, or of the promise's events).
        promise_id: The promise whose events moved on, or ``None`` for the ledger.

    .. versionadded:: 0.1.0
    """

    def __init__(self, expected: int, actual: int, promise_id: str | None = None) -> None:
        self.expected = expected
        self.actual = actual
        self.promise_id = promise_id
        if promise_id is None:
            text = f"'expected_position' is {expected} but the ledger's last position is {actual}"
        else:
            text = (
                f"'expected_positions' gives {expected} for promise {promise_id!r} but its "
                f"last event is at position {actual}"
            )
        super().__init__(f"{text}: another writer appended first; nothing was written")

    def __reduce__(
        self,
    ) -> tuple[type[PositionConflictError], tuple[int, int, str | None]]:
        return (type(self), (self.expected, self.actual, self.promise_id))


class PromiseKitWarning(UserWarning):
    """Base class of every warning promisekit emits."""
