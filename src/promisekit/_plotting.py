"""Shared matplotlib helpers: a lazy import, an Axes to draw on, labels, a PNG.

The one room of promisekit's plotting helpers; each public plot lives with its concept
(:meth:`BacktestResult.plot <promisekit.buffering.BacktestResult.plot>` in
:mod:`promisekit.buffering`, the book plots in :mod:`promisekit.analysis`) and draws
through these:

* :func:`import_pyplot` and :func:`get_axes` — matplotlib on demand, the Axes to draw on;
* :func:`label_axes` — axis labels, a title and a legend in the house style;
* :func:`annotate_points` — labels next to scatter points that avoid each other;
* :func:`figure_png` — draw on a new figure and return it as a base64 PNG.

matplotlib is an optional dependency (the ``plot`` extra): it is imported only when
a plot is requested, and no backend is selected here — the user's configuration
(``MPLBACKEND``, ``matplotlibrc``, ``matplotlib.use``) decides.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Callable, Sequence
from typing import Any

from promisekit.errors import InvalidTypeError, MissingDependencyError

__all__ = ["annotate_points", "figure_png", "get_axes", "import_pyplot", "label_axes"]

# Label positions around a point: unit offset direction and text alignment, in the
# order of preference; each is tried close to the point, then farther with a leader line.
_DIRECTIONS: tuple[tuple[float, float, str, str], ...] = (
    (0.7, 0.7, "left", "bottom"),
    (0.7, -0.7, "left", "top"),
    (-0.7, 0.7, "right", "bottom"),
    (-0.7, -0.7, "right", "top"),
    (1.0, 0.0, "left", "center"),
    (-1.0, 0.0, "right", "center"),
    (0.0, 1.0, "center", "bottom"),
    (0.0, -1.0, "center", "top"),
)
_NEAR, _FAR = 7.0, 20.0  # distance of a label from its point, in typographic points

Box = tuple[float, float, float, float]


def import_pyplot(feature: str = "plotting") -> Any:
    """Import and return ``matplotlib.pyplot``, or explain which extra to install.

    Args:
        feature: What needs matplotlib, for the error message
            (``"BacktestResult.plot()"``).

    Raises:
        MissingDependencyError: matplotlib is not installed.
    """
    try:
        import matplotlib.pyplot as plt
    except ImportError:
        raise MissingDependencyError("matplotlib", "plot", feature) from None
    return plt


def get_axes(ax: Any = None, *, feature: str = "plotting") -> Any:
    """``ax`` itself when it is a matplotlib ``Axes``; a new figure's Axes when ``None``.

    Raises:
        MissingDependencyError: matplotlib is not installed.
        InvalidTypeError: ``ax`` is neither ``None`` nor an ``Axes``.
    """
    plt = import_pyplot(feature)
    if ax is None:
        _, ax = plt.subplots()
        return ax
    from matplotlib.axes import Axes

    if not isinstance(ax, Axes):
        raise InvalidTypeError(
            f"'ax' must be a matplotlib Axes or None (got {type(ax).__name__} {ax!r})"
        )
    return ax


def label_axes(
    ax: Any, *, xlabel: str, ylabel: str, title: str, legend: str | None = "best"
) -> Any:
    """Set the axis labels and the title of ``ax``, and a small legend at ``legend``.

    Args:
        ax: The matplotlib ``Axes``.
        xlabel: Label of the x axis.
        ylabel: Label of the y axis.
        title: Title of the plot.
        legend: Legend location (``"best"``, ``"upper left"``…), or ``None`` for none.

    Returns:
        ``ax``.
    """
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    if legend is not None:
        ax.legend(loc=legend, fontsize="small")
    return ax


def figure_png(
    draw: Callable[[Any], object],
    *,
    feature: str = "plotting",
    figsize: tuple[float, float] = (8, 4.5),
    dpi: int = 90,
) -> str:
    """Call ``draw(ax)`` on a new figure's Axes; the figure as a base64-encoded PNG.

    The figure is closed afterwards, also when ``draw`` raises (the exception propagates).

    Raises:
        MissingDependencyError: matplotlib is not installed.
    """
    plt = import_pyplot(feature)
    fig, ax = plt.subplots(figsize=figsize)
    try:
        draw(ax)
        fig.tight_layout()
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=dpi)
    finally:
        plt.close(fig)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _overlap(a: Box, b: Box) -> float:
    width = min(a[2], b[2]) - max(a[0], b[0])
    height = min(a[3], b[3]) - max(a[1], b[1])
    return width * height if width > 0 and height > 0 else 0.0


def _distance(box: Box, x: float, y: float) -> float:
    dx = max(box[0] - x, 0.0, x - box[2])
    dy = max(box[1] - y, 0.0, y - box[3])
    return float((dx * dx + dy * dy) ** 0.5)


def annotate_points(
    ax: Any,
    points: Sequence[tuple[float, float]],
    labels: Sequence[str],
    *,
    fontsize: float = 9,
    marker_size: float = 8,
) -> list[Any]:
    """Label each point where its label is least in the way and least ambiguous.

    Each label is tried around its point (diagonals first, then sides), close to
    it and then farther with a thin leader line. A position is penalized for
    covering markers or labels already placed, for leaving the axes, and for
    sitting nearer to another point than to its own. The most crowded points are
    labelled first. Text sizes are estimated, so nothing is drawn; this is meant
    for a handful of points.

    Args:
        ax: The matplotlib ``Axes`` (drawn points; limits are autoscaled first).
        points: ``(x, y)`` in data coordinates.
        labels: One label per point.
        fontsize: Label size, in points.
        marker_size: Marker diameter, in points.

    Returns:
        The ``Annotation`` objects, in the order of ``points``.
    """
    ax.autoscale_view()
    pixels = ax.figure.dpi / 72.0
    frame: Box = tuple(ax.bbox.extents)
    centres = [(float(x), float(y)) for x, y in ax.transData.transform(points)] if points else []
    radius = marker_size / 2 * pixels
    markers: list[Box] = [(x - radius, y - radius, x + radius, y + radius) for x, y in centres]
    placed: list[Box] = []

    def nearest_other(i: int) -> float:
        x, y = centres[i]
        return min(
            (((x - u) ** 2 + (y - v) ** 2) ** 0.5 for j, (u, v) in enumerate(centres) if j != i),
            default=float("inf"),
        )

    chosen: dict[int, tuple[float, float, str, str, bool]] = {}
    for i in sorted(range(len(centres)), key=nearest_other):
        x, y = centres[i]
        width = 0.6 * fontsize * len(labels[i]) * pixels
        height = 1.25 * fontsize * pixels
        best = (float("inf"), (0.0, 0.0, 0.0, 0.0), (0.0, 0.0, "left", "bottom", False))
        for distance in (_NEAR, _FAR):
            for ux, uy, ha, va in _DIRECTIONS:
                dx, dy = ux * distance, uy * distance
                left = x + dx * pixels - {"left": 0.0, "center": width / 2, "right": width}[ha]
                bottom = y + dy * pixels - {"bottom": 0.0, "center": height / 2, "top": height}[va]
                box = (left, bottom, left + width, bottom + height)
                area = width * height
                score = 4 * sum(_overlap(box, other) for other in markers + placed)
                score += 2 * (area - _overlap(box, frame))
                if distance == _FAR:
                    score += 0.1 * area  # a leader line tells whose label it is
                else:
                    own = _distance(box, x, y)
                    if any(
                        _distance(box, u, v) < own for j, (u, v) in enumerate(centres) if j != i
                    ):
                        score += 0.5 * area
                if score < best[0]:
                    best = (score, box, (dx, dy, ha, va, distance == _FAR))
        placed.append(best[1])
        chosen[i] = best[2]

    annotations = []
    for i, (point, label) in enumerate(zip(points, labels, strict=True)):
        dx, dy, ha, va, far = chosen[i]
        line = {"arrowstyle": "-", "color": "0.4", "linewidth": 0.6, "shrinkA": 0, "shrinkB": 5}
        annotations.append(
            ax.annotate(
                label,
                point,
                xytext=(dx, dy),
                textcoords="offset points",
                ha=ha,
                va=va,
                fontsize=fontsize,
                arrowprops=line if far else None,
            )
        )
    return annotations
