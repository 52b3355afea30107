"""Empirical capabilities: the observed distribution of past durations."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Hashable, Iterable, Sequence
from datetime import timedelta
from typing import Any

import attrs

from promisekit._validation import check_aware, check_duration, check_non_empty_str, describe
from promisekit.buffering._capability._protocol import (
    _DEFAULT_RESIDUAL_MIN,
    Capability,
    _check_level,
    _duration,
    _rank,
)
from promisekit.buffering._common import (
    Clock,
    check_calendar,
    check_count,
    check_probability,
    fmt_duration,
    td_us,
    to_us,
    us_td,
)
from promisekit.buffering._history import _coerce_history
from promisekit.calendar import BusinessCalendar
from promisekit.errors import (
    InsufficientDataError,
    InvalidTypeError,
    InvalidValueError,
)


class _SampleMixin(Capability):
    """Empirical-distribution arithmetic over a sorted sequence of microseconds."""

    __slots__ = ()

    @property
    def _values(self) -> Sequence[int]:  # pragma: no cover - overridden
        raise NotImplementedError

    @property
    def _label(self) -> str:  # pragma: no cover - overridden
        raise NotImplementedError

    @property
    def n_samples(self) -> int:
        """The number of observed durations.

        .. versionadded:: 0.1.0
        """
        return len(self._values)

    @property
    def max_confidence(self) -> float:
        """``n / (n + 1)``: see :attr:`Capability.max_confidence`.

        .. versionadded:: 0.1.0
        """
        n = len(self._values)
        return n / (n + 1)

    def quantile(self, q: float) -> timedelta:
        """The inverted-CDF ``q``-quantile: ``x[max(1, ceil(q n))]`` (1-based, sorted).

        Always an observed duration, and ``cdf(quantile(q)) >= q``.

        .. versionadded:: 0.1.0
        """
        level = q if type(q) is float and 0.0 <= q <= 1.0 else _check_level(q)
        values = self._values
        return us_td(values[_rank(level, len(values))])

    def cdf(self, duration: timedelta) -> float:
        """The fraction of observed durations ``<= duration``.

        .. versionadded:: 0.1.0
        """
        values = self._values
        return bisect_right(values, _duration("duration", duration)) / len(values)

    def residual_quantile(
        self, q: float, elapsed: timedelta, *, min_samples: int = _DEFAULT_RESIDUAL_MIN
    ) -> timedelta:
        """The inverted-CDF ``q``-quantile of ``x - elapsed`` over the durations ``x > elapsed``.

        .. versionadded:: 0.1.0
        """
        level = check_probability("q", q, allow_zero=True)
        spent = td_us(check_duration("elapsed", elapsed))
        floor = check_count("min_samples", min_samples)
        values = self._values
        first = bisect_right(values, spent)
        remaining = len(values) - first
        if remaining < floor:
            raise InsufficientDataError(self._too_few(spent, remaining, floor))
        return us_td(values[first + _rank(level, remaining)] - spent)

    def residual_cdf(self, duration: timedelta, elapsed: timedelta) -> float:
        """The fraction of durations ``x > elapsed`` with ``x - elapsed <= duration``.

        .. versionadded:: 0.1.0
        """
        amount = _duration("duration", duration)
        spent = td_us(check_duration("elapsed", elapsed))
        values = self._values
        first = bisect_right(values, spent)
        remaining = len(values) - first
        if remaining == 0:
            raise InsufficientDataError(self._too_few(spent, 0, 1))
        if amount < 0:
            return 0.0
        return (bisect_right(values, spent + amount) - first) / remaining

    def n_longer_than(self, elapsed: timedelta) -> int:
        """How many observed durations exceed ``elapsed``.

        .. versionadded:: 0.1.0
        """
        spent = _duration("elapsed", elapsed)
        return len(self._values) - bisect_right(self._values, spent)

    def _too_few(self, spent: int, remaining: int, needed: int) -> str:
        return (
            f"only {remaining} of the {len(self._values)} past {self._label} took longer than "
            f"the {fmt_duration(spent)} already elapsed; at least {needed} are needed "
            f"('min_samples'={needed}) to estimate the remaining time"
        )

    def describe(self) -> str:
        """``"212 past callbacks"``.

        .. versionadded:: 0.1.0
        """
        return f"{len(self._values)} past {self._label}"


class _Deviations(tuple):  # type: ignore[type-arg]
    """Signed durations handed over by :meth:`EmpiricalCapability.from_deviations`."""

    __slots__ = ()


def _convert_samples(value: Any) -> tuple[int, ...]:
    if isinstance(value, (str, bytes, timedelta)) or not isinstance(value, Iterable):
        raise InvalidTypeError(
            f"'durations' must be an iterable of durations (timedelta or seconds) "
            f"(got {type(value).__name__} {describe(value)})"
        )
    signed = isinstance(value, _Deviations)
    samples = sorted(
        td_us(check_duration(f"durations[{i}]", item, allow_negative=signed))
        for i, item in enumerate(value)
    )
    if not samples:
        raise InsufficientDataError(
            "'durations' must contain at least one duration (got an empty collection)"
        )
    return tuple(samples)


def _check_label(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    check_non_empty_str(attribute.name, value)


@attrs.frozen(slots=True, repr=False)
class EmpiricalCapability(_SampleMixin):
    """The empirical distribution of past durations.

    Quantiles use the inverted-CDF definition (see the module docstring):
    always an observed duration, and ``cdf(quantile(q)) >= q``.

    Args:
        durations: Past durations (``timedelta`` or seconds, ``>= 0``), in any order.
        label: What the durations are, plural, for explanations
            (``"callbacks"`` gives "p90 of 212 past callbacks").

    Raises:
        InsufficientDataError: ``durations`` is empty.
        InvalidTypeError: An item is not a duration.
        InvalidValueError: An item is negative or not finite.

    Example:
        >>> cap = EmpiricalCapability.from_durations([600, 900, 1200, 3600], label="callbacks")
        >>> cap.quantile(0.5), cap.quantile(0.75)
        (datetime.timedelta(seconds=900), datetime.timedelta(seconds=1200))
        >>> cap.cdf(cap.quantile(0.6)) >= 0.6
        True

    .. versionadded:: 0.1.0
    """

    _data: tuple[int, ...] = attrs.field(alias="durations", converter=_convert_samples)
    label: str = attrs.field(default="jobs", validator=_check_label, kw_only=True)

    @property
    def _values(self) -> Sequence[int]:
        return self._data

    @property
    def _label(self) -> str:
        return self.label

    @classmethod
    def from_durations(
        cls, durations: Iterable[timedelta | float], *, label: str = "jobs"
    ) -> EmpiricalCapability:
        """Build from past durations (``timedelta`` or seconds).

        .. versionadded:: 0.1.0
        """
        return cls(durations, label=label)

    @classmethod
    def from_deviations(
        cls, deviations: Iterable[timedelta | float], *, label: str = "jobs"
    ) -> EmpiricalCapability:
        """Build from signed deviations from a reference (``timedelta`` or seconds).

        A deviation is ``completion - reference due`` (a published schedule, an SLA
        target): negative when the work was done before the reference. The
        capability's quantiles are then deviations too, so ``reference +
        quantile(q)`` is a due kept with probability ``q`` (see
        :class:`ReferenceQuantile`). Such a capability is :attr:`signed`; quoting
        it from a request time (:func:`quote`) refuses negative windows.

        Example:
            >>> cap = EmpiricalCapability.from_deviations([-600, -60, 0, 120, 900])
            >>> cap.quantile(0.2), cap.signed
            (datetime.timedelta(days=-1, seconds=85800), True)

        .. versionadded:: 0.1.0
        """
        if isinstance(deviations, (str, bytes, timedelta)) or not isinstance(deviations, Iterable):
            _convert_samples(deviations)  # raises the type error
        return cls(_Deviations(deviations), label=label)

    @property
    def signed(self) -> bool:
        """Whether some durations are negative (deviations from a reference).

        .. versionadded:: 0.1.0
        """
        return self._data[0] < 0

    @classmethod
    def from_pairs(
        cls,
        pairs: Iterable[tuple[Any, Any]],
        calendar: BusinessCalendar | None = None,
        *,
        label: str = "jobs",
    ) -> EmpiricalCapability:
        """Build from ``(start, end)`` pairs of aware datetimes.

        With a calendar the durations are business time (``calendar.between``),
        otherwise real elapsed time.

        Raises:
            NaiveDatetimeError: A datetime has no time zone.
            InvalidValueError: A pair ends before it starts.
            InsufficientDataError: There are no pairs.

        .. versionadded:: 0.1.0
        """
        check_calendar(calendar)
        if isinstance(pairs, (str, bytes)) or not isinstance(pairs, Iterable):
            raise InvalidTypeError(
                f"'pairs' must be an iterable of (start, end) pairs (got {type(pairs).__name__})"
            )
        durations: list[timedelta] = []
        for index, pair in enumerate(pairs):
            if not isinstance(pair, (tuple, list)) or len(pair) != 2:
                raise InvalidTypeError(
                    f"'pairs[{index}]' must be a (start, end) pair "
                    f"(got {type(pair).__name__} {describe(pair)})"
                )
            start = check_aware(f"pairs[{index}][0]", pair[0])
            end = check_aware(f"pairs[{index}][1]", pair[1])
            if to_us(end) < to_us(start):
                raise InvalidValueError(
                    f"'pairs[{index}]' must not end before it starts "
                    f"(got start={start.isoformat(' ')}, end={end.isoformat(' ')})"
                )
            durations.append(us_td(Clock(calendar, start).between_us(start, end)))
        return cls(durations, label=label)

    @classmethod
    def from_history(
        cls,
        history: Iterable[Any],
        calendar: BusinessCalendar | None = None,
        *,
        label: str = "jobs",
        segment: Hashable | None = None,
    ) -> EmpiricalCapability:
        """Build from :class:`HistoryRecord` values (request → completion durations).

        Args:
            history: Records or ``(requested_at, completed_at, …)`` tuples.
            calendar: Measure durations in its business time.
            label: See the class.
            segment: Keep only the records of this segment (``None``: all).

        .. versionadded:: 0.1.0
        """
        check_calendar(calendar)
        records = _coerce_history(history)
        durations = [
            us_td(Clock(calendar, r.requested_at).between_us(r.requested_at, r.completed_at))
            for r in records
            if segment is None or r.segment == segment
        ]
        if not durations:
            raise InsufficientDataError(
                f"'history' has no records"
                f"{'' if segment is None else f' for segment {describe(segment)}'}"
                " to build an EmpiricalCapability from"
            )
        return cls(durations, label=label)

    @property
    def durations(self) -> tuple[timedelta, ...]:
        """The observed durations, sorted.

        .. versionadded:: 0.1.0
        """
        return tuple(us_td(v) for v in self._data)

    @property
    def mean(self) -> timedelta:
        """The mean observed duration.

        .. versionadded:: 0.1.0
        """
        return us_td(round(sum(self._data) / len(self._data)))

    def __repr__(self) -> str:
        return (
            f"EmpiricalCapability(n={len(self._data)}, median={self.quantile(0.5)!s}, "
            f"p90={self.quantile(0.9)!s}, max={us_td(self._data[-1])!s}, label={self.label!r})"
        )


class _LiveSample(_SampleMixin):
    """An empirical capability over a sorted list that the caller keeps growing.

    Used by the backtest to avoid copying the sample at every request; valid only
    while the list is not being modified.
    """

    __slots__ = ("_label_text", "_list")

    def __init__(self, values: list[int], label: str) -> None:
        self._list = values
        self._label_text = label

    @property
    def _values(self) -> Sequence[int]:
        return self._list

    @property
    def _label(self) -> str:
        return self._label_text
