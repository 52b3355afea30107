"""Main effects of the conditional model: a location per request before pooling residuals.

With ``location="log"`` (durations) or ``"additive"`` (durations or deviations), a
:class:`ConditionalQuantileBuffer` first fits an additive model of the (log) target::

    z = mu + sum over segment nodes (segment, parent, ...) + sum over features (hour, ...)

by weighted backfitting, each effect shrunk toward zero like a random effect
(``effect = sum of partial residuals / (weight + k)``): a thin segment's effect is
small, and its parent's carries it. The pooled empirical model then describes the
*residuals* ``z - location``, whose shape is shared far better across cells than raw
durations are: a thin route borrows the rush-hour effect learnt on busy ones, and
its own scale.

numpy is imported lazily.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from promisekit.buffering._features import numpy_module

if TYPE_CHECKING:  # pragma: no cover
    from promisekit.buffering._columns import FloatArray, IntArray

__all__: list[str] = []

_ITERATIONS = 8
#: A duration below one second counts as one second on the log scale.
_LOG_FLOOR_US = 1e6


def to_scale(y: FloatArray, kind: str) -> FloatArray:
    """The target on the scale of the main effects."""
    np = numpy_module()
    if kind == "log":
        result: FloatArray = np.log(np.maximum(y, _LOG_FLOOR_US))
        return result
    return y


class MainEffects:
    """Fitted main effects: a grand mean, one effect per segment node and feature value."""

    def __init__(self, mu: float, nodes: FloatArray, features: list[tuple[Any, Any]]) -> None:
        self.mu = mu
        self.nodes = nodes  # effect per node id (node 0, "all", is 0)
        self.features = features  # per feature: (sorted codes, effects)

    @classmethod
    def fit(
        cls,
        z: FloatArray,
        weights: FloatArray,
        seg_nodes: IntArray,
        codes: list[IntArray],
        n_nodes: int,
        k: float,
    ) -> MainEffects:
        """Backfit the effects on ``z`` (already on the effects' scale)."""
        np = numpy_module()
        total = float(weights.sum())
        mu = float((weights * z).sum() / total)
        node_effect = np.zeros(n_nodes)
        levels = []
        for code in codes:
            uniq, inv = np.unique(code, return_inverse=True)
            levels.append((uniq, inv.reshape(-1), np.zeros(uniq.shape[0])))
        depth = seg_nodes.shape[1]

        def fitted() -> FloatArray:
            value = mu + node_effect[seg_nodes].sum(axis=1)
            for _, inv, eff in levels:
                value = value + eff[inv]
            result: FloatArray = value
            return result

        for _ in range(_ITERATIONS):
            # Segment nodes, from the top of the hierarchy down to the leaves.
            for d in range(depth - 1, -1, -1):
                nodes = seg_nodes[:, d]
                partial = z - fitted() + node_effect[nodes]
                num = np.bincount(nodes, weights=weights * partial, minlength=n_nodes)
                den = np.bincount(nodes, weights=weights, minlength=n_nodes)
                present = den > 0
                node_effect[present] = num[present] / (den[present] + k)
                node_effect[0] = 0.0
            for _, inv, eff in levels:
                partial = z - fitted() + eff[inv]
                num = np.bincount(inv, weights=weights * partial, minlength=eff.shape[0])
                den = np.bincount(inv, weights=weights, minlength=eff.shape[0])
                eff[:] = num / (den + k)
        return cls(mu, node_effect, [(uniq, eff) for uniq, _, eff in levels])

    def location(self, seg_nodes: IntArray, codes: list[IntArray]) -> FloatArray:
        """The fitted location of each request (unknown values have no effect)."""
        np = numpy_module()
        value = self.mu + self.nodes[seg_nodes].sum(axis=1)
        for (uniq, eff), code in zip(self.features, codes, strict=True):
            pos = np.clip(np.searchsorted(uniq, code), 0, uniq.shape[0] - 1)
            value = value + np.where(uniq[pos] == code, eff[pos], 0.0)
        result: FloatArray = value
        return result
