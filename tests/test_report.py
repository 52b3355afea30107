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
    assert page.count("<table>") == 3  # summary, fairness and satisfaction
    assert '<th class="num" scope="col">Keep rate (%)</th>' in page
    assert '<th class="num" scope="col">Mean score</th>' in page
    assert "keep_rate" not in page and "PromiseBook(" not in page  # no raw names or repr
    assert "Fairness by segment" in page and "<h2>Satisfaction</h2>" in page
    assert page.count(IMG) == 4
    assert 'src="http' not in page and "href=" not in page and "<script" not in page


def test_report_without_scores() -> None:
    book = PromiseBook.from_history(callback_centre_promises(n=12))
    page = html_report(book)
    assert "<h1>Promise report</h1>" in page
    assert page.count(IMG) == 3  # no satisfaction plot without scores
    assert "<h2>Satisfaction</h2>" not in page
    assert '<th scope=row class="label">kind: callback</th>' in page
    lead = page.split('<p class="lead">')[1].split("</p>")[0]
    assert "this book holds 12 promises" in lead
    assert "The keep rate is 63.6 % (7 of 11 decided promises" in lead
    assert "not yet due are not counted" in lead
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
    assert '<td class="num">n/a</td>' in page  # no lateness quantile yet
    assert "No promise is completed yet." in page
    assert "Lateness distribution: not enough data." in page
    assert page.count(IMG) == 2  # keep rate over time and by segment (one overdue)


def _units(page: str) -> list[str]:
    import re

    return re.findall(r'scope="col">[^<]*\((min|h|d)\)</th>', page)


def test_units_per_column_and_days_for_days_long_promises() -> None:
    from promisekit.datasets import parcels_history

    book = PromiseBook.from_frame(parcels_history(300, seed=1, days=60))
    page = html_report(book, n_permutations=99)
    assert _units(page) == ["d", "d", "d", "d"]  # lateness p50/p90/p95, median response
    assert "lateness (days; negative = early)" not in page  # that is in the PNG
    lead = page.split('<p class="lead">')[1].split("</p>")[0]
    assert " day" in lead and "hours" not in lead.split("Half of the completed")[0]
    callbacks = PromiseBook.from_history(callback_centre_promises(n=12))
    assert _units(html_report(callbacks)) == ["h", "h", "h", "h"]  # responses up to 7.7 h


def test_table_scrolls_with_the_first_column_pinned() -> None:
    book = PromiseBook.from_history(callback_centre_promises(n=12))
    page = html_report(book)
    assert "overflow-x: auto" in page and "position: sticky" in page
    assert page.count('<div class="scroll">') == page.count("<table>")


def test_fairness_flag_is_highlighted_and_its_metric_plotted() -> None:
    from promisekit.datasets import parcels_history

    book = PromiseBook.from_frame(parcels_history(400, seed=1, slow_tier=True, days=120))
    page = html_report(book, n_permutations=199)
    assert '<tr class="flag"><th scope=row class="label">bronze</th>' in page
    assert 'alt="Median response by segment"' in page  # the flagged response metric
    assert 'alt="Keep rate by segment"' in page
    assert "bronze is flagged by the audit and drawn in orange" in page


def test_report_renders_for_every_month_of_a_multi_month_sample() -> None:
    """Split a year of parcels (and of callbacks) by month: every month renders."""
    import pandas as pd

    from promisekit.datasets import parcels_history

    for frame, calendar in (
        (parcels_history(600, seed=4, days=180, slow_tier=True), None),
        (callback_centre_history(300, seed=2, days=90), montreal_calendar()),
    ):
        month = frame["made_at"].dt.tz_convert("UTC").dt.tz_localize(None).dt.to_period("M")
        months = sorted(month.unique())
        assert len(months) >= 3
        for period in months:
            part = frame[month == period]
            end = min(frame.attrs["now"], (period + 1).start_time.tz_localize("UTC"))
            part = part[part["made_at"] <= end].copy()
            part.loc[part["completed_at"] > end, "completed_at"] = pd.NaT
            book = PromiseBook.from_frame(part, now=end, calendar=calendar)
            page = html_report(book, title=f"{period}", n_permutations=49)
            assert page.count("<h1>") == 1 and page.endswith("</body></html>")
