"""Columnar features without per-row feature objects, for the common rows of a fit.

Most fitted histories are plain: real time (no calendar), no revisions, no quantity,
quality or cost terms. For those, :func:`plain_design` reads three instants per row as
integer microseconds since the epoch (one aware subtraction each, exact) and computes
durations, windows, disconfirmations and breach flags on numpy arrays — instead of a
:class:`._features._Row` per pair and the UTC conversions and branches of
:func:`._features.row_features`. It returns ``None`` as soon as one row is not plain
(or is inconsistent), and the caller falls back to the general path, which also words
the errors; both paths give the same numbers (the same integer microseconds divided
by 10**6 as ``timedelta.total_seconds``).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from types import ModuleType
from typing import Any

from promisekit.delivery import Outcome, Status
from promisekit.satisfaction._common import check_calendar
from promisekit.satisfaction._design import _Design, _design, _rows, _same_length, _sequence
from promisekit.satisfaction._expectation import Expectation

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_MICROSECOND = timedelta(microseconds=1)


def plain_design(np: ModuleType, model: Any, expectations: Any, outcomes: Any) -> _Design | None:
    """The design of plain rows, or ``None`` when some row needs the general path."""
    made: list[int] = []
    due: list[int] = []
    end: list[int] = []
    promised: list[bool] = []
    pending = Status.PENDING
    epoch, unit = _EPOCH, _MICROSECOND
    for e, o in zip(expectations, outcomes, strict=True):
        if (
            type(e) is not Expectation
            or type(o) is not Outcome
            or e.calendar is not None
            or e.revisions
            or o.revision
            or o.status is pending
            or e.quantity is not None
            or e.quality is not None
            or e.max_cost is not None
        ):
            return None
        is_promise = e.source == "promise"
        if is_promise:
            if e.request_id is not None and o.promise_id != e.request_id:
                return None
            if o.due is not e.due and o.due != e.due and o.due != e.stated_due:
                return None
        stop = o.completed_at
        if stop is None:
            stop = o.assessed_at
        made.append((e.made_at - epoch) // unit)
        due.append((e.due - epoch) // unit)
        end.append((stop - epoch) // unit)
        promised.append(is_promise)
    made_us = np.array(made, dtype=np.int64)
    end_us = np.array(end, dtype=np.int64)
    due_us = np.array(due, dtype=np.int64)
    if np.any(end_us < made_us):
        return None  # the general path raises the error, with the index
    duration = (end_us - made_us) / 1e6
    window = (due_us - made_us) / 1e6
    if model.relative:
        denominator = np.maximum(window, model.min_window.total_seconds())
    else:
        denominator = np.full(window.shape, model.unit.total_seconds())
    is_promise = np.array(promised, dtype=bool)
    n = len(made)
    return _Design(
        d=(window - duration) / denominator,
        loss_mult=np.where(is_promise, 1.0, model.self_weight),
        breach_mult=(is_promise & (end_us > due_us)).astype(float),
        offset=np.zeros(n),
        duration=duration,
        late_row=np.zeros(0, dtype=np.intp),
        late_d=np.zeros(0),
        late_mult=np.zeros(0),
    )


def design_of(
    np: ModuleType, model: Any, expectations: Any, outcomes: Any, calendar: Any
) -> _Design:
    """The columnar design of the pairs: the plain fast path when it applies, else rows."""
    expectations = _sequence("expectations", expectations)
    outcomes = _sequence("outcomes", outcomes)
    _same_length("outcomes", outcomes, len(expectations), "expectation")
    check_calendar(calendar)
    design = plain_design(np, model, expectations, outcomes)
    if design is None:
        design = _design(np, model, _rows(model, expectations, outcomes, calendar))
    return design
