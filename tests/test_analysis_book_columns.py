"""PromiseBook's customer and target columns, censored medians, compare(satisfaction=)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from promisekit import Delivery, Promise
from promisekit.analysis import PromiseBook
from promisekit.analysis._book_summary import _quantile_index, km_median
from promisekit.buffering import NoBuffer
from promisekit.datasets import callback_centre_promises, parcels_history
from promisekit.errors import InvalidValueError
from promisekit.impact import Impact
from promisekit.satisfaction import Disconfirmation

pd = pytest.importorskip("pandas")

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)
H = timedelta(hours=1)


def _frame(customers: list[str]) -> pd.DataFrame:
    n = len(customers)
    return pd.DataFrame(
        {
            "made_at": [T0 + i * H for i in range(n)],
            "due": [T0 + i * H + 2 * H for i in range(n)],
            "completed_at": [T0 + i * H + (3 if i % 2 else 1) * H for i in range(n)],
            "customer": customers,
            "segment": ["a"] * n,
        }
    )


def test_customer_counts_customers_in_impact() -> None:
    """Six promises of two customers: churn risk per customer, not per promise."""
    frame = _frame(["c1", "c1", "c1", "c2", "c2", "c2"])
    now = T0 + 20 * H
    by_customer = PromiseBook.from_frame(frame, now=now)
    anonymous = PromiseBook.from_frame(frame.drop(columns=["customer"]), now=now)
    with_c = by_customer.summary(by=("segment",), satisfaction=True)
    without = anonymous.summary(by=("segment",), satisfaction=True)
    assert with_c.loc[("all", "all"), "customers"] == 2
    assert "customers" not in without.columns
    # the same as Impact.summarize over experiences grouped by customer
    scores = by_customer.satisfaction()
    impact = Impact()
    expected = 0.0
    for customer in ("c1", "c2"):
        ids = frame.index[frame["customer"] == customer]
        sats = [_sat(scores, i) for i in ids]
        expected += impact.churn.expected_risk(sats)
    assert with_c.loc[("all", "all"), "customers_lost"] == pytest.approx(expected)
    assert (
        with_c.loc[("all", "all"), "customers_lost"] < without.loc[("all", "all"), "customers_lost"]
    )
    # word of mouth is per experience: the same either way
    for key in ("people_told_positive", "people_told_negative", "scored"):
        assert with_c.loc[("all", "all"), key] == pytest.approx(without.loc[("all", "all"), key])
    assert list(by_customer.outcomes()["customer"].astype(str)) == list(frame["customer"])


def _sat(scores: pd.DataFrame, promise_id: int) -> object:
    from promisekit.satisfaction import Level

    return Level[str(scores.loc[promise_id, "label"])]


def test_customer_id_column_of_a_sample_is_read() -> None:
    frame = parcels_history(200, seed=2, days=30)
    book = PromiseBook.from_frame(frame)
    assert "customer" in book.outcomes().columns
    table = book.summary(satisfaction=True)
    assert 0 < table.loc[("all", "all"), "customers"] <= table.loc[("all", "all"), "scored"]


def test_from_records_keeps_customers_and_targets() -> None:
    promises = [
        Promise(
            id="A", customer_id="x", kind="callback", made_at=T0, due=T0 + 4 * H, target=T0 + 2 * H
        ),
        Promise(id="B", customer_id="y", kind="callback", made_at=T0, due=T0 + 4 * H),
    ]
    book = PromiseBook.from_records(promises, [Delivery(promise_id="B", at=T0 + H)], now=T0 + 3 * H)
    out = book.outcomes()
    assert list(out["customer"].astype(str)) == ["x", "y"]
    assert out.loc["A", "target"] == pd.Timestamp(T0 + 2 * H)
    assert pd.isna(out.loc["B", "target"])
    # the fever chart uses the book's target: at 3 h, A used half of its buffer
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from promisekit.analysis import plot_fever_chart

    ax = plot_fever_chart(book)
    points = [
        tuple(np.round(o, 3))
        for c in ax.collections
        if hasattr(c, "get_offsets")
        for o in c.get_offsets()
    ]
    assert (0.75, 0.5) in points
    plt.close("all")


def test_target_must_lie_in_the_window() -> None:
    frame = _frame(["c1", "c2"])
    frame["target"] = [T0 + 5 * H, pd.NaT]
    with pytest.raises(InvalidValueError, match="'target' must be between"):
        PromiseBook.from_frame(frame, now=T0 + 9 * H)
    frame["target"] = [T0 + H, pd.NaT]
    book = PromiseBook.from_frame(frame, now=T0 + 9 * H)
    assert book.outcomes()["target"].notna().tolist() == [True, False]


@given(
    st.lists(st.integers(1, 10_000), min_size=1, max_size=60),
)
def test_km_median_without_censoring_is_the_plain_median(values: list[int]) -> None:
    events = np.sort(np.array(values, dtype=np.int64))
    expected = int(events[_quantile_index(len(events), 0.5)])
    assert km_median(events, np.array([], dtype=np.int64)) == expected


def test_km_median_counts_open_promises_as_censored() -> None:
    events = np.array([10, 20, 30], dtype=np.int64)
    # four still running past 30: more than half may not have finished -> unknown
    assert km_median(events, np.array([40, 50, 60, 70], dtype=np.int64)) is None
    # three running past 30: survival reaches one half at 30 (the plain median is 20)
    assert km_median(events, np.array([40, 50, 60], dtype=np.int64)) == 30
    # one censored early changes nothing here
    assert km_median(events, np.array([5], dtype=np.int64)) == 20


def test_summary_median_response_treats_open_promises_as_censored() -> None:
    made = [T0] * 6
    due = [T0 + 10 * H] * 6
    done = [T0 + H, T0 + 2 * H, T0 + 3 * H, pd.NaT, pd.NaT, pd.NaT]
    frame = pd.DataFrame({"made_at": made, "due": due, "completed_at": done})
    book = PromiseBook.from_frame(frame, now=T0 + 8 * H)
    row = book.summary().loc[("all", "all")]
    assert row["median_response"] == pd.Timedelta(hours=3)  # three still running at 8 h
    closed_only = PromiseBook.from_frame(frame.iloc[:3], now=T0 + 8 * H)
    assert closed_only.summary().loc[("all", "all"), "median_response"] == pd.Timedelta(hours=2)


def test_compare_fills_expected_satisfaction() -> None:
    book = PromiseBook.from_history(callback_centre_promises(n=60, seed=1))
    plain = book.compare(NoBuffer(), min_samples=5)
    assert plain["expected_satisfaction"].isna().all()
    scored = book.compare(NoBuffer(), min_samples=5, satisfaction=Disconfirmation())
    values = scored["expected_satisfaction"]
    assert values.notna().all() and ((values >= 1) & (values <= 5)).all()
    assert list(scored["policy"]) == list(plain["policy"])
