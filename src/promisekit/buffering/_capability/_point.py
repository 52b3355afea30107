"""A point capability: the work takes one known duration."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import attrs

from promisekit._validation import check_duration
from promisekit.buffering._capability._protocol import (
    _DEFAULT_RESIDUAL_MIN,
    Capability,
    _duration,
)
from promisekit.buffering._common import (
    check_count,
    check_probability,
    fmt_duration,
    td_us,
    us_td,
)
from promisekit.errors import (
    InsufficientDataError,
)


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
