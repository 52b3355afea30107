"""Satisfaction of a book: SatisfactionScorer, PromiseBook.satisfaction/summary/compare."""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta, timezone
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from promisekit import BusinessCalendar, assess
from promisekit.analysis import ColumnScorer, PromiseBook, assess_columns
from promisekit.analysis._scoring import SatisfactionScorer
from promisekit.buffering import HistoryRecord, NoBuffer, QuantileBuffer, backtest
from promisekit.datasets import callback_centre_promises
from promisekit.errors import InvalidTypeError, InvalidValueError
from promisekit.impact import ChurnRisk, Experience, Impact, WordOfMouth
from promisekit.satisfaction import Disconfirmation, Expectation, Level, ZoneOfTolerance

pd = pytest.importorskip("pandas")

EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
US = timedelta(microseconds=1)
BASE = (datetime(2026, 3, 6, 12, tzinfo=timezone.utc) - EPOCH) // US
HOUR = 3_600_000_000
NAT = np.iinfo(np.int64).min

CALENDARS = [
    None,
    BusinessCalendar("America/Toronto", hours={"mon-fri": "09:00-17:00"}),
    BusinessCalendar(
        "Europe/Paris",
        hours={"mon-fri": ["08:30-12:00", "13:00-17:00"]},
        holidays=[date(2026, 3, 30)],
    ),
]
MODELS = [Disconfirmation(), ZoneOfTolerance(-0.2, 0.3)]


def moment(us: int) -> datetime:
    return EPOCH + timedelta(microseconds=int(us))


@pytest.fixture(scope="module")
def history() -> Any:
    return callback_centre_promises(n=120, seed=7)


@pytest.fixture(scope="module")
def book(history: Any) -> PromiseBook:
    return PromiseBook.from_history(history)


# ----------------------------------------------------------------------------- scorer


@st.composite
def rows(draw: st.DrawFn) -> tuple[int, int, int | None]:
    """(made, due, done or None) in µs, with ties likely."""
    made = BASE + draw(st.integers(0, 30 * 24 * HOUR))
    due = made + draw(st.one_of(st.just(0), st.integers(0, 5 * 24 * HOUR)))
    done: int | None = draw(
        st.one_of(
            st.none(),
            st.sampled_from([made, due, due + 1]),
            st.integers(made, due + 3 * 24 * HOUR),
        )
    )
    return made, due, done


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(rows(), min_size=1, max_size=12),
    st.sampled_from(CALENDARS),
    st.sampled_from(MODELS),
    st.sampled_from(["value", "expected_csat", "label"]),
)
def test_scorer_equals_one_by_one(
    data: list[tuple[int, int, int | None]],
    calendar: BusinessCalendar | None,
    model: Any,
    field: str,
) -> None:
    made = np.array([r[0] for r in data], dtype=np.int64)
    due = np.array([r[1] for r in data], dtype=np.int64)
    done = np.array([NAT if r[2] is None else r[2] for r in data], dtype=np.int64)
    now = max(max(r[1] for r in data), max((r[2] or 0) for r in data)) + HOUR
    scorer = SatisfactionScorer(model, calendar=calendar, field=field)
    assert isinstance(scorer, ColumnScorer)
    out = assess_columns(
        made_at=made.view("datetime64[us]"),
        due=due.view("datetime64[us]"),
        completed_at=done.view("datetime64[us]"),
        now=moment(now),
        calendar=calendar,
        scorer=scorer,
    )
    assert out.score is not None
    for i, (m, d, c) in enumerate(data):
        if c is None:
            assert math.isnan(out.score[i])
            continue
        expectation = Expectation(
            kind="promise", made_at=moment(m), due=moment(d), calendar=calendar
        )
        expected = model.score(expectation, expectation.completed(moment(c)))
        want = {
            "value": expected.value,
            "expected_csat": expected.expected_csat,
            "label": float(expected.label),
        }[field]
        assert out.score[i] == want


