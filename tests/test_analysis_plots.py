"""Plots of a PromiseBook: titles, units, labels, errors (Agg backend)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import matplotlib
import pytest

from promisekit.analysis import PromiseBook, datasets
from promisekit.analysis._plots import (
    plot_fairness,
    plot_keep_rate_over_time,
    plot_lateness_distribution,
    plot_satisfaction_vs_lateness,
)
from promisekit.datasets import callback_centre, montreal_calendar
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
    rows = datasets.callback_centre(600, seed=3, as_frame=False)
    return PromiseBook.from_frame(rows, calendar=montreal_calendar())


@pytest.fixture(scope="module")
def small() -> PromiseBook:
    return PromiseBook.from_history(callback_centre(n=12))


def test_satisfaction_vs_lateness(book: PromiseBook) -> None:
    ax = plot_satisfaction_vs_lateness(book)
    assert ax.get_title() == "Satisfaction vs lateness"
    assert "business hours" in ax.get_xlabel()
    assert ax.get_ylabel() == "satisfaction score"
    assert len(ax.collections) == 1 and len(ax.lines) >= 2


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
    assert len(ax.patches) == 10


def test_lateness_real_time_from_frame() -> None:
    history = callback_centre(n=12)
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
    assert plot_keep_rate_over_time(small, freq="D").get_xlabel() == "due date (day)"
    with pytest.raises(InvalidValueError, match="'freq'"):
        plot_keep_rate_over_time(small, freq="Y")


@pytest.mark.parametrize("by", ["segment", "kind", "owner"])
def test_fairness(book: PromiseBook, by: str) -> None:
    frame = book.outcomes()
    ax = plot_fairness(frame, by=by)
    assert ax.get_title() == f"Keep rate by {by}"
    assert ax.get_xlabel() == by
    assert "keep rate" in ax.get_ylabel()
    groups = set(frame[by].dropna().astype(str))
    assert len(ax.patches) == len(groups)
    labels = [t.get_text() for t in ax.get_xticklabels()]
    assert all("median response" in label for label in labels)


def test_fairness_bad_by(small: PromiseBook) -> None:
    with pytest.raises(InvalidValueError, match="'by'"):
        plot_fairness(small, by="customer")


def test_bad_inputs(small: PromiseBook) -> None:
    with pytest.raises(InvalidTypeError, match="'book'"):
        plot_lateness_distribution([1, 2, 3])
    with pytest.raises(InvalidTypeError, match="'ax'"):
        plot_lateness_distribution(small, ax="axes")
    frame = small.outcomes().drop(columns=["status"])
    with pytest.raises(InvalidValueError, match="status"):
        plot_keep_rate_over_time(frame)
