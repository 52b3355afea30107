"""Parametric capabilities: exponential or log-normal durations."""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable
from datetime import timedelta
from typing import Any, Literal

import attrs

from promisekit._validation import check_duration, check_finite, describe
from promisekit.buffering._capability._empirical import _convert_samples
from promisekit.buffering._capability._protocol import (
    _DEFAULT_RESIDUAL_MIN,
    _NORMAL,
    Capability,
    _duration,
)
from promisekit.buffering._common import (
    ceil_us,
    check_count,
    check_probability,
    fmt_duration,
    td_us,
    us_td,
)
from promisekit.errors import (
    InsufficientDataError,
    InvalidValueError,
)

_Family = Literal["exponential", "lognormal"]


_FAMILIES = ("exponential", "lognormal")


def _check_family(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value not in _FAMILIES:
        raise InvalidValueError(
            f"'family' must be one of {', '.join(repr(f) for f in _FAMILIES)} "
            f"(got {describe(value)})"
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
        raise InvalidValueError(f"'sigma' must be > 0 (got {describe(value)})")
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
