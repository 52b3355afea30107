"""Grid distributions: one predictive distribution per request, as a step cdf.

:class:`GridDistributions` holds each request's cumulative distribution on a shared
grid of observed durations: its quantiles, its cdf at a window and its conformity
scores are what conformal calibration, adaptive calibration and budget allocation
work on. numpy is imported lazily.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import attrs

from promisekit.buffering._features import numpy_module

if TYPE_CHECKING:  # pragma: no cover
    from promisekit.buffering._columns import FloatArray, IntArray

__all__ = ["GridDistributions"]


#: Levels within this of a cdf value count as reached (sums of weights are inexact).
_TOLERANCE = 1e-12


def _first_reaching(np: Any, cdf: FloatArray, rows: Any, level: Any) -> Any:
    """Per query, the first grid index where ``cdf[rows]`` reaches ``level``.

    One ``searchsorted`` over all rows at once: row ``r`` is shifted by ``2 r`` (a cdf
    lies in [0, 1]), so no row is copied per query.
    """
    k, g = cdf.shape
    flat = (cdf + 2.0 * np.arange(k)[:, None]).ravel()
    pos = np.searchsorted(flat, level - _TOLERANCE + 2.0 * rows, side="left")
    return np.clip(pos - rows * g, 0, g - 1)


@attrs.frozen(eq=False)
class GridDistributions:
    """One predictive distribution per request, as a cdf on a shared grid.

    Request ``i`` has the cdf ``cdf[key[i]]`` over durations ``grid_us`` (0 below
    the first grid point, 1 from the last), shifted by
    ``offset_us[i]`` and scaled by ``scale[i]`` (1 when ``None``): its window from the
    request time is ``offset_us[i] + scale[i] x``.
    The cdf is a step function (the grid points are observed values): quantiles
    are grid values, and ``cdf_at(quantile_us(q)) >= q``.
    ``offset_us`` is the reference due minus the request time for models of the
    deviation from a reference, else zero.

    .. versionadded:: 0.1.0
    """

    grid_us: FloatArray
    cdf: FloatArray
    key: IntArray
    offset_us: FloatArray
    scale: FloatArray | None = None

    def _to_window(self, x: Any) -> FloatArray:
        result: FloatArray = self.offset_us + (x if self.scale is None else self.scale * x)
        return result

    def __len__(self) -> int:
        return int(self.key.shape[0])

    def quantile_us(self, levels: Any) -> FloatArray:
        """The window (from the request time) of each request at its level.

        .. versionadded:: 0.1.0
        """
        np = numpy_module()
        level = np.asarray(levels, dtype=np.float64)
        if level.ndim == 0:  # one level: solve per distinct distribution, then spread
            keys = np.arange(self.cdf.shape[0])
            per_key = self.grid_us[_first_reaching(np, self.cdf, keys, float(level))]
            return self._to_window(per_key[self.key])
        level = np.broadcast_to(level, self.key.shape)
        idx = _first_reaching(np, self.cdf, self.key, level)
        return self._to_window(self.grid_us[idx])

    def cdf_at(self, window_us: Any) -> FloatArray:
        """The probability of each request being done within its window.

        .. versionadded:: 0.1.0
        """
        return self._step(window_us, "right")

    def pit(self, actual_us: Any) -> FloatArray:
        """The conformity score of each realized window: the cdf just *below* it.

        A quote at level ``l`` is kept exactly when this score is below ``l``, which
        is what makes the conformal corrections below exact.

        .. versionadded:: 0.1.0
        """
        return self._step(actual_us, "left")

    def _step(self, window_us: Any, side: str) -> FloatArray:
        np = numpy_module()
        x = np.asarray(window_us, dtype=np.float64) - self.offset_us
        if self.scale is not None:
            x = x / self.scale
        # Undo the rounding of (offset + scale * grid - offset) / scale: a window at a
        # grid point is at it (the nudge is far below a microsecond).
        nudge = 1e-12 * (np.abs(x) + np.abs(self.offset_us))
        x = x + nudge if side == "right" else x - nudge
        idx = np.searchsorted(self.grid_us, x, side=side)  # grid points <= x (or < x)
        value = np.where(idx > 0, self.cdf[self.key, np.maximum(idx - 1, 0)], 0.0)
        result: FloatArray = np.clip(value, 0.0, 1.0)
        return result

    def recalibrated(self, pit_scores: FloatArray) -> GridDistributions:
        """The distributions composed with the empirical cdf of calibration scores.

        ``pit_scores`` are :meth:`pit` values ``u_i`` of held-out records; the
        result's cdf is ``G(F(x))`` with ``G(u) = #{u_i < u} / (n + 1)``. Its
        quantile at level ``q`` is the first grid value where ``F`` exceeds
        ``u_(k)``, ``k = ceil((n + 1) q)``: a new exchangeable record is within it
        with probability at least ``k / (n + 1) >= q`` (split conformal). Levels
        above ``n / (n + 1)`` get the top of the grid.

        .. versionadded:: 0.1.0
        """
        np = numpy_module()
        scores = np.sort(np.asarray(pit_scores, dtype=np.float64))
        n = scores.shape[0]
        if n == 0:
            return self
        ranks = np.searchsorted(scores, self.cdf, side="left")
        cdf = np.where(self.cdf >= 1.0, 1.0, ranks / (n + 1.0))
        return attrs.evolve(self, cdf=np.maximum.accumulate(cdf, axis=1))
