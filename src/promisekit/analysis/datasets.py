"""How the columnar sample histories are drawn, and the score proxy they can use.

The histories themselves live beside the domain-object ones in :mod:`promisekit.datasets`,
named by what they return; this module documents how their rows are drawn and keeps
:func:`satisfaction_proxy`. Each returns one row per promise as a pandas DataFrame (or,
without pandas or with ``as_frame=False``, a dict of numpy arrays). Everything is
generated with numpy from a seed — the same arguments give the same rows on every
machine — and in business time of :func:`promisekit.datasets.montreal_calendar` (Monday
to Friday 08:30–12:00 and 13:00–17:00 in Montréal, Quebec holidays) unless another
calendar is given.

* :func:`promisekit.datasets.callback_centre_history` — "we'll call you back within 60
  minutes" (business minutes).
* :func:`promisekit.datasets.field_repairs_history` — a technician visit within one or
  two business days, with a first-visit-fix promise and a cost ceiling.
* :func:`promisekit.datasets.parcels_history` — delivery within 2, 3 or 5 business days,
  with a parcel count.

The old names here, :func:`callback_centre`, :func:`field_repairs` and :func:`parcels`,
are deprecated aliases of those three (they warn); :data:`TIERS`,
:data:`SLOW_TIER_FACTOR` and :data:`SCORE_SCALE` are those of :mod:`promisekit.datasets`.

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
    >>> from promisekit.datasets import callback_centre_history
    >>> rows = callback_centre_history(1_000, seed=1, as_frame=False)
    >>> len(rows["made_at"]), sorted(set(rows["segment"]))
    (1000, ['bronze', 'gold', 'silver'])

.. versionchanged:: 0.1.0
   The generators moved to :mod:`promisekit.datasets` as ``*_history``; the names
   here are deprecated aliases.

.. versionadded:: 0.1.0
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import numpy as np
from numpy.typing import NDArray

from promisekit.calendar import BusinessCalendar
from promisekit.datasets import (
    _DISCONFIRMATION,
    SCORE_SCALE,
    SLOW_TIER_FACTOR,
    TIERS,
    _DefaultModel,
    _deprecated,
    callback_centre_history,
    field_repairs_history,
    parcels_history,
)
from promisekit.errors import InvalidValueError
from promisekit.satisfaction import SatisfactionModel

__all__ = [
    "SCORE_SCALE",
    "SLOW_TIER_FACTOR",
    "TIERS",
    "callback_centre",
    "field_repairs",
    "parcels",
    "satisfaction_proxy",
]


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


# --------------------------------------------------------------------------- deprecated


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
    """Deprecated alias of :func:`promisekit.datasets.callback_centre_history`.

    .. deprecated:: 0.1.0
       Use :func:`promisekit.datasets.callback_centre_history`; this alias warns.

    .. versionadded:: 0.1.0
    """
    _deprecated("promisekit.analysis.datasets.callback_centre", "callback_centre_history")
    return callback_centre_history(
        n,
        seed=seed,
        slow_tier=slow_tier,
        start=start,
        days=days,
        calendar=calendar,
        as_frame=as_frame,
        score_model=score_model,
    )


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
    """Deprecated alias of :func:`promisekit.datasets.field_repairs_history`.

    .. deprecated:: 0.1.0
       Use :func:`promisekit.datasets.field_repairs_history`; this alias warns.

    .. versionadded:: 0.1.0
    """
    _deprecated("promisekit.analysis.datasets.field_repairs", "field_repairs_history")
    return field_repairs_history(
        n,
        seed=seed,
        slow_tier=slow_tier,
        start=start,
        days=days,
        calendar=calendar,
        as_frame=as_frame,
        score_model=score_model,
    )


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
    """Deprecated alias of :func:`promisekit.datasets.parcels_history`.

    .. deprecated:: 0.1.0
       Use :func:`promisekit.datasets.parcels_history`; this alias warns.

    .. versionadded:: 0.1.0
    """
    _deprecated("promisekit.analysis.datasets.parcels", "parcels_history")
    return parcels_history(
        n,
        seed=seed,
        slow_tier=slow_tier,
        start=start,
        days=days,
        calendar=calendar,
        as_frame=as_frame,
        score_model=score_model,
    )
