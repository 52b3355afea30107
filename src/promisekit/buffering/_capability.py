"""Capabilities: how long the work takes — a point estimate or a distribution of durations.

Durations are business time when the capability was built with a calendar (and should
then be quoted with the same calendar), real time otherwise.

Empirical quantile definition (used everywhere in promisekit): for ``n`` sorted
durations ``x[1] <= … <= x[n]`` and a level ``q`` in ``[0, 1]``, the ``q``-quantile is
the *inverted CDF* (also called the "lower" quantile, Hyndman & Fan type 1)::

    Q(q) = x[k]  with  k = max(1, ceil(q * n))

the smallest observed duration ``x`` whose empirical CDF ``F(x) = #{x[i] <= x} / n``
reaches ``q``. No interpolation: the result is always an observed duration. To be
immune to binary rounding, ``k`` is computed as the smallest integer in ``[1, n]``
with ``k / n >= q`` in floating point, so ``cdf(quantile(q)) >= q`` holds exactly
and ``quantile(0.9)`` of 40 durations is the 36th even though ``0.9 * 40`` is
``36.000000000000004`` in binary. ``quantile(0)`` is the shortest duration and
``quantile(1)`` the longest.
"""

from __future__ import annotations

import abc
import math
import statistics
from bisect import bisect_right
from collections.abc import Hashable, Iterable, Mapping, Sequence
from datetime import timedelta
from types import MappingProxyType
from typing import Any, Literal

import attrs

