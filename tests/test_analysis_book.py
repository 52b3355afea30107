"""PromiseBook: outcomes, summary and the fairness audit."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from promisekit import Delivery, Promise, assess
from promisekit.analysis import STATUS_CODES, FairnessReport, PromiseBook
from promisekit.datasets import (
    callback_centre_history,
    callback_centre_promises,
    field_repairs_history,
    montreal_calendar,
    parcels_history,
)
from promisekit.errors import (
    InconsistentRecordError,
    InsufficientDataError,
    InvalidTypeError,
    InvalidValueError,
)
from promisekit.testing.strategies import deliveries_for, promises

pd = pytest.importorskip("pandas")

EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
NAT = np.iinfo(np.int64).min


@pytest.fixture(scope="module")
def history() -> Any:
    return callback_centre_promises(n=40, seed=5)


@pytest.fixture(scope="module")
def book(history: Any) -> PromiseBook:
    return PromiseBook.from_history(history)


# ----------------------------------------------------------------------------- from records


@st.composite
def records(draw: st.DrawFn) -> tuple[list[Promise], list[Delivery], datetime]:
    items = draw(st.lists(promises(max_revisions=2), min_size=1, max_size=6))
    items = [
        Promise(
            **{
                **{f: getattr(p, f) for f in ("made_at", "due", "kind", "customer_id")},
                "id": f"P{i}",
                "terms": p.terms,
                "segment": p.segment,
                "revisions": p.revisions,
            }
        )
        for i, p in enumerate(items)
    ]
    deliveries = [d for p in items for d in draw(deliveries_for(p, max_size=3))]
    latest = max(max(p.made_at for p in items), *(d.at for d in deliveries), EPOCH)
    now = latest - draw(st.sampled_from([timedelta(0), timedelta(hours=1)]))
    now = max(now, max(p.made_at for p in items))
    return items, deliveries, now


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(records())
def test_from_records_matches_assess(data: tuple[list[Promise], list[Delivery], datetime]) -> None:
    items, deliveries, now = data
    cal = montreal_calendar()
    book = PromiseBook.from_records(items, deliveries, now=now, calendar=cal)
    columns = book.columns
    for i, promise in enumerate(items):
        mine = [d for d in deliveries if d.promise_id == promise.id]
        expected = assess(promise, mine, now=now, calendar=cal)
        assert STATUS_CODES[columns.status[i]] is expected.status
        late = columns.business_lateness.view(np.int64)[i]
        assert (None if late == NAT else timedelta(microseconds=int(late))) == (
            expected.business_lateness
        )


def test_from_history(book: PromiseBook, history: Any) -> None:
    assert len(book) == 40
    assert book.calendar == history.calendar
    assert book.now == history.now
    frame = book.outcomes()
    assert frame.index.name == "promise_id"
    assert frame.index[0] == "P0001"
    for promise, deliveries in list(history)[:10]:
        outcome = assess(promise, deliveries, now=history.now, calendar=history.calendar)
        row = frame.loc[promise.id]
        assert row["status"] == outcome.status.value
        if outcome.business_lateness is None:
            assert pd.isna(row["business_lateness"])
        else:
            assert row["business_lateness"] == outcome.business_lateness
        assert row["kind"] == promise.kind
        assert row["made_at"] == promise.made_at
    assert str(frame["due"].dt.tz) == "America/Toronto"
    assert book.to_pandas().equals(frame)
    assert "PromiseBook(40 promises" in repr(book)


def test_summary(book: PromiseBook) -> None:
    summary = book.summary()
    frame = book.outcomes()
    overall = summary.loc[("all", "all")]
    assert overall["promises"] == 40
    decided = (frame["status"] != "pending").sum()
    assert overall["keep_rate"] == pytest.approx((frame["status"] == "kept").sum() / decided)
    closed = frame[frame["completed_at"].notna()]["business_lateness"].sort_values()
    assert overall["lateness_p50"] == closed.iloc[int(np.ceil(0.5 * len(closed))) - 1]
    assert set(summary.loc["kind"].index) == {"callback", "repair"}
    assert summary.loc["segment"]["promises"].sum() == 40
    assert summary.loc["owner"]["promises"].sum() == 40
    only = book.summary(by="kind", quantiles=[0.25])
    assert list(only.index.get_level_values(0).unique()) == ["all", "kind"]
    assert "lateness_p25" in only.columns


def test_repr_html(book: PromiseBook) -> None:
    text = book._repr_html_()
    assert text.startswith("<div>") and "<table>" in text
    assert "keep rate" in text and "callback" in text


def test_summary_errors(book: PromiseBook) -> None:
    with pytest.raises(InvalidValueError, match="'by' must name label columns"):
        book.summary(by=["tier"])
    with pytest.raises(InvalidValueError, match=r"'quantiles' must be in \[0, 1\]"):
        book.summary(quantiles=[1.5])


# ----------------------------------------------------------------------------- from frames


def sample(slow: bool, n: int = 4000, seed: int = 7) -> PromiseBook:
    return PromiseBook.from_frame(
        callback_centre_history(n, seed=seed, slow_tier=slow), calendar=montreal_calendar()
    )


def test_fairness_finds_the_slow_tier() -> None:
    report = sample(slow=True).fairness(by="segment", n_permutations=499, seed=1)
    assert report.slowest == "bronze"
    assert report.response_p_value is not None and report.response_p_value < 0.01
    assert report.least_kept == "bronze"
    assert report.keep_rate_p_value is not None and report.keep_rate_p_value < 0.01
    assert report.response_gap is not None and report.response_gap > timedelta(minutes=5)
    assert report.significant()
    assert report.business_time and report.within == "kind"
    assert "bronze" in report.findings()[0]


def test_fairness_finds_nothing_without_a_slow_tier() -> None:
    report = sample(slow=False).fairness(by="segment", n_permutations=499, seed=1)
    assert report.response_p_value is not None and report.response_p_value > 0.05
    assert report.keep_rate_p_value is not None and report.keep_rate_p_value > 0.05
    assert not report.significant()
    assert report.findings() == []


def test_fairness_on_mixed_kinds_is_stratified() -> None:
    cal = montreal_calendar()
    parts = [
        callback_centre_history(1500, seed=2, slow_tier=True),
        field_repairs_history(600, seed=2),
        parcels_history(600, seed=2),
    ]
    frame = pd.concat(parts, ignore_index=True)
    frame.attrs["now"] = max(p.attrs["now"] for p in parts)
    book = PromiseBook.from_frame(frame, calendar=cal)
    report = book.fairness(n_permutations=299, seed=3)
    assert report.within == "kind"
    assert report.slowest == "bronze" and report.response_p_value is not None
    assert report.response_p_value < 0.01
    plain = book.fairness(within=None, n_permutations=99, seed=3)
    assert plain.within is None


def test_fairness_is_reproducible_and_reports() -> None:
    book = sample(slow=True, n=800)
    one = book.fairness(n_permutations=99, seed=4)
    assert one == book.fairness(n_permutations=99, seed=4)
    assert one.groups == ("bronze", "silver", "gold")  # the categorical's order
    assert sum(one.sizes) == 800
    table = one.to_pandas()
    assert list(table.index) == ["bronze", "silver", "gold"]
    assert table.loc["bronze", "median_response"] == one.median_response[0]
    assert "Fairness by 'segment'" in str(one)
    assert "<table>" in one._repr_html_()
    assert isinstance(one, FairnessReport)


def test_fairness_by_owner_without_calendar() -> None:
    rows = callback_centre_history(600, seed=3, as_frame=False)
    book = PromiseBook.from_frame(rows)
    report = book.fairness(by="owner", within=None, n_permutations=49)
    assert not report.business_time
    assert len(report.groups) == 12


def test_fairness_errors() -> None:
    book = sample(slow=False, n=200)
    with pytest.raises(InvalidValueError, match="'by' must be one of"):
        book.fairness(by="tier")
    with pytest.raises(InvalidValueError, match="'within' must be one of"):
        book.fairness(within="tier")
    with pytest.raises(InvalidValueError, match="'within' must differ from 'by'"):
        book.fairness(by="kind", within="kind")
    with pytest.raises(InvalidValueError, match="'n_permutations' must be at least 1"):
        book.fairness(n_permutations=0)
    with pytest.raises(InsufficientDataError, match="at least two groups"):
        book.fairness(by="kind", within=None)


def test_from_frame_columns_and_dict() -> None:
    rows = parcels_history(300, seed=1, as_frame=False)
    book = PromiseBook.from_frame(rows, calendar=montreal_calendar())
    frame = book.outcomes()
    assert list(frame.index[:3]) == [1, 2, 3]
    assert frame["kind"].unique().tolist() == ["parcel"]
    assert frame["short"].sum() == rows["short"].sum()
    assert frame["revisions"].tolist() == rows["revisions"].tolist()
    assert np.allclose(frame["score"], rows["score"], equal_nan=True)
    renamed = {"created": rows["made_at"], "promised": rows["due"], "now": rows["now"]}
    other = PromiseBook.from_frame(renamed, columns={"made_at": "created", "due": "promised"})
    assert len(other) == 300
    assert other.outcomes()["status"].isin(["pending", "overdue"]).all()


def test_constructor_and_frame_errors() -> None:
    rows = callback_centre_history(100, seed=1, as_frame=False)
    with pytest.raises(InvalidValueError, match="'now' must be given"):
        PromiseBook.from_frame({k: v for k, v in rows.items() if k != "now"})
    with pytest.raises(InvalidValueError, match="has no column 'due'"):
        PromiseBook.from_frame({"made_at": rows["made_at"], "now": rows["now"]})
    with pytest.raises(InvalidValueError, match="'columns' keys must be among"):
        PromiseBook.from_frame(rows, columns={"deadline": "due"})
    with pytest.raises(InvalidTypeError, match="'frame' must be a DataFrame or a mapping"):
        PromiseBook.from_frame([1, 2, 3])
    with pytest.raises(InvalidValueError, match="'segment' must have one value per promise"):
        PromiseBook(made_at=rows["made_at"], due=rows["due"], now=rows["now"], segment=["a"])
    with pytest.raises(InvalidTypeError, match="'revisions' must be integers"):
        PromiseBook(
            made_at=rows["made_at"], due=rows["due"], now=rows["now"], revisions=rows["score"]
        )
    with pytest.raises(InvalidTypeError, match="'calendar' must be a BusinessCalendar"):
        PromiseBook(made_at=rows["made_at"], due=rows["due"], now=rows["now"], calendar="UTC")  # type: ignore[arg-type]
    with pytest.raises(InvalidValueError, match="'now' must be a single instant"):
        PromiseBook(made_at=rows["made_at"], due=rows["due"], now=rows["made_at"])
    with pytest.raises(InvalidTypeError, match="'kind' must be a column of labels"):
        PromiseBook(made_at=rows["made_at"], due=rows["due"], now=rows["now"], kind=rows["score"])


def test_from_records_errors(history: Any) -> None:
    promise = history.promises[0]
    with pytest.raises(InconsistentRecordError, match="distinct ids"):
        PromiseBook.from_records([promise, promise], now=history.now)
    stray = Delivery("nope", history.now)
    with pytest.raises(InconsistentRecordError, match="unknown promise 'nope'"):
        PromiseBook.from_records([promise], [stray], now=history.now)
    with pytest.raises(InvalidTypeError, match="must contain only Promise"):
        PromiseBook.from_records(["P1"], now=history.now)  # type: ignore[list-item]
    with pytest.raises(InvalidTypeError, match="must contain only Delivery"):
        PromiseBook.from_records([promise], ["D1"], now=history.now)  # type: ignore[list-item]


def test_missing_labels_are_nan_categories() -> None:
    rows = callback_centre_history(50, seed=2, as_frame=False)
    owners = rows["owner"].copy()
    owners[:5] = None
    book = PromiseBook(
        made_at=rows["made_at"],
        due=rows["due"],
        now=rows["now"],
        owner=owners,
        completed_at=rows["completed_at"],
    )
    frame = book.outcomes()
    assert frame["owner"].isna().sum() == 5
    assert "(none)" in book.summary(by=["owner"]).loc["owner"].index
    assert book.outcomes()["segment"].isna().all()


def test_summary_with_no_closed_promise_has_timedelta_columns() -> None:
    from datetime import datetime, timedelta, timezone

    from promisekit.analysis import PromiseBook
    from promisekit.promise import Promise

    made = datetime(2026, 3, 2, 9, tzinfo=timezone.utc)
    promise = Promise(
        id="P1", customer_id="C1", kind="callback", made_at=made, due=made + timedelta(hours=1)
    )
    book = PromiseBook.from_records([promise], [], now=made + timedelta(minutes=5))
    frame = book.summary()
    assert str(frame["lateness_p50"].dtype).startswith("timedelta64")
    assert frame["lateness_p50"].isna().all()


# ----------------------------------------------------------------------------- satisfaction


def test_summary_with_satisfaction_keeps_rows_and_columns(book: PromiseBook) -> None:
    plain = book.summary(("kind",))
    rich = book.summary(("kind",), satisfaction=True)
    assert list(rich.index) == list(plain.index)
    pd.testing.assert_frame_equal(rich[list(plain.columns)], plain)
    closed = plain["kept"] + plain["late"] + plain["short"]
    assert list(rich["scored"]) == list(closed)
    assert (rich["customers_lost"] <= rich["scored"]).all()
    assert ((rich["mean_csat"] >= 1) & (rich["mean_csat"] <= 5)).all()


def test_satisfaction_and_compare_tables(book: PromiseBook) -> None:
    from promisekit.buffering import NoBuffer

    table = book.satisfaction()
    assert set(table.index) <= set(book.outcomes().index)
    compared = book.compare(NoBuffer(), min_samples=5)
    assert list(compared["policy"]) == ["NoBuffer()", "historical promises"]


# ----------------------------------------------------------------------------- from ledger


def _ledger_events() -> list[Any]:
    from promisekit.ledger import (
        DeliveryRecorded,
        PromiseCancelled,
        PromiseMade,
        PromiseRevised,
    )

    t0 = datetime(2026, 3, 2, 14, 0, tzinfo=timezone.utc)
    h = timedelta(hours=1)

    def made(n: int, at: datetime, due: datetime, **kw: Any) -> Any:
        return PromiseMade(
            id=f"M{n}",
            promise_id=f"P{n}",
            at=at,
            recorded_at=at,
            customer_id=f"C{n}",
            kind="callback",
            due=due,
            **kw,
        )

    return [
        # P1: kept.
        made(1, t0, t0 + 2 * h, segment="gold"),
        DeliveryRecorded(id="D1", promise_id="P1", at=t0 + h, recorded_at=t0 + h),
        # P2: revised to a later due date, then delivered after the first one.
        made(2, t0, t0 + h, segment="standard"),
        PromiseRevised(
            id="R2", promise_id="P2", at=t0 + h / 2, recorded_at=t0 + h / 2, due=t0 + 4 * h
        ),
        DeliveryRecorded(id="D2", promise_id="P2", at=t0 + 3 * h, recorded_at=t0 + 3 * h),
        # P3: cancelled before now.
        made(3, t0, t0 + h),
        PromiseCancelled(id="X3", promise_id="P3", at=t0 + h / 2, recorded_at=t0 + h / 2),
        # P4: open, overdue at now.
        made(4, t0, t0 + 2 * h, owner="ana"),
        # P5: made after now.
        made(5, t0 + 10 * h, t0 + 12 * h),
        # P6: cancelled after now (still open at now).
        made(6, t0, t0 + 8 * h),
        PromiseCancelled(id="X6", promise_id="P6", at=t0 + 9 * h, recorded_at=t0 + 9 * h),
        # P7: a delivery after now does not count yet.
        made(7, t0, t0 + 8 * h),
        DeliveryRecorded(id="D7", promise_id="P7", at=t0 + 7 * h, recorded_at=t0 + 7 * h),
    ]


def test_from_ledger_replays_as_of_now() -> None:
    from promisekit.ledger import PromiseLedger

    t0 = datetime(2026, 3, 2, 14, 0, tzinfo=timezone.utc)
    now = t0 + 5 * timedelta(hours=1)
    ledger = PromiseLedger(_ledger_events())
    book = PromiseBook.from_ledger(ledger, now=now)
    frame = book.outcomes()
    assert list(frame.index) == ["P1", "P2", "P4", "P6", "P7"]
    status = frame["status"].astype(str).to_dict()
    assert status == {
        "P1": "kept",
        "P2": "kept",
        "P4": "overdue",
        "P6": "pending",
        "P7": "pending",
    }
    assert frame.loc["P2", "revisions"] == 1
    assert frame.loc["P2", "due"] == pd.Timestamp(t0 + 4 * timedelta(hours=1))
    assert frame.loc["P1", "segment"] == "gold"
    assert frame.loc["P4", "owner"] == "ana"
    assert book.now == now


def test_from_ledger_matches_from_records() -> None:
    from promisekit.ledger import PromiseLedger

    t0 = datetime(2026, 3, 2, 14, 0, tzinfo=timezone.utc)
    now = t0 + 5 * timedelta(hours=1)
    ledger = PromiseLedger(_ledger_events())
    cal = montreal_calendar()
    states = [ledger.state(pid, at=now) for pid in ("P1", "P2", "P4", "P6", "P7")]
    expected = PromiseBook.from_records(
        [s.promise for s in states],
        [d for s in states for d in s.deliveries],
        now=now,
        calendar=cal,
    )
    got = PromiseBook.from_ledger(ledger, now=now, calendar=cal)
    assert got.calendar is cal
    pd.testing.assert_frame_equal(got.outcomes(), expected.outcomes())


def test_from_ledger_sqlite(tmp_path: Any) -> None:
    from promisekit.ledger import PromiseLedger
    from promisekit.store import SQLiteLedger

    t0 = datetime(2026, 3, 2, 14, 0, tzinfo=timezone.utc)
    now = t0 + 5 * timedelta(hours=1)
    events = _ledger_events()
    store = SQLiteLedger(tmp_path / "ledger.db")
    try:
        store.append_many(events)
        got = PromiseBook.from_ledger(store, now=now)
    finally:
        store.close()
    expected = PromiseBook.from_ledger(PromiseLedger(events), now=now)
    pd.testing.assert_frame_equal(got.outcomes(), expected.outcomes())


def test_from_ledger_empty_and_naive() -> None:
    from promisekit.errors import NaiveDatetimeError
    from promisekit.ledger import PromiseLedger

    t0 = datetime(2026, 3, 2, 14, 0, tzinfo=timezone.utc)
    assert len(PromiseBook.from_ledger(PromiseLedger(), now=t0)) == 0
    before = PromiseBook.from_ledger(PromiseLedger(_ledger_events()), now=t0 - timedelta(days=1))
    assert len(before) == 0
    with pytest.raises(NaiveDatetimeError):
        PromiseBook.from_ledger(PromiseLedger(_ledger_events()), now=t0.replace(tzinfo=None))
