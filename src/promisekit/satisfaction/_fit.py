"""Fitting, prediction and evaluation of the built-in models (numpy and scipy, lazily).

* :func:`_fit_rows` — maximum likelihood of the ordered logit on row-level 1–5 scores
  (the likelihood, its exact gradient and the optimizer's reparametrization are in
  :mod:`._likelihood`; the inputs and their columnar design in :mod:`._design`);
* :func:`_fit_aggregated` — weighted least squares on mean scores per lateness bucket;
* :func:`_predict` and :func:`_evaluate` — vectorized prediction, and metrics against
  the duration-only baseline.

What they produce (:class:`_FitState`, :class:`Prediction`, :class:`Evaluation`) lives in
:mod:`._results`. This module depends on the models (:mod:`._base`), never the other
way round: the models call it through :func:`._base._fit_seam`.

Performance notes: the likelihood avoids BLAS calls on long vectors (see
:func:`._design._dot`), and the optimizer is scipy's pure-numpy BFGS rather than
L-BFGS-B, whose bundled BLAS costs milliseconds per iteration on a busy machine. The
hot path is then the pure-Python extraction of one feature row per (expectation,
outcome) pair (:func:`._features.row_features`).
"""

from __future__ import annotations

import math
from datetime import timedelta
from types import ModuleType
from typing import Any

from promisekit._validation import describe
from promisekit.calendar import BusinessCalendar
from promisekit.errors import (
    InsufficientDataError,
    InvalidTypeError,
    InvalidValueError,
)
from promisekit.satisfaction._base import _ModelBase
from promisekit.satisfaction._common import require
from promisekit.satisfaction._design import (
    _Design,
    _design,
    _dot,
    _numpy,
    _optimize,
    _reals,
    _rows,
    _same_length,
    _scores,
    _sequence,
    _sort,
    _weights,
)
from promisekit.satisfaction._diagnostics import _diagnose, _warn
from promisekit.satisfaction._labels import Labels
from promisekit.satisfaction._likelihood import (
    _check_levels,
    _fit_baseline,
    _hessian,
    _latent,
    _likelihood,
    _probabilities,
    _standard_errors,
    _Transform,
)
from promisekit.satisfaction._results import (
    Array,
    CalibrationRow,
    Evaluation,
    Prediction,
    _FitState,
)
from promisekit.satisfaction._value import _anchors_scale, _np_evaluator

__all__ = ["CalibrationRow", "Evaluation", "Prediction"]

_CUT_NAMES = ("c1", "c2", "c3", "c4")


# --------------------------------------------------------------------------- row fit


