"""One request's conditional distribution as a :class:`~promisekit.buffering.Capability`.

A :class:`GridCapability` wraps row ``0`` of a :class:`GridDistributions` (a step
cdf over observed durations), so a conditional or calibrated model plugs into
:func:`~promisekit.buffering.quote`, every buffer policy, :func:`negotiate` and
:func:`propose_revision` for that one request.
"""

from __future__ import annotations

import math
from datetime import timedelta

from promisekit._validation import check_duration
from promisekit.buffering._capability._protocol import _DEFAULT_RESIDUAL_MIN, Capability
from promisekit.buffering._common import td_us, us_td
from promisekit.buffering._features import check_level, numpy_module
from promisekit.buffering._grid import GridDistributions
from promisekit.errors import InsufficientDataError, InvalidValueError

_BELOW_ONE = 1.0 - 2.0**-53


class GridCapability(Capability):
    """The distribution of one request's duration, from a conditional model.

    Built by :meth:`ConditionalQuoter.capability
    <promisekit.buffering.ConditionalQuoter.capability>`.

    .. versionadded:: 0.1.0
    """

    __slots__ = ("_dist", "_label")

    def __init__(self, dist: GridDistributions, *, label: str) -> None:
        self._dist = dist
        self._label = label

    @property
    def max_confidence(self) -> float:
        """The largest level whose quantile lies inside the fitted grid.

        .. versionadded:: 0.1.0
        """
        return _BELOW_ONE

    def quantile(self, q: float) -> timedelta:
        """The duration within which the work is done with probability ``q``.

        .. versionadded:: 0.1.0
        """
        level = check_level("q", q)
        if level >= 1.0:
            raise InvalidValueError("'q' must be below 1 for a conditional distribution (got 1)")
        return us_td(math.ceil(float(self._dist.quantile_us(level)[0])))

    def cdf(self, duration: timedelta) -> float:
        """The probability that the work is done within ``duration``.

        .. versionadded:: 0.1.0
        """
        amount = td_us(check_duration("duration", duration, allow_negative=True))
        return float(self._dist.cdf_at(float(amount))[0])

    def _remaining(self, spent: int) -> float:
        left = 1.0 - float(self._dist.cdf_at(float(spent))[0])
        if left <= 0.0:
            raise InsufficientDataError(
                f"no past duration like this one is longer than the {us_td(spent)} elapsed"
            )
        return left

    def residual_quantile(
        self, q: float, elapsed: timedelta, *, min_samples: int = _DEFAULT_RESIDUAL_MIN
    ) -> timedelta:
        """The ``q``-quantile of the remaining time given ``elapsed`` spent.

        .. versionadded:: 0.1.0
        """
        level = check_level("q", q)
        spent = td_us(check_duration("elapsed", elapsed))
        left = self._remaining(spent)
        base = float(self._dist.cdf_at(float(spent))[0])
        target = min(base + level * left, _BELOW_ONE)
        np = numpy_module()
        total = float(self._dist.quantile_us(np.array([target]))[0])
        return us_td(max(math.ceil(total) - spent, 0))

    def residual_cdf(self, duration: timedelta, elapsed: timedelta) -> float:
        """``P(T <= elapsed + duration | T > elapsed)``.

        .. versionadded:: 0.1.0
        """
        amount = td_us(check_duration("duration", duration, allow_negative=True))
        spent = td_us(check_duration("elapsed", elapsed))
        left = self._remaining(spent)
        base = float(self._dist.cdf_at(float(spent))[0])
        done = float(self._dist.cdf_at(float(spent + max(amount, 0)))[0])
        return min(max((done - base) / left, 0.0), 1.0)

    def describe(self) -> str:
        """A few words for explanations.

        .. versionadded:: 0.1.0
        """
        return self._label


__all__ = ["GridCapability"]
