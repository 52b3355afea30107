"""One-command ledger benchmark: appends, replays and CSV import, each beside a reference.

Usage::

    python benchmarks/bench_ledger.py [--quick] [--repeat N] [--events N] [--promises N] [--rows N]
        [--postgres URL]

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

With ``--postgres URL`` (default: ``$PROMISEKIT_TEST_POSTGRES``; a throwaway server:
``bash .ci/postgres start DIR``), each in a fresh PostgreSQL schema, dropped after:

* **append, PostgreSQL** — ``PostgresLedger.append_many`` of the same events. References:
  psycopg into the store's own tables and indexes (``_postgres_sql.MAKE_SCHEMA``), one
  transaction, paying ``json.dumps`` of each document as the SQLite reference does:
  ``executemany`` in batches of the store's size (1,000 rows), and ``COPY`` (the fastest
  way in).
* **replay, PostgreSQL** — ``PostgresLedger.states()`` over a store of the replayed
  promises. Reference: ``SELECT document … ORDER BY promise_id`` and ``json.loads``.

Then the **time to the first state** of ``states()`` (the fastest of 5) in stores of
``--promises`` / 10 and ``--promises`` promises, SQLite and PostgreSQL: it should not
grow with the store.

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
from collections.abc import Callable, Iterable
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

POSTGRES_BATCH = 1000  # rows per executemany (the PostgreSQL store's own chunk)

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


def _loads_all(rows: Iterable[tuple[str]]) -> int:
    """The replay reference: ``json.loads`` of every document read; how many promises."""
    count = 0
    for (document,) in rows:
        json.loads(document)
        count += 1
    return count // EVENTS_PER_PROMISE


def case_replay_sqlite(args: argparse.Namespace) -> dict[str, Any]:
    events = make_events(args.promises)
    path = Path(args.tmp) / f"replay-{os.getpid()}.db"
    with SQLiteLedger(path) as ledger:
        ledger.append_many(events)
    del events
    with SQLiteLedger(path) as ledger:
        if args.reference:
            conn = ledger._db()
            return measure(
                lambda: _loads_all(conn.execute("SELECT document FROM events ORDER BY promise_id"))
            )
        next(iter(ledger.states()))  # one-time set-up, untimed (see the docstring)
        return measure(lambda: sum(1 for _ in ledger.states()))


def _pg_schema() -> str:
    return f"bench_{os.getpid()}"


def _pg_drop(url: str, schema: str) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))


def case_append_postgres(args: argparse.Namespace) -> dict[str, Any]:
    import psycopg

    from promisekit import _postgres_sql as q
    from promisekit.postgres import PostgresLedger

    events = make_events(args.events // EVENTS_PER_PROMISE)
    schema = _pg_schema()
    try:
        if args.reference:
            prepared = [(seq, *row) for seq, row in enumerate(_prepared(events), start=1)]
            with psycopg.connect(args.postgres, autocommit=True) as conn:
                for statement in q.MAKE_SCHEMA:
                    conn.execute(q.compose(statement, schema))
                dumps = json.dumps
                columns = "(seq, id, promise_id, type, at_us, recorded_us, document)"
                if args.reference == "copy":
                    copy_sql = q.compose(f"COPY {{s}}.events {columns} FROM STDIN", schema)

                    def copy() -> int:
                        with (
                            conn.transaction(),
                            conn.cursor() as cur,
                            cur.copy(copy_sql) as out,
                        ):
                            for a, b, c, d, e, f, document in prepared:
                                out.write_row((a, b, c, d, e, f, dumps(document)))
                        return len(prepared)

                    return measure(copy)
                insert = q.compose(
                    f"INSERT INTO {{s}}.events {columns} VALUES (%s, %s, %s, %s, %s, %s, %s)",
                    schema,
                )

                def many() -> int:
                    with conn.transaction(), conn.cursor() as cur:
                        for start in range(0, len(prepared), POSTGRES_BATCH):
                            cur.executemany(
                                insert,
                                [
                                    (a, b, c, d, e, f, dumps(document))
                                    for a, b, c, d, e, f, document in prepared[
                                        start : start + POSTGRES_BATCH
                                    ]
                                ],
                            )
                    return len(prepared)

                return measure(many)
        with PostgresLedger(args.postgres, schema=schema) as ledger:
            ledger.append_many(events[:EVENTS_PER_PROMISE])  # set-up, untimed
            rest = events[EVENTS_PER_PROMISE:]
            return measure(lambda: ledger.append_many(rest))
    finally:
        _pg_drop(args.postgres, schema)


def case_replay_postgres(args: argparse.Namespace) -> dict[str, Any]:
    from promisekit.postgres import PostgresLedger

    schema = _pg_schema()
    try:
        with PostgresLedger(args.postgres, schema=schema) as ledger:
            ledger.append_many(make_events(args.promises))
            if args.reference:
                conn = ledger._conn
                assert conn is not None
                select = ledger._sql("SELECT document FROM {s}.events ORDER BY promise_id")
                return measure(lambda: _loads_all(conn.execute(select)))
            next(iter(ledger.states()))  # one-time set-up, untimed (see the docstring)
            return measure(lambda: sum(1 for _ in ledger.states()))
    finally:
        _pg_drop(args.postgres, schema)


def first_state_seconds(open_store: Callable[[], Any], promises: int) -> float:
    """The fastest of 5 times to the first state of ``states()``, in a store of
    ``promises`` promises (written beforehand, untimed)."""
    with open_store() as ledger:
        ledger.append_many(make_events(promises, seed=2))
    with open_store() as ledger:
        next(iter(ledger.states()))  # set-up, untimed
        best = float("inf")
        for _ in range(5):
            start = time.perf_counter()
            stream = ledger.states()
            next(stream)
            best = min(best, time.perf_counter() - start)
            stream.close()
        return best


def case_first_state(args: argparse.Namespace) -> dict[str, Any]:
    """Time to the first state in two store sizes (``--promises`` / 10 and ``--promises``)."""
    out: dict[str, Any] = {}
    for promises in (args.promises // 10, args.promises):
        if args.reference:  # (the PostgreSQL store)
            from promisekit.postgres import PostgresLedger

            schema = f"{_pg_schema()}_{promises}"
            try:
                out[str(promises)] = first_state_seconds(
                    lambda schema=schema: PostgresLedger(args.postgres, schema=schema), promises
                )
            finally:
                _pg_drop(args.postgres, schema)
        else:
            path = Path(args.tmp) / f"first-{os.getpid()}-{promises}.db"
            out[str(promises)] = first_state_seconds(lambda path=path: SQLiteLedger(path), promises)
    return out


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
#: name: (label, unit, reference, target time ratio or None, case, reference kind)
CASES: dict[str, tuple[str, str, str, float | None, Case, str]] = {
    "append-memory": (
        "append, in memory",
        "events",
        "dict by id + per-promise lists",
        1.5,
        case_append_memory,
        "yes",
    ),
    "append-sqlite": (
        "append, SQLite",
        "events",
        "json.dumps + sqlite3.executemany",
        1.5,
        case_append_sqlite,
        "yes",
    ),
    "replay-memory": (
        "replay + assess, in memory",
        "promises",
        "assess() on prebuilt objects",
        None,
        case_replay_memory,
        "yes",
    ),
    "replay-sqlite": (
        "replay, SQLite states()",
        "promises",
        "SELECT + json.loads",
        2.5,
        case_replay_sqlite,
        "yes",
    ),
    "import-csv": (
        "import CSV (iter_rows)",
        "rows",
        "csv.DictReader bare parse",
        None,
        case_import_csv,
        "yes",
    ),
}
#: The PostgreSQL cases (with ``--postgres URL`` or ``PROMISEKIT_TEST_POSTGRES``).
POSTGRES_CASES: dict[str, tuple[str, str, str, float | None, Case, str]] = {
    "append-postgres": (
        "append, PostgreSQL",
        "events",
        "json.dumps + psycopg executemany",
        None,
        case_append_postgres,
        "yes",
    ),
    "append-postgres-copy": (
        "append, PostgreSQL (same run)",
        "events",
        "json.dumps + psycopg COPY",
        None,
        case_append_postgres,
        "copy",
    ),
    "replay-postgres": (
        "replay, PostgreSQL states()",
        "promises",
        "SELECT + json.loads (psycopg)",
        None,
        case_replay_postgres,
        "yes",
    ),
}
ALL_CASES = {**CASES, **POSTGRES_CASES, "first-state": ("", "", "", None, case_first_state, "")}


# --------------------------------------------------------------------------- driver


def run_case(name: str, reference: str, args: argparse.Namespace) -> dict[str, Any]:
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
        "--postgres",
        args.postgres or "",
    ]
    if reference:
        command += ["--reference", reference]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"case {name} failed:\n{done.stderr}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _fastest(
    name: str, reference: str, args: argparse.Namespace, ours: list[dict[str, Any]]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The fastest of ``args.repeat`` runs of promisekit and of the reference, in turn
    (promisekit's runs are taken from ``ours`` when a case measured them already)."""
    runs = []
    for index in range(args.repeat):
        if len(ours) <= index:
            ours.append(run_case(name, "", args))
        runs.append((ours[index], run_case(name, reference, args)))
    mine = min((pair[0] for pair in runs), key=lambda r: r["seconds"] / r["items"])
    ref = min((pair[1] for pair in runs), key=lambda r: r["seconds"] / r["items"])
    return mine, ref


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
    parser.add_argument(
        "--postgres",
        default=os.environ.get("PROMISEKIT_TEST_POSTGRES", ""),
        metavar="URL",
        help="also measure PostgresLedger on this server (default: $PROMISEKIT_TEST_POSTGRES)",
    )
    parser.add_argument("--case", choices=sorted(ALL_CASES), help=argparse.SUPPRESS)
    parser.add_argument("--reference", default="", help=argparse.SUPPRESS)
    parser.add_argument("--tmp", default="", help=argparse.SUPPRESS)
    parser.add_argument("--csv", default="", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.quick:
        args.events //= 50
        args.promises //= 50
        args.rows //= 50
    if args.case:
        print(json.dumps(ALL_CASES[args.case][4](args)))
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
        cases = dict(CASES)
        if args.postgres:
            cases.update(POSTGRES_CASES)
        measured: dict[Case, list[dict[str, Any]]] = {}
        for name, (label, unit, ref_label, target, case, reference) in cases.items():
            ours, ref = _fastest(name, reference, args, measured.setdefault(case, []))
            ratio = (ours["seconds"] / ours["items"]) / (ref["seconds"] / ref["items"])
            goal = "" if target is None else f"≤ {target:.1f}×"
            print(
                f"{label:<28} {_rate(ours):>14} {_memory(ours):>7}   "
                f"{ref_label:<34} {_rate(ref):>14} {_memory(ref):>7} {ratio:>5.2f}× {goal:>7}"
            )
            print(f"{'':<28} {unit:>14}")
        print()
        small, large = args.promises // 10, args.promises
        print(f"time to the first state of states(): {small:,} and {large:,} promises")
        stores = [("SQLite", "")] + ([("PostgreSQL", "pg")] if args.postgres else [])
        for store, kind in stores:
            first = run_case("first-state", kind, args)
            times = "   ".join(f"{first[str(n)] * 1e3:8.2f} ms" for n in (small, large))
            growth = first[str(large)] / first[str(small)]
            print(f"  {store:<12} {times}   (larger / smaller: {growth:.2f}×)")
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