def _fit_rows(
    model: _ModelBase,
    expectations: Any,
    outcomes: Any,
    scores: Any,
    sample_weight: Any,
    calendar: BusinessCalendar | None,
) -> _FitState:
    """Maximum-likelihood fit of ``model`` to row-level scores."""
    feature = f"{type(model).__name__}.fit"
    np = _numpy(feature)
    optimize = _optimize(feature)
    rows = _rows(model, expectations, outcomes, calendar)
    n = len(rows)
    y = _scores(np, scores, n)
    w = _weights(np, sample_weight, n)
    _check_levels(np, y, w)
    design, y, w = _sort(np, _design(np, model, rows), y, w)
    value = model._hyper_value()
    ev_d = _np_evaluator(value, np, design.d)
    ev_late = _np_evaluator(value, np, design.late_d)
    names = (*value._param_names, "breach", "scale", *_CUT_NAMES)
    k = len(value._param_names)
    start = np.array([*value._params(), model.breach, 0.5, *model.labels.cutpoints], dtype=float)
    _, jac, dv_breach = _latent(np, ev_d, ev_late, design, start[:k], float(start[k]))
    used = w > 0
    free = np.ones(k + 6, dtype=bool)
    free[:k] = np.any((jac != 0) & used, axis=1)
    free[k] = bool(np.any((dv_breach != 0) & used))
    anchored = _anchors_scale(value, bool(np.any((design.d > 0) & used))) or bool(
        np.any((design.offset != 0) & used)
    )
    if not anchored:  # nothing fixes the unit of the value scale: use logit units
        free[k + 1] = False
        start[k + 1] = 1.0
    if n <= int(free.sum()):
        raise InsufficientDataError(
            f"'scores' must have more rows than free parameters ({int(free.sum())}) (got {n})"
        )
    transform = _Transform(np, value, free, start)
    total = float(w.sum())
    natural = _likelihood(np, value, design, y, w)

    def objective(x: Array) -> tuple[float, Array]:
        nat = transform.to_nat(x)
        nll, grad = natural(nat)
        return nll / total, transform.grad(grad, x, nat) / total

    x0 = transform.base[free]
    # BFGS rather than L-BFGS-B: on 9 or so parameters it only does small numpy
    # operations, where scipy's L-BFGS-B calls its bundled, threaded BLAS at every
    # iteration — milliseconds each on a busy machine.
    result = optimize.minimize(
        objective, x0, jac=True, method="BFGS", options={"gtol": 1e-6, "maxiter": 2000}
    )
    nat = transform.to_nat(result.x)
    loglik = -natural(nat)[0]
    # BFGS reports "precision loss" when its line search cannot improve any further:
    # that is convergence when the gradient is already negligible.
    converged = bool(result.success) or float(np.abs(result.jac).max()) < 1e-4
    hess = _hessian(np, lambda p: natural(p)[1], nat, free)
    bse = _standard_errors(np, hess, free)
    baseline = _fit_baseline(np, optimize, design.duration, y, w)
    estimates = tuple(float(x) for x in nat)
    scale = estimates[k + 1]
    boxes = {
        name: (lo * scale, hi * scale) if scaled else (lo, hi)
        for name, (lo, hi), scaled in zip(
            value._param_names, value._bounds(), value._scaled(), strict=True
        )
    }
    boxes["scale"] = (1e-8, 1e8)
    undetermined = _diagnose(np, names, nat, bse, free, hess, boxes)
    _warn(type(model).__name__, undetermined)
    return _FitState(
        kind="rows",
        value=value._with(estimates[:k]),
        breach=estimates[k],
        labels=Labels(cutpoints=estimates[k + 2 :], scale=estimates[k + 1]),
        names=names,
        estimates=estimates,
        bse=tuple(float(x) for x in bse),
        fixed=tuple(not bool(f) for f in free),
        n_obs=n,
        weight_total=total,
        loglik=loglik,
        rss=None,
        converged=converged,
        iterations=int(result.nit),
        baseline=baseline,
        undetermined=undetermined,
    )


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


def _predict_curve(model: _ModelBase, state: _FitState, lateness: Any, window: Any) -> Prediction:
    """Expected score and level probabilities of unrevised outcomes at each lateness."""
    np = _numpy(f"{type(model).__name__}.predict_curve")
    lateness = _sequence("lateness", lateness)
    if window is None and state.window_seconds is not None:
        window = timedelta(seconds=state.window_seconds)
    design, _ = _bucket_design(np, model, lateness, window, "predict")
    return _predict_design(np, state, design)


# --------------------------------------------------------------------------- aggregated fit


