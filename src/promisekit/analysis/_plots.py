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

from typing import TYPE_CHECKING, Any

import numpy as np

from promisekit._plotting import get_axes, label_axes
from promisekit._vectorized_calendar import as_instants, cum_at_many
from promisekit.analysis._book import PromiseBook
from promisekit.analysis._columns import require_pandas
from promisekit.analysis._intervals import error_bars, keep_intervals
from promisekit.errors import InsufficientDataError, InvalidTypeError, InvalidValueError

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "plot_fairness",
    "plot_fever_chart",
    "plot_keep_rate_over_time",
    "plot_lateness_distribution",
    "plot_satisfaction_vs_lateness",
]

_CLOSED = ("kept", "late", "short")
_LABELS = ("kind", "segment", "owner")
_HOUR_US = 3_600_000_000
_NAT = np.iinfo(np.int64).min
_GREEN, _YELLOW, _RED = 0, 1, 2
_ZONE_COLOURS = ("tab:green", "gold", "tab:red")
_ZONE_NAMES = ("green", "yellow", "red")
_FEVER_MAX = 1.5


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
    return label_axes(
        ax,
        xlabel=f"lateness ({unit}; negative = early)",
        ylabel="satisfaction score",
        title="Satisfaction vs lateness",
    )


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
    return label_axes(
        ax,
        xlabel=f"lateness ({unit}; negative = early)",
        ylabel="closed promises",
        title=f"Lateness of {len(values)} closed promises ({100 * late:.0f} % after due)",
    )


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
    label_axes(
        ax,
        xlabel=f"due date ({name})",
        ylabel="keep rate (% of decided promises)",
        title=f"Keep rate per {name} (overall {100 * overall:.1f} %)",
    )
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
    ns, ks, names = [], [], []
    unit = "business h" if response[1] else "h"
    for group in groups:
        mask = (labels == group).to_numpy()
        n = int((mask & decided).sum())
        ns.append(n)
        ks.append(int((mask & kept).sum()))
        values = response[0][mask & ~np.isnan(response[0])]
        median = f"{np.median(values):.1f} {unit}" if len(values) else "n/a"
        names.append(f"{group}\n(n={n}, median response {median})")
    ax = get_axes(ax, feature=feature)
    positions = np.arange(len(groups))
    rate, lower, upper = keep_intervals(ks, ns)
    yerr = 100 * error_bars(rate, lower, upper)
    ax.bar(positions, 100 * rate, yerr=yerr, capsize=4, color="tab:blue", alpha=0.8)
    overall = 100 * float(kept[decided].mean())
    ax.axhline(overall, color="0.5", linestyle="--", linewidth=0.8, label="overall")
    ax.set_xticks(positions, names, fontsize="small")
    ax.set_ylim(0, 105)
    return label_axes(
        ax,
        xlabel=by,
        ylabel="keep rate (% of decided promises, 95 % interval)",
        title=f"Keep rate by {by}",
    )


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


def _fever_zone(elapsed: Any, consumed: Any) -> Any:
    """Zone codes (0 green, 1 yellow, 2 red) of fever-chart points.

    Green below the line ``y = (1 + x) / 3``, red above ``y = (2 + x) / 3``, yellow
    between (a point on a line belongs to the worse zone).
    """
    x = np.asarray(elapsed, dtype=float)
    y = np.asarray(consumed, dtype=float)
    zone = np.full(x.shape, _GREEN, dtype=np.int8)
    zone[y >= (1.0 + x) / 3.0] = _YELLOW
    zone[y >= (2.0 + x) / 3.0] = _RED
    return zone


def _share(numerator: Any, denominator: Any, fallback: Any) -> Any:
    """``numerator / denominator``, ``fallback`` where the denominator is not positive."""
    num = np.asarray(numerator, dtype=float)
    den = np.asarray(denominator, dtype=float)
    safe = np.where(den > 0, den, 1.0)
    return np.where(den > 0, num / safe, fallback)


def _fever_points(book: Any, now: Any) -> tuple[Any, Any, bool]:
    """Window elapsed and buffer consumed of the open promises; business time?"""
    if isinstance(book, PromiseBook):
        cols = book.columns
        made = cols.made_at.view(np.int64)
        due = cols.due.view(np.int64)
        done = cols.completed_at.view(np.int64)
        target = np.full(len(made), _NAT, dtype=np.int64)
        calendar = book.calendar
        if now is None:
            now = book.now
    else:
        frame = _frame(book, "plot_fever_chart()")
        for name in ("made_at", "completed_at"):
            if name not in frame.columns:
                raise InvalidValueError(
                    f"'book' must be a PromiseBook or its outcomes() DataFrame "
                    f"(missing columns: {name})"
                )
        made = as_instants("made_at", frame["made_at"])
        due = as_instants("due", frame["due"])
        done = as_instants("completed_at", frame["completed_at"], allow_nat=True)
        if "target" in frame.columns:
            target = as_instants("target", frame["target"], allow_nat=True)
        else:
            target = np.full(len(made), _NAT, dtype=np.int64)
        calendar = None
        if now is None:
            now = frame.attrs.get("now")
            if now is None:
                raise InvalidValueError("'now' must be given (or be frame.attrs['now'])")
    now_us = int(as_instants("now", now))
    open_ = (made <= now_us) & ((done == _NAT) | (done > now_us))
    made, due, target = made[open_], due[open_], target[open_]
    has_target = target != _NAT
    target = np.where(has_target, target, made)
    if calendar is not None:
        now_c = int(cum_at_many(calendar, np.array([now_us], dtype=np.int64))[0])
        made_c, due_c, target_c = (cum_at_many(calendar, a) for a in (made, due, target))
    else:
        now_c, made_c, due_c, target_c = now_us, made, due, target
    passed = float(now_us) >= due.astype(float)
    elapsed = _share(now_c - made_c, due_c - made_c, np.where(passed, 1.0, 0.0))
    consumed = _share(np.maximum(now_c - target_c, 0), due_c - target_c, elapsed)
    return elapsed, consumed, calendar is not None


