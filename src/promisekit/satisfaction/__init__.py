"""Satisfaction: the gap between what a customer expected and what was delivered.

An :class:`Expectation` is the reference point — from a promise
(:meth:`Expectation.from_promise`) or, when none was made, from a norm the customer
holds (:meth:`Expectation.from_norm`, :class:`Norms`). A :class:`SatisfactionModel`
scores an :class:`~promisekit.delivery.Outcome` against it and returns a
:class:`Satisfaction`: a continuous value, its components per term, a five-level
:class:`Level` and an expected CSAT on the 1–5 scale.

The built-in models are :class:`Disconfirmation` (relative disconfirmation through the
loss-averse :class:`ProspectValue` of prospect theory, with a breach penalty) and
:class:`ZoneOfTolerance` (a piecewise-linear :class:`ToleranceValue`). Both charge for
revisions (:class:`Recovery`) and missed non-time terms (:class:`TermWeights`), add the
saturating gain of compensation (:class:`CompensationCurve`), and can be fitted to
observed 1–5 scores (numpy and scipy, imported on demand).

The founding case: promise a callback within the hour and call back after 59 minutes,
the customer is satisfied; promise it by the end of the day and call back after the same
59 minutes, very satisfied.

Example:
    >>> from datetime import datetime, timedelta, timezone
    >>> start = datetime(2026, 3, 10, 9, 0, tzinfo=timezone.utc)
    >>> def promised(window):
    ...     return Expectation(kind="callback", made_at=start, due=start + window)
    >>> model = Disconfirmation()
    >>> for window in (timedelta(hours=1), timedelta(hours=8)):
    ...     expectation = promised(window)
    ...     outcome = expectation.completed(start + timedelta(minutes=59))
    ...     print(model.score(expectation, outcome).label.name)
    SATISFIED
    VERY_SATISFIED

.. versionadded:: 0.1.0
"""

from __future__ import annotations

from promisekit.satisfaction._compensation import CompensationCurve
from promisekit.satisfaction._diagnostics import ConvergenceWarning
from promisekit.satisfaction._expectation import Expectation, Norms, Source
from promisekit.satisfaction._fit import CalibrationRow, Evaluation, Prediction
from promisekit.satisfaction._labels import DEFAULT_CUTPOINTS, Labels, Level, Satisfaction
from promisekit.satisfaction._models import (
    Disconfirmation,
    Recovery,
    SatisfactionModel,
    TermWeights,
    ZoneOfTolerance,
)
from promisekit.satisfaction._value import ProspectValue, ToleranceValue

__all__ = [
    "DEFAULT_CUTPOINTS",
    "CalibrationRow",
    "CompensationCurve",
    "ConvergenceWarning",
    "Disconfirmation",
    "Evaluation",
    "Expectation",
    "Labels",
    "Level",
    "Norms",
    "Prediction",
    "ProspectValue",
    "Recovery",
    "Satisfaction",
    "SatisfactionModel",
    "Source",
    "TermWeights",
    "ToleranceValue",
    "ZoneOfTolerance",
]
