"""The aggregated fit: weighted least squares of the expected score on bucket means.

:func:`_fit_aggregated` fits a model to mean 1–5 scores per lateness bucket, as
dashboards report them, with the cut points free (ordered through exponentiated
increments) or fixed; :func:`_bucket_design` turns lateness values into the columnar
design of unrevised outcomes (shared with ``predict_curve``). Optional bootstrap
intervals redraw the bucket means (:mod:`._intervals`). numpy and scipy are imported on
demand.
"""

from __future__ import annotations

import math
from datetime import timedelta
from types import ModuleType
from typing import Any

from promisekit._validation import describe
from promisekit.errors import (
    InsufficientDataError,
    InvalidTypeError,
    InvalidValueError,
    PromiseKitError,
)
from promisekit.satisfaction._base import _ModelBase
from promisekit.satisfaction._design import (
    _Design,
    _dot,
    _numpy,
    _optimize,
    _reals,
    _same_length,
    _sequence,
)
from promisekit.satisfaction._diagnostics import _diagnose, _warn
from promisekit.satisfaction._intervals import bootstrap, check_interval_args
from promisekit.satisfaction._labels import Labels, _check_link_value
from promisekit.satisfaction._likelihood import _cdf, _latent, _probabilities
from promisekit.satisfaction._results import Array, _FitState
from promisekit.satisfaction._value import _anchors_scale, _np_evaluator

_CUT_NAMES = ("c1", "c2", "c3", "c4")


def _bucket_inputs(
    lateness: Any, mean_scores: Any, counts: Any
) -> tuple[list[float], list[float], list[float]]:
    """Checked buckets: lateness in seconds, mean scores in ``[1, 5]``, counts ``>= 0``."""
    lateness = _sequence("lateness", lateness)
    mean_scores = _sequence("mean_scores", mean_scores)
    counts = _sequence("counts", counts)
    size = len(lateness)
    _same_length("mean_scores", mean_scores, size, "lateness bucket")
    _same_length("counts", counts, size, "lateness bucket")
    seconds = []
    for index, item in enumerate(lateness):
        if not isinstance(item, timedelta):
            raise InvalidTypeError(
                f"'lateness' must contain timedeltas "
                f"(got {type(item).__name__} {describe(item)} at index {index})"
            )
        seconds.append(item.total_seconds())
    means = _reals("mean_scores", mean_scores, lambda x: 1.0 <= x <= 5.0, "within [1, 5]")
    weights = _reals("counts", counts, lambda x: math.isfinite(x) and x >= 0, "finite and >= 0")
    return seconds, means, weights


def _bucket_design(
    np: ModuleType, model: _ModelBase, lateness: Any, window: Any, what: str
) -> tuple[_Design, float | None]:
    """The design of unrevised outcomes at the given lateness values, and the window used."""
    late_seconds = []
    for index, item in enumerate(lateness):
        if not isinstance(item, timedelta):
            raise InvalidTypeError(
                f"'lateness' must contain timedeltas "
                f"(got {type(item).__name__} {describe(item)} at index {index})"
            )
        late_seconds.append(item.total_seconds())
    window_seconds = None
    if model.relative:
        if window is None:
            raise InvalidValueError(
                f"'window' must be given to {what} a relative model on lateness buckets "
                "(the typical promised window; or use relative=False) (got None)"
            )
        if not isinstance(window, timedelta):
            raise InvalidTypeError(
                f"'window' must be a timedelta (got {type(window).__name__} {describe(window)})"
            )
        if window <= timedelta(0):
            raise InvalidValueError(f"'window' must be a positive duration (got {window})")
        window_seconds = window.total_seconds()
        denominator = max(window_seconds, model.min_window.total_seconds())
    else:
        denominator = model.unit.total_seconds()
    size = len(late_seconds)
    d = -np.array(late_seconds, dtype=float).reshape(size) / denominator
    design = _Design(
        d=d,
        loss_mult=np.ones(size),
        breach_mult=(d < 0).astype(float),
        offset=np.zeros(size),
        duration=np.zeros(size),
        late_row=np.zeros(0, dtype=np.intp),
        late_d=np.zeros(0),
        late_mult=np.zeros(0),
    )
    return design, window_seconds