def plot_fever_chart(book: Any, *, now: Any = None, ax: Any = None) -> Any:
    """Critical Chain fever chart of the open promises: window elapsed vs buffer consumed.

    One point per promise open at ``now`` (made by then, not completed by then):

    * x: the share of its window (made to due) elapsed at ``now``, in business time
      when the book has a calendar (real time otherwise, and always for a DataFrame);
    * y: the share of its buffer consumed at ``now``: the buffer is the time from the
      internal target to the due date (nothing is consumed before the target). A
      promise without a target, or whose target is its due date, uses its whole
      window as buffer, so its point lies on the diagonal ``y = x``. A
      :class:`~promisekit.analysis.PromiseBook` keeps no targets: every promise of a
      book is drawn without one; an ``outcomes()`` DataFrame may carry a ``target``
      column (NaT where none).

    Overdue promises lie beyond 1 on both axes; values beyond 1.5 are drawn on the
    edge, at 1.5 (their zone is that of their true values). Zones (drawn as bands): green below
    the line from ``(0, 1/3)`` to ``(1, 2/3)``, i.e. ``y < (1 + x) / 3``; red on or
    above the line from ``(0, 2/3)`` to ``(1, 1)``, i.e. ``y >= (2 + x) / 3``; yellow
    between. Early in the window a third of the buffer may go before the promise leaves
    green; at the due date, a promise that used the whole buffer is red. A promise
    without a target is green up to half its window, yellow until due, red once
    overdue.

    Args:
        book: A :class:`~promisekit.analysis.PromiseBook` or its ``outcomes()``
            DataFrame (which needs ``made_at``, ``due`` and ``completed_at``).
        now: The instant (aware datetime or ``datetime64``); default the book's ``now``
            (``frame.attrs["now"]`` for a DataFrame). Only completions the book knows
            count: a completion after the book's own ``now`` is not in it.
        ax: The matplotlib ``Axes`` to draw on, or ``None`` for a new figure.

    Returns:
        The ``Axes``.

    Raises:
        InsufficientDataError: no promise is open at ``now``.
        InvalidValueError: a required column is missing, or no ``now`` for a DataFrame.
        InvalidTypeError: ``book`` or ``ax`` has the wrong type.
        NaiveDatetimeError: ``now`` has no time zone.
        MissingDependencyError: matplotlib or pandas is not installed.

    .. versionadded:: 0.1.0
    """
    feature = "plot_fever_chart()"
    require_pandas(feature)
    if not isinstance(book, PromiseBook):
        _frame(book, feature)
    elapsed, consumed, business = _fever_points(book, now)
    if len(elapsed) == 0:
        raise InsufficientDataError("no open promise: no fever chart to plot")
    zones = _fever_zone(elapsed, consumed)
    ax = get_axes(ax, feature=feature)
    shown_x = np.minimum(elapsed, _FEVER_MAX)
    shown_y = np.minimum(consumed, _FEVER_MAX)
    right = max(1.0, float(np.max(shown_x))) + 0.05
    top = max(1.0, float(np.max(shown_y))) + 0.05
    xs = np.array([0.0, right])
    ax.fill_between(xs, 0.0, np.minimum((1.0 + xs) / 3.0, top), color="tab:green", alpha=0.15)
    ax.fill_between(
        xs,
        np.minimum((1.0 + xs) / 3.0, top),
        np.minimum((2.0 + xs) / 3.0, top),
        color="gold",
        alpha=0.2,
    )
    ax.fill_between(xs, np.minimum((2.0 + xs) / 3.0, top), top, color="tab:red", alpha=0.15)
    ax.plot(xs, (1.0 + xs) / 3.0, color="0.4", linewidth=0.8)
    ax.plot(xs, (2.0 + xs) / 3.0, color="0.4", linewidth=0.8)
    counts = []
    for code, (colour, name) in enumerate(zip(_ZONE_COLOURS, _ZONE_NAMES, strict=True)):
        mask = zones == code
        counts.append(int(mask.sum()))
        if mask.any():
            ax.scatter(
                shown_x[mask],
                shown_y[mask],
                s=14,
                color=colour,
                edgecolors="0.2",
                linewidths=0.4,
                label=f"{name} ({counts[-1]})",
            )
    ax.axvline(1.0, color="0.5", linestyle="--", linewidth=0.8)
    ax.set_xlim(0.0, right)
    ax.set_ylim(0.0, top)
    clock = "business time" if business else "real time"
    return label_axes(
        ax,
        xlabel=f"share of the promise window elapsed ({clock}; 1 = due)",
        ylabel="share of the buffer consumed",
        title=f"Fever chart of {len(elapsed)} open promises "
        f"({counts[0]} green, {counts[1]} yellow, {counts[2]} red)",
        legend="upper left",
    )
