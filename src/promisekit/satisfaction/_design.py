"""The design of a fit: checked inputs and the columnar features of the rows.

Turns ``(expectations, outcomes, scores, weights)`` into numpy columns (a :class:`_Design`)
for :mod:`promisekit.satisfaction._likelihood`; one feature row per pair comes from
:func:`promisekit.satisfaction._features.row_features` (pure Python, the hot path).
numpy is passed in by the caller, which imports it on demand.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Mapping, Sequence
from types import ModuleType
from typing import Any

import attrs

from promisekit.calendar import BusinessCalendar
from promisekit.delivery import Outcome
from promisekit.errors import (
    InconsistentRecordError,
    InvalidTypeError,
    InvalidValueError,
)
from promisekit.promise import Promise
from promisekit.satisfaction._base import _ModelBase
from promisekit.satisfaction._common import check_calendar, require
from promisekit.satisfaction._expectation import Expectation
from promisekit.satisfaction._features import _Row, row_features
from promisekit.satisfaction._results import Array


def _numpy(feature: str) -> ModuleType:
    return require("numpy", feature)


def _optimize(feature: str) -> ModuleType:
    require("numpy", feature)
    return require("scipy.optimize", feature)


def _dot(np: ModuleType, a: Array, b: Array) -> float:
    """``sum(a * b)`` with numpy's own summation, not BLAS.

    A BLAS call on long vectors wakes OpenBLAS's thread pool, whose spinning threads
    then slow every later numpy operation on a busy machine — several times over.
    """
    return float(np.multiply(a, b).sum())


def _sequence(field: str, value: Any) -> Sequence[Any]:
    if isinstance(value, (str, bytes, Mapping)) or not hasattr(value, "__len__"):
        raise InvalidTypeError(
            f"{field!r} must be a sequence (list, tuple, array) "
            f"(got {type(value).__name__} {value!r:.80})"
        )
    return value  # type: ignore[no-any-return]


def _same_length(field: str, value: Sequence[Any], n: int, other: str) -> None:
    if len(value) != n:
        raise InvalidValueError(
            f"{field!r} must have one entry per {other} ({n}) (got {len(value)})"
        )


def _rows(
    model: _ModelBase,
    expectations: Any,
    outcomes: Any,
    calendar: BusinessCalendar | None,
) -> list[_Row]:
    expectations = _sequence("expectations", expectations)
    outcomes = _sequence("outcomes", outcomes)
    _same_length("outcomes", outcomes, len(expectations), "expectation")
    calendar = check_calendar(calendar)
    rows = []
    from_promise = Expectation.from_promise
    row = row_features
    for index, (expectation, outcome) in enumerate(zip(expectations, outcomes, strict=True)):
        if isinstance(expectation, Expectation):
            pass
        elif isinstance(expectation, Promise):
            expectation = from_promise(expectation, calendar)
        else:
            raise InvalidTypeError(
                f"'expectations' must contain Expectation or Promise instances "
                f"(got {type(expectation).__name__} {expectation!r} at index {index})"
            )
        if not isinstance(outcome, Outcome):
            raise InvalidTypeError(
                f"'outcomes' must contain Outcome instances "
                f"(got {type(outcome).__name__} {outcome!r} at index {index})"
            )
        try:
            rows.append(row(model, expectation, outcome))
        except (InvalidValueError, InconsistentRecordError) as exc:
            raise type(exc)(f"{exc} (at index {index})") from None
    return rows


def _in_range(out: Array, np: ModuleType) -> Array:
    """``out`` (intp scores), after checking every one is from 1 to 5."""
    bad = np.flatnonzero((out < 1) | (out > 5))
    if bad.size:
        index = int(bad[0])
        raise InvalidValueError(
            f"'scores' must be ints from 1 to 5 (got {int(out[index])} at index {index})"
        )
    return out


def _scores(np: ModuleType, scores: Any, n: int) -> Array:
    scores = _sequence("scores", scores)
    _same_length("scores", scores, n, "outcome")
    if isinstance(scores, np.ndarray) and np.issubdtype(scores.dtype, np.integer):
        return _in_range(scores.astype(np.intp), np)
    if all(type(score) is int for score in scores):  # the common case, checked in bulk
        return _in_range(np.array(scores, dtype=np.intp), np)
    out = np.empty(n, dtype=np.intp)
    for index, score in enumerate(scores):
        if isinstance(score, bool) or not isinstance(score, numbers.Integral):
            raise InvalidTypeError(
                f"'scores' must be ints from 1 to 5 "
                f"(got {type(score).__name__} {score!r} at index {index})"
            )
        if not 1 <= int(score) <= 5:
            raise InvalidValueError(
                f"'scores' must be ints from 1 to 5 (got {score!r} at index {index})"
            )
        out[index] = int(score)
    return out


def _reals(
    field: str, values: Sequence[Any], ok: Callable[[float], bool], requirement: str
) -> list[float]:
    """``values`` as floats, each a real number (not a bool) for which ``ok`` holds."""
    out = []
    for index, item in enumerate(values):
        if isinstance(item, bool) or not isinstance(item, numbers.Real):
            raise InvalidTypeError(
                f"{field!r} must contain numbers "
                f"(got {type(item).__name__} {item!r} at index {index})"
            )
        if not ok(float(item)):
            raise InvalidValueError(
                f"{field!r} must be {requirement} (got {item!r} at index {index})"
            )
        out.append(float(item))
    return out


def _weights(np: ModuleType, sample_weight: Any, n: int) -> Array:
    if sample_weight is None:
        return np.ones(n)
    sample_weight = _sequence("sample_weight", sample_weight)
    _same_length("sample_weight", sample_weight, n, "outcome")
    try:
        weights = np.asarray(sample_weight, dtype=float)
    except (TypeError, ValueError):
        raise InvalidTypeError(
            f"'sample_weight' must contain numbers (got {sample_weight!r:.80})"
        ) from None
    bad = np.flatnonzero(~np.isfinite(weights) | (weights < 0))
    if bad.size:
        index = int(bad[0])
        raise InvalidValueError(
            f"'sample_weight' must be finite and >= 0 "
            f"(got {float(weights[index])!r} at index {index})"
        )
    if not weights.sum() > 0:
        raise InvalidValueError("'sample_weight' must not be all zero (got a total of 0)")
    return weights


@attrs.frozen(slots=True, eq=False)
class _Design:
    """Columnar features of a list of rows."""

    d: Array
    loss_mult: Array
    breach_mult: Array
    offset: Array
    duration: Array
    late_row: Array
    late_d: Array
    late_mult: Array

    @property
    def n(self) -> int:
        return int(self.d.shape[0])


def _order(np: ModuleType, design: _Design, y: Array) -> Array:
    """The row order of :func:`_sort`: by sign of ``d``, then by score."""
    return np.lexsort((y, np.sign(design.d)))


def _sort(np: ModuleType, design: _Design, y: Array, w: Array) -> tuple[_Design, Array, Array]:
    """The rows reordered by sign of ``d``, then score: gains, losses and levels contiguous.

    The likelihood is a sum over rows, so the order does not change it; contiguous groups
    let the hot loop use slices and run sums instead of gathers and scatters.
    """
    order = _order(np, design, y)
    inverse = np.empty_like(order)
    inverse[order] = np.arange(order.size)
    sorted_design = _Design(
        d=design.d[order],
        loss_mult=design.loss_mult[order],
        breach_mult=design.breach_mult[order],
        offset=design.offset[order],
        duration=design.duration[order],
        late_row=inverse[design.late_row],
        late_d=design.late_d,
        late_mult=design.late_mult,
    )
    return sorted_design, y[order], w[order]


def _design(np: ModuleType, model: _ModelBase, rows: Sequence[_Row]) -> _Design:
    p = model.recovery.proactive
    late_row: list[int] = []
    late_d: list[float] = []
    late_mult: list[float] = []
    for index, row in enumerate(rows):
        for d_wait, mult in row.late:
            late_row.append(index)
            late_d.append(d_wait)
            late_mult.append(mult)
    return _Design(
        d=np.array([r.d for r in rows], dtype=float),
        loss_mult=np.array([r.loss_mult for r in rows], dtype=float),
        breach_mult=np.array([r.breach_mult for r in rows], dtype=float),
        offset=np.array(
            [math.fsum(v for _, v in r.fixed) - r.proactive * p for r in rows], dtype=float
        ),
        duration=np.array([r.duration for r in rows], dtype=float),
        late_row=np.array(late_row, dtype=np.intp),
        late_d=np.array(late_d, dtype=float),
        late_mult=np.array(late_mult, dtype=float),
    )
