"""History records: when work was requested, when it was done, and what had been promised."""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from datetime import datetime, timedelta
from typing import Any

import attrs

from promisekit._validation import check_aware, describe
from promisekit.buffering._common import check_segment, to_us, us_td
from promisekit.errors import InconsistentRecordError, InvalidTypeError

__all__ = ["HistoryRecord"]


def _aware(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    check_aware(attribute.name, value)


def _optional_aware(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is not None:
        check_aware(attribute.name, value)


def _hashable(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    check_segment(attribute.name, value)


@attrs.frozen(slots=True)
class HistoryRecord:
    """One past job: when it was requested, when it was completed, and optionally more.

    History records feed :meth:`EmpiricalCapability.from_history`,
    :func:`backtest` and :meth:`Commitment.check`. Plain tuples
    ``(requested_at, completed_at[, segment[, promised_due]])`` are accepted
    wherever a history is expected and converted to records.

    Attributes:
        requested_at: When the customer asked (aware).
        completed_at: When the work was actually done (aware, not before
            ``requested_at``).
        segment: Optional kind or customer segment (any hashable value), used
            by per-segment capabilities and backtests.
        promised_due: Optional due date the business actually promised at the
            time, so that a backtest can score the business's own promises.

    Raises:
        NaiveDatetimeError: A datetime has no time zone.
        InvalidTypeError: A datetime is not a datetime, or the segment is not hashable.
        InconsistentRecordError: ``completed_at`` or ``promised_due`` is before
            ``requested_at``.

    Example:
        >>> from datetime import datetime, timezone
        >>> r = HistoryRecord(
        ...     datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc),
        ...     datetime(2026, 3, 2, 9, 40, tzinfo=timezone.utc),
        ...     segment="callback",
        ... )
        >>> r.duration
        datetime.timedelta(seconds=2400)

    .. versionadded:: 0.1.0
    """

    requested_at: datetime = attrs.field(validator=_aware)
    completed_at: datetime = attrs.field(validator=_aware)
    segment: Hashable | None = attrs.field(default=None, validator=_hashable)
    promised_due: datetime | None = attrs.field(default=None, validator=_optional_aware)

    def __attrs_post_init__(self) -> None:
        start = to_us(self.requested_at)
        if to_us(self.completed_at) < start:
            raise InconsistentRecordError(
                f"'completed_at' must not be before 'requested_at' (got requested_at="
                f"{self.requested_at.isoformat(' ')}, completed_at="
                f"{self.completed_at.isoformat(' ')})"
            )
        if self.promised_due is not None and to_us(self.promised_due) < start:
            raise InconsistentRecordError(
                f"'promised_due' must not be before 'requested_at' (got requested_at="
                f"{self.requested_at.isoformat(' ')}, promised_due="
                f"{self.promised_due.isoformat(' ')})"
            )

    @property
    def duration(self) -> timedelta:
        """Real elapsed time from request to completion.

        .. versionadded:: 0.1.0
        """
        return us_td(to_us(self.completed_at) - to_us(self.requested_at))


def _coerce_history(history: Any, field: str = "history") -> list[HistoryRecord]:
    """A list of :class:`HistoryRecord` from records or plain tuples.

    Error messages name the offending item, e.g. ``'history[3].completed_at'``.
    """
    if isinstance(history, (str, bytes, HistoryRecord)) or not isinstance(history, Iterable):
        raise InvalidTypeError(
            f"{field!r} must be an iterable of HistoryRecord or "
            f"(requested_at, completed_at[, segment[, promised_due]]) tuples "
            f"(got {type(history).__name__} {describe(history)})"
        )
    records: list[HistoryRecord] = []
    for index, item in enumerate(history):
        name = f"{field}[{index}]"
        if isinstance(item, HistoryRecord):
            records.append(item)
            continue
        if not isinstance(item, tuple) or not 2 <= len(item) <= 4:
            raise InvalidTypeError(
                f"{name!r} must be a HistoryRecord or a (requested_at, completed_at"
                f"[, segment[, promised_due]]) tuple (got {type(item).__name__} {describe(item)})"
            )
        requested = check_aware(f"{name}.requested_at", item[0])
        completed = check_aware(f"{name}.completed_at", item[1])
        segment = check_segment(f"{name}.segment", item[2]) if len(item) > 2 else None
        promised = item[3] if len(item) > 3 else None
        if promised is not None:
            check_aware(f"{name}.promised_due", promised)
        try:
            records.append(HistoryRecord(requested, completed, segment, promised))
        except InconsistentRecordError as exc:
            raise InconsistentRecordError(f"{name}: {exc}") from None
    return records
