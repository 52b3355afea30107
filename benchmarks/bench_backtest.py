"""One-command backtest benchmark: incremental replay vs a naive refit-everything reference.

Usage::

    python benchmarks/bench_backtest.py [--n 100000] [--naive 2000] [--seed 0] [--no-calendar]

Workload: a seeded synthetic history of N requests on a Toronto call centre open
Monday to Friday 09:00-17:00. Request times are uniform over the business time of
2025-2026; durations are lognormal in business time (two segments: ``callback``
with median 25 min, ``repair`` with median 2 h, sigma 0.9), and every record
carries the business's historical promise "within 1 business hour".

For each policy it times :func:`promisekit.buffering.backtest` on the full history
(rows per second, one policy per run so each figure includes the whole replay).
The naive reference replays the first ``--naive`` requests the obvious way: at each
request it scans *all* earlier rows for those completed before the request time,
sorts their durations, builds an ``EmpiricalCapability`` and calls ``quote()``.
Its cost grows with the square of the history, so its time is measured on the
subsample and extrapolated to N rows as ``t_naive * (N / n_naive) ** 2``; the
report prints the measured and the extrapolated rates and the speed-up ratios. The
two implementations must agree (same quotes on the subsample), or the script exits 1.
"""

from __future__ import annotations

import argparse
import platform
import random
import sys
import time
from collections.abc import Sequence
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from promisekit.buffering import (
    BufferPolicy,
    EmpiricalCapability,
    FixedBuffer,
    HistoryRecord,
    LinearLatenessCost,
    NoBuffer,
    OptimalBuffer,
    ProportionalBuffer,
    QuantileBuffer,
    RoundUp,
    backtest,
    quote,
)
from promisekit.calendar import BusinessCalendar
from promisekit.errors import InsufficientDataError

TORONTO = ZoneInfo("America/Toronto")
MIN_SAMPLES = 30


def make_history(n: int, seed: int, calendar: BusinessCalendar | None) -> list[HistoryRecord]:
    """A seeded synthetic history of ``n`` requests (see the module docstring)."""
    rng = random.Random(seed)
    origin = datetime(2025, 1, 1, tzinfo=TORONTO)
    cal = calendar or BusinessCalendar(TORONTO.key, hours={"mon-fri": "09:00-17:00"})
    span = cal.between(origin, datetime(2027, 1, 1, tzinfo=TORONTO))
    span_s = span.total_seconds()
    offsets = sorted(rng.uniform(0, span_s) for _ in range(n))
    records = []
    for offset in offsets:
        requested = cal.add(origin, timedelta(seconds=round(offset)))
        segment = "callback" if rng.random() < 0.7 else "repair"
        median_min = 25.0 if segment == "callback" else 120.0
        minutes = median_min * rng.lognormvariate(0.0, 0.9)
        work = timedelta(seconds=round(minutes * 60))
        if calendar is None:
            completed = requested + work
            promised = requested + timedelta(hours=1)
        else:
            completed = cal.add(requested, work)
            promised = cal.add(requested, timedelta(hours=1))
        records.append(HistoryRecord(requested, completed, segment, promised))
    rng.shuffle(records)  # backtest must not rely on input order
    return records


def policies() -> dict[str, BufferPolicy]:
    """The policies compared."""
    return {
        "median (no buffer)": NoBuffer(),
        "p90": QuantileBuffer(0.9),
        "p90 +15min, half-hour": QuantileBuffer(0.9)
        + FixedBuffer(timedelta(minutes=15))
        + RoundUp("half-hour"),
        "+50 %, hour": ProportionalBuffer(0.5) + RoundUp("hour"),
        "p95 | +1h": QuantileBuffer(0.95) | FixedBuffer(timedelta(hours=1)),
        "newsvendor 20:1": OptimalBuffer(LinearLatenessCost(c_late=20, c_quote=1)),
    }


