"""One-command backtest benchmark: incremental replay vs a naive refit-everything reference.

Usage::

    python benchmarks/bench_backtest.py [--n 100000] [--naive 2000] [--seed 0] [--no-calendar]
        [--columnar 200000] [--part all|classic|columnar|optimal]

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

Columnar part: :func:`promisekit.buffering.backtest_columns` on ``--columnar`` rows
(real time, integer microseconds; requests over two years, lognormal durations;
two segments, then 1,000 thin ones — ``--segments``) for one ``QuantileBuffer(0.9)``
policy fitted per segment, timed against a hand-written replay of the same quotes
run in the same process: numpy for the columns, then one pass in request order
that releases completions into a sorted list per segment (``bisect.insort``) and
reads the quantile and the CDF at each request. Both must give the same windows and
confidences (else exit 1); the table
prints rows/s for both and the ratio (targets: >= 100,000 rows/s and within 2x of
the reference), plus ``backtest()`` on the same rows for scale.

Optimal part: ms per ``OptimalBuffer.optimal_window`` on an empirical capability of
5,000 lognormal durations (``points=2000``) for a kept-or-not satisfaction: the
``StepSatisfaction`` closed form, the same step as a plain Python callable with the
full numerical search (``summary_points=None``: grid + golden section over all 2,000
durations, the reference) and with the default 256-point summary, and a numpy
version with ``vectorized=True``, full and summarized. Objectives are exact (over
the 2,000 durations). The closed form must reach at least the reference's objective
and the summarized searches must be within ``2 * eps`` of it (``eps = ceil(2000 /
256) / 2000``, the documented bound for a step): exit 1 otherwise; target <= 1 ms.
"""

from __future__ import annotations

import argparse
import platform
import random
import sys
import time
from bisect import bisect_right, insort
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from promisekit.buffering import (
    BufferPolicy,
    EmpiricalCapability,
    FixedBuffer,
    HistoryColumns,
    HistoryRecord,
    LinearLatenessCost,
    NoBuffer,
    OptimalBuffer,
    ProportionalBuffer,
    QuantileBuffer,
    RoundUp,
    StepSatisfaction,
    backtest,
    backtest_columns,
    quote,
)
from promisekit.buffering._capability._protocol import _rank
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


def columnar_history(n: int, seed: int, segments: int = 2) -> HistoryColumns:
    """``n`` seeded requests over 2025-2026 in integer microseconds.

    Two segments (``callback`` 70 %, ``repair``), or ``segments`` equally likely
    ones with medians between 10 minutes and 4 hours.
    """
    import numpy as np

    rng = np.random.default_rng(seed)
    lo = int(datetime(2025, 1, 1, tzinfo=TORONTO).timestamp() * 1_000_000)
    hi = int(datetime(2027, 1, 1, tzinfo=TORONTO).timestamp() * 1_000_000)
    requested = np.sort(rng.integers(lo, hi, n, dtype=np.int64))
    if segments == 2:
        segment = np.where(rng.random(n) < 0.7, "callback", "repair").astype(object)
        median = np.where(segment == "callback", 25.0, 120.0) * 60e6
    else:
        code = rng.integers(0, segments, n)
        segment = np.array([f"s{c}" for c in range(segments)], dtype=object)[code]
        median = rng.uniform(10.0, 240.0, segments)[code] * 60e6
    work = np.round(median * rng.lognormal(0.0, 0.9, n)).astype(np.int64)
    return HistoryColumns(requested, requested + work, TORONTO.key, segment)