def test_scorer_arguments() -> None:
    assert isinstance(SatisfactionScorer().model, Disconfirmation)
    assert "field='value'" in repr(SatisfactionScorer())
    with pytest.raises(InvalidValueError, match="'field' must be one of"):
        SatisfactionScorer(field="csat")
    with pytest.raises(InvalidTypeError, match="'calendar' must be a BusinessCalendar"):
        SatisfactionScorer(calendar="UTC")  # type: ignore[arg-type]
    with pytest.raises(InvalidTypeError, match="'model' must be a satisfaction model"):
        SatisfactionScorer(model=object())  # type: ignore[arg-type]
    with pytest.raises(InvalidTypeError, match="'outcomes' must be OutcomeColumns"):
        SatisfactionScorer().score_columns([])  # type: ignore[arg-type]


# ----------------------------------------------------------------------------- satisfaction


def test_satisfaction_equals_scoring_the_promises(history: Any, book: PromiseBook) -> None:
    model = Disconfirmation()
    table = book.satisfaction(model)
    assert list(table.columns) == ["value", "label", "expected_csat"]
    assert table.index.name == "promise_id"
    assert list(table["label"].cat.categories) == [level.name for level in Level]
    closed = book.outcomes()["status"].isin(["kept", "late", "short"])
    assert list(table.index) == list(book.outcomes().index[closed.to_numpy()])
    by_id: dict[str, list[Any]] = {}
    for d in history.deliveries:
        by_id.setdefault(d.promise_id, []).append(d)
    checked = 0
    for promise in history.promises:
        if promise.id not in table.index or promise.terms or promise.revisions:
            continue  # the book keeps neither terms nor revision histories
        outcome = assess(
            promise, by_id.get(promise.id, []), now=history.now, calendar=history.calendar
        )
        expected = model.score(Expectation.from_promise(promise, history.calendar), outcome)
        row = table.loc[promise.id]
        assert row["value"] == expected.value
        assert row["label"] == expected.label.name
        assert row["expected_csat"] == expected.expected_csat
        checked += 1
    assert checked > 20


def test_satisfaction_default_model_and_calendar(book: PromiseBook) -> None:
    default = book.satisfaction()
    assert default.equals(book.satisfaction(Disconfirmation()))
    assert book.calendar is not None
    other = PromiseBook.from_frame(book.outcomes().reset_index(), now=book.now)
    real_time = other.satisfaction()  # no calendar: windows in real time
    assert list(real_time.index) == list(default.index)
    assert not np.allclose(real_time["value"], default["value"])
    with pytest.raises(InvalidTypeError, match="'model' must be a satisfaction model"):
        book.satisfaction("disconfirmation")  # type: ignore[arg-type]


def test_satisfaction_of_an_open_book() -> None:
    book = PromiseBook(
        made_at=np.array(["2026-03-02T09:00"], dtype="datetime64[us]"),
        due=np.array(["2026-03-02T10:00"], dtype="datetime64[us]"),
        now=datetime(2026, 3, 2, 9, 30, tzinfo=timezone.utc),
    )
    assert len(book.satisfaction()) == 0
    summary = book.summary(satisfaction=True)
    assert summary.loc[("all", "all"), "scored"] == 0
    assert math.isnan(summary.loc[("all", "all"), "mean_csat"])
    assert summary.loc[("all", "all"), "customers_lost"] == 0.0


# ----------------------------------------------------------------------------- summary

SAT_COLUMNS = [
    "scored",
    "share_very_dissatisfied",
    "share_dissatisfied",
    "share_neutral",
    "share_satisfied",
    "share_very_satisfied",
    "mean_csat",
    "people_told_positive",
    "people_told_negative",
    "customers_lost",
]


def test_summary_default_is_unchanged(book: PromiseBook) -> None:
    plain = book.summary()
    assert not set(SAT_COLUMNS) & set(plain.columns)
    rich = book.summary(satisfaction=True)
    # the book has a customer column (from the promises): customers scored are counted
    assert (
        list(rich.columns)
        == list(plain.columns) + SAT_COLUMNS[:1] + ["customers"] + (SAT_COLUMNS[1:])
    )
    pd.testing.assert_frame_equal(rich[list(plain.columns)], plain)


