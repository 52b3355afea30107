"""The ordered-logit likelihood of the built-in models, its gradient and optimizer space.

The likelihood is an ordered logit on the model's satisfaction value ``v``::

    P(score <= k | v) = logistic((c_k - v) / scale)         k = 1..4

with ``v`` the vectorized form of the same computation scoring does in pure Python. The
gradient is exact (chain rule through the value function); BFGS works on an
unconstrained reparametrization in logit units (:class:`_Transform`), and standard errors
come from the inverse of a numerical Hessian of the exact gradient (:func:`_hessian`).
Also the duration-only baseline (:func:`_fit_baseline`). numpy is passed in by the caller.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from types import ModuleType
from typing import Any

from promisekit.errors import (
    InsufficientDataError,
)
from promisekit.satisfaction._design import _Design, _dot
from promisekit.satisfaction._labels import Level
from promisekit.satisfaction._results import Array
from promisekit.satisfaction._value import ValueFunction, _np_evaluator


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


def _normal(np: ModuleType, z: Array) -> tuple[Array, Array, Array, Array]:
    """The probit counterpart of :func:`_logistic`: ``z`` clipped, ``Phi``, ``1 - Phi``, ``phi``.

    ``ndtr`` of ``z`` and of ``-z`` are each accurate in their own small tail.
    """
    from scipy.special import ndtr  # scipy is there whenever a model is fitted

    np.clip(z, -_ZMAX_PROBIT, _ZMAX_PROBIT, out=z)
    density = np.exp(-0.5 * z * z)
    density *= _INV_SQRT_2PI
    return z, ndtr(z), ndtr(-z), density


_ZMAX_PROBIT = 1e4  # far beyond where Phi underflows: the tails are then taken in logs
_TINY = 1e-280  # below this probability of a row's level, probit rows are redone in logs
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


def _cdf(np: ModuleType, z: Array, link: str) -> tuple[Array, Array, Array, Array]:
    """``z`` clipped, ``F(z)``, ``1 - F(z)`` and the density of the link's distribution."""
    return _logistic(np, z) if link == "logit" else _normal(np, z)


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
    np: ModuleType,
    v: Array,
    runs: _Runs,
    w: Array,
    cuts: Array,
    scale: float,
    link: str = "logit",
    relative: Array | None = None,
) -> tuple[float, Array, Any, Array]:
    """Weighted ordered-logit negative log-likelihood and its gradients (v, scale, cuts).

    For a row of level ``y``, ``P = F(zu) - F(zl)`` with ``zu = (c_y - v) / scale`` and
    ``zl = (c_{y-1} - v) / scale``; level 5 has no upper cut point (``F(zu) = 1``) and
    level 1 no lower one (``F(zl) = 0``): those rows get ``z = 0`` and exact tails
    through 0/1 masks, which keeps ``exp`` off its slow path for huge arguments.
    """
    # per row when segments have their own scale (``relative``: each row's ratio)
    inv: Any = 1.0 / scale if relative is None else 1.0 / (scale * relative)
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
    zu, fu, gu, du = _cdf(np, zu, link)
    zl, fl, gl, dl = _cdf(np, zl, link)
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
    tiny = np.flatnonzero(prob < _TINY) if link == "probit" else None
    np.maximum(prob, 1e-300, out=prob)
    ws = w / prob
    ws *= inv
    nll = -_dot(np, w, np.log(prob))
    wu = ws * du
    wl = ws * dl
    if tiny is not None and tiny.size:  # probit rows deep in a tail: exact, in logs
        log_p, ratio_u, ratio_l = _probit_tail(
            np, zu[tiny], zl[tiny], upper[tiny], lower[tiny], flip[tiny]
        )
        wt = w[tiny]
        nll += _dot(np, wt, np.log(prob[tiny])) - _dot(np, wt, log_p)
        inv_t = inv if relative is None else inv[tiny]
        wu[tiny] = wt * inv_t * ratio_u
        wl[tiny] = wt * inv_t * ratio_l
    g_v = wu - wl
    if relative is None:
        g_scale: Any = _dot(np, wu, zu) - _dot(np, wl, zl)
    else:  # per row: d nll / d (row scale); the caller sums it by segment
        g_scale = wu * zu - wl * zl
    g_cuts = -runs.totals(wu)[1:5] + runs.totals(wl)[2:6]
    return nll, g_v, g_scale, g_cuts