# --------------------------------------------------------------------------- aggregated fit


def _fit_aggregated(
    model: _ModelBase,
    lateness: Any,
    mean_scores: Any,
    counts: Any,
    window: Any,
    fix_cutpoints: Any = None,
    intervals: Any = None,
    n_boot: Any = 200,
    seed: Any = None,
    link: Any = "logit",
) -> _FitState:
    """Weighted least squares of the expected score on bucket means.

    The cut points are fitted (``c1`` plus exponentiated increments, so they stay
    ordered) unless ``fix_cutpoints`` is true, or it is ``None`` and there are too few
    non-empty buckets to fit them as well. With ``intervals="bootstrap"``, the fit is
    repeated on ``n_boot`` parametric resamples of the bucket means.
    """
    method = check_interval_args(intervals, n_boot, seed)
    if method == "profile":
        raise InvalidValueError(
            "'intervals' must be 'wald' or 'bootstrap' for fit_aggregated: a least-squares "
            "fit on bucket means has no likelihood to profile (got 'profile')"
        )
    link = _check_link_value(link)
    if fix_cutpoints is not None and not isinstance(fix_cutpoints, bool):
        raise InvalidTypeError(
            f"'fix_cutpoints' must be a bool or None "
            f"(got {type(fix_cutpoints).__name__} {describe(fix_cutpoints)})"
        )
    feature = f"{type(model).__name__}.fit_aggregated"
    np = _numpy(feature)
    optimize = _optimize(feature)
    _, means, weights = _bucket_inputs(lateness, mean_scores, counts)
    size = len(means)
    design, window_seconds = _bucket_design(np, model, lateness, window, "fit")
    m = np.array(means, dtype=float)
    counts_arr = np.array(weights, dtype=float)
    used = counts_arr > 0
    if not used.any():
        raise InvalidValueError("'counts' must not be all zero (got a total of 0)")
    value = model._hyper_value()
    ev_d = _np_evaluator(value, np, design.d)
    ev_late = _np_evaluator(value, np, design.late_d)
    k = len(value._param_names)
    start = np.array([*value._params(), model.breach, 0.5, *model.labels.cutpoints], dtype=float)
    _, jac, dv_breach = _latent(np, ev_d, ev_late, design, start[:k], float(start[k]))
    free = np.ones(k + 6, dtype=bool)
    free[:k] = np.any((jac != 0) & used, axis=1)
    free[k] = bool(np.any((dv_breach != 0) & used))
    buckets = int(used.sum())
    if fix_cutpoints is None:  # fit the cut points when the buckets can carry them
        fix_cutpoints = buckets <= int(free.sum())
    if fix_cutpoints:
        free[k + 2 :] = False
    elif not _anchors_scale(value, bool(np.any((design.d > 0) & used))):
        # cut points free and nothing fixes the unit of the value: use logit units
        free[k + 1] = False
        start[k + 1] = 1.0
    n_free = int(free.sum())
    if buckets <= n_free:
        raise InsufficientDataError(
            f"'mean_scores' must cover more non-empty buckets than free parameters "
            f"({n_free}) (got {buckets})"
        )
    root = np.sqrt(counts_arr)
    target = [m]  # the means fitted: the observed ones, then bootstrap resamples

    def natural(nat: Array) -> tuple[Array, Array]:
        theta, breach, scale = nat[:k], float(nat[k]), float(nat[k + 1])
        cuts = nat[k + 2 :]
        v, dv_theta, dv_b = _latent(np, ev_d, ev_late, design, theta, breach)
        z = (v[:, None] - cuts[None, :]) / scale
        # P(score > k) = 1 - F((c_k - v) / scale) = F(z): both links are symmetric
        _, big, _, dens = _cdf(np, z, link)
        expected = 1.0 + big.sum(axis=1)
        de_dv = dens.sum(axis=1) / scale
        jac_nat = np.empty((size, k + 6))
        jac_nat[:, :k] = (dv_theta * de_dv).T
        jac_nat[:, k] = dv_b * de_dv
        jac_nat[:, k + 1] = -(dens * z).sum(axis=1) / scale
        jac_nat[:, k + 2 :] = -dens / scale
        return root * (expected - target[0]), root[:, None] * jac_nat

    # optimizer space: log of the value parameters, breach, log scale, then the cut
    # points as c1 and the logs of their increments (ordered whatever the step)
    lows = [lo for lo, _ in value._bounds()]
    t_start = np.concatenate(
        (
            np.log(np.maximum(start[:k], lows)),
            [start[k], math.log(start[k + 1]), start[k + 2]],
            np.log(np.diff(start[k + 2 :])),
        )
    )

    def to_nat(x: Array) -> Array:
        t = t_start.copy()
        t[free] = x
        nat = np.empty(k + 6)
        nat[:k] = np.exp(t[:k])
        nat[k] = t[k]
        nat[k + 1] = math.exp(t[k + 1])
        nat[k + 2 :] = t[k + 2] + np.concatenate(([0.0], np.cumsum(np.exp(t[k + 3 :]))))
        return nat

    def to_t_jac(jac_nat: Array, nat: Array) -> Array:
        out = jac_nat.copy()
        out[:, :k] *= nat[:k]
        out[:, k + 1] *= nat[k + 1]
        tail = np.cumsum(jac_nat[:, k + 2 :][:, ::-1], axis=1)[:, ::-1]
        out[:, k + 2] = tail[:, 0]
        out[:, k + 3 :] = tail[:, 1:] * np.diff(nat[k + 2 :])
        return out

    def residuals(x: Array) -> Array:
        return natural(to_nat(x))[0]

    def jacobian(x: Array) -> Array:
        nat = to_nat(x)
        jac = to_t_jac(natural(nat)[1], nat)[:, free]
        # a non-finite derivative (far out on a bound) would stop scipy: make it flat
        return np.nan_to_num(jac, nan=0.0, posinf=1e300, neginf=-1e300)

    # the same bounds as the row fit (the value function's own), in log space
    bounds = value._bounds()
    lower = np.array(
        [math.log(lo) for lo, _ in bounds] + [0.0, math.log(1e-6), -1e4] + [math.log(1e-6)] * 3
    )[free]
    upper = np.array(
        [math.log(hi) for _, hi in bounds] + [1e3, math.log(1e6), 1e4] + [math.log(1e4)] * 3
    )[free]
    t0 = np.clip(t_start[free], lower, upper)
    result = _least_squares(np, optimize, residuals, jacobian, t0, (lower, upper))
    nat = to_nat(result.x)
    resid, jac_nat = natural(nat)
    rss = float(_dot(np, resid, resid))
    if not (np.all(np.isfinite(nat)) and math.isfinite(rss)):
        raise InsufficientDataError(
            f"'mean_scores' do not determine a finite fit of {type(model).__name__} "
            f"(got non-finite estimates {describe(tuple(float(x) for x in nat))})"
        )
    # the curvature J'J of the free parameters and the diagonal of its inverse: on a
    # degenerate fit (every mean at a bound) J is nearly zero, its inverse overflows to
    # inf or nan; such entries just get no standard error
    with np.errstate(over="ignore", invalid="ignore", under="ignore"):
        curvature = jac_nat[:, free].T @ jac_nat[:, free]
    try:
        inverse_diag = np.diag(np.linalg.inv(curvature))
    except np.linalg.LinAlgError:
        inverse_diag = None
    bse = np.full(k + 6, np.nan)
    dof = buckets - n_free
    if dof > 0 and inverse_diag is not None:
        with np.errstate(over="ignore", invalid="ignore", under="ignore"):
            diag = (rss / dof) * inverse_diag  # 0 * inf is nan: no standard error
        ok = np.isfinite(diag) & (diag > 0)
        bse[np.flatnonzero(free)[ok]] = np.sqrt(diag[ok])
    estimates = tuple(float(x) for x in nat)
    boot: tuple[tuple[float, float], ...] | None = None
    n_draws = 0
    if method == "bootstrap":
        v, _, _ = _latent(np, ev_d, ev_late, design, nat[:k], float(nat[k]))
        probs = _probabilities(np, v, nat[k + 2 :], float(nat[k + 1]), link)
        boot, n_draws = _redraw_means(
            np,
            optimize,
            probs,
            np.where(used, counts_arr, 1.0),
            target,
            lambda x: to_nat(x),
            (residuals, jacobian, t0, (lower, upper)),
            free,
            int(n_boot),
            seed,
        )
    boxes = dict(zip(value._param_names, value._bounds(), strict=True))
    boxes.update(breach=(0.0, 1e3), scale=(1e-6, 1e6))
    names = (*value._param_names, "breach", "scale", *_CUT_NAMES)
    # standard errors up to the residual variance: an exact fit (rss 0) is no defect
    unit_se = np.full(k + 6, np.nan)
    if inverse_diag is not None:
        good = np.isfinite(inverse_diag) & (inverse_diag > 0)
        unit_se[np.flatnonzero(free)[good]] = np.sqrt(inverse_diag[good])
    undetermined = _diagnose(np, names, nat, unit_se, free, curvature, boxes)
    _warn(type(model).__name__, undetermined)
    return _FitState(
        kind="aggregated",
        value=value._with(estimates[:k]),
        breach=estimates[k],
        labels=Labels(cutpoints=estimates[k + 2 :], scale=estimates[k + 1], link=link),
        names=(*value._param_names, "breach", "scale", *_CUT_NAMES),
        estimates=estimates,
        bse=tuple(float(x) for x in bse),
        fixed=tuple(not bool(f) for f in free),
        n_obs=round(float(counts_arr.sum())),
        weight_total=float(counts_arr.sum()),
        loglik=None,
        rss=rss,
        converged=bool(result.success),
        iterations=int(result.nfev),
        baseline=None,
        undetermined=undetermined,
        window_seconds=window_seconds,
        intervals=boot,
        n_boot=n_draws,
    )


