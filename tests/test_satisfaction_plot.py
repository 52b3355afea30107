"""Disconfirmation.plot(): the fitted curve over observed bucket means and counts."""

from __future__ import annotations

import math
import subprocess
import sys
import warnings
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from promisekit.errors import InvalidTypeError, InvalidValueError, NotFittedError
from promisekit.satisfaction import ConvergenceWarning, Disconfirmation, ProspectValue

pytest.importorskip("scipy")
matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")

DAYS = [*range(-15, 0), 0, *range(1, 31)]
LATENESS = [timedelta(days=d) for d in DAYS]


def _mean(day: int) -> float:
    if day <= 0:
        return 4.3 + 0.15 * (1 - math.exp(day / 2))
    return 3.7 - 2.0 * (1 - math.exp(-day / 1.5))


MEANS = [_mean(d) for d in DAYS]
COUNTS = [max(30, int(50_000 * math.exp(-abs(d) / 6))) for d in DAYS]


@pytest.fixture(autouse=True)
def _close() -> Iterator[None]:
    yield
    import matplotlib.pyplot as plt

    plt.close("all")


@pytest.fixture(scope="module")
def model() -> Disconfirmation:
    recipe = Disconfirmation(
        value=ProspectValue(gain_cap=1.0, loss_cap=1.0), relative=False, unit=timedelta(days=1)
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return recipe.fit_aggregated(LATENESS, MEANS, COUNTS)


def test_plot_draws_curve_points_and_counts(model: Disconfirmation, tmp_path: Path) -> None:
    ax = model.plot(observed=(LATENESS, MEANS, COUNTS))
    line = ax.get_lines()[0]
    x, y = line.get_xdata(), line.get_ydata()
    # broken at the promise: one gap, early side ends at 0, late side starts after it
    gaps = [i for i, v in enumerate(y) if math.isnan(v)]
    assert len(gaps) == 1 and x[gaps[0] - 1] == 0.0 and x[gaps[0] + 1] > 0
    assert min(x) == -15 and max(x) == 30  # in days
    assert "days" in ax.get_xlabel()
    points = ax.collections[0].get_offsets()
    assert len(points) == len(DAYS)
    twin = [other for other in ax.figure.axes if other is not ax]
    assert len(twin) == 1 and len(twin[0].patches) == len(DAYS)
    assert [p.get_height() for p in twin[0].patches] == COUNTS
    # the curve goes through the observed means
    curve = model.predict_curve(LATENESS).expected
    assert max(abs(float(c) - m) for c, m in zip(curve, MEANS, strict=True)) < 0.1
    path = tmp_path / "curve.png"
    ax.figure.savefig(path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_plot_without_observed_and_on_given_axes(model: Disconfirmation) -> None:
    import matplotlib.pyplot as plt

    _, ax = plt.subplots()
    assert model.plot(ax=ax) is ax
    x = ax.get_lines()[0].get_xdata()
    assert min(x) == -7 and max(x) == 14
    hours = model.plot(lateness=[timedelta(hours=h) for h in (3, -5, 10)])
    assert "hours" in hours.get_xlabel()


def test_plot_relative_model_uses_the_stored_window() -> None:
    lateness = [timedelta(minutes=m) for m in range(-55, 185, 10)]
    means = [
        min(5.0, max(1.0, 4.4 - 0.01 * m - (0.5 if m > 0 else 0))) for m in range(-55, 185, 10)
    ]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = Disconfirmation().fit_aggregated(
            lateness, means, [100] * len(lateness), window=timedelta(hours=1)
        )
    ax = model.plot()
    assert "hours" in ax.get_xlabel()
    assert min(ax.get_lines()[0].get_xdata()) == -1.0


def test_plot_errors(model: Disconfirmation) -> None:
    with pytest.raises(NotFittedError, match="plot"):
        Disconfirmation().plot()
    with pytest.raises(InvalidTypeError, match="'observed' must be a"):
        model.plot(observed=[LATENESS, MEANS])  # type: ignore[arg-type]
    with pytest.raises(InvalidValueError, match="'counts' must have one entry"):
        model.plot(observed=(LATENESS, MEANS, COUNTS[:-1]))
    with pytest.raises(InvalidTypeError, match="'lateness' must contain timedeltas"):
        model.plot(lateness=[1.0])  # type: ignore[list-item]
    with pytest.raises(InvalidTypeError, match="'ax' must be"):
        model.plot(ax="axes")


def test_import_does_not_load_matplotlib() -> None:
    code = (
        "import sys, promisekit.satisfaction as s; "
        "assert 'matplotlib' not in sys.modules and 'numpy' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
