"""One-command ledger benchmark: appends, replays and CSV import, each beside a reference.

Usage::

    python benchmarks/bench_ledger.py [--quick] [--repeat N] [--events N] [--promises N] [--rows N]

Workloads (full size; ``--quick`` divides every size by 50):

* **append, in memory** — ``PromiseLedger.append_many`` of 1,000,000 events
  (200,000 promises × made, notified, paused, resumed, delivered). Reference: a
  ``dict`` of the same events by id and a ``dict`` of per-promise lists (the least an
  id- and promise-indexed store can do), in one loop.
* **append, SQLite** — ``SQLiteLedger.append_many`` of the same events (serialized to
  JSON inside the one transaction). Reference: plain :mod:`sqlite3` into a database
  with the store's own tables and indexes (``promisekit.store._MAKE_SCHEMA``), same
  pragmas (WAL, ``synchronous=FULL``), one transaction, ``executemany`` in batches of
  the store's size (2,000 rows); it pays for the JSON text: ``json.dumps`` of each
  event's document, built beforehand as a ``dict`` (untimed, as are the other
  columns).
* **replay, in memory** — ``PromiseLedger.state`` of 100,000 promises (5 events each).
  Reference: ``assess()`` of the same promises on prebuilt ``Promise`` / ``Delivery``
  objects (what the state is assessed with, without the replay).
* **replay, SQLite** — ``SQLiteLedger.states()`` over a store of those 100,000
  promises. Reference: reading the same rows and ``json.loads`` of each document.
* **import CSV** — ``iter_rows`` over a generated 1,000,000-row CSV (written by
  ``write_csv`` in a temporary directory). Reference: a bare ``csv.DictReader`` pass
  over the same file.

Each measurement runs in a fresh subprocess, timed with ``time.perf_counter``; the SQLite
cases first pass a few items through the same code, untimed (set-up paid once per
process: the converter, the store's generated readers and writers). ``--repeat N`` runs
each measurement N times, promisekit and reference in turn, and keeps the fastest of
each (the machine may be shared). The memory column is the growth of the process's
peak resident set during the measured part: on Linux the peak is reset just before
(``/proc/self/clear_refs``) and read after (``VmHWM``), minus the resident set just
before, so the workload's input data is not counted; elsewhere ``resource.getrusage``
gives a rougher upper bound. The script
prints a table — each workload's ratio is promisekit's time per item over the
reference's, measured in the same run, beside its target where issue 14 set one — and
exits 0.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import random
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from promisekit.delivery import assess
from promisekit.io import iter_rows, write_csv
from promisekit.ledger import (
    CustomerNotified,
    DeliveryRecorded,
    Event,
    PromiseLedger,
    PromiseMade,
    PromisePaused,
    PromiseResumed,
)
from promisekit.serialize import to_dict
from promisekit.store import _CHUNK as SQLITE_BATCH
from promisekit.store import _MAKE_SCHEMA, SQLiteLedger

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=timezone.utc)
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
ZONES = (ZoneInfo("America/Toronto"), ZoneInfo("Europe/Paris"), timezone.utc)
EVENTS_PER_PROMISE = 5


# --------------------------------------------------------------------------- workload


def make_events(promises: int, seed: int = 0) -> list[Event]:
    """``promises`` × 5 seeded events: made, notified, paused, resumed, delivered."""
    rng = random.Random(seed)
    out: list[Event] = []
    for index in range(promises):
        zone = ZONES[index % len(ZONES)]
        made_utc = T0 + timedelta(seconds=rng.randrange(365 * 86_400))
        window = timedelta(minutes=rng.randrange(30, 600))
        pid = f"P-{index:07d}"

        def at(minutes: float, made_utc: datetime = made_utc, zone: Any = zone) -> datetime:
            # Real (not wall-clock) time: shift in UTC, then express in the zone.
            return (made_utc + timedelta(minutes=minutes)).astimezone(zone)

        made_at = at(0)
        late = rng.randrange(0, 900)
        out.append(
            PromiseMade(
                id=f"{pid}-m",
                promise_id=pid,
                at=made_at,
                recorded_at=made_at,
                customer_id=f"C-{rng.randrange(50_000)}",
                kind="callback",
                due=at(window.total_seconds() / 60),
            )
        )
        out.append(
            CustomerNotified(
                id=f"{pid}-n", promise_id=pid, at=at(5), recorded_at=at(5), channel="sms"
            )
        )
        out.append(PromisePaused(id=f"{pid}-p", promise_id=pid, at=at(10), recorded_at=at(10)))
        out.append(PromiseResumed(id=f"{pid}-r", promise_id=pid, at=at(20), recorded_at=at(21)))
        out.append(
            DeliveryRecorded(
                id=f"{pid}-d", promise_id=pid, at=at(late), recorded_at=at(late + 1), quantity=1
            )
        )
    return out


def _rss_kb() -> int | None:
    try:
        with open("/proc/self/statm") as handle:
            pages = int(handle.read().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") // 1024
    except (OSError, ValueError, AttributeError):
        return None


def _peak_kb() -> int | None:
    """Peak resident set of this process (Linux ``VmHWM``; ``ru_maxrss`` elsewhere)."""
    try:
        with open("/proc/self/status") as handle:
            for line in handle:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    try:
        import resource
    except ImportError:  # pragma: no cover - Windows
        return None
    # ru_maxrss outlives execve (it may be the parent's peak): a rough upper bound.
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak // 1024 if sys.platform == "darwin" else peak


def _reset_peak() -> None:
    """Reset the peak resident set to the current one (Linux), so setup is not counted."""
    try:
        with open("/proc/self/clear_refs", "w") as handle:
            handle.write("5")
    except OSError:
        pass


def measure(run: Callable[[], int]) -> dict[str, Any]:
    """Time ``run`` (which returns how many items it handled) and its memory growth."""
    before = _rss_kb()
    _reset_peak()
    start = time.perf_counter()
    items = run()
    seconds = time.perf_counter() - start
    peak = _peak_kb()
    grew = None if before is None or peak is None else max(peak - before, 0)
    return {"seconds": seconds, "items": items, "grew_kb": grew}


# --------------------------------------------------------------------------- cases


def case_append_memory(args: argparse.Namespace) -> dict[str, Any]:
    events = make_events(args.events // EVENTS_PER_PROMISE)
    if args.reference:

        def buckets() -> int:
            by_id: dict[str, Event] = {}
            by_promise: dict[str, list[Event]] = {}
            for event in events:
                by_id[event.id] = event
                bucket = by_promise.get(event.promise_id)
                if bucket is None:
                    by_promise[event.promise_id] = [event]
                else:
                    bucket.append(event)
            return len(by_id)

        return measure(buckets)
    return measure(lambda: PromiseLedger().append_many(events))


def _plain_store(path: Path) -> sqlite3.Connection:
    """A plain sqlite3 database with the store's tables and indexes, and its pragmas."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = FULL")
    for statement in _MAKE_SCHEMA:
        conn.execute(statement)
    return conn


