"""Fitting, prediction and evaluation of the satisfaction models on synthetic data.

Every data set is generated here from known parameters (seeded), so the tests check
that maximum likelihood recovers them within stated tolerances.
"""

from __future__ import annotations

import math
import pickle
import random
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

import numpy as np
import pytest

from promisekit.calendar import BusinessCalendar
from promisekit.delivery import Outcome
from promisekit.errors import (
    InconsistentRecordError,
    InsufficientDataError,
    InvalidTypeError,
    InvalidValueError,
    MissingDependencyError,
    NotFittedError,
)
from promisekit.promise import Promise, Terms
from promisekit.satisfaction import (
    ConvergenceWarning,
    Disconfirmation,
    Evaluation,
    Expectation,
    Labels,
    Level,
    ProspectValue,
    ZoneOfTolerance,
    _fit,
    _fitted,
)

START = datetime(2026, 1, 5, 9, 0, tzinfo=timezone.utc)
OFFICE = BusinessCalendar("Europe/Paris", hours={"mon-fri": "09:00-17:00"})
TRUE_SCALE = 0.4

History = tuple[list[Expectation], list[Outcome], list[int]]


def draw_level(rng: random.Random, probabilities: tuple[float, ...]) -> int:
    u = rng.random()
    for level, p in enumerate(probabilities, 1):
        u -= p
        if u <= 0:
            return level
    return 5


def callbacks(n: int, seed: int, model: Disconfirmation | None = None) -> History:
    """Callbacks promised within 30 min to 8 h, durations lognormal around 80 % of it."""
    rng = random.Random(seed)
    model = model or Disconfirmation()
    labels = Labels(model.labels.cutpoints, scale=TRUE_SCALE)
    expectations, outcomes, scores = [], [], []
    for i in range(n):
        made = START + timedelta(minutes=7 * i)
        window = timedelta(minutes=rng.choice((30, 60, 120, 240, 480)))
        e = Expectation(kind="callback", made_at=made, due=made + window, request_id=f"P-{i}")
        o = e.completed(made + window * math.exp(rng.gauss(math.log(0.8), 0.5)))
        probabilities = labels.probabilities(model.score(e, o).value)
        assert probabilities is not None
        expectations.append(e)
        outcomes.append(o)
        scores.append(draw_level(rng, probabilities))
    return expectations, outcomes, scores


def mixed(n: int, seed: int) -> tuple[list[Expectation], list[Outcome]]:
    """Revised promises (proactive and late), terms, self-formed expectations, calendars."""
    rng = random.Random(seed)
    expectations, outcomes = [], []
    for i in range(n):
        made = START + timedelta(hours=5 * i, minutes=rng.randrange(60))
        due = made + timedelta(minutes=rng.choice((30, 60, 240)))
        calendar = rng.choice((None, OFFICE))
        if rng.random() < 0.2:
            e = Expectation.from_norm(
                "callback", made, timedelta(hours=1), calendar=calendar, terms=Terms(quality=3)
            )
            o = e.completed(
                made + timedelta(minutes=rng.uniform(5, 200)), quality=rng.uniform(2, 4)
            )
        else:
            p = Promise(
                id=f"P-{i}",
                customer_id="C",
                kind="repair",
                made_at=made,
                due=due,
                terms=Terms(quantity=2, max_cost="40") if rng.random() < 0.3 else None,
            )
            for _ in range(rng.choice((0, 0, 1, 2))):
                at = p.due + timedelta(minutes=rng.uniform(-25, 40))
                at = max(at, (p.revisions[-1].at if p.revisions else p.made_at))
                p = p.revise(due=at + timedelta(minutes=rng.uniform(10, 120)), at=at)
            e = Expectation.from_promise(p, calendar)
            last = p.revisions[-1].at if p.revisions else p.made_at
            o = e.completed(last + timedelta(minutes=rng.uniform(1, 300)), cost=rng.uniform(30, 50))
        expectations.append(e)
        outcomes.append(o)
    return expectations, outcomes


@pytest.fixture(scope="module")
def history() -> History:
    return callbacks(15_000, seed=7)


@pytest.fixture(scope="module")
def fitted(history: History) -> Disconfirmation:
    return Disconfirmation().fit(*history)