@pytest.mark.parametrize(
    "impact",
    [None, Impact(word_of_mouth=WordOfMouth.preset("3 vs 1"), churn=ChurnRisk(0.3, 0.5, 0.01))],
)
def test_summary_equals_impact_of_one_experience_per_promise_by_customer(
    book: PromiseBook, impact: Impact | None
) -> None:
    model = ZoneOfTolerance(-0.2, 0.3)
    summary = book.summary(("segment",), satisfaction=True, model=model, impact=impact)
    scores = book.satisfaction(model)
    frame = book.outcomes()
    reference = impact or Impact()
    expectations = {pid: model.labels._score(value, {}) for pid, value in scores["value"].items()}
    for by, group in summary.index:
        ids = list(scores.index)
        if by == "segment":
            ids = [i for i in ids if frame.loc[i, "segment"] == group]
        row = summary.loc[(by, group)]
        report = reference.summarize(
            Experience(
                str(frame.loc[i, "customer"]), expectations[i], kept=bool(frame.loc[i, "kept"])
            )
            for i in ids
        )
        assert row["scored"] == len(ids) == report.experiences
        assert row["customers"] == len(report.customers) < len(ids)  # customers, not promises
        assert row["people_told_positive"] == pytest.approx(report.people_told_positive)
        assert row["people_told_negative"] == pytest.approx(report.people_told_negative)
        assert row["customers_lost"] == pytest.approx(report.customers_lost)
        assert row["mean_csat"] == pytest.approx(scores.loc[ids, "expected_csat"].mean())
        labels = scores.loc[ids, "label"]
        for level in Level:
            share = row[f"share_{level.name.lower()}"]
            assert share == pytest.approx((labels == level.name).mean())
    shares = summary[[c for c in SAT_COLUMNS if c.startswith("share_")]].sum(axis=1)
    assert np.allclose(shares, 1.0)


def test_summary_impact_type(book: PromiseBook) -> None:
    with pytest.raises(InvalidTypeError, match="'impact' must be an Impact"):
        book.summary(satisfaction=True, impact=WordOfMouth())  # type: ignore[arg-type]


# ----------------------------------------------------------------------------- compare


def test_compare_equals_backtest_of_closed_promises(history: Any, book: PromiseBook) -> None:
    policies = {"none": NoBuffer(), "p90": QuantileBuffer(0.9, min_samples=10)}
    frame = book.outcomes()
    closed = frame[frame["status"].isin(["kept", "late", "short"])]
    records = [
        HistoryRecord(
            row.made_at.to_pydatetime(),
            row.completed_at.to_pydatetime(),
            None if pd.isna(row.segment) else row.segment,
            row.due.to_pydatetime(),
        )
        for row in closed.itertuples()
    ]
    for by_segment in (False, True):
        table = book.compare(policies, min_samples=10, by_segment=by_segment)
        expected = backtest(
            records,
            policies,
            calendar=history.calendar,
            min_samples=10,
            segment_key="segment" if by_segment else None,
        ).to_pandas()
        pd.testing.assert_frame_equal(table, expected)
    table = book.compare([QuantileBuffer(0.9, min_samples=10)], min_samples=10)
    assert list(table["policy"])[-1] == "historical promises"
    assert table["n_quoted"].iloc[-1] == len(closed)
    assert bool(table["business_time"].all())


def test_compare_arguments(book: PromiseBook) -> None:
    with pytest.raises(InvalidValueError):
        book.compare([])
    with pytest.raises(InvalidValueError):
        book.compare(NoBuffer(), min_samples=0)


# ----------------------------------------------------------------------------- vectorized

ZONES = ["UTC", "America/Toronto", "Europe/Paris", "Australia/Sydney", "America/Santiago"]


