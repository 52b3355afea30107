"""One-command benchmark: BusinessCalendar.add_many / between_many on numpy arrays.

Usage::

    python benchmarks/bench_vectorized.py [--n 1000000] [--scalar-n 20000] [--seed 0]

The workload is N seeded elements in America/Toronto, Monday to Friday 09:00-17:00, with
the Quebec public holidays of 2024-2029 (``holidays_from_package("CA", subdiv="QC")``):

* ``starts``: uniformly random microsecond instants between 2025-01-01 and 2027-01-01
  (nights, weekends, holidays and both DST changes included);
* ``works``: uniformly random durations between 0 and 200 hours (microseconds);
* ``between``: from each start to an instant up to 6 days before or 12 days after it.

It times, best of ``--repeat`` runs:

* promisekit's ``add_many`` / ``between_many``;
* a hand-written numpy computation of the same quantities, valid only for this plain
  calendar (one 09:00-17:00 interval on weekdays, DST changes outside working hours):
  UTC offset by ``searchsorted`` over the zone's transitions, weekly ``divmod`` and
  ``searchsorted`` over the holidays that fall on weekdays;
* the scalar API (``add`` / ``between``) on a random subsample, scaled per element.

It checks that the library agrees with the reference on every element and with the
scalar API on the subsample, prints the table and the ratios, and exits 1 on any
disagreement (a missed speed target is reported but exits 0).
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone
from typing import TypeVar
from zoneinfo import ZoneInfo

import numpy as np
from numpy.typing import NDArray

from promisekit.calendar import BusinessCalendar, holidays_from_package

T = TypeVar("T")
I64 = NDArray[np.int64]

TZ = "America/Toronto"
ZONE = ZoneInfo(TZ)
US = 1_000_000
HOUR = 3600 * US
DAY = 24 * HOUR
OPEN, CLOSE = 9 * HOUR, 17 * HOUR
LENGTH = CLOSE - OPEN
YEARS = range(2024, 2030)
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
WINDOW = (datetime(2025, 1, 1, tzinfo=ZONE), datetime(2027, 1, 1, tzinfo=ZONE))
TARGET_RATIO = 2.0


def to_us(moment: datetime) -> int:
    return (moment - EPOCH) // timedelta(microseconds=1)


def best_of(repeat: int, fn: Callable[[], T]) -> tuple[float, T]:
    best, result = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - t0)
    assert result is not None
    return best, result


# --------------------------------------------------------------------------- reference


class Reference:
    """Hand-written numpy business time for Mon-Fri 09:00-17:00 with weekday holidays.

    Valid only for that plain calendar in a zone whose offset changes happen outside
    09:00-17:00 (true for America/Toronto: 02:00 local).
    """

    def __init__(self, holidays: tuple[date, ...]) -> None:
        # The zone's offset changes, found hour by hour (Toronto changes on the hour).
        lo = to_us(datetime(YEARS.start - 1, 1, 1, tzinfo=timezone.utc)) // HOUR
        hi = to_us(datetime(YEARS.stop + 1, 1, 1, tzinfo=timezone.utc)) // HOUR
        keys, vals = [], []
        previous = None
        for hour in range(lo, hi):
            moment = EPOCH + timedelta(hours=hour)
            offset = moment.astimezone(ZONE).utcoffset()
            assert offset is not None
            value = offset // timedelta(microseconds=1)
            if previous is None:
                vals.append(value)
            elif value != previous:
                keys.append(hour * HOUR)
                vals.append(value)
            previous = value
        self.off_keys = np.array(keys, dtype=np.int64)
        self.off_vals = np.array(vals, dtype=np.int64)
        # Local wall-clock instants of the changes (the offset in force before each).
        self.local_keys = self.off_keys + self.off_vals[:-1]
        days = sorted(d.toordinal() - EPOCH_ORDINAL for d in set(holidays) if d.weekday() < 5)
        self.hol = np.array([*days, np.iinfo(np.int64).max], dtype=np.int64)
        hol = np.array(days, dtype=np.int64)
        weeks, weekday = np.divmod(hol + 3, 7)
        # Position of each holiday among plain weekdays, minus the holidays before it.
        self.hol_pos = weeks * 5 + weekday - np.arange(len(hol))

    def cum(self, t: I64) -> I64:
        local = t + self.off_vals[np.searchsorted(self.off_keys, t, side="right")]
        day, tod = np.divmod(local, DAY)
        weeks, weekday = np.divmod(day + 3, 7)
        k = np.searchsorted(self.hol, day)
        open_day = (weekday < 5) & (self.hol[k] != day)
        within = np.where(open_day, np.clip(tod - OPEN, 0, LENGTH), 0)
        out: I64 = (weeks * 5 + np.minimum(weekday, 5) - k) * LENGTH + within
        return out

    def add(self, t: I64, work: I64) -> I64:
        n, rest = np.divmod(self.cum(t) + work - 1, LENGTH)
        q = n + np.searchsorted(self.hol_pos, n, side="right")
        weeks, weekday = np.divmod(q, 5)
        local = (weeks * 7 + weekday - 3) * DAY + OPEN + rest + 1
        utc = local - self.off_vals[np.searchsorted(self.local_keys, local, side="right")]
        out: I64 = np.where(work == 0, t, utc)
        return out

    def between(self, a: I64, b: I64) -> I64:
        out: I64 = self.cum(b) - self.cum(a)
        return out


# --------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--scalar-n", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)

    holidays = holidays_from_package("CA", subdiv="QC", years=YEARS)
    cal = BusinessCalendar(TZ, hours={"mon-fri": "09:00-17:00"}, holidays=holidays)
    reference = Reference(holidays)

    rng = np.random.default_rng(args.seed)
    lo, hi = to_us(WINDOW[0]), to_us(WINDOW[1])
    starts = rng.integers(lo, hi, args.n, dtype=np.int64)
    works = rng.integers(0, 200 * HOUR, args.n, dtype=np.int64, endpoint=True)
    others = starts + rng.integers(-6 * DAY, 12 * DAY, args.n, dtype=np.int64)
    starts64 = starts.view("datetime64[us]")
    works64 = works.view("timedelta64[us]")
    others64 = others.view("datetime64[us]")

    cal.add_many(starts64[:1000], works64[:1000])  # build the tables once (not timed)
    t_add, got_add = best_of(args.repeat, lambda: cal.add_many(starts64, works64))
    t_between, got_between = best_of(args.repeat, lambda: cal.between_many(starts64, others64))
    t_ref_add, ref_add = best_of(args.repeat, lambda: reference.add(starts, works))
    t_ref_between, ref_between = best_of(args.repeat, lambda: reference.between(starts, others))

    sample = rng.choice(args.n, size=min(args.scalar_n, args.n), replace=False)
    s_starts = [EPOCH + timedelta(microseconds=int(x)) for x in starts[sample]]
    s_works = [timedelta(microseconds=int(x)) for x in works[sample]]
    s_others = [EPOCH + timedelta(microseconds=int(x)) for x in others[sample]]
    t_s_add, s_add = best_of(
        1, lambda: [cal.add(s, w) for s, w in zip(s_starts, s_works, strict=True)]
    )
    t_s_between, s_between = best_of(
        1, lambda: [cal.between(a, b) for a, b in zip(s_starts, s_others, strict=True)]
    )

    failures = []
    add_i = got_add.view(np.int64)
    between_i = got_between.view(np.int64)
    if not np.array_equal(add_i, ref_add):
        failures.append(f"add_many vs reference: {int((add_i != ref_add).sum())} differ")
    if not np.array_equal(between_i, ref_between):
        failures.append(
            f"between_many vs reference: {int((between_i != ref_between).sum())} differ"
        )
    if [to_us(x) for x in s_add] != add_i[sample].tolist():
        failures.append("add_many vs scalar add: results differ on the subsample")
    if [x // timedelta(microseconds=1) for x in s_between] != between_i[sample].tolist():
        failures.append("between_many vs scalar between: results differ on the subsample")

    def per(seconds: float, count: int) -> float:
        return seconds / count * 1e6

    rows: list[tuple[str, float, float, float]] = [
        (
            "add_many",
            per(t_add, args.n),
            per(t_ref_add, args.n),
            per(t_s_add, len(sample)),
        ),
        (
            "between_many",
            per(t_between, args.n),
            per(t_ref_between, args.n),
            per(t_s_between, len(sample)),
        ),
    ]
    print(f"promisekit vectorized business time — {args.n:,} elements, {TZ}, Mon-Fri 09:00-17:00,")
    print(f"Quebec holidays {YEARS.start}-{YEARS.stop - 1}; scalar API on {len(sample):,} of them")
    print(
        f"Python {platform.python_version()}, numpy {np.__version__}, "
        f"{platform.machine()}, best of {args.repeat}"
    )
    print()
    header = (
        "| operation | promisekit µs/elem | numpy reference µs/elem | ratio (≤ 2) "
        "| scalar API µs/elem | speed-up vs scalar |"
    )
    print(header)
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    missed = []
    for name, lib, ref, scalar in rows:
        ratio = lib / ref
        if ratio > TARGET_RATIO:
            missed.append(name)
        print(
            f"| {name} | {lib:.3f} | {ref:.3f} | {ratio:.2f}× | {scalar:.2f} "
            f"| {scalar / lib:,.0f}× |"
        )
    print()
    print(
        f"agreement with the reference on all {args.n:,} elements and with the scalar API "
        f"on the subsample: {'OK' if not failures else 'FAILED'}"
    )
    for failure in failures:
        print(f"  - {failure}")
    if missed:
        print(f"speed target missed (ratio > {TARGET_RATIO}) for: {', '.join(missed)}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