# --------------------------------------------------------------------------- recovery


TOLERANCE = {  # absolute tolerances at 15,000 rows (about 3 standard errors)
    "alpha": 0.3,
    "beta": 0.12,
    "lam": 0.35,
    "breach": 0.18,
    "scale": 0.05,
}
CUT_TOLERANCE = (0.4, 0.12, 0.12, 0.12)


def test_fit_recovers_the_generating_parameters(fitted: Disconfirmation) -> None:
    truth = {"alpha": 0.88, "beta": 0.88, "lam": 2.25, "breach": 0.5, "scale": TRUE_SCALE}
    for name, value in truth.items():
        estimate, se = fitted.params_[name], fitted.bse_[name]
        assert abs(estimate - value) < TOLERANCE[name], name
        assert abs(estimate - value) < 4 * se, name
        assert 0 < se < TOLERANCE[name]
    for estimate, value, tol in zip(
        fitted.cutpoints_, (-2.75, -0.25, 0.0, 0.5), CUT_TOLERANCE, strict=True
    ):
        assert abs(estimate - value) < tol
    assert fitted.n_obs_ == 15_000
    assert fitted.loglik_ is not None and fitted.loglik_ < 0
    assert fitted.is_fitted
    assert "fitted on 15,000 observations" in repr(fitted)


def test_fitted_model_scores_with_probabilities(fitted: Disconfirmation) -> None:
    e = Expectation(kind="callback", made_at=START, due=START + timedelta(hours=1))
    s = fitted.score(e, e.completed(START + timedelta(minutes=59)))
    assert s.probabilities is not None
    assert sum(s.probabilities) == pytest.approx(1.0)
    assert s.label is Level.SATISFIED
    assert fitted.labels_.scale == fitted.params_["scale"]
    assert fitted.value_ == ProspectValue(
        fitted.params_["alpha"], fitted.params_["beta"], fitted.params_["lam"]
    )
    unfitted = Disconfirmation()
    assert unfitted == fitted  # equality compares hyperparameters only
    assert unfitted.score(e, e.completed(START)).probabilities is None


def test_predict_matches_pure_python_scoring(fitted: Disconfirmation) -> None:
    expectations, outcomes = mixed(300, seed=3)
    prediction = fitted.predict(expectations, outcomes)
    scores = fitted.score_many(list(zip(expectations, outcomes, strict=True)))
    values = np.array([s.value for s in scores])
    assert np.allclose(prediction.values, values, rtol=1e-9, atol=1e-9)
    assert np.allclose(prediction.expected, [s.expected_csat for s in scores], atol=1e-9)
    assert np.allclose(prediction.probabilities.sum(axis=1), 1.0)
    assert np.allclose(prediction.probabilities, [s.probabilities for s in scores], atol=1e-9)
    assert len(prediction.labels) == 300
    assert any("revision" in s.components for s in scores)


def test_evaluate_beats_the_duration_only_baseline(
    fitted: Disconfirmation, history: History
) -> None:
    evaluation = fitted.evaluate(*history)
    assert isinstance(evaluation, Evaluation)
    assert evaluation.n == 15_000
    assert evaluation.mae < evaluation.baseline_mae
    assert evaluation.log_loss < evaluation.baseline_log_loss
    assert not evaluation.baseline_in_sample
    assert sum(row.n for row in evaluation.calibration) == 15_000
    for row in evaluation.calibration:
        if row.n > 500:
            assert abs(row.predicted - row.observed) < 0.1
    text = str(evaluation)
    assert "MAE" in text and "log-loss" in text and "calibration (baseline)" in text


def test_sample_weight_is_a_frequency_weight() -> None:
    e, o, y = callbacks(2_500, seed=11)
    weights = [2.0 if i % 3 == 0 else 1.0 for i in range(len(y))]
    weighted = Disconfirmation().fit(e, o, y, sample_weight=weights)
    twice = [i for i in range(len(y)) if i % 3 == 0]
    copies = Disconfirmation().fit(
        e + [e[i] for i in twice], o + [o[i] for i in twice], y + [y[i] for i in twice]
    )
    for name, value in weighted.params_.items():
        assert value == pytest.approx(copies.params_[name], rel=2e-3, abs=2e-3)
    assert weighted.n_obs_ == 2_500 and copies.n_obs_ == 2_500 + len(twice)