@st.composite
def calendars(draw: st.DrawFn) -> BusinessCalendar | None:
    zone = draw(st.sampled_from([None, *ZONES]))
    if zone is None:
        return None
    start = draw(st.integers(0, 11))
    end = draw(st.integers(start + 1, 23))
    days = draw(st.sampled_from(["mon-fri", "mon-sat", "mon-sun", "tue-thu"]))
    hours: dict[str, Any] = {days: f"{start:02d}:00-{end:02d}:30"}
    if draw(st.booleans()) and end - start >= 3:
        hours = {days: [f"{start:02d}:00-{start + 1:02d}:00", f"{start + 2:02d}:15-{end:02d}:00"]}
    holidays = draw(st.lists(st.dates(date(2026, 3, 1), date(2026, 4, 30)), max_size=3))
    return BusinessCalendar(zone, hours=hours, holidays=holidays)


@st.composite
def disconfirmations(draw: st.DrawFn) -> Disconfirmation:
    from promisekit.satisfaction import Labels, ProspectValue

    if draw(st.booleans()):
        return Disconfirmation()
    positive = st.floats(0.05, 3.0)
    value = ProspectValue(
        draw(st.one_of(positive, st.sampled_from([0.5, 1.0, 2.0]))),
        draw(st.one_of(positive, st.sampled_from([0.5, 1.0, 2.0]))),
        draw(st.floats(0.1, 5.0)),
        gain_cap=draw(st.one_of(st.none(), st.floats(0.1, 5.0))),
        loss_cap=draw(st.one_of(st.none(), st.floats(0.1, 5.0))),
    )
    cuts = sorted(draw(st.sets(st.floats(-5.0, 5.0), min_size=4, max_size=4)))
    return Disconfirmation(
        value,
        relative=draw(st.booleans()),
        unit=timedelta(minutes=draw(st.integers(1, 24 * 60))),
        min_window=timedelta(seconds=draw(st.integers(1, 7200))),
        breach=draw(st.floats(0.0, 2.0)),
        labels=Labels(
            draw(st.sampled_from([None, tuple(cuts)])) or (-2.75, -0.25, 0.0, 0.5),
            scale=draw(st.one_of(st.none(), st.floats(0.05, 3.0))),
            link=draw(st.sampled_from(["logit", "probit"])),
        ),
    )


@st.composite
def windows(draw: st.DrawFn) -> tuple[int, int, int | None]:
    """(made, due, done or None) in µs: random windows and lateness, ties likely."""
    made = BASE + draw(st.integers(-40 * 24 * HOUR, 60 * 24 * HOUR))
    due = made + draw(st.one_of(st.just(0), st.integers(0, 10 * 24 * HOUR)))
    late = draw(
        st.one_of(
            st.sampled_from([0, 1, -1]),
            st.integers(made - due, 10 * 24 * HOUR),
        )
    )
    done = None if draw(st.integers(0, 9)) == 0 else max(made, due + late)
    return made, due, done


def _close(a: float, b: float) -> bool:
    return a == b or abs(a - b) <= 1e-12 * max(abs(a), abs(b))


def _vectorized_equals_one_by_one(
    data: list[tuple[int, int, int | None]],
    calendar: BusinessCalendar | None,
    model: Disconfirmation,
) -> None:
    from promisekit.analysis._scoring import _score_vectorized, score_closed

    made = np.array([r[0] for r in data], dtype=np.int64)
    due = np.array([r[1] for r in data], dtype=np.int64)
    done = np.array([NAT if r[2] is None else r[2] for r in data], dtype=np.int64)
    now = max(max(r[1] for r in data), max((r[2] or 0) for r in data)) + HOUR
    columns = assess_columns(
        made_at=made.view("datetime64[us]"),
        due=due.view("datetime64[us]"),
        completed_at=done.view("datetime64[us]"),
        now=moment(now),
        calendar=calendar,
    )
    rows, scores = score_closed(model, columns, calendar)  # the one-by-one path
    got = {
        field: _score_vectorized(model, columns, calendar, field)
        for field in ("value", "expected_csat", "label")
    }
    assert all(v is not None for v in got.values())
    open_rows = np.setdiff1d(np.arange(len(data)), rows)
    for field in got:
        assert np.isnan(got[field][open_rows]).all()  # type: ignore[index]
    for i, s in zip(rows.tolist(), scores, strict=True):
        assert got["label"][i] == float(s.label)  # type: ignore[index]
        assert _close(float(got["value"][i]), s.value)  # type: ignore[index]
        assert _close(float(got["expected_csat"][i]), s.expected_csat)  # type: ignore[index]
        scorer = SatisfactionScorer(model, calendar=calendar, field="label")
        assert scorer.score_columns(columns)[i] == float(s.label)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(windows(), min_size=1, max_size=25), calendars(), disconfirmations())
