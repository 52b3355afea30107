"""Numerical robustness of the satisfaction fits (issue 16).

Any monotone-ish bucket curve either fits, with finite parameters, or raises a
:class:`~promisekit.errors.PromiseKitError`: never a non-finite value, never a raw
scipy or numpy error (the suite runs with warnings as errors, so no numpy overflow
warning escapes either).
"""

from __future__ import annotations

import math
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from promisekit.errors import PromiseKitError
from promisekit.satisfaction import Disconfirmation, ProspectValue

pytest.importorskip("scipy")

DAY = timedelta(days=1)


def _capped() -> Disconfirmation:
    """The guide's recipe for a saturating lateness penalty."""
    return Disconfirmation(
        value=ProspectValue(gain_cap=1.0, loss_cap=1.0), relative=False, unit=DAY
    )


def _plain() -> Disconfirmation:
    return Disconfirmation(relative=False, unit=DAY)


@st.composite
def bucket_curves(draw: st.DrawFn) -> tuple[list[timedelta], list[float], list[int]]:
    """Lateness buckets (days) with a decreasing-ish mean score and any counts."""
    days = sorted(draw(st.sets(st.integers(min_value=-30, max_value=120), min_size=2, max_size=30)))
    top = draw(st.floats(min_value=1.0, max_value=5.0))
    floor = draw(st.floats(min_value=1.0, max_value=top))
    step = draw(st.floats(min_value=0.0, max_value=2.0))
    speed = draw(st.floats(min_value=0.05, max_value=20.0))
    noise = draw(
        st.lists(st.floats(min_value=-0.5, max_value=0.5), min_size=len(days), max_size=len(days))
    )
    means = []
    for day, wiggle in zip(days, noise, strict=True):
        decay = (top - floor) * math.exp(-day / speed) - step
        level = top if day <= 0 else floor + decay
        means.append(min(5.0, max(1.0, level + wiggle)))
    counts = draw(
        st.lists(st.integers(min_value=1, max_value=10**7), min_size=len(days), max_size=len(days))
    )
    return [timedelta(days=d) for d in days], means, counts


def _fits_or_refuses(
    model: Disconfirmation, curve: tuple[Any, Any, Any], link: str = "logit"
) -> None:
    lateness, means, counts = curve
    try:
        model.fit_aggregated(lateness, means, counts, link=link)
    except PromiseKitError:
        return
    assert all(math.isfinite(v) for v in model.params_.values())
    assert all(math.isfinite(c) for c in model.cutpoints_)
    for day in (-30.0, -1.0, 1.0, 7.0, 120.0):
        assert math.isfinite(model.value_(day))


@pytest.mark.filterwarnings("ignore::promisekit.satisfaction.ConvergenceWarning")
@settings(max_examples=60, deadline=None)
@given(curve=bucket_curves(), capped=st.booleans(), link=st.sampled_from(["logit", "probit"]))
def test_aggregated_fit_fits_or_raises_promisekit_error(
    curve: tuple[list[timedelta], list[float], list[int]], capped: bool, link: str
) -> None:
    _fits_or_refuses(_capped() if capped else _plain(), curve, link)


@pytest.mark.filterwarnings("ignore::promisekit.satisfaction.ConvergenceWarning")
@pytest.mark.parametrize("link", ["logit", "probit"])
def test_aggregated_fit_with_every_mean_at_the_bottom(link: str) -> None:
    # found by Hypothesis: every bucket far late with mean 1.0, so the expected score is
    # 1.0 to the last bit, J'J is about 1e-305 and its inverse inf or nan; the standard
    # errors leaked numpy's "invalid value encountered in multiply" (0 * inf)
    lateness = [timedelta(days=d) for d in range(9, 14)]
    model = _plain().fit_aggregated(lateness, [1.0] * 5, [1] * 5, link=link)
    assert all(math.isfinite(v) for v in model.params_.values())
    assert all(math.isnan(se) or 0 < se < math.inf for se in model.bse_.values())
    _fits_or_refuses(_capped(), (lateness, [1.0] * 5, [1] * 5), link)


@pytest.mark.filterwarnings("ignore::promisekit.satisfaction.ConvergenceWarning")
def test_capped_recipe_no_longer_overflows() -> None:
    # a curve on which beta ran to its old bound of 1000 and 15 ** 800 overflowed
    days = [-7, -5, -4, 9, 13, 16, 17, 18, 20, 24, 27, 30, 31, 32, 35, 37]
    means = [4.24, 4.34, 4.7, 1.16, 1.33, 1.58, 1.35, 1.5, 1.07, 1.41, 1.18, 1.5]
    means += [1.0, 1.0, 1.55, 1.15]
    counts = [11515, 45968, 29319, 75512, 98785, 48513, 45333, 70870, 25448, 31718]
    counts += [16606, 88986, 50694, 26571, 62147, 618]
    model = _capped().fit_aggregated([timedelta(days=d) for d in days], means, counts)
    bounds = dict(zip(("alpha", "beta"), ProspectValue()._bounds()[:2], strict=True))
    for name, (low, high) in bounds.items():
        assert low <= model.params_[name] <= high
    assert all(math.isfinite(v) for v in model.params_.values())


def test_value_function_never_overflows() -> None:
    value = ProspectValue(alpha=50.0, beta=50.0, lam=2.0)
    assert math.isfinite(value(1e200))
    assert math.isfinite(value(-1e200))
    capped = ProspectValue(alpha=50.0, beta=50.0, lam=2.0, gain_cap=1.0, loss_cap=1.0)
    assert capped(1e200) == pytest.approx(1.0)
    assert capped(-1e200) == pytest.approx(-2.0)
