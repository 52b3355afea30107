"""Sample promise histories at scale: columnar, seeded, from 100 to 10,000,000 rows.

The columnar counterparts of :mod:`promisekit.datasets` for analysis and benchmarks:
each function returns one row per promise as a pandas DataFrame (or, without pandas or
with ``as_frame=False``, a dict of numpy arrays). Everything is generated with numpy
from a seed — the same arguments give the same rows on every machine — and in business
time of :func:`promisekit.datasets.montreal_calendar` (Monday to Friday 08:30–12:00 and
13:00–17:00 in Montréal, Quebec holidays) unless another calendar is given.

* :func:`callback_centre` — "we'll call you back within 60 minutes" (business minutes).
* :func:`field_repairs` — a technician visit within one or two business days, with a
  first-visit-fix promise and a cost ceiling.
* :func:`parcels` — delivery within 2, 3 or 5 business days, with a parcel count.

**How rows are drawn.** Requests arrive uniformly in business time over ``days``
calendar days from ``start``. Work takes a right-skewed (log-normal) amount of business
time. Customers are in three tiers (``segment``): ``"bronze"`` (50 %), ``"silver"``
(35 %) and ``"gold"`` (15 %). With ``slow_tier=True`` the bronze tier is served
:data:`SLOW_TIER_FACTOR` times slower — the unequal treatment a fairness audit should
find; with ``slow_tier=False`` every tier is served alike. A promise running late is
sometimes revised (its due date pushed back once, or twice) before it is missed.
Promises not completed by ``now`` (the end of the period, ``frame.attrs["now"]``) are
open: their ``completed_at`` is NaT; about 0.5 % are never completed.

**Columns** (instants are tz-aware in the calendar's zone in a DataFrame, and UTC
``datetime64[us]`` in a dict):

``promise_id`` (int64), ``customer_id`` (int64), ``kind``, ``segment``, ``owner``
(categoricals), ``made_at``, ``original_due``, ``due`` (in force, after revisions),
``revisions`` (int8), ``completed_at`` (NaT while open), ``short`` (a non-time term was
missed), ``score`` (1–5, NaN while open), and per kind: ``first_visit_fix``, ``cost``,
``max_cost`` (repairs; false / NaN while open), ``quantity``, ``delivered_quantity``
(parcels; 0 while open).

**How scores are drawn.** The ``score`` column is a survey answer drawn from a
satisfaction model, ``score_model`` (default: a fresh
:class:`~promisekit.satisfaction.Disconfirmation`). Each closed promise is scored with
:class:`~promisekit.analysis.SatisfactionScorer` in business time of the calendar: the
completion at ``completed_at`` of a promise made at ``made_at`` and due at ``due`` (the
date in force), which gives its satisfaction *value* ``v``. A level 1–5 is then drawn,
with the dataset's seeded generator, from the model's ordered logit::

    P(score <= k) = logistic((c_k - v) / scale)        k = 1..4

with the cut points ``c_k`` of the model's labels (by default
:data:`~promisekit.satisfaction.DEFAULT_CUTPOINTS`) and their logistic ``scale`` when the
model is fitted, else :data:`SCORE_SCALE` — as
:meth:`Labels.probabilities <promisekit.satisfaction.Labels.probabilities>` gives them.
So with the defaults a callback made in 20 of its 60 minutes scores 5 with probability
0.62, and one late by any amount scores 1 or 2 with probability at least 0.65. Columns carry
no revision history nor term of the promise to the scorer, so revisions and ``short``
deliveries are not charged. ``score_model=None`` draws the score from
:func:`satisfaction_proxy` instead — the simple, documented stand-in these histories
used before the satisfaction models were wired in (it charges revisions and ``short``).
Either way each row uses one uniform draw, so the other columns do not depend on
``score_model``.

Example:
    >>> from promisekit.analysis import datasets
    >>> rows = datasets.callback_centre(1_000, seed=1, as_frame=False)
    >>> len(rows["made_at"]), sorted(set(rows["segment"]))
    (1000, ['bronze', 'gold', 'silver'])

.. versionadded:: 0.1.0
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any, Final

import numpy as np
from numpy.typing import NDArray

from promisekit._validation import check_aware
from promisekit._vectorized_calendar import cum_at_many, earliest_many
from promisekit.analysis._columns import assess_columns, require_pandas, to_pandas_instants
from promisekit.analysis._scoring import SatisfactionScorer, _expit_many, check_model
from promisekit.calendar import BusinessCalendar
from promisekit.datasets import montreal_calendar
from promisekit.errors import InvalidTypeError, InvalidValueError
from promisekit.satisfaction import Disconfirmation, Labels, SatisfactionModel

__all__ = [
    "SCORE_SCALE",
    "SLOW_TIER_FACTOR",
    "TIERS",
    "callback_centre",
    "field_repairs",
    "parcels",
    "satisfaction_proxy",
]

#: Customer tiers and their shares of the requests.
#:
#: .. versionadded:: 0.1.0
TIERS: tuple[tuple[str, float], ...] = (("bronze", 0.5), ("silver", 0.35), ("gold", 0.15))
#: How much slower the ``"bronze"`` tier is served with ``slow_tier=True`` (median
#: business duration multiplied by this).
#:
#: .. versionadded:: 0.1.0
SLOW_TIER_FACTOR = 1.5
#: Logistic scale of the ordered logit that draws the ``score`` column from an unfitted
#: satisfaction model (a fitted model's own scale is used instead); the same scale as the
#: satisfaction tests' simulated surveys.
#:
#: .. versionadded:: 0.1.0
SCORE_SCALE = 0.4

_US = 1_000_000
_MINUTE = 60 * _US
_HOUR = 60 * _MINUTE
_NAT = np.iinfo(np.int64).min
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_NEVER_DONE = 0.005  # share of promises never completed
_MAX_ROWS = 100_000_000


class _DefaultModel:
    """The default ``score_model``: a fresh ``Disconfirmation()`` for every call.

    (A shared default instance could be fitted in place by a caller.)
    """

    __slots__ = ()

    def __repr__(self) -> str:
        return "Disconfirmation()"


_DISCONFIRMATION: Final = _DefaultModel()


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


def satisfaction_proxy(
    elapsed_ratio: NDArray[np.float64],
    *,
    short: NDArray[np.bool_] | None = None,
    revisions: NDArray[np.integer[Any]] | None = None,
    noise: float = 0.2,
    seed: int | np.random.Generator = 0,
) -> NDArray[np.float64]:
    """A simple satisfaction proxy (1–5) from how much of the promised window was used.

    Expectation-disconfirmation in its crudest form — the score a customer would give
    depends on the delivery relative to what was promised:

    ========================  =====
    ``elapsed / window``      score
    ========================  =====
    ≤ 0.5 (well ahead)        5
    ≤ 1.0 (on time)           4
    ≤ 1.5                     3
    ≤ 2.5                     2
    > 2.5                     1
    ========================  =====

    then one point less when a non-time term was missed (``short``) and one point less
    when the due date was revised, and with probability ``noise`` one point up or down
    (equally likely), clipped to 1–5. NaN ratios (open promises) give NaN. So a
    callback promised "within 60 minutes" and made after 59 scores 4, the same callback
    promised "by the end of the day" scores 5.

    A stand-in for demos and tests, not a model of satisfaction. The sample histories
    draw their ``score`` from a satisfaction model (``promisekit.satisfaction``) by
    default, and from this proxy only with ``score_model=None``.

    Args:
        elapsed_ratio: Business time from request to completion over the promised
            business window, per promise (NaN when not completed).
        short: Booleans: a non-time term was missed.
        revisions: Number of revisions of each promise.
        noise: Probability of a ±1 perturbation, in ``[0, 1]``.
        seed: Seed or numpy ``Generator`` for the noise.

    Returns:
        Scores as floats (1.0 to 5.0, NaN where the ratio is NaN).

    .. versionadded:: 0.1.0
    """
    ratio = np.asarray(elapsed_ratio, dtype=np.float64)
    if not 0.0 <= noise <= 1.0:
        raise InvalidValueError(f"'noise' must be in [0, 1] (got {noise!r})")
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    score = 5.0 - np.searchsorted(np.array([0.5, 1.0, 1.5, 2.5]), ratio, side="left")
    if short is not None:
        score = score - np.asarray(short, dtype=bool)
    if revisions is not None:
        score = score - (np.asarray(revisions) > 0)
    u = rng.random(ratio.shape)
    score = score + np.where(u < noise / 2, -1.0, np.where(u < noise, 1.0, 0.0))
    out: NDArray[np.float64] = np.where(np.isnan(ratio), np.nan, np.clip(score, 1.0, 5.0))
    return out


# --------------------------------------------------------------------------- engine


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
            score = satisfaction_proxy(ratio, short=short & closed, revisions=revisions, seed=rng)
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
    n: int = 10_000,
    *,
    seed: int = 0,
    slow_tier: bool = False,
    start: datetime | None = None,
    days: int = 365,
    calendar: BusinessCalendar | None = None,
    as_frame: bool | None = None,
    score_model: SatisfactionModel | _DefaultModel | None = _DISCONFIRMATION,
) -> Any:
    """A callback centre: "we'll call you back within 60 minutes" (business minutes).

    Callbacks take a median of 33 business minutes (log-normal, σ = 0.6), so about one
    in six is late; a late-running callback is revised with probability 0.15. No
    non-time terms (``short`` is always false).

    Args:
        n: Number of promises (rows), 1 to 100,000,000 (100 to 10,000,000 is typical).
        seed: Random seed; the same arguments give the same rows.
        slow_tier: Serve the ``"bronze"`` tier :data:`SLOW_TIER_FACTOR` times slower.
        start: First instant of the period (aware); default Monday 2026-01-05 08:30
            in the calendar's zone.
        days: Length of the period in calendar days; ``now`` is its end.
        calendar: Business calendar; default
            :func:`promisekit.datasets.montreal_calendar`.
        as_frame: ``True`` for a DataFrame, ``False`` for a dict of numpy arrays
            (with a ``"now"`` entry), ``None`` for a DataFrame when pandas is installed.
        score_model: The satisfaction model the ``score`` column is drawn from
            (default: a fresh :class:`~promisekit.satisfaction.Disconfirmation`), or
            ``None`` for :func:`satisfaction_proxy`; see the module documentation.

    Returns:
        A pandas DataFrame (``frame.attrs["now"]`` is the export instant) or a dict of
        numpy arrays; see the module documentation for the columns.

    Raises:
        InvalidTypeError: an argument has the wrong type (``score_model`` without a
            ``score`` method).
        InvalidValueError: ``n`` or ``days`` is out of range.
        MissingDependencyError: ``as_frame=True`` without pandas.

    .. versionadded:: 0.1.0
    """
    draw = _Draw("callback", n, seed, slow_tier, start, days, calendar, score_model)
    window = np.full(n, 60 * _MINUTE, dtype=np.int64)
    work = draw.durations(np.full(n, 33.0 * _MINUTE), 0.6)
    owners = tuple(f"agent-{i:02d}" for i in range(1, 13))
    return draw.finish(window, work, 0.15, np.zeros(n, dtype=bool), owners, as_frame)


def field_repairs(
    n: int = 10_000,
    *,
    seed: int = 0,
    slow_tier: bool = False,
    start: datetime | None = None,
    days: int = 365,
    calendar: BusinessCalendar | None = None,
    as_frame: bool | None = None,
    score_model: SatisfactionModel | _DefaultModel | None = _DISCONFIRMATION,
) -> Any:
    """Field repairs: a visit within one or two business days, fixed at the first visit.

    The window is one business day (7.5 business hours, 60 %) or two; the visit takes
    a median of 60 % of it (log-normal, σ = 0.5). A repair is ``short`` when it is not
    fixed at the first visit (15 %) or costs more than its ceiling (``max_cost`` of
    150, 200 or 250; costs are log-normal around 150). Late-running repairs are revised
    with probability 0.5.

    Args:
        n: Number of promises (rows), 1 to 100,000,000 (100 to 10,000,000 is typical).
        seed: Random seed; the same arguments give the same rows.
        slow_tier: Serve the ``"bronze"`` tier :data:`SLOW_TIER_FACTOR` times slower.
        start: First instant of the period (aware); default Monday 2026-01-05 08:30
            in the calendar's zone.
        days: Length of the period in calendar days; ``now`` is its end.
        calendar: Business calendar; default
            :func:`promisekit.datasets.montreal_calendar`.
        as_frame: ``True`` for a DataFrame, ``False`` for a dict of numpy arrays
            (with a ``"now"`` entry), ``None`` for a DataFrame when pandas is installed.
        score_model: The satisfaction model the ``score`` column is drawn from
            (default: a fresh :class:`~promisekit.satisfaction.Disconfirmation`), or
            ``None`` for :func:`satisfaction_proxy`; see the module documentation.

    Returns:
        A pandas DataFrame (``frame.attrs["now"]`` is the export instant) or a dict of
        numpy arrays; see the module documentation for the columns.

    Raises:
        InvalidTypeError: an argument has the wrong type (``score_model`` without a
            ``score`` method).
        InvalidValueError: ``n`` or ``days`` is out of range.
        MissingDependencyError: ``as_frame=True`` without pandas.

    .. versionadded:: 0.1.0
    """
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
    n: int = 10_000,
    *,
    seed: int = 0,
    slow_tier: bool = False,
    start: datetime | None = None,
    days: int = 365,
    calendar: BusinessCalendar | None = None,
    as_frame: bool | None = None,
    score_model: SatisfactionModel | _DefaultModel | None = _DISCONFIRMATION,
) -> Any:
    """Parcels: delivery within 2, 3 or 5 business days, with a number of parcels.

    Delivery takes a median of 60 % of the window (log-normal, σ = 0.4). An order of
    1–5 parcels is ``short`` when one is missing (3 %). Late-running deliveries are
    revised with probability 0.5.

    Args:
        n: Number of promises (rows), 1 to 100,000,000 (100 to 10,000,000 is typical).
        seed: Random seed; the same arguments give the same rows.
        slow_tier: Serve the ``"bronze"`` tier :data:`SLOW_TIER_FACTOR` times slower.
        start: First instant of the period (aware); default Monday 2026-01-05 08:30
            in the calendar's zone.
        days: Length of the period in calendar days; ``now`` is its end.
        calendar: Business calendar; default
            :func:`promisekit.datasets.montreal_calendar`.
        as_frame: ``True`` for a DataFrame, ``False`` for a dict of numpy arrays
            (with a ``"now"`` entry), ``None`` for a DataFrame when pandas is installed.
        score_model: The satisfaction model the ``score`` column is drawn from
            (default: a fresh :class:`~promisekit.satisfaction.Disconfirmation`), or
            ``None`` for :func:`satisfaction_proxy`; see the module documentation.

    Returns:
        A pandas DataFrame (``frame.attrs["now"]`` is the export instant) or a dict of
        numpy arrays; see the module documentation for the columns.

    Raises:
        InvalidTypeError: an argument has the wrong type (``score_model`` without a
            ``score`` method).
        InvalidValueError: ``n`` or ``days`` is out of range.
        MissingDependencyError: ``as_frame=True`` without pandas.

    .. versionadded:: 0.1.0
    """
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
