"""A book's summary tables: counts, keep rates and lateness quantiles per group.

:func:`_summary_rows` computes the rows of :meth:`PromiseBook.summary` (and of its HTML
view) from columns, one ``bincount`` per group dimension; :class:`_Scored` adds the
satisfaction and impact columns of the scored promises.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime, timezone
from typing import Any

import numpy as np
from numpy.typing import NDArray

from promisekit.analysis._book_records import _KEPT, _LATE, _OVERDUE, _PENDING, _SHORT, _Labels
from promisekit.analysis._columns import OutcomeColumns
from promisekit.analysis._scoring import check_model, score_closed
from promisekit.calendar import BusinessCalendar
from promisekit.errors import InvalidTypeError
from promisekit.impact import Impact

_NAT = np.iinfo(np.int64).min
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


_NONE = "(none)"


_LEVEL_NAMES = (
    "very_dissatisfied",
    "dissatisfied",
    "neutral",
    "satisfied",
    "very_satisfied",
)


def _quantile_index(count: int, q: float) -> int:
    """Index of the ``q`` quantile in a sorted array of ``count`` values (inverted CDF)."""
    return max(0, min(count - 1, math.ceil(q * count) - 1))


class _Scored:
    """Satisfaction and impact of the scored (closed) rows of a book."""

    __slots__ = (
        "churn",
        "csat",
        "customers",
        "level",
        "lost",
        "negative",
        "positive",
        "rows",
        "scores",
    )

    def __init__(
        self,
        *,
        rows: NDArray[np.intp],
        level: NDArray[np.int64],
        csat: NDArray[np.float64],
        positive: NDArray[np.float64],
        negative: NDArray[np.float64],
        lost: NDArray[np.float64],
        customers: NDArray[np.int32] | None = None,
        scores: Sequence[Any] = (),
        churn: Any = None,
    ) -> None:
        self.rows = rows
        self.level = level
        self.csat = csat
        self.positive = positive
        self.negative = negative
        self.lost = lost
        self.customers = customers
        self.scores = scores
        self.churn = churn

    def _lost_by_customer(self, group: NDArray[Any], n_groups: int) -> NDArray[np.float64]:
        """Expected customers lost per group: each customer's churn risk over all their
        scored promises in the group (as ``Impact.summarize`` counts customers)."""
        assert self.customers is not None
        by_pair: dict[tuple[int, int], list[Any]] = {}
        for g, c, score in zip(group.tolist(), self.customers.tolist(), self.scores, strict=True):
            by_pair.setdefault((g, c), []).append(score)
        lost = np.zeros(n_groups, dtype=np.float64)
        for (g, _), scores in by_pair.items():
            lost[g] += self.churn.expected_risk(scores)
        return lost

    def by_group(self, codes: NDArray[np.int32], n_groups: int) -> list[dict[str, Any]]:
        """The summary columns of each group (groups by ``codes`` of every book row)."""
        group = codes[self.rows]
        n = np.bincount(group, minlength=n_groups)
        levels = np.bincount(group * 5 + (self.level - 1), minlength=n_groups * 5).reshape(
            n_groups, 5
        )
        sums: dict[str, NDArray[Any]] = {
            key: np.bincount(group, weights=values, minlength=n_groups)
            for key, values in (
                ("mean_csat", self.csat),
                ("people_told_positive", self.positive),
                ("people_told_negative", self.negative),
                ("customers_lost", self.lost),
            )
        }
        customers = None
        if self.customers is not None:
            sums["customers_lost"] = self._lost_by_customer(group, n_groups)
            pairs = np.unique(group.astype(np.int64) * (2**31) + self.customers)
            customers = np.bincount(pairs // (2**31), minlength=n_groups)
        out: list[dict[str, Any]] = []
        for i in range(n_groups):
            count = int(n[i])
            row: dict[str, Any] = {"scored": count}
            if customers is not None:
                row["customers"] = int(customers[i])
            for j, name in enumerate(_LEVEL_NAMES):
                row[f"share_{name}"] = int(levels[i, j]) / count if count else math.nan
            row["mean_csat"] = float(sums["mean_csat"][i]) / count if count else math.nan
            for key in ("people_told_positive", "people_told_negative", "customers_lost"):
                row[key] = float(sums[key][i])
            out.append(row)
        return out


def _sorted_groups(
    codes: NDArray[np.int32], values: NDArray[np.int64], n_groups: int
) -> list[NDArray[np.int64]]:
    """``values`` split by group code, each part sorted ascending."""
    order = np.lexsort((values, codes))
    bounds = np.cumsum(np.bincount(codes, minlength=n_groups))[:-1]
    return np.split(values[order], bounds)


def _pct(q: float) -> str:
    text = f"{100 * q:g}"
    return text.replace(".", "_")


def _pct_text(value: float) -> str:
    return "n/a" if value != value else f"{100 * value:.1f} %"


def _td_text(value: int | None) -> str:
    if value is None:
        return "n/a"
    seconds = value / 1e6
    sign = "-" if seconds < 0 else ""
    seconds = abs(seconds)
    if seconds >= 3600:
        return f"{sign}{seconds / 3600:.2f} h"
    return f"{sign}{seconds / 60:.1f} min"


def km_median(events: NDArray[np.int64], censored: NDArray[np.int64]) -> int | None:
    """The Kaplan–Meier median of durations: ``events`` observed, ``censored`` still
    running (open promises, at their elapsed time). ``None`` when the survival curve
    does not reach one half (more than half may still be running).

    Without censored values this is the inverted-CDF median of ``events``.
    """
    if len(events) == 0:
        return None
    times = np.concatenate([events, censored])
    is_event = np.concatenate([np.ones(len(events), bool), np.zeros(len(censored), bool)])
    order = np.lexsort((~is_event, times))  # at a tie, the event comes first
    times, is_event = times[order], is_event[order]
    at_risk = len(times) - np.arange(len(times))
    factors = np.where(is_event, 1.0 - 1.0 / at_risk, 1.0)
    survival = np.cumprod(factors)
    reached = np.flatnonzero(is_event & (survival <= 0.5 + 1e-12))
    return int(times[reached[0]]) if len(reached) else None


def _summary_rows(
    status: NDArray[np.int8],
    lateness: NDArray[np.int64],
    response: NDArray[np.int64],
    labels: Sequence[tuple[str, _Labels]],
    score: NDArray[np.float64] | None,
    quantiles: Sequence[float],
    scored: _Scored | None,
    elapsed: NDArray[np.int64] | None = None,
) -> list[dict[str, Any]]:
    """The rows of a summary: overall, then per group of each of ``labels``."""
    closed = (status == _KEPT) | (status == _LATE) | (status == _SHORT)
    dims: list[tuple[str, NDArray[np.int32], tuple[str | None, ...]]] = [
        ("all", np.zeros(len(status), dtype=np.int32), ("all",))
    ]
    for name, lab in labels:
        dims.append((name, lab.codes, lab.names))
    rows: list[dict[str, Any]] = []
    for dim, codes, names in dims:
        g = len(names)
        counts = np.bincount(codes * 5 + status, minlength=g * 5).reshape(g, 5)
        late_groups = _sorted_groups(codes[closed], lateness[closed], g)
        resp_mask = response != _NAT
        resp_groups = _sorted_groups(codes[resp_mask], response[resp_mask], g)
        open_groups = None
        if elapsed is not None and (elapsed != _NAT).any():
            open_mask = elapsed != _NAT
            open_groups = _sorted_groups(codes[open_mask], elapsed[open_mask], g)
        score_sum = score_n = None
        if score is not None:
            has = ~np.isnan(score)
            score_sum = np.bincount(codes[has], weights=score[has], minlength=g)
            score_n = np.bincount(codes[has], minlength=g)
        sat = None if scored is None else scored.by_group(codes, g)
        for i, label in enumerate(names):
            c = counts[i]
            total = int(c.sum())
            if total == 0:
                continue
            decided = total - int(c[_PENDING])
            row: dict[str, Any] = {
                "by": dim,
                "group": _NONE if label is None else label,
                "promises": total,
                "open": int(c[_PENDING] + c[_OVERDUE]),
                "kept": int(c[_KEPT]),
                "late": int(c[_LATE]),
                "short": int(c[_SHORT]),
                "overdue": int(c[_OVERDUE]),
                "keep_rate": int(c[_KEPT]) / decided if decided else math.nan,
            }
            values = late_groups[i]
            for q in quantiles:
                key = f"lateness_p{_pct(q)}"
                row[key] = int(values[_quantile_index(len(values), q)]) if len(values) else None
            values = resp_groups[i]
            if open_groups is not None and len(open_groups[i]):
                row["median_response"] = km_median(values, open_groups[i])
            else:
                row["median_response"] = (
                    int(values[_quantile_index(len(values), 0.5)]) if len(values) else None
                )
            if score_sum is not None and score_n is not None:
                row["mean_score"] = float(score_sum[i] / score_n[i]) if score_n[i] else math.nan
            if sat is not None:
                row.update(sat[i])
            rows.append(row)
    return rows


def _score_rows(
    model: Any,
    impact: Any,
    outcomes: OutcomeColumns,
    calendar: BusinessCalendar | None,
    kinds: list[str],
    customers: NDArray[np.int32] | None = None,
) -> _Scored:
    """Score the closed rows with ``model`` and weigh them with ``impact`` (defaults).

    With ``customers`` (a code per book row), customers lost count customers: each
    customer's churn risk over their scored promises; otherwise each promise counts
    as a different customer.
    """
    model = check_model(model)
    if impact is None:
        impact = Impact()
    elif not isinstance(impact, Impact):
        raise InvalidTypeError(
            f"'impact' must be an Impact or None (got {type(impact).__name__} {impact!r})"
        )
    rows, scores = score_closed(model, outcomes, calendar, kinds)
    wom, churn = impact.word_of_mouth, impact.churn
    told = [wom.told(s) for s in scores]
    return _Scored(
        rows=rows,
        level=np.array([int(s.label) for s in scores], dtype=np.int64),
        csat=np.array([s.expected_csat for s in scores], dtype=np.float64),
        positive=np.array([t.positive for t in told], dtype=np.float64),
        negative=np.array([t.negative for t in told], dtype=np.float64),
        lost=np.array([churn.expected_risk([s]) for s in scores], dtype=np.float64),
        customers=None if customers is None else customers[rows],
        scores=scores,
        churn=churn,
    )