def _fit_aggregated(
    model: _ModelBase,
    lateness: Any,
    mean_scores: Any,
    counts: Any,
    window: Any,
    fix_cutpoints: Any = None,
) -> _FitState:
    """Weighted least squares of the expected score on bucket means.

    The cut points are fitted (``c1`` plus exponentiated increments, so they stay
    ordered) unless ``fix_cutpoints`` is true, or it is ``None`` and there are too few
    non-empty buckets to fit them as well.
    """
    if fix_cutpoints is not None and not isinstance(fix_cutpoints, bool):
        raise InvalidTypeError(
            f"'fix_cutpoints' must be a bool or None "
            f"(got {type(fix_cutpoints).__name__} {describe(fix_cutpoints)})"
        )
    feature = f"{type(model).__name__}.fit_aggregated"
    np = _numpy(feature)
    optimize = _optimize(feature)
    lateness = _sequence("lateness", lateness)
    mean_scores = _sequence("mean_scores", mean_scores)
    counts = _sequence("counts", counts)
    size = len(lateness)
    _same_length("mean_scores", mean_scores, size, "lateness bucket")
    _same_length("counts", counts, size, "lateness bucket")
    means = _reals("mean_scores", mean_scores, lambda x: 1.0 <= x <= 5.0, "within [1, 5]")
    weights = _reals("counts", counts, lambda x: math.isfinite(x) and x >= 0, "finite and >= 0")
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

    def natural(nat: Array) -> tuple[Array, Array]:
        theta, breach, scale = nat[:k], float(nat[k]), float(nat[k + 1])
        cuts = nat[k + 2 :]
        v, dv_theta, dv_b = _latent(np, ev_d, ev_late, design, theta, breach)
        z = (v[:, None] - cuts[None, :]) / scale
        e = np.exp(-np.abs(z))
        big = np.where(z >= 0, 1.0, e) / (1.0 + e)
        dens = e / (1.0 + e) ** 2
        expected = 1.0 + big.sum(axis=1)
        de_dv = dens.sum(axis=1) / scale
        jac_nat = np.empty((size, k + 6))
        jac_nat[:, :k] = (dv_theta * de_dv).T
        jac_nat[:, k] = dv_b * de_dv
        jac_nat[:, k + 1] = -(dens * z).sum(axis=1) / scale
        jac_nat[:, k + 2 :] = -dens / scale
        return root * (expected - m), root[:, None] * jac_nat

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
    bse = np.full(k + 6, np.nan)
    dof = buckets - n_free
    if dof > 0:
        sigma2 = rss / dof
        try:
            cov = sigma2 * np.linalg.inv(jac_nat[:, free].T @ jac_nat[:, free])
            diag = np.diag(cov)
            ok = np.isfinite(diag) & (diag > 0)
            index = np.flatnonzero(free)[ok]
            bse[index] = np.sqrt(diag[ok])
        except np.linalg.LinAlgError:
            pass
    estimates = tuple(float(x) for x in nat)
    boxes = dict(zip(value._param_names, value._bounds(), strict=True))
    boxes.update(breach=(0.0, 1e3), scale=(1e-6, 1e6))
    names = (*value._param_names, "breach", "scale", *_CUT_NAMES)
    with np.errstate(over="ignore", invalid="ignore"):
        curvature = jac_nat[:, free].T @ jac_nat[:, free]
    # standard errors up to the residual variance: an exact fit (rss 0) is no defect
    unit_se = np.full(k + 6, np.nan)
    try:
        diag = np.diag(np.linalg.inv(curvature))
        good = np.isfinite(diag) & (diag > 0)
        unit_se[np.flatnonzero(free)[good]] = np.sqrt(diag[good])
    except np.linalg.LinAlgError:
        pass
    undetermined = _diagnose(np, names, nat, unit_se, free, curvature, boxes)
    _warn(type(model).__name__, undetermined)
    return _FitState(
        kind="aggregated",
        value=value._with(estimates[:k]),
        breach=estimates[k],
        labels=Labels(cutpoints=estimates[k + 2 :], scale=estimates[k + 1]),
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


# --------------------------------------------------------------------------- predict


def _predict_design(np: ModuleType, state: _FitState, design: _Design) -> Prediction:
    value = state.value
    theta = np.array(value._params(), dtype=float)
    ev_d = _np_evaluator(value, np, design.d)
    ev_late = _np_evaluator(value, np, design.late_d)
    v, _, _ = _latent(np, ev_d, ev_late, design, theta, state.breach)
    cuts = np.array(state.labels.cutpoints, dtype=float)
    scale = state.labels.scale
    assert scale is not None
    probs = _probabilities(np, v, cuts, scale)
    return Prediction(
        values=v, expected=(probs * np.arange(1.0, 6.0)).sum(axis=1), probabilities=probs
    )


def _predict(
    model: _ModelBase,
    state: _FitState,
    expectations: Any,
    outcomes: Any,
    calendar: BusinessCalendar | None,
) -> Prediction:
    """Vectorized prediction of a fitted model."""
    feature = f"{type(model).__name__}.predict"
    np = _numpy(feature)
    rows = _rows(model, expectations, outcomes, calendar)
    return _predict_design(np, state, _design(np, model, rows))


# --------------------------------------------------------------------------- evaluate


def _calibration(np: ModuleType, expected: Array, y: Array, w: Array) -> tuple[CalibrationRow, ...]:
    edges = np.arange(1.0, 5.01, 0.5)
    bins = np.clip(np.searchsorted(edges, expected, side="right") - 1, 0, len(edges) - 2)
    rows = []
    for b in range(len(edges) - 1):
        mask = bins == b
        weight = float(w[mask].sum())
        if not mask.any() or weight <= 0:
            continue
        rows.append(
            CalibrationRow(
                low=float(edges[b]),
                high=float(edges[b + 1]),
                n=int(mask.sum()),
                predicted=float(_dot(np, w[mask], expected[mask]) / weight),
                observed=float(_dot(np, w[mask], y[mask]) / weight),
            )
        )
    return tuple(rows)


def _metrics(
    np: ModuleType, probs: Array, y: Array, w: Array
) -> tuple[float, float, tuple[CalibrationRow, ...]]:
    total = float(w.sum())
    expected = (probs * np.arange(1.0, 6.0)).sum(axis=1)
    mae = float(_dot(np, w, np.abs(y - expected)) / total)
    picked = np.maximum(probs[np.arange(y.shape[0]), y - 1], 1e-300)
    log_loss = float(-_dot(np, w, np.log(picked)) / total)
    return mae, log_loss, _calibration(np, expected, y, w)


def _evaluate(
    model: _ModelBase,
    state: _FitState,
    expectations: Any,
    outcomes: Any,
    scores: Any,
    sample_weight: Any,
    calendar: BusinessCalendar | None,
) -> Evaluation:
    """Metrics of a fitted model and of the duration-only baseline."""
    feature = f"{type(model).__name__}.evaluate"
    np = _numpy(feature)
    optimize = _optimize(feature)
    rows = _rows(model, expectations, outcomes, calendar)
    n = len(rows)
    if n == 0:
        raise InsufficientDataError("'outcomes' must not be empty to evaluate a model (got 0)")
    y = _scores(np, scores, n)
    w = _weights(np, sample_weight, n)
    design = _design(np, model, rows)
    prediction = _predict_design(np, state, design)
    mae, log_loss, calibration = _metrics(np, prediction.probabilities, y, w)
    baseline = state.baseline
    in_sample = baseline is None
    if baseline is None:
        _check_levels(np, y, w)
        baseline = _fit_baseline(np, optimize, design.duration, y, w)
    gamma, c1, c2, c3, c4, mean, sd = baseline
    t = (design.duration - mean) / sd
    base_probs = _probabilities(np, gamma * t, np.array([c1, c2, c3, c4]), 1.0)
    b_mae, b_log_loss, b_calibration = _metrics(np, base_probs, y, w)
    return Evaluation(
        n=n,
        mae=mae,
        log_loss=log_loss,
        calibration=calibration,
        baseline_mae=b_mae,
        baseline_log_loss=b_log_loss,
        baseline_calibration=b_calibration,
        baseline_in_sample=in_sample,
    )


# --------------------------------------------------------------------------- summary


def _summary_table(state: _FitState) -> Any:
    """The fitted parameters as a pandas DataFrame, or a list of dict rows without pandas."""
    rows = state.rows()
    try:
        pandas = require("pandas", "summary as a DataFrame")
    except ImportError:
        return rows
    return pandas.DataFrame(rows).set_index("parameter")
