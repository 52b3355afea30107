"""Identifiability diagnostics of a fit: which parameters the data do not determine.

After a fit, :func:`_diagnose` looks at every free parameter and names those that

* sit on a bound of their box (the optimum is on the edge, not an interior maximum);
* have a standard error that is not finite (the curvature in their direction is flat);
* load on a near-flat direction of the curvature matrix (the Hessian of the negative
  log-likelihood, or ``J'J`` of a least-squares fit) once it is scaled to unit diagonal,
  when that matrix is singular or its condition number exceeds ``_MAX_CONDITION``;
* are nearly collinear with the others: their variance inflation factor (the diagonal
  of the inverse of that scaled matrix) exceeds ``_MAX_VIF``, so their standard error
  is more than a thousand times what it would be were the others known.

It returns those names with the reason, and :func:`_warn` raises one
:class:`ConvergenceWarning` naming them. numpy is passed in by the caller.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from types import ModuleType

from promisekit.errors import PromiseKitWarning
from promisekit.satisfaction._results import Array

__all__ = ["ConvergenceWarning"]

#: Condition number (of the curvature matrix scaled to unit diagonal) above which the
#: fit is reported as ill-conditioned: beyond it, a change of one part in 10^4 of the
#: objective's curvature leaves some combination of parameters undetermined.
_MAX_CONDITION = 1e8
_BOUND_RTOL = 1e-3
#: Variance inflation factor above which a parameter is reported as collinear with the
#: others (well-posed fits of the built-in models stay below about 10^3, weakly
#: identified ones near 10^5).
_MAX_VIF = 1e6


class ConvergenceWarning(PromiseKitWarning):
    """A fit ended where the data do not determine some parameters.

    Raised (as a warning) when a parameter sits at a bound, the curvature matrix is
    singular or ill-conditioned, or a standard error is not finite. The message names
    the parameters; ``summary`` lists them too. Predictions may still be good — the
    parameters themselves should not be read.

    .. versionadded:: 0.1.0
    """


def _at_bound(value: float, low: float, high: float) -> bool:
    if not math.isfinite(value):
        return True
    near = [abs(value - b) <= _BOUND_RTOL * max(abs(b), 1e-12) for b in (low, high)]
    return any(near)


def _diagnose(
    np: ModuleType,
    names: Sequence[str],
    estimates: Array,
    bse: Array,
    free: Array,
    curvature: Array | None,
    bounds: dict[str, tuple[float, float]],
) -> tuple[str, ...]:
    """``"name (reason)"`` for each free parameter the data do not determine.

    ``curvature`` is the matrix over the free parameters (``None`` when it could not
    be computed); ``bounds`` maps a parameter name to its box in natural units.
    """
    index = [int(i) for i in np.flatnonzero(free)]
    reasons: dict[str, list[str]] = {}
    for i in index:
        name = names[i]
        if name in bounds and _at_bound(float(estimates[i]), *bounds[name]):
            reasons.setdefault(name, []).append("at a bound")
        if not math.isfinite(float(bse[i])):
            reasons.setdefault(name, []).append("no finite standard error")
    if curvature is None or not np.all(np.isfinite(curvature)):
        for i in index:
            reasons.setdefault(names[i], []).append("curvature not finite")
    elif index:
        diag = np.abs(np.diag(curvature))
        if np.any(diag <= 0):
            for col in np.flatnonzero(diag <= 0):
                reasons.setdefault(names[index[int(col)]], []).append("flat direction")
        else:
            inverse = 1.0 / np.sqrt(diag)
            with np.errstate(over="ignore", invalid="ignore", under="ignore"):
                scaled = curvature * inverse[:, None] * inverse[None, :]
            if not np.all(np.isfinite(scaled)):
                scaled = np.zeros_like(curvature)  # treat as flat in every direction
            eigen, vectors = np.linalg.eigh(scaled)
            top = float(np.max(np.abs(eigen)))
            flat = np.abs(eigen) * _MAX_CONDITION <= top
            for j in np.flatnonzero(flat):
                loading = np.abs(vectors[:, j])
                for col in np.flatnonzero(loading >= 0.3 * float(loading.max())):
                    reasons.setdefault(names[index[int(col)]], []).append("ill-conditioned")
            # variance inflation, with the flattest directions floored at round-off
            floor = np.maximum(eigen, top * 1e-15 + 1e-300)
            inflation = (vectors**2 / floor[None, :]).sum(axis=1)
            for col in np.flatnonzero(inflation > _MAX_VIF):
                reasons.setdefault(names[index[int(col)]], []).append("collinear")
    out = []
    for name in names:
        if name in reasons:
            unique = list(dict.fromkeys(reasons[name]))
            out.append(f"{name} ({', '.join(unique)})")
    return tuple(out)


def _warn(model: str, undetermined: Sequence[str]) -> None:
    """One :class:`ConvergenceWarning` naming the undetermined parameters, if any."""
    if undetermined:
        warnings.warn(
            ConvergenceWarning(
                f"{model} fit: the data do not determine {', '.join(undetermined)}; "
                f"predictions may be fine, but do not read these parameters"
            ),
            stacklevel=4,
        )
