"""The Critical Chain fever chart of a book's open promises.

.. versionadded:: 0.1.0
"""

from __future__ import annotations

from typing import Any

import numpy as np

from promisekit._plotting import get_axes, label_axes
from promisekit._vectorized_calendar import as_instants, cum_at_many
from promisekit.analysis._book import PromiseBook
from promisekit.analysis._columns import require_pandas
from promisekit.analysis._plot_data import outcomes_frame as _frame
from promisekit.errors import InsufficientDataError, InvalidValueError

__all__ = ["plot_fever_chart"]

_NAT = np.iinfo(np.int64).min
_GREEN, _YELLOW, _RED = 0, 1, 2
_ZONE_COLOURS = ("tab:green", "gold", "tab:red")
_ZONE_NAMES = ("green", "yellow", "red")
_FEVER_MAX = 1.5


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
        target = book._cols.target
        if target is None:
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
      :class:`~promisekit.analysis.PromiseBook` uses its ``target`` column (from
      :class:`~promisekit.promise.Promise` ``target`` or the ``target`` column of a
      frame), an ``outcomes()`` DataFrame its ``target``
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
