"""Columnar sample histories at scale (promisekit.datasets.*_history), seeded."""

from __future__ import annotations

import itertools
import sys
from datetime import datetime, timedelta, timezone
from typing import Any

import numpy as np
import pytest

from promisekit.analysis import SatisfactionScorer, assess_columns, datasets
from promisekit.analysis.datasets import (
    SCORE_SCALE,
    SLOW_TIER_FACTOR,
    TIERS,
    satisfaction_proxy,
)
from promisekit.calendar import BusinessCalendar
from promisekit.datasets import (
    callback_centre_history,
    field_repairs_history,
    montreal_calendar,
    parcels_history,
)
from promisekit.errors import InvalidTypeError, InvalidValueError, MissingDependencyError
from promisekit.satisfaction import Disconfirmation, Labels

NAT = np.iinfo(np.int64).min
GENERATORS = [callback_centre_history, field_repairs_history, parcels_history]
COMMON = [
    "promise_id",
    "customer_id",
    "kind",
    "segment",
    "owner",
    "made_at",
    "original_due",
    "due",
    "revisions",
    "completed_at",
    "short",
    "score",
]


def us(values: np.ndarray) -> np.ndarray:
    return values.view(np.int64)


@pytest.mark.parametrize("generate", GENERATORS)
def test_dict_columns_are_consistent(generate: Any) -> None:
    rows = generate(3000, seed=4, as_frame=False)
    assert list(rows)[: len(COMMON)] == COMMON
    n = len(rows["made_at"])
    assert n == 3000
    made, due, original = us(rows["made_at"]), us(rows["due"]), us(rows["original_due"])
    done, now = us(rows["completed_at"]), int(rows["now"].view(np.int64))
    assert np.all(np.diff(made) >= 0)  # in order of arrival
    assert np.all(original > made)
    assert np.all(due >= original)
    assert np.array_equal(rows["revisions"] > 0, due != original)
    closed = done != NAT
    assert np.all(done[closed] >= made[closed]) and np.all(done[closed] <= now)
    assert 0 < closed.mean() < 1
    scores = rows["score"]
    assert np.array_equal(np.isnan(scores), ~closed)
    assert set(np.unique(scores[closed])) <= {1.0, 2.0, 3.0, 4.0, 5.0}
    assert not np.any(rows["short"] & ~closed)
    assert set(rows["segment"]) == {name for name, _ in TIERS}
    assert np.array_equal(rows["promise_id"], np.arange(1, n + 1))


def test_callbacks_are_due_in_60_business_minutes() -> None:
    cal = montreal_calendar()
    rows = callback_centre_history(500, seed=2, as_frame=False)
    window = cal.between_many(rows["made_at"], rows["original_due"])
    assert np.all(window == np.timedelta64(60, "m"))
    assert not rows["short"].any()


def test_repairs_and_parcels_terms() -> None:
    repairs = field_repairs_history(2000, seed=1, as_frame=False)
    closed = us(repairs["completed_at"]) != NAT
    expected = ~repairs["first_visit_fix"] | (repairs["cost"] > repairs["max_cost"])
    assert np.array_equal(repairs["short"][closed], expected[closed])
    assert np.all(np.isnan(repairs["cost"][~closed]))
    boxes = parcels_history(2000, seed=1, as_frame=False)
    closed = us(boxes["completed_at"]) != NAT
    assert np.array_equal(
        boxes["short"][closed], (boxes["delivered_quantity"] < boxes["quantity"])[closed]
    )
    assert set(np.unique(boxes["quantity"])) <= {1, 2, 3, 4, 5}


def test_seeded_and_deterministic() -> None:
    one = callback_centre_history(1000, seed=9, as_frame=False)
    two = callback_centre_history(1000, seed=9, as_frame=False)
    other = callback_centre_history(1000, seed=10, as_frame=False)
    for key, value in one.items():
        if value.dtype.kind == "M":
            assert np.array_equal(us(value), us(two[key])), key
        else:
            assert np.array_equal(value, two[key], equal_nan=key == "score"), key
    assert not np.array_equal(one["made_at"], other["made_at"])


def test_slow_tier_slows_only_bronze() -> None:
    cal = montreal_calendar()
    fair = callback_centre_history(6000, seed=3, slow_tier=False, as_frame=False)
    slow = callback_centre_history(6000, seed=3, slow_tier=True, as_frame=False)
    assert np.array_equal(fair["segment"], slow["segment"])

    def median_response(rows: dict[str, Any], tier: str) -> float:
        keep = (rows["segment"] == tier) & (us(rows["completed_at"]) != NAT)
        spent = cal.between_many(rows["made_at"][keep], rows["completed_at"][keep])
        return float(np.median(spent.astype(np.int64)))

    ratio = median_response(slow, "bronze") / median_response(fair, "bronze")
    assert ratio == pytest.approx(SLOW_TIER_FACTOR, rel=0.1)
    assert median_response(slow, "gold") == median_response(fair, "gold")


