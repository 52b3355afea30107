"""Plots of a :class:`~promisekit.analysis.PromiseBook`: satisfaction, lateness, keep rates.

Each function takes a :class:`~promisekit.analysis.PromiseBook` or the DataFrame of its
:meth:`~promisekit.analysis.PromiseBook.outcomes`, and an optional matplotlib ``Axes``
(a new figure's when ``None``), and returns the ``Axes`` it drew on. matplotlib is
imported only when a plot is drawn (the ``plot`` extra); no backend is selected here.

Durations are drawn in hours: business hours when the book has a calendar (its
``business_lateness`` column is filled), real hours otherwise.

.. versionadded:: 0.1.0
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from promisekit._plotting import get_axes
from promisekit.analysis._book import PromiseBook
from promisekit.analysis._columns import require_pandas
from promisekit.errors import InsufficientDataError, InvalidTypeError, InvalidValueError

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "plot_fairness",
    "plot_keep_rate_over_time",
    "plot_lateness_distribution",
    "plot_satisfaction_vs_lateness",
]

_CLOSED = ("kept", "late", "short")
_LABELS = ("kind", "segment", "owner")
_HOUR_US = 3_600_000_000


def _frame(data: Any, feature: str) -> pd.DataFrame:
    """The outcomes DataFrame of a book (or the DataFrame itself)."""
    pandas = require_pandas(feature)
    if isinstance(data, PromiseBook):
        return data.outcomes()
    if isinstance(data, pandas.DataFrame):
        missing = [c for c in ("status", "lateness", "due") if c not in data.columns]
        if missing:
            raise InvalidValueError(
                f"'book' must be a PromiseBook or its outcomes() DataFrame "
                f"(missing columns: {', '.join(missing)})"
            )
        return data
    raise InvalidTypeError(
        f"'book' must be a PromiseBook or its outcomes() DataFrame (got {type(data).__name__})"
    )


def _lateness_hours(frame: pd.DataFrame) -> tuple[Any, str]:
    """Lateness in hours (business when available) and the unit label."""
    business = frame["business_lateness"] if "business_lateness" in frame.columns else None
    if business is not None and bool(business.notna().any()):
        column, unit = business, "business hours"
    else:
        column, unit = frame["lateness"], "hours"
    values = column.to_numpy(dtype="timedelta64[us]").astype(np.int64)
    hours = np.where(np.isnat(column.to_numpy(dtype="timedelta64[us]")), np.nan, values / _HOUR_US)
    return hours, unit


def _closed(frame: pd.DataFrame) -> Any:
    return frame["status"].astype(str).isin(_CLOSED).to_numpy()


def plot_satisfaction_vs_lateness(book: Any, *, ax: Any = None) -> Any:
    """Satisfaction score against lateness, one point per closed promise with a score.

    A point per promise (slightly jittered vertically, scores being whole numbers)
    and the mean score per lateness bin as a line; negative lateness is early.

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
    frame = _frame(book, feature)
    if "score" not in frame.columns:
        raise InsufficientDataError("the book has no satisfaction scores to plot")
    hours, unit = _lateness_hours(frame)
    score = frame["score"].to_numpy(dtype=float)
    keep = _closed(frame) & ~np.isnan(hours) & ~np.isnan(score)
    if not keep.any():
        raise InsufficientDataError("no closed promise has a satisfaction score to plot")
    x, y = hours[keep], score[keep]
    ax = get_axes(ax, feature=feature)
    jitter = np.random.default_rng(0).uniform(-0.12, 0.12, len(y))
    ax.scatter(x, y + jitter, s=8, alpha=0.35, color="tab:blue", label="promise")
    bins = np.unique(np.quantile(x, np.linspace(0, 1, min(11, len(x) + 1))))
    if len(bins) > 1:
        which = np.clip(np.searchsorted(bins, x, side="right") - 1, 0, len(bins) - 2)
        centres, means = [], []
        for b in range(len(bins) - 1):
            mask = which == b
            if mask.any():
                centres.append(float(np.median(x[mask])))
                means.append(float(y[mask].mean()))
        ax.plot(centres, means, color="tab:red", marker="o", label="mean score per bin")
    ax.axvline(0.0, color="0.5", linewidth=0.8, linestyle="--")
    ax.set_xlabel(f"lateness ({unit}; negative = early)")
    ax.set_ylabel("satisfaction score")
    ax.set_title("Satisfaction vs lateness")
    ax.legend(loc="best", fontsize="small")
    return ax