def test_fit_accepts_promises_with_a_calendar() -> None:
    rng = random.Random(5)
    promises, outcomes, scores = [], [], []
    labels = Labels(scale=TRUE_SCALE)
    model = Disconfirmation()
    for i in range(1_500):
        made = START + timedelta(days=i // 6, hours=i % 6)
        p = Promise(
            id=f"P-{i}",
            customer_id="C",
            kind="callback",
            made_at=made,
            due=OFFICE.add(made, timedelta(hours=2)),
        )
        done = OFFICE.add(made, timedelta(minutes=120 * math.exp(rng.gauss(-0.2, 0.5))))
        o = Expectation.from_promise(p, OFFICE).completed(done)
        probabilities = labels.probabilities(model.score_promise(p, o, calendar=OFFICE).value)
        assert probabilities is not None
        promises.append(p)
        outcomes.append(o)
        scores.append(draw_level(rng, probabilities))
    fitted = Disconfirmation().fit(promises, outcomes, scores, calendar=OFFICE)
    assert fitted.params_["lam"] == pytest.approx(2.25, abs=1.2)


# --------------------------------------------------------------------------- shapes


def deliveries_with_saturating_penalty(
    n: int, seed: int
) -> tuple[History, list[float], Callable[[float], float]]:
    """Parcels scored on a curve that drops steeply over the first days late, then levels off."""
    rng = random.Random(seed)

    def mean_score(days_late: float) -> float:
        if days_late <= 0:
            return 4.3 + 0.3 * (1 - math.exp(days_late / 2))  # a small gain for being early
        return 4.3 - 2.4 * (1 - math.exp(-days_late / 1.5))

    expectations, outcomes, scores, lateness = [], [], [], []
    for i in range(n):
        made = START + timedelta(hours=3 * i)
        window = timedelta(days=rng.choice((2, 3, 5)))
        late = rng.choice((-3, -2, -1, -0.5, 0, 0, 0, 0.5, 1, 1, 2, 3, 4, 6, 8, 10))
        late = max(late + rng.uniform(-0.2, 0.2), 0.1 - window.days)
        e = Expectation(kind="parcel", made_at=made, due=made + window, request_id=f"P-{i}")
        expectations.append(e)
        outcomes.append(e.completed(made + window + timedelta(days=late)))
        scores.append(min(5, max(1, round(mean_score(late) + rng.gauss(0, 0.8)))))
        lateness.append(late)
    return (expectations, outcomes, scores), lateness, mean_score


def test_the_family_expresses_a_saturating_penalty_and_a_small_early_gain() -> None:
    (e, o, y), lateness, _ = deliveries_with_saturating_penalty(12_000, seed=1)
    model = Disconfirmation(
        value=ProspectValue(gain_cap=1.0, loss_cap=1.0), relative=False, unit=timedelta(days=1)
    ).fit(e, o, y)
    expected = model.predict(e, o).expected
    buckets = np.round(np.array(lateness))
    observed = np.array(y, dtype=float)
    for bucket in np.unique(buckets):
        rows = buckets == bucket
        assert abs(expected[rows].mean() - observed[rows].mean()) < 0.08, bucket
    # steep over the first days, then flat; small gain for being early
    days = [0.0, 1.0, 2.0, 6.0, 10.0]
    curve = [float(model.predict(*_one(d)).expected[0]) for d in days]
    assert curve[0] - curve[1] > 0.6 and curve[3] - curve[4] < 0.15
    early = float(model.predict(*_one(-3.0)).expected[0])
    assert 0 < early - curve[0] < 0.5
    assert model.print_summary() is None


def _one(days_late: float) -> tuple[list[Expectation], list[Outcome]]:
    e = Expectation(kind="parcel", made_at=START, due=START + timedelta(days=5))
    return [e], [e.completed(e.due + timedelta(days=days_late))]


def test_zone_of_tolerance_fits_in_logit_units(history: History) -> None:
    zone = ZoneOfTolerance(-0.1, 0.5).fit(*history)
    assert zone.params_["scale"] == 1.0 and math.isnan(zone.bse_["scale"])
    assert set(zone.params_) == {"below", "inside", "above", "breach", "scale"}
    assert zone.params_["below"] > zone.params_["inside"]
    assert zone.evaluate(*history).mae < zone.evaluate(*history).baseline_mae
    assert "ZoneOfTolerance(adequate=-0.1, desired=0.5, fitted on 15,000" in repr(zone)


# --------------------------------------------------------------------------- aggregated


def test_fit_aggregated_recovers_the_value_function() -> None:
    truth = Disconfirmation(value=ProspectValue(0.7, 0.6, 3.0), breach=0.3)
    labels = Labels(truth.labels.cutpoints, scale=0.5)
    lateness = [timedelta(minutes=m) for m in range(-55, 185, 10)]
    e = Expectation(kind="callback", made_at=START, due=START + timedelta(hours=1))
    means = [
        labels.expected_csat(truth.score(e, e.completed(e.due + late)).value) for late in lateness
    ]
    counts = [200] * len(lateness)
    model = Disconfirmation().fit_aggregated(
        lateness, means, counts, window=timedelta(hours=1), fix_cutpoints=True
    )
    expected = {"alpha": 0.7, "beta": 0.6, "lam": 3.0, "breach": 0.3, "scale": 0.5}
    for name, value in expected.items():
        assert model.params_[name] == pytest.approx(value, rel=1e-3, abs=1e-3), name
    assert model.cutpoints_ == Labels().cutpoints
    # by default the 24 buckets carry the cut points too: fitted, and every mean recovered
    free = Disconfirmation().fit_aggregated(lateness, means, counts, window=timedelta(hours=1))
    assert free.cutpoints_ != Labels().cutpoints
    assert list(free.cutpoints_) == sorted(free.cutpoints_)
    pairs = [(e, e.completed(e.due + late)) for late in lateness]
    fitted = free.predict([p[0] for p in pairs], [p[1] for p in pairs]).expected
    assert max(abs(float(f) - m) for f, m in zip(fitted, means, strict=True)) < 0.01
    assert model.n_obs_ == 200 * len(lateness)
    assert model.loglik_ is None
    assert "aggregated observations" in repr(model)
    # noisy means: still close, with finite standard errors
    rng = random.Random(2)
    noisy = [min(5.0, max(1.0, m + rng.gauss(0, 0.03))) for m in means]
    model = Disconfirmation().fit_aggregated(
        lateness, noisy, counts, window=timedelta(hours=1), fix_cutpoints=True
    )
    assert model.params_["lam"] == pytest.approx(3.0, rel=0.3)
    assert all(math.isfinite(model.bse_[n]) for n in expected)
    evaluation = model.evaluate(*callbacks(1_000, seed=4))
    assert evaluation.baseline_in_sample


def test_fit_aggregated_absolute_needs_no_window() -> None:
    lateness = [timedelta(days=d) for d in (-2, -1, 0.5, 1, 2, 3, 5, 8)]
    means = [4.5, 4.4, 3.0, 2.6, 2.2, 2.0, 1.9, 1.8]
    model = Disconfirmation(relative=False, unit=timedelta(days=1))
    with pytest.warns(ConvergenceWarning, match=r"breach \(at a bound\)"):
        model.fit_aggregated(lateness, means, [50] * 8)
    assert model.is_fitted


# --------------------------------------------------------------------------- tables


def test_summary_table(fitted: Disconfirmation, capsys: pytest.CaptureFixture[str]) -> None:
    table = fitted.summary
    assert list(table.columns) == [
        "estimate",
        "std_err",
        "ci_lower",
        "ci_upper",
        "fixed",
        "determined",
    ]
    assert table["determined"].all()
    assert list(table.index) == ["alpha", "beta", "lam", "breach", "scale", "c1", "c2", "c3", "c4"]
    fitted.print_summary()
    out = capsys.readouterr().out
    assert "maximum likelihood" in out and "15,000 observations" in out and "converged: yes" in out


def test_summary_without_pandas(fitted: Disconfirmation, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_pandas(package: str, feature: str) -> Any:
        raise MissingDependencyError(package, "analysis", feature)

    monkeypatch.setattr(_fitted, "require", no_pandas)
    rows = fitted.summary
    assert isinstance(rows, list) and rows[0]["parameter"] == "alpha"


def test_fitted_model_pickles(fitted: Disconfirmation) -> None:
    again = pickle.loads(pickle.dumps(fitted))
    assert again.is_fitted and again.params_ == fitted.params_


# --------------------------------------------------------------------------- errors


def test_unfitted_use_raises_not_fitted_error() -> None:
    model = Disconfirmation()
    for name in (
        "params_",
        "cutpoints_",
        "bse_",
        "n_obs_",
        "loglik_",
        "labels_",
        "value_",
        "summary",
    ):
        with pytest.raises(NotFittedError, match=f"not fitted yet.*{name}"):
            getattr(model, name)
    with pytest.raises(AttributeError):
        model.print_summary()
    with pytest.raises(NotFittedError, match="'predict'"):
        model.predict([], [])
    with pytest.raises(NotFittedError, match="'evaluate'"):
        model.evaluate([], [], [])
    assert not model.is_fitted and "unfitted" in repr(model)


@pytest.fixture(scope="module")
def small() -> History:
    return callbacks(400, seed=9)


@pytest.mark.parametrize(
    ("mutate", "error", "words"),
    [
        (lambda e, o, y: (e, o[:-1], y), InvalidValueError, "'outcomes' must have one entry per"),
        (lambda e, o, y: (e, o, y[:-1]), InvalidValueError, "'scores' must have one entry per"),
        (lambda e, o, y: (e, o, [*y[:-1], 6]), InvalidValueError, "ints from 1 to 5 \\(got 6 at"),
        (lambda e, o, y: (e, o, [*y[:-1], 4.5]), InvalidTypeError, "got float 4.5 at index 399"),
        (lambda e, o, y: (e, o, [*y[:-1], True]), InvalidTypeError, "got bool True"),
        (lambda e, o, y: (e, o, np.full(400, 0)), InvalidValueError, "got 0 at index 0"),
        (lambda e, o, y: (e, o, [min(s, 4) for s in y]), InsufficientDataError, "VERY_SATISFIED"),
        (lambda e, o, y: (e[:5], o[:5], y[:5]), InsufficientDataError, "every level|more rows"),
        (lambda e, o, y: (["P", *e[1:]], o, y), InvalidTypeError, "Expectation or Promise"),
        (lambda e, o, y: (e, [None, *o[1:]], y), InvalidTypeError, "Outcome instances"),
        (lambda e, o, y: (e, o, "12345"), InvalidTypeError, "'scores' must be a sequence"),
        (lambda e, o, y: ([o[0], *e[1:]], o, y), InvalidTypeError, "at index 0"),
        (lambda e, o, y: (e[1:] + e[:1], o, y), InconsistentRecordError, "at index 0"),
    ],
)
def test_fit_errors(small: History, mutate: Callable[..., Any], error: type, words: str) -> None:
    with pytest.raises(error, match=words):
        Disconfirmation().fit(*mutate(*small))


@pytest.mark.parametrize(
    ("weights", "error", "words"),
    [
        ([1.0] * 399, InvalidValueError, "'sample_weight' must have one entry per"),
        ([-1.0] + [1.0] * 399, InvalidValueError, "finite and >= 0 \\(got -1.0 at index 0"),
        ([0.0] * 400, InvalidValueError, "must not be all zero"),
        (["a"] * 400, InvalidTypeError, "'sample_weight' must contain numbers"),
    ],
)
def test_sample_weight_errors(small: History, weights: list[Any], error: type, words: str) -> None:
    with pytest.raises(error, match=words):
        Disconfirmation().fit(*small, sample_weight=weights)


LATE = [timedelta(minutes=m) for m in (-30, -10, 5, 20, 40, 60, 90, 120)]
MEANS = [4.6, 4.2, 2.5, 2.2, 2.0, 1.8, 1.5, 1.3]


@pytest.mark.parametrize(
    ("args", "kwargs", "error", "words"),
    [
        ((LATE, MEANS, [10] * 8), {}, InvalidValueError, "'window' must be given"),
        (
            (LATE, MEANS, [10] * 8),
            {"window": 3600},
            InvalidTypeError,
            "'window' must be a timedelta",
        ),
        ((LATE, MEANS, [10] * 8), {"window": timedelta(0)}, InvalidValueError, "positive duration"),
        ((LATE, MEANS[:-1], [10] * 8), {}, InvalidValueError, "'mean_scores' must have one entry"),
        (([1] * 8, MEANS, [10] * 8), {}, InvalidTypeError, "'lateness' must contain timedeltas"),
        ((LATE, [*MEANS[:-1], 5.5], [10] * 8), {}, InvalidValueError, "within \\[1, 5\\]"),
        ((LATE, [*MEANS[:-1], "2"], [10] * 8), {}, InvalidTypeError, "'mean_scores' must contain"),
        ((LATE, MEANS, [-1] + [10] * 7), {}, InvalidValueError, "'counts' must be finite and >= 0"),
        ((LATE, MEANS, [0] * 8), {"window": timedelta(hours=1)}, InvalidValueError, "all zero"),
        (
            (LATE[:4], MEANS[:4], [10] * 4),
            {"window": timedelta(hours=1)},
            InsufficientDataError,
            "more non-empty buckets",
        ),
    ],
)
def test_fit_aggregated_errors(
    args: tuple[Any, ...], kwargs: dict[str, Any], error: type, words: str
) -> None:
    with pytest.raises(error, match=words):
        Disconfirmation().fit_aggregated(*args, **kwargs)


def test_evaluate_errors(fitted: Disconfirmation) -> None:
    with pytest.raises(InsufficientDataError, match="must not be empty"):
        fitted.evaluate([], [], [])


# --------------------------------------------------------------------------- gradient


@pytest.mark.parametrize(
    "model",
    [
        Disconfirmation(),
        Disconfirmation(value=ProspectValue(0.7, 0.5, 3.0, gain_cap=0.8, loss_cap=1.5)),
        ZoneOfTolerance(-0.1, 0.5, breach=0.3),
    ],
)
@pytest.mark.parametrize("link", ["logit", "probit"])
@pytest.mark.parametrize("covariates", [0, 2])
@pytest.mark.parametrize("segments", [0, 3])
def test_the_likelihood_gradient_is_exact(
    model: Disconfirmation, link: str, covariates: int, segments: int
) -> None:
    """The analytic gradient (revisions, caps, zones, links, covariates) is exact."""
    from promisekit.satisfaction._design import _design, _rows

    expectations, outcomes = mixed(400, seed=8)
    rng = random.Random(8)
    rows = _rows(model, expectations, outcomes, None)
    design = _design(np, model, rows)
    y = np.array([rng.randint(1, 5) for _ in rows])
    w = np.array([rng.uniform(0.5, 2.0) for _ in rows])
    value = model._hyper_value()
    columns = np.array([[rng.gauss(0, 1) for _ in rows] for _ in range(covariates)])
    groups = np.array([i % segments for i in range(len(rows))]) if segments else None
    cols = columns if covariates else None
    natural = _fit._likelihood(np, value, design, y, w, cols, link, groups)
    gammas = [0.3, -0.2][:covariates]
    ratios = [1.5, 0.6][: max(segments - 1, 0)]
    nat = np.array([*value._params(), 0.4, 0.7, -2.0, -0.3, 0.1, 0.6, *gammas, *ratios])
    _, grad = natural(nat)
    for j in range(nat.size):
        step = 1e-6 * max(1.0, abs(nat[j]))
        up, down = nat.copy(), nat.copy()
        up[j] += step
        down[j] -= step
        numeric = (natural(up)[0] - natural(down)[0]) / (2 * step)
        assert grad[j] == pytest.approx(numeric, rel=1e-5, abs=1e-4), j
    assert design.late_row.size > 0  # late revisions were exercised


def test_zone_slopes_can_shrink_to_nearly_zero_and_still_score() -> None:
    (e, o, y), _, _ = deliveries_with_saturating_penalty(4_000, seed=6)
    zone = ZoneOfTolerance(0.0, 0.5, relative=False, unit=timedelta(days=1)).fit(e, o, y)
    assert zone.params_["above"] < 0.2 * zone.params_["below"]  # a flat gain side
    s = zone.score(e[0], o[0])
    assert s.probabilities is not None and zone.value_.below > 0