def _least_squares(
    np: ModuleType,
    optimize: ModuleType,
    residuals: Any,
    jacobian: Any,
    t0: Array,
    bounds: tuple[Array, Array],
) -> Any:
    """scipy's bounded least squares, its numerical failures turned into promisekit errors."""
    if not np.all(np.isfinite(residuals(t0))):
        raise InsufficientDataError(
            "'mean_scores' cannot be fitted from the starting values "
            "(got a non-finite expected score)"
        )
    try:
        with np.errstate(over="ignore", under="ignore", invalid="ignore"):
            return optimize.least_squares(
                residuals, t0, jac=jacobian, bounds=bounds, method="trf", x_scale="jac"
            )
    except (ValueError, FloatingPointError, np.linalg.LinAlgError) as exc:
        raise InsufficientDataError(
            f"'mean_scores' do not determine a numerically stable fit "
            f"(got {type(exc).__name__}: {describe(str(exc))})"
        ) from None


def _redraw_means(
    np: ModuleType,
    optimize: ModuleType,
    probs: Array,
    counts: Array,
    target: list[Array],
    to_nat: Any,
    problem: tuple[Any, Any, Array, tuple[Array, Array]],
    free: Array,
    n_boot: int,
    seed: int | None,
) -> tuple[tuple[tuple[float, float], ...], int]:
    """Bootstrap intervals: every bucket mean redrawn from the fitted level probabilities.

    A resampled mean is the fitted expected score plus normal noise with the variance
    of one score under the fitted probabilities divided by the bucket's count (the
    central limit of a mean of ``count`` scores), clipped to ``[1, 5]``.
    """
    residuals, jacobian, t0, bounds = problem
    observed = target[0]
    levels = np.arange(1.0, 6.0)
    fitted = (probs * levels).sum(axis=1)
    variance = np.maximum((probs * levels**2).sum(axis=1) - fitted**2, 0.0)
    noise_sd = np.sqrt(variance / counts)

    def refit(rng: Any) -> Array | None:
        target[0] = np.clip(fitted + noise_sd * rng.standard_normal(fitted.shape[0]), 1.0, 5.0)
        try:
            result = _least_squares(np, optimize, residuals, jacobian, t0, bounds)
        except PromiseKitError:
            return None
        nat: Array = to_nat(result.x)
        return nat

    try:
        return bootstrap(np, refit, n_boot, seed, free)
    finally:
        target[0] = observed