from promisekit._validation import check_aware, check_duration, check_finite, check_non_empty_str
from promisekit.buffering._common import (
    Clock,
    ceil_us,
    check_calendar,
    check_count,
    check_probability,
    check_segment,
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

__all__ = [
    "Capability",
    "EmpiricalCapability",
    "ParametricCapability",
    "PointCapability",
    "SegmentedCapability",
    "UnknownSegmentError",
]

_NORMAL = statistics.NormalDist()
_BELOW_ONE = math.nextafter(1.0, 0.0)
_DEFAULT_RESIDUAL_MIN = 30


class UnknownSegmentError(InvalidValueError):
    """A :class:`SegmentedCapability` has no capability for a segment and no fallback.

    Attributes:
        segment: The segment that was asked for.
        known: The segments the capability knows.

    .. versionadded:: 0.1.0
    """

    def __init__(self, segment: object, known: Sequence[object]) -> None:
        self.segment = segment
        self.known = tuple(known)
        shown = ", ".join(repr(k) for k in self.known[:20])
        more = ", …" if len(self.known) > 20 else ""
        super().__init__(
            f"'segment' must be one of the known segments [{shown}{more}] "
            f"or the SegmentedCapability needs a fallback (got {segment!r})"
        )


def _rank(q: float, n: int) -> int:
    """0-based index of the inverted-CDF ``q``-quantile of ``n`` sorted values.

    ``k`` (1-based) is the smallest integer in ``[1, n]`` with ``k / n >= q``, the
    division being the correctly rounded float one: ``cdf(quantile(q)) >= q`` then
    holds exactly as floats compare, and decimal levels behave as written (the
    p90 of 40 durations is the 36th, although ``0.9 * 40`` is not exactly 36).
    """
    k = min(max(math.ceil(q * n), 1), n)
    while k > 1 and (k - 1) / n >= q:
        k -= 1
    while k < n and k / n < q:
        k += 1
    return k - 1


def _check_level(value: Any) -> float:
    return check_probability("q", value, allow_zero=True)


def _duration(field: str, value: Any) -> int:
    return td_us(check_duration(field, value, allow_negative=True))


# --------------------------------------------------------------------------- protocol


class Capability(abc.ABC):
    """How long the work takes: the protocol every capability implements.

    Subclass it to plug in your own model of durations. Durations are
    :class:`~datetime.timedelta` (business time when quotes use a calendar).

    A capability is a *distribution* (``is_distribution`` is true) when it can
    say how likely a duration is; a point estimate is not, and quotes built
    on it carry no confidence.

    .. versionadded:: 0.1.0
    """

    __slots__ = ()

    @property
    def is_distribution(self) -> bool:
        """Whether :meth:`cdf` is a real probability (``False`` for a point estimate).

        .. versionadded:: 0.1.0
        """
        return True

    @property
    def n_samples(self) -> int | None:
        """How many observed durations back the capability (``None``: not sample-based).

        .. versionadded:: 0.1.0
        """
        return None

    @property
    def max_confidence(self) -> float:
        """The highest confidence the capability can honestly support.

        For ``n`` observed durations it is ``n / (n + 1)``: the probability that
        a *new* duration does not exceed the longest of ``n`` exchangeable past
        ones. For an unbounded distribution it is the largest float below 1.

        .. versionadded:: 0.1.0
        """
        return _BELOW_ONE

    @abc.abstractmethod
    def quantile(self, q: float) -> timedelta:
        """The duration within which the work is done with probability ``q``.

        Args:
            q: A probability in ``[0, 1]``.

        Raises:
            InvalidValueError: ``q`` is outside ``[0, 1]`` (or is ``1`` for an
                unbounded distribution).

        .. versionadded:: 0.1.0
        """

    @abc.abstractmethod
    def cdf(self, duration: timedelta) -> float:
        """The probability that the work is done within ``duration``.

        .. versionadded:: 0.1.0
        """

    @abc.abstractmethod
    def residual_quantile(
        self, q: float, elapsed: timedelta, *, min_samples: int = _DEFAULT_RESIDUAL_MIN
    ) -> timedelta:
        """How much *more* time is needed, with probability ``q``, given ``elapsed`` spent.

        The quantile of ``T - elapsed`` conditional on ``T > elapsed``.

        Args:
            q: A probability in ``[0, 1]``.
            elapsed: Time already spent on the work (>= 0).
            min_samples: For sample-based capabilities, the fewest durations
                longer than ``elapsed`` that may back the answer.

        Raises:
            InsufficientDataError: Too few past durations are longer than ``elapsed``.

        .. versionadded:: 0.1.0
        """

    @abc.abstractmethod
    def residual_cdf(self, duration: timedelta, elapsed: timedelta) -> float:
        """``P(T <= elapsed + duration | T > elapsed)``.

        Raises:
            InsufficientDataError: No past duration is longer than ``elapsed``.

        .. versionadded:: 0.1.0
        """

    def n_longer_than(self, elapsed: timedelta) -> int | None:
        """How many observed durations exceed ``elapsed`` (``None``: not sample-based).

        .. versionadded:: 0.1.0
        """
        return None

    @abc.abstractmethod
    def describe(self) -> str:
        """A few words for explanations: ``"212 past callbacks"``, ``"estimate"``.

        .. versionadded:: 0.1.0
        """

    def median(self) -> timedelta:
        """The 0.5-quantile: the internal target of a quote.

        .. versionadded:: 0.1.0
        """
        return self.quantile(0.5)


# --------------------------------------------------------------------------- point


def _convert_point(value: Any) -> timedelta:
    return check_duration("duration", value)


@attrs.frozen(slots=True)
class PointCapability(Capability):
    """A point estimate of the work's duration ("a callback takes 20 minutes").

    It is not a distribution: :meth:`quantile` returns the estimate for every
    level, :meth:`cdf` is a step at the estimate, and quotes built on it have
    ``confidence=None``. Quantile-based policies refuse it.

    Args:
        duration: The estimate (``timedelta`` or seconds, ``>= 0``).

    Raises:
        InvalidTypeError: ``duration`` is not a duration.
        InvalidValueError: ``duration`` is negative or not finite.

    Example:
        >>> from datetime import timedelta
        >>> PointCapability(timedelta(minutes=20)).quantile(0.9)
        datetime.timedelta(seconds=1200)

    .. versionadded:: 0.1.0
    """

    duration: timedelta = attrs.field(converter=_convert_point)

    @property
    def is_distribution(self) -> bool:
        """Always ``False``: a point estimate has no spread.

        .. versionadded:: 0.1.0
        """
        return False

    def quantile(self, q: float) -> timedelta:
        """The estimate, whatever ``q`` (validated all the same).

        .. versionadded:: 0.1.0
        """
        check_probability("q", q, allow_zero=True)
        return self.duration

    def cdf(self, duration: timedelta) -> float:
        """``1.0`` from the estimate on, ``0.0`` before.

        .. versionadded:: 0.1.0
        """
        return 1.0 if _duration("duration", duration) >= td_us(self.duration) else 0.0

    def residual_quantile(
        self, q: float, elapsed: timedelta, *, min_samples: int = _DEFAULT_RESIDUAL_MIN
    ) -> timedelta:
        """``duration - elapsed`` while the estimate has not been exceeded.

        Raises:
            InsufficientDataError: ``elapsed`` already reaches the estimate: a
                point estimate cannot say how much longer the work will take.

        .. versionadded:: 0.1.0
        """
        check_probability("q", q, allow_zero=True)
        check_count("min_samples", min_samples)
        spent = td_us(check_duration("elapsed", elapsed))
        remaining = td_us(self.duration) - spent
        if remaining <= 0:
            raise InsufficientDataError(self._exceeded(spent))
        return us_td(remaining)

    def residual_cdf(self, duration: timedelta, elapsed: timedelta) -> float:
        """A step at ``duration - elapsed`` (see :meth:`residual_quantile`).

        .. versionadded:: 0.1.0
        """
        amount = _duration("duration", duration)
        spent = td_us(check_duration("elapsed", elapsed))
        remaining = td_us(self.duration) - spent
        if remaining <= 0:
            raise InsufficientDataError(self._exceeded(spent))
        return 1.0 if amount >= remaining else 0.0

    def _exceeded(self, spent: int) -> str:
        return (
            f"'elapsed' ({fmt_duration(spent)}) already reaches the point estimate "
            f"({fmt_duration(self.duration)}); a point estimate cannot say how much longer "
            "the work will take — use an EmpiricalCapability or ParametricCapability"
        )

    def describe(self) -> str:
        """``"estimate"``.

        .. versionadded:: 0.1.0
        """
        return "estimate"


# --------------------------------------------------------------------------- empirical


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


def _convert_samples(value: Any) -> tuple[int, ...]:
    if isinstance(value, (str, bytes, timedelta)) or not isinstance(value, Iterable):
        raise InvalidTypeError(
            f"'durations' must be an iterable of durations (timedelta or seconds) "
            f"(got {type(value).__name__} {value!r})"
        )
    samples = sorted(td_us(check_duration(f"durations[{i}]", item)) for i, item in enumerate(value))
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
                    f"(got {type(pair).__name__} {pair!r})"
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
                f"'history' has no records{'' if segment is None else f' for segment {segment!r}'}"
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


# --------------------------------------------------------------------------- parametric

_Family = Literal["exponential", "lognormal"]
_FAMILIES = ("exponential", "lognormal")


def _check_family(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value not in _FAMILIES:
        raise InvalidValueError(
            f"'family' must be one of {', '.join(repr(f) for f in _FAMILIES)} (got {value!r})"
        )


def _positive_duration(field: str, value: Any) -> timedelta:
    duration = check_duration(field, value)
    if duration <= timedelta(0):
        raise InvalidValueError(f"{field!r} must be a positive duration (got {duration})")
    return duration


def _convert_scale(value: Any) -> timedelta:
    return _positive_duration("scale", value)


def _convert_sigma(value: Any) -> float | None:
    if value is None:
        return None
    sigma = check_finite("sigma", value)
    if sigma <= 0:
        raise InvalidValueError(f"'sigma' must be > 0 (got {value!r})")
    return sigma


@attrs.frozen(slots=True)
class ParametricCapability(Capability):
    """A closed-form distribution of durations, with exact quantiles and CDF via :mod:`math`.

    * ``"exponential"``: ``scale`` is the mean; ``F(t) = 1 - exp(-t / mean)``.
    * ``"lognormal"``: ``scale`` is the median and ``sigma`` the standard deviation
      of ``log T``; ``F(t) = Φ((log t - log median) / sigma)``.

    Quantiles are rounded *up* to the microsecond. The 1-quantile is infinite
    and refused.

    Args:
        family: ``"exponential"`` or ``"lognormal"``.
        scale: Mean (exponential) or median (lognormal), a positive duration.
        sigma: Shape of the lognormal (``> 0``); must be ``None`` for the exponential.

    Raises:
        InvalidValueError: Unknown family, non-positive scale or sigma, or a
            sigma missing (lognormal) or given (exponential).

    Example:
        >>> from datetime import timedelta
        >>> cap = ParametricCapability.exponential(mean=timedelta(minutes=20))
        >>> round(cap.quantile(0.95).total_seconds() / 60, 2)
        59.91

    .. versionadded:: 0.1.0
    """

    family: _Family = attrs.field(validator=_check_family)
    scale: timedelta = attrs.field(converter=_convert_scale)
    sigma: float | None = attrs.field(default=None, converter=_convert_sigma)

    def __attrs_post_init__(self) -> None:
        if self.family == "lognormal" and self.sigma is None:
            raise InvalidValueError("'sigma' must be given for a lognormal capability (got None)")
        if self.family == "exponential" and self.sigma is not None:
            raise InvalidValueError(
                f"'sigma' must be None for an exponential capability (got {self.sigma!r})"
            )

    @classmethod
    def exponential(cls, mean: timedelta | float) -> ParametricCapability:
        """Exponential durations with the given mean (rate ``1 / mean``).

        .. versionadded:: 0.1.0
        """
        return cls("exponential", _positive_duration("mean", mean))

    @classmethod
    def lognormal(cls, median: timedelta | float, sigma: float) -> ParametricCapability:
        """Lognormal durations with the given median and log-scale standard deviation.

        .. versionadded:: 0.1.0
        """
        return cls("lognormal", _positive_duration("median", median), sigma)

    @classmethod
    def fit(
        cls, durations: Iterable[timedelta | float], family: _Family = "lognormal"
    ) -> ParametricCapability:
        """Maximum-likelihood fit to past durations.

        Exponential: the mean. Lognormal: ``median = exp(mean(log t))`` and
        ``sigma = pstdev(log t)``; every duration must then be positive.

        Raises:
            InsufficientDataError: Fewer than 2 durations (lognormal) or none.
            InvalidValueError: A zero duration for a lognormal fit, or all equal.

        .. versionadded:: 0.1.0
        """
        _check_family(None, attrs.fields(cls).family, family)
        samples = _convert_samples(durations)
        seconds = [v / 1e6 for v in samples]
        if family == "exponential":
            return cls.exponential(statistics.fmean(seconds))
        if len(seconds) < 2:
            raise InsufficientDataError(
                f"a lognormal fit needs at least 2 durations (got {len(seconds)})"
            )
        if seconds[0] <= 0:
            raise InvalidValueError(
                f"'durations' must all be positive for a lognormal fit (got {us_td(samples[0])})"
            )
        logs = [math.log(s) for s in seconds]
        sigma = statistics.pstdev(logs)
        if sigma <= 0:
            raise InvalidValueError(
                "'durations' must not all be equal for a lognormal fit (got a single value "
                f"{us_td(samples[0])})"
            )
        return cls.lognormal(math.exp(statistics.fmean(logs)), sigma)

    # ---- math in seconds

    def _seconds(self) -> float:
        return self.scale.total_seconds()

    def _survival(self, seconds: float) -> float:
        if seconds <= 0:
            return 1.0
        if self.family == "exponential":
            return math.exp(-seconds / self._seconds())
        assert self.sigma is not None
        return _NORMAL.cdf(-(math.log(seconds) - math.log(self._seconds())) / self.sigma)

    def _inverse_survival(self, p: float) -> float:
        """The duration whose survival probability is ``p`` (``0 < p <= 1``)."""
        if p >= 1.0:
            return 0.0
        if self.family == "exponential":
            return -self._seconds() * math.log(p)
        assert self.sigma is not None
        return self._seconds() * math.exp(-self.sigma * _NORMAL.inv_cdf(p))

    def _level(self, q: float) -> float:
        level = check_probability("q", q, allow_zero=True)
        if level >= 1.0:
            raise InvalidValueError(
                f"'q' must be < 1 for an unbounded {self.family} distribution (got {q!r})"
            )
        return level

    def quantile(self, q: float) -> timedelta:
        """``F⁻¹(q)``, rounded up to the microsecond.

        .. versionadded:: 0.1.0
        """
        level = self._level(q)
        if level == 0.0:
            return timedelta(0)
        if self.family == "exponential":
            seconds = -self._seconds() * math.log1p(-level)
        else:
            assert self.sigma is not None
            seconds = self._seconds() * math.exp(self.sigma * _NORMAL.inv_cdf(level))
        return us_td(ceil_us(seconds))

    def cdf(self, duration: timedelta) -> float:
        """``F(duration)`` (``0`` for a duration ``<= 0``).

        .. versionadded:: 0.1.0
        """
        seconds = _duration("duration", duration) / 1e6
        if seconds <= 0:
            return 0.0
        if self.family == "exponential":
            return -math.expm1(-seconds / self._seconds())
        assert self.sigma is not None
        return _NORMAL.cdf((math.log(seconds) - math.log(self._seconds())) / self.sigma)

    def residual_quantile(
        self, q: float, elapsed: timedelta, *, min_samples: int = _DEFAULT_RESIDUAL_MIN
    ) -> timedelta:
        """``S⁻¹((1 - q) S(elapsed)) - elapsed``; for the exponential, ``quantile(q)``.

        ``min_samples`` is accepted for the protocol and ignored.

        Raises:
            InsufficientDataError: ``elapsed`` is so far in the tail that its
                survival probability underflows.

        .. versionadded:: 0.1.0
        """
        level = self._level(q)
        check_count("min_samples", min_samples)
        spent = td_us(check_duration("elapsed", elapsed)) / 1e6
        if self.family == "exponential":
            return self.quantile(level)
        tail = self._survival(spent)
        p = (1.0 - level) * tail
        if p <= 0.0:
            raise InsufficientDataError(
                f"'elapsed' ({fmt_duration(us_td(round(spent * 1e6)))}) is beyond the numerical "
                f"range of the {self.family} distribution (survival probability {tail:.3g})"
            )
        return us_td(max(0, ceil_us(self._inverse_survival(p) - spent)))

    def residual_cdf(self, duration: timedelta, elapsed: timedelta) -> float:
        """``1 - S(elapsed + duration) / S(elapsed)``.

        .. versionadded:: 0.1.0
        """
        amount = _duration("duration", duration) / 1e6
        spent = td_us(check_duration("elapsed", elapsed)) / 1e6
        if amount <= 0:
            return 0.0
        if self.family == "exponential":
            return -math.expm1(-amount / self._seconds())
        tail = self._survival(spent)
        if tail <= 0.0:
            raise InsufficientDataError(
                f"'elapsed' is beyond the numerical range of the {self.family} distribution"
            )
        return min(1.0, max(0.0, 1.0 - self._survival(spent + amount) / tail))

    @property
    def mean(self) -> timedelta:
        """The mean duration.

        .. versionadded:: 0.1.0
        """
        if self.family == "exponential":
            return self.scale
        assert self.sigma is not None
        return us_td(round(self._seconds() * math.exp(self.sigma**2 / 2) * 1e6))

    def describe(self) -> str:
        """``"exponential durations (mean 20 min)"``.

        .. versionadded:: 0.1.0
        """
        if self.family == "exponential":
            return f"exponential durations (mean {fmt_duration(self.scale)})"
        return f"lognormal durations (median {fmt_duration(self.scale)}, sigma {self.sigma:.3g})"


# --------------------------------------------------------------------------- residual view


class _Residual(Capability):
    """The distribution of the *remaining* time given ``elapsed`` already spent."""

    __slots__ = ("_base", "_business", "_elapsed")

    def __init__(self, base: Capability, elapsed: timedelta, *, business: bool) -> None:
        self._base = base
        self._elapsed = elapsed
        self._business = business

    @property
    def is_distribution(self) -> bool:
        return self._base.is_distribution

    @property
    def n_samples(self) -> int | None:
        return self._base.n_longer_than(self._elapsed)

    @property
    def max_confidence(self) -> float:
        n = self.n_samples
        return self._base.max_confidence if n is None else n / (n + 1)

    def quantile(self, q: float) -> timedelta:
        return self._base.residual_quantile(q, self._elapsed, min_samples=1)

    def cdf(self, duration: timedelta) -> float:
        return self._base.residual_cdf(duration, self._elapsed)

    def residual_quantile(
        self, q: float, elapsed: timedelta, *, min_samples: int = _DEFAULT_RESIDUAL_MIN
    ) -> timedelta:
        total = self._elapsed + check_duration("elapsed", elapsed)
        return self._base.residual_quantile(q, total, min_samples=min_samples)

    def residual_cdf(self, duration: timedelta, elapsed: timedelta) -> float:
        return self._base.residual_cdf(duration, self._elapsed + check_duration("elapsed", elapsed))

    def n_longer_than(self, elapsed: timedelta) -> int | None:
        return self._base.n_longer_than(self._elapsed + check_duration("elapsed", elapsed))

    def describe(self) -> str:
        spent = fmt_duration(self._elapsed, business=self._business)
        n = self.n_samples
        if n is None:
            return f"{self._base.describe()} still running after {spent}"
        return f"the {n} of {self._base.describe()} still running after {spent}"


# --------------------------------------------------------------------------- segmented


def _convert_capabilities(value: Any) -> Mapping[Hashable, Capability]:
    if not isinstance(value, Mapping):
        raise InvalidTypeError(
            f"'capabilities' must be a mapping of segment -> Capability "
            f"(got {type(value).__name__} {value!r})"
        )
    out: dict[Hashable, Capability] = {}
    for key, capability in value.items():
        check_segment("capabilities key", key)
        if not isinstance(capability, Capability):
            raise InvalidTypeError(
                f"'capabilities[{key!r}]' must be a Capability "
                f"(got {type(capability).__name__} {capability!r})"
            )
        out[key] = capability
    return MappingProxyType(out)


def _check_fallback(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is not None and not isinstance(value, Capability):
        raise InvalidTypeError(
            f"'fallback' must be a Capability or None (got {type(value).__name__} {value!r})"
        )


@attrs.frozen(slots=True)
class SegmentedCapability:
    """One capability per kind or segment, with an optional fallback.

    Every function taking a capability also accepts a ``SegmentedCapability``
    together with ``segment=``; :meth:`for_segment` does the lookup.

    Args:
        capabilities: Mapping of segment key → :class:`Capability`.
        fallback: Used for unknown segments; without it they raise
            :class:`UnknownSegmentError`.

    Raises:
        InvalidTypeError: A value is not a Capability, or a key is not hashable.
        InvalidValueError: The mapping is empty and there is no fallback.

    Example:
        >>> seg = SegmentedCapability({"callback": PointCapability(1200)})
        >>> seg.for_segment("callback")
        PointCapability(duration=datetime.timedelta(seconds=1200))

    .. versionadded:: 0.1.0
    """

    capabilities: Mapping[Hashable, Capability] = attrs.field(
        converter=_convert_capabilities, hash=False
    )
    fallback: Capability | None = attrs.field(default=None, validator=_check_fallback)

    def __attrs_post_init__(self) -> None:
        if not self.capabilities and self.fallback is None:
            raise InvalidValueError(
                "'capabilities' must not be empty when there is no fallback (got {})"
            )

    @classmethod
    def from_history(
        cls,
        history: Iterable[Any],
        calendar: BusinessCalendar | None = None,
        *,
        label: str = "jobs",
        min_samples: int = 1,
        fallback: Capability | Literal["pooled"] | None = None,
    ) -> SegmentedCapability:
        """One :class:`EmpiricalCapability` per ``record.segment``.

        Args:
            history: Records or tuples (see :class:`HistoryRecord`).
            calendar: Measure durations in its business time.
            label: Label of each empirical capability.
            min_samples: Segments with fewer records are left out (and fall back).
            fallback: A capability, ``"pooled"`` for the empirical capability of
                all records, or ``None``.

        .. versionadded:: 0.1.0
        """
        check_calendar(calendar)
        floor = check_count("min_samples", min_samples)
        records = _coerce_history(history)
        groups: dict[Hashable, list[timedelta]] = {}
        pooled: list[timedelta] = []
        for r in records:
            clock = Clock(calendar, r.requested_at)
            amount = us_td(clock.between_us(r.requested_at, r.completed_at))
            pooled.append(amount)
            if r.segment is not None:
                groups.setdefault(r.segment, []).append(amount)
        if isinstance(fallback, str):
            if fallback != "pooled":
                raise InvalidValueError(
                    f"'fallback' must be a Capability, 'pooled' or None (got {fallback!r})"
                )
            if not pooled:
                raise InsufficientDataError("'history' is empty: no pooled fallback can be built")
            resolved: Capability | None = EmpiricalCapability(pooled, label=label)
        else:
            resolved = fallback
        caps = {
            key: EmpiricalCapability(values, label=label)
            for key, values in groups.items()
            if len(values) >= floor
        }
        return cls(caps, resolved)

    @property
    def segments(self) -> tuple[Hashable, ...]:
        """The known segment keys, in insertion order.

        .. versionadded:: 0.1.0
        """
        return tuple(self.capabilities)

    def for_segment(self, segment: Hashable) -> Capability:
        """The capability of ``segment``, else the fallback.

        Raises:
            UnknownSegmentError: ``segment`` is unknown and there is no fallback.

        .. versionadded:: 0.1.0
        """
        try:
            return self.capabilities[segment]
        except (KeyError, TypeError):
            if self.fallback is not None:
                return self.fallback
            raise UnknownSegmentError(segment, self.segments) from None

    def __getitem__(self, segment: Hashable) -> Capability:
        return self.for_segment(segment)


def _resolve_capability(capability: Any, segment: Hashable | None) -> Capability:
    """The capability to use: ``capability`` itself or its segment's."""
    if isinstance(capability, SegmentedCapability):
        if segment is None and None not in capability.capabilities:
            if capability.fallback is not None:
                return capability.fallback
            raise InvalidValueError(
                "'segment' must be given with a SegmentedCapability without fallback (got None)"
            )
        return capability.for_segment(segment)
    if not isinstance(capability, Capability):
        raise InvalidTypeError(
            f"'capability' must be a Capability or a SegmentedCapability "
            f"(got {type(capability).__name__} {capability!r})"
        )
    if segment is not None:
        raise InvalidValueError(
            f"'segment' must be None unless 'capability' is a SegmentedCapability (got {segment!r})"
        )
    return capability
