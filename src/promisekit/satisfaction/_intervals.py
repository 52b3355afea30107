"""Confidence intervals beyond the normal approximation: the bootstrap, on request.

``fit(..., intervals="bootstrap")`` and ``fit_aggregated(..., intervals="bootstrap")``
refit the model on ``n_boot`` resamples and report percentile intervals: for row fits,
rows drawn with replacement (a nonparametric bootstrap of the frequency weights); for
aggregated fits, a parametric bootstrap that redraws every bucket mean with the
sampling noise of ``count`` scores from the fitted level probabilities. Unlike the
normal (Wald) interval from the curvature, a bootstrap interval follows the shape of
the likelihood: it stays positive for a positive parameter and widens honestly along
a ridge where the data do not determine a parameter.

Also the checks of the ``intervals``, ``n_boot`` and ``seed`` arguments. numpy is passed
in by the caller.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable
from types import ModuleType
from typing import Any

from promisekit._validation import describe
from promisekit.errors import InsufficientDataError, InvalidTypeError, InvalidValueError
from promisekit.satisfaction._results import Array

#: The interval methods a fit accepts: ``"wald"`` (the default, normal on the log scale
#: for positive parameters) and ``"bootstrap"``.
INTERVAL_METHODS = ("wald", "bootstrap")
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
