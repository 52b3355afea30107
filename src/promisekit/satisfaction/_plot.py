"""Drawing a fitted satisfaction curve over observed bucket means (matplotlib, lazily).

:func:`_plot_curve` draws the expected score of an unrevised promise against its
lateness (:meth:`predict_curve`), broken at the promise where the breach penalty makes
it jump, over the observed mean score of each bucket (markers sized by their count) and
the counts themselves as light bars on a second axis. numpy and matplotlib are imported
on demand.
"""

from __future__ import annotations

import math
from datetime import timedelta
from typing import Any

from promisekit._plotting import get_axes, label_axes
from promisekit._validation import describe
from promisekit.errors import InvalidTypeError
from promisekit.satisfaction._aggregated import _bucket_inputs
from promisekit.satisfaction._base import _ModelBase
from promisekit.satisfaction._design import _numpy, _sequence
from promisekit.satisfaction._results import _FitState

_UNITS = (("days", 86_400.0), ("hours", 3_600.0), ("minutes", 60.0))


def _unit(span_seconds: float) -> tuple[str, float]:
    """The largest unit in which the span covers at least two of them."""
    for name, seconds in _UNITS:
        if span_seconds >= 2 * seconds:
            return name, seconds
    return "seconds", 1.0


def _plot_curve(
    model: _ModelBase,
    state: _FitState,
    observed: Any,
    lateness: Any,
    window: Any,
    ax: Any,
) -> Any:
    feature = f"{type(model).__name__}.plot"
    np = _numpy(feature)
    points = None
    if observed is not None:
        if not isinstance(observed, tuple) or len(observed) != 3:
            raise InvalidTypeError(
                f"'observed' must be a (lateness, mean_scores, counts) tuple "
                f"(got {type(observed).__name__} {describe(observed)})"
            )
        seconds, means, counts = _bucket_inputs(*observed)
        points = (np.array(seconds), np.array(means), np.array(counts))
    if lateness is None:
        if points is not None and points[0].size:
            low, high = float(points[0].min()), float(points[0].max())
        elif not model.relative:
            low, high = -7 * model.unit.total_seconds(), 14 * model.unit.total_seconds()
        else:
            span = (window or timedelta(seconds=state.window_seconds or 3600.0)).total_seconds()
            low, high = -span, 3 * span
        low, high = min(low, 0.0), max(high, 0.0)
        early = np.linspace(low, 0.0, 100)
        late = np.linspace(0.0, high, 200)[1:]
        grid = np.concatenate((early, late))
    else:
        grid = np.array([_seconds(x, i) for i, x in enumerate(_sequence("lateness", lateness))])
        grid.sort()
    curve = model.predict_curve([timedelta(seconds=float(s)) for s in grid], window=window)
    span = max(float(np.abs(grid).max()) if grid.size else 0.0, 1.0)
    name, size = _unit(span)
    x = grid / size
    y = np.array(curve.expected, dtype=float)
    # break the line at the promise: the breach penalty is a step there
    cut = int(np.searchsorted(grid, 0.0, side="right"))
    if 0 < cut < grid.size:
        x = np.insert(x, cut, math.nan)
        y = np.insert(y, cut, math.nan)
    ax = get_axes(ax, feature=feature)
    ax.plot(x, y, color="C0", linewidth=2, label="fitted expected score", zorder=5)
    if points is not None:
        px, pm, pc = points
        share = pc / max(float(pc.max()), 1.0)
        ax.scatter(
            px / size,
            pm,
            s=12 + 140 * np.sqrt(share),
            color="C1",
            alpha=0.6,
            edgecolor="black",
            linewidth=0.5,
            label="observed mean (size: count)",
            zorder=4,
        )
        bars = ax.twinx()
        width = float(np.min(np.diff(np.unique(px)))) / size * 0.8 if np.unique(px).size > 1 else 1
        bars.bar(px / size, pc, width=width, color="grey", alpha=0.2, zorder=1)
        bars.set_ylabel("count")
        bars.set_ylim(0, float(pc.max()) * 3 if pc.max() > 0 else 1)
        ax.set_zorder(bars.get_zorder() + 1)
        ax.patch.set_visible(False)
    ax.axvline(0.0, color="grey", linestyle=":", linewidth=1)
    ax.set_ylim(1.0, 5.0)
    label_axes(
        ax,
        xlabel=f"lateness ({name}; negative = early)",
        ylabel="score (1-5)",
        title=f"{type(model).__name__}: expected score by lateness",
    )
    return ax


def _seconds(item: Any, index: int) -> float:
    if not isinstance(item, timedelta):
        raise InvalidTypeError(
            f"'lateness' must contain timedeltas "
            f"(got {type(item).__name__} {describe(item)} at index {index})"
        )
    return item.total_seconds()
