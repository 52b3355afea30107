"""Intervals and the summary's account of identifiability (issue 16)."""

from __future__ import annotations

import math
import random
import warnings
from datetime import UTC, datetime, timedelta

import pytest

from promisekit.errors import InvalidTypeError, InvalidValueError
from promisekit.satisfaction import (
    ConvergenceWarning,
    Disconfirmation,
    Expectation,
    Labels,
    ProspectValue,
)

pytest.importorskip("scipy")

START = datetime(2026, 1, 1, tzinfo=UTC)
HOUR = timedelta(hours=1)


def _history(n: int, seed: int) -> tuple[list[Expectation], list[object], list[int]]:
    rng = random.Random(seed)
    truth = Disconfirmation()
    labels = Labels(truth.labels.cutpoints, scale=0.4)
    expectations, outcomes, scores = [], [], []
    for _ in range(n):
        window = timedelta(minutes=rng.choice((30, 60, 120, 240)))
        e = Expectation(kind="callback", made_at=START, due=START + window)
        o = e.completed(START + window * math.exp(rng.gauss(math.log(0.8), 0.5)))
        probabilities = labels.probabilities(truth.score(e, o).value)
        assert probabilities is not None
        u, level = rng.random(), 5
        for k, p in enumerate(probabilities, 1):
            u -= p
            if u <= 0:
                level = k
                break
        expectations.append(e)
        outcomes.append(o)
        scores.append(level)
    return expectations, outcomes, scores


@pytest.fixture(scope="module")
def history() -> tuple[list[Expectation], list[object], list[int]]:
    return _history(3_000, seed=5)


def test_wald_intervals_of_positive_parameters_stay_positive(
    history: tuple[list[Expectation], list[object], list[int]],
) -> None:
    model = Disconfirmation().fit(*history)  # type: ignore[arg-type]
    rows = {row["parameter"]: row for row in model._state("t").rows()}
    for name in ("alpha", "beta", "lam", "scale"):
        row = rows[name]
        assert 0 < row["ci_lower"] < row["estimate"] < row["ci_upper"], name
        # on the log scale: the estimate is the geometric mean of the ends
        assert math.sqrt(row["ci_lower"] * row["ci_upper"]) == pytest.approx(row["estimate"])
    c1 = rows["c1"]
    assert c1["estimate"] - c1["ci_lower"] == pytest.approx(c1["ci_upper"] - c1["estimate"])


def test_bootstrap_intervals_cover_the_estimates_and_are_reproducible(
    history: tuple[list[Expectation], list[object], list[int]],
    capsys: pytest.CaptureFixture[str],
) -> None:
    model = Disconfirmation().fit(*history, intervals="bootstrap", n_boot=30, seed=1)  # type: ignore[arg-type]
    again = Disconfirmation().fit(*history, intervals="bootstrap", n_boot=30, seed=1)  # type: ignore[arg-type]
    rows = model._state("t").rows()
    assert rows == again._state("t").rows()
    for row in rows:
        assert row["ci_lower"] < row["ci_upper"], row["parameter"]
    truth = {"alpha": 0.88, "beta": 0.88, "lam": 2.25, "scale": 0.4}
    for row in rows:
        if row["parameter"] in truth:
            assert row["ci_lower"] < truth[row["parameter"]] * 1.5
    model.print_summary()
    assert "bootstrap percentile, 30 resamples" in capsys.readouterr().out


def _curve() -> tuple[list[timedelta], list[float]]:
    truth = Disconfirmation(value=ProspectValue(0.7, 0.6, 3.0), breach=0.3)
    labels = Labels(truth.labels.cutpoints, scale=0.5)
    e = Expectation(kind="callback", made_at=START, due=START + HOUR)
    lateness = [timedelta(minutes=m) for m in range(-55, 185, 10)]
    rng = random.Random(3)
    means = [
        max(
            1.0,
            labels.expected_csat(truth.score(e, e.completed(e.due + x)).value) + rng.gauss(0, 0.02),
        )
        for x in lateness
    ]
    return lateness, means


