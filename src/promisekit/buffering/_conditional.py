"""Conditional quantiles of durations: a pooled empirical model with hierarchical shrinkage.

:class:`ConditionalQuantileBuffer` is a :class:`~promisekit.buffering.ColumnarPolicy`:
it learns the distribution of the duration (or of the signed deviation from a
reference due) given request features — the segment, the hour of day, weekday,
month or season read in the history's zone, and binned caller features — and quotes
its ``q``-quantile.

Pooling. A request's *cell* is its segment and its feature values. Its distribution is
built along a chain of coarser cells: first the features are dropped from the last of
``by`` to the first, then the segment climbs to its parent, grandparent … and finally
"all". From the coarsest up, each cell's empirical cdf is mixed with the one below it::

    F(cell) = w F̂(cell) + (1 - w) F(next coarser cell),   w = n / (n + k)

where ``n`` is the cell's (recency-weighted) number of past records. A thin cell
borrows from its parents; a thick one speaks for itself. With ``half_life``, a past
record of age ``a`` (before the latest completion) weighs ``0.5 ** (a / half_life)``,
so the model follows drift.

numpy is imported lazily (the ``analysis`` extra).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import attrs

from promisekit._validation import check_aware, check_finite, describe
from promisekit.buffering._columns import HistoryColumns, QuoteColumns
from promisekit.buffering._common import td_us, to_us
from promisekit.buffering._features import (
    NO_REFERENCE,
    OPEN,
    check_history,
    check_level,
    check_positive,
    feature_columns,
    numpy_module,
    select_rows,
)
from promisekit.buffering._grid import GridDistributions
from promisekit.buffering._grid_capability import GridCapability
from promisekit.buffering._location import MainEffects, to_scale
from promisekit.errors import InsufficientDataError, InvalidTypeError, InvalidValueError

if TYPE_CHECKING:  # pragma: no cover
    from promisekit.buffering._columns import FloatArray, IntArray

_ALL = object()
_MAX_DEPTH = 64
_MAX_FEATURES = 4
#: Most numbers held by the fitted cdf tables (cells x grid points): 128 MB.
_MAX_TABLE = 2**24
_MIN_GRID = 32


def _check_by(instance: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not isinstance(value, tuple) or not all(isinstance(v, str) for v in value):
        raise InvalidTypeError(f"'by' must be a tuple of feature names (got {describe(value)})")
    if len(set(value)) != len(value):
        raise InvalidValueError(f"'by' names a feature twice (got {describe(value)})")
    if len([v for v in value if v != "segment"]) > _MAX_FEATURES:
        raise InvalidValueError(
            f"'by' may name at most {_MAX_FEATURES} features besides 'segment' "
            f"(got {describe(value)})"
        )


def _check_parents(instance: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is not None and not isinstance(value, Mapping) and not callable(value):
        raise InvalidTypeError(
            f"'parents' must be a mapping segment -> parent, a function, or None "
            f"(got {type(value).__name__} {describe(value)})"
        )


def _level(instance: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    check_level(attribute.name, value)


def _positive_or_none(instance: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is not None:
        if isinstance(value, timedelta):
            value = value.total_seconds()
        check_positive(attribute.name, value)


def _non_negative(instance: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    check_positive(attribute.name, value, allow_zero=True)


def _positive_int(instance: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 2:
        raise InvalidValueError(f"{attribute.name!r} must be an int >= 2 (got {describe(value)})")


def _shrinkage_weight(n: Any, k: float) -> Any:
    """``n / (n + k)``: how much a cell with ``n`` (weighted) records trusts itself."""
    np = numpy_module()
    count = np.asarray(n, dtype=np.float64)
    if k == 0:
        return np.where(count > 0, 1.0, 0.0)
    return count / (count + k)


@attrs.frozen(kw_only=True)
class ConditionalQuantileBuffer:
    """Quote the ``q``-quantile of the duration given the request's features.

    Args:
        q: The level quoted (the stated confidence of each quote).
        by: Features defining a cell, most important first: ``"segment"``,
            ``"hour"``, ``"weekday"``, ``"month"``, ``"season"`` (read in the
            history's zone) or the name of a caller feature of the history.
        parents: The segment hierarchy: a mapping ``segment -> parent`` or a function
            (returning ``None`` at the top). Any depth.
        half_life: Recency weighting: a past record's weight halves every
            ``half_life`` (a ``timedelta``, or seconds); ``None`` weighs all equally.
        k: Shrinkage strength: a cell with ``n`` records gets weight ``n / (n + k)``.
        bins: Bin edges per caller feature (``{"queue": (2, 5, 10)}``); a feature
            without edges is truncated to an integer.
        relative: Model the signed deviation of the completion from the reference
            due (``reference_us``) instead of the duration: the quote is then "the
            reference + the q-quantile of the deviation". Windows are still counted
            from the request time.
        location: First fit main effects of the segment hierarchy and of each
            feature of ``by`` (``"log"``: multiplicative, for durations;
            ``"additive"``), each shrunk toward zero with the same ``k``, and pool
            the residuals: thin cells then borrow the shape of every cell and keep
            their own scale. ``None``: pool the targets themselves.
        grid: Most grid points of the fitted distributions (observed values, evenly
            spaced in rank): quantiles are grid values, so a finer grid is closer
            to the exact empirical quantile, at more memory per cell. With many
            cells the grid is made coarser (to no fewer than 32 points) so that the
            fitted tables hold at most 2**24 numbers.

    Example:
        >>> import numpy as np
        >>> from promisekit.buffering import ConditionalQuantileBuffer, HistoryColumns
        >>> t = np.arange(200, dtype=np.int64) * 3_600_000_000
        >>> d = np.where(t // 3_600_000_000 % 24 < 12, 10, 30) * 60_000_000
        >>> past = HistoryColumns(t, t + d)
        >>> quoter = ConditionalQuantileBuffer(q=0.9, by=("hour",), k=1).fit_columns(past)
        >>> [int(w) // 60_000_000 for w in quoter.quote_columns(past).window_us[[0, 13]]]
        [10, 30]

    .. versionadded:: 0.1.0
    """

    q: float = attrs.field(default=0.9, validator=_level)
    by: tuple[str, ...] = attrs.field(
        default=("segment", "hour", "weekday"), converter=tuple, validator=_check_by
    )
    parents: Mapping[Hashable, Hashable] | Callable[[Any], Any] | None = attrs.field(
        default=None, validator=_check_parents
    )
    half_life: timedelta | float | None = attrs.field(default=None, validator=_positive_or_none)
    k: float = attrs.field(default=20.0, validator=_non_negative)
    bins: Mapping[str, Any] = attrs.field(factory=dict)
    relative: bool = False
    location: str | None = attrs.field(default=None)
    grid: int = attrs.field(default=1024, validator=_positive_int)

    @location.validator
    def _check_location(self, attribute: attrs.Attribute[Any], value: Any) -> None:
        if value not in (None, "log", "additive"):
            raise InvalidValueError(
                f"'location' must be None, 'log' or 'additive' (got {describe(value)})"
            )
        if value == "log" and self.relative:
            raise InvalidValueError(
                "'location' cannot be 'log' for a relative model (deviations may be "
                "negative): use 'additive'"
            )

    def fit_columns(self, past: HistoryColumns) -> ConditionalQuoter:
        """Learn the pooled conditional distributions from ``past``.

        .. versionadded:: 0.1.0
        """
        return ConditionalQuoter._fit(self, check_history(past))


def _ancestors(segment: Any, parents: Any) -> list[Any]:
    chain = [segment]
    seen = {segment}
    current = segment
    for _ in range(_MAX_DEPTH):
        if parents is None:
            break
        parent = parents.get(current) if isinstance(parents, Mapping) else parents(current)
        if parent is None:
            break
        if parent in seen:
            raise InvalidValueError(f"'parents' has a cycle through the segment {describe(parent)}")
        chain.append(parent)
        seen.add(parent)
        current = parent
    else:
        raise InvalidValueError(f"'parents' goes deeper than {_MAX_DEPTH} levels")
    return chain


class ConditionalQuoter:
    """A fitted :class:`ConditionalQuantileBuffer`: quotes, distributions, one capability.

    .. versionadded:: 0.1.0
    """

    def __init__(self, policy: ConditionalQuantileBuffer, zone: str) -> None:
        self.policy = policy
        self.zone = zone
        self.n_records = 0
        self._grid: FloatArray
        self._features: tuple[str, ...] = tuple(n for n in policy.by if n != "segment")
        self._use_segment = "segment" in policy.by
        self._nodes: dict[Any, int] = {_ALL: 0}
        self._chains: dict[Any, list[int]] = {}
        self._depth = 1
        self._tables: list[tuple[IntArray, FloatArray, FloatArray]] = []
        self._effects: MainEffects | None = None

    @classmethod
    def _fit(cls, policy: ConditionalQuantileBuffer, past: HistoryColumns) -> ConditionalQuoter:
        np = numpy_module()
        self = cls(policy, past.zone)
        done = np.asarray(past.completed_us, dtype=np.int64) != OPEN
        if policy.relative:
            if past.reference_us is None:
                raise InvalidValueError("'relative' models need the history's 'reference_us'")
            done &= np.asarray(past.reference_us, dtype=np.int64) != NO_REFERENCE
        past = select_rows(past, done)
        if len(past) == 0:
            raise InsufficientDataError(
                "'past' has no completed record to fit a ConditionalQuantileBuffer on"
            )
        y = _targets(past, policy.relative).astype(np.float64)
        weights = np.ones(len(past))
        if policy.half_life is not None:
            half = policy.half_life
            half_us = td_us(half) if isinstance(half, timedelta) else float(half) * 1e6
            age = float(past.completed_us.max()) - past.completed_us.astype(np.float64)
            weights = np.exp2(-age / half_us)
        codes = self._codes(past)
        seg_nodes = self._segment_nodes(past, fitting=True)
        if policy.location is not None:
            z = to_scale(y, policy.location)
            self._effects = MainEffects.fit(
                z, weights, seg_nodes, codes, len(self._nodes), float(policy.k)
            )
            residual = z - self._effects.location(seg_nodes, codes)
            y = np.exp(residual) if policy.location == "log" else residual
        last = seg_nodes.shape[1] - 1
        levels = []
        for m in range(len(self._features) + 1):
            parts, rows = [], []
            for d in range(seg_nodes.shape[1]):
                real = (seg_nodes[:, d] != 0) if d < last else np.ones(len(past), dtype=bool)
                parts.append(_cell_ids(seg_nodes[real, d], [c[real] for c in codes[:m]]))
                rows.append(np.flatnonzero(real))
            uniq, inv = np.unique(np.concatenate(parts), return_inverse=True)
            levels.append((uniq, inv.reshape(-1), np.concatenate(rows)))
        # Many cells: a coarser grid, so that the tables stay within _MAX_TABLE numbers.
        cells = sum(uniq.shape[0] for uniq, _, _ in levels)
        self._grid = _make_grid(np, y, min(policy.grid, max(_MIN_GRID, _MAX_TABLE // cells)))
        bins = np.searchsorted(self._grid, y, side="left")
        g = self._grid.shape[0]
        for uniq, inv, row in levels:
            mass = np.bincount(
                inv * g + bins[row], weights=weights[row], minlength=uniq.shape[0] * g
            ).reshape(uniq.shape[0], g)
            total = mass.sum(axis=1)
            self._tables.append((uniq, np.cumsum(mass, axis=1) / total[:, None], total))
        self.n_records = len(past)
        return self

    # ------------------------------------------------------------------ encoding

    def _codes(self, history: HistoryColumns) -> list[IntArray]:
        cols = feature_columns(history, self._features, self.policy.bins)
        return [cols[name] for name in self._features]

    def _segment_nodes(self, history: HistoryColumns, *, fitting: bool = False) -> IntArray:
        """Per request, its segment's chain of node ids, padded with 0 ("all")."""
        np = numpy_module()
        n = len(history)
        if not self._use_segment or history.segment is None:
            zeros: IntArray = np.zeros((n, self._depth), dtype=np.int64)
            return zeros
        try:
            labels, inverse = np.unique(
                np.asarray(history.segment, dtype=object), return_inverse=True
            )
        except TypeError:
            raise InvalidTypeError(
                "'segment' labels must be comparable with each other (all str, or all numbers)"
            ) from None
        chains = []
        for label in labels.tolist():
            chain = self._chains.get(label)
            if chain is None:
                names = _ancestors(label, self.policy.parents)
                if fitting:
                    chain = [self._nodes.setdefault(s, len(self._nodes)) for s in names]
                    self._chains[label] = chain
                else:  # unseen segment: its known ancestors only
                    chain = [self._nodes[s] for s in names if s in self._nodes]
            chains.append(chain)
        if fitting:
            self._depth = max(len(c) for c in chains) + 1
        table = np.zeros((len(chains), self._depth), dtype=np.int64)
        for i, chain in enumerate(chains):
            table[i, : len(chain)] = chain[: self._depth - 1]
        result: IntArray = table[inverse.reshape(-1)]
        return result

    # ------------------------------------------------------------------ quoting

    def distributions(self, requests: HistoryColumns) -> GridDistributions:
        """The pooled predictive distribution of each request (see the module docstring).

        .. versionadded:: 0.1.0
        """
        np = numpy_module()
        requests = check_history(requests, "requests")
        n = len(requests)
        codes = self._codes(requests)
        seg_nodes = self._segment_nodes(requests)
        m_all = len(self._features)
        full = np.concatenate([seg_nodes] + [c[:, None] for c in codes], axis=1)
        keys, key = np.unique(full, axis=0, return_inverse=True)
        key = key.reshape(-1)
        k_nodes = keys[:, : self._depth]
        k_codes = [keys[:, self._depth + j] for j in range(m_all)]
        mixed = np.zeros((keys.shape[0], self._grid.shape[0]))
        remaining = np.ones(keys.shape[0])
        last = self._depth - 1
        for d in range(self._depth):
            real = (k_nodes[:, d] != 0) | (d == last)
            for m in range(m_all, -1, -1):
                uniq, cdf, total = self._tables[m]
                ids = _cell_ids(k_nodes[:, d], k_codes[:m])
                pos = np.clip(np.searchsorted(uniq, ids), 0, uniq.shape[0] - 1)
                found = (uniq[pos] == ids) & real
                if d == last and m == 0:
                    w = remaining * found
                else:
                    w = _shrinkage_weight(np.where(found, total[pos], 0.0), self.policy.k)
                    w = w * remaining
                mixed += w[:, None] * np.where(found[:, None], cdf[pos], 0.0)
                remaining = remaining - w
        mixed = np.minimum(mixed + remaining[:, None], 1.0)
        offset = np.zeros(n)
        if self.policy.relative:
            offset = _reference_offset(requests)
        scale = None
        if self._effects is not None:
            loc = self._effects.location(seg_nodes, codes)
            if self.policy.location == "log":
                scale = np.exp(loc)
            else:
                offset = offset + loc
        return GridDistributions(self._grid, mixed, key, offset, scale)

    def quote_columns(self, requests: HistoryColumns, q: Any = None) -> QuoteColumns:
        """Quote each request at level ``q`` (default: the policy's ``q``; may be an array).

        .. versionadded:: 0.1.0
        """
        np = numpy_module()
        dist = self.distributions(requests)
        level = self.policy.q if q is None else q
        window = np.ceil(dist.quantile_us(level)).astype(np.int64)
        return QuoteColumns(window, dist.cdf_at(window))

    def capability(
        self,
        at: datetime,
        segment: Any = None,
        features: Mapping[str, float] | None = None,
        *,
        reference: datetime | None = None,
    ) -> GridCapability:
        """The distribution of one request as a :class:`~promisekit.buffering.Capability`.

        For a ``relative`` model pass the request's ``reference`` due: the capability
        then describes durations from the request time (reference offset included).

        .. versionadded:: 0.1.0
        """
        dist = self.distributions(self._one(at, segment, features, reference))
        return GridCapability(dist, label=self._label())

    def _label(self) -> str:
        pooled = ", ".join(self.policy.by) or "nothing"
        what = "deviations from the reference" if self.policy.relative else "durations"
        return f"{self.n_records} past {what} pooled by {pooled}"

    def _one(
        self,
        at: datetime,
        segment: Any,
        features: Mapping[str, float] | None,
        reference: datetime | None,
    ) -> HistoryColumns:
        """One request as columns (for :meth:`capability`)."""
        np = numpy_module()
        moment = to_us(check_aware("at", at))
        ref = NO_REFERENCE if reference is None else to_us(check_aware("reference", reference))
        if self.policy.relative and reference is None:
            raise InvalidValueError("'reference' is needed by a relative model")
        if features is not None and not isinstance(features, Mapping):
            raise InvalidTypeError(
                f"'features' must be a mapping name -> number (got {describe(features)})"
            )
        values = {
            k: np.array([check_finite(f"features[{k!r}]", v)], dtype=np.float64)
            for k, v in (features or {}).items()
        }
        return HistoryColumns(
            np.array([moment], dtype=np.int64),
            np.array([OPEN], dtype=np.int64),
            zone=self.zone,
            segment=None if segment is None else np.array([segment], dtype=object),
            reference_us=np.array([ref], dtype=np.int64),
            features=values,
        )


def _cell_ids(nodes: IntArray, codes: list[IntArray]) -> IntArray:
    """One int64 per (segment node, leading feature codes): a mixed-radix number."""
    np = numpy_module()
    cell = nodes.astype(np.int64)
    for code in codes:
        cell = cell * 4099 + (np.clip(code.astype(np.int64), -1, 4097) + 1)
    result: IntArray = cell
    return result


def _targets(past: HistoryColumns, relative: bool) -> IntArray:
    if relative:
        assert past.reference_us is not None
        result: IntArray = past.completed_us - past.reference_us
        return result
    result = past.completed_us - past.requested_us
    return result


def _reference_offset(requests: HistoryColumns) -> FloatArray:
    np = numpy_module()
    ref = requests.reference_us
    if ref is None or bool((np.asarray(ref) == NO_REFERENCE).any()):
        raise InvalidValueError("'requests' must carry a 'reference_us' for every request")
    result: FloatArray = (ref - requests.requested_us).astype(np.float64)
    return result


def _make_grid(np: Any, y: Any, size: int) -> Any:
    values = np.unique(y)
    if values.shape[0] > size:
        idx = np.unique(np.round(np.linspace(0, values.shape[0] - 1, size)).astype(np.int64))
        values = values[idx]
    return values.astype(np.float64)


__all__ = ["ConditionalQuantileBuffer", "ConditionalQuoter"]