def _probit_tail(
    np: ModuleType, zu: Array, zl: Array, upper: Array, lower: Array, flip: Array
) -> tuple[Array, Array, Array]:
    """``log P`` of rows whose level is deep in a normal tail, and ``phi(z) / P`` at both ends.

    ``P = Phi(zu) - Phi(zl)`` (lower tail) or ``Phi(-zl) - Phi(-zu)`` (upper tail, when
    ``flip``): the larger term's ``log_ndtr`` plus ``log1p(-exp(smaller - larger))``,
    exact where ``Phi`` itself underflows. Ends without a cut point (masks 0) drop out.
    """
    from scipy.special import log_ndtr

    with np.errstate(divide="ignore"):
        minus_inf = np.full(zu.shape, -np.inf)
        big = np.where(flip > 0, log_ndtr(-zl), log_ndtr(zu))
        other = np.where(flip > 0, log_ndtr(-zu), log_ndtr(zl))
        small = np.where((np.where(flip > 0, upper, lower)) > 0, other, minus_inf)
        log_p = big + np.log1p(-np.exp(small - big))
    log_phi_u = np.where(upper > 0, -0.5 * zu * zu - _LOG_SQRT_2PI - log_p, -np.inf)
    log_phi_l = np.where(lower > 0, -0.5 * zl * zl - _LOG_SQRT_2PI - log_p, -np.inf)
    return log_p, np.exp(log_phi_u), np.exp(log_phi_l)


_LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)