def plot_lateness_distribution(book: Any, *, ax: Any = None, bins: int = 40) -> Any:
    """Histogram of the lateness of closed promises, with the due date marked at 0.

    Args:
        book: A :class:`~promisekit.analysis.PromiseBook` or its ``outcomes()`` DataFrame.
        ax: The matplotlib ``Axes`` to draw on, or ``None`` for a new figure.
        bins: Number of histogram bins (``>= 1``).

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
    frame = _frame(book, feature)
    hours, unit = _lateness_hours(frame)
    values = hours[_closed(frame) & ~np.isnan(hours)]
    if len(values) == 0:
        raise InsufficientDataError("no closed promise: no lateness to plot")
    ax = get_axes(ax, feature=feature)
    ax.hist(values, bins=bins, color="tab:blue", alpha=0.8)
    ax.axvline(0.0, color="tab:red", linewidth=1.0, linestyle="--", label="due")
    late = float(np.mean(values > 0))
    ax.set_xlabel(f"lateness ({unit}; negative = early)")
    ax.set_ylabel("closed promises")
    ax.set_title(f"Lateness of {len(values)} closed promises ({100 * late:.0f} % after due)")
    ax.legend(loc="best", fontsize="small")
    return ax


def plot_keep_rate_over_time(book: Any, *, ax: Any = None, freq: str | None = None) -> Any:
    """Keep rate of the decided promises (no longer pending) per period of their due date.

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
    periods = {"D": ("D", "day"), "W": ("W", "week"), "M": ("M", "month")}
    if freq is not None and freq not in periods:
        raise InvalidValueError(f"'freq' must be 'D', 'W', 'M' or None (got {freq!r})")
    frame = _frame(book, feature)
    decided = frame[frame["status"].astype(str) != "pending"]
    if len(decided) == 0:
        raise InsufficientDataError("no decided promise: no keep rate to plot")
    due = decided["due"]
    if freq is None:
        span = due.max() - due.min()
        freq = "D" if span.days <= 45 else "W" if span.days <= 365 else "M"
    code, name = periods[freq]
    local = due.dt.tz_localize(None) if due.dt.tz is not None else due
    period = local.dt.to_period(code).dt.start_time
    kept = decided["status"].astype(str).eq("kept").to_numpy()
    grouped = (
        require_pandas(feature)
        .DataFrame({"period": period.to_numpy(), "kept": kept})
        .groupby("period")["kept"]
        .agg(["mean", "size"])
    )
    ax = get_axes(ax, feature=feature)
    ax.plot(grouped.index, 100 * grouped["mean"], marker="o", color="tab:blue")
    overall = float(kept.mean())
    ax.axhline(100 * overall, color="0.5", linestyle="--", linewidth=0.8, label="overall")
    ax.set_ylim(0, 105)
    ax.set_xlabel(f"due date ({name})")
    ax.set_ylabel("keep rate (% of decided promises)")
    ax.set_title(f"Keep rate per {name} (overall {100 * overall:.1f} %)")
    ax.legend(loc="best", fontsize="small")
    ax.figure.autofmt_xdate()
    return ax


def plot_fairness(book: Any, by: str = "segment", *, ax: Any = None) -> Any:
    """Keep rate per group with 95 % Wilson intervals, and each group's median response.

    Bars are the keep rates (kept / decided) of each group of ``by``; error bars their
    95 % Wilson score intervals; the dashed line the overall keep rate. The median
    response time (made to completed) of each group is written in its label.
    For the permutation test, see :meth:`PromiseBook.fairness
    <promisekit.analysis.PromiseBook.fairness>`.

    Args:
        book: A :class:`~promisekit.analysis.PromiseBook` or its ``outcomes()`` DataFrame.
        by: The label column compared: ``"segment"``, ``"kind"`` or ``"owner"``.
        ax: The matplotlib ``Axes`` to draw on, or ``None`` for a new figure.

    Returns:
        The ``Axes``.

    Raises:
        InvalidValueError: an unknown ``by``.
        InsufficientDataError: no decided promise has a value of ``by``.
        InvalidTypeError: ``book`` or ``ax`` has the wrong type.
        MissingDependencyError: matplotlib or pandas is not installed.

    .. versionadded:: 0.1.0
    """
    feature = "plot_fairness()"
    if by not in _LABELS:
        raise InvalidValueError(f"'by' must be one of {', '.join(_LABELS)} (got {by!r})")
    frame = _frame(book, feature)
    if by not in frame.columns:
        raise InvalidValueError(f"the outcomes have no {by!r} column")
    status = frame["status"].astype(str)
    labels = frame[by].astype(object).where(frame[by].notna(), "(none)").astype(str)
    decided = (status != "pending").to_numpy()
    kept = (status == "kept").to_numpy()
    response = _response_hours(frame)
    groups = sorted(set(labels[decided]))
    if not groups:
        raise InsufficientDataError(f"no decided promise: no keep rate by {by!r} to plot")
    rates, lows, highs, names = [], [], [], []
    unit = "business h" if response[1] else "h"
    for group in groups:
        mask = (labels == group).to_numpy()
        n = int((mask & decided).sum())
        k = int((mask & kept).sum())
        rate = k / n
        low, high = _wilson(k, n)
        rates.append(100 * rate)
        lows.append(100 * (rate - low))
        highs.append(100 * (high - rate))
        values = response[0][mask & ~np.isnan(response[0])]
        median = f"{np.median(values):.1f} {unit}" if len(values) else "n/a"
        names.append(f"{group}\n(n={n}, median response {median})")
    ax = get_axes(ax, feature=feature)
    positions = np.arange(len(groups))
    ax.bar(positions, rates, yerr=[lows, highs], capsize=4, color="tab:blue", alpha=0.8)
    overall = 100 * float(kept[decided].mean())
    ax.axhline(overall, color="0.5", linestyle="--", linewidth=0.8, label="overall")
    ax.set_xticks(positions, names, fontsize="small")
    ax.set_ylim(0, 105)
    ax.set_xlabel(by)
    ax.set_ylabel("keep rate (% of decided promises, 95 % interval)")
    ax.set_title(f"Keep rate by {by}")
    ax.legend(loc="best", fontsize="small")
    return ax


def _response_hours(frame: pd.DataFrame) -> tuple[Any, bool]:
    """Response time in hours (business when available) and whether it is business time."""
    for name, business in (("business_response", True), ("response", False)):
        if name in frame.columns:
            raw = frame[name].to_numpy(dtype="timedelta64[us]")
            if business and not (~np.isnat(raw)).any():
                continue
            hours = np.where(np.isnat(raw), np.nan, raw.astype(np.int64) / _HOUR_US)
            return hours, business
    return np.full(len(frame), np.nan), False


def _wilson(k: int, n: int, z: float = 1.959963984540054) -> tuple[float, float]:
    p = k / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)
