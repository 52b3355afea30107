"""The numpy generators of the columnar sample histories (``promisekit.datasets.*_history``).

:func:`promisekit.datasets.callback_centre_history` and its siblings import this module
when called, so that ``import promisekit.datasets`` stays free of numpy; how rows and
scores are drawn is documented in :mod:`promisekit.analysis.datasets`.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import numpy as np
from numpy.typing import NDArray

from promisekit._validation import check_aware
from promisekit._vectorized_calendar import cum_at_many, earliest_many
from promisekit.analysis import datasets as analysis_datasets
from promisekit.analysis._columns import assess_columns, require_pandas, to_pandas_instants
from promisekit.analysis._scoring import SatisfactionScorer, _expit_many, check_model
from promisekit.calendar import BusinessCalendar
from promisekit.datasets import (
    _DISCONFIRMATION,
    SCORE_SCALE,
    SLOW_TIER_FACTOR,
    TIERS,
    _DefaultModel,
    montreal_calendar,
)
from promisekit.errors import InvalidTypeError, InvalidValueError
from promisekit.satisfaction import Disconfirmation, Labels, SatisfactionModel

_US = 1_000_000


_MINUTE = 60 * _US


_HOUR = 60 * _MINUTE


_NAT = np.iinfo(np.int64).min


_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


_NEVER_DONE = 0.005  # share of promises never completed


_MAX_ROWS = 100_000_000


def _resolve_model(model: Any) -> SatisfactionModel | None:
    if model is None:
        return None
    if isinstance(model, _DefaultModel):
        return Disconfirmation()
    return check_model(model)


def _model_scores(
    model: SatisfactionModel,
    made: NDArray[np.int64],
    due: NDArray[np.int64],
    completed: NDArray[np.int64],
    now: int,
    calendar: BusinessCalendar,
    u: NDArray[np.float64],
) -> NDArray[np.float64]:
    """Levels 1–5 drawn from ``model``'s ordered logit (NaN while open), see the module.

    ``u`` holds one uniform draw in ``[0, 1)`` per row: the level is the smallest ``k``
    with ``u < P(score <= k)``, 5 when there is none (inverse-CDF sampling).
    """
    outcomes = assess_columns(
        made_at=made.view("datetime64[us]"),
        due=due.view("datetime64[us]"),
        completed_at=completed.view("datetime64[us]"),
        now=np.full(len(made), now, dtype=np.int64).view("datetime64[us]"),
        calendar=calendar,
    )
    value = SatisfactionScorer(model, calendar=calendar).score_columns(outcomes)
    current = getattr(model, "_current", None)
    labels = current()[2] if callable(current) else getattr(model, "labels", None)
    if not isinstance(labels, Labels):
        labels = Labels()
    scale = SCORE_SCALE if labels.scale is None else labels.scale
    closed = ~np.isnan(value)
    v = value[closed]
    level = np.ones(v.shape, dtype=np.float64)
    for cut in labels.cutpoints:
        level += _expit_many((cut - v) / scale) <= u[closed]
    out = np.full(len(value), np.nan, dtype=np.float64)
    out[closed] = level
    return out


class _Draw:
    """Shared machinery: arrivals, tiers, durations, revisions, completion, score."""

    def __init__(
        self,
        kind: str,
        n: int,
        seed: int,
        slow_tier: bool,
        start: datetime | None,
        days: int,
        calendar: BusinessCalendar | None,
        score_model: Any = _DISCONFIRMATION,
    ) -> None:
        if isinstance(n, bool) or not isinstance(n, int):
            raise InvalidTypeError(f"'n' must be an int (got {type(n).__name__} {n!r})")
        if not 1 <= n <= _MAX_ROWS:
            raise InvalidValueError(f"'n' must be between 1 and {_MAX_ROWS:,} (got {n})")
        if isinstance(days, bool) or not isinstance(days, int):
            raise InvalidTypeError(f"'days' must be an int (got {type(days).__name__} {days!r})")
        if days < 1:
            raise InvalidValueError(f"'days' must be at least 1 (got {days})")
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise InvalidTypeError(f"'seed' must be an int (got {type(seed).__name__} {seed!r})")
        if calendar is not None and not isinstance(calendar, BusinessCalendar):
            raise InvalidTypeError(
                f"'calendar' must be a BusinessCalendar (got {type(calendar).__name__})"
            )
        self.score_model = _resolve_model(score_model)
        self.kind = kind
        self.n = n
        self.cal = calendar if calendar is not None else montreal_calendar()
        self.rng = np.random.default_rng([seed, sum(map(ord, kind))])
        self.slow_tier = bool(slow_tier)
        first = (
            datetime(2026, 1, 5, 8, 30, tzinfo=self.cal.zone)
            if start is None
            else check_aware("start", start)
        )
        self.start = (first - _EPOCH) // timedelta(microseconds=1)
        self.now = self.start + days * 86_400 * _US
        bounds = cum_at_many(self.cal, np.array([self.start, self.now], dtype=np.int64))
        self.cum_start = int(bounds[0])
        if bounds[1] <= bounds[0]:
            raise InvalidValueError(f"the calendar has no working time in the {days} days drawn")
        # Arrivals: uniform in business time, in order.
        total = int(bounds[1] - bounds[0])
        offsets = np.sort(self.rng.integers(1, total, n, dtype=np.int64, endpoint=True))
        self.cum_made = self.cum_start + offsets
        self.made = earliest_many(self.cal, self.cum_made)
        tiers = self.rng.choice(len(TIERS), size=n, p=[share for _, share in TIERS])
        self.tier = tiers.astype(np.int8)
        self.columns: dict[str, Any] = {}

    def add(self, cum: NDArray[np.int64], work: NDArray[np.int64]) -> NDArray[np.int64]:
        """Instants at which ``work`` (business µs, > 0) has elapsed after cum ``cum``."""
        return earliest_many(self.cal, cum + np.maximum(work, 1))

    def durations(self, median: NDArray[np.floating[Any]], sigma: float) -> NDArray[np.int64]:
        """Log-normal business durations (µs) around ``median``, bronze slower if asked."""
        factor = np.where((self.tier == 0) & self.slow_tier, SLOW_TIER_FACTOR, 1.0)
        values = median * factor * np.exp(sigma * self.rng.standard_normal(self.n))
        out: NDArray[np.int64] = np.maximum(values, _MINUTE).astype(np.int64)
        return out

    def finish(
        self,
        window: NDArray[np.int64],
        work: NDArray[np.int64],
        revise_probability: float,
        short: NDArray[np.bool_],
        owners: tuple[str, ...],
        as_frame: bool | None,
    ) -> Any:
        rng, n = self.rng, self.n
        # Revisions: a promise running late is sometimes pushed back (once or twice),
        # announced at 80 % of its window, before it is missed.
        running_late = work > window
        revised = running_late & (rng.random(n) < revise_probability)
        twice = revised & (rng.random(n) < 0.3)
        revisions = revised.astype(np.int8) + twice.astype(np.int8)
        extension = (window * rng.uniform(0.5, 1.0, n)).astype(np.int64) * revisions
        original_due = self.add(self.cum_made, window)
        due = np.where(revised, self.add(self.cum_made, window + extension), original_due)
        done = self.add(self.cum_made, work)
        never = rng.random(n) < _NEVER_DONE
        closed = (done <= self.now) & ~never
        completed_at = np.where(closed, done, _NAT)
        ratio = np.where(closed, work / (window + extension), np.nan)
        if self.score_model is None:
            score = analysis_datasets.satisfaction_proxy(
                ratio, short=short & closed, revisions=revisions, seed=rng
            )
        else:
            u = rng.random(n)  # one draw per row, as the proxy's noise: same other columns
            score = _model_scores(
                self.score_model, self.made, due, completed_at, self.now, self.cal, u
            )
        customers = max(1, n // 3)
        columns: dict[str, Any] = {
            "promise_id": np.arange(1, n + 1, dtype=np.int64),
            "customer_id": rng.integers(1, customers + 1, n, dtype=np.int64),
            "kind": (np.zeros(n, dtype=np.int8), (self.kind,)),
            "segment": (self.tier, tuple(name for name, _ in TIERS)),
            "owner": (rng.integers(0, len(owners), n).astype(np.int8), owners),
            "made_at": self.made,
            "original_due": original_due,
            "due": due,
            "revisions": revisions,
            "completed_at": completed_at,
            "short": short & closed,
            "score": score,
        }
        columns.update(self.columns)
        # Per-kind outcomes are only known once completed.
        if "cost" in columns:
            columns["cost"] = np.where(closed, columns["cost"], np.nan)
            columns["first_visit_fix"] = columns["first_visit_fix"] & closed
        if "delivered_quantity" in columns:
            columns["delivered_quantity"] = np.where(closed, columns["delivered_quantity"], 0)
        return _output(columns, self.now, self.cal.tz, as_frame)


def _output(columns: dict[str, Any], now: int, tz: str, as_frame: bool | None) -> Any:
    instants = ("made_at", "original_due", "due", "completed_at")
    if as_frame is None:
        try:
            import pandas  # noqa: F401
        except ImportError:
            as_frame = False
        else:
            as_frame = True
    if not as_frame:
        out: dict[str, Any] = {}
        for key, value in columns.items():
            if isinstance(value, tuple):
                codes, names = value
                out[key] = np.array(names, dtype=object)[codes]
            elif key in instants:
                out[key] = value.view("datetime64[us]")
            else:
                out[key] = value
        out["now"] = np.int64(now).view("datetime64[us]")
        return out
    pd = require_pandas("sample histories as DataFrames")
    data: dict[str, Any] = {}
    for key, value in columns.items():
        if isinstance(value, tuple):
            codes, names = value
            data[key] = pd.Categorical.from_codes(codes, categories=list(names))
        elif key in instants:
            data[key] = to_pandas_instants(value.view("datetime64[us]"), tz)
        else:
            data[key] = value
    frame = pd.DataFrame(data)
    frame.attrs["now"] = (
        pd.Timestamp(np.int64(now).view("datetime64[us]")).tz_localize("UTC").tz_convert(tz)
    )
    return frame


def callback_centre(
    n: int,
    seed: int,
    slow_tier: bool,
    start: datetime | None,
    days: int,
    calendar: BusinessCalendar | None,
    as_frame: bool | None,
    score_model: Any,
) -> Any:
    """See :func:`promisekit.datasets.callback_centre_history`."""
    draw = _Draw("callback", n, seed, slow_tier, start, days, calendar, score_model)
    window = np.full(n, 60 * _MINUTE, dtype=np.int64)
    work = draw.durations(np.full(n, 33.0 * _MINUTE), 0.6)
    owners = tuple(f"agent-{i:02d}" for i in range(1, 13))
    return draw.finish(window, work, 0.15, np.zeros(n, dtype=bool), owners, as_frame)


def field_repairs(
    n: int,
    seed: int,
    slow_tier: bool,
    start: datetime | None,
    days: int,
    calendar: BusinessCalendar | None,
    as_frame: bool | None,
    score_model: Any,
) -> Any:
    """See :func:`promisekit.datasets.field_repairs_history`."""
    draw = _Draw("repair", n, seed, slow_tier, start, days, calendar, score_model)
    rng = draw.rng
    business_day = 7 * _HOUR + 30 * _MINUTE
    window = np.where(rng.random(n) < 0.6, 1, 2).astype(np.int64) * business_day
    work = draw.durations(0.6 * window, 0.5)
    fixed = rng.random(n) >= 0.15
    cost = np.round(150.0 * np.exp(0.25 * rng.standard_normal(n)), 2)
    max_cost = rng.choice(np.array([150.0, 200.0, 250.0]), size=n)
    short = ~fixed | (cost > max_cost)
    draw.columns = {"first_visit_fix": fixed, "cost": cost, "max_cost": max_cost}
    owners = tuple(f"tech-{i:02d}" for i in range(1, 9))
    return draw.finish(window, work, 0.5, short, owners, as_frame)


def parcels(
    n: int,
    seed: int,
    slow_tier: bool,
    start: datetime | None,
    days: int,
    calendar: BusinessCalendar | None,
    as_frame: bool | None,
    score_model: Any,
) -> Any:
    """See :func:`promisekit.datasets.parcels_history`."""
    draw = _Draw("parcel", n, seed, slow_tier, start, days, calendar, score_model)
    rng = draw.rng
    business_day = 7 * _HOUR + 30 * _MINUTE
    window = rng.choice(np.array([2, 3, 5], dtype=np.int64), size=n) * business_day
    work = draw.durations(0.6 * window, 0.4)
    quantity = rng.integers(1, 6, n).astype(np.int16)
    missing = rng.random(n) < 0.03
    delivered = (quantity - missing).astype(np.int16)
    draw.columns = {"quantity": quantity, "delivered_quantity": delivered}
    owners = ("depot-east", "depot-north", "depot-south", "depot-west")
    return draw.finish(window, work, 0.5, missing, owners, as_frame)
