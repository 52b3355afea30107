"""Fitting, prediction and evaluation of the built-in models (numpy and scipy, lazily).

The likelihood is an ordered logit on the model's satisfaction value ``v``::

    P(score <= k | v) = logistic((c_k - v) / scale)         k = 1..4

with ``v`` the vectorized form of the same computation :meth:`score` does in pure Python
(time value, breach penalty, revision costs, fixed non-time components). The gradient is
exact (chain rule through the value function); BFGS works on an unconstrained
reparametrization in logit units (see :class:`_Transform`), and the standard errors come
from the inverse of a numerical Hessian of the exact gradient, in the natural parameters.

Performance notes: the likelihood avoids BLAS calls on long vectors (see :func:`_dot`),
and the optimizer is scipy's pure-numpy BFGS rather than L-BFGS-B, whose bundled BLAS
costs milliseconds per iteration on a busy machine. The hot path is then the pure-Python
extraction of one feature row per (expectation, outcome) pair.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Mapping, Sequence
from datetime import timedelta
from types import ModuleType
from typing import Any

import attrs

from promisekit.calendar import BusinessCalendar
from promisekit.delivery import Outcome
from promisekit.errors import (
    InconsistentRecordError,
    InsufficientDataError,
    InvalidTypeError,
    InvalidValueError,
)
from promisekit.promise import Promise
from promisekit.satisfaction._common import check_calendar, require
from promisekit.satisfaction._expectation import Expectation
from promisekit.satisfaction._labels import Labels, Level
from promisekit.satisfaction._models import _ModelBase, _Row
from promisekit.satisfaction._results import (
    Array,
    CalibrationRow,
    Evaluation,
    Prediction,
    _FitState,
)
from promisekit.satisfaction._value import ValueFunction, _anchors_scale, _np_evaluator

__all__ = ["CalibrationRow", "Evaluation", "Prediction"]

_CUT_NAMES = ("c1", "c2", "c3", "c4")


def _numpy(feature: str) -> ModuleType:
    return require("numpy", feature)


def _optimize(feature: str) -> ModuleType:
    require("numpy", feature)
    return require("scipy.optimize", feature)


# --------------------------------------------------------------------------- inputs


def _dot(np: ModuleType, a: Array, b: Array) -> float:
    """``sum(a * b)`` with numpy's own summation, not BLAS.

    A BLAS call on long vectors wakes OpenBLAS's thread pool, whose spinning threads
    then slow every later numpy operation on a busy machine — several times over.
    """
    return float(np.multiply(a, b).sum())


def _sequence(field: str, value: Any) -> Sequence[Any]:
    if isinstance(value, (str, bytes, Mapping)) or not hasattr(value, "__len__"):
        raise InvalidTypeError(
            f"{field!r} must be a sequence (list, tuple, array) "
            f"(got {type(value).__name__} {value!r:.80})"
        )
    return value  # type: ignore[no-any-return]


def _same_length(field: str, value: Sequence[Any], n: int, other: str) -> None:
    if len(value) != n:
        raise InvalidValueError(
            f"{field!r} must have one entry per {other} ({n}) (got {len(value)})"
        )


def _rows(
    model: _ModelBase,
    expectations: Any,
    outcomes: Any,
    calendar: BusinessCalendar | None,
) -> list[_Row]:
    expectations = _sequence("expectations", expectations)
    outcomes = _sequence("outcomes", outcomes)
    _same_length("outcomes", outcomes, len(expectations), "expectation")
    calendar = check_calendar(calendar)
    rows = []
    from_promise = Expectation.from_promise
    row = model._row
    for index, (expectation, outcome) in enumerate(zip(expectations, outcomes, strict=True)):
        if isinstance(expectation, Expectation):
            pass
        elif isinstance(expectation, Promise):
            expectation = from_promise(expectation, calendar)
        else:
            raise InvalidTypeError(
                f"'expectations' must contain Expectation or Promise instances "
                f"(got {type(expectation).__name__} {expectation!r} at index {index})"
            )
        if not isinstance(outcome, Outcome):
            raise InvalidTypeError(
                f"'outcomes' must contain Outcome instances "
                f"(got {type(outcome).__name__} {outcome!r} at index {index})"
            )
        try:
            rows.append(row(expectation, outcome))
        except (InvalidValueError, InconsistentRecordError) as exc:
            raise type(exc)(f"{exc} (at index {index})") from None
    return rows


def _scores(np: ModuleType, scores: Any, n: int) -> Array:
    scores = _sequence("scores", scores)
    _same_length("scores", scores, n, "outcome")
    if isinstance(scores, np.ndarray) and np.issubdtype(scores.dtype, np.integer):
        out = scores.astype(np.intp)
        bad = np.flatnonzero((out < 1) | (out > 5))
        if bad.size:
            index = int(bad[0])
            raise InvalidValueError(
                f"'scores' must be ints from 1 to 5 (got {int(out[index])} at index {index})"
            )
        return out
    if all(type(score) is int for score in scores):  # the common case, checked in bulk
        out = np.array(scores, dtype=np.intp)
        bad = np.flatnonzero((out < 1) | (out > 5))
        if bad.size:
            index = int(bad[0])
            raise InvalidValueError(
                f"'scores' must be ints from 1 to 5 (got {int(out[index])} at index {index})"
            )
        return out
    out = np.empty(n, dtype=np.intp)
    for index, score in enumerate(scores):
        if isinstance(score, bool) or not isinstance(score, numbers.Integral):
            raise InvalidTypeError(
                f"'scores' must be ints from 1 to 5 "
                f"(got {type(score).__name__} {score!r} at index {index})"
            )
        if not 1 <= int(score) <= 5:
            raise InvalidValueError(
                f"'scores' must be ints from 1 to 5 (got {score!r} at index {index})"
            )
        out[index] = int(score)
    return out


def _weights(np: ModuleType, sample_weight: Any, n: int) -> Array:
    if sample_weight is None:
        return np.ones(n)
    sample_weight = _sequence("sample_weight", sample_weight)
    _same_length("sample_weight", sample_weight, n, "outcome")
    try:
        weights = np.asarray(sample_weight, dtype=float)
    except (TypeError, ValueError):
        raise InvalidTypeError(
            f"'sample_weight' must contain numbers (got {sample_weight!r:.80})"
        ) from None
    bad = np.flatnonzero(~np.isfinite(weights) | (weights < 0))
    if bad.size:
        index = int(bad[0])
        raise InvalidValueError(
            f"'sample_weight' must be finite and >= 0 "
            f"(got {float(weights[index])!r} at index {index})"
        )
    if not weights.sum() > 0:
        raise InvalidValueError("'sample_weight' must not be all zero (got a total of 0)")
    return weights


@attrs.frozen(slots=True, eq=False)
class _Design:
    """Columnar features of a list of rows."""

    d: Array
    loss_mult: Array
    breach_mult: Array
    offset: Array
    duration: Array
    late_row: Array
    late_d: Array
    late_mult: Array

    @property
    def n(self) -> int:
        return int(self.d.shape[0])


def _sort(np: ModuleType, design: _Design, y: Array, w: Array) -> tuple[_Design, Array, Array]:
    """The rows reordered by sign of ``d``, then score: gains, losses and levels contiguous.

    The likelihood is a sum over rows, so the order does not change it; contiguous groups
    let the hot loop use slices and run sums instead of gathers and scatters.
    """
    order = np.lexsort((y, np.sign(design.d)))
    inverse = np.empty_like(order)
    inverse[order] = np.arange(order.size)
    sorted_design = _Design(
        d=design.d[order],
        loss_mult=design.loss_mult[order],
        breach_mult=design.breach_mult[order],
        offset=design.offset[order],
        duration=design.duration[order],
        late_row=inverse[design.late_row],
        late_d=design.late_d,
        late_mult=design.late_mult,
    )
    return sorted_design, y[order], w[order]


def _design(np: ModuleType, model: _ModelBase, rows: Sequence[_Row]) -> _Design:
    p = model.recovery.proactive
    late_row: list[int] = []
    late_d: list[float] = []
    late_mult: list[float] = []
    for index, row in enumerate(rows):
        for d_wait, mult in row.late:
            late_row.append(index)
            late_d.append(d_wait)
            late_mult.append(mult)
    return _Design(
        d=np.array([r.d for r in rows], dtype=float),
        loss_mult=np.array([r.loss_mult for r in rows], dtype=float),
        breach_mult=np.array([r.breach_mult for r in rows], dtype=float),
        offset=np.array(
            [math.fsum(v for _, v in r.fixed) - r.proactive * p for r in rows], dtype=float
        ),
        duration=np.array([r.duration for r in rows], dtype=float),
        late_row=np.array(late_row, dtype=np.intp),
        late_d=np.array(late_d, dtype=float),
        late_mult=np.array(late_mult, dtype=float),
    )


# --------------------------------------------------------------------------- likelihood


def _latent(
    np: ModuleType, ev_d: Any, ev_late: Any, design: _Design, theta: Array, breach: float
) -> tuple[Array, Array, Array]:
    """The value ``v`` of every row, with ``dv/dtheta`` (k x n) and ``dv/dbreach`` (n).

    ``ev_d`` and ``ev_late`` are the vectorized value function on ``design.d`` and on
    ``design.late_d`` (see :func:`_np_evaluator`).
    """
    f, jac = ev_d(theta)
    negative = f < 0
    mult = design.loss_mult * negative + (1.0 - negative)
    dv_breach = -design.breach_mult
    v = mult * f + breach * dv_breach + design.offset
    dv_theta = jac * mult
    if design.late_row.size:
        n = design.n
        fl, jl = ev_late(theta)
        loss = fl < 0
        cost = design.late_mult * (breach - fl * loss)
        v = v - np.bincount(design.late_row, cost, minlength=n)
        weight = design.late_mult * loss
        for k in range(jl.shape[0]):
            dv_theta[k] += np.bincount(design.late_row, weight * jl[k], minlength=n)
        dv_breach = dv_breach - np.bincount(design.late_row, design.late_mult, minlength=n)
    return v, dv_theta, dv_breach


_ZMAX = 700.0  # exp(+-700) stays a normal float: no overflow, no denormals


def _logistic(np: ModuleType, z: Array) -> tuple[Array, Array, Array, Array]:
    """``z`` clipped, ``F(z)``, ``1 - F(z)`` and the density, accurate in both tails.

    With ``z`` clipped to ``[-700, 700]``, ``e = exp(-z)`` is a normal float, and
    ``F = 1 / (1 + e)`` and ``1 - F = e * F`` are each computed without cancellation —
    ``F`` to full relative precision where it is tiny, ``1 - F`` where *it* is. (In
    place where possible: this is the hot loop.)
    """
    np.clip(z, -_ZMAX, _ZMAX, out=z)
    e = np.negative(z)
    np.exp(e, out=e)
    big = e + 1.0
    np.reciprocal(big, out=big)
    small = e
    small *= big
    return z, big, small, big * small


class _Runs:
    """Rows grouped in runs of equal score (contiguous once the rows are sorted by score).

    Per-level sums then go through ``np.add.reduceat`` over the runs, and per-row cut
    points through ``np.repeat``, instead of gathers and scatters row by row.
    """

    def __init__(self, np: ModuleType, y: Array) -> None:
        self.np = np
        n = int(y.shape[0])
        self.starts = np.concatenate(([0], np.flatnonzero(np.diff(y)) + 1))
        self.labels = y[self.starts]
        self.lengths = np.diff(np.append(self.starts, n))
        # 1.0 where the row's level has an upper (y < 5) / a lower (y > 1) cut point
        self.has_upper = self.spread(np.array([0.0, 1.0, 1.0, 1.0, 1.0, 0.0]))
        self.has_lower = self.spread(np.array([0.0, 0.0, 1.0, 1.0, 1.0, 1.0]))
        self.no_upper = 1.0 - self.has_upper
        self.no_lower = 1.0 - self.has_lower

    def spread(self, per_level: Array) -> Array:
        """``per_level[y]`` for every row."""
        return self.np.repeat(per_level[self.labels], self.lengths)

    def totals(self, values: Array) -> Array:
        """Sum of ``values`` per level 0..5."""
        np = self.np
        return np.bincount(self.labels, np.add.reduceat(values, self.starts), minlength=6)


def _ordinal(
    np: ModuleType, v: Array, runs: _Runs, w: Array, cuts: Array, scale: float
) -> tuple[float, Array, float, Array]:
    """Weighted ordered-logit negative log-likelihood and its gradients (v, scale, cuts).

    For a row of level ``y``, ``P = F(zu) - F(zl)`` with ``zu = (c_y - v) / scale`` and
    ``zl = (c_{y-1} - v) / scale``; level 5 has no upper cut point (``F(zu) = 1``) and
    level 1 no lower one (``F(zl) = 0``): those rows get ``z = 0`` and exact tails
    through 0/1 masks, which keeps ``exp`` off its slow path for huge arguments.
    """
    inv = 1.0 / scale
    edges = np.concatenate(([0.0], cuts, [0.0]))  # placeholders where no cut point exists
    upper, lower = runs.has_upper, runs.has_lower
    zu = runs.spread(edges)  # upper cut point of each row's level y: c_y
    zu -= v
    zu *= inv
    zu *= upper
    zl = runs.spread(np.concatenate(([0.0], edges[:-1])))  # lower: c_{y-1}
    zl -= v
    zl *= inv
    zl *= lower
    zu, fu, gu, du = _logistic(np, zu)
    zl, fl, gl, dl = _logistic(np, zl)
    fu *= upper
    fu += runs.no_upper
    gu *= upper
    du *= upper
    fl *= lower
    gl *= lower
    gl += runs.no_lower
    dl *= lower
    # the difference of whichever tails are small, for accuracy (one term is times 0)
    flip = (zl > 0).astype(float)
    prob = flip * (gl - gu)
    prob += (1.0 - flip) * (fu - fl)
    np.maximum(prob, 1e-300, out=prob)
    ws = w / prob
    ws *= inv
    nll = -_dot(np, w, np.log(prob))
    wu = ws * du
    wl = ws * dl
    g_v = wu - wl
    g_scale = _dot(np, wu, zu) - _dot(np, wl, zl)
    g_cuts = -runs.totals(wu)[1:5] + runs.totals(wl)[2:6]
    return nll, g_v, g_scale, g_cuts


def _probabilities(np: ModuleType, v: Array, cuts: Array, scale: float) -> Array:
    n = v.shape[0]
    below = np.empty((n, 4))
    above = np.empty((n, 4))
    for k in range(4):
        _, below[:, k], above[:, k], _ = _logistic(np, (cuts[k] - v) / scale)
    probs = np.empty((n, 5))
    probs[:, 0] = below[:, 0]
    for k in range(1, 4):
        # the difference of whichever tails are small, for accuracy
        small = below[:, k] <= 0.5
        probs[:, k] = np.where(small, below[:, k] - below[:, k - 1], above[:, k - 1] - above[:, k])
    probs[:, 4] = above[:, 3]
    return np.maximum(probs, 0.0)


class _Transform:
    """Natural parameters ``[theta (k), breach, scale, c1..c4]`` <-> unconstrained space.

    The optimizer works in logit units, where the ordered logit is best conditioned:
    ``g = 1 / scale`` (through its log), every parameter in value units divided by the
    scale (``lam``, the slopes of a zone, ``breach``, the cut points), the cut points
    through ``c1`` and the logs of their increments (so they stay ordered), strictly
    positive parameters through their logs, and parameters that may reach their lower
    bound (``breach >= 0``, the slopes of a zone) through a square, ``lo + t**2``: unlike
    a log or a softplus, its gradient does not vanish exponentially near the bound, so
    an optimizer step that overshoots towards it can come back. The unconstrained values
    are clipped to a wide box, so that no step can overflow.
    """

    def __init__(self, np: ModuleType, value: ValueFunction, free: Array, start: Array) -> None:
        self.np = np
        k = self.k = len(value._param_names)
        self.scaled = np.array([*value._scaled(), True])
        self.square = np.array([*value._zero_ok(), True])
        self.floor = np.array([lo for lo, _ in value._bounds()] + [0.0])
        self.free = free
        low, high = [], []
        for square, (lo, hi) in zip(self.square[:k], value._bounds(), strict=True):
            low.append(-math.sqrt(hi) if square else math.log(lo))
            high.append(math.sqrt(hi) if square else math.log(hi))
        self.low = np.array([*low, -100.0, math.log(1e-8), -1e8, -25.0, -25.0, -25.0])
        self.high = np.array([*high, 100.0, math.log(1e8), 1e8, 25.0, 25.0, 25.0])
        self.base = np.clip(self.to_t(start), self.low, self.high)

    def _unit(self, scale: float) -> Array:
        return self.np.where(self.scaled, scale, 1.0)

    def to_t(self, nat: Array) -> Array:
        np, k = self.np, self.k
        scale = float(nat[k + 1])
        t = nat.copy()
        ratio = nat[: k + 1] / self._unit(scale)
        # start a square parameter just off its bound, where its gradient is not zero
        root = np.sqrt(np.maximum(ratio - self.floor, 1e-4))
        t[: k + 1] = np.where(self.square, root, np.log(np.maximum(ratio, 1e-300)))
        t[k + 1] = -math.log(scale)
        t[k + 2] = nat[k + 2] / scale
        t[k + 3 :] = np.log(np.diff(nat[k + 2 :]) / scale)
        return t

    def to_nat(self, x: Array) -> Array:
        np, k = self.np, self.k
        t = self.base.copy()
        t[self.free] = x
        t = np.clip(t, self.low, self.high)
        scale = math.exp(-float(t[k + 1]))
        nat = t.copy()
        head = t[: k + 1]
        shaped = np.where(self.square, self.floor + head * head, np.exp(head))
        nat[: k + 1] = shaped * self._unit(scale)
        nat[k + 1] = scale
        steps = np.concatenate(([0.0], np.cumsum(np.exp(t[k + 3 :]))))
        nat[k + 2 :] = (t[k + 2] + steps) * scale
        return nat

    def grad(self, g_nat: Array, x: Array, nat: Array) -> Array:
        np, k = self.np, self.k
        t = self.base.copy()
        t[self.free] = x
        inside = (t >= self.low) & (t <= self.high)
        t = np.clip(t, self.low, self.high)
        scale = float(nat[k + 1])
        unit = self._unit(scale)
        slope = np.where(self.square, 2.0 * t[: k + 1] * unit, nat[: k + 1])  # d nat / d t
        g_cuts = g_nat[k + 2 :]
        g = np.empty_like(g_nat)
        g[: k + 1] = slope * g_nat[: k + 1]
        g[k + 1] = -(
            scale * g_nat[k + 1]
            + float((nat[: k + 1] * g_nat[: k + 1] * self.scaled).sum())
            + float((nat[k + 2 :] * g_cuts).sum())
        )
        tail = np.cumsum(g_cuts[::-1])[::-1]
        g[k + 2] = scale * tail[0]
        g[k + 3 :] = np.diff(nat[k + 2 :]) * tail[1:]
        return (g * inside)[self.free]


def _hessian(np: ModuleType, grad: Any, nat: Array, free: Array) -> Array:
    """Central-difference Hessian of the exact gradient, over the free natural parameters."""
    index = np.flatnonzero(free)
    size = index.size
    hess = np.empty((size, size))
    for col, j in enumerate(index):
        step = 1e-5 * max(1.0, abs(float(nat[j])))
        up, down = nat.copy(), nat.copy()
        up[j] += step
        down[j] -= step
        hess[:, col] = (grad(up)[index] - grad(down)[index]) / (2 * step)
    return (hess + hess.T) / 2


def _standard_errors(np: ModuleType, hess: Array, free: Array) -> Array:
    bse = np.full(free.shape[0], np.nan)
    try:
        cov = np.linalg.inv(hess)
    except np.linalg.LinAlgError:
        return bse
    diag = np.diag(cov)
    ok = np.isfinite(diag) & (diag > 0)
    bse[np.flatnonzero(free)[ok]] = np.sqrt(diag[ok])
    return bse


# --------------------------------------------------------------------------- row fit


def _check_levels(np: ModuleType, y: Array, w: Array) -> None:
    present = np.bincount(y, w, minlength=6)[1:] > 0
    if not present.all():
        missing = ", ".join(Level(i + 1).name for i in np.flatnonzero(~present))
        raise InsufficientDataError(
            f"'scores' must contain every level 1-5 at least once (with a positive weight) "
            f"to fit the four cut points (missing: {missing})"
        )


def _fit_baseline(
    np: ModuleType, optimize: ModuleType, duration: Array, y: Array, w: Array
) -> tuple[float, ...]:
    """An ordered logit on the standardized duration alone: ``[gamma, c1..c4, mean, sd]``."""
    total = w.sum()
    mean = float(_dot(np, w, duration) / total)
    sd = float(math.sqrt(_dot(np, w, (duration - mean) ** 2) / total)) or 1.0
    t = (duration - mean) / sd
    runs = _Runs(np, y)
    share = np.cumsum(np.bincount(y, w, minlength=6)[1:5]) / total
    share = np.clip(share, 1e-6, 1 - 1e-6)
    cuts0 = np.log(share / (1 - share))
    cuts0 = np.maximum.accumulate(cuts0 + np.arange(4) * 1e-6)
    x0 = np.concatenate(([0.0, cuts0[0]], np.log(np.maximum(np.diff(cuts0), 1e-6))))

    def unpack(x: Array) -> tuple[float, Array]:
        cuts = x[1] + np.concatenate(([0.0], np.cumsum(np.exp(x[2:]))))
        return float(x[0]), cuts

    def fun(x: Array) -> tuple[float, Array]:
        gamma, cuts = unpack(x)
        nll, g_v, _, g_c = _ordinal(np, gamma * t, runs, w, cuts, 1.0)
        tail = np.cumsum(g_c[::-1])[::-1]
        grad = np.concatenate(([float(_dot(np, g_v, t)), tail[0]], np.exp(x[2:]) * tail[1:]))
        return nll / total, grad / total

    result = optimize.minimize(fun, x0, jac=True, method="BFGS", options={"gtol": 1e-7})
    gamma, cuts = unpack(result.x)
    return (gamma, *(float(c) for c in cuts), mean, sd)


def _likelihood(
    np: ModuleType, value: ValueFunction, design: _Design, y: Array, w: Array
) -> Callable[[Array], tuple[float, Array]]:
    """``nat -> (negative log-likelihood, its gradient)`` in the natural parameters.

    ``nat`` is ``[value-function parameters, breach, scale, c1, c2, c3, c4]``.
    """
    ev_d = _np_evaluator(value, np, design.d)
    ev_late = _np_evaluator(value, np, design.late_d)
    k = len(value._param_names)
    runs = _Runs(np, y)

    def natural(nat: Array) -> tuple[float, Array]:
        theta, breach, scale, cuts = nat[:k], float(nat[k]), float(nat[k + 1]), nat[k + 2 :]
        v, dv_theta, dv_b = _latent(np, ev_d, ev_late, design, theta, breach)
        nll, g_v, g_s, g_c = _ordinal(np, v, runs, w, cuts, scale)
        grad = np.empty(k + 6)
        grad[:k] = (dv_theta * g_v).sum(axis=1)
        grad[k] = _dot(np, dv_b, g_v)
        grad[k + 1] = g_s
        grad[k + 2 :] = g_c
        return nll, grad

    return natural


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
    )


# --------------------------------------------------------------------------- aggregated fit


def _fit_aggregated(
    model: _ModelBase,
    lateness: Any,
    mean_scores: Any,
    counts: Any,
    window: Any,
) -> _FitState:
    """Weighted least squares of the expected score on bucket means (cut points fixed)."""
    feature = f"{type(model).__name__}.fit_aggregated"
    np = _numpy(feature)
    optimize = _optimize(feature)
    lateness = _sequence("lateness", lateness)
    mean_scores = _sequence("mean_scores", mean_scores)
    counts = _sequence("counts", counts)
    size = len(lateness)
    _same_length("mean_scores", mean_scores, size, "lateness bucket")
    _same_length("counts", counts, size, "lateness bucket")
    late_seconds = []
    for index, item in enumerate(lateness):
        if not isinstance(item, timedelta):
            raise InvalidTypeError(
                f"'lateness' must contain timedeltas "
                f"(got {type(item).__name__} {item!r} at index {index})"
            )
        late_seconds.append(item.total_seconds())
    means = []
    for index, item in enumerate(mean_scores):
        if isinstance(item, bool) or not isinstance(item, numbers.Real):
            raise InvalidTypeError(
                f"'mean_scores' must contain numbers "
                f"(got {type(item).__name__} {item!r} at index {index})"
            )
        if not 1.0 <= float(item) <= 5.0:
            raise InvalidValueError(
                f"'mean_scores' must be within [1, 5] (got {item!r} at index {index})"
            )
        means.append(float(item))
    weights = []
    for index, item in enumerate(counts):
        if isinstance(item, bool) or not isinstance(item, numbers.Real):
            raise InvalidTypeError(
                f"'counts' must contain numbers "
                f"(got {type(item).__name__} {item!r} at index {index})"
            )
        if not (math.isfinite(float(item)) and float(item) >= 0):
            raise InvalidValueError(
                f"'counts' must be finite and >= 0 (got {item!r} at index {index})"
            )
        weights.append(float(item))
    if model.relative:
        if window is None:
            raise InvalidValueError(
                "'window' must be given to fit a relative model on lateness buckets "
                "(the typical promised window; or use relative=False) (got None)"
            )
        if not isinstance(window, timedelta):
            raise InvalidTypeError(
                f"'window' must be a timedelta (got {type(window).__name__} {window!r})"
            )
        if window <= timedelta(0):
            raise InvalidValueError(f"'window' must be a positive duration (got {window})")
        denominator = max(window.total_seconds(), model.min_window.total_seconds())
    else:
        denominator = model.unit.total_seconds()
    d = -np.array(late_seconds, dtype=float) / denominator
    m = np.array(means, dtype=float)
    counts_arr = np.array(weights, dtype=float)
    used = counts_arr > 0
    if not used.any():
        raise InvalidValueError("'counts' must not be all zero (got a total of 0)")
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
    value = model._hyper_value()
    ev_d = _np_evaluator(value, np, design.d)
    ev_late = _np_evaluator(value, np, design.late_d)
    k = len(value._param_names)
    cuts = np.array(model.labels.cutpoints, dtype=float)
    start = np.array([*value._params(), model.breach, 0.5], dtype=float)
    _, jac, dv_breach = _latent(np, ev_d, ev_late, design, start[:k], float(start[k]))
    free = np.ones(k + 2, dtype=bool)
    free[:k] = np.any((jac != 0) & used, axis=1)
    free[k] = bool(np.any((dv_breach != 0) & used))
    n_free = int(free.sum())
    buckets = int(used.sum())
    if buckets <= n_free:
        raise InsufficientDataError(
            f"'mean_scores' must cover more non-empty buckets than free parameters "
            f"({n_free}) (got {buckets})"
        )
    root = np.sqrt(counts_arr)

    def natural(nat: Array) -> tuple[Array, Array]:
        theta, breach, scale = nat[:k], float(nat[k]), float(nat[k + 1])
        v, dv_theta, dv_b = _latent(np, ev_d, ev_late, design, theta, breach)
        z = (v[:, None] - cuts[None, :]) / scale
        e = np.exp(-np.abs(z))
        big = np.where(z >= 0, 1.0, e) / (1.0 + e)
        dens = e / (1.0 + e) ** 2
        expected = 1.0 + big.sum(axis=1)
        de_dv = dens.sum(axis=1) / scale
        jac_nat = np.empty((size, k + 2))
        jac_nat[:, :k] = (dv_theta * de_dv).T
        jac_nat[:, k] = dv_b * de_dv
        jac_nat[:, k + 1] = -(dens * z).sum(axis=1) / scale
        return root * (expected - m), root[:, None] * jac_nat

    def to_nat(x: Array) -> Array:
        nat = start.copy()
        t = np.concatenate((np.log(start[:k]), [start[k]], [math.log(start[k + 1])]))
        t[free] = x
        nat[:k] = np.exp(t[:k])
        nat[k] = t[k]
        nat[k + 1] = math.exp(t[k + 1])
        return nat

    def chain(nat: Array) -> Array:
        scale = np.ones(k + 2)
        scale[:k] = nat[:k]
        scale[k + 1] = nat[k + 1]
        return scale

    def residuals(x: Array) -> Array:
        return natural(to_nat(x))[0]

    def jacobian(x: Array) -> Array:
        nat = to_nat(x)
        return (natural(nat)[1] * chain(nat))[:, free]

    lower = np.array([math.log(1e-4)] * k + [0.0, math.log(1e-6)])[free]
    upper = np.array([math.log(1e3)] * k + [1e3, math.log(1e6)])[free]
    t0 = np.concatenate((np.log(start[:k]), [start[k]], [math.log(start[k + 1])]))[free]
    t0 = np.clip(t0, lower, upper)
    result = optimize.least_squares(
        residuals, t0, jac=jacobian, bounds=(lower, upper), method="trf", x_scale="jac"
    )
    nat = to_nat(result.x)
    resid, jac_nat = natural(nat)
    rss = float(_dot(np, resid, resid))
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
    estimates = tuple(float(x) for x in nat) + tuple(float(c) for c in cuts)
    return _FitState(
        kind="aggregated",
        value=value._with(estimates[:k]),
        breach=estimates[k],
        labels=Labels(cutpoints=tuple(float(c) for c in cuts), scale=estimates[k + 1]),
        names=(*value._param_names, "breach", "scale", *_CUT_NAMES),
        estimates=estimates,
        bse=tuple(float(x) for x in bse),
        fixed=tuple(not bool(f) for f in free) + (True,) * 4,
        n_obs=round(float(counts_arr.sum())),
        weight_total=float(counts_arr.sum()),
        loglik=None,
        rss=rss,
        converged=bool(result.success),
        iterations=int(result.nfev),
        baseline=None,
    )


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
