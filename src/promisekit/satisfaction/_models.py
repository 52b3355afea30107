"""Satisfaction models: the protocol, and the built-in disconfirmation models.

Both built-ins measure the time disconfirmation ``D`` of an outcome against the expected
due date, pass it through a value function, and add the breach penalty, the cost of
revisions, the non-time components and any compensation (see ``docs/satisfaction.md``
for the formulas). Scoring one outcome is pure Python; fitting, prediction and
evaluation import numpy and scipy on demand (:mod:`promisekit.satisfaction._fit`).

Dependency direction: the fitting code depends on the models, never the other way round.
The models reach it through one seam, :func:`_fit_seam`, the single function-level
import of this module (the fitting module imports this one at module level).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from types import ModuleType
from typing import Any, NamedTuple, Protocol, TypeVar, runtime_checkable

import attrs

from promisekit._validation import check_finite
from promisekit.calendar import BusinessCalendar
from promisekit.delivery import Outcome, Status
from promisekit.errors import (
    InconsistentRecordError,
    InvalidTypeError,
    InvalidValueError,
    NotFittedError,
)
from promisekit.promise import Promise
from promisekit.satisfaction._common import (
    UTC,
    check_bool,
    check_non_negative,
    check_positive,
    check_positive_duration,
    elapsed,
)
from promisekit.satisfaction._compensation import CompensationCurve
from promisekit.satisfaction._expectation import Expectation
from promisekit.satisfaction._labels import Labels, Satisfaction
from promisekit.satisfaction._results import Evaluation, Prediction, _FitState
from promisekit.satisfaction._value import (
    ProspectValue,
    ToleranceValue,
    ValueFunction,
    _call_with,
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


# --------------------------------------------------------------------------- parameters


def _w_quantity(value: Any) -> float:
    return check_non_negative("quantity", value)


def _w_quality(value: Any) -> float:
    return check_non_negative("quality", value)


def _w_cost(value: Any) -> float:
    return check_non_negative("cost", value)


@attrs.frozen(slots=True)
class TermWeights:
    """Weights of the non-time terms: what a quantity, quality or cost shortfall costs.

    Each missed term adds a negative component to the satisfaction value:

    * ``quantity``: ``-quantity * missing / promised`` (the fraction not delivered);
    * ``quality``: ``-quality * (promised - delivered)`` per unit of the promise's own
      quality scale (rescale it to your scale);
    * ``cost``: ``-cost * (charged - ceiling) / ceiling`` (the fraction over the ceiling;
      anything charged on a ceiling of 0 counts as 100 % over).

    The defaults are promisekit's choices, not published estimates, picked to read well
    with the default labels: 10 % short or 10 % over budget costs ``0.2`` (NEUTRAL on an
    otherwise kept promise), half short costs ``1.0`` (DISSATISFIED), one point of
    quality below a 1–5 promise costs ``0.5`` (DISSATISFIED). Calibrate them on your
    data.

    Args:
        quantity: Weight per fraction of quantity missing (``>= 0``).
        quality: Weight per unit of quality below the promised minimum (``>= 0``).
        cost: Weight per fraction of cost above the ceiling (``>= 0``).

    Raises:
        InvalidTypeError: A weight is not a number.
        InvalidValueError: A weight is negative or not finite.

    .. versionadded:: 0.1.0
    """

    quantity: float = attrs.field(default=2.0, converter=_w_quantity)
    quality: float = attrs.field(default=0.5, converter=_w_quality)
    cost: float = attrs.field(default=2.0, converter=_w_cost)


def _proactive(value: Any) -> float:
    return check_non_negative("proactive", value)


def _repeat(value: Any) -> float:
    number = check_positive("repeat", value)
    if number < 1:
        raise InvalidValueError(f"'repeat' must be >= 1 (got {value!r})")
    return number


@attrs.frozen(slots=True)
class Recovery:
    """What revisions of a promise cost, and how much more a second failure weighs.

    Every revision in force at completion, and a final delivery after the due date in
    force, is a *failure event*; the first weighs 1, every later one ``repeat``:

    * a **proactive** revision (announced before the due date it replaces, with a new
      date) moves the reference point to the new date and costs ``proactive``;
    * a **late** revision (announced after that due date had passed: the customer was
      left waiting) costs the breach penalty plus the loss of the silent wait, as if the
      promise had been broken at the announcement;
    * a final delivery after the due date in force is a broken promise: its lateness
      loss and breach penalty are multiplied by ``repeat`` when an earlier failure
      happened (a second broken promise on the same request).

    Defaults: ``proactive = 0.1`` — a small penalty, well under the breach penalty
    (``0.5``), so an honest early update never scores worse than silence for the same
    delivery; ``repeat = 2.0`` — a second failure counts double: the recovery paradox
    (satisfaction after a well-recovered failure reaching or exceeding satisfaction
    without failure) appears after one failure, not after two (Maxham & Netemeyer 2002,
    "A longitudinal study of complaining customers' evaluations of multiple service
    failures and recovery efforts", *Journal of Marketing* 66(4)). The values themselves
    are promisekit's choices.

    Args:
        proactive: Cost of a proactive revision, in value units (``>= 0``).
        repeat: Multiplier of every failure after the first (``>= 1``).

    Raises:
        InvalidTypeError: A parameter is not a number.
        InvalidValueError: A parameter is out of range.

    .. versionadded:: 0.1.0
    """

    proactive: float = attrs.field(default=0.1, converter=_proactive)
    repeat: float = attrs.field(default=2.0, converter=_repeat)


# --------------------------------------------------------------------------- checks


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


def _fmt(value: datetime) -> str:
    return value.isoformat(" ")


# --------------------------------------------------------------------------- features


class _Row(NamedTuple):
    """What a model needs from one (expectation, outcome) pair, before its parameters."""

    d: float  # disconfirmation at completion (positive = early)
    loss_mult: float  # multiplier of a negative time value (self weight x repeat)
    breach_mult: float  # multiplier of the breach penalty (0 unless a promise ended late)
    proactive: float  # sum of the multipliers of the proactive revisions in force
    late: tuple[tuple[float, float], ...]  # late revisions: (disconfirmation at announce, mult)
    fixed: tuple[tuple[str, float], ...]  # non-time components (not fitted)
    duration: float  # seconds from made_at to completion (for the duration baseline)
    revised: bool  # whether a revision is in force


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


class _ModelBase:
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

    def _denominator(self, window_seconds: float) -> float:
        if self.relative:
            return max(window_seconds, self.min_window.total_seconds())
        return self.unit.total_seconds()

    # ----------------------------------------------------------------- features

    def _row(self, expectation: Expectation, outcome: Outcome) -> _Row:
        # Hot loop of fitting (once per row): keep attribute lookups and calls few.
        if outcome.status is Status.PENDING:
            raise InvalidValueError(
                f"'outcome' must be complete or overdue to be scored (got status PENDING "
                f"for promise {outcome.promise_id!r})"
            )
        end = outcome.completed_at
        if end is None:
            end = outcome.assessed_at
        made_at = expectation.made_at
        made_utc = made_at.astimezone(UTC)
        end_utc = end.astimezone(UTC)
        if end_utc < made_utc:
            raise InconsistentRecordError(
                f"'outcome' must not complete before the expectation's 'made_at' "
                f"({_fmt(made_at)}) (got {_fmt(end)})"
            )
        promised = expectation.source == "promise"
        revision = 0
        due = expectation.due
        revisions = expectation.revisions
        if promised:
            request_id = expectation.request_id
            if request_id is not None and outcome.promise_id != request_id:
                raise InconsistentRecordError(
                    f"'outcome' must be for promise {request_id!r}, the promise "
                    f"of the expectation (got {outcome.promise_id!r})"
                )
            revision = outcome.revision
            if revision or revisions:
                due = expectation.due_in_force(revision)
            due_utc = due.astimezone(UTC)
            if outcome.due is not due and outcome.due.astimezone(UTC) != due_utc:
                raise InconsistentRecordError(
                    f"'outcome' must be measured against the due date in force at revision "
                    f"{revision} ({_fmt(due)}) (got due {_fmt(outcome.due)})"
                )
        else:
            due_utc = due.astimezone(UTC)
        cal = expectation.calendar
        if cal is None:
            duration = (end_utc - made_utc).total_seconds()
            window = (due_utc - made_utc).total_seconds()
        else:
            duration = cal.between(made_at, end).total_seconds()
            window = cal.between(made_at, due).total_seconds()
        if self.relative:
            d = (window - duration) / max(window, self.min_window.total_seconds())
        else:
            d = (window - duration) / self.unit.total_seconds()
        proactive = 0.0
        late: tuple[tuple[float, float], ...] = ()
        if revision:
            repeat = self.recovery.repeat
            final_mult = repeat
            waits = []
            for record in revisions[:revision]:
                mult = 1.0 if record.number == 1 else repeat
                if record.late:
                    previous = elapsed(cal, made_at, record.previous_due)
                    waited = elapsed(cal, made_at, record.at)
                    waits.append(((previous - waited) / self._denominator(previous), mult))
                else:
                    proactive += mult
            late = tuple(waits)
        else:
            final_mult = 1.0
        fixed: tuple[tuple[str, float], ...] = ()
        if not (
            expectation.quantity is None
            and expectation.quality is None
            and expectation.max_cost is None
        ):
            fixed = self._fixed(expectation, outcome)
        return tuple.__new__(  # a NamedTuple without the cost of its keyword-aware __new__
            _Row,
            (
                d,
                final_mult if promised else final_mult * self.self_weight,
                final_mult if promised and end_utc > due_utc else 0.0,
                proactive,
                late,
                fixed,
                duration,
                revision > 0,
            ),
        )

    def _fixed(self, expectation: Expectation, outcome: Outcome) -> tuple[tuple[str, float], ...]:
        """The non-time components (quantity, quality, cost) of a row."""
        fixed: list[tuple[str, float]] = []
        weights = self.weights
        if expectation.quantity is not None:
            delivered = outcome.delivered_quantity
            short = 0.0
            if delivered is not None and expectation.quantity > 0:
                short = max(expectation.quantity - delivered, 0.0) / expectation.quantity
            fixed.append(("quantity", 0.0 - weights.quantity * short))
        if expectation.quality is not None:
            got = outcome.delivered_quality
            gap = 0.0 if got is None else max(expectation.quality - got, 0.0)
            fixed.append(("quality", 0.0 - weights.quality * gap))
        if expectation.max_cost is not None:
            charged = outcome.delivered_cost
            over = 0.0
            if charged is not None and charged > expectation.max_cost:
                excess = charged - expectation.max_cost
                over = float(excess / expectation.max_cost) if expectation.max_cost > 0 else 1.0
            fixed.append(("cost", 0.0 - weights.cost * over))
        return tuple(fixed)

    def _components(self, row: _Row, value: ValueFunction, breach: float) -> dict[str, float]:
        f = _call_with(value, row.d)
        time = f if f >= 0 else row.loss_mult * f
        if row.breach_mult:
            time -= row.breach_mult * breach
        components = {"time": time}
        if row.revised:
            cost = row.proactive * self.recovery.proactive
            for d_wait, mult in row.late:
                cost += mult * (breach + max(-_call_with(value, d_wait), 0.0))
            components["revision"] = 0.0 - cost
        components.update(row.fixed)
        return components

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
        components = self._components(self._row(expectation, outcome), value, breach)
        if compensation is not None:
            if price is None:
                price = outcome.delivered_cost or expectation.max_cost
            if price is None:
                raise InvalidValueError(
                    "'price' must be given to score a compensation when neither the outcome's "
                    "delivered cost nor the expectation's cost ceiling is known (got None)"
                )
            components["compensation"] = self.compensation.gain_for(compensation, price)
        total = math.fsum(components.values())
        return labels._score(total, components)

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

        Returns:
            The model itself, fitted.

        Raises:
            MissingDependencyError: numpy or scipy is not installed.
            InvalidTypeError: An input has the wrong type.
            InvalidValueError: Lengths differ, a score is not 1–5 or a weight negative.
            InsufficientDataError: A level never occurs, or there are too few rows.

        .. versionadded:: 0.1.0
        """
        state = _fit_seam()._fit_rows(self, expectations, outcomes, scores, sample_weight, calendar)
        object.__setattr__(self, "_fitted", state)
        return self

    def fit_aggregated(
        self: _M,
        lateness: Sequence[timedelta],
        mean_scores: Sequence[float],
        counts: Sequence[float],
        *,
        window: timedelta | None = None,
    ) -> _M:
        """Fit to mean scores per lateness bucket, as dashboards report them.

        Weighted least squares on the expected score (weights = counts), for unrevised
        promises without other terms. Means alone cannot separate the cut points from the
        value function, so the cut points stay those of ``labels``; the value-function
        parameters, the breach penalty and the logistic ``scale`` are estimated.

        Args:
            lateness: Representative lateness of each bucket (negative = early).
            mean_scores: Mean 1–5 score of each bucket.
            counts: Number of scores behind each mean (``>= 0``).
            window: The typical promised window, needed when ``relative`` (the default)
                to turn lateness into a relative disconfirmation.

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
        state = _fit_seam()._fit_aggregated(self, lateness, mean_scores, counts, window)
        object.__setattr__(self, "_fitted", state)
        return self

    def predict(
        self,
        expectations: Sequence[Expectation | Promise],
        outcomes: Sequence[Outcome],
        *,
        calendar: BusinessCalendar | None = None,
    ) -> Prediction:
        """Expected scores and level probabilities of outcomes (vectorized, numpy).

        Raises:
            NotFittedError: The model is not fitted.
            MissingDependencyError: numpy is not installed.

        .. versionadded:: 0.1.0
        """
        return _fit_seam()._predict(self, self._state("predict"), expectations, outcomes, calendar)

    def evaluate(
        self,
        expectations: Sequence[Expectation | Promise],
        outcomes: Sequence[Outcome],
        scores: Sequence[int],
        *,
        sample_weight: Sequence[float] | None = None,
        calendar: BusinessCalendar | None = None,
    ) -> Evaluation:
        """MAE, log-loss and a calibration table, against a duration-only baseline.

        The baseline is an ordered logit on the raw duration (``made_at`` to completion)
        alone, fitted with the model; after :meth:`fit_aggregated`, which has no
        durations, it is fitted on the evaluation data itself (in-sample, so flattered).

        Raises:
            NotFittedError: The model is not fitted.
            MissingDependencyError: numpy or scipy is not installed.

        .. versionadded:: 0.1.0
        """
        return _fit_seam()._evaluate(
            self, self._state("evaluate"), expectations, outcomes, scores, sample_weight, calendar
        )

    # ----------------------------------------------------------------- fitted attributes

    def _state(self, what: str) -> _FitState:
        state = self._fitted
        if state is None:
            raise NotFittedError(
                f"this {type(self).__name__} is not fitted yet: call fit(...) or "
                f"fit_aggregated(...) before using {what!r}"
            )
        return state

    @property
    def is_fitted(self) -> bool:
        """True once :meth:`fit` or :meth:`fit_aggregated` has run.

        .. versionadded:: 0.1.0
        """
        return self._fitted is not None

    @property
    def params_(self) -> Mapping[str, float]:
        """Fitted value-function parameters, breach penalty and logistic ``scale``.

        .. versionadded:: 0.1.0
        """
        return self._state("params_").params()

    @property
    def cutpoints_(self) -> tuple[float, float, float, float]:
        """Fitted cut points (fixed to ``labels`` after :meth:`fit_aggregated`).

        .. versionadded:: 0.1.0
        """
        return self._state("cutpoints_").labels.cutpoints

    @property
    def bse_(self) -> Mapping[str, float]:
        """Standard errors of every parameter (``nan`` for a parameter held fixed).

        .. versionadded:: 0.1.0
        """
        return self._state("bse_").standard_errors()

    @property
    def n_obs_(self) -> int:
        """Number of observations fitted (rows, or the sum of the bucket counts).

        .. versionadded:: 0.1.0
        """
        return self._state("n_obs_").n_obs

    @property
    def loglik_(self) -> float | None:
        """Log-likelihood at the optimum (``None`` after :meth:`fit_aggregated`).

        .. versionadded:: 0.1.0
        """
        return self._state("loglik_").loglik

    @property
    def labels_(self) -> Labels:
        """The fitted, calibrated labels (cut points and logistic scale).

        .. versionadded:: 0.1.0
        """
        return self._state("labels_").labels

    @property
    def value_(self) -> ValueFunction:
        """The fitted value function.

        .. versionadded:: 0.1.0
        """
        return self._state("value_").value

    @property
    def summary(self) -> Any:
        """The fitted parameters as a table: a pandas DataFrame, or a list of dict rows.

        Columns: ``estimate``, ``std_err``, ``ci_lower``, ``ci_upper`` (95 %, normal),
        ``fixed``.

        .. versionadded:: 0.1.0
        """
        return _fit_seam()._summary_table(self._state("summary"))

    def print_summary(self) -> None:
        """Print the fit and its parameter table.

        .. versionadded:: 0.1.0
        """
        print(self._state("print_summary").summary_text(type(self).__name__))

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


# --------------------------------------------------------------------------- models


def _check_prospect(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, ProspectValue):
        raise InvalidTypeError(
            f"'value' must be a ProspectValue (got {type(value).__name__} {value!r})"
        )


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

    value: ProspectValue = attrs.field(factory=ProspectValue, validator=_check_prospect)
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
        relative, unit, min_window, self_weight, weights, recovery, labels,
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
