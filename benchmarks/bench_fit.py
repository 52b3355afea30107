"""One-command benchmark: fitting a satisfaction model to 100,000 scored callbacks.

Usage::

    python benchmarks/bench_fit.py [--n 100000] [--seed 0] [--scale 0.4]

Workload: a seeded synthetic history of N callbacks promised within 30 minutes to 8
hours (uniform over five windows), with durations lognormal around 80 % of the promise
(sigma 0.5, so about a fifth are late), and 1–5 scores drawn from the default
:class:`~promisekit.satisfaction.Disconfirmation` model calibrated with a logistic
scale of 0.4 (an ordered logit). Building the records is not timed.

It times :meth:`Disconfirmation.fit` end to end — features from the Python objects,
maximum likelihood (BFGS with exact gradients), the numerical Hessian for the
standard errors and the duration-only baseline — once cold (importing scipy) and then
best of three warm runs, prints rows per second, and checks that the fit recovers the
generating parameters (exit 1 if not). Speed is judged by the ratio to the reference
below, timed in the same run, never by an absolute time.

Reference, timed in the same run (when statsmodels is installed, the ``bench`` extra):
statsmodels' ``OrderedModel`` (ordered logit, BFGS, its default standard errors) on
the same scores with the model's features given as ready-made arrays (the gain and
loss parts of the disconfirmation and the breach flag: a linear stand-in for the
prospect value, whose curvature ``OrderedModel`` cannot fit); best of two. The table
prints each time and the ratio to statsmodels (above 1: promisekit is faster).
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import random
import sys
import time
from datetime import datetime, timedelta, timezone

import promisekit
from promisekit.delivery import Outcome
from promisekit.satisfaction import Disconfirmation, Expectation, Labels

WINDOWS = (30, 60, 120, 240, 480)


def history(n: int, seed: int, scale: float) -> tuple[list[Expectation], list[Outcome], list[int]]:
    """N expectations, outcomes and scores drawn from the default model."""
    rng = random.Random(seed)
    model = Disconfirmation()
    labels = Labels(model.labels.cutpoints, scale=scale)
    start = datetime(2026, 1, 5, 9, 0, tzinfo=timezone.utc)
    expectations, outcomes, scores = [], [], []
    for i in range(n):
        made = start + timedelta(minutes=7 * i)
        window = timedelta(minutes=rng.choice(WINDOWS))
        expectation = Expectation(
            kind="callback", made_at=made, due=made + window, request_id=f"P-{i}"
        )
        outcome = expectation.completed(made + window * math.exp(rng.gauss(math.log(0.8), 0.5)))
        probabilities = labels.probabilities(model.score(expectation, outcome).value)
        assert probabilities is not None
        u, level = rng.random(), 5
        for k, p in enumerate(probabilities, 1):
            u -= p
            if u <= 0:
                level = k
                break
        expectations.append(expectation)
        outcomes.append(outcome)
        scores.append(level)
    return expectations, outcomes, scores


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--scale", type=float, default=0.4)
    args = parser.parse_args(argv)

    import numpy
    import scipy

    print(
        f"promisekit {promisekit.__version__}, Python {platform.python_version()}, "
        f"numpy {numpy.__version__}, scipy {scipy.__version__}, {platform.machine()}, "
        f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} at start"
    )
    t0 = time.perf_counter()
    expectations, outcomes, scores = history(args.n, args.seed, args.scale)
    print(f"built {args.n:,} scored callbacks in {time.perf_counter() - t0:.1f} s (not timed)")

    timings = []
    model = Disconfirmation()
    for run in range(4):
        model = Disconfirmation()
        t0 = time.perf_counter()
        model.fit(expectations, outcomes, scores)
        timings.append(time.perf_counter() - t0)
        label = "cold (imports scipy.optimize)" if run == 0 else f"warm run {run}"
        print(f"  fit {label:<30} {timings[-1]:6.3f} s   {args.n / timings[-1]:>10,.0f} rows/s")
    from promisekit.satisfaction import _fastpath  # private: only to split the time in two

    t0 = time.perf_counter()
    _fastpath.design_of(numpy, model, expectations, outcomes, None)
    features = time.perf_counter() - t0
    best = min(timings[1:])
    print(f"best warm fit: {best:.3f} s = {args.n / best:,.0f} rows/s")
    print(
        f"  of which feature columns from the Python objects ~{features:.3f} s, "
        f"likelihood, optimizer, Hessian and baseline ~{best - features:.3f} s"
    )
    reference = _statsmodels_time(model, expectations, outcomes, scores)
    print()
    print(f"{'fit of ' + format(args.n, ',') + ' rows':<58}{'seconds':>9}{'vs statsmodels':>16}")
    rows = [("promisekit Disconfirmation.fit (features from objects)", best)]
    if reference is not None:
        rows.append(("statsmodels OrderedModel, logit, 3 columns (arrays given)", reference))
    for name, seconds in rows:
        ratio = f"{reference / seconds:.2f}x" if reference is not None else "n/a"
        print(f"{name:<58}{seconds:>9.3f}{ratio:>16}")
    if reference is None:
        print("(statsmodels not installed: pip install 'promisekit[bench]' for the reference)")
    load = os.getloadavg()[0]
    if load > (os.cpu_count() or 1):
        print(
            f"note: load average {load:.2f} exceeds the {os.cpu_count()} CPUs: other processes "
            f"share the machine and every timing above is inflated accordingly"
        )
    print()
    model.print_summary()

    truth = {"alpha": 0.88, "beta": 0.88, "lam": 2.25, "breach": 0.5, "scale": args.scale}
    bad = []
    for name, value in truth.items():
        estimate, se = model.params_[name], model.bse_[name]
        if not abs(estimate - value) <= 4 * se + 1e-9:
            bad.append(f"{name}: {estimate:.4f} vs {value} (se {se:.4f})")
    if bad:
        print("recovery check FAILED: " + "; ".join(bad))
        return 1
    print("recovery check: every parameter within 4 standard errors of its true value")
    return 0


def _statsmodels_time(
    model: Disconfirmation,
    expectations: list[Expectation],
    outcomes: list[Outcome],
    scores: list[int],
) -> float | None:
    """Best of two fits of statsmodels' OrderedModel on the features as arrays, or None."""
    try:
        from statsmodels.miscmodels.ordinal_model import OrderedModel
    except ImportError:
        return None
    import numpy

    from promisekit.satisfaction._fastpath import design_of  # private: the feature columns

    design = design_of(numpy, model, expectations, outcomes, None)
    exog = numpy.column_stack(
        (numpy.maximum(design.d, 0.0), numpy.minimum(design.d, 0.0), design.breach_mult)
    )
    endog = numpy.asarray(scores)
    times = []
    for _ in range(2):
        t0 = time.perf_counter()
        OrderedModel(endog, exog, distr="logit").fit(method="bfgs", disp=False, maxiter=1000)
        times.append(time.perf_counter() - t0)
    return min(times)


if __name__ == "__main__":
    sys.exit(main())