def numpy_replay(cols: HistoryColumns, q: float, min_samples: int) -> tuple[Any, Any, Any]:
    """Hand-written replay: quoted mask, window µs, confidence of p-``q`` per segment."""
    import numpy as np

    requested, completed = cols.requested_us, cols.completed_us
    assert cols.segment is not None
    n = requested.shape[0]
    by_request = np.argsort(requested, kind="stable")
    by_completion = np.argsort(completed, kind="stable")
    durations = (completed - requested).tolist()
    done = completed[by_completion].tolist()
    done_rows = by_completion.tolist()
    segments = cols.segment.tolist()
    samples: dict[Any, list[int]] = {}
    quoted = np.zeros(n, dtype=bool)
    windows = np.zeros(n, dtype=np.int64)
    confidence = np.full(n, np.nan)
    released = 0
    for i, now in zip(by_request.tolist(), requested[by_request].tolist(), strict=True):
        while released < n and done[released] < now:
            row = done_rows[released]
            insort(samples.setdefault(segments[row], []), durations[row])
            released += 1
        sample = samples.get(segments[i])
        if sample is None or len(sample) < min_samples:
            continue
        size = len(sample)
        window = max(sample[_rank(0.5, size)], sample[_rank(q, size)])
        quoted[i] = True
        windows[i] = window
        confidence[i] = bisect_right(sample, window) / size
    return quoted, windows, confidence


def columnar_part(n: int, seed: int, segments: int = 2) -> int:
    """The columnar table; 1 on a disagreement."""
    import numpy as np

    cols = columnar_history(n, seed, segments)
    policy = QuantileBuffer(0.9)
    # Warm-up on a tiny history: lazy imports (pandas factorizes segment labels) are
    # paid once per process, not per replay.
    backtest_columns(columnar_history(200, seed, segments), {"p90": policy}, by_segment=True)
    start = time.perf_counter()
    result = backtest_columns(cols, {"p90": policy}, by_segment=True, keep_quotes=False)
    fast = time.perf_counter() - start
    start = time.perf_counter()
    quoted, windows, confidence = numpy_replay(cols, 0.9, MIN_SAMPLES)
    reference = time.perf_counter() - start
    # Same quotes: compare every window and confidence through the kept quotes of a
    # second run (the timed run keeps none, as a user scoring a long history would).
    check = backtest_columns(cols, {"p90": policy}, by_segment=True, keep_quotes=True)
    got_quoted = np.zeros(n, dtype=bool)
    got_window = np.zeros(n, dtype=np.int64)
    got_conf = np.full(n, np.nan)
    for quote_ in check.quotes:
        if quote_.window is not None:
            got_quoted[quote_.index] = True
            got_window[quote_.index] = quote_.window // timedelta(microseconds=1)
            got_conf[quote_.index] = quote_.confidence
    agree = (
        bool((got_quoted == quoted).all())
        and bool((got_window[quoted] == windows[quoted]).all())
        and bool((got_conf[quoted] == confidence[quoted]).all())
        and result.row("p90").n_quoted == int(quoted.sum())
    )
    records = [
        HistoryRecord(
            datetime.fromtimestamp(int(a) / 1e6, TORONTO),
            datetime.fromtimestamp(int(b) / 1e6, TORONTO),
            s,
        )
        for a, b, s in zip(cols.requested_us, cols.completed_us, cols.segment, strict=True)
    ]
    start = time.perf_counter()
    backtest(records, {"p90": policy}, min_samples=MIN_SAMPLES, segment_key="segment")
    classic = time.perf_counter() - start
    print(
        f"columnar: {n:,} rows, real time, QuantileBuffer(0.9) per segment "
        f"({segments} segments), min_samples={MIN_SAMPLES}"
    )
    header = f"{'implementation':<34} {'rows/s':>12} {'time':>8} {'vs numpy ref.':>14}"
    print(header)
    print("-" * len(header))
    for label, seconds in (
        ("backtest_columns()", fast),
        ("hand-written numpy replay (ref.)", reference),
        ("backtest() (records)", classic),
    ):
        print(f"{label:<34} {n / seconds:>12,.0f} {seconds:>7.3f}s {seconds / reference:>13.2f}x")
    print(
        f"agree: {'yes' if agree else 'NO'}; targets: >= 100,000 rows/s "
        f"({'met' if n / fast >= 100_000 else 'MISSED'}), within 2x of the reference "
        f"({'met' if fast <= 2 * reference else 'MISSED'}: time ratio {fast / reference:.2f})"
    )
    return 0 if agree else 1


