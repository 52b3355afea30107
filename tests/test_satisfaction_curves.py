"""Aggregated fits with free cut points on delivery-shaped rating curves (issue 16)."""

from __future__ import annotations

import math
import warnings
from datetime import UTC, datetime, timedelta

import pytest

from promisekit.errors import InsufficientDataError, InvalidTypeError, PromiseKitWarning
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
DAYS = [*range(-10, 0), 0, *range(1, 31)]


def _curve(day: int, on_time: float, step: float, drop: float, speed: float, early: float) -> float:
    """A step at the promise, a steep decline, saturation after about a week."""
    if day <= 0:
        return on_time + early * (1 - math.exp(day / 2))  # early side barely rises
    return on_time - step - drop * (1 - math.exp(-day / speed))


def _recipe() -> Disconfirmation:
    return Disconfirmation(
        value=ProspectValue(gain_cap=1.0, loss_cap=1.0), relative=False, unit=DAY
    )


def _expected(model: Disconfirmation, days: list[int]) -> list[float]:
    e = Expectation(kind="parcel", made_at=START, due=START + timedelta(days=15))
    outcomes = [e.completed(e.due + timedelta(days=d)) for d in days]
    return [float(x) for x in model.predict([e] * len(days), outcomes).expected]


@pytest.mark.filterwarnings("ignore::promisekit.satisfaction.ConvergenceWarning")
@pytest.mark.parametrize(
    "shape",
    [
        (4.3, 0.6, 2.0, 1.5, 0.15),
        (4.5, 0.4, 2.4, 2.5, 0.05),
        (4.1, 0.9, 1.5, 1.0, 0.2),
        (4.6, 0.3, 1.0, 3.0, 0.02),
    ],
)
def test_aggregated_fit_recovers_every_bucket_mean(
    shape: tuple[float, float, float, float, float],
) -> None:
    means = [_curve(d, *shape) for d in DAYS]
    counts = [max(30, int(50_000 * math.exp(-abs(d) / 6))) for d in DAYS]
    model = _recipe().fit_aggregated([timedelta(days=d) for d in DAYS], means, counts)
    assert model.cutpoints_ != Labels().cutpoints
    assert list(model.cutpoints_) == sorted(model.cutpoints_)
    fitted = _expected(model, DAYS)
    worst = max(abs(f - m) for f, m in zip(fitted, means, strict=True))
    assert worst < 0.1


@pytest.mark.filterwarnings("ignore::promisekit.satisfaction.ConvergenceWarning")
def test_fixed_cutpoints_are_kept_and_marked(capsys: pytest.CaptureFixture[str]) -> None:
    means = [_curve(d, 4.3, 0.6, 2.0, 1.5, 0.15) for d in DAYS]
    lateness = [timedelta(days=d) for d in DAYS]
    model = _recipe().fit_aggregated(lateness, means, [100] * len(DAYS), fix_cutpoints=True)
    assert model.cutpoints_ == Labels().cutpoints
    model.print_summary()
    lines = [
        line
        for line in capsys.readouterr().out.splitlines()
        if line[:2] in ("c1", "c2", "c3", "c4")
    ]
    assert len(lines) == 4 and all("(fixed)" in line for line in lines)


@pytest.mark.filterwarnings("ignore::promisekit.satisfaction.ConvergenceWarning")
def test_fix_cutpoints_false_needs_enough_buckets() -> None:
    lateness = [timedelta(days=d) for d in (-2, -1, 0.5, 1, 2, 3, 5, 8)]
    means = [4.5, 4.4, 3.0, 2.6, 2.2, 2.0, 1.9, 1.8]
    model = Disconfirmation(relative=False, unit=DAY)
    model.fit_aggregated(lateness, means, [50] * 8)  # too few to fit them: kept
    assert model.cutpoints_ == Labels().cutpoints
    with pytest.raises(InsufficientDataError, match="free parameters"):
        model.fit_aggregated(lateness, means, [50] * 8, fix_cutpoints=False)
    with pytest.raises(InvalidTypeError, match="fix_cutpoints"):
        model.fit_aggregated(lateness, means, [50] * 8, fix_cutpoints="yes")  # type: ignore[arg-type]


