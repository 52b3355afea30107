"""The features of one (expectation, outcome) pair, before the model's parameters.

:func:`row_features` measures the time disconfirmation of an outcome against the due
date in force, the multipliers of losses and of the breach penalty, the revisions and
the non-time components: a :class:`_Row`. Scoring turns it into components
(:func:`components`); fitting stacks rows into columns (:mod:`._design`). Pure Python,
and the hot loop of fitting (once per row).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import NamedTuple, Protocol

from promisekit.delivery import Outcome, Status
from promisekit.errors import (
    InconsistentRecordError,
    InvalidValueError,
)
from promisekit.satisfaction._common import (
    UTC,
    elapsed,
)
from promisekit.satisfaction._expectation import Expectation
from promisekit.satisfaction._terms import Recovery, TermWeights
from promisekit.satisfaction._value import (
    ValueFunction,
    _call_with,
)


def _fmt(value: datetime) -> str:
    return value.isoformat(" ")


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


class _FeatureModel(Protocol):
    """The hyperparameters row extraction reads from a model."""

    @property
    def relative(self) -> bool: ...
    @property
    def unit(self) -> timedelta: ...
    @property
    def min_window(self) -> timedelta: ...
    @property
    def self_weight(self) -> float: ...
    @property
    def weights(self) -> TermWeights: ...
    @property
    def recovery(self) -> Recovery: ...


def _denominator(model: _FeatureModel, window_seconds: float) -> float:
    if model.relative:
        return max(window_seconds, model.min_window.total_seconds())
    return model.unit.total_seconds()


def row_features(model: _FeatureModel, expectation: Expectation, outcome: Outcome) -> _Row:
    """The features of one pair for ``model`` (its hyperparameters, not fitted values)."""
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
        if (
            outcome.due is not due
            and outcome.due.astimezone(UTC) != due_utc
            and (expectation.stated_due is None or outcome.due != expectation.stated_due)
        ):
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
    if model.relative:
        d = (window - duration) / max(window, model.min_window.total_seconds())
    else:
        d = (window - duration) / model.unit.total_seconds()
    proactive = 0.0
    late: tuple[tuple[float, float], ...] = ()
    if revision:
        repeat = model.recovery.repeat
        final_mult = repeat
        waits = []
        for record in revisions[:revision]:
            mult = 1.0 if record.number == 1 else repeat
            if record.late:
                previous = elapsed(cal, made_at, record.previous_due)
                waited = elapsed(cal, made_at, record.at)
                waits.append(((previous - waited) / _denominator(model, previous), mult))
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
        fixed = _fixed(model.weights, expectation, outcome)
    return tuple.__new__(  # a NamedTuple without the cost of its keyword-aware __new__
        _Row,
        (
            d,
            final_mult if promised else final_mult * model.self_weight,
            final_mult if promised and end_utc > due_utc else 0.0,
            proactive,
            late,
            fixed,
            duration,
            revision > 0,
        ),
    )


def _fixed(
    weights: TermWeights, expectation: Expectation, outcome: Outcome
) -> tuple[tuple[str, float], ...]:
    """The non-time components (quantity, quality, cost) of a row."""
    fixed: list[tuple[str, float]] = []
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


def components(
    recovery: Recovery, row: _Row, value: ValueFunction, breach: float
) -> dict[str, float]:
    """The components of a row's satisfaction value, given the value function and breach."""
    f = _call_with(value, row.d)
    time = f if f >= 0 else row.loss_mult * f
    if row.breach_mult:
        time -= row.breach_mult * breach
    components = {"time": time}
    if row.revised:
        cost = row.proactive * recovery.proactive
        for d_wait, mult in row.late:
            cost += mult * (breach + max(-_call_with(value, d_wait), 0.0))
        components["revision"] = 0.0 - cost
    components.update(row.fixed)
    return components
