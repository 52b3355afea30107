"""The per-promise columns a :class:`PromiseBook` keeps beside its assessed outcomes.

Identifiers, labels (kind, segment, owner, customer), targets, scores, and the
response times (made to completed) and elapsed times of open promises, in real and
business time, computed once at construction.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from promisekit._vectorized_calendar import as_instants, cum_at_many
from promisekit.analysis._book_records import _check_length, _encode, _Labels
from promisekit.analysis._columns import OutcomeColumns
from promisekit.calendar import BusinessCalendar
from promisekit.errors import InvalidTypeError, InvalidValueError

_NAT = np.iinfo(np.int64).min


class BookColumns:
    """The extra columns of a book, validated against its ``size`` rows."""

    __slots__ = (
        "business_elapsed",
        "business_response",
        "business_window",
        "customer",
        "elapsed",
        "ids",
        "labels",
        "response",
        "revisions",
        "score",
        "short",
        "target",
    )

    def __init__(
        self,
        outcomes: OutcomeColumns,
        now: int,
        calendar: BusinessCalendar | None,
        *,
        promise_id: Any,
        kind: Any,
        segment: Any,
        owner: Any,
        customer: Any,
        target: Any,
        short: Any,
        revisions: Any,
        score: Any,
    ) -> None:
        size = len(outcomes)
        if promise_id is None:
            self.ids: NDArray[Any] = np.arange(size)
        else:
            ids = np.asarray(promise_id)
            _check_length("promise_id", ids, size)
            self.ids = ids
        self.labels = {
            name: _encode(name, value, size)
            for name, value in (("kind", kind), ("segment", segment), ("owner", owner))
        }
        self.customer: _Labels | None = (
            None if customer is None else _encode("customer", customer, size)
        )
        self.short = np.zeros(size, dtype=bool) if short is None else np.asarray(short, dtype=bool)
        if revisions is None:
            self.revisions = np.zeros(size, dtype=np.int64)
        else:
            revs = np.asarray(revisions)
            if revs.dtype.kind not in "iu":
                raise InvalidTypeError(f"'revisions' must be integers (got dtype {revs.dtype})")
            _check_length("revisions", revs, size)
            self.revisions = revs.astype(np.int64)
        self.score: NDArray[np.float64] | None = None
        if score is not None:
            scores = np.asarray(score)
            if scores.dtype.kind not in "fiu":
                raise InvalidTypeError(f"'score' must be numbers (got dtype {scores.dtype})")
            _check_length("score", scores, size)
            self.score = scores.astype(np.float64)
        made = outcomes.made_at.view(np.int64)
        self.target = None if target is None else _targets(target, made, outcomes, size)
        done = outcomes.completed_at.view(np.int64)
        closed = done != _NAT
        open_ = ~closed & (made <= now)
        self.response = np.where(closed, done - made, _NAT)
        self.elapsed = np.where(open_, now - made, _NAT)
        if calendar is None:
            self.business_response = np.full(size, _NAT, dtype=np.int64)
            self.business_window = np.full(size, _NAT, dtype=np.int64)
            self.business_elapsed = np.full(size, _NAT, dtype=np.int64)
        else:
            cum_made = cum_at_many(calendar, made)
            cum_done = cum_at_many(calendar, np.where(closed, done, made))
            cum_now = int(cum_at_many(calendar, np.array([now], dtype=np.int64))[0])
            self.business_response = np.where(closed, cum_done - cum_made, _NAT)
            self.business_window = cum_at_many(calendar, outcomes.due.view(np.int64)) - cum_made
            self.business_elapsed = np.where(open_, cum_now - cum_made, _NAT)


def _targets(target: Any, made: NDArray[np.int64], outcomes: OutcomeColumns, size: int) -> Any:
    """The internal targets (NaT where none), each between its promise's made and due."""
    values = as_instants("target", target, allow_nat=True)
    if values.ndim != 1:
        raise InvalidValueError(f"'target' must be a one-dimensional column (got {values.shape})")
    _check_length("target", values, size)
    due = outcomes.due.view(np.int64)
    has = values != _NAT
    wrong = np.flatnonzero(has & ((values < made) | (values > due)))
    if len(wrong):
        raise InvalidValueError(
            f"'target' must be between 'made_at' and 'due' (row {int(wrong[0])} is not)"
        )
    return values
