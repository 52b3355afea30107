"""Five satisfaction levels, the cut points that map a continuous value to them, and scores.

A model turns an expectation and an outcome into a continuous *value* (``0`` = exactly as
expected, positive = better). :class:`Labels` maps it to a :class:`Level` with four cut
points and to an expected CSAT on the 1–5 scale; once calibrated (a logistic ``scale``,
set by fitting) it also gives the probability of each level — an ordered logit.
"""

from __future__ import annotations

import enum
import itertools
import math
from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Any

import attrs

from promisekit._validation import check_finite, describe
from promisekit.errors import InvalidTypeError, InvalidValueError
from promisekit.satisfaction._common import check_positive, expit, frozen_mapping

__all__ = ["DEFAULT_CUTPOINTS", "Labels", "Level", "Satisfaction"]


class Level(enum.IntEnum):
    """The five levels of a CSAT survey, valued 1 (very dissatisfied) to 5 (very satisfied).

    An ``IntEnum``: ``Level.SATISFIED == 4`` and levels compare in order.

    .. versionadded:: 0.1.0
    """

    VERY_DISSATISFIED = 1
    DISSATISFIED = 2
    NEUTRAL = 3
    SATISFIED = 4
    VERY_SATISFIED = 5


#: The default cut points on the value scale, lowest first (see :class:`Labels`).
DEFAULT_CUTPOINTS: tuple[float, float, float, float] = (-2.75, -0.25, 0.0, 0.5)


def _convert_cutpoints(value: Any) -> tuple[float, float, float, float]:
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        raise InvalidTypeError(
            f"'cutpoints' must be a sequence of 4 numbers (got {type(value).__name__} {value!r})"
        )
    items = tuple(value)
    if len(items) != 4:
        raise InvalidValueError(
            f"'cutpoints' must have exactly 4 values, one between each pair of the 5 levels "
            f"(got {len(items)}: {items!r})"
        )
    numbers = tuple(check_finite(f"cutpoints[{i}]", item) for i, item in enumerate(items))
    if any(not low < high for low, high in itertools.pairwise(numbers)):
        raise InvalidValueError(f"'cutpoints' must be strictly increasing (got {numbers!r})")
    return numbers[0], numbers[1], numbers[2], numbers[3]


def _convert_scale(value: Any) -> float | None:
    return None if value is None else check_positive("scale", value)


#: The links of the ordinal model: ``P(level <= k) = F((c_k - v) / scale)`` with ``F``
#: the logistic (an ordered logit) or the standard normal (an ordered probit) CDF.
_LINKS = ("logit", "probit")


