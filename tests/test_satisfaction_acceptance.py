"""Acceptance of issue 16 on synthetic delivery curves of known shape.

* the aggregated fit of the guide's saturating recipe recovers every bucket mean within
  0.1 stars on curves with a step at the promise, a steep decline over the first days
  late, saturation after about a week and an early side that barely rises — with
  dashboard-like counts (many on time, few very late) and with flat counts;
* a row fit recovers known parameters of the saturating recipe;
* the diagnostics fire on deliberately unidentified designs, rows and buckets alike.
"""

from __future__ import annotations

import math
import random
import warnings
from datetime import UTC, datetime, timedelta

import pytest

from promisekit.satisfaction import (
    ConvergenceWarning,
    Disconfirmation,
    Expectation,
    Labels,
    ProspectValue,
)

pytest.importorskip("scipy")

START = datetime(2026, 1, 1, tzinfo=UTC)
DAY = timedelta(days=1)
DAYS = [*range(-15, 0), 0, *range(1, 31)]

#: on time, step at the promise, further drop, days to saturate, early rise
SHAPES = [
    (4.3, 0.6, 2.0, 1.5, 0.15),
    (4.5, 0.4, 2.4, 2.5, 0.05),
    (4.1, 0.9, 1.5, 1.0, 0.2),
    (4.6, 0.3, 1.0, 3.0, 0.02),
    (4.35, 1.2, 1.6, 0.7, 0.08),
    (4.2, 0.2, 2.5, 4.0, 0.1),
    (4.4, 1.5, 1.2, 2.0, 0.0),
    (4.25, 0.8, 1.9, 1.2, 0.3),
]


def _curve(day: int, on_time: float, step: float, drop: float, speed: float, early: float) -> float:
    if day <= 0:
        return on_time + early * (1 - math.exp(day / 2))
    return on_time - step - drop * (1 - math.exp(-day / speed))


def _recipe() -> Disconfirmation:
    return Disconfirmation(
        value=ProspectValue(gain_cap=1.0, loss_cap=1.0), relative=False, unit=DAY
    )


@pytest.mark.filterwarnings("ignore::promisekit.satisfaction.ConvergenceWarning")
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("counts", ["dashboard", "flat"])
def test_every_bucket_mean_within_a_tenth_of_a_star(
    shape: tuple[float, float, float, float, float], counts: str
) -> None:
    means = [_curve(d, *shape) for d in DAYS]
    if counts == "dashboard":
        weights = [max(30, int(50_000 * math.exp(-abs(d) / 6))) for d in DAYS]
    else:
        weights = [200] * len(DAYS)
    lateness = [timedelta(days=d) for d in DAYS]
    model = _recipe().fit_aggregated(lateness, means, weights)
    fitted = model.predict_curve(lateness).expected.tolist()
    assert max(abs(f - m) for f, m in zip(fitted, means, strict=True)) < 0.1
    assert list(model.cutpoints_) == sorted(model.cutpoints_)


def _draw(rng: random.Random, probabilities: tuple[float, ...]) -> int:
    u = rng.random()
    for level, p in enumerate(probabilities, 1):
        u -= p
        if u <= 0:
            return level
    return 5


def _rows(
    truth: Disconfirmation, scale: float, n: int, seed: int, late_days: list[float] | None = None
) -> tuple[list[Expectation], list[object], list[int]]:
    rng = random.Random(seed)
    labels = Labels(truth.labels.cutpoints, scale=scale)
    expectations, outcomes, scores = [], [], []
    for i in range(n):
        e = Expectation(kind="parcel", made_at=START, due=START + 5 * DAY, request_id=f"P-{i}")
        days = rng.choice(late_days) if late_days else rng.uniform(-4.0, 12.0)
        o = e.completed(e.due + timedelta(days=days))
        probabilities = labels.probabilities(truth.score(e, o).value)
        assert probabilities is not None
        expectations.append(e)
        outcomes.append(o)
        scores.append(_draw(rng, probabilities))
    return expectations, outcomes, scores


def test_row_fit_recovers_known_parameters_of_the_saturating_recipe() -> None:
    truth = Disconfirmation(
        value=ProspectValue(0.8, 1.2, 2.0, gain_cap=0.5, loss_cap=1.5),
        relative=False,
        unit=DAY,
        breach=0.8,
    )
    e, o, y = _rows(truth, 0.5, 12_000, seed=3)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        model = _recipe().fit(e, o, y)  # type: ignore[arg-type]
    true = {"beta": 1.2, "lam": 2.0, "loss_cap": 1.5, "breach": 0.8, "scale": 0.5}
    for name, value in true.items():
        estimate, se = model.params_[name], model.bse_[name]
        assert math.isfinite(se) and se > 0, name
        assert abs(estimate - value) < 4 * se + 0.05 * value, (name, estimate, se)
    for name, value in zip(("c1", "c2", "c3", "c4"), truth.labels.cutpoints, strict=True):
        se = model.bse_[name]
        assert abs(model.labels_.cutpoints[int(name[1]) - 1] - value) < 4 * se, name


def test_row_fit_on_two_lateness_values_warns() -> None:
    # every row 30 minutes early or 30 minutes late: two points cannot pin a curve
    truth = Disconfirmation(value=ProspectValue(0.7, 0.8, 2.5), breach=0.4)
    rng = random.Random(0)
    labels = Labels(truth.labels.cutpoints, scale=0.5)
    expectations, outcomes, scores = [], [], []
    for _ in range(3_000):
        e = Expectation(kind="callback", made_at=START, due=START + timedelta(hours=1))
        o = e.completed(e.due + timedelta(minutes=rng.choice((-30, 30))))
        probabilities = labels.probabilities(truth.score(e, o).value)
        assert probabilities is not None
        expectations.append(e)
        outcomes.append(o)
        scores.append(_draw(rng, probabilities))
    with pytest.warns(ConvergenceWarning, match="do not determine") as caught:
        Disconfirmation().fit(expectations, outcomes, scores)
    message = str(caught[0].message)
    for name in ("alpha", "lam", "breach", "scale"):
        assert name in message


def test_aggregated_fit_on_two_lateness_values_warns() -> None:
    lateness = [timedelta(days=d) for d in (-1, 2) * 6]
    means = [4.4, 2.1, 4.5, 2.0, 4.3, 2.2, 4.4, 2.1, 4.5, 2.0, 4.4, 2.1]
    with pytest.warns(ConvergenceWarning, match="do not determine"):
        _recipe().fit_aggregated(lateness, means, [100] * 12, fix_cutpoints=True)
