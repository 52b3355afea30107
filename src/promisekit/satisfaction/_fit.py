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

from datetime import timedelta
from types import ModuleType
from typing import Any

from promisekit.calendar import BusinessCalendar
from promisekit.errors import (
    InsufficientDataError,
    InvalidValueError,
)
from promisekit.satisfaction._aggregated import _bucket_design
from promisekit.satisfaction._aggregated import _fit_aggregated as _fit_aggregated  # the seam
from promisekit.satisfaction._base import _ModelBase
from promisekit.satisfaction._covariates import (
    covariate_columns,
    predict_columns,
    segment_index,
)
from promisekit.satisfaction._design import (
    _Design,
    _dot,
    _numpy,
    _optimize,
    _order,
    _scores,
    _sequence,
    _sort,
    _weights,
)
from promisekit.satisfaction._diagnostics import _diagnose, _warn
from promisekit.satisfaction._fastpath import design_of
from promisekit.satisfaction._intervals import bootstrap, check_interval_args, profile
from promisekit.satisfaction._labels import Labels, _check_link_value
from promisekit.satisfaction._likelihood import (
    _check_levels,
    _covariate_term,
    _fit_baseline,
    _hessian,
    _latent,
    _likelihood,
    _probabilities,
    _standard_errors,
    _Transform,
)
from promisekit.satisfaction._plot import _plot_curve as _plot_curve  # the seam
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
    intervals: Any = None,
    n_boot: Any = 200,
    seed: Any = None,
    covariates: Any = None,
    link: Any = "logit",
    scale_by: Any = None,
) -> _FitState:
    """Maximum-likelihood fit of ``model`` to row-level scores (bootstrap on request)."""
    method = check_interval_args(intervals, n_boot, seed)
    link = _check_link_value(link)
    feature = f"{type(model).__name__}.fit"
    np = _numpy(feature)
    optimize = _optimize(feature)
    unsorted = design_of(np, model, expectations, outcomes, calendar)
    n = unsorted.n
    y = _scores(np, scores, n)
    w = _weights(np, sample_weight, n)
    _check_levels(np, y, w)
    value = model._hyper_value()
    names = (*value._param_names, "breach", "scale", *_CUT_NAMES)
    extra, columns = covariate_columns(np, covariates, n, names)
    segments, groups = segment_index(np, scale_by, n)
    order = _order(np, unsorted, y)
    if columns is not None:
        columns = columns[:, order]
    if groups is not None:
        groups = groups[order]
    q = max(len(segments) - 1, 0)
    design, y, w = _sort(np, unsorted, y, w)
    ev_d = _np_evaluator(value, np, design.d)
    ev_late = _np_evaluator(value, np, design.late_d)
    names = (*names, *extra, *(f"scale[{label}]" for label in segments[1:]))
    k = len(value._param_names)
    start = np.array(
        [
            *value._params(),
            model.breach,
            0.5,
            *model.labels.cutpoints,
            *[0.0] * len(extra),
            *[1.0] * q,
        ],
        dtype=float,
    )
    _, jac, dv_breach = _latent(np, ev_d, ev_late, design, start[:k], float(start[k]))
    used = w > 0
    free = np.ones(k + 6 + len(extra) + q, dtype=bool)
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
    transform = _Transform(np, value, free, start, q)
    total = float(w.sum())
    natural = _likelihood(np, value, design, y, w, columns, link, groups if q else None)
    result = _maximize(np, optimize, transform, natural, total)
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
    boot: tuple[tuple[float, float], ...] | None = None
    n_draws = 0
    if method == "bootstrap":

        def refit(rng: Any) -> Array | None:
            drawn = w * np.bincount(rng.integers(0, n, n), minlength=n)
            if not np.all(np.bincount(y, drawn, minlength=6)[1:] > 0):
                return None  # a level missing from the resample: no cut point for it
            resampled = _likelihood(
                np, value, design, y, drawn, columns, link, groups if q else None
            )
            fitted: Array = transform.to_nat(
                _maximize(np, optimize, transform, resampled, float(drawn.sum())).x
            )
            return fitted

        boot, n_draws = bootstrap(np, refit, int(n_boot), seed, free)
    elif method == "profile":
        floors = np.full(nat.shape[0], -np.inf)
        floors[:k] = [
            lo * scale if sc else lo
            for (lo, _), sc in zip(value._bounds(), value._scaled(), strict=True)
        ]
        floors[k] = 0.0
        floors[k + 1] = 1e-8
        floors[k + 6 + len(extra) :] = 1e-8
        boot = profile(np, optimize, natural, nat, free, bse, floors)
    return _FitState(
        kind="rows",
        value=value._with(estimates[:k]),
        breach=estimates[k],
        labels=Labels(cutpoints=estimates[k + 2 : k + 6], scale=estimates[k + 1], link=link),
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
        intervals=boot,
        n_boot=n_draws,
        covariates=extra,
        segments=segments if q else (),
    )