def _check_link(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    _check_link_value(value)


def _check_link_value(value: object) -> str:
    """``value`` when it is one of ``_LINKS``; else a promisekit error naming ``link``."""
    if not isinstance(value, str):
        raise InvalidTypeError(
            f"'link' must be a str (got {type(value).__name__} {describe(value)})"
        )
    if value not in _LINKS:
        raise InvalidValueError(
            f"'link' must be one of {', '.join(_LINKS)} (got {describe(value)})"
        )
    return value


def _normal_cdf(x: float) -> float:
    return 0.5 * math.erfc(-x / math.sqrt(2.0))


def _piece(low: float, high: float) -> tuple[float, float]:
    """``(factor, gap)`` of the expected-CSAT segment between cut points ``low < high``.

    The segment's CSAT is ``base + (value * factor - origin * factor) / gap``: with
    ``factor`` 1 (multiplying by 1 is exact) that is ``base + (value - origin) /
    (high - low)``. When ``high - low`` overflows (cut points about ``1e308`` apart), all
    terms are halved (exact at such magnitudes) so that the gap, and the numerator, stay
    finite. A tiny gap (down to ``5e-324``, never 0 for distinct floats) is kept as it
    is: the segment is steep and the quotient may overflow to an infinity, which the
    clip to ``[1, 5]`` turns into the right end.
    """
    gap = high - low
    if gap == math.inf:
        return 0.5, high * 0.5 - low * 0.5
    return 1.0, gap


@attrs.frozen(slots=True)
class Labels:
    """Cut points mapping a continuous satisfaction value to a :class:`Level` and a CSAT.

    A value ``v`` gets the level of the interval it falls in::

        VERY_DISSATISFIED  v <  c1
        DISSATISFIED       c1 <= v < c2
        NEUTRAL            c2 <= v < c3
        SATISFIED          c3 <= v < c4
        VERY_SATISFIED     c4 <= v

    **Default cut points** ``(-2.75, -0.25, 0.0, 0.5)``, read with the default
    :class:`~promisekit.satisfaction.Disconfirmation` model (relative disconfirmation,
    prospect value ``alpha = beta = 0.88``, ``lam = 2.25``, breach penalty ``0.5``):

    * ``c3 = 0``: a kept promise — even kept to the minute — is at least SATISFIED
      (expectation confirmed).
    * ``c2 = -0.25``, half the breach penalty: any broken promise (late by any amount,
      value ``<= -0.5``) is at most DISSATISFIED, so NEUTRAL is left to mild shortfalls —
      a proactively revised date, a small quantity or cost gap, or slight lateness
      against an estimate the customer formed themselves.
    * ``c1 = -2.75 = v(-1) - 0.5``: late by the whole promised window or more (it took
      over twice as long as promised) is VERY_DISSATISFIED.
    * ``c4 = 0.5``: delivered in about 55 % of the promised window or less (``v = 0.5``
      at ``D ≈ 0.455``) is VERY_SATISFIED — clearly over-delivered.

    **Expected CSAT.** Uncalibrated (``scale=None``), a piecewise-linear map through
    ``(c1, 1.5), (c2, 2.5), (c3, 3.5), (c4, 4.5)``, extended with the slopes of the
    outer segments and clipped to ``[1, 5]``: rounding it (halves up) gives the label.
    Cut points may be as close as floats allow (a segment then is a near-vertical step)
    or further apart than the float range: the map never overflows into a wrong value.
    Calibrated (``scale`` set, e.g. by fitting), the ordinal expectation
    ``sum(k * P(level k))`` with ``P(level <= k) = F((c_k - v) / scale)``, ``F`` the
    CDF of ``link`` (logistic by default); the label is then the level of the median
    (the interval containing ``v``).

    Args:
        cutpoints: Four strictly increasing finite numbers.
        scale: The logistic scale of an ordered logit (``> 0``), or ``None``
            (uncalibrated: no probabilities).
        link: ``"logit"`` (default: the logistic CDF, an ordered logit) or ``"probit"``
            (the standard normal CDF, an ordered probit), for calibrated labels.

    Raises:
        InvalidTypeError: A value has the wrong type.
        InvalidValueError: Not four values, not increasing, not finite, or
            ``scale <= 0``.

    Example:
        >>> labels = Labels()
        >>> labels.level(0.03).name, labels.expected_csat(0.0)
        ('SATISFIED', 3.5)

    .. versionadded:: 0.1.0
    """

    cutpoints: tuple[float, float, float, float] = attrs.field(
        default=DEFAULT_CUTPOINTS, converter=_convert_cutpoints
    )
    scale: float | None = attrs.field(default=None, converter=_convert_scale)
    link: str = attrs.field(default="logit", validator=_check_link, kw_only=True)

    @property
    def calibrated(self) -> bool:
        """True when a logistic ``scale`` is set, so level probabilities are available.

        .. versionadded:: 0.1.0
        """
        return self.scale is not None

    def level(self, value: float) -> Level:
        """The level of the interval containing ``value``.

        .. versionadded:: 0.1.0
        """
        value = check_finite("value", value)
        return Level(1 + sum(1 for c in self.cutpoints if c <= value))

    def probabilities(self, value: float) -> tuple[float, float, float, float, float] | None:
        """The probability of each level (VERY_DISSATISFIED first), or ``None`` uncalibrated.

        .. versionadded:: 0.1.0
        """
        value = check_finite("value", value)
        if self.scale is None:
            return None
        scale = self.scale
        cdf = expit if self.link == "logit" else _normal_cdf
        below = [cdf((c - value) / scale) for c in self.cutpoints]
        p1 = below[0]
        p2 = below[1] - below[0]
        p3 = below[2] - below[1]
        p4 = below[3] - below[2]
        p5 = cdf((value - self.cutpoints[3]) / scale)
        return (p1, max(p2, 0.0), max(p3, 0.0), max(p4, 0.0), p5)

    def expected_csat(self, value: float) -> float:
        """The expected CSAT (1–5) of ``value`` (see the class docstring).

        .. versionadded:: 0.1.0
        """
        value = check_finite("value", value)
        probabilities = self.probabilities(value)
        if probabilities is not None:
            return min(5.0, max(1.0, sum(k * p for k, p in enumerate(probabilities, 1))))
        c1, c2, c3, c4 = self.cutpoints
        if value < c2:  # also below c1: the outer segment's slope, then clipped
            base, origin, (factor, gap) = 2.5, c2, _piece(c1, c2)
        elif value < c3:
            base, origin, (factor, gap) = 2.5, c2, _piece(c2, c3)
        else:
            base, origin, (factor, gap) = 3.5, c3, _piece(c3, c4)
        # Python floats overflow to inf without an error: inf clips to 1 or 5
        csat = base + (value * factor - origin * factor) / gap
        return min(5.0, max(1.0, csat))

    def _score(self, value: float, components: Mapping[str, float]) -> Satisfaction:
        return Satisfaction(
            value=value,
            components=components,
            label=self.level(value),
            expected_csat=self.expected_csat(value),
            probabilities=self.probabilities(value),
        )


def _convert_value(value: Any) -> float:
    return check_finite("value", value)


def _convert_components(value: Any) -> Mapping[str, float]:
    return frozen_mapping("components", value)


def _check_label(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, Level):
        raise InvalidTypeError(
            f"'label' must be a Level member (got {type(value).__name__} {value!r})"
        )


def _convert_csat(value: Any) -> float:
    number = check_finite("expected_csat", value)
    if not 1.0 <= number <= 5.0:
        raise InvalidValueError(f"'expected_csat' must be within [1, 5] (got {value!r})")
    return number


def _convert_probabilities(value: Any) -> tuple[float, ...] | None:
    if value is None:
        return None
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        raise InvalidTypeError(
            f"'probabilities' must be a sequence of 5 numbers or None "
            f"(got {type(value).__name__} {value!r})"
        )
    items = tuple(check_finite(f"probabilities[{i}]", p) for i, p in enumerate(value))
    if len(items) != 5:
        raise InvalidValueError(
            f"'probabilities' must have 5 values, one per level (got {len(items)})"
        )
    if any(p < 0.0 or p > 1.0 for p in items) or not math.isclose(sum(items), 1.0, abs_tol=1e-9):
        raise InvalidValueError(
            f"'probabilities' must be within [0, 1] and sum to 1 (got {items!r})"
        )
    return items


@attrs.frozen(slots=True, kw_only=True)
class Satisfaction:
    """How satisfied a customer is with an outcome, as scored by a model.

    Attributes:
        value: The continuous satisfaction value: ``0`` is "exactly as expected",
            positive is better, negative worse (finite). It is the sum of
            ``components``.
        components: Contribution of each term to ``value`` (read-only mapping), e.g.
            ``{"time": 0.03}`` or ``{"time": -0.56, "revision": -0.1, "quantity": -0.2}``.
            Compared by ``==`` but not part of the hash.
        label: The :class:`Level`.
        expected_csat: The expected score on the 1–5 CSAT scale.
        probabilities: The probability of each level, VERY_DISSATISFIED first, once the
            model is calibrated or fitted; ``None`` otherwise.

    Raises:
        InvalidTypeError: A value has the wrong type.
        InvalidValueError: A number is not finite, ``expected_csat`` is outside
            ``[1, 5]``, or ``probabilities`` are not 5 probabilities summing to 1.

    .. versionadded:: 0.1.0
    """

    value: float = attrs.field(converter=_convert_value)
    components: Mapping[str, float] = attrs.field(
        converter=_convert_components, eq=True, hash=False
    )
    label: Level = attrs.field(validator=_check_label)
    expected_csat: float = attrs.field(converter=_convert_csat)
    probabilities: tuple[float, ...] | None = attrs.field(
        default=None, converter=_convert_probabilities
    )

    def __str__(self) -> str:
        parts = ", ".join(f"{name} {amount:+.3f}" for name, amount in self.components.items())
        return (
            f"{self.label.name} (value {self.value:+.3f}: {parts}; "
            f"expected CSAT {self.expected_csat:.2f})"
        )

    def probability(self, level: Level) -> float | None:
        """The probability of ``level``, or ``None`` when the model is not calibrated.

        .. versionadded:: 0.1.0
        """
        if not isinstance(level, Level):
            raise InvalidTypeError(
                f"'level' must be a Level member (got {type(level).__name__} {level!r})"
            )
        return None if self.probabilities is None else self.probabilities[level - 1]

    # Pickle / copy support: a mappingproxy cannot be pickled, so store a plain dict.
    def __getstate__(self) -> dict[str, Any]:
        state = {field.name: getattr(self, field.name) for field in attrs.fields(Satisfaction)}
        state["components"] = dict(self.components)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        for name, value in state.items():
            stored = MappingProxyType(dict(value)) if name == "components" else value
            object.__setattr__(self, name, stored)