def _prepared(events: list[Event]) -> list[tuple[str, str, str, int, int, dict[str, Any]]]:
    """Every column but the JSON text, and the document as a dict (untimed)."""

    def us(value: datetime) -> int:
        return (value - EPOCH) // timedelta(microseconds=1)

    return [
        (e.id, e.promise_id, e.event_type, us(e.at), us(e.recorded_at), to_dict(e)) for e in events
    ]


def case_append_sqlite(args: argparse.Namespace) -> dict[str, Any]:
    events = make_events(args.events // EVENTS_PER_PROMISE)
    path = Path(args.tmp) / f"append-{os.getpid()}.db"
    if args.reference:
        prepared = _prepared(events)
        conn = _plain_store(path)
        dumps = json.dumps
        insert = (
            "INSERT INTO events (id, promise_id, type, at_us, recorded_us, document) "
            "VALUES (?, ?, ?, ?, ?, ?)"
        )

        def raw() -> int:
            conn.execute("BEGIN IMMEDIATE")
            for start in range(0, len(prepared), SQLITE_BATCH):
                conn.executemany(
                    insert,
                    [
                        (a, b, c, d, e, dumps(document))
                        for a, b, c, d, e, document in prepared[start : start + SQLITE_BATCH]
                    ],
                )
            conn.execute("COMMIT")
            return len(prepared)

        try:
            return measure(raw)
        finally:
            conn.close()
    with SQLiteLedger(":memory:") as warm:  # one-time set-up, untimed (see the docstring)
        warm.append_many(events[:EVENTS_PER_PROMISE])
    with SQLiteLedger(path) as ledger:
        return measure(lambda: ledger.append_many(events))


def case_replay_memory(args: argparse.Namespace) -> dict[str, Any]:
    events = make_events(args.promises)
    ledger = PromiseLedger(events)
    ids = ledger.promise_ids()
    now = T0 + timedelta(days=400)
    if args.reference:
        prepared = [(s.promise, s.deliveries) for s in (ledger.state(pid) for pid in ids)]

        def direct() -> int:
            for promise, deliveries in prepared:
                assess(promise, deliveries, now=now)
            return len(prepared)

        return measure(direct)

    def replay_all() -> int:
        for pid in ids:
            ledger.state(pid).assess(now)
        return len(ids)

    return measure(replay_all)


def case_replay_sqlite(args: argparse.Namespace) -> dict[str, Any]:
    events = make_events(args.promises)
    path = Path(args.tmp) / f"replay-{os.getpid()}.db"
    with SQLiteLedger(path) as ledger:
        ledger.append_many(events)
    del events
    with SQLiteLedger(path) as ledger:
        if args.reference:
            conn = ledger._db()

            def raw() -> int:
                count = 0
                for (document,) in conn.execute("SELECT document FROM events ORDER BY promise_id"):
                    json.loads(document)
                    count += 1
                return count // EVENTS_PER_PROMISE

            return measure(raw)
        next(iter(ledger.states()))  # one-time set-up, untimed (see the docstring)
        return measure(lambda: sum(1 for _ in ledger.states()))


def case_import_csv(args: argparse.Namespace) -> dict[str, Any]:
    path = Path(args.csv)
    if args.reference:

        def bare() -> int:
            with open(path, newline="", encoding="utf-8") as handle:
                return sum(1 for _ in csv.DictReader(handle))

        return measure(bare)

    def load() -> int:
        count = 0
        for item in iter_rows(path):
            if not isinstance(item, Event):
                raise SystemExit(f"unexpected row error: {item}")
            count += 1
        return count

    return measure(load)


Case = Callable[[argparse.Namespace], dict[str, Any]]
#: name: (label, unit, reference, target time ratio or None, case)
CASES: dict[str, tuple[str, str, str, float | None, Case]] = {
    "append-memory": (
        "append, in memory",
        "events",
        "dict by id + per-promise lists",
        1.5,
        case_append_memory,
    ),
    "append-sqlite": (
        "append, SQLite",
        "events",
        "json.dumps + sqlite3.executemany",
        1.5,
        case_append_sqlite,
    ),
    "replay-memory": (
        "replay + assess, in memory",
        "promises",
        "assess() on prebuilt objects",
        None,
        case_replay_memory,
    ),
    "replay-sqlite": (
        "replay, SQLite states()",
        "promises",
        "SELECT + json.loads",
        2.5,
        case_replay_sqlite,
    ),
    "import-csv": (
        "import CSV (iter_rows)",
        "rows",
        "csv.DictReader bare parse",
        None,
        case_import_csv,
    ),
}


# --------------------------------------------------------------------------- driver


def run_case(name: str, reference: bool, args: argparse.Namespace) -> dict[str, Any]:
    command = [
        sys.executable,
        __file__,
        "--case",
        name,
        "--events",
        str(args.events),
        "--promises",
        str(args.promises),
        "--rows",
        str(args.rows),
        "--tmp",
        args.tmp,
        "--csv",
        args.csv,
    ]
    if reference:
        command.append("--reference")
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"case {name} failed:\n{done.stderr}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _fastest(name: str, args: argparse.Namespace) -> tuple[dict[str, Any], dict[str, Any]]:
    """The fastest of ``args.repeat`` runs of promisekit and of the reference, in turn."""
    runs = [(run_case(name, False, args), run_case(name, True, args)) for _ in range(args.repeat)]
    ours = min((pair[0] for pair in runs), key=lambda r: r["seconds"] / r["items"])
    ref = min((pair[1] for pair in runs), key=lambda r: r["seconds"] / r["items"])
    return ours, ref


def _rate(result: dict[str, Any]) -> str:
    return f"{result['items'] / result['seconds']:>12,.0f}/s"


def _memory(result: dict[str, Any]) -> str:
    grew = result["grew_kb"]
    return "n/a" if grew is None else f"{grew / 1024:,.1f} MB"


def _versions() -> str:
    from importlib.metadata import PackageNotFoundError, version

    parts = [f"Python {platform.python_version()}", f"SQLite {sqlite3.sqlite_version}"]
    for package in ("promisekit", "attrs", "cattrs"):
        try:
            parts.append(f"{package} {version(package)}")
        except PackageNotFoundError:
            parts.append(f"{package} ?")
    return ", ".join(parts)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="sizes divided by 50")
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--promises", type=int, default=100_000)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument(
        "--repeat", type=int, default=1, help="runs of each measurement; the fastest is kept"
    )
    parser.add_argument("--case", choices=sorted(CASES), help=argparse.SUPPRESS)
    parser.add_argument("--reference", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--tmp", default="", help=argparse.SUPPRESS)
    parser.add_argument("--csv", default="", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.quick:
        args.events //= 50
        args.promises //= 50
        args.rows //= 50
    if args.case:
        print(json.dumps(CASES[args.case][4](args)))
        return 0
    with tempfile.TemporaryDirectory(prefix="promisekit-bench-") as tmp:
        args.tmp = tmp
        args.csv = str(Path(tmp) / "export.csv")
        started = time.perf_counter()
        write_csv(make_events(args.rows // EVENTS_PER_PROMISE, seed=1)[: args.rows], args.csv)
        size = os.path.getsize(args.csv) / 1e6
        print(f"promisekit ledger benchmark — {platform.machine()}, {_versions()}")
        print(
            f"sizes: {args.events:,} events appended, {args.promises:,} promises replayed "
            f"({EVENTS_PER_PROMISE} events each), {args.rows:,} CSV rows ({size:,.0f} MB)"
        )
        print()
        header = (
            f"{'workload':<28} {'promisekit':>14} {'mem':>7}   "
            f"{'reference':<34} {'rate':>14} {'mem':>7} {'ratio':>6} {'target':>7}"
        )
        print(header)
        print("-" * len(header))
        for name, (label, unit, ref_label, target, _) in CASES.items():
            ours, ref = _fastest(name, args)
            ratio = (ours["seconds"] / ours["items"]) / (ref["seconds"] / ref["items"])
            goal = "" if target is None else f"≤ {target:.1f}×"
            print(
                f"{label:<28} {_rate(ours):>14} {_memory(ours):>7}   "
                f"{ref_label:<34} {_rate(ref):>14} {_memory(ref):>7} {ratio:>5.2f}× {goal:>7}"
            )
            print(f"{'':<28} {unit:>14}")
        print()
        print(
            "rate: items per second (higher is better); mem: growth of peak RSS during the "
            "timed part;\nratio: promisekit's time per item / the reference's (lower is "
            f"better), fastest of {args.repeat} run(s) each."
        )
        print(f"total time {time.perf_counter() - started:,.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
