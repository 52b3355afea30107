"""Plots of a PromiseBook: titles, units, labels, errors (Agg backend)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import matplotlib
import pytest

from promisekit.analysis import PromiseBook
from promisekit.analysis._plots import (
    plot_fairness,
    plot_keep_rate_over_time,
    plot_lateness_distribution,
    plot_satisfaction_vs_lateness,
)
from promisekit.datasets import callback_centre_history, callback_centre_promises, montreal_calendar
from promisekit.errors import InsufficientDataError, InvalidTypeError, InvalidValueError


@pytest.fixture(autouse=True)
def agg() -> Iterator[Any]:
    """A non-interactive backend, and no figure left open after a test."""
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    yield plt
    plt.close("all")


@pytest.fixture(scope="module")
def book() -> PromiseBook:
    rows = callback_centre_history(600, seed=3, as_frame=False)
    return PromiseBook.from_frame(rows, calendar=montreal_calendar())


@pytest.fixture(scope="module")
def small() -> PromiseBook:
    return PromiseBook.from_history(callback_centre_promises(n=12))


def test_satisfaction_vs_lateness(book: PromiseBook) -> None:
    ax = plot_satisfaction_vs_lateness(book)
    assert ax.get_title() == "Satisfaction vs lateness (595 scored promises)"
    assert "business hours" in ax.get_xlabel() and "bars of 0.25 h" in ax.get_xlabel()
    assert ax.get_ylabel() == "mean satisfaction score"
    bars = ax.patches
    assert bars and all(abs(b.get_width() - 0.9 * 0.25) < 1e-9 for b in bars)
    # bins (a - 15 min, a] aligned on the due date: on time green, late red
    rights = sorted(round(b.get_x() + b.get_width() / 2 + 0.125, 6) for b in bars)
    assert all(abs(4 * x - round(4 * x)) < 1e-6 for x in rights)
    texts = [t.get_text() for t in ax.texts]
    assert sum(int(t[2:]) for t in texts if t.startswith("n=")) == 595


def test_satisfaction_cliff_at_the_promise_in_days() -> None:
    """Promises days long: bins of one day; the score drops in the first late day."""
    import numpy as np
    import pandas as pd

    t = pd.Timestamp("2026-03-02 09:00", tz="UTC")
    rng = np.random.default_rng(1)
    late_days = np.round(rng.uniform(-6, 4, 400), 4)
    made = [t] * 400
    due = [t + pd.Timedelta(days=10)] * 400
    done = [due[0] + pd.Timedelta(minutes=round(float(x) * 1440)) for x in late_days]
    score = np.where(late_days <= 0, 4.5, 2.0)
    frame = pd.DataFrame({"made_at": made, "due": due, "completed_at": done, "score": score})
    book = PromiseBook.from_frame(frame, now=t + pd.Timedelta(days=30))
    ax = plot_satisfaction_vs_lateness(book)
    assert "days" in ax.get_xlabel() and "bars of 1 d" in ax.get_xlabel()
    heights = {
        round(b.get_x() + b.get_width() / 2, 2): b.get_y() + b.get_height() for b in ax.patches
    }
    assert heights[-0.5] == pytest.approx(4.5) and heights[0.5] == pytest.approx(2.0)
    assert "days" in plot_lateness_distribution(book).get_xlabel()


def test_lateness_outliers_are_clipped_and_counted() -> None:
    import pandas as pd

    t = pd.Timestamp("2026-03-02 09:00", tz="UTC")
    late = [pd.Timedelta(minutes=m) for m in range(-50, 50)] + [pd.Timedelta(days=30)] * 3
    frame = pd.DataFrame(
        {
            "made_at": [t] * len(late),
            "due": [t + pd.Timedelta(hours=2)] * len(late),
            "completed_at": [t + pd.Timedelta(hours=2) + x for x in late],
        }
    )
    book = PromiseBook.from_frame(frame, now=t + pd.Timedelta(days=40))
    ax = plot_lateness_distribution(book)
    right = max(b.get_x() + b.get_width() for b in ax.patches)
    assert right < 5  # hours: the 30-day outliers do not stretch the axis
    assert any("3 later than" in t.get_text() for t in ax.texts)


def test_satisfaction_needs_scores(small: PromiseBook) -> None:
    with pytest.raises(InsufficientDataError, match="no satisfaction scores"):
        plot_satisfaction_vs_lateness(small)


def test_lateness_distribution(book: PromiseBook, agg: Any) -> None:
    _, given = agg.subplots()
    ax = plot_lateness_distribution(book, ax=given, bins=10)
    assert ax is given
    assert ax.get_title().startswith("Lateness of ")
    assert "closed promises" in ax.get_title()
    assert "business hours" in ax.get_xlabel()
    assert ax.get_ylabel() == "closed promises"
    assert 10 <= len(ax.patches) <= 11  # bins aligned on the due date
    colours = {tuple(b.get_facecolor())[:3] for b in ax.patches}
    assert len(colours) == 2  # on time and late


def test_lateness_real_time_from_frame() -> None:
    history = callback_centre_promises(n=12)
    book = PromiseBook.from_records(history.promises, history.deliveries, now=history.now)
    ax = plot_lateness_distribution(book.outcomes())
    assert ax.get_xlabel().startswith("lateness (hours;")


def test_lateness_bad_bins(small: PromiseBook) -> None:
    with pytest.raises(InvalidValueError, match="'bins'"):
        plot_lateness_distribution(small, bins=0)


def test_keep_rate_over_time(book: PromiseBook, small: PromiseBook) -> None:
    ax = plot_keep_rate_over_time(book)
    assert ax.get_title().startswith("Keep rate per ")
    assert ax.get_ylabel() == "keep rate (% of decided promises)"
    assert ax.get_xlabel().startswith("due date (")
    assert ax.get_title().endswith(" decided)")
    # more than 16 weeks: n per point as grey bars on a second axis
    (counts,) = [other for other in ax.figure.axes if other is not ax]
    assert sum(b.get_height() for b in counts.patches) == 600  # overdue ones count too
    small_ax = plot_keep_rate_over_time(small, freq="D")
    labels = [int(t.get_text()[2:]) for t in small_ax.texts if t.get_text().startswith("n=")]
    assert sum(labels) == 11  # few points: n written above each
    assert plot_keep_rate_over_time(small, freq="D").get_xlabel() == "due date (day)"
    with pytest.raises(InvalidValueError, match="'freq'"):
        plot_keep_rate_over_time(small, freq="Y")


@pytest.mark.parametrize("by", ["segment", "kind", "owner"])
def test_fairness(book: PromiseBook, by: str) -> None:
    frame = book.outcomes()
    ax = plot_fairness(frame, by=by)
    assert ax.get_title() == f"Keep rate by {by}"
    horizontal = len(set(frame[by].dropna().astype(str))) > 6
    assert (ax.get_ylabel() if horizontal else ax.get_xlabel()) == by
    assert "keep rate" in (ax.get_xlabel() if horizontal else ax.get_ylabel())
    groups = set(frame[by].dropna().astype(str))
    assert len(ax.patches) == len(groups)
    ticks = ax.get_yticklabels() if horizontal else ax.get_xticklabels()
    labels = [t.get_text() for t in ticks]
    assert all("median response" in label for label in labels)


def test_fairness_sorted_and_highlighted(book: PromiseBook) -> None:
    ax = plot_fairness(book, by="segment", highlight="gold")
    heights = [b.get_height() for b in ax.patches]
    assert heights == sorted(heights)  # from the least kept
    colours = [tuple(b.get_facecolor()) for b in ax.patches]
    assert len(set(colours)) == 2
    assert "(gold highlighted)" in ax.get_title()
    ax = plot_fairness(book, by="segment", metric="response")
    assert ax.get_title() == "Median response by segment"
    heights = [b.get_height() for b in ax.patches]
    assert heights == sorted(heights, reverse=True)  # from the slowest
    assert "business" in ax.get_ylabel()


def test_fairness_many_groups_are_horizontal() -> None:
    import pandas as pd

    t = pd.Timestamp("2026-03-02 09:00", tz="UTC")
    n = 27 * 4
    frame = pd.DataFrame(
        {
            "made_at": [t] * n,
            "due": [t + pd.Timedelta(days=5)] * n,
            "completed_at": [t + pd.Timedelta(days=3 + i % 4) for i in range(n)],
            "segment": [f"S{i % 27:02d}" for i in range(n)],
        }
    )
    ax = plot_fairness(PromiseBook.from_frame(frame, now=t + pd.Timedelta(days=9)))
    assert len(ax.get_yticklabels()) == 27
    assert ax.get_ylabel() == "segment"


def test_fairness_bad_by(small: PromiseBook) -> None:
    with pytest.raises(InvalidValueError, match="'by'"):
        plot_fairness(small, by="customer")
    with pytest.raises(InvalidValueError, match="'metric'"):
        plot_fairness(small, metric="speed")


def test_bad_inputs(small: PromiseBook) -> None:
    with pytest.raises(InvalidTypeError, match="'book'"):
        plot_lateness_distribution([1, 2, 3])
    with pytest.raises(InvalidTypeError, match="'ax'"):
        plot_lateness_distribution(small, ax="axes")
    frame = small.outcomes().drop(columns=["status"])
    with pytest.raises(InvalidValueError, match="status"):
        plot_keep_rate_over_time(frame)


# ----------------------------------------------------------------------------- fever chart


def test_fever_zone_geometry() -> None:
    from promisekit.analysis._plots import _fever_zone

    x = [0.0, 0.0, 0.0, 0.5, 0.49, 0.99, 1.0, 1.0, 1.0]
    y = [0.0, 0.34, 0.67, 0.5, 0.49, 0.99, 0.6, 0.7, 1.0]
    assert _fever_zone(x, y).tolist() == [0, 1, 2, 1, 0, 1, 0, 1, 2]


def _fever_book() -> PromiseBook:
    from datetime import datetime, timedelta, timezone

    from promisekit import Delivery, Promise

    t0 = datetime(2026, 3, 2, 14, 0, tzinfo=timezone.utc)
    h = timedelta(hours=1)
    promises = [
        Promise(id="G", customer_id="c", kind="callback", made_at=t0, due=t0 + 10 * h),
        Promise(id="Y", customer_id="c", kind="callback", made_at=t0 - 2 * h, due=t0 + 2 * h),
        Promise(id="R", customer_id="c", kind="callback", made_at=t0 - 4 * h, due=t0 + h),
        Promise(id="D", customer_id="c", kind="callback", made_at=t0 - 4 * h, due=t0 + h),
    ]
    deliveries = [Delivery(promise_id="D", at=t0)]
    return PromiseBook.from_records(promises, deliveries, now=t0 + 4 * h)


def test_plot_fever_chart_book(agg: Any) -> None:
    from promisekit.analysis._plots import plot_fever_chart

    book = _fever_book()
    ax = plot_fever_chart(book)
    # G: 40 % elapsed (green); Y: 6/4 of its window -> overdue (red); R: 8/5 (red).
    assert ax.get_title() == "Fever chart of 3 open promises (1 green, 0 yellow, 2 red)"
    assert "real time" in ax.get_xlabel()
    assert ax.get_ylabel() == "share of the buffer consumed"
    offsets = [c.get_offsets() for c in ax.collections if type(c).__name__ == "PathCollection"]
    points = sorted((round(float(x), 3), round(float(y), 3)) for o in offsets for x, y in o)
    assert points == [(0.4, 0.4), (1.5, 1.5), (1.5, 1.5)]  # capped at 1.5
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["green (1)", "red (2)"]


def test_plot_fever_chart_now_and_ax(agg: Any) -> None:
    from datetime import timedelta

    from promisekit.analysis._plots import plot_fever_chart

    book = _fever_book()
    _, ax = agg.subplots()
    # An hour after G was made (D was delivered by then): G 10 % (green), Y 75 %
    # (yellow), R 100 % of its window: on the red line, so red.
    now = book.now - timedelta(hours=3)
    assert plot_fever_chart(book, now=now, ax=ax) is ax
    assert ax.get_title() == "Fever chart of 3 open promises (1 green, 1 yellow, 1 red)"


def test_plot_fever_chart_business_time(agg: Any) -> None:
    from promisekit.analysis._plots import plot_fever_chart

    book = PromiseBook.from_history(callback_centre_promises(n=60, seed=2))
    ax = plot_fever_chart(book)
    assert "business time" in ax.get_xlabel()
    assert ax.get_title().startswith("Fever chart of ")


def test_plot_fever_chart_frame_with_target(agg: Any) -> None:
    import pandas as pd

    from promisekit.analysis._plots import plot_fever_chart

    t0 = pd.Timestamp("2026-03-02T14:00:00Z")
    h = pd.Timedelta(hours=1)
    frame = pd.DataFrame(
        {
            "made_at": [t0, t0],
            "due": [t0 + 10 * h, t0 + 10 * h],
            "target": [t0 + 6 * h, pd.NaT],
            "completed_at": [pd.NaT, pd.NaT],
            "status": ["pending", "pending"],
            "lateness": pd.to_timedelta([pd.NaT, pd.NaT]),
        },
        index=pd.Index(["T", "N"], name="promise_id"),
    )
    # At 9 h: T used 3/4 of its buffer (target 6 h, due 10 h); N (no target) used
    # 90 % of its window: both yellow.
    ax = plot_fever_chart(frame, now=t0 + 9 * h)
    offsets = [c.get_offsets() for c in ax.collections if type(c).__name__ == "PathCollection"]
    points = sorted((round(float(x), 3), round(float(y), 3)) for o in offsets for x, y in o)
    assert points == [(0.9, 0.75), (0.9, 0.9)]
    assert "(0 green, 2 yellow, 0 red)" in ax.get_title()
    # Before the target nothing of T's buffer is consumed: green.
    ax = plot_fever_chart(frame, now=t0 + 2 * h)
    assert "(2 green, 0 yellow, 0 red)" in ax.get_title()
    frame.attrs["now"] = (t0 + 2 * h).to_pydatetime()
    assert "(2 green," in plot_fever_chart(frame).get_title()


def test_plot_fever_chart_errors(agg: Any) -> None:
    import pandas as pd

    from promisekit.analysis._plots import plot_fever_chart

    book = _fever_book()
    with pytest.raises(InsufficientDataError):
        plot_fever_chart(book, now=book.now - pd.Timedelta(hours=9))  # nothing made yet
    frame = book.outcomes()
    assert frame.attrs["now"] == book.now  # a book's outcomes carry their now
    frame.attrs.clear()
    with pytest.raises(InvalidValueError):
        plot_fever_chart(frame)  # a DataFrame without attrs["now"]
    with pytest.raises(InvalidTypeError):
        plot_fever_chart([1, 2, 3])
