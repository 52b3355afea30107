"""Satisfaction models: the protocol, and the two built-in disconfirmation models.

Both built-ins (:class:`Disconfirmation`, :class:`ZoneOfTolerance`) share their scoring,
fitting and fitted attributes through :class:`._base._ModelBase`, their non-time costs
through :mod:`._terms`; they differ in their value function. Both measure the time
disconfirmation ``D`` of an outcome against the expected due date, pass it through a
value function, and add the breach penalty, the cost of revisions, the non-time
components and any compensation (see ``docs/satisfaction.md`` for the formulas).
Scoring one outcome is pure Python; fitting, prediction and evaluation import numpy and
scipy on demand (:mod:`promisekit.satisfaction._fit`).

The fitting code depends on the models, never the other way round: see
:func:`._base._fit_seam`.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from typing import Any, Protocol, runtime_checkable

import attrs

from promisekit._validation import check_finite
from promisekit.delivery import Outcome
from promisekit.errors import (
    InvalidValueError,
)
from promisekit.satisfaction._base import (
    _convert_breach,
    _convert_min_window,
    _convert_relative,
    _convert_self_weight,
    _convert_unit,
    _instance_of,
    _ModelBase,
)
from promisekit.satisfaction._common import (
    check_non_negative,
    check_positive,
)
from promisekit.satisfaction._compensation import CompensationCurve
from promisekit.satisfaction._expectation import Expectation
from promisekit.satisfaction._labels import Labels, Satisfaction
from promisekit.satisfaction._results import _FitState
from promisekit.satisfaction._terms import Recovery, TermWeights
from promisekit.satisfaction._value import (
    ProspectValue,
    ToleranceValue,
    ValueFunction,
)

__all__ = [
    "Disconfirmation",
    "Recovery",
    "SatisfactionModel",
    "TermWeights",
    "ZoneOfTolerance",
]


# --------------------------------------------------------------------------- protocol


@runtime_checkable
class SatisfactionModel(Protocol):
    """What every satisfaction model provides (built-in or plugin).

    A model scores an :class:`~promisekit.satisfaction.Expectation` against an
    :class:`~promisekit.delivery.Outcome`. Implementations must be deterministic, and
    ``score_many(pairs)`` must equal ``[score(e, o) for e, o in pairs]``.

    Example:
        .. code-block:: python

            assert isinstance(Disconfirmation(), SatisfactionModel)

    .. versionadded:: 0.1.0
    """

    def score(self, expectation: Expectation, outcome: Outcome) -> Satisfaction:
        """Score one outcome against its expectation.

        .. versionadded:: 0.1.0
        """
        ...

    def score_many(self, pairs: Iterable[tuple[Expectation, Outcome]]) -> list[Satisfaction]:
        """Score ``(expectation, outcome)`` pairs, in order.

        .. versionadded:: 0.1.0
        """
        ...


# --------------------------------------------------------------------------- models


_prospect_ok = _instance_of(ProspectValue, "ProspectValue")
_weights_ok = _instance_of(TermWeights, "TermWeights")
_recovery_ok = _instance_of(Recovery, "Recovery")
_labels_ok = _instance_of(Labels, "Labels")
_compensation_ok = _instance_of(CompensationCurve, "CompensationCurve")


@attrs.frozen(slots=True, repr=False)
class Disconfirmation(_ModelBase):
    """Expectation-disconfirmation with a loss-averse (prospect-theory) value function.

    For time, with ``E`` the expected window (``made_at`` to the due date in force) and
    ``T`` the actual duration (``made_at`` to completion), both in working time when
    the expectation has a calendar::

        D = (E - T) / E          relative=True (default): the share of the window saved
        D = (E - T) / unit       relative=False: time saved, in units (e.g. days)

        time = v(D)                      completed by the due date (kept)
        time = m * (v(D) - breach)       completed after it (broken)

    with ``v`` the :class:`ProspectValue` (``alpha = beta = 0.88``, ``lam = 2.25``,
    Tversky & Kahneman 1992) and ``m = 1`` — or ``repeat`` after an earlier failure
    (:class:`Recovery`). Whether the promise was broken is judged in real time (the
    customer was given an instant): a callback due at 17:00 made at 18:00 is a broken
    promise even though no working time elapsed. For a self-formed expectation
    (``source="self"``) no promise was broken: no breach penalty, and losses are
    weighted by ``self_weight``. Revisions,
    non-time terms (:class:`TermWeights`) and compensation add their own components;
    the value is their sum, labelled by ``labels`` (see ``docs/satisfaction.md``).

    **Defaults.** ``breach = 0.5``: breaking a promise is a discrete event, penalised
    beyond the size of the gap — people judge a broken promise harshly while exceeding
    one earns little more than keeping it (Gneezy & Epley 2014, "Worth keeping but not
    exceeding: asymmetric consequences of breaking versus exceeding promises", *Social
    Psychological and Personality Science* 5(7)); the size is promisekit's choice, set
    with the default labels so that a promise broken by a minute is DISSATISFIED.
    ``self_weight = 0.5``: customers hold a firm less responsible for a failure it did
    not promise to avoid (attribution: Folkes 1984, "Consumer reactions to product
    failure: an attributional approach", *Journal of Consumer Research* 10(4)); the size
    is promisekit's choice. ``min_window = 1 minute`` floors ``E`` in the relative form
    (a promise due at once).

    Hyperparameters are set in the constructor and frozen; :meth:`fit` estimates
    ``value``, ``breach``, the cut points and the logistic scale from data, records them
    in the model (``params_``, ``cutpoints_``, ``bse_``…) and returns it, scikit-learn
    style.

    Args:
        value: The value function (default :class:`ProspectValue`).
        relative: Relative (``True``) or absolute (``False``) disconfirmation.
        unit: The unit of absolute disconfirmation (default one hour).
        min_window: Floor of ``E`` in the relative form (default one minute).
        breach: Penalty of a broken promise, in value units (``>= 0``).
        self_weight: Weight of losses against a self-formed expectation (``>= 0``).
        weights: Weights of the non-time terms.
        recovery: Costs of revisions and repeated failures.
        labels: Cut points and CSAT mapping.
        compensation: Gain from compensation.

    Raises:
        InvalidTypeError: A hyperparameter has the wrong type.
        InvalidValueError: A hyperparameter is out of range.

    Example:
        >>> from datetime import datetime, timedelta, timezone
        >>> start = datetime(2026, 3, 10, 9, 0, tzinfo=timezone.utc)
        >>> hour = Expectation.from_norm("callback", start, timedelta(hours=1))
        >>> hour = attrs.evolve(hour, source="promise")
        >>> Disconfirmation().score(hour, hour.completed(start + timedelta(minutes=59))).label
        <Level.SATISFIED: 4>

    .. versionadded:: 0.1.0
    """

    value: ProspectValue = attrs.field(factory=ProspectValue, validator=_prospect_ok)
    relative: bool = attrs.field(default=True, converter=_convert_relative, kw_only=True)
    unit: timedelta = attrs.field(default=timedelta(hours=1), converter=_convert_unit, kw_only=True)
    min_window: timedelta = attrs.field(
        default=timedelta(minutes=1), converter=_convert_min_window, kw_only=True
    )
    breach: float = attrs.field(default=0.5, converter=_convert_breach, kw_only=True)
    self_weight: float = attrs.field(default=0.5, converter=_convert_self_weight, kw_only=True)
    weights: TermWeights = attrs.field(factory=TermWeights, validator=_weights_ok, kw_only=True)
    recovery: Recovery = attrs.field(factory=Recovery, validator=_recovery_ok, kw_only=True)
    labels: Labels = attrs.field(factory=Labels, validator=_labels_ok, kw_only=True)
    compensation: CompensationCurve = attrs.field(
        factory=CompensationCurve, validator=_compensation_ok, kw_only=True
    )
    _fitted: _FitState | None = attrs.field(
        default=None, init=False, eq=False, hash=False, repr=False
    )

    def _hyper_value(self) -> ValueFunction:
        return self.value

    def __repr__(self) -> str:
        return f"Disconfirmation({self._describe(['value'])})"


def _check_tolerance_order(instance: Any, attribute: attrs.Attribute[Any], value: float) -> None:
    if value < instance.adequate:
        raise InvalidValueError(
            f"'desired' must be >= 'adequate' ({instance.adequate!r}) (got {value!r})"
        )


def _adequate(value: Any) -> float:
    return check_finite("adequate", value)


def _desired(value: Any) -> float:
    return check_finite("desired", value)


def _below(value: Any) -> float:
    return check_positive("below", value)


def _inside(value: Any) -> float:
    return check_non_negative("inside", value)


def _above(value: Any) -> float:
    return check_positive("above", value)


@attrs.frozen(slots=True, repr=False)
class ZoneOfTolerance(_ModelBase):
    """Disconfirmation through a zone of tolerance (:class:`ToleranceValue`).

    Same model as :class:`Disconfirmation` with a piecewise-linear value function:
    steep below ``adequate``, nearly flat inside the zone, rising above ``desired``,
    continuous at both breakpoints and zero at ``adequate``. Both edges are on the
    disconfirmation scale: with the relative form, ``adequate=-0.1, desired=0.5`` means
    "up to 10 % of the window late is adequate, done in half the time is what the
    customer would love". Since the zone already tolerates slight lateness, the breach
    penalty defaults to ``0``. Fitting estimates the three slopes (the edges stay).

    Args:
        adequate: Lower edge of the zone.
        desired: Upper edge of the zone (``>= adequate``).
        below: Slope below ``adequate`` (default 2.25).
        inside: Slope inside the zone (default 0.1).
        above: Slope above ``desired`` (default 1.0).
        relative: As for :class:`Disconfirmation`.
        unit: As for :class:`Disconfirmation`.
        min_window: As for :class:`Disconfirmation`.
        self_weight: As for :class:`Disconfirmation`.
        weights: As for :class:`Disconfirmation`.
        recovery: As for :class:`Disconfirmation`.
        labels: As for :class:`Disconfirmation`.
        compensation: As for :class:`Disconfirmation`.
        breach: Penalty of a broken promise (default ``0``).

    Raises:
        InvalidTypeError: A hyperparameter has the wrong type.
        InvalidValueError: A hyperparameter is out of range.

    Example:
        >>> ZoneOfTolerance(-0.1, 0.5).value(-0.1)
        0.0

    .. versionadded:: 0.1.0
    """

    adequate: float = attrs.field(converter=_adequate)
    desired: float = attrs.field(converter=_desired, validator=_check_tolerance_order)
    below: float = attrs.field(default=2.25, converter=_below, kw_only=True)
    inside: float = attrs.field(default=0.1, converter=_inside, kw_only=True)
    above: float = attrs.field(default=1.0, converter=_above, kw_only=True)
    relative: bool = attrs.field(default=True, converter=_convert_relative, kw_only=True)
    unit: timedelta = attrs.field(default=timedelta(hours=1), converter=_convert_unit, kw_only=True)
    min_window: timedelta = attrs.field(
        default=timedelta(minutes=1), converter=_convert_min_window, kw_only=True
    )
    breach: float = attrs.field(default=0.0, converter=_convert_breach, kw_only=True)
    self_weight: float = attrs.field(default=0.5, converter=_convert_self_weight, kw_only=True)
    weights: TermWeights = attrs.field(factory=TermWeights, validator=_weights_ok, kw_only=True)
    recovery: Recovery = attrs.field(factory=Recovery, validator=_recovery_ok, kw_only=True)
    labels: Labels = attrs.field(factory=Labels, validator=_labels_ok, kw_only=True)
    compensation: CompensationCurve = attrs.field(
        factory=CompensationCurve, validator=_compensation_ok, kw_only=True
    )
    _fitted: _FitState | None = attrs.field(
        default=None, init=False, eq=False, hash=False, repr=False
    )

    @property
    def value(self) -> ToleranceValue:
        """The zone's :class:`ToleranceValue` (the hyperparameters, not a fitted one).

        .. versionadded:: 0.1.0
        """
        return ToleranceValue(
            self.adequate, self.desired, below=self.below, inside=self.inside, above=self.above
        )

    def _hyper_value(self) -> ValueFunction:
        return self.value

    def __repr__(self) -> str:
        return f"ZoneOfTolerance({self._describe(['adequate', 'desired'])})"
