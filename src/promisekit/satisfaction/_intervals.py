"""Confidence intervals beyond the normal approximation: bootstrap or profile, on request.

``fit(..., intervals="bootstrap")`` and ``fit_aggregated(..., intervals="bootstrap")``
refit the model on ``n_boot`` resamples and report percentile intervals: for row fits,
rows drawn with replacement (a nonparametric bootstrap of the frequency weights); for
aggregated fits, a parametric bootstrap that redraws every bucket mean with the
sampling noise of ``count`` scores from the fitted level probabilities. Unlike the
normal (Wald) interval from the curvature, a bootstrap interval follows the shape of
the likelihood: it stays positive for a positive parameter and widens honestly along
a ridge where the data do not determine a parameter.

``fit(..., intervals="profile")`` gives profile-likelihood intervals instead: for each
free parameter, the values whose log-likelihood, maximized over all the other
parameters, is within ``chi2(1, 0.95) / 2`` of the maximum (found by root-finding on each
side). An end the profile never reaches (the likelihood stays flat towards a bound) is
reported as ``-inf`` or ``inf``: the data do not bound the parameter on that side.

Also the checks of the ``intervals``, ``n_boot`` and ``seed`` arguments. numpy is passed
in by the caller.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable
from types import ModuleType
from typing import Any

from promisekit._validation import describe
from promisekit.errors import InsufficientDataError, InvalidTypeError, InvalidValueError
from promisekit.satisfaction._results import Array

#: The interval methods a fit accepts: ``"wald"`` (the default, normal on the log scale
#: for positive parameters) and ``"bootstrap"``.
INTERVAL_METHODS = ("wald", "bootstrap", "profile")
#: Half the 95 % quantile of the chi-square with one degree of freedom: a profile-likelihood
#: interval holds the values whose profiled log-likelihood is within this of the maximum.
_HALF_CHI2_95 = 3.841458820694124 / 2
_MIN_BOOT = 20


def check_interval_args(intervals: Any, n_boot: Any, seed: Any) -> str:
    """The interval method, after checking the three arguments."""
    if intervals is None:
        intervals = "wald"
    if not isinstance(intervals, str):
        raise InvalidTypeError(
            f"'intervals' must be a str or None (got {type(intervals).__name__} "
            f"{describe(intervals)})"
        )
    if intervals not in INTERVAL_METHODS:
        raise InvalidValueError(
            f"'intervals' must be one of {', '.join(INTERVAL_METHODS)} (got {describe(intervals)})"
        )
    if isinstance(n_boot, bool) or not isinstance(n_boot, numbers.Integral):
        raise InvalidTypeError(
            f"'n_boot' must be an int (got {type(n_boot).__name__} {describe(n_boot)})"
        )
    if int(n_boot) < _MIN_BOOT:
        raise InvalidValueError(f"'n_boot' must be at least {_MIN_BOOT} (got {int(n_boot)})")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, numbers.Integral)):
        raise InvalidTypeError(
            f"'seed' must be an int or None (got {type(seed).__name__} {describe(seed)})"
        )
    return intervals


def bootstrap(
    np: ModuleType,
    refit: Callable[[Any], Array | None],
    n_boot: int,
    seed: int | None,
    free: Array,
) -> tuple[tuple[tuple[float, float], ...], int]:
    """Percentile 95 % intervals from ``n_boot`` refits, and how many succeeded.

    ``refit(rng)`` draws one resample with the numpy generator ``rng`` and returns the
    natural estimates, or ``None`` when that resample could not be fitted. A parameter
    held fixed gets ``(nan, nan)``.
    """
    rng = np.random.default_rng(seed)
    draws = []
    for _ in range(n_boot):
        nat = refit(rng)
        if nat is not None and np.all(np.isfinite(nat)):
            draws.append(nat)
    if len(draws) < _MIN_BOOT:
        raise InsufficientDataError(
            f"'n_boot' resamples must mostly be fittable to give bootstrap intervals "
            f"(got {len(draws)} fits out of {n_boot})"
        )
    table = np.array(draws)
    low, high = np.percentile(table, [2.5, 97.5], axis=0)
    nan = float("nan")
    out = tuple(
        (float(lo), float(hi)) if bool(f) else (nan, nan)
        for lo, hi, f in zip(low, high, free, strict=True)
    )
    return out, len(draws)


def profile(
    np: ModuleType,
    optimize: ModuleType,
    natural: Callable[[Array], tuple[float, Array]],
    nat: Array,
    free: Array,
    bse: Array,
    lower: Array,
) -> tuple[tuple[float, float], ...]:
    """Profile-likelihood 95 % intervals of every free parameter (``nan`` when fixed).

    ``natural`` is the negative log-likelihood and its gradient in the natural
    parameters, ``nat`` the maximum, ``lower`` the lower bound of each parameter (the
    others are free upwards). The other parameters are re-maximized by L-BFGS-B from the
    previous optimum at every trial value.
    """
    index = [int(i) for i in np.flatnonzero(free)]
    best = float(natural(nat)[0])
    nan = float("nan")
    out: list[tuple[float, float]] = [(nan, nan)] * int(free.shape[0])
    for j in index:
        others = [i for i in index if i != j]
        start = nat.copy()

        def excess(
            value: float, j: int = j, others: list[int] = others, start: Array = start
        ) -> float:
            trial = start.copy()
            trial[j] = value

            def fun(x: Array) -> tuple[float, Array]:
                trial[others] = x
                nll, grad = natural(trial)
                return nll, grad[others]

            if others:
                result = optimize.minimize(
                    fun,
                    start[others],
                    jac=True,
                    method="L-BFGS-B",
                    bounds=[(float(lower[i]), None) for i in others],
                )
                trial[others] = result.x
                nll = float(result.fun)
                if nll < best + _HALF_CHI2_95:
                    start[others] = result.x  # warm start for the next trial
            else:
                nll = float(natural(trial)[0])
            return nll - best - _HALF_CHI2_95

        se = float(bse[j])
        step = se if math.isfinite(se) and se > 0 else 0.1 * abs(float(nat[j])) + 0.1
        ends = []
        for side in (-1.0, 1.0):
            start[:] = nat
            inner = float(nat[j])
            end = side * math.inf
            for k in range(12):
                outer = float(nat[j]) + side * step * 2.0**k
                if side < 0 and outer <= lower[j]:
                    outer = float(lower[j])
                if excess(outer) > 0:
                    end = _root(excess, inner, outer)
                    break
                if side < 0 and outer <= lower[j]:
                    end = float(lower[j])  # the bound itself is inside the interval
                    break
                inner = outer
            ends.append(end)
        out[j] = (ends[0], ends[1])
    return tuple(out)


def _root(excess: Callable[[float], float], inner: float, outer: float) -> float:
    """The crossing between a value inside the interval and one outside (bisection)."""
    for _ in range(40):
        middle = 0.5 * (inner + outer)
        if excess(middle) > 0:
            outer = middle
        else:
            inner = middle
        if abs(outer - inner) <= 1e-4 * max(1.0, abs(middle)):
            break
    return 0.5 * (inner + outer)
