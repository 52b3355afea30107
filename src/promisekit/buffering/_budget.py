"""Budgets: a target mean window shared out to keep the most promises.

Given each request's predicted distribution ``F_i`` and a target mean window ``W``,
:func:`allocate_budget` chooses windows ``w_i`` that maximize the expected number of
kept promises ``sum F_i(w_i)`` subject to ``mean(w_i) = W`` and ``F_i(w_i) >= floor``.
At the optimum the marginal gain per minute, the density ``f_i(w_i)``, is the same
for every request not held at its floor (a Lagrange multiplier ``lam``). The density
is read between the request's quantiles at levels ``floor, floor + step, … 1`` (a
smoothed estimate); for a given ``lam`` each request takes the longest of these
windows from which a further step still gains at least ``lam`` per microsecond.
The mean window falls as ``lam`` grows, and a bisection on ``lam`` finds the budget;
the last fraction of a step is shared by interpolation so the mean equals the target
exactly (to a microsecond).

:class:`BudgetBuffer` applies it to every block of requests a columnar model quotes.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import attrs

from promisekit._validation import describe
from promisekit.buffering._columns import HistoryColumns, QuoteColumns
from promisekit.buffering._common import td_us
from promisekit.buffering._features import check_history, check_level, numpy_module
from promisekit.buffering._grid import GridDistributions
from promisekit.errors import InvalidTypeError, InvalidValueError

_ITERATIONS = 100


def _windows_at(lam: float, suffix_max: Any, x: Any, dist: GridDistributions) -> Any:
    np = numpy_module()
    # The longest candidate whose marginal gain still reaches lam.
    count = (suffix_max >= lam).sum(axis=1)
    return dist._to_window(x[np.arange(x.shape[0]), count][dist.key])


def _candidates(dist: GridDistributions, floor: float, step: float) -> tuple[Any, Any]:
    """Per distinct distribution: windows at levels floor, floor + step, … 1, and their cdf."""
    np = numpy_module()
    levels = np.unique(np.concatenate([np.arange(floor, 1.0, step), [1.0]]))
    k, g = dist.cdf.shape
    # One searchsorted for every row: row r is shifted by 2 r (a cdf lies in [0, 1]).
    shift = 2.0 * np.arange(k)[:, None]
    flat = (dist.cdf + shift).ravel()
    wanted = (levels[None, :] - 1e-12 + shift).ravel()
    idx = np.searchsorted(flat, wanted, side="left").reshape(k, -1) - np.arange(k)[:, None] * g
    idx = np.clip(idx, 0, g - 1)
    x = dist.grid_us[idx]
    f = np.take_along_axis(dist.cdf, idx, axis=1)
    return x, f


def allocate_budget(
    dist: GridDistributions,
    mean_window: timedelta | float,
    *,
    floor: float = 0.5,
    step: float = 0.01,
) -> QuoteColumns:
    """Windows with the given mean that keep the most promises in expectation.

    Args:
        dist: One predicted distribution per request (from a conditional model).
        mean_window: The target mean window (``timedelta`` or microseconds).
        floor: No quote's confidence falls below this (an honest promise for all).
        step: Spacing of the candidate levels (``floor``, ``floor + step``, … 1): the
            marginal gain of a minute is read between consecutive candidates, which
            smooths the empirical density.

    Raises:
        InvalidValueError: The target is below the mean of the floor windows (or
            above the longest window the distributions support).

    .. versionadded:: 0.1.0
    """
    np = numpy_module()
    if not isinstance(dist, GridDistributions):
        raise InvalidTypeError(
            f"'dist' must be GridDistributions (got {type(dist).__name__} {describe(dist)})"
        )
    level = check_level("floor", floor)
    if isinstance(mean_window, timedelta):
        target = float(td_us(mean_window))
    elif isinstance(mean_window, (int, float)) and not isinstance(mean_window, bool):
        target = float(mean_window)
    else:
        raise InvalidTypeError(
            f"'mean_window' must be a timedelta or microseconds (got {describe(mean_window)})"
        )
    n = len(dist)
    if n == 0:
        return QuoteColumns(np.zeros(0, dtype=np.int64), np.zeros(0))
    if isinstance(step, bool) or not isinstance(step, (int, float)) or not 0 < step < 1:
        raise InvalidValueError(f"'step' must be in (0, 1) (got {describe(step)})")
    x, f = _candidates(dist, level, float(step))
    gain = np.diff(f, axis=1)
    width = np.diff(x, axis=1)
    if dist.scale is not None:  # one scale per distinct distribution
        per_key = np.ones(x.shape[0])
        per_key[dist.key] = dist.scale
        width = width * per_key[:, None]
    slope = np.where(width > 0, gain / np.where(width > 0, width, 1.0), 0.0)
    # suffix_max[k, m] = the best gain per microsecond from candidate m on.
    suffix_max = np.maximum.accumulate(slope[:, ::-1], axis=1)[:, ::-1]
    floor_w = dist._to_window(x[dist.key, 0])
    top = dist._to_window(x[dist.key, -1])
    if target < floor_w.mean() - 0.5:
        raise InvalidValueError(
            f"'mean_window' {describe(mean_window)} is below the mean window of the floor "
            f"quotes ({floor_w.mean() / 6e7:.1f} min at 'floor' {level})"
        )
    if target > top.mean() + 0.5:
        raise InvalidValueError(
            f"'mean_window' {describe(mean_window)} is beyond the longest windows the "
            f"distributions support ({top.mean() / 6e7:.1f} min on average)"
        )
    args = (suffix_max, x, dist)
    lo, hi = 0.0, float(suffix_max.max()) * 2.0 + 1.0  # lo: long windows, hi: floors
    w_long, w_short = top, floor_w
    for _ in range(_ITERATIONS):
        mid = 0.5 * (lo + hi)
        w = _windows_at(mid, *args)
        if w.mean() >= target:
            lo, w_long = mid, w
        else:
            hi, w_short = mid, w
        if hi - lo <= 1e-15 * max(hi, 1e-300):
            break
    gap = w_long.mean() - w_short.mean()
    t = 1.0 if gap <= 0 else (target - w_short.mean()) / gap
    window = w_short + min(max(t, 0.0), 1.0) * (w_long - w_short)
    window_us = np.round(window).astype(np.int64)
    # Integer rounding: nudge the longest windows so the sum hits the target exactly.
    excess = int(window_us.sum() - round(target * n))
    if excess:
        order = np.argsort(-window_us, kind="stable")[: abs(excess)]
        window_us[order] -= 1 if excess > 0 else -1
    return QuoteColumns(window_us, dist.cdf_at(window_us))


@attrs.frozen
class BudgetBuffer:
    """Share a mean window across each block of quotes to keep the most promises.

    Args:
        base: A model giving distributions (:class:`ConditionalQuantileBuffer`, or a
            :class:`ConformalBuffer` around one for calibrated confidences).
        mean_window: The target mean window of each quoted block.
        floor: The lowest confidence any quote may have.

    .. versionadded:: 0.1.0
    """

    base: Any
    mean_window: timedelta = attrs.field(kw_only=True)
    floor: float = attrs.field(default=0.5, kw_only=True)

    def __attrs_post_init__(self) -> None:
        if not callable(getattr(self.base, "fit_columns", None)):
            raise InvalidTypeError(
                f"'base' must be a columnar policy (got {type(self.base).__name__} "
                f"{describe(self.base)})"
            )
        if not isinstance(self.mean_window, timedelta) or self.mean_window <= timedelta(0):
            raise InvalidValueError(
                f"'mean_window' must be a positive timedelta (got {describe(self.mean_window)})"
            )
        check_level("floor", self.floor)

    def fit_columns(self, past: HistoryColumns) -> BudgetQuoter:
        """Fit the base model.

        .. versionadded:: 0.1.0
        """
        return BudgetQuoter(self, self.base.fit_columns(check_history(past)))


class BudgetQuoter:
    """A fitted :class:`BudgetBuffer`.

    .. versionadded:: 0.1.0
    """

    def __init__(self, policy: BudgetBuffer, model: Any) -> None:
        self.policy = policy
        self.model = model

    def quote_columns(self, requests: HistoryColumns) -> QuoteColumns:
        """Windows with the policy's mean over ``requests``.

        .. versionadded:: 0.1.0
        """
        dist = self.model.distributions(check_history(requests, "requests"))
        return allocate_budget(dist, self.policy.mean_window, floor=self.policy.floor)


__all__ = ["BudgetBuffer", "BudgetQuoter", "allocate_budget"]