def test_frame_output() -> None:
    pd = pytest.importorskip("pandas")
    frame = parcels_history(500, seed=2)
    assert isinstance(frame, pd.DataFrame)
    assert list(frame.columns) == [*COMMON, "quantity", "delivered_quantity"]
    assert str(frame["made_at"].dt.tz) == "America/Toronto"
    assert isinstance(frame["segment"].dtype, pd.CategoricalDtype)
    assert frame.attrs["now"] == datetime(2027, 1, 5, 13, 30, tzinfo=timezone.utc)
    assert frame["completed_at"].isna().any()


def test_custom_calendar_start_and_days() -> None:
    cal = BusinessCalendar("Europe/Paris", hours={"mon-sat": "10:00-19:00"})
    start = datetime(2026, 6, 1, 10, tzinfo=cal.zone)
    rows = callback_centre_history(200, seed=1, start=start, days=7, calendar=cal, as_frame=False)
    first = rows["made_at"][0].astype(datetime).replace(tzinfo=timezone.utc)
    assert start < first < start + timedelta(days=7)
    end = (start + timedelta(days=7)).astimezone(timezone.utc).replace(tzinfo=None)
    assert rows["now"] == np.datetime64(end, "us")


def test_pandas_missing_gives_dicts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pandas", None)
    rows = callback_centre_history(100, seed=1)
    assert isinstance(rows, dict) and "now" in rows
    with pytest.raises(MissingDependencyError, match=r"pip install 'promisekit\[analysis\]'"):
        callback_centre_history(100, seed=1, as_frame=True)


def test_satisfaction_proxy() -> None:
    ratio = np.array([59 / 60, 59 / 480, 1.2, 2.0, 4.0, np.nan])
    scores = satisfaction_proxy(ratio, noise=0.0)
    # The golden case: 59 minutes on a 60-minute promise satisfies (4); on an
    # end-of-day promise it delights (5).
    assert scores[:5].tolist() == [4.0, 5.0, 3.0, 2.0, 1.0]
    assert np.isnan(scores[5])
    penalised = satisfaction_proxy(
        ratio[:2], short=np.array([True, False]), revisions=np.array([0, 2]), noise=0.0
    )
    assert penalised.tolist() == [3.0, 4.0]
    noisy = satisfaction_proxy(np.full(10_000, 0.75), noise=0.2, seed=1)
    assert set(np.unique(noisy)) == {3.0, 4.0, 5.0}
    assert (noisy != 4.0).mean() == pytest.approx(0.2, abs=0.02)
    with pytest.raises(InvalidValueError, match="'noise' must be in"):
        satisfaction_proxy(ratio, noise=2.0)


def business_ratio(rows: dict[str, Any]) -> np.ndarray:
    """Business time used over the business window in force, NaN while open."""
    cal = montreal_calendar()
    closed = us(rows["completed_at"]) != NAT
    ratio = np.full(len(closed), np.nan)
    made = rows["made_at"][closed]
    spent = cal.between_many(made, rows["completed_at"][closed]).astype(np.int64)
    window = cal.between_many(made, rows["due"][closed]).astype(np.int64)
    ratio[closed] = spent / window
    return ratio


@pytest.mark.parametrize("generate", GENERATORS)
def test_scores_are_drawn_from_the_satisfaction_model(generate: Any) -> None:
    rows = generate(20_000, seed=6, as_frame=False)
    closed = us(rows["completed_at"]) != NAT
    scores = rows["score"]
    assert np.array_equal(np.isnan(scores), ~closed)  # NaN exactly for open rows
    assert set(np.unique(scores[closed])) == {1.0, 2.0, 3.0, 4.0, 5.0}
    again = generate(20_000, seed=6, as_frame=False)
    assert np.array_equal(scores, again["score"], equal_nan=True)  # seeded
    other = generate(20_000, seed=7, as_frame=False)
    assert not np.array_equal(scores, other["score"], equal_nan=True)
    # Mean score decreases with lateness: well ahead, on time, late, very late.
    ratio = business_ratio(rows)
    buckets = [ratio <= 0.5, (ratio > 0.5) & (ratio <= 1), (ratio > 1) & (ratio <= 2), ratio > 2]
    means = [float(scores[bucket].mean()) for bucket in buckets if bucket.sum() >= 30]
    assert len(means) >= 3
    assert all(a > b for a, b in itertools.pairwise(means)), means
    # The draws follow the ordered logit of the default model (scale SCORE_SCALE):
    # the mean score matches the mean expected CSAT of each row's value.
    cal = montreal_calendar()
    outcomes = assess_columns(
        made_at=rows["made_at"],
        due=rows["due"],
        completed_at=rows["completed_at"],
        now=rows["now"],
        calendar=cal,
    )
    values = SatisfactionScorer(calendar=cal).score_columns(outcomes)
    assert np.array_equal(np.isnan(values), ~closed)
    labels = Labels(scale=SCORE_SCALE)
    expected = np.mean([labels.expected_csat(v) for v in values[closed]])
    assert float(scores[closed].mean()) == pytest.approx(expected, abs=0.03)


