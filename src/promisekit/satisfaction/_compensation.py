"""Compensation, but not at any cost: a saturating gain in satisfaction per compensation.

The gain is a logistic curve of the *compensation ratio* ``r = compensation / price``,
rescaled to start at zero and capped: beyond ``cap`` more money buys nothing.
"""

from __future__ import annotations

import math
from decimal import ROUND_CEILING, Decimal
from typing import Any

import attrs

from promisekit._validation import check_finite
from promisekit._validation import to_decimal as _to_decimal
from promisekit.errors import InvalidValueError
from promisekit.satisfaction._common import check_positive, expit

__all__ = ["CompensationCurve"]


def _midpoint(value: Any) -> float:
    return check_positive("midpoint", value)


def _steepness(value: Any) -> float:
    return check_positive("steepness", value)


def _cap(value: Any) -> float:
    return check_positive("cap", value)


def _max_gain(value: Any) -> float:
    return check_positive("max_gain", value)


def _price(value: Any) -> Decimal:
    price = _to_decimal("price", value, minimum=Decimal(0))
    if price == 0:
        raise InvalidValueError(f"'price' must be > 0 (got {value!r})")
    return price


@attrs.frozen(slots=True)
class CompensationCurve:
    """Satisfaction gained from compensating a customer, as a function of compensation / price.

    .. code-block:: text

        s(r)    = logistic(steepness * (r - midpoint))
        gain(r) = max_gain * (s(min(r, cap)) - s(0)) / (s(cap) - s(0))      r >= 0

    so ``gain(0) = 0``, the gain rises fastest around ``midpoint`` and stays at
    ``max_gain`` from ``cap`` on: compensating above ``cap`` times the price buys no
    more satisfaction.

    Defaults and sources: the effect of compensation on satisfaction is non-linear and
    levels off (Gelbrich, Gäthke & Grégoire 2015, "How much compensation should a firm
    offer for a flawed service?", *Journal of Service Research* 18(1)), and
    overcompensation repairs no more than full compensation (Haesevoets et al. 2017).
    ``midpoint = 0.9`` (the logistic is centred near 90 % of the price) and ``cap = 1.5``
    (no gain above about 150 %) follow those findings; ``steepness = 6`` and
    ``max_gain = 1.0`` (in satisfaction-value units: enough to lift a slightly broken
    promise back to SATISFIED with the default model, not a very late one) are
    promisekit's choices — override them, or calibrate them on your own data.

    Args:
        midpoint: Ratio of steepest gain (``> 0``).
        steepness: Logistic slope per unit of ratio (``> 0``).
        cap: Ratio above which the gain is flat (``> 0``).
        max_gain: Gain at and above ``cap``, in satisfaction-value units (``> 0``).

    Raises:
        InvalidTypeError: A parameter is not a number.
        InvalidValueError: A parameter is not finite or not positive.

    Example:
        >>> curve = CompensationCurve()
        >>> round(curve.gain(0.9), 3), curve.gain(1.5) == curve.gain(3.0) == 1.0
        (0.511, True)
        >>> curve.smallest_compensation(0.5, price=80)
        Decimal('72')

    .. versionadded:: 0.1.0
    """

    midpoint: float = attrs.field(default=0.9, converter=_midpoint)
    steepness: float = attrs.field(default=6.0, converter=_steepness)
    cap: float = attrs.field(default=1.5, converter=_cap)
    max_gain: float = attrs.field(default=1.0, converter=_max_gain)

    def _s(self, ratio: float) -> float:
        return expit(self.steepness * (ratio - self.midpoint))

    def gain(self, ratio: float) -> float:
        """The satisfaction gained by compensating ``ratio`` times the price (``ratio >= 0``).

        Raises:
            InvalidTypeError: ``ratio`` is not a number.
            InvalidValueError: ``ratio`` is negative or not finite.

        .. versionadded:: 0.1.0
        """
        ratio = check_finite("ratio", ratio, minimum=0)
        low, high = self._s(0.0), self._s(self.cap)
        return self.max_gain * (self._s(min(ratio, self.cap)) - low) / (high - low)

    def gain_for(
        self, compensation: Decimal | int | float | str, price: Decimal | int | float | str
    ) -> float:
        """The gain of compensating ``compensation`` on a purchase of ``price``.

        Raises:
            InvalidTypeError: An amount is not a decimal number.
            InvalidValueError: ``compensation`` is negative or ``price`` is not positive.

        .. versionadded:: 0.1.0
        """
        amount = _to_decimal("compensation", compensation, minimum=Decimal(0))
        return self.gain(float(amount / _price(price)))

    def ratio_for(self, target_gain: float) -> float | None:
        """The smallest ratio whose gain reaches ``target_gain``, or ``None`` if none does.

        Raises:
            InvalidTypeError: ``target_gain`` is not a number.
            InvalidValueError: ``target_gain`` is negative or not finite.

        .. versionadded:: 0.1.0
        """
        target = check_finite("target_gain", target_gain, minimum=0)
        if target == 0:
            return 0.0
        if target > self.max_gain:
            return None
        if target == self.max_gain:
            return self.cap
        low, high = self._s(0.0), self._s(self.cap)
        s = low + target / self.max_gain * (high - low)
        ratio = self.midpoint + math.log(s / (1.0 - s)) / self.steepness
        return min(max(ratio, 0.0), self.cap)

    def smallest_compensation(
        self,
        target_gain: float,
        price: Decimal | int | float | str,
        *,
        quantum: Decimal | int | float | str | None = None,
    ) -> Decimal | None:
        """The smallest compensation whose gain reaches ``target_gain``, or ``None``.

        ``None`` means no compensation reaches the target (it is above ``max_gain``):
        paying more would not help, so a policy should not try. The amount is rounded
        *up* to ``quantum`` (by default the precision of ``price``: ``"80"`` gives whole
        units, ``"79.90"`` cents), so it still reaches the target.

        Args:
            target_gain: The satisfaction gain wanted (``>= 0``, value units).
            price: The price of what was bought (``> 0``).
            quantum: Rounding step of the amount (``> 0``), or ``None``.

        Returns:
            The amount, a ``Decimal``, or ``None``.

        Raises:
            InvalidTypeError: An argument has the wrong type.
            InvalidValueError: ``target_gain`` is negative, ``price`` or ``quantum`` not
                positive.

        .. versionadded:: 0.1.0
        """
        amount_price = _price(price)
        if quantum is None:
            exponent = amount_price.as_tuple().exponent
            step = (
                Decimal(1).scaleb(exponent)
                if isinstance(exponent, int) and exponent < 0
                else Decimal(1)
            )
        else:
            step = _to_decimal("quantum", quantum, minimum=Decimal(0))
            if step == 0:
                raise InvalidValueError(f"'quantum' must be > 0 (got {quantum!r})")
        ratio = self.ratio_for(target_gain)
        if ratio is None:
            return None
        raw = Decimal(repr(ratio)) * amount_price
        steps = (raw / step).to_integral_value(rounding=ROUND_CEILING)
        amount = steps * step
        # Guard against float rounding at the boundary: never return an amount short of it.
        while self.gain(float(amount / amount_price)) < target_gain - 1e-12:
            amount += step
        return amount
