"""Satisfaction scores of columnar outcomes: a ColumnScorer from a satisfaction model."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from typing import Any

import numpy as np
from numpy.typing import NDArray

from promisekit._vectorized_calendar import cum_at_many
from promisekit.analysis._columns import OutcomeColumns
from promisekit.calendar import BusinessCalendar
from promisekit.errors import InvalidTypeError, InvalidValueError
from promisekit.satisfaction import (
    Disconfirmation,
    Expectation,
    Labels,
    ProspectValue,
    Satisfaction,
    SatisfactionModel,
)
from promisekit.satisfaction._labels import _normal_cdf, _piece
from promisekit.satisfaction._value import _POWER_MAX, _call_with

__all__ = ["SatisfactionScorer"]

_NAT = np.iinfo(np.int64).min
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_CLOSED = (2, 3, 4)  # KEPT, LATE, SHORT (see STATUS_CODES)
_FIELDS = ("value", "expected_csat", "label")


def check_model(model: Any) -> SatisfactionModel:
    """``model``, or a default :class:`~promisekit.satisfaction.Disconfirmation`."""
    if model is None:
        return Disconfirmation()
    if not callable(getattr(model, "score", None)):
        raise InvalidTypeError(
            f"'model' must be a satisfaction model with a score(expectation, outcome) method "
            f"or None (got {type(model).__name__} {model!r})"
        )
    result: SatisfactionModel = model
    return result


def _moment(us: int, calendar: BusinessCalendar | None) -> datetime:
    moment = _EPOCH + timedelta(microseconds=us)
    return moment if calendar is None else moment.astimezone(calendar.zone)


def score_closed(
    model: SatisfactionModel,
    outcomes: OutcomeColumns,
    calendar: BusinessCalendar | None,
    kinds: Sequence[str] | None = None,
) -> tuple[NDArray[np.intp], list[Satisfaction]]:
    """Score the closed rows (kept, late, short) of ``outcomes``, one by one.

    Each row becomes an :class:`~promisekit.satisfaction.Expectation` (a promise made at
    ``made_at``, due at ``due``, measured with ``calendar``) and the outcome of its
    completion at ``completed_at`` (:meth:`Expectation.completed`), scored with the
    model's ``score_many``. Returns the indices of the closed rows and their scores.
    """
    closed = np.flatnonzero(np.isin(outcomes.status, _CLOSED))
    made = outcomes.made_at.view(np.int64)
    due = outcomes.due.view(np.int64)
    done = outcomes.completed_at.view(np.int64)
    pairs = []
    for i in closed.tolist():
        expectation = Expectation(
            kind="promise" if kinds is None else kinds[i],
            made_at=_moment(int(made[i]), calendar),
            due=_moment(int(due[i]), calendar),
            calendar=calendar,
        )
        pairs.append((expectation, expectation.completed(_moment(int(done[i]), calendar))))
    return closed, model.score_many(pairs)


class SatisfactionScorer:
    """A :class:`~promisekit.analysis.ColumnScorer` from a satisfaction model.

    Pass it as ``scorer=`` to :func:`~promisekit.analysis.assess_columns`: each closed
    row (kept, late or short) is scored as the completion, at ``completed_at``, of a
    promise made at ``made_at`` and due at ``due`` — exactly as scoring
    ``Expectation(kind="promise", made_at=..., due=..., calendar=calendar)`` and its
    :meth:`~promisekit.satisfaction.Expectation.completed` outcome one by one. Open rows
    (pending or overdue) get ``nan``. Columns carry no revision history nor quantity,
    quality or cost terms, so no revision or term component is charged.

    Args:
        model: A satisfaction model (default
            :class:`~promisekit.satisfaction.Disconfirmation`).
        calendar: Measure windows in this calendar's working time, or ``None`` for
            real time.
        field: What to return per row: ``"value"`` (the satisfaction value),
            ``"expected_csat"`` (1–5) or ``"label"`` (the level, 1–5, as a float).

    Raises:
        InvalidTypeError: ``model`` or ``calendar`` has the wrong type.
        InvalidValueError: unknown ``field``.

    Example:
        .. code-block:: python

            from promisekit.analysis import SatisfactionScorer, assess_columns

            columns = assess_columns(frame, now=now, scorer=SatisfactionScorer())
            columns.score  # one satisfaction value per row, nan while open

    .. versionadded:: 0.1.0
    """

    __slots__ = ("calendar", "field", "model")

    def __init__(
        self,
        model: SatisfactionModel | None = None,
        *,
        calendar: BusinessCalendar | None = None,
        field: str = "value",
    ) -> None:
        if calendar is not None and not isinstance(calendar, BusinessCalendar):
            raise InvalidTypeError(
                f"'calendar' must be a BusinessCalendar or None (got {type(calendar).__name__})"
            )
        if field not in _FIELDS:
            raise InvalidValueError(
                f"'field' must be one of {', '.join(repr(f) for f in _FIELDS)} (got {field!r})"
            )
        self.model = check_model(model)
        self.calendar = calendar
        self.field = field

    def __repr__(self) -> str:
        return (
            f"SatisfactionScorer({self.model!r}, calendar={self.calendar!r}, field={self.field!r})"
        )

    def score_columns(self, outcomes: OutcomeColumns) -> NDArray[np.float64]:
        """One score per row of ``outcomes``, ``nan`` for open rows.

        .. versionadded:: 0.1.0
        """
        if not isinstance(outcomes, OutcomeColumns):
            raise InvalidTypeError(
                f"'outcomes' must be OutcomeColumns (got {type(outcomes).__name__})"
            )
        fast = _score_vectorized(self.model, outcomes, self.calendar, self.field)
        if fast is not None:
            return fast
        rows, scores = score_closed(self.model, outcomes, self.calendar)
        out = np.full(len(outcomes), np.nan, dtype=np.float64)
        if self.field == "value":
            out[rows] = [s.value for s in scores]
        elif self.field == "expected_csat":
            out[rows] = [s.expected_csat for s in scores]
        else:
            out[rows] = [int(s.label) for s in scores]
        return out


def _power(base: NDArray[np.float64], exponent: float) -> NDArray[np.float64]:
    """``base ** exponent`` element by element, as the scalar value function's ``_power``.

    The exponent is passed as an array: numpy's shortcuts for a scalar exponent
    (``0.5`` as ``sqrt``, ``2`` as ``square``…) can differ from ``pow`` in the last bit.
    A power that overflows is capped at ``_POWER_MAX``, as the scalar form caps it.
    """
    with np.errstate(over="ignore"):
        power = np.power(base, np.full_like(base, exponent))
    out: NDArray[np.float64] = np.minimum(power, _POWER_MAX)
    return out


def _saturate_many(p: NDArray[np.float64], cap: float | None) -> NDArray[np.float64]:
    if cap is None:
        return p
    with np.errstate(over="ignore"):  # a tiny cap: -p / cap is -inf, expm1 gives -1
        out: NDArray[np.float64] = -cap * np.expm1(-p / cap)
    return out


def _expit_many(z: NDArray[np.float64]) -> NDArray[np.float64]:
    """The scalar ``expit`` over an array (same branches, no overflow)."""
    positive = z >= 0
    e = np.exp(np.where(positive, -z, z))
    out: NDArray[np.float64] = np.where(positive, 1.0 / (1.0 + e), e / (1.0 + e))
    return out


def _normal_cdf_many(z: NDArray[np.float64]) -> NDArray[np.float64]:
    """The scalar normal CDF (the probit link) over an array: ``math.erfc`` per element."""
    out: NDArray[np.float64] = np.array([_normal_cdf(x) for x in z.tolist()], dtype=np.float64)
    return out


def _expected_csat_many(labels: Labels, value: NDArray[np.float64]) -> NDArray[np.float64]:
    """:meth:`Labels.expected_csat` over an array, with the same arithmetic.

    Each element goes through its own branch only, as in the scalar method: a tiny gap
    between cut points makes its segment steep, and evaluating every segment for every
    value would overflow where the scalar method never looks. Where the scalar
    arithmetic (Python floats) overflows silently to an infinity — a value far beyond
    a steep segment, or ``(c - value) / scale`` with a tiny scale — numpy's does too,
    with its warning silenced: the infinity clips to 1 or 5 (or gives a probability of
    0 or 1) exactly as in the scalar method.
    """
    c1, c2, c3, c4 = labels.cutpoints
    scale = labels.scale
    with np.errstate(over="ignore"):
        if scale is not None:
            cdf = _expit_many if labels.link == "logit" else _normal_cdf_many
            below = [cdf((c - value) / scale) for c in labels.cutpoints]
            p5 = cdf((value - c4) / scale)
            csat = 1 * below[0]
            csat = csat + 2 * np.maximum(below[1] - below[0], 0.0)
            csat = csat + 3 * np.maximum(below[2] - below[1], 0.0)
            csat = csat + 4 * np.maximum(below[3] - below[2], 0.0)
            csat = csat + 5 * p5
        else:
            # segment 0 below c2, 1 from c2 to c3, 2 from c3 (as the scalar branches)
            segment = (value >= c2).view(np.int8) + (value >= c3).view(np.int8)
            factors, gaps = zip(_piece(c1, c2), _piece(c2, c3), _piece(c3, c4), strict=True)
            base = np.array([2.5, 2.5, 3.5]).take(segment)
            origin = np.array([c2, c2, c3]).take(segment)
            gap = np.array(gaps).take(segment)
            if factors == (1.0, 1.0, 1.0):  # multiplying by 1 is exact: skip it
                csat = base + (value - origin) / gap
            else:
                factor = np.array(factors).take(segment)
                csat = base + (value * factor - origin * factor) / gap
    out: NDArray[np.float64] = np.minimum(5.0, np.maximum(1.0, csat))
    return out


def _score_vectorized(
    model: SatisfactionModel,
    outcomes: OutcomeColumns,
    calendar: BusinessCalendar | None,
    field: str,
) -> NDArray[np.float64] | None:
    """The scores of :func:`score_closed` over whole columns, or ``None`` if unsupported.

    Supports exactly :class:`~promisekit.satisfaction.Disconfirmation` (fitted or not)
    with a :class:`~promisekit.satisfaction.ProspectValue`: for a promise without
    revisions nor non-time terms — all that columns carry — its value is
    ``v(D)``, minus the breach penalty when completed after the due date, with ``D``
    the relative (or absolute) disconfirmation in working (or real) time. Same
    arithmetic as the scalar model, so the same results (labels exactly; the value
    function is ``pow`` either way).
    """
    if type(model) is not Disconfirmation:
        return None
    value_fn, breach, labels = model._current()
    if type(value_fn) is not ProspectValue or type(labels) is not Labels:
        return None

    out = np.full(len(outcomes), np.nan, dtype=np.float64)
    closed = np.flatnonzero(np.isin(outcomes.status, _CLOSED))
    if closed.size == 0:
        return out
    made = outcomes.made_at.view(np.int64)[closed]
    due = outcomes.due.view(np.int64)[closed]
    done = outcomes.completed_at.view(np.int64)[closed]
    if calendar is None:
        window_us = due - made
        duration_us = done - made
    else:
        n = closed.size
        cum = cum_at_many(calendar, np.concatenate([made, due, done]))
        window_us = cum[n : 2 * n] - cum[:n]
        duration_us = cum[2 * n :] - cum[:n]
    # timedelta.total_seconds(): µs / 10**6, correctly rounded (exact below 2**53 µs)
    window = window_us / 1e6
    duration = duration_us / 1e6
    if model.relative:
        d = (window - duration) / np.maximum(window, model.min_window.total_seconds())
    else:
        d = (window - duration) / model.unit.total_seconds()

    gain = d >= 0
    magnitude = np.where(gain, d, -d)
    v = np.where(
        gain,
        _saturate_many(_power(magnitude, value_fn.alpha), value_fn.gain_cap),
        -value_fn.lam * _saturate_many(_power(magnitude, value_fn.beta), value_fn.loss_cap),
    )
    late = done > due  # broken promise: judged in real time
    value = np.where(late, v - 1.0 * breach, v)

    cuts = np.asarray(labels.cutpoints, dtype=np.float64)
    if field == "label":
        # A value function computed otherwise than by libm's pow (a SIMD build) may
        # differ in the last bit: rescore, as the scalar model does, any value that
        # close to a cut point so that labels stay exactly the one-by-one labels.
        with np.errstate(over="ignore"):  # an overflowing distance is far from the cut
            gap = np.min(np.abs(value[:, None] - cuts[None, :]), axis=1)
        near = np.flatnonzero(gap <= 1e-12 * np.maximum(1.0, np.abs(cuts).max()))
        for i in near.tolist():
            f = _call_with(value_fn, float(d[i]))
            value[i] = f - 1.0 * breach if late[i] else f
        out[closed] = np.searchsorted(cuts, value, side="right") + 1
    elif field == "expected_csat":
        out[closed] = _expected_csat_many(labels, value)
    else:
        out[closed] = value
    return out
