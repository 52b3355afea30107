"""One-command ledger benchmark: appends, replays and CSV import, each beside a reference.

Usage::

    python benchmarks/bench_ledger.py [--quick] [--events N] [--promises N] [--rows N]

Workloads (full size; ``--quick`` divides every size by 50):

* **append, in memory** — ``PromiseLedger.append_many`` of 1,000,000 events
  (200,000 promises × made, notified, paused, resumed, delivered). Reference: building
  a ``dict`` of the same events by id (the least an id-indexed store can do).
* **append, SQLite** — ``SQLiteLedger.append_many`` of the same events (serialized to
  JSON inside the one transaction). Reference: raw ``sqlite3.executemany`` of the same
  JSON documents (serialized beforehand, untimed) into a bare table, same pragmas
  (WAL, ``synchronous=FULL``), one transaction.
* **replay, in memory** — ``PromiseLedger.state`` of 100,000 promises (5 events each).
  Reference: ``assess()`` of the same promises on prebuilt ``Promise`` / ``Delivery``
  objects (what the state is assessed with, without the replay).
* **replay, SQLite** — ``SQLiteLedger.states()`` over a store of those 100,000
  promises. Reference: reading the same rows and ``json.loads`` of each document.
* **import CSV** — ``iter_rows`` over a generated 1,000,000-row CSV (written by
  ``write_csv`` in a temporary directory). Reference: a bare ``csv.DictReader`` pass
  over the same file.

Each measurement runs in a fresh subprocess, timed with ``time.perf_counter``; the
memory column is the growth of the process's peak resident set during the measured
part: on Linux the peak is reset just before (``/proc/self/clear_refs``) and read
after (``VmHWM``), minus the resident set just before, so the workload's input data is
not counted; elsewhere ``resource.getrusage`` gives a rougher upper bound. The script
prints a table and exits 0.
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
from promisekit.serialize import to_json
from promisekit.store import SQLiteLedger

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=timezone.utc)
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
        return measure(lambda: len({event.id: event for event in events}))
    return measure(lambda: PromiseLedger().append_many(events))


def _bare_table(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = FULL")
    conn.execute(
        "CREATE TABLE events (seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, "
        "promise_id TEXT NOT NULL, type TEXT NOT NULL, at_us INTEGER NOT NULL, "
        "recorded_us INTEGER NOT NULL, document TEXT NOT NULL)"
    )
    return conn


def _rows(events: list[Event]) -> list[tuple[str, str, str, int, int, str]]:
    def us(value: datetime) -> int:
        return int(value.timestamp() * 1_000_000)

    return [
        (e.id, e.promise_id, e.event_type, us(e.at), us(e.recorded_at), to_json(e)) for e in events
    ]


def case_append_sqlite(args: argparse.Namespace) -> dict[str, Any]:
    events = make_events(args.events // EVENTS_PER_PROMISE)
    path = Path(args.tmp) / f"append-{os.getpid()}.db"
    if args.reference:
        rows = _rows(events)
        conn = _bare_table(path)

        def raw() -> int:
            conn.execute("BEGIN IMMEDIATE")
            conn.executemany("INSERT INTO events VALUES (NULL, ?, ?, ?, ?, ?, ?)", rows)
            conn.execute("COMMIT")
            return len(rows)

        try:
            return measure(raw)
        finally:
            conn.close()
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


CASES: dict[str, tuple[str, str, str, Callable[[argparse.Namespace], dict[str, Any]]]] = {
    "append-memory": ("append, in memory", "events", "dict by id", case_append_memory),
    "append-sqlite": (
        "append, SQLite",
        "events",
        "sqlite3.executemany of the JSON",
        case_append_sqlite,
    ),
    "replay-memory": (
        "replay + assess, in memory",
        "promises",
        "assess() on prebuilt objects",
        case_replay_memory,
    ),
    "replay-sqlite": (
        "replay, SQLite states()",
        "promises",
        "SELECT + json.loads",
        case_replay_sqlite,
    ),
    "import-csv": ("import CSV (iter_rows)", "rows", "csv.DictReader bare parse", case_import_csv),
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
        print(json.dumps(CASES[args.case][3](args)))
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
            f"{'reference':<34} {'rate':>14} {'mem':>7} {'ratio':>6}"
        )
        print(header)
        print("-" * len(header))
        for name, (label, unit, ref_label, _) in CASES.items():
            ours = run_case(name, False, args)
            ref = run_case(name, True, args)
            ratio = ref["seconds"] / ours["seconds"] * (ours["items"] / ref["items"])
            print(
                f"{label:<28} {_rate(ours):>14} {_memory(ours):>7}   "
                f"{ref_label:<34} {_rate(ref):>14} {_memory(ref):>7} {ratio:>5.2f}×"
            )
            print(f"{'':<28} {unit:>14}")
        print()
        print(
            "rate: items per second (higher is better); mem: growth of peak RSS during the "
            "timed part; ratio: promisekit's rate / the reference's."
        )
        print(f"total time {time.perf_counter() - started:,.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
