"""CSV import speed: promisekit's readers beside pandas and ``csv.DictReader`` (issue 17).

Usage::

    python benchmarks/bench_csv.py [--rows N] [--repeat N]

One generated wide export (one row per order: id, customer, purchase time with its UTC
offset, estimated date, delivered time — empty for a tenth of the rows, open — review
score, state, and two unused text columns), ``--rows`` rows (100,000 by default),
written in a temporary directory. Measured in this process, each ``--repeat`` times
(the fastest kept: the machine may be shared), in turn:

* **promisekit columnar** — :func:`promisekit.io.load_wide` with a ``[wide]`` mapping
  of the five used columns (``pandas.read_csv`` of every cell as text, then the rules
  of :mod:`promisekit.io` checked column by column).
* **pandas reference** — ``pandas.read_csv`` of the same five columns as text plus
  the least vectorized validation of the same columns: ``pandas.to_datetime`` (ISO 8601,
  UTC) of the three timestamps, ``pandas.to_numeric`` of the score, the missing ids.
* **csv.DictReader** — a bare ``csv.DictReader`` pass over the file (no parsing).
* **promisekit event rows** — for comparison, the row-at-a-time event reader
  (:func:`promisekit.io.load_csv`) on the same orders written as events (two per
  delivered order, one per open order), per event row.

Prints rows per second and the ratio of each to the pandas reference (time per row
over the reference's); the target is ≤ 2× for the columnar path.
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

STATES = ["SP", "RJ", "MG", "RS", "PR", "SC", "BA", "DF"]
MAPPING = """\
[wide]
promise_id = "order_id"
made_at = "purchase"
due = "estimated"
delivered_at = "delivered"
score = "review"
"""


def _write(directory: Path, rows: int) -> tuple[Path, Path, Path]:
    rng = random.Random(17)
    wide = directory / "orders.csv"
    events = directory / "events.csv"
    with (
        open(wide, "w", newline="", encoding="utf-8") as w,
        open(events, "w", newline="", encoding="utf-8") as e,
    ):
        out = csv.writer(w)
        ev = csv.writer(e)
        out.writerow(
            [
                "order_id",
                "customer",
                "purchase",
                "estimated",
                "delivered",
                "review",
                "state",
                "status",
                "comment",
            ]
        )
        ev.writerow(["type", "id", "promise_id", "at", "recorded_at", "customer_id", "kind", "due"])
        for i in range(rows):
            day = 1 + i % 28
            made = f"2026-03-{day:02d}T{rng.randrange(24):02d}:{rng.randrange(60):02d}:00-03:00"
            due = f"2026-04-{day:02d}T00:00:00-03:00"
            delivered = (
                ""
                if i % 10 == 0
                else f"2026-04-{1 + rng.randrange(28):02d}T{rng.randrange(24):02d}:00:00-03:00"
            )
            review = "" if i % 7 == 0 else str(rng.randrange(1, 6))
            out.writerow(
                [
                    f"o{i}",
                    f"c{i % 5000}",
                    made,
                    due,
                    delivered,
                    review,
                    rng.choice(STATES),
                    "delivered",
                    "ok",
                ]
            )
            ev.writerow(["promise_made", f"m{i}", f"o{i}", made, made, f"c{i}", "order", due])
            if delivered:
                ev.writerow(
                    ["delivery_recorded", f"d{i}", f"o{i}", delivered, delivered, "", "", ""]
                )
    mapping = directory / "wide.toml"
    mapping.write_text(MAPPING, encoding="utf-8")
    return wide, events, mapping


def _best(repeat: int, work: Callable[[], Any]) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        work()
        best = min(best, time.perf_counter() - start)
    return best


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    import pandas as pd

    from promisekit import io

    with tempfile.TemporaryDirectory() as tmp:
        wide, events, mapping = _write(Path(tmp), args.rows)
        with open(events, encoding="utf-8") as handle:
            event_rows = sum(1 for _ in handle) - 1

        def columnar() -> None:
            result = io.load_wide(wide, mapping=mapping)
            assert result.ok and len(result.frame) == args.rows, result.errors[:3]

        def reference() -> None:
            frame = pd.read_csv(
                wide,
                dtype=str,
                keep_default_na=False,
                na_filter=False,
                usecols=["order_id", "purchase", "estimated", "delivered", "review"],
            )
            for column in ("purchase", "estimated", "delivered"):
                parsed = pd.to_datetime(
                    frame[column].where(frame[column] != ""),
                    format="ISO8601",
                    utc=True,
                    errors="coerce",
                )
                bad = parsed.isna() & (frame[column] != "")
                assert not bad.any()
            score = pd.to_numeric(frame["review"].where(frame["review"] != ""), errors="coerce")
            assert not (score.isna() & (frame["review"] != "")).any()
            assert not (frame["order_id"] == "").any()

        def dictreader() -> None:
            with open(wide, newline="", encoding="utf-8") as handle:
                for _ in csv.DictReader(handle):
                    pass

        def event_rows_reader() -> None:
            result = io.load_csv(events)
            assert result.ok

        columnar()  # warm up: imports, regex compilation
        reference()
        timings = [
            ("promisekit columnar (load_wide)", _best(args.repeat, columnar), args.rows),
            ("pandas.read_csv + vectorized checks", _best(args.repeat, reference), args.rows),
            ("csv.DictReader (no parsing)", _best(args.repeat, dictreader), args.rows),
            ("promisekit event rows (load_csv)", _best(1, event_rows_reader), event_rows),
        ]
    reference_per_row = timings[1][1] / timings[1][2]
    print(f"CSV import, {args.rows:,} wide rows ({event_rows:,} event rows), best of {args.repeat}")
    print(f"Python {sys.version.split()[0]}, pandas {pd.__version__}, {os.cpu_count()} CPUs")
    print()
    print(f"{'reader':<38} {'seconds':>8} {'rows/s':>11} {'× pandas ref':>13}")
    for name, seconds, rows in timings:
        ratio = (seconds / rows) / reference_per_row
        print(f"{name:<38} {seconds:>8.3f} {rows / seconds:>11,.0f} {ratio:>12.2f}×")
    columnar_ratio = timings[0][1] / timings[1][1]
    verdict = "met" if columnar_ratio <= 2.0 else "NOT met"
    print()
    print(f"target: columnar ≤ 2.00× the pandas reference: {columnar_ratio:.2f}× ({verdict})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
