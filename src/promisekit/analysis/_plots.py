"""Plots of a :class:`~promisekit.analysis.PromiseBook`: satisfaction, lateness, keep rates.

Each function takes a :class:`~promisekit.analysis.PromiseBook` or the DataFrame of its
:meth:`~promisekit.analysis.PromiseBook.outcomes`, and an optional matplotlib ``Axes``
(a new figure's when ``None``), and returns the ``Axes`` it drew on. matplotlib is
imported only when a plot is drawn (the ``plot`` extra); no backend is selected here.

Durations are drawn in business time when the book has a calendar (its
``business_lateness`` column is filled), real time otherwise, in the unit of the
promises' typical window: minutes for promises under an hour, hours up to two days
(always in business time), days beyond. Axes are clipped to the bulk of the data;
the values beyond are pooled in the edge bars and counted in the plot.

.. versionadded:: 0.1.0
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from promisekit._plotting import get_axes, label_axes
from promisekit.analysis._columns import require_pandas
from promisekit.analysis._intervals import error_bars, keep_intervals
from promisekit.analysis._plot_data import (
    closed_mask,
    lateness_in,
    outcomes_frame,
    response_us,
)
from promisekit.analysis._plot_fever import _fever_zone, plot_fever_chart  # noqa: F401
from promisekit.analysis._units import Unit, column_unit, number
from promisekit.errors import InsufficientDataError, InvalidValueError

__all__ = [
    "plot_fairness",
    "plot_fever_chart",
    "plot_keep_rate_over_time",
    "plot_lateness_distribution",
    "plot_satisfaction_vs_lateness",
]

_LABELS = ("kind", "segment", "owner")
_METRICS = ("keep_rate", "response")
_ON_TIME, _LATE, _HIGHLIGHT, _OTHER = "tab:green", "tab:red", "tab:orange", "tab:blue"
_STEPS = (1, 2, 3, 5, 6, 7, 10, 12, 14, 15, 24, 30, 60, 90)
_MAX_BINS = 24
_frame = outcomes_frame  # the name the fever chart tests and older imports use


def _clip_range(values: Any, low_q: float = 0.005, high_q: float = 0.995) -> tuple[float, float]:
    """The bulk of ``values``, widened to include 0.

    Quantiles ``low_q`` to ``high_q``, narrowed to three interquartile ranges beyond
    the quartiles (so a few far outliers do not stretch the axis either).
    """
    q1, q3 = np.quantile(values, [0.25, 0.75])
    low = np.quantile(values, low_q, method="lower")
    high = np.quantile(values, high_q, method="higher")
    spread = 3.0 * float(q3 - q1)
    low = max(float(low), float(q1) - spread)
    high = min(float(high), float(q3) + spread)
    return min(low, 0.0), max(high, 0.0)


def _step(span: float, max_bins: int = _MAX_BINS) -> int:
    """A natural bin width (1, 2, 3, 5, 6, 7, 10… units) giving at most ``max_bins`` bins."""
    for step in _STEPS:
        if span / step <= max_bins:
            return step
    return math.ceil(span / max_bins)


def _natural_step(span: float, unit: Unit) -> float:
    """A bin width in ``unit``: ten minutes for minutes, whole hours or days, or a half
    or a quarter of one when the data span only a few units (at least six bins)."""
    if unit.name == "minutes":
        return float(10 * _step(span / 10))
    for fraction in (0.25, 0.5):
        if span / fraction <= 12:
            return fraction
    return float(_step(span))


def _late_bins(values: Any, step: float, low: float, high: float) -> tuple[Any, Any, int, int]:
    """Right-closed bins ``(a - step, a]`` aligned on 0 covering ``[low, high]``.

    Returns the bins' right edges, each value's bin index (values beyond the range in
    the edge bins), and how many values lie below / above the range.
    """
    first = math.ceil(low / step) if low < 0 else 0
    last = max(math.ceil(high / step), 1 if high > 0 else 0)
    rights = np.arange(first, last + 1) * step
    index = np.ceil(values / step).astype(np.int64) - first
    below = int((index < 0).sum())
    above = int((index > len(rights) - 1).sum())
    return rights, np.clip(index, 0, len(rights) - 1), below, above


def _beyond(below: int, above: int, rights: Any, step: float, unit: Unit) -> str:
    """The note counting the values pooled in the edge bins ("" when none)."""
    parts = []
    if below:
        parts.append(f"{below} earlier than {number(rights[0] - step)} {unit.symbol}")
    if above:
        parts.append(f"{above} later than {number(rights[-1] - step, signed=True)} {unit.symbol}")
    return " and ".join(parts) + " pooled in the edge bars" if parts else ""


def _note(ax: Any, text: str) -> None:
    if text:
        ax.text(
            0.01,
            0.98,
            text,
            transform=ax.transAxes,
            ha="left",
            va="top",
            fontsize="small",
            color="0.3",
        )


def plot_satisfaction_vs_lateness(book: Any, *, ax: Any = None) -> Any:
    """Mean satisfaction score per lateness bin, bins in the unit of the promises.

    Closed promises with a score are grouped by lateness in bins of a natural width
    (one day, one hour, ten minutes… per bin, in the unit of the promises' typical
    window) aligned on the due date, each bin ``(a - width, a]``: the bin ending at 0
    holds the promises completed on time at the last moment, the next one those just
    late, so a cliff at the promise shows as a step between a green and a red bar.
    Each bar is the mean score of its bin with a 95 % interval (mean ± 1.96 standard
    errors) and its number of promises; values beyond the bulk of the data (0.5 % and
    99.5 % quantiles, at most three interquartile ranges beyond the quartiles) are
    pooled in the edge bars and counted.

    Args:
        book: A :class:`~promisekit.analysis.PromiseBook` or its ``outcomes()`` DataFrame.
        ax: The matplotlib ``Axes`` to draw on, or ``None`` for a new figure.

    Returns:
        The ``Axes``.

    Raises:
        InsufficientDataError: the book has no scores, or no closed promise has one.
        InvalidTypeError: ``book`` or ``ax`` has the wrong type.
        MissingDependencyError: matplotlib or pandas is not installed.

    .. versionadded:: 0.1.0
    """
    feature = "plot_satisfaction_vs_lateness()"
    frame = outcomes_frame(book, feature)
    if "score" not in frame.columns:
        raise InsufficientDataError("the book has no satisfaction scores to plot")
    late, unit, business = lateness_in(frame)
    score = frame["score"].to_numpy(dtype=float)
    keep = closed_mask(frame) & ~np.isnan(late) & ~np.isnan(score)
    if not keep.any():
        raise InsufficientDataError("no closed promise has a satisfaction score to plot")
    x, y = late[keep], score[keep]
    low, high = _clip_range(x)
    step = _natural_step(high - low, unit)
    rights, index, below, above = _late_bins(x, step, low, high)
    n = np.bincount(index, minlength=len(rights))
    sums = np.bincount(index, weights=y, minlength=len(rights))
    squares = np.bincount(index, weights=y * y, minlength=len(rights))
    shown = n > 0
    mean = np.where(shown, sums / np.maximum(n, 1), np.nan)
    var = np.where(n > 1, (squares - n * mean**2) / np.maximum(n - 1, 1), 0.0)
    half = 1.96 * np.sqrt(np.maximum(var, 0.0) / np.maximum(n, 1))
    ax = get_axes(ax, feature=feature)
    centres = rights - step / 2
    colours = [_ON_TIME if r <= 0 else _LATE for r in rights]
    # from just below the scale (1 on a 1-5 scale), so bar heights compare honestly
    bottom = min(math.floor(float(np.nanmin(y))), 1) - 0.5
    ax.bar(
        centres[shown],
        (mean - bottom)[shown],
        bottom=bottom,
        width=0.9 * step,
        color=[c for c, s in zip(colours, shown, strict=True) if s],
        alpha=0.8,
        yerr=half[shown],
        capsize=3,
    )
    for c, m, h, count in zip(centres[shown], mean[shown], half[shown], n[shown], strict=True):
        ax.annotate(
            f"n={count}",
            (c, m + h),
            textcoords="offset points",
            xytext=(0, 3),
            ha="center",
            fontsize="x-small",
            color="0.3",
        )
    ax.axvline(0.0, color="0.3", linewidth=1.0, linestyle="--", label="due")
    top = float(np.nanmax(mean + half)) if shown.any() else 1.0
    ax.set_ylim(bottom, max(top + 0.15 * (top - bottom), math.ceil(float(np.nanmax(y))) + 0.3))
    clock = unit.label(business)
    _note(ax, _beyond(below, above, rights, step, unit))
    return label_axes(
        ax,
        xlabel=f"lateness ({clock}; negative = early; bars of {number(step)} {unit.symbol}, "
        f"green on time, red late)",
        ylabel="mean satisfaction score",
        title=f"Satisfaction vs lateness ({len(y)} scored promises)",
        legend="upper right",
    )


def plot_lateness_distribution(book: Any, *, ax: Any = None, bins: int = 40) -> Any:
    """Histogram of the lateness of closed promises, with the due date marked at 0.

    Lateness is drawn in the unit of the promises' typical window (days for promises
    days long); bins are aligned on the due date (each ``(a - width, a]``, on-time bins
    green and late ones red). The axis covers the bulk of the data (0.5 % to 99.5 %
    quantiles, at most three interquartile ranges beyond the quartiles, and 0):
    values beyond are pooled in the edge bars and counted.

    Args:
        book: A :class:`~promisekit.analysis.PromiseBook` or its ``outcomes()`` DataFrame.
        ax: The matplotlib ``Axes`` to draw on, or ``None`` for a new figure.
        bins: Most bins over the clipped range (``>= 1``).

    Returns:
        The ``Axes``.

    Raises:
        InsufficientDataError: no promise is closed.
        InvalidValueError: ``bins < 1``.
        InvalidTypeError: ``book`` or ``ax`` has the wrong type.
        MissingDependencyError: matplotlib or pandas is not installed.

    .. versionadded:: 0.1.0
    """
    feature = "plot_lateness_distribution()"
    if isinstance(bins, bool) or not isinstance(bins, int) or bins < 1:
        raise InvalidValueError(f"'bins' must be an int >= 1 (got {bins!r})")
    frame = outcomes_frame(book, feature)
    late, unit, business = lateness_in(frame)
    values = late[closed_mask(frame) & ~np.isnan(late)]
    if len(values) == 0:
        raise InsufficientDataError("no closed promise: no lateness to plot")
    low, high = _clip_range(values)
    step = (high - low) / bins if high > low else 1.0
    rights, index, below, above = _late_bins(values, step, low, high)
    counts = np.bincount(index, minlength=len(rights))
    ax = get_axes(ax, feature=feature)
    colours = [_ON_TIME if r <= 0 else _LATE for r in rights]
    ax.bar(rights - step, counts, width=step, align="edge", color=colours, alpha=0.8)
    ax.axvline(0.0, color="0.3", linewidth=1.0, linestyle="--", label="due")
    _note(ax, _beyond(below, above, rights, step, unit))
    late_share = float(np.mean(values > 0))
    return label_axes(
        ax,
        xlabel=f"lateness ({unit.label(business)}; negative = early)",
        ylabel="closed promises",
        title=f"Lateness of {len(values)} closed promises ({100 * late_share:.0f} % after due)",
        legend="upper right",
    )


_PERIODS = {
    "D": ("D", "day", "%a %d %b"),
    "W": ("W", "week", "%d %b %Y"),
    "M": ("M", "month", "%b %Y"),
}


def plot_keep_rate_over_time(book: Any, *, ax: Any = None, freq: str | None = None) -> Any:
    """Keep rate of the decided promises (no longer pending) per period of their due date.

    One point per period with promises, with its 95 % Wilson interval and its number
    of decided promises written above it (as grey bars on a second axis when there
    are more than 16 periods); periods without any are left empty.

    Args:
        book: A :class:`~promisekit.analysis.PromiseBook` or its ``outcomes()`` DataFrame.
        ax: The matplotlib ``Axes`` to draw on, or ``None`` for a new figure.
        freq: ``"D"`` (day), ``"W"`` (week) or ``"M"`` (month); ``None`` picks from the
            span of due dates.

    Returns:
        The ``Axes``.

    Raises:
        InsufficientDataError: no promise is decided.
        InvalidValueError: an unknown ``freq``.
        InvalidTypeError: ``book`` or ``ax`` has the wrong type.
        MissingDependencyError: matplotlib or pandas is not installed.

    .. versionadded:: 0.1.0
    """
    feature = "plot_keep_rate_over_time()"
    if freq is not None and freq not in _PERIODS:
        raise InvalidValueError(f"'freq' must be 'D', 'W', 'M' or None (got {freq!r})")
    pd = require_pandas(feature)
    frame = outcomes_frame(book, feature)
    decided = frame[frame["status"].astype(str) != "pending"]
    if len(decided) == 0:
        raise InsufficientDataError("no decided promise: no keep rate to plot")
    due = decided["due"]
    if freq is None:
        span = due.max() - due.min()
        freq = "D" if span.days <= 45 else "W" if span.days <= 365 else "M"
    code, name, fmt = _PERIODS[freq]
    local = due.dt.tz_localize(None) if due.dt.tz is not None else due
    period = local.dt.to_period(code)
    every = pd.period_range(period.min(), period.max(), freq=period.dt.freq)
    kept = decided["status"].astype(str).eq("kept").to_numpy()
    position = np.asarray(every.searchsorted(period.to_numpy()), dtype=np.int64)
    n = np.bincount(position, minlength=len(every))
    k = np.bincount(position, weights=kept, minlength=len(every)).astype(np.int64)
    has = n > 0
    rate, lower, upper = keep_intervals(k[has], n[has])
    xs = np.flatnonzero(has)
    ax = get_axes(ax, feature=feature)
    line = np.full(len(every), np.nan)
    line[has] = 100 * rate
    ax.plot(np.arange(len(every)), line, color=_OTHER, linewidth=1.0)  # broken at gaps
    ax.errorbar(
        xs,
        100 * rate,
        yerr=100 * error_bars(rate, lower, upper),
        marker="o",
        color=_OTHER,
        capsize=3,
        linestyle="none",
        label="keep rate (95 % interval)",
    )
    if len(xs) <= 16:
        for x, top, count in zip(xs, 100 * upper, n[has], strict=True):
            ax.annotate(
                f"n={count}",
                (x, top),
                textcoords="offset points",
                xytext=(0, 3),
                ha="center",
                fontsize="small",
                color="0.3",
                va="bottom",
            )
    else:  # too many points to label: n as grey bars on a second axis
        counts = ax.twinx()
        counts.bar(xs, n[has], width=0.8, color="0.6", alpha=0.35, zorder=0)
        counts.set_ylim(0, 3.5 * float(n.max()))
        counts.set_ylabel("decided promises (n, grey bars)", color="0.4")
        counts.tick_params(axis="y", colors="0.4", labelsize="small")
        ax.set_zorder(counts.get_zorder() + 1)
        ax.patch.set_visible(False)
    overall = float(kept.mean())
    ax.axhline(100 * overall, color="0.5", linestyle="--", linewidth=0.8, label="overall")
    ax.set_ylim(0, 118)
    shown = max(1, math.ceil(len(every) / 8))
    ticks = list(range(0, len(every), shown))
    ax.set_xticks(ticks, [every[i].start_time.strftime(fmt) for i in ticks], fontsize="small")
    ax.set_xlim(-0.6, len(every) - 0.4)
    label_axes(
        ax,
        xlabel=f"due date ({name}{' starting' if code == 'W' else ''})",
        ylabel="keep rate (% of decided promises)",
        title=f"Keep rate per {name} (overall {100 * overall:.1f} % of {len(kept)} decided)",
        legend="lower left",
    )
    return ax


def plot_fairness(
    book: Any,
    by: str = "segment",
    *,
    ax: Any = None,
    metric: str = "keep_rate",
    highlight: str | None = None,
) -> Any:
    """Keep rate (or median response) per group, sorted, one group highlighted.

    With ``metric="keep_rate"``, bars are the keep rates (kept / decided) of each group
    of ``by``, sorted from the least kept, with 95 % Wilson intervals; with
    ``metric="response"``, bars are the median response times (made to completed, in
    business time with a calendar), sorted from the slowest. The dashed line is the
    overall value; ``highlight`` (e.g. the group a fairness audit flagged) is drawn in
    another colour. Each group's label carries its size and median response. More
    than six groups are drawn as horizontal bars. For the permutation test, see
    :meth:`PromiseBook.fairness <promisekit.analysis.PromiseBook.fairness>`.

    Args:
        book: A :class:`~promisekit.analysis.PromiseBook` or its ``outcomes()`` DataFrame.
        by: The label column compared: ``"segment"``, ``"kind"`` or ``"owner"``.
        ax: The matplotlib ``Axes`` to draw on, or ``None`` for a new figure.
        metric: ``"keep_rate"`` or ``"response"``.
        highlight: A group to highlight, or ``None``.

    Returns:
        The ``Axes``.

    Raises:
        InvalidValueError: an unknown ``by`` or ``metric``.
        InsufficientDataError: no decided promise has a value of ``by`` (no completed
            one, for ``metric="response"``).
        InvalidTypeError: ``book`` or ``ax`` has the wrong type.
        MissingDependencyError: matplotlib or pandas is not installed.

    .. versionadded:: 0.1.0
    """
    feature = "plot_fairness()"
    if by not in _LABELS:
        raise InvalidValueError(f"'by' must be one of {', '.join(_LABELS)} (got {by!r})")
    if metric not in _METRICS:
        raise InvalidValueError(f"'metric' must be one of {', '.join(_METRICS)} (got {metric!r})")
    frame = outcomes_frame(book, feature)
    if by not in frame.columns:
        raise InvalidValueError(f"the outcomes have no {by!r} column")
    status = frame["status"].astype(str)
    labels = frame[by].astype(object).where(frame[by].notna(), "(none)").astype(str).to_numpy()
    decided = (status != "pending").to_numpy()
    kept = (status == "kept").to_numpy()
    response, business = response_us(frame)
    groups = sorted(set(labels[decided]))
    if not groups:
        raise InsufficientDataError(f"no decided promise: no keep rate by {by!r} to plot")
    unit = column_unit(response[~np.isnan(response)].tolist(), business=business)

    ns = np.array([int((labels[decided] == g).sum()) for g in groups])
    ks = np.array([int((labels[decided & kept] == g).sum()) for g in groups])
    medians = np.array(
        [
            float(np.median(v))
            if len(v := response[(labels == g) & ~np.isnan(response)])
            else np.nan
            for g in groups
        ]
    )
    rate, lower, upper = keep_intervals(ks, ns)
    if metric == "keep_rate":
        order = np.lexsort((np.array(groups), rate))
        values = 100 * rate
        yerr: Any = 100 * error_bars(rate, lower, upper)
        overall = 100 * float(kept[decided].mean())
        axis_label = "keep rate (% of decided promises, 95 % interval)"
        title = f"Keep rate by {by}"
    else:
        if np.isnan(medians).all():
            raise InsufficientDataError(f"no completed promise: no response time by {by!r}")
        order = np.lexsort((np.array(groups), -np.nan_to_num(medians, nan=-np.inf)))
        values = medians / unit.us
        yerr = None
        overall = float(np.nanmedian(response)) / unit.us
        axis_label = f"median response ({unit.label(business)})"
        title = f"Median response by {by}"
    names = [
        f"{groups[i]}\n(n={ns[i]}, median response "
        f"{'n/a' if np.isnan(medians[i]) else unit.text(medians[i])})"
        for i in order
    ]
    colours = [_HIGHLIGHT if groups[i] == highlight else _OTHER for i in order]
    if highlight is not None and highlight in groups:
        title += f" ({highlight!s} highlighted)"
    ax = get_axes(ax, feature=feature)
    positions = np.arange(len(groups))
    errors = None if yerr is None else yerr[:, order]
    if len(groups) > 6:
        ax.barh(positions, values[order], xerr=errors, capsize=3, color=colours, alpha=0.85)
        ax.axvline(overall, color="0.4", linestyle="--", linewidth=0.8, label="overall")
        ax.set_yticks(positions, [n.replace("\n", " ") for n in names], fontsize="x-small")
        ax.invert_yaxis()
        if metric == "keep_rate":
            ax.set_xlim(0, 105)
        return label_axes(ax, xlabel=axis_label, ylabel=by, title=title)
    ax.bar(positions, values[order], yerr=errors, capsize=4, color=colours, alpha=0.85)
    ax.axhline(overall, color="0.4", linestyle="--", linewidth=0.8, label="overall")
    ax.set_xticks(positions, names, fontsize="small")
    if metric == "keep_rate":
        ax.set_ylim(0, 105)
    return label_axes(ax, xlabel=by, ylabel=axis_label, title=title)