def _probabilities(
    np: ModuleType, v: Array, cuts: Array, scale: float, link: str = "logit"
) -> Array:
    n = v.shape[0]
    below = np.empty((n, 4))
    above = np.empty((n, 4))
    for k in range(4):
        _, below[:, k], above[:, k], _ = _cdf(np, (cuts[k] - v) / scale, link)
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

    def __init__(
        self, np: ModuleType, value: ValueFunction, free: Array, start: Array, ratios: int = 0
    ) -> None:
        self.np = np
        k = self.k = len(value._param_names)
        covariates = int(free.shape[0]) - (k + 6) - ratios  # coefficients after the cuts
        self.g_end = k + 6 + covariates  # then the scale ratios of segments, through logs
        self.scaled = np.array([*value._scaled(), True])
        self.square = np.array([*value._zero_ok(), True])
        self.floor = np.array([lo for lo, _ in value._bounds()] + [0.0])
        self.free = free
        low, high = [], []
        for square, (lo, hi) in zip(self.square[:k], value._bounds(), strict=True):
            low.append(-math.sqrt(hi) if square else math.log(lo))
            high.append(math.sqrt(hi) if square else math.log(hi))
        wide = [1e8] * covariates
        self.low = np.array([*low, -100.0, math.log(1e-8), -1e8, -25.0, -25.0, -25.0, *wide])
        self.low[k + 6 :] *= -1.0
        self.high = np.array([*high, 100.0, math.log(1e8), 1e8, 25.0, 25.0, 25.0, *wide])
        self.low = np.concatenate((self.low, np.full(ratios, -25.0)))
        self.high = np.concatenate((self.high, np.full(ratios, 25.0)))
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
        t[k + 3 : k + 6] = np.log(np.diff(nat[k + 2 : k + 6]) / scale)
        end = self.g_end
        t[k + 6 : end] = nat[k + 6 : end] / scale
        t[end:] = np.log(nat[end:])
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
        steps = np.concatenate(([0.0], np.cumsum(np.exp(t[k + 3 : k + 6]))))
        nat[k + 2 : k + 6] = (t[k + 2] + steps) * scale
        end = self.g_end
        nat[k + 6 : end] = t[k + 6 : end] * scale
        nat[end:] = np.exp(t[end:])
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
        g_cuts = g_nat[k + 2 : k + 6]
        g = np.empty_like(g_nat)
        g[: k + 1] = slope * g_nat[: k + 1]
        g[k + 1] = -(
            scale * g_nat[k + 1]
            + float((nat[: k + 1] * g_nat[: k + 1] * self.scaled).sum())
            + float((nat[k + 2 : k + 6] * g_cuts).sum())
            + float((nat[k + 6 : self.g_end] * g_nat[k + 6 : self.g_end]).sum())
        )
        tail = np.cumsum(g_cuts[::-1])[::-1]
        g[k + 2] = scale * tail[0]
        g[k + 3 : k + 6] = np.diff(nat[k + 2 : k + 6]) * tail[1:]
        g[k + 6 : self.g_end] = scale * g_nat[k + 6 : self.g_end]
        g[self.g_end :] = nat[self.g_end :] * g_nat[self.g_end :]
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
    np: ModuleType,
    value: ValueFunction,
    design: _Design,
    y: Array,
    w: Array,
    columns: Array | None = None,
    link: str = "logit",
    segments: Array | None = None,
) -> Callable[[Array], tuple[float, Array]]:
    """``nat -> (negative log-likelihood, its gradient)`` in the natural parameters.

    ``nat`` is ``[value-function parameters, breach, scale, c1, c2, c3, c4, gamma]``,
    ``gamma`` the coefficients of the extra covariates ``columns`` (shape ``(p, n)``,
    added to the value as ``columns' gamma``; none when ``None``), then the scale ratios
    of the segments after the first when ``segments`` (each row's segment index, 0 the
    reference) is given: a row's scale is ``scale * ratio[segment]``.
    """
    cols: Array = np.zeros((0, design.n)) if columns is None else columns
    p = int(cols.shape[0])
    q = 0 if segments is None else int(segments.max())
    groups: Array = np.zeros(design.n, dtype=np.intp) if segments is None else segments
    ev_d = _np_evaluator(value, np, design.d)
    ev_late = _np_evaluator(value, np, design.late_d)
    k = len(value._param_names)
    runs = _Runs(np, y)

    def natural(nat: Array) -> tuple[float, Array]:
        theta, breach, scale = nat[:k], float(nat[k]), float(nat[k + 1])
        cuts = nat[k + 2 : k + 6]
        v, dv_theta, dv_b = _latent(np, ev_d, ev_late, design, theta, breach)
        if p:
            v = v + _covariate_term(np, cols, nat[k + 6 :])
        relative = None
        if q:
            relative = np.concatenate(([1.0], nat[k + 6 + p :]))[groups]
        nll, g_v, g_s, g_c = _ordinal(np, v, runs, w, cuts, scale, link, relative)
        grad = np.empty(k + 6 + p + q)
        if q:
            by_group = np.bincount(groups, g_s, minlength=q + 1)
            grad[k + 6 + p :] = scale * by_group[1:]
            g_s = float((by_group * np.concatenate(([1.0], nat[k + 6 + p :]))).sum())
        grad[:k] = (dv_theta * g_v).sum(axis=1)
        grad[k] = _dot(np, dv_b, g_v)
        grad[k + 1] = g_s
        grad[k + 2 : k + 6] = g_c
        for j in range(p):
            grad[k + 6 + j] = _dot(np, cols[j], g_v)
        return nll, grad

    return natural


def _covariate_term(np: ModuleType, columns: Array, gamma: Array) -> Array:
    """``columns' gamma``: column by column, without a BLAS call on long vectors."""
    term = np.zeros(columns.shape[1])
    for j in range(columns.shape[0]):
        term += float(gamma[j]) * columns[j]
    return term