# --------------------------------------------------------------------------- diagnostics


def test_unidentified_design_warns_and_summary_names_the_parameters(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # only two distinct lateness values: the value curve between them is not determined
    lateness = [timedelta(days=d) for d in (-1, 2) * 6]
    means = [4.4, 2.1, 4.5, 2.0, 4.3, 2.2, 4.4, 2.1, 4.5, 2.0, 4.4, 2.1]
    with pytest.warns(ConvergenceWarning, match="do not determine") as caught:
        model = _recipe().fit_aggregated(lateness, means, [100] * 12, fix_cutpoints=True)
    message = str(caught[0].message)
    assert "alpha" in message or "beta" in message
    model.print_summary()
    assert "not determined by the data:" in capsys.readouterr().out


def test_well_posed_fit_does_not_warn(capsys: pytest.CaptureFixture[str]) -> None:
    truth = Disconfirmation(value=ProspectValue(0.7, 0.6, 3.0), breach=0.3)
    labels = Labels(truth.labels.cutpoints, scale=0.5)
    e = Expectation(kind="callback", made_at=START, due=START + timedelta(hours=1))
    lateness = [timedelta(minutes=m) for m in range(-55, 185, 10)]
    means = [labels.expected_csat(truth.score(e, e.completed(e.due + x)).value) for x in lateness]
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        model = Disconfirmation().fit_aggregated(
            lateness, means, [200] * len(lateness), window=timedelta(hours=1), fix_cutpoints=True
        )
    model.print_summary()
    assert "not determined" not in capsys.readouterr().out


def test_convergence_warning_is_a_promisekit_warning() -> None:
    assert issubclass(ConvergenceWarning, PromiseKitWarning)


# --------------------------------------------------------------------------- curves


@pytest.mark.filterwarnings("ignore::promisekit.satisfaction.ConvergenceWarning")
def test_predict_curve_matches_predict_on_equivalent_outcomes() -> None:
    lateness = [timedelta(minutes=m) for m in range(-55, 185, 10)]
    means = [
        min(5.0, max(1.0, 4.4 - 0.02 * m - (0.5 if m > 0 else 0))) for m in range(-55, 185, 10)
    ]
    hour = timedelta(hours=1)
    model = Disconfirmation().fit_aggregated(
        lateness, means, [100] * len(lateness), window=hour, fix_cutpoints=True
    )
    e = Expectation(kind="callback", made_at=START, due=START + hour)
    pairs = [e.completed(e.due + x) for x in lateness]
    direct = model.predict([e] * len(pairs), pairs)
    for curve in (model.predict_curve(lateness), model.predict_curve(lateness, window=hour)):
        assert curve.expected.tolist() == pytest.approx(direct.expected.tolist(), abs=1e-12)
        assert curve.probabilities.ravel().tolist() == pytest.approx(
            direct.probabilities.ravel().tolist(), abs=1e-12
        )
    # another window changes a relative curve
    other = model.predict_curve(lateness, window=2 * hour)
    assert other.expected.tolist() != pytest.approx(direct.expected.tolist(), abs=1e-6)


def test_predict_curve_absolute_and_errors() -> None:
    rows = Disconfirmation(relative=False, unit=DAY)
    lateness = [timedelta(days=d) for d in (-2, -1, 0.5, 1, 2, 3, 5, 8)]
    means = [4.5, 4.4, 3.0, 2.6, 2.2, 2.0, 1.9, 1.8]
    with pytest.warns(ConvergenceWarning):
        rows.fit_aggregated(lateness, means, [50] * 8)
    curve = rows.predict_curve(lateness)
    assert curve.expected.shape == (8,) and curve.probabilities.shape == (8, 5)
    with pytest.raises(InvalidTypeError, match="lateness"):
        rows.predict_curve([1.0])  # type: ignore[list-item]
    with pytest.warns(ConvergenceWarning):
        relative = Disconfirmation().fit_aggregated(lateness, means, [50] * 8, window=DAY)
    with pytest.raises(InvalidTypeError, match="window"):
        relative.predict_curve(lateness, window="1 day")  # type: ignore[arg-type]
