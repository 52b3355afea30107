"""html_report(): one self-contained, escaped HTML page."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import matplotlib
import numpy as np
import pytest

from promisekit.analysis import PromiseBook
from promisekit.analysis._report import html_report
from promisekit.datasets import callback_centre_history, callback_centre_promises, montreal_calendar
from promisekit.errors import InvalidTypeError

IMG = "data:image/png;base64,"


@pytest.fixture(autouse=True)
def agg() -> Iterator[Any]:
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    yield plt
    assert plt.get_fignums() == []  # the report closes its figures
    plt.close("all")


def test_report_with_scores() -> None:
    rows = callback_centre_history(400, seed=5, as_frame=False)
    book = PromiseBook.from_frame(rows, calendar=montreal_calendar())
    page = html_report(book, title="Q1 <callbacks> & co", n_permutations=99)
    assert page.startswith("<!DOCTYPE html>")
    assert "<title>Q1 &lt;callbacks&gt; &amp; co</title>" in page
    assert "<callbacks>" not in page
    assert page.count("<table>") == 2  # summary and fairness
    assert "<th>keep_rate</th>" in page and "<th>mean_score</th>" in page
    assert "Fairness by segment" in page
    assert page.count(IMG) == 4
    assert 'src="http' not in page and "href=" not in page and "<script" not in page


def test_report_without_scores() -> None:
    book = PromiseBook.from_history(callback_centre_promises(n=12))
    page = html_report(book)
    assert "<h1>Promise report</h1>" in page
    assert page.count(IMG) == 3  # no satisfaction plot without scores
    assert "<td class=label>callback</td>" in page
    assert 'src="http' not in page


def test_report_by_kind_in_real_time() -> None:
    history = callback_centre_promises(n=12)
    book = PromiseBook.from_records(history.promises, history.deliveries, now=history.now)
    page = html_report(book, fairness_by="kind")
    assert "Fairness by kind" in page
    assert "real time" in page
    assert page.count(IMG) == 3


def test_report_without_groups_has_no_audit() -> None:
    made = np.array(["2026-03-02T14:00", "2026-03-02T15:00"], dtype="datetime64[us]")
    book = PromiseBook(
        made_at=made,
        due=made + np.timedelta64(1, "h"),
        completed_at=made + np.timedelta64(30, "m"),
        now=made[-1] + np.timedelta64(2, "h"),
    )
    page = html_report(book)
    assert "<p>No fairness audit: " in page
    assert page.count(IMG) == 3


def test_report_bad_arguments() -> None:
    with pytest.raises(InvalidTypeError, match="'book'"):
        html_report("book")  # type: ignore[arg-type]
    book = PromiseBook.from_history(callback_centre_promises(n=12))
    with pytest.raises(InvalidTypeError, match="'title'"):
        html_report(book, title=3)  # type: ignore[arg-type]


def test_report_nothing_closed() -> None:
    made = np.array(["2026-03-02T14:00", "2026-03-02T15:00"], dtype="datetime64[us]")
    book = PromiseBook(
        made_at=made,
        due=made + np.timedelta64(1, "h"),
        now=made[-1] + np.timedelta64(30, "m"),
        segment=np.array(["gold", "standard"], dtype=object),
    )
    page = html_report(book)
    assert "<td>n/a</td>" in page  # no lateness quantile yet
    assert "Lateness distribution: not enough data." in page
    assert page.count(IMG) == 2  # keep rate over time and by segment (one overdue)