def test_aggregated_bootstrap_intervals() -> None:
    lateness, means = _curve()
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        model = Disconfirmation().fit_aggregated(
            lateness,
            means,
            [400] * len(lateness),
            window=HOUR,
            fix_cutpoints=True,
            intervals="bootstrap",
            n_boot=40,
            seed=0,
        )
    rows = {row["parameter"]: row for row in model._state("t").rows()}
    assert rows["lam"]["ci_lower"] < 3.0 < rows["lam"]["ci_upper"]
    assert math.isnan(rows["c1"]["ci_lower"]) and rows["c1"]["fixed"]


@pytest.mark.parametrize(
    ("kwargs", "error", "words"),
    [
        ({"intervals": "profile-ish"}, InvalidValueError, "'intervals' must be one of"),
        ({"intervals": 3}, InvalidTypeError, "'intervals' must be a str"),
        ({"intervals": "bootstrap", "n_boot": 5}, InvalidValueError, "'n_boot' must be at least"),
        ({"intervals": "bootstrap", "n_boot": 2.5}, InvalidTypeError, "'n_boot' must be an int"),
        ({"intervals": "bootstrap", "seed": "x"}, InvalidTypeError, "'seed' must be an int"),
    ],
)
def test_interval_argument_errors(kwargs: dict[str, object], error: type, words: str) -> None:
    lateness, means = _curve()
    with pytest.raises(error, match=words):
        Disconfirmation().fit_aggregated(
            lateness,
            means,
            [400] * len(lateness),
            window=HOUR,
            **kwargs,  # type: ignore[arg-type]
        )


def test_summary_marks_undetermined_parameters_and_renders_html() -> None:
    lateness = [timedelta(days=d) for d in (-1, 2) * 6]
    means = [4.4, 2.1, 4.5, 2.0, 4.3, 2.2, 4.4, 2.1, 4.5, 2.0, 4.4, 2.1]
    model = Disconfirmation(
        value=ProspectValue(gain_cap=1.0, loss_cap=1.0), relative=False, unit=timedelta(days=1)
    )
    assert model._repr_html_().startswith("<pre>Disconfirmation(")
    with pytest.warns(ConvergenceWarning):
        model.fit_aggregated(lateness, means, [100] * 12, fix_cutpoints=True)
    rows = model._state("t").rows()
    assert not all(row["determined"] for row in rows)
    assert all(not row["determined"] for row in rows if row["fixed"])
    page = model._repr_html_()
    assert page.count("<tr>") == len(rows) + 1
    assert "not determined" in page and "(fixed)" in page
    assert "<table>" in page and page.endswith("</div>")


def test_profile_intervals_bracket_the_estimate_and_match_wald_when_well_determined(
    capsys: pytest.CaptureFixture[str],
) -> None:
    small = _history(1_500, seed=9)
    model = Disconfirmation().fit(*small, intervals="profile")  # type: ignore[arg-type]
    wald = {row["parameter"]: row for row in Disconfirmation().fit(*small)._state("t").rows()}  # type: ignore[arg-type]
    for row in model._state("t").rows():
        name = row["parameter"]
        assert row["ci_lower"] < row["estimate"] < row["ci_upper"], name
        if name in ("beta", "lam", "scale"):  # well determined: close to the normal interval
            width = wald[name]["ci_upper"] - wald[name]["ci_lower"]
            assert abs(row["ci_lower"] - wald[name]["ci_lower"]) < 0.25 * width, name
            assert abs(row["ci_upper"] - wald[name]["ci_upper"]) < 0.25 * width, name
    model.print_summary()
    assert "95% intervals: profile likelihood" in capsys.readouterr().out


def test_profile_is_for_likelihood_fits_only() -> None:
    lateness, means = _curve()
    with pytest.raises(InvalidValueError, match="no likelihood to profile"):
        Disconfirmation().fit_aggregated(
            lateness, means, [400] * len(lateness), window=HOUR, intervals="profile"
        )
