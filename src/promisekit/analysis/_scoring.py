"""Satisfaction scores of columnar outcomes: a ColumnScorer from a satisfaction model."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from promisekit.analysis._columns import OutcomeColumns
from promisekit.calendar import BusinessCalendar
from promisekit.errors import InvalidTypeError, InvalidValueError

if TYPE_CHECKING:
    from promisekit.satisfaction import Satisfaction, SatisfactionModel

__all__ = ["SatisfactionScorer"]

_NAT = np.iinfo(np.int64).min
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_CLOSED = (2, 3, 4)  # KEPT, LATE, SHORT (see STATUS_CODES)
_FIELDS = ("value", "expected_csat", "label")


def check_model(model: Any) -> SatisfactionModel:
    """``model``, or a default :class:`~promisekit.satisfaction.Disconfirmation`."""
    from promisekit.satisfaction import Disconfirmation

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
    from promisekit.satisfaction import Expectation

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
        rows, scores = score_closed(self.model, outcomes, self.calendar)
        out = np.full(len(outcomes), np.nan, dtype=np.float64)
        if self.field == "value":
            out[rows] = [s.value for s in scores]
        elif self.field == "expected_csat":
            out[rows] = [s.expected_csat for s in scores]
        else:
            out[rows] = [int(s.label) for s in scores]
        return out