def test_vectorized_scorer_equals_one_by_one(
    data: list[tuple[int, int, int | None]],
    calendar: BusinessCalendar | None,
    model: Disconfirmation,
) -> None:
    _vectorized_equals_one_by_one(data, calendar, model)


# Cut points, scales and links at the edges of the float range: tiny gaps (a steep
# segment), gaps that overflow, a tiny scale, the probit link.
EDGE_LABELS = [
    ((-1.0, 0.0, 5e-324, 1.0), None, "logit"),
    ((0.0, 5e-324, 0.5, 1.0), None, "logit"),
    ((-1e308, -5e-324, 0.0, 1.7e308), None, "logit"),
    ((-1.7e308, 1.7e308, 1.71e308, 1.72e308), None, "logit"),
    ((-1.7e308, 1.7e308, 1.71e308, 1.72e308), 1.0, "logit"),
    ((-2.75, -0.25, 0.0, 0.5), 5e-324, "logit"),
    ((-2.75, -0.25, 0.0, 0.5), 5e-324, "probit"),
    ((-2.75, -0.25, 0.0, 0.5), 0.7, "probit"),
    ((-1.0, 0.0, 5e-324, 1.0), 0.7, "probit"),
]


@pytest.mark.parametrize(
    "data",
    [
        # found by Hypothesis: both closed rows have value 0 or 1/60, the cut points a
        # 5e-324 gap; every segment was evaluated for every value, 1/5e-324 overflowed
        [
            (1_772_798_400_000_000, 1_772_798_400_000_000, None),
            (1_772_798_400_000_000, 1_772_798_400_000_000, None),
            (1_772_798_400_000_000, 1_772_798_400_000_000, 1_772_798_400_000_001),
        ],
        [(BASE, BASE + HOUR, BASE + d * HOUR // 4) for d in range(9)],
    ],
)
@pytest.mark.parametrize(("cutpoints", "scale", "link"), EDGE_LABELS)
def test_vectorized_scorer_on_edge_labels(
    data: list[tuple[int, int, int | None]],
    cutpoints: tuple[float, float, float, float],
    scale: float | None,
    link: str,
) -> None:
    from promisekit.satisfaction import Labels, ProspectValue

    model = Disconfirmation(
        ProspectValue(alpha=1.0, beta=1.0, lam=1.0),
        relative=False,
        unit=timedelta(minutes=1),
        min_window=timedelta(seconds=1),
        breach=0.0,
        labels=Labels(cutpoints, scale=scale, link=link),
    )
    _vectorized_equals_one_by_one(data, None, model)


@pytest.mark.parametrize(("cutpoints", "scale", "link"), EDGE_LABELS)
def test_vectorized_expected_csat_on_edge_labels(
    cutpoints: tuple[float, float, float, float], scale: float | None, link: str
) -> None:
    from promisekit.analysis._scoring import _expected_csat_many
    from promisekit.satisfaction import Labels

    labels = Labels(cutpoints, scale=scale, link=link)
    values = [-1.7e308, -1e308, -2.0, -1.0, -0.1, -5e-324, 0.0, 5e-324, 1e-300, 0.2, 1.0]
    values += [2.0, 1e308, 1.7e308, *cutpoints]
    expected = [labels.expected_csat(v) for v in values]
    got = _expected_csat_many(labels, np.array(values))
    assert got.tolist() == expected
    assert all(1.0 <= x <= 5.0 for x in expected)


def test_expected_csat_with_cut_points_further_apart_than_the_float_range() -> None:
    from promisekit.satisfaction import Labels

    # c2 - c1 overflows to inf: the segment used to be flat at 2.5
    labels = Labels((-1.7e308, 1.7e308, 1.71e308, 1.72e308))
    assert labels.expected_csat(0.0) == 2.0
    assert labels.expected_csat(-1e308) == pytest.approx(1.5 + 0.7 / 3.4)
    assert labels.expected_csat(-1.7e308) == 1.5
    assert labels.expected_csat(1.715e308) == pytest.approx(4.0)
    # a 5e-324 gap: NEUTRAL only at exactly 0, a vertical step between 2.5 and 3.5
    tiny = Labels((-1.0, 0.0, 5e-324, 1.0))
    assert [tiny.expected_csat(v) for v in (-0.5, 0.0, 5e-324, 0.5)] == [2.0, 2.5, 3.5, 4.0]
    assert tiny.level(0.0) == Level.NEUTRAL and tiny.level(5e-324) == Level.SATISFIED


def test_vectorized_scorer_caps_an_overflowing_power_as_the_scalar_model() -> None:
    from promisekit.satisfaction import ProspectValue

    # 10 days late on a 1 s window: |D| = 864000 and 864000 ** 60 overflows; the scalar
    # value function caps the power at exp(300), numpy warned and gave -inf
    model = Disconfirmation(
        ProspectValue(beta=60.0), relative=True, min_window=timedelta(seconds=1)
    )
    data: list[tuple[int, int, int | None]] = [(BASE, BASE + 1_000_000, BASE + 240 * HOUR)]
    data.append((BASE, BASE + 1_000_000, BASE))
    _vectorized_equals_one_by_one(data, None, model)
    model = Disconfirmation(
        ProspectValue(beta=60.0, loss_cap=5e-324), relative=True, min_window=timedelta(seconds=1)
    )
    _vectorized_equals_one_by_one(data, None, model)


def test_vectorized_scorer_is_used_for_disconfirmation(monkeypatch: pytest.MonkeyPatch) -> None:
    from promisekit.analysis import _scoring

    def fail(*args: Any) -> Any:
        raise AssertionError("per-row path used")

    made = np.array([BASE, BASE, BASE], dtype=np.int64)
    due = made + HOUR
    done = np.array([BASE + HOUR // 2, BASE + 2 * HOUR, NAT], dtype=np.int64)
    columns = assess_columns(
        made_at=made.view("datetime64[us]"),
        due=due.view("datetime64[us]"),
        completed_at=done.view("datetime64[us]"),
        now=moment(BASE + 3 * HOUR),
    )
    expected = SatisfactionScorer(field="label").score_columns(columns)
    monkeypatch.setattr(_scoring, "score_closed", fail)
    labels = SatisfactionScorer(field="label").score_columns(columns)
    np.testing.assert_array_equal(labels, expected)
    assert labels[0] == float(Level.VERY_SATISFIED) and labels[1] == float(Level.DISSATISFIED)
    assert math.isnan(labels[2])
    with pytest.raises(AssertionError, match="per-row path used"):
        SatisfactionScorer(ZoneOfTolerance(-0.2, 0.3)).score_columns(columns)


def test_scorer_falls_back_to_one_by_one_for_other_models() -> None:
    calls: list[int] = []

    class Custom:
        def score(self, expectation: Expectation, outcome: Any) -> Any:
            return Disconfirmation().score(expectation, outcome)

        def score_many(self, pairs: Any) -> Any:
            pairs = list(pairs)
            calls.append(len(pairs))
            return [self.score(e, o) for e, o in pairs]

    made = np.array([BASE, BASE], dtype=np.int64)
    columns = assess_columns(
        made_at=made.view("datetime64[us]"),
        due=(made + HOUR).view("datetime64[us]"),
        completed_at=(made + 2 * HOUR).view("datetime64[us]"),
        now=moment(BASE + 3 * HOUR),
    )
    got = SatisfactionScorer(Custom()).score_columns(columns)  # type: ignore[arg-type]
    assert calls == [2]
    np.testing.assert_array_equal(got, SatisfactionScorer().score_columns(columns))