def optimal_part(seed: int) -> int:
    """The OptimalBuffer table; 1 when the closed form is worse than the search."""
    import numpy as np

    rng = random.Random(seed)
    cap = EmpiricalCapability.from_durations(
        [timedelta(minutes=25 * rng.lognormvariate(0.0, 0.9)) for _ in range(5000)]
    )
    zero = np.timedelta64(0, "us")

    def step(lateness: timedelta, window: timedelta) -> float:
        return 1.0 if lateness <= timedelta(0) else 0.0

    def step_many(lateness: Any, window: Any) -> Any:
        return np.where(lateness <= zero, 1.0, 0.0)

    cost: dict[str, Any] = {"quote_cost": 0.5}
    full: dict[str, Any] = {"quote_cost": 0.5, "summary_points": None}
    vec: dict[str, Any] = {"vectorized": True}
    rows = [
        ("StepSatisfaction (closed form)", OptimalBuffer(StepSatisfaction(), **cost), 50),
        ("plain callable, full search (ref.)", OptimalBuffer(step, **full), 1),
        ("plain callable, summary 256", OptimalBuffer(step, **cost), 3),
        ("numpy, vectorized=True, full search", OptimalBuffer(step_many, **vec, **full), 5),
        ("numpy, vectorized=True, summary 256", OptimalBuffer(step_many, **vec, **cost), 50),
    ]
    reference = OptimalBuffer(step, **full)
    print("optimal: OptimalBuffer.optimal_window, 5,000 durations, points=2000, quote_cost=0.5")
    header = f"{'satisfaction':<38} {'ms/quote':>9} {'vs ref.':>8} {'objective':>10} {'window':>16}"
    print(header)
    print("-" * len(header))
    timings = []
    for label, policy, repeat in rows:
        policy.optimal_window(cap)  # warm-up (imports)
        start = time.perf_counter()
        for _ in range(repeat):
            window = policy.optimal_window(cap)
        timings.append(((time.perf_counter() - start) / repeat, window, label))
    ref_time = timings[1][0]
    objectives = [reference.objective(cap, window) for _, window, _ in timings]
    for (seconds, window, label), value in zip(timings, objectives, strict=True):
        print(
            f"{label:<38} {seconds * 1e3:>9.3f} {seconds / ref_time:>7.4f}x "
            f"{value:>10.6f} {window!s:>16}"
        )
    ok = objectives[0] >= objectives[1] - 1e-12
    eps = -(-2000 // 256) / 2000
    close = all(value >= objectives[1] - 2 * eps for value in objectives[2:])
    closed, summary = timings[0][0] * 1e3, timings[4][0] * 1e3
    print(
        f"closed form as good as the search: {'yes' if ok else 'NO'}; summaries within "
        f"2 * eps = {2 * eps:g} of it: {'yes' if close else 'NO'}; target <= 1 ms per quote: "
        f"closed form {'met' if closed <= 1.0 else 'MISSED'} ({closed:.3f} ms), vectorized "
        f"summary {'met' if summary <= 1.0 else 'MISSED'} ({summary:.3f} ms)"
    )
    return 0 if ok and close else 1


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark and print the report; exit 1 on a disagreement."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=100_000, help="history size")
    parser.add_argument("--naive", type=int, default=2_000, help="naive subsample size")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-calendar", action="store_true", help="real time, no calendar")
    parser.add_argument("--columnar", type=int, default=200_000, help="columnar history size")
    parser.add_argument(
        "--segments",
        type=int,
        nargs="+",
        default=[2, 1000],
        help="segment counts of the columnar runs (2: callback/repair)",
    )
    parser.add_argument("--part", choices=["all", "classic", "columnar", "optimal"], default="all")
    args = parser.parse_args(argv)
    status = 0
    if args.part in ("all", "optimal"):
        status |= optimal_part(args.seed)
        print()
        if args.part == "optimal":
            return status
    if args.part in ("all", "columnar"):
        print(f"promisekit columnar backtest benchmark — Python {platform.python_version()}")
        for segments in args.segments:
            status |= columnar_part(args.columnar, args.seed, segments)
            print()
    if args.part == "columnar":
        if status:
            print("\nDISAGREEMENT between backtest_columns() and the reference", file=sys.stderr)
        return status

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
