"""The capability protocol, the residual view, and the empirical quantile rank.

See :mod:`promisekit.buffering._capability` for the empirical quantile definition.
"""

from __future__ import annotations

import abc
import math
import statistics
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from promisekit._validation import check_duration, describe
from promisekit.buffering._common import (
    check_probability,
    fmt_duration,
    td_us,
)
from promisekit.errors import (
    InvalidValueError,
)

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
        shown = ", ".join(describe(k) for k in self.known[:20])
        more = ", …" if len(self.known) > 20 else ""
        super().__init__(
            f"'segment' must be one of the known segments [{shown}{more}] "
            f"or the SegmentedCapability needs a fallback (got {describe(segment)})"
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