def _groups(np: ModuleType, state: _FitState, scale_by: Any, n: int) -> Array | None:
    """Each row's segment for a model fitted with ``scale_by`` (required then)."""
    if not state.segments:
        if scale_by is not None:
            raise InvalidValueError(
                "'scale_by' must be None: the model was fitted without segments (got labels)"
            )
        return None
    if scale_by is None:
        raise InvalidValueError(
            f"'scale_by' must be given: the model was fitted with segments "
            f"{', '.join(state.segments)} (got None)"
        )
    return segment_index(np, scale_by, n, state.segments)[1]


def _maximize(
    np: ModuleType, optimize: ModuleType, transform: _Transform, natural: Any, total: float
) -> Any:
    """BFGS on the mean negative log-likelihood, in the transform's unconstrained space."""

    def objective(x: Array) -> tuple[float, Array]:
        nat = transform.to_nat(x)
        nll, grad = natural(nat)
        return nll / total, transform.grad(grad, x, nat) / total

    # BFGS rather than L-BFGS-B: on 9 or so parameters it only does small numpy
    # operations, where scipy's L-BFGS-B calls its bundled, threaded BLAS at every
    # iteration — milliseconds each on a busy machine.
    return optimize.minimize(
        objective,
        transform.base[transform.free],
        jac=True,
        method="BFGS",
        options={"gtol": 1e-6, "maxiter": 2000},
    )


def _predict_curve(model: _ModelBase, state: _FitState, lateness: Any, window: Any) -> Prediction:
    """Expected score and level probabilities of unrevised outcomes at each lateness."""
    np = _numpy(f"{type(model).__name__}.predict_curve")
    lateness = _sequence("lateness", lateness)
    if window is None and state.window_seconds is not None:
        window = timedelta(seconds=state.window_seconds)
    design, _ = _bucket_design(np, model, lateness, window, "predict")
    return _predict_design(np, state, design)


# --------------------------------------------------------------------------- predict


def _predict_design(
    np: ModuleType,
    state: _FitState,
    design: _Design,
    columns: Array | None = None,
    groups: Array | None = None,
) -> Prediction:
    value = state.value
    theta = np.array(value._params(), dtype=float)
    ev_d = _np_evaluator(value, np, design.d)
    ev_late = _np_evaluator(value, np, design.late_d)
    v, _, _ = _latent(np, ev_d, ev_late, design, theta, state.breach)
    if columns is not None:
        start = len(state.names) - len(state.covariates) - max(len(state.segments) - 1, 0)
        gamma = np.array(state.estimates[start : start + len(state.covariates)], dtype=float)
        v = v + _covariate_term(np, columns, gamma)
    cuts = np.array(state.labels.cutpoints, dtype=float)
    scale = state.labels.scale
    assert scale is not None
    scales: Any = scale
    if groups is not None and state.segments:
        ratios = np.array([1.0, *state.estimates[len(state.names) - len(state.segments) + 1 :]])
        scales = scale * ratios[groups]
    probs = _probabilities(np, v, cuts, scales, state.labels.link)
    return Prediction(
        values=v, expected=(probs * np.arange(1.0, 6.0)).sum(axis=1), probabilities=probs
    )


def _predict(
    model: _ModelBase,
    state: _FitState,
    expectations: Any,
    outcomes: Any,
    calendar: BusinessCalendar | None,
    covariates: Any = None,
    scale_by: Any = None,
) -> Prediction:
    """Vectorized prediction of a fitted model."""
    feature = f"{type(model).__name__}.predict"
    np = _numpy(feature)
    design = design_of(np, model, expectations, outcomes, calendar)
    columns = predict_columns(np, state.covariates, covariates, design.n)
    return _predict_design(np, state, design, columns, _groups(np, state, scale_by, design.n))


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
    covariates: Any = None,
    scale_by: Any = None,
) -> Evaluation:
    """Metrics of a fitted model and of the duration-only baseline."""
    feature = f"{type(model).__name__}.evaluate"
    np = _numpy(feature)
    optimize = _optimize(feature)
    design = design_of(np, model, expectations, outcomes, calendar)
    n = design.n
    if n == 0:
        raise InsufficientDataError("'outcomes' must not be empty to evaluate a model (got 0)")
    y = _scores(np, scores, n)
    w = _weights(np, sample_weight, n)
    columns = predict_columns(np, state.covariates, covariates, n)
    prediction = _predict_design(np, state, design, columns, _groups(np, state, scale_by, n))
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
