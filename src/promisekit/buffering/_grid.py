"""Shared numpy helpers of the conditional models: calendar features, grid distributions.

* :func:`numpy_module` imports numpy or explains which extra to install;
* :func:`calendar_features` reads hour of day, weekday, month and season of instants
  (UTC microseconds) in a zone, vectorized (one ``zoneinfo`` call per distinct hour);
* :class:`GridDistributions` holds one predictive distribution per request as a
  cumulative distribution on a shared grid of observed durations (a step function):
  its quantiles, its cdf at a window and its density are what conformal calibration,
  adaptive calibration and budget allocation work on.

Everything here is private; numpy is imported lazily.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

import attrs

from promisekit._validation import describe, load_zone
from promisekit.errors import InvalidTypeError, InvalidValueError, MissingDependencyError

if TYPE_CHECKING:  # pragma: no cover
    from promisekit.buffering._columns import FloatArray, HistoryColumns, IntArray

HOUR_US = 3_600_000_000
DAY_US = 24 * HOUR_US
#: The calendar features every conditional model can read from the request time.
CALENDAR_FEATURES = ("hour", "weekday", "month", "season")
#: ``int64`` sentinel of a missing reference due (see ``HistoryColumns.reference_us``).
NO_REFERENCE = -(2**63)
OPEN = 2**63 - 1


def numpy_module(feature: str = "Conditional quotes") -> Any:
    """The numpy module, or :class:`MissingDependencyError` naming the extra."""
    try:
        import numpy
    except ImportError as exc:  # pragma: no cover - numpy is in the test extra
        raise MissingDependencyError("numpy", "analysis", feature) from exc
    return numpy


def local_us(instants_us: IntArray, zone: str) -> IntArray:
    """Wall-clock microseconds (as if UTC) of UTC instants read in ``zone``."""
    np = numpy_module()
    tz = load_zone(zone, field="zone")
    instants = np.asarray(instants_us, dtype=np.int64)
    if instants.size == 0:
        empty: IntArray = instants.copy()
        return empty
    hours, inverse = np.unique(instants // HOUR_US, return_inverse=True)
    inverse = inverse.reshape(-1)
    starts = [_offset_us(tz, h * HOUR_US) for h in hours.tolist()]
    ends = [_offset_us(tz, (h + 1) * HOUR_US - 1) for h in hours.tolist()]
    offsets = np.asarray(starts, dtype=np.int64)[inverse]
    # An hour holding a transition (at any minute): read each of its instants.
    changing = np.flatnonzero(np.asarray(starts) != np.asarray(ends))
    if changing.size:
        rows = np.flatnonzero(np.isin(inverse, changing))
        offsets[rows] = [_offset_us(tz, int(v)) for v in instants[rows].tolist()]
    result: IntArray = instants + offsets
    return result


def _offset_us(tz: Any, instant_us: int) -> int:
    seconds, micros = divmod(instant_us, 1_000_000)
    moment = datetime.fromtimestamp(seconds, tz=timezone.utc).replace(microsecond=micros)
    offset = moment.astimezone(tz).utcoffset()
    return 0 if offset is None else (offset.days * 86_400 + offset.seconds) * 1_000_000


def calendar_features(instants_us: IntArray, zone: str) -> dict[str, IntArray]:
    """Hour of day (0–23), weekday (Monday 0), month (1–12), season (0 winter … 3 autumn)."""
    np = numpy_module()
    wall = local_us(instants_us, zone)
    days = wall // DAY_US
    month = days.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64) % 12 + 1
    return {
        "hour": (wall // HOUR_US) % 24,
        "weekday": (days + 3) % 7,  # 1970-01-01 was a Thursday
        "month": month,
        "season": (month % 12) // 3,
    }


def check_history(value: Any, field: str = "past") -> HistoryColumns:
    """``value`` itself when it is a :class:`HistoryColumns`."""
    from promisekit.buffering._columns import HistoryColumns

    if not isinstance(value, HistoryColumns):
        raise InvalidTypeError(
            f"{field!r} must be a HistoryColumns (got {type(value).__name__} {describe(value)})"
        )
    return value


def check_level(field: str, value: Any) -> float:
    """A probability in ``[0, 1]``."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidTypeError(
            f"{field!r} must be a probability (got {type(value).__name__} {describe(value)})"
        )
    number = float(value)
    if not 0.0 <= number <= 1.0:
        raise InvalidValueError(
            f"{field!r} must be a probability in [0, 1] (got {describe(value)})"
        )
    return number


