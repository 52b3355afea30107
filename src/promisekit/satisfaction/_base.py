"""The shared base of the built-in models: scoring, fitting and fitted attributes.

Scoring one outcome is pure Python (:mod:`._features` then the value function); fitting,
prediction and evaluation import numpy and scipy on demand, in
:mod:`promisekit.satisfaction._fit`.

Dependency direction: the fitting code depends on the models, never the other way round.
The models reach it through one seam, :func:`_fit_seam`, the single function-level
import of this module (the fitting module imports the models at module level).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from datetime import timedelta
from decimal import Decimal
from types import ModuleType
from typing import Any, TypeVar

import attrs

from promisekit.calendar import BusinessCalendar
from promisekit.delivery import Outcome
from promisekit.errors import (
    InvalidTypeError,
    InvalidValueError,
)
from promisekit.promise import Promise
from promisekit.satisfaction._common import (
    check_bool,
    check_non_negative,
    check_positive_duration,
)
from promisekit.satisfaction._compensation import CompensationCurve
from promisekit.satisfaction._expectation import Expectation
from promisekit.satisfaction._features import components, row_features
from promisekit.satisfaction._fitted import _Fitted
from promisekit.satisfaction._labels import Labels, Satisfaction
from promisekit.satisfaction._results import Evaluation, Prediction, _FitState
from promisekit.satisfaction._terms import Recovery, TermWeights
from promisekit.satisfaction._value import (
    ValueFunction,
)


def _convert_relative(value: Any) -> bool:
    return check_bool("relative", value)


def _convert_unit(value: Any) -> timedelta:
    return check_positive_duration("unit", value)


def _convert_min_window(value: Any) -> timedelta:
    return check_positive_duration("min_window", value)


def _convert_breach(value: Any) -> float:
    return check_non_negative("breach", value)


def _convert_self_weight(value: Any) -> float:
    return check_non_negative("self_weight", value)


def _instance_of(kind: type, name: str) -> Any:
    def validate(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
        if not isinstance(value, kind):
            raise InvalidTypeError(
                f"{attribute.name!r} must be a {name} (got {type(value).__name__} {value!r})"
            )

    return validate


def _check_expectation(value: object, where: str = "") -> Expectation:
    if not isinstance(value, Expectation):
        raise InvalidTypeError(
            f"'expectation' must be an Expectation{where} (got {type(value).__name__} {value!r})"
        )
    return value


def _check_outcome(value: object, where: str = "") -> Outcome:
    if not isinstance(value, Outcome):
        raise InvalidTypeError(
            f"'outcome' must be an Outcome{where} (got {type(value).__name__} {value!r})"
        )
    return value


_M = TypeVar("_M", bound="_ModelBase")


def _fit_seam() -> ModuleType:
    """The fitting module, :mod:`promisekit.satisfaction._fit` (the models' one seam to it).

    ``_fit`` imports the model classes at module level, so the dependency runs from the
    fitting code to the models; :meth:`_ModelBase.fit`, ``fit_aggregated``, ``predict``,
    ``evaluate`` and ``summary`` delegate through this function, which holds the only
    function-level import between the two. (numpy and scipy are imported later still,
    inside the fitting functions.)
    """
    from promisekit.satisfaction import _fit  # the seam: see the docstring

    return _fit


class _ModelBase(_Fitted):
    """Scoring, fitting and evaluation shared by the built-in models."""

    __slots__ = ()

    relative: bool
    unit: timedelta
    min_window: timedelta
    breach: float
    self_weight: float
    weights: TermWeights
    recovery: Recovery
    labels: Labels
    compensation: CompensationCurve
    _fitted: _FitState | None

    # ----------------------------------------------------------------- to override

    def _hyper_value(self) -> ValueFunction:  # pragma: no cover - abstract
        raise NotImplementedError

    # ----------------------------------------------------------------- parameters

    def _current(self) -> tuple[ValueFunction, float, Labels]:
        state = self._fitted
        if state is None:
            return self._hyper_value(), self.breach, self.labels
        return state.value, state.breach, state.labels

    # ----------------------------------------------------------------- scoring

    def score(
        self,
        expectation: Expectation,
        outcome: Outcome,
        *,
        compensation: Decimal | int | float | str | None = None,
        price: Decimal | int | float | str | None = None,
    ) -> Satisfaction:
        """Score ``outcome`` against ``expectation`` (pure Python).

        An ``OVERDUE`` outcome is scored as if completed at its ``assessed_at``: the
        best it can still be. A fitted model scores with its fitted parameters and
        gives level probabilities.

        Args:
            expectation: The reference point.
            outcome: The outcome to score (closed or overdue).
            compensation: Compensation given to the customer, or ``None``; adds a
                ``"compensation"`` component (see :class:`CompensationCurve`).
            price: The price the compensation is compared to; by default the outcome's
                delivered cost, else the expectation's cost ceiling.

        Returns:
            The :class:`Satisfaction`.

        Raises:
            InvalidTypeError: An argument has the wrong type.
            InvalidValueError: The outcome is ``PENDING``, or a compensation has no
                price.
            InconsistentRecordError: The outcome is for another promise, another due
                date, or completes before the expectation's start.

        .. versionadded:: 0.1.0
        """
        _check_expectation(expectation)
        _check_outcome(outcome)
        value, breach, labels = self._current()
        parts = components(self.recovery, row_features(self, expectation, outcome), value, breach)
        if compensation is not None:
            if price is None:
                price = outcome.delivered_cost or expectation.max_cost
            if price is None:
                raise InvalidValueError(
                    "'price' must be given to score a compensation when neither the outcome's "
                    "delivered cost nor the expectation's cost ceiling is known (got None)"
                )
            parts["compensation"] = self.compensation.gain_for(compensation, price)
        total = math.fsum(parts.values())
        return labels._score(total, parts)

    def score_many(self, pairs: Iterable[tuple[Expectation, Outcome]]) -> list[Satisfaction]:
        """Score ``(expectation, outcome)`` pairs, in order (same as scoring one by one).

        Raises:
            InvalidTypeError: ``pairs`` is not an iterable of pairs.

        .. versionadded:: 0.1.0
        """
        if isinstance(pairs, (str, bytes)) or not isinstance(pairs, Iterable):
            raise InvalidTypeError(
                f"'pairs' must be an iterable of (Expectation, Outcome) pairs "
                f"(got {type(pairs).__name__} {pairs!r})"
            )
        results = []
        for index, pair in enumerate(pairs):
            if not isinstance(pair, tuple) or len(pair) != 2:
                raise InvalidTypeError(
                    f"'pairs' must contain (Expectation, Outcome) pairs "
                    f"(got {type(pair).__name__} {pair!r} at index {index})"
                )
            expectation, outcome = pair
            _check_expectation(expectation, f" (at index {index})")
            _check_outcome(outcome, f" (at index {index})")
            results.append(self.score(expectation, outcome))
        return results

    def score_promise(
        self, promise: Promise, outcome: Outcome, calendar: BusinessCalendar | None = None
    ) -> Satisfaction:
        """Score an outcome against the expectation its promise set.

        Same as ``score(Expectation.from_promise(promise, calendar), outcome)``.

        .. versionadded:: 0.1.0
        """
        return self.score(Expectation.from_promise(promise, calendar), outcome)

    # ----------------------------------------------------------------- fitting

    def fit(
        self: _M,
        expectations: Sequence[Expectation | Promise],
        outcomes: Sequence[Outcome],
        scores: Sequence[int],
        *,
        sample_weight: Sequence[float] | None = None,
        calendar: BusinessCalendar | None = None,
        intervals: str | None = None,
        n_boot: int = 200,
        seed: int | None = None,
        covariates: Mapping[str, Sequence[float]] | None = None,
        link: str = "logit",
        scale_by: Sequence[Any] | None = None,
    ) -> _M:
        """Fit the value function, breach penalty and ordinal cut points to 1–5 scores.

        Maximum likelihood of an ordered logit on the model's value (``scipy.optimize``,
        BFGS with exact gradients; numpy, scipy imported here):
        ``P(score <= k) = logistic((c_k - value) / scale)``. The value-function
        parameters, the breach penalty (when some outcome is late), the logistic
        ``scale`` and the four cut points are estimated; the term weights, the recovery
        costs and the self weight stay fixed. Standard errors come from the inverse
        Hessian (numerical, from the exact gradient). A duration-only baseline (an
        ordered logit on the raw duration) is fitted alongside, for :meth:`evaluate`.

        Args:
            expectations: One expectation per outcome; a :class:`~promisekit.promise.Promise`
                is turned into one with ``calendar``.
            outcomes: The outcomes (closed or overdue).
            scores: Observed scores, ints 1–5; every level must occur.
            sample_weight: Frequency weights (``>= 0``), or ``None``.
            calendar: Calendar for the promises given in ``expectations``.
            intervals: How ``summary`` forms 95 % intervals: ``None`` or ``"wald"``
                (normal from the Hessian, on the log scale for positive parameters) or
                ``"bootstrap"`` (percentile intervals of ``n_boot`` refits on rows drawn
                with replacement; ``n_boot`` times the cost of a fit) or ``"profile"``
                (profile likelihood: the values whose log-likelihood, maximized over the
                other parameters, stays within ``chi2(1, 0.95) / 2`` of the maximum; an
                end never reached is ``-inf`` or ``inf``).
            n_boot: Number of bootstrap resamples (at least 20).
            seed: Seed of the bootstrap's random generator, or ``None``.
            covariates: Extra numeric columns, one number per outcome, added linearly
                to the value (``{"price": [...], "express": [0, 1, ...]}`` or a pandas
                DataFrame): their coefficients are fitted (in value units) and listed by
                name in ``params_``. :meth:`predict` and :meth:`evaluate` then need the
                same columns; :meth:`score` leaves them out (as if zero).
            link: ``"logit"`` (default, an ordered logit) or ``"probit"`` (an ordered
                probit: ``F`` the standard normal CDF); the fitted ``labels_`` carry
                it, so scoring gives the link's probabilities.
            scale_by: A segment label per outcome (e.g. a channel or a market): each
                segment gets its own scale, ``scale * ratio``, the first label in sorted
                order the reference (ratio 1) and the others' ratios fitted as
                ``scale[label]`` (a ratio above 1: noisier scores there).
                :meth:`predict` and :meth:`evaluate` then need the labels too.

        Returns:
            The model itself, fitted.

        Raises:
            MissingDependencyError: numpy or scipy is not installed.
            InvalidTypeError: An input has the wrong type.
            InvalidValueError: Lengths differ, a score is not 1–5 or a weight negative,
                or a covariate is not finite or reuses a parameter name.
            InsufficientDataError: A level never occurs, or there are too few rows.

        .. versionadded:: 0.1.0
        """
        state = _fit_seam()._fit_rows(
            self,
            expectations,
            outcomes,
            scores,
            sample_weight,
            calendar,
            intervals,
            n_boot,
            seed,
            covariates,
            link,
            scale_by,
        )
        object.__setattr__(self, "_fitted", state)
        return self

    def fit_aggregated(
        self: _M,
        lateness: Sequence[timedelta],
        mean_scores: Sequence[float],
        counts: Sequence[float],
        *,
        window: timedelta | None = None,
        fix_cutpoints: bool | None = None,
        intervals: str | None = None,
        n_boot: int = 200,
        seed: int | None = None,
        link: str = "logit",
    ) -> _M:
        """Fit to mean scores per lateness bucket, as dashboards report them.

        Weighted least squares on the expected score (weights = counts), for unrevised
        promises without other terms. The value-function parameters, the breach
        penalty, the logistic ``scale`` and the four cut points are estimated (the cut
        points as the first plus exponentiated increments, so they stay ordered). With
        ``fix_cutpoints=True`` the cut points stay those of ``labels``; with the default
        ``None`` they are fitted when there are more non-empty buckets than parameters
        including them, and otherwise kept fixed (``summary`` marks them ``(fixed)``).
        When the cut points are fitted and no bucket is early for a
        :class:`ProspectValue` (nothing fixes the unit of the value), ``scale`` is held
        at 1.

        Args:
            lateness: Representative lateness of each bucket (negative = early).
            mean_scores: Mean 1–5 score of each bucket.
            counts: Number of scores behind each mean (``>= 0``).
            window: The typical promised window, needed when ``relative`` (the default)
                to turn lateness into a relative disconfirmation.
            fix_cutpoints: ``True`` to keep the cut points of ``labels``, ``False`` to
                fit them (an error when the buckets are too few), ``None`` (default) to
                fit them when the buckets allow.
            intervals: ``None`` or ``"wald"`` (normal intervals), or ``"bootstrap"``:
                percentile intervals of ``n_boot`` refits, each on bucket means redrawn
                with the noise of ``count`` scores from the fitted level probabilities.
            n_boot: Number of bootstrap resamples (at least 20).
            seed: Seed of the bootstrap's random generator, or ``None``.
            link: ``"logit"`` (default) or ``"probit"``: the CDF of the ordinal model
                whose expected score is fitted to the means.

        Returns:
            The model itself, fitted.

        Raises:
            MissingDependencyError: numpy or scipy is not installed.
            InvalidTypeError: An input has the wrong type.
            InvalidValueError: Lengths differ, a mean is outside ``[1, 5]``, a count
                negative, or ``window`` is missing for a relative model.
            InsufficientDataError: Fewer buckets than parameters plus one.

        .. versionadded:: 0.1.0
        """
        state = _fit_seam()._fit_aggregated(
            self,
            lateness,
            mean_scores,
            counts,
            window,
            fix_cutpoints,
            intervals,
            n_boot,
            seed,
            link,
        )
        object.__setattr__(self, "_fitted", state)
        return self

    def predict(
        self,
        expectations: Sequence[Expectation | Promise],
        outcomes: Sequence[Outcome],
        *,
        calendar: BusinessCalendar | None = None,
        covariates: Mapping[str, Sequence[float]] | None = None,
        scale_by: Sequence[Any] | None = None,
    ) -> Prediction:
        """Expected scores and level probabilities of outcomes (vectorized, numpy).

        ``covariates`` are the columns the model was fitted with (by name), one number
        per outcome; required when it was fitted with some. ``scale_by``: the segment
        label of each outcome, required when the model was fitted with ``scale_by``.

        Raises:
            NotFittedError: The model is not fitted.
            InvalidValueError: ``covariates`` do not match those of the fit.
            MissingDependencyError: numpy is not installed.

        .. versionadded:: 0.1.0
        """
        state = self._state("predict")
        prediction: Prediction = _fit_seam()._predict(
            self, state, expectations, outcomes, calendar, covariates, scale_by
        )
        return prediction

    def predict_curve(
        self, lateness: Sequence[timedelta], *, window: timedelta | None = None
    ) -> Prediction:
        """Expected score and level probabilities at each lateness (negative = early).

        The curve of an unrevised promise without other terms, as
        :meth:`fit_aggregated` sees buckets: the same as :meth:`predict` on outcomes
        completed that late against their due date. A relative model needs the
        promised ``window``; by default the one given to :meth:`fit_aggregated`.

        Raises:
            NotFittedError: The model is not fitted.
            MissingDependencyError: numpy is not installed.
            InvalidTypeError: A lateness is not a timedelta, or ``window`` is not one.
            InvalidValueError: A relative model has no ``window`` (given or stored).

        .. versionadded:: 0.1.0
        """
        state = self._state("predict_curve")
        prediction: Prediction = _fit_seam()._predict_curve(self, state, lateness, window)
        return prediction

    def plot(
        self,
        observed: tuple[Sequence[timedelta], Sequence[float], Sequence[float]] | None = None,
        *,
        lateness: Sequence[timedelta] | None = None,
        window: timedelta | None = None,
        ax: Any = None,
    ) -> Any:
        """Draw the fitted curve (expected score by lateness) over observed bucket means.

        The curve is :meth:`predict_curve` on a grid spanning the observed buckets (or on
        ``lateness``), broken at the promise where the breach penalty makes it step
        down. ``observed`` is the ``(lateness, mean_scores, counts)`` given to
        :meth:`fit_aggregated` (or any buckets): their means are drawn as markers sized
        by their counts, and the counts as light bars on a second axis. matplotlib is
        imported here (the ``plot`` extra).

        Returns:
            The matplotlib ``Axes`` drawn on (``ax``, or a new figure's).

        Raises:
            NotFittedError: The model is not fitted.
            MissingDependencyError: numpy or matplotlib is not installed.
            InvalidTypeError: ``observed`` is not a triple, a lateness is not a
                timedelta, or ``ax`` is not an ``Axes``.
            InvalidValueError: The buckets are inconsistent (see :meth:`fit_aggregated`),
                or a relative model has no window.

        .. versionadded:: 0.1.0
        """
        state = self._state("plot")
        return _fit_seam()._plot_curve(self, state, observed, lateness, window, ax)

    def evaluate(
        self,
        expectations: Sequence[Expectation | Promise],
        outcomes: Sequence[Outcome],
        scores: Sequence[int],
        *,
        sample_weight: Sequence[float] | None = None,
        calendar: BusinessCalendar | None = None,
        covariates: Mapping[str, Sequence[float]] | None = None,
        scale_by: Sequence[Any] | None = None,
    ) -> Evaluation:
        """MAE, log-loss and a calibration table, against a duration-only baseline.

        The baseline is an ordered logit on the raw duration (``made_at`` to completion)
        alone, fitted with the model; after :meth:`fit_aggregated`, which has no
        durations, it is fitted on the evaluation data itself (in-sample, so flattered).

        ``covariates`` and ``scale_by``: as for :meth:`predict`.

        Raises:
            NotFittedError: The model is not fitted.
            MissingDependencyError: numpy or scipy is not installed.

        .. versionadded:: 0.1.0
        """
        state = self._state("evaluate")
        evaluation: Evaluation = _fit_seam()._evaluate(
            self,
            state,
            expectations,
            outcomes,
            scores,
            sample_weight,
            calendar,
            covariates,
            scale_by,
        )
        return evaluation

    def _fit_note(self) -> str:
        state = self._fitted
        if state is None:
            return "unfitted"
        how = "aggregated " if state.kind == "aggregated" else ""
        return f"fitted on {state.n_obs:,} {how}observations"

    def _describe(self, leading: Sequence[str]) -> str:
        parts = [f"{name}={getattr(self, name)!r}" for name in leading]
        for field in attrs.fields(type(self)):  # type: ignore[arg-type]
            if field.name.startswith("_") or field.name in leading or not field.init:
                continue
            value = getattr(self, field.name)
            default = field.default
            if isinstance(default, attrs.Factory):  # type: ignore[arg-type]
                default = default.factory()
            if value != default:
                parts.append(f"{field.name}={value!r}")
        parts.append(self._fit_note())
        return ", ".join(parts)
