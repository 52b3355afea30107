"""Ordinal-model features: extra covariates, and parity with statsmodels' OrderedModel."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from promisekit.errors import InvalidTypeError, InvalidValueError
from promisekit.satisfaction import Disconfirmation, Expectation

np = pytest.importorskip("numpy")
pytest.importorskip("scipy")

START = datetime(2026, 1, 1, tzinfo=UTC)
HOUR = timedelta(hours=1)
CUTS = (-2.0, -0.7, 0.3, 1.5)


def _plain(n: int, seed: int) -> tuple[Any, Any, Any]:
    """Scores of a plain ordered logit on two covariates."""
    rng = np.random.default_rng(seed)
    x1 = rng.normal(size=n)
    x2 = (rng.random(n) < 0.4).astype(float)
    latent = 0.8 * x1 - 0.5 * x2 + rng.logistic(size=n)
    y = 1 + (latent > np.array(CUTS)[:, None]).sum(axis=0)
    return x1, x2, y


def _on_time(n: int) -> tuple[list[Expectation], list[Any]]:
    # every outcome exactly on time: the value is 0, and only the covariates remain
    e = Expectation(kind="callback", made_at=START, due=START + HOUR)
    return [e] * n, [e.completed(e.due)] * n


def test_plain_ordered_logit_matches_statsmodels() -> None:
    ordinal = pytest.importorskip("statsmodels.miscmodels.ordinal_model")
    x1, x2, y = _plain(3_000, seed=0)
    expectations, outcomes = _on_time(3_000)
    ours = Disconfirmation().fit(
        expectations, outcomes, y.tolist(), covariates={"x1": x1, "x2": x2}
    )
    theirs = ordinal.OrderedModel(y, np.column_stack([x1, x2]), distr="logit").fit(
        method="bfgs", disp=False, maxiter=2_000
    )
    assert ours.loglik_ == pytest.approx(theirs.llf, abs=1e-4)
    assert ours.params_["x1"] == pytest.approx(theirs.params[0], abs=1e-4)
    assert ours.params_["x2"] == pytest.approx(theirs.params[1], abs=1e-4)
    thresholds = theirs.model.transform_threshold_params(theirs.params)[1:-1]
    assert list(ours.cutpoints_) == pytest.approx(list(thresholds), abs=1e-4)
    # standard errors of the coefficients (statsmodels: on its own parametrization)
    assert ours.bse_["x1"] == pytest.approx(theirs.bse[0], rel=1e-2)
    assert ours.bse_["x2"] == pytest.approx(theirs.bse[1], rel=1e-2)
    assert ours.bse_["c1"] == pytest.approx(theirs.bse[2], rel=1e-2)  # c1 is not transformed
    assert ours.params_["scale"] == 1.0  # nothing anchors the value scale: logit units


def test_covariate_next_to_the_disconfirmation_value() -> None:
    rng = np.random.default_rng(4)
    truth = Disconfirmation()
    n = 6_000
    price = rng.uniform(0.0, 2.0, size=n)
    expectations, outcomes, scores = [], [], []
    for i in range(n):
        window = timedelta(minutes=int(rng.choice((30, 60, 120, 240))))
        e = Expectation(kind="callback", made_at=START, due=START + window)
        o = e.completed(START + window * math.exp(rng.normal(math.log(0.8), 0.5)))
        v = truth.score(e, o).value - 0.6 * price[i]
        latent = v + 0.4 * rng.logistic()
        expectations.append(e)
        outcomes.append(o)
        scores.append(1 + int((latent > np.array(truth.labels.cutpoints)).sum()))
    model = Disconfirmation().fit(expectations, outcomes, scores, covariates={"price": price})
    estimate, se = model.params_["price"], model.bse_["price"]
    assert abs(estimate + 0.6) < 4 * se
    assert model.params_["lam"] == pytest.approx(2.25, rel=0.25)
    assert "price" in model.summary.index
    with_price = model.predict(expectations[:50], outcomes[:50], covariates={"price": price[:50]})
    free = model.predict(
        expectations[:50], outcomes[:50], covariates={"price": np.zeros(50)}
    ).expected
    assert bool(np.all(with_price.expected <= free + 1e-12))
    evaluation = model.evaluate(expectations, outcomes, scores, covariates={"price": price})
    assert evaluation.mae < evaluation.baseline_mae


def test_covariates_from_a_dataframe() -> None:
    pandas = pytest.importorskip("pandas")
    x1, x2, y = _plain(800, seed=2)
    expectations, outcomes = _on_time(800)
    frame = pandas.DataFrame({"x1": x1, "x2": x2})
    a = Disconfirmation().fit(expectations, outcomes, y.tolist(), covariates=frame)
    b = Disconfirmation().fit(expectations, outcomes, y.tolist(), covariates={"x1": x1, "x2": x2})
    assert a.params_["x1"] == b.params_["x1"]


@pytest.mark.parametrize(
    ("covariates", "error", "words"),
    [
        ([1, 2], InvalidTypeError, "'covariates' must be a mapping"),
        ({"lam": [0.0] * 800}, InvalidValueError, "must not reuse a parameter name"),
        ({"x": [0.0] * 3}, InvalidValueError, "one number per outcome"),
        ({"x": [math.nan] * 800}, InvalidValueError, "must be finite"),
        ({"x": ["a"] * 800}, InvalidTypeError, "must contain numbers"),
        ({"": [0.0] * 800}, InvalidTypeError, "non-empty str names"),
    ],
)
def test_covariate_errors(covariates: Any, error: type, words: str) -> None:
    _, _, y = _plain(800, seed=1)
    expectations, outcomes = _on_time(800)
    with pytest.raises(error, match=words):
        Disconfirmation().fit(expectations, outcomes, y.tolist(), covariates=covariates)


def test_predict_needs_the_fitted_covariates() -> None:
    x1, x2, y = _plain(800, seed=3)
    expectations, outcomes = _on_time(800)
    model = Disconfirmation().fit(expectations, outcomes, y.tolist(), covariates={"x1": x1})
    with pytest.raises(InvalidValueError, match="fitted with x1"):
        model.predict(expectations, outcomes)
    with pytest.raises(InvalidValueError, match="must have the columns"):
        model.predict(expectations, outcomes, covariates={"x2": x2})
    plain = Disconfirmation().fit(expectations, outcomes, y.tolist())
    with pytest.raises(InvalidValueError, match="fitted without covariates"):
        plain.predict(expectations, outcomes, covariates={"x1": x1})


def test_plain_ordered_probit_matches_statsmodels() -> None:
    ordinal = pytest.importorskip("statsmodels.miscmodels.ordinal_model")
    rng = np.random.default_rng(8)
    n = 3_000
    x1 = rng.normal(size=n)
    latent = 0.6 * x1 + rng.normal(size=n)
    y = 1 + (latent > np.array([-1.5, -0.5, 0.2, 1.0])[:, None]).sum(axis=0)
    expectations, outcomes = _on_time(n)
    ours = Disconfirmation().fit(
        expectations, outcomes, y.tolist(), covariates={"x1": x1}, link="probit"
    )
    theirs = ordinal.OrderedModel(y, x1[:, None], distr="probit").fit(
        method="bfgs", disp=False, maxiter=2_000
    )
    assert ours.loglik_ == pytest.approx(theirs.llf, abs=1e-4)
    assert ours.params_["x1"] == pytest.approx(theirs.params[0], abs=1e-4)
    thresholds = theirs.model.transform_threshold_params(theirs.params)[1:-1]
    assert list(ours.cutpoints_) == pytest.approx(list(thresholds), abs=1e-4)
    assert ours.labels_.link == "probit"
    # scoring one outcome uses the probit too, and agrees with predict
    e, o = expectations[0], outcomes[0]
    probabilities = ours.score(e, o).probabilities
    assert probabilities is not None
    fitted = ours.predict([e], [o], covariates={"x1": [0.0]}).probabilities[0]
    assert list(probabilities) == pytest.approx(fitted.tolist(), abs=1e-12)


@pytest.mark.filterwarnings("ignore::promisekit.satisfaction.ConvergenceWarning")
@pytest.mark.parametrize("link", ["logit", "probit"])
def test_both_links_fit_the_same_curve(link: str) -> None:
    minutes = range(-55, 185, 10)
    lateness = [timedelta(minutes=m) for m in minutes]
    means = [min(5.0, max(1.0, 4.4 - 0.01 * m - (0.5 if m > 0 else 0))) for m in minutes]
    model = Disconfirmation().fit_aggregated(
        lateness, means, [100] * len(lateness), window=HOUR, link=link
    )
    curve = model.predict_curve(lateness).expected
    assert max(abs(float(c) - m) for c, m in zip(curve, means, strict=True)) < 0.1
    assert model.labels_.link == link


def test_link_errors() -> None:
    from promisekit.satisfaction import Labels

    with pytest.raises(InvalidValueError, match="'link' must be one of logit, probit"):
        Labels(link="cauchit")
    with pytest.raises(InvalidTypeError, match="'link' must be a str"):
        Disconfirmation().fit_aggregated(
            [HOUR] * 3,
            [3.0] * 3,
            [1] * 3,
            window=HOUR,
            link=1,  # type: ignore[arg-type]
        )


def test_scale_by_segment_recovers_the_ratio() -> None:
    rng = np.random.default_rng(11)
    truth = Disconfirmation()
    n = 8_000
    expectations, outcomes, scores, channel = [], [], [], []
    for i in range(n):
        window = timedelta(minutes=int(rng.choice((30, 60, 120, 240))))
        e = Expectation(kind="callback", made_at=START, due=START + window)
        o = e.completed(START + window * math.exp(rng.normal(math.log(0.8), 0.5)))
        segment = "phone" if i % 3 else "chat"  # chat is the reference (sorted first)
        noise = 0.4 if segment == "chat" else 0.8
        latent = truth.score(e, o).value + noise * rng.logistic()
        expectations.append(e)
        outcomes.append(o)
        scores.append(1 + int((latent > np.array(truth.labels.cutpoints)).sum()))
        channel.append(segment)
    model = Disconfirmation().fit(expectations, outcomes, scores, scale_by=channel)
    ratio, se = model.params_["scale[phone]"], model.bse_["scale[phone]"]
    assert abs(ratio - 2.0) < 4 * se and se < 0.3
    assert abs(model.params_["scale"] - 0.4) < 4 * model.bse_["scale"]
    row = model.summary.loc["scale[phone]"]
    assert 0 < row["ci_lower"] < ratio < row["ci_upper"]
    noisy = model.predict(expectations[:30], outcomes[:30], scale_by=["phone"] * 30)
    calm = model.predict(expectations[:30], outcomes[:30], scale_by=["chat"] * 30)
    # a larger scale spreads the level probabilities: less mass on the likeliest level
    assert noisy.probabilities.max(axis=1).mean() < calm.probabilities.max(axis=1).mean()
    with pytest.raises(InvalidValueError, match="must use the segments of the fit"):
        model.predict(expectations[:2], outcomes[:2], scale_by=["email", "chat"])
    with pytest.raises(InvalidValueError, match="'scale_by' must be given"):
        model.predict(expectations[:2], outcomes[:2])
    with pytest.raises(InvalidValueError, match="one label per outcome"):
        Disconfirmation().fit(expectations, outcomes, scores, scale_by=channel[:5])
    with pytest.raises(InvalidTypeError, match="'scale_by' must be a sequence"):
        Disconfirmation().fit(expectations, outcomes, scores, scale_by="phone")
