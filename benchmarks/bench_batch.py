"""One-command benchmark: columnar assessment (promisekit.analysis.assess_columns).

Usage::

    python benchmarks/bench_batch.py [--n 1000000] [--scalar-n 20000] [--seed 0]

N seeded promises in America/Toronto, Monday to Friday 09:00-17:00 with the Quebec
holidays of 2024-2029 (the calendar of ``bench_vectorized.py``):

* ``made_at``: uniform microsecond instants in 2025-01-01 .. 2026-12-15;
* ``due``: ``made_at`` plus 1 hour to 5 days (real time);
* ``completed_at``: ``made_at`` plus a log-normal delay (median about 60 % of the
  window), NaT for 8 % of the rows; ``short`` true for 5 %;
* ``now``: 2026-12-15 00:00 UTC — so every status occurs (pending, overdue, kept,
  late, short).

It times, best of ``--repeat`` runs, the status codes, ``kept``, lateness and business
lateness of every row:

* ``assess_columns(..., calendar=cal)``;
* a hand-written numpy computation of the same columns (``np.where`` for the status,
  the reference business time of ``bench_vectorized.py`` for business lateness —
  valid only for this plain calendar);
* ``promisekit.assess`` one promise at a time, on a random subsample (the Promise and
  Delivery objects are built beforehand, untimed), scaled per row.

and, "assessed + scored", the same plus the satisfaction value of every closed row:

* ``assess_columns(..., calendar=cal, scorer=SatisfactionScorer(calendar=cal))``
  (the default ``Disconfirmation``, vectorized over the columns);
* ``assess`` then ``Disconfirmation().score`` one promise at a time on the subsample
  (expectations built beforehand, untimed).

It checks that all agree (scores within 1e-12 relative) and exits 1 on any
disagreement.
"""

from __future__ import annotations

import argparse
import platform
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_vectorized import (
    EPOCH,
    HOUR,
    I64,
    TZ,
    YEARS,
    Reference,
    best_of,
    to_us,
)

from promisekit import Delivery, Promise, Terms, assess
from promisekit.analysis import STATUS_CODES, SatisfactionScorer, assess_columns
from promisekit.calendar import BusinessCalendar, holidays_from_package
from promisekit.satisfaction import Disconfirmation, Expectation

TARGET_RATIO = 2.0
NAT = np.iinfo(np.int64).min
PENDING, OVERDUE, KEPT, LATE, SHORT = range(5)