def naive_dues(
    history: Sequence[HistoryRecord],
    policy: BufferPolicy,
    calendar: BusinessCalendar | None,
) -> list[datetime | None]:
    """Reference replay: rescan the whole past and refit at every request.

    Each row's duration is measured once (it is a property of the row); the
    refit — scan every earlier row for those completed before the request,
    sort their durations, build an ``EmpiricalCapability`` — happens at every
    request, and the quote goes through the public ``quote()``.
    """
    ordered = sorted(history, key=lambda r: r.requested_at)
    durations = [
        calendar.between(r.requested_at, r.completed_at) if calendar else r.duration
        for r in ordered
    ]
    dues: list[datetime | None] = []
    for i, record in enumerate(ordered):
        past = [
            durations[j]
            for j in range(i)
            if ordered[j].completed_at.timestamp() < record.requested_at.timestamp()
        ]
        if len(past) < MIN_SAMPLES:
            dues.append(None)
            continue
        cap = EmpiricalCapability.from_durations(sorted(past))
        try:
            dues.append(quote(record.requested_at, cap, policy, calendar).due)
        except InsufficientDataError:
            dues.append(None)
    return dues


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark and print the report; exit 1 on a disagreement."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=100_000, help="history size")
    parser.add_argument("--naive", type=int, default=2_000, help="naive subsample size")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-calendar", action="store_true", help="real time, no calendar")
    args = parser.parse_args(argv)

    calendar = (
        None
        if args.no_calendar
        else BusinessCalendar(TORONTO.key, hours={"mon-fri": "09:00-17:00"})
    )
    print(f"promisekit backtest benchmark — Python {platform.python_version()}")
    t0 = time.perf_counter()
    history = make_history(args.n, args.seed, calendar)
    print(
        f"history: {len(history):,} seeded rows (seed {args.seed}), "
        f"{'business time, America/Toronto Mon-Fri 09-17' if calendar else 'real time'}; "
        f"generated in {time.perf_counter() - t0:.1f} s"
    )
    subsample = sorted(history, key=lambda r: r.requested_at)[: args.naive]
    scale = (len(history) / len(subsample)) ** 2

    named = policies()
    status = 0
    print()
    header = (
        f"{'policy':<24} {'fast rows/s':>12} {'fast time':>10} "
        f"{'naive rows/s':>13} {'naive@N est.':>13} {'speed-up':>9} {'agree':>6}"
    )
    print(header)
    print("-" * len(header))
    results = {}
    for name, policy in named.items():
        start = time.perf_counter()
        result = backtest(history, {name: policy}, calendar=calendar, min_samples=MIN_SAMPLES)
        fast = time.perf_counter() - start
        results[name] = result

        fast_sub = backtest(
            subsample, {name: policy}, calendar=calendar, min_samples=MIN_SAMPLES, keep_quotes=True
        )
        start = time.perf_counter()
        reference = naive_dues(subsample, policy, calendar)
        naive = time.perf_counter() - start
        order = sorted(range(len(subsample)), key=lambda i: subsample[i].requested_at)
        got = {q.index: q.due for q in fast_sub.quotes if q.policy == name}
        fast_dues = [got[i] for i in order]
        agree = all(
            (a is None and b is None) or (a is not None and b is not None and a == b)
            for a, b in zip(fast_dues, reference, strict=True)
        )
        status |= 0 if agree else 1
        naive_at_n = naive * scale
        print(
            f"{name:<24} {len(history) / fast:>12,.0f} {fast:>9.2f}s "
            f"{len(subsample) / naive:>13,.0f} {naive_at_n:>12,.0f}s "
            f"{naive_at_n / fast:>8,.0f}x {'yes' if agree else 'NO':>6}"
        )
    print()
    print(
        "fast: backtest() on all rows (one policy per run, whole replay included); "
        f"naive: rescan + refit at every request on the first {len(subsample):,} rows, "
        f"extrapolated x{scale:,.0f} (quadratic) to {len(history):,} rows; "
        "speed-up = naive@N / fast"
    )
    print()
    start = time.perf_counter()
    combined = backtest(
        history, named, calendar=calendar, min_samples=MIN_SAMPLES, segment_key="segment"
    )
    elapsed = time.perf_counter() - start
    print(
        f"all {len(named)} policies in one replay, by segment: {elapsed:.2f} s "
        f"({len(history) * len(named) / elapsed:,.0f} policy-rows/s)"
    )
    print()
    print(combined.to_text())
    if status:
        print("\nDISAGREEMENT between backtest() and the naive reference", file=sys.stderr)
    return status


if __name__ == "__main__":
    sys.exit(main())