def check_positive(field: str, value: Any, *, allow_zero: bool = False) -> float:
    """A finite number ``> 0`` (or ``>= 0``)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidTypeError(
            f"{field!r} must be a number (got {type(value).__name__} {describe(value)})"
        )
    number = float(value)
    ok = number >= 0.0 if allow_zero else number > 0.0
    if not ok or number != number or number == float("inf"):
        bound = ">= 0" if allow_zero else "> 0"
        raise InvalidValueError(f"{field!r} must be finite and {bound} (got {describe(value)})")
    return number


def feature_columns(
    history: HistoryColumns, names: tuple[str, ...], bins: Mapping[str, Any]
) -> dict[str, IntArray]:
    """Integer codes of the named request-time features of ``history``."""
    np = numpy_module()
    wanted = [n for n in names if n in CALENDAR_FEATURES]
    out: dict[str, IntArray] = {}
    if wanted:
        cal = calendar_features(history.requested_us, history.zone)
        out.update({n: cal[n] for n in wanted})
    for name in names:
        if name in CALENDAR_FEATURES or name == "segment":
            continue
        if name not in history.features:
            raise InvalidValueError(
                f"'by' names the feature {describe(name)}, which the history does not have "
                f"(features: {describe(sorted(history.features))})"
            )
        values = np.asarray(history.features[name], dtype=np.float64)
        edges = bins.get(name)
        if edges is None:
            out[name] = np.nan_to_num(values, nan=-1.0).astype(np.int64)
        else:
            out[name] = np.digitize(values, np.asarray(edges, dtype=np.float64)).astype(np.int64)
    return out


#: Levels within this of a cdf value count as reached (sums of weights are inexact).
_TOLERANCE = 1e-12


def _quantiles(np: Any, rows: FloatArray, grid: FloatArray, level: FloatArray) -> FloatArray:
    """Per row, the first grid value whose cdf reaches the row's level."""
    idx = (rows < level[:, None] - _TOLERANCE).sum(axis=1)
    result: FloatArray = grid[np.clip(idx, 0, grid.shape[0] - 1)]
    return result


@attrs.frozen(eq=False)
class GridDistributions:
    """One predictive distribution per request, as a cdf on a shared grid.

    Request ``i`` has the cdf ``cdf[key[i]]`` over durations ``grid_us`` (0 below
    the first grid point, 1 from the last), shifted by
    ``offset_us[i]``: its window from the request time is ``offset_us[i] + x``.
    The cdf is a step function (the grid points are observed values): quantiles
    are grid values, and ``cdf_at(quantile_us(q)) >= q``.
    ``offset_us`` is the reference due minus the request time for models of the
    deviation from a reference, else zero.
    """

    grid_us: FloatArray
    cdf: FloatArray
    key: IntArray
    offset_us: FloatArray

    def __len__(self) -> int:
        return int(self.key.shape[0])

    def quantile_us(self, levels: Any) -> FloatArray:
        """The window (from the request time) of each request at its level."""
        np = numpy_module()
        level = np.asarray(levels, dtype=np.float64)
        if level.ndim == 0:  # one level: solve per distinct distribution, then spread
            per_key = _quantiles(np, self.cdf, self.grid_us, np.full(self.cdf.shape[0], level))
            result: FloatArray = self.offset_us + per_key[self.key]
            return result
        level = np.broadcast_to(level, self.key.shape)
        result = self.offset_us + _quantiles(np, self.cdf[self.key], self.grid_us, level)
        return result

    def cdf_at(self, window_us: Any) -> FloatArray:
        """The probability of each request being done within its window."""
        return self._step(window_us, "right")

    def pit(self, actual_us: Any) -> FloatArray:
        """The conformity score of each realized window: the cdf just *below* it.

        A quote at level ``l`` is kept exactly when this score is below ``l``, which
        is what makes the conformal corrections below exact.
        """
        return self._step(actual_us, "left")

    def _step(self, window_us: Any, side: str) -> FloatArray:
        np = numpy_module()
        x = np.asarray(window_us, dtype=np.float64) - self.offset_us
        idx = np.searchsorted(self.grid_us, x, side=side)  # grid points <= x (or < x)
        rows = self.cdf[self.key]
        r = np.arange(rows.shape[0])
        value = np.where(idx > 0, rows[r, np.maximum(idx - 1, 0)], 0.0)
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
        """
        np = numpy_module()
        scores = np.sort(np.asarray(pit_scores, dtype=np.float64))
        n = scores.shape[0]
        if n == 0:
            return self
        ranks = np.searchsorted(scores, self.cdf, side="left")
        cdf = np.where(self.cdf >= 1.0, 1.0, ranks / (n + 1.0))
        return attrs.evolve(self, cdf=np.maximum.accumulate(cdf, axis=1))