def reference_assess(
    ref: Reference, made: I64, due: I64, done: I64, now: int, short: np.ndarray
) -> tuple[np.ndarray, np.ndarray, I64, I64]:
    """Status codes, kept, lateness and business lateness (µs, NaT = int64 min)."""
    completed = (done != NAT) & (done <= now)
    reached = np.where(completed, done, now)
    late = reached - due
    pending = ~completed & (now <= due)
    status = np.where(
        completed,
        np.where(late > 0, LATE, np.where(short, SHORT, KEPT)),
        np.where(pending, PENDING, OVERDUE),
    ).astype(np.int8)
    lateness = np.where(pending, NAT, late)
    business = np.where(pending, NAT, ref.cum(reached) - ref.cum(due))
    return status, status == KEPT, lateness, business


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--scalar-n", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)

    holidays = holidays_from_package("CA", subdiv="QC", years=YEARS)
    cal = BusinessCalendar(TZ, hours={"mon-fri": "09:00-17:00"}, holidays=holidays)
    ref = Reference(holidays)

    rng = np.random.default_rng(args.seed)
    n = args.n
    now = to_us(datetime(2026, 12, 15, tzinfo=timezone.utc))
    made = rng.integers(to_us(datetime(2025, 1, 1, tzinfo=timezone.utc)), now, n, dtype=np.int64)
    window = rng.integers(HOUR, 5 * 24 * HOUR, n, dtype=np.int64, endpoint=True)
    due = made + window
    delay = (0.6 * window * np.exp(0.5 * rng.standard_normal(n))).astype(np.int64)
    done = np.where(rng.random(n) < 0.08, NAT, made + delay)
    short = rng.random(n) < 0.05

    columns = {
        "made_at": made.view("datetime64[us]"),
        "due": due.view("datetime64[us]"),
        "completed_at": done.view("datetime64[us]"),
        "now": np.int64(now).view("datetime64[us]"),
        "short": short,
    }
    assess_columns(**{k: v[:1000] if v.ndim else v for k, v in columns.items()}, calendar=cal)
    t_lib, lib = best_of(args.repeat, lambda: assess_columns(**columns, calendar=cal))
    t_ref, (r_status, r_kept, r_late, r_business) = best_of(
        args.repeat, lambda: reference_assess(ref, made, due, done, now, short)
    )

    # One promise at a time, on a subsample (objects built beforehand, untimed).
    sample = rng.choice(n, size=min(args.scalar_n, n), replace=False)
    now_dt = EPOCH + timedelta(microseconds=now)

    def moment(value: int) -> datetime:
        return EPOCH + timedelta(microseconds=int(value))

    cases = []
    for i in sample:
        terms = Terms(quality=1.0)
        promise = Promise(
            id=f"P{i}",
            customer_id="C",
            kind="k",
            made_at=moment(made[i]),
            due=moment(due[i]),
            terms=terms,
        )
        deliveries = []
        if done[i] != NAT:
            quality = 0.0 if short[i] else 1.0
            deliveries.append(Delivery(f"P{i}", moment(done[i]), quality=quality))
        cases.append((promise, deliveries))
    t_one, outcomes = best_of(1, lambda: [assess(p, d, now=now_dt, calendar=cal) for p, d in cases])

    # Assessed + scored: columns with a SatisfactionScorer, against assess + model.score.
    model = Disconfirmation()
    scorer = SatisfactionScorer(model, calendar=cal)
    t_scored, scored = best_of(
        args.repeat, lambda: assess_columns(**columns, calendar=cal, scorer=scorer)
    )
    expectations = [
        Expectation(
            kind="promise",
            made_at=moment(made[i]).astimezone(cal.zone),
            due=moment(due[i]).astimezone(cal.zone),
            calendar=cal,
        )
        for i in sample
    ]

    def one_by_one_scored() -> list[float]:
        values = []
        for (p, d), expectation in zip(cases, expectations, strict=True):
            outcome = assess(p, d, now=now_dt, calendar=cal)
            if outcome.completed_at is None:
                values.append(float("nan"))
            else:
                completed = expectation.completed(outcome.completed_at)
                values.append(model.score(expectation, completed).value)
        return values

    t_one_scored, one_scores = best_of(1, one_by_one_scored)

    failures = []
    status = lib.status
    if not np.array_equal(status, r_status):
        failures.append(f"status vs reference: {int((status != r_status).sum())} rows differ")
    if not np.array_equal(lib.kept, r_kept):
        failures.append("kept vs reference differs")
    if not np.array_equal(lib.lateness.view(np.int64), r_late):
        failures.append("lateness vs reference differs")
    if not np.array_equal(lib.business_lateness.view(np.int64), r_business):
        bad = int((lib.business_lateness.view(np.int64) != r_business).sum())
        failures.append(f"business lateness vs reference: {bad} rows differ")
    us = timedelta(microseconds=1)
    for row, outcome in zip(sample, outcomes, strict=True):
        expected = (
            STATUS_CODES.index(outcome.status),
            outcome.kept,
            NAT if outcome.lateness is None else outcome.lateness // us,
            NAT if outcome.business_lateness is None else outcome.business_lateness // us,
        )
        got = (
            int(status[row]),
            bool(lib.kept[row]),
            int(lib.lateness.view(np.int64)[row]),
            int(lib.business_lateness.view(np.int64)[row]),
        )
        if got != expected:
            failures.append(f"row {row}: one-by-one assess gives {expected}, columns {got}")
            break

    assert scored.score is not None
    if not np.array_equal(scored.status, status):
        failures.append("assessed + scored: statuses differ from assess_columns")
    want = np.array(one_scores)
    have = scored.score[sample]
    if not np.array_equal(np.isnan(want), np.isnan(have)):
        failures.append("assessed + scored: scored rows differ from one-by-one")
    else:
        ok = ~np.isnan(want)
        err = np.abs(have[ok] - want[ok]) / np.maximum(np.abs(want[ok]), 1e-300)
        if err.size and float(err.max()) > 1e-12:
            failures.append(f"assessed + scored: max relative error {float(err.max()):.2e}")

    per_lib, per_ref = t_lib / n * 1e6, t_ref / n * 1e6
    per_scored = t_scored / n * 1e6
    per_one_scored = t_one_scored / len(sample) * 1e6
    per_one = t_one / len(sample) * 1e6
    counts = np.bincount(status, minlength=5)
    print(f"promisekit columnar assessment — {n:,} promises, {TZ}, Mon-Fri 09:00-17:00,")
    print(
        f"Quebec holidays {YEARS.start}-{YEARS.stop - 1}; one-by-one assess on "
        f"{len(sample):,} of them"
    )
    print(
        f"Python {platform.python_version()}, numpy {np.__version__}, "
        f"{platform.machine()}, best of {args.repeat}"
    )
    print(
        "statuses: "
        + ", ".join(f"{s.value} {int(c):,}" for s, c in zip(STATUS_CODES, counts, strict=True))
    )
    print()
    print(
        "| operation | assess_columns µs/row | numpy reference µs/row | ratio (≤ 2) "
        "| one-by-one assess µs/row | speed-up vs one-by-one |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    print(
        f"| status, kept, lateness, business lateness | {per_lib:.3f} | {per_ref:.3f} "
        f"| {per_lib / per_ref:.2f}× | {per_one:.2f} | {per_one / per_lib:,.0f}× |"
    )
    print(
        f"| assessed + scored (Disconfirmation value) | {per_scored:.3f} | — | — "
        f"| {per_one_scored:.2f} | {per_one_scored / per_scored:,.0f}× |"
    )
    print()
    print(
        f"agreement with the reference on all {n:,} rows and with one-by-one assess "
        f"(+ model.score) on the subsample: {'OK' if not failures else 'FAILED'}"
    )
    for failure in failures:
        print(f"  - {failure}")
    if per_lib / per_ref > TARGET_RATIO:
        print(f"speed target missed (ratio > {TARGET_RATIO})")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