def test_score_model_none_reproduces_the_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[np.ndarray, np.ndarray]] = []

    def spy(ratio: np.ndarray, **kwargs: Any) -> np.ndarray:
        out = satisfaction_proxy(ratio, **kwargs)
        calls.append((ratio, out))
        return out

    default = field_repairs_history(3000, seed=2, as_frame=False)
    assert not calls  # the proxy is not used by default
    monkeypatch.setattr(datasets, "satisfaction_proxy", spy)
    rows = field_repairs_history(3000, seed=2, as_frame=False, score_model=None)
    assert len(calls) == 1
    ratio, proxied = calls[0]
    assert np.array_equal(rows["score"], proxied, equal_nan=True)
    assert np.allclose(ratio, business_ratio(rows), equal_nan=True)
    # One uniform draw per row either way: every other column is unchanged.
    for key, value in rows.items():
        if value.dtype.kind == "M":
            assert np.array_equal(us(value), us(default[key])), key
        elif key != "score":
            assert np.array_equal(value, default[key], equal_nan=key == "cost"), key
    assert not np.array_equal(rows["score"], default["score"], equal_nan=True)


def test_score_model_argument() -> None:
    model = Disconfirmation()
    rows = callback_centre_history(500, seed=3, as_frame=False, score_model=model)
    default = callback_centre_history(500, seed=3, as_frame=False)
    assert np.array_equal(rows["score"], default["score"], equal_nan=True)
    assert not model.is_fitted
    with pytest.raises(InvalidTypeError, match="'model' must be a satisfaction model"):
        callback_centre_history(10, score_model="csat")  # type: ignore[arg-type]


def test_bad_arguments() -> None:
    with pytest.raises(InvalidTypeError, match="'n' must be an int"):
        callback_centre_history(10.5)  # type: ignore[arg-type]
    with pytest.raises(InvalidValueError, match="'n' must be between 1"):
        callback_centre_history(0)
    with pytest.raises(InvalidValueError, match="'days' must be at least 1"):
        parcels_history(10, days=0)
    with pytest.raises(InvalidTypeError, match="'seed' must be an int"):
        field_repairs_history(10, seed="x")  # type: ignore[arg-type]
    with pytest.raises(InvalidTypeError, match="'calendar' must be a BusinessCalendar"):
        parcels_history(10, calendar="UTC")  # type: ignore[arg-type]


def test_module_exports() -> None:
    assert sorted(datasets.__all__) == datasets.__all__
    for name in datasets.__all__:
        assert hasattr(datasets, name)


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (datasets.callback_centre, callback_centre_history),
        (datasets.field_repairs, field_repairs_history),
        (datasets.parcels, parcels_history),
    ],
    ids=["callback_centre", "field_repairs", "parcels"],
)
def test_old_names_are_deprecated_aliases(old: Any, new: Any) -> None:
    with pytest.warns(DeprecationWarning, match=rf"promisekit\.datasets\.{new.__name__}"):
        rows = old(300, seed=4, slow_tier=True, days=30, as_frame=False)
    expected = new(300, seed=4, slow_tier=True, days=30, as_frame=False)
    assert rows.keys() == expected.keys()
    for key, value in rows.items():
        assert np.array_equal(value, expected[key], equal_nan=value.dtype.kind in "fmM"), key


def test_constants_are_those_of_promisekit_datasets() -> None:
    import promisekit.datasets as light

    assert (TIERS, SLOW_TIER_FACTOR, SCORE_SCALE) == (
        light.TIERS,
        light.SLOW_TIER_FACTOR,
        light.SCORE_SCALE,
    )
