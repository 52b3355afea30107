"""Tests for promisekit.store.SQLiteLedger: same API as PromiseLedger, durable, multi-process."""

from __future__ import annotations

import random
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from promisekit.errors import (
    InconsistentRecordError,
    InvalidTypeError,
    InvalidValueError,
    NaiveDatetimeError,
    PromiseKitError,
)
from promisekit.ledger import (
    CustomerNotified,
    DeliveryRecorded,
    Event,
    PromiseCancelled,
    PromiseLedger,
    PromiseMade,
    UnknownPromiseError,
)
from promisekit.serialize import to_json
from promisekit.store import SQLiteLedger, StoreError
from promisekit.testing.events import event_histories

UTC = timezone.utc
T0 = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
H = timedelta(hours=1)
HELPER = Path(__file__).resolve().parent / "helpers_store.py"
ROOT = Path(__file__).resolve().parent.parent


def made(**overrides: Any) -> PromiseMade:
    fields: dict[str, Any] = {
        "id": "E-1",
        "promise_id": "P-1",
        "at": T0,
        "recorded_at": T0,
        "customer_id": "C-1",
        "kind": "callback",
        "due": T0 + H,
    }
    fields.update(overrides)
    return PromiseMade(**fields)


def notified(event_id: str, promise_id: str = "P-1", at: datetime = T0) -> CustomerNotified:
    return CustomerNotified(id=event_id, promise_id=promise_id, at=at, recorded_at=at)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SQLiteLedger]:
    with SQLiteLedger(tmp_path / "ledger.db") as ledger:
        yield ledger


def rows(path: Path) -> int:
    conn = sqlite3.connect(path)
    try:
        return int(conn.execute("SELECT count(*) FROM events").fetchone()[0])
    finally:
        conn.close()


# --------------------------------------------------------------------------- API


def test_append_state_and_queries(store: SQLiteLedger) -> None:
    assert store.append(made())
    assert not store.append(made())
    assert store.append_many([notified("E-2", at=T0 + H / 2), notified("E-2", at=T0 + H / 2)]) == 1
    delivered = DeliveryRecorded(id="E-3", promise_id="P-1", at=T0 + H / 4, recorded_at=T0 + H)
    assert store.append(delivered)
    assert len(store) == 3
    assert "E-3" in store and "E-404" not in store and 42 not in store
    assert store.get("E-3") == delivered
    assert store.get("E-404") is None
    assert store.promise_ids() == ("P-1",)
    assert [e.id for e in store.history()] == ["E-1", "E-3", "E-2"]
    assert store.history("P-404") == ()
    state = store.state("P-1")
    assert state.deliveries[0].id == "E-3"
    assert store.state("P-1", at=T0).deliveries == ()
    assert store.state("P-1", known_at=T0 + H / 2).deliveries == ()
    assert state.assess(T0 + 2 * H).kept
    assert store.open_promises(T0 + H / 8)[0].promise_id == "P-1"
    assert store.open_promises(T0 + H) == ()
    assert store.integrity_check() == "ok"
    with pytest.raises(UnknownPromiseError, match="'P-404' has no event in the store"):
        store.state("P-404")
    with pytest.raises(NaiveDatetimeError, match="'at'"):
        store.state("P-1", at=datetime(2026, 3, 10))
    with pytest.raises(NaiveDatetimeError, match="'known_at'"):
        store.state("P-1", known_at=datetime(2026, 3, 10))
    with pytest.raises(NaiveDatetimeError, match="'now'"):
        store.open_promises(datetime(2026, 3, 10))


def test_wal_and_full_synchronous(store: SQLiteLedger) -> None:
    conn = store._db()
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    assert conn.execute("PRAGMA busy_timeout").fetchone()[0] == 30_000


def test_reopening_gives_the_same_state(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    events = [
        made(),
        notified("E-2"),
        PromiseCancelled(id="E-3", promise_id="P-1", at=T0 + H, recorded_at=T0 + H),
    ]
    with SQLiteLedger(path) as first:
        first.append_many(events)
        before = first.state("P-1")
    with SQLiteLedger(str(path)) as second:
        assert second.state("P-1") == before
        assert second.history() == PromiseLedger(events).history()


def test_conflicts_write_nothing(store: SQLiteLedger) -> None:
    store.append(made())
    with pytest.raises(InconsistentRecordError, match=r"event id 'E-1'.*'due'"):
        store.append(made(due=T0 + 2 * H))
    with pytest.raises(InconsistentRecordError, match="'E-1'"):
        store.append_many([notified(f"N-{i}") for i in range(5000)] + [made(kind="repair")])
    with pytest.raises(InconsistentRecordError, match="event id 'N-1'"):
        store.append_many([notified("N-1"), notified("N-1", at=T0 + H)])
    with pytest.raises(InconsistentRecordError, match="recorded as promise_made"):
        store.append(notified("E-1"))
    assert len(store) == 1
    assert store.integrity_check() == "ok"


def test_bad_items_write_nothing(store: SQLiteLedger) -> None:
    bad_zone = made(id="E-9", at=datetime(2026, 3, 10, tzinfo=timezone(H, "CET")), due=T0 + H)
    with pytest.raises(InvalidTypeError, match="custom name"):
        store.append_many([notified("N-1"), bad_zone])
    with pytest.raises(InvalidTypeError, match=r"'events\[1\]' must be a ledger Event"):
        store.append_many([notified("N-2"), "N-3"])  # type: ignore[list-item]
    with pytest.raises(InvalidTypeError, match="'event' must be a ledger Event"):
        store.append(None)  # type: ignore[arg-type]
    with pytest.raises(InvalidTypeError, match="'events' must be an iterable"):
        store.append_many(notified("N-4"))  # type: ignore[arg-type]

    def exploding() -> Iterator[Event]:
        yield notified("N-5")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        store.append_many(exploding())
    assert len(store) == 0


def test_a_batch_with_one_event_that_cannot_be_written_writes_nothing(store: SQLiteLedger) -> None:
    # Issue 11: the bad event is the last of a batch larger than one insert chunk.
    good = [notified(f"N-{i}") for i in range(2500)]
    bad = made(id="E-9", at=datetime(2026, 3, 10, tzinfo=timezone(H, "CET")), due=T0 + H)
    with pytest.raises(InvalidTypeError, match="custom name"):
        store.append_many([*good, bad])
    assert len(store) == 0
    assert store.integrity_check() == "ok"
    assert store.append(notified("N-6"))


def test_a_locked_database_fails_cleanly(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    with SQLiteLedger(path, timeout=0.05) as ledger:
        blocker = sqlite3.connect(path, isolation_level=None)
        try:
            blocker.execute("BEGIN IMMEDIATE")
            with pytest.raises(StoreError, match=r"cannot write to the store.*locked"):
                ledger.append(made())
            blocker.execute("ROLLBACK")
        finally:
            blocker.close()
        assert ledger.append(made())


def test_open_errors(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"this is not a database" * 100)
    with pytest.raises(StoreError, match="is it a promisekit SQLite database"):
        SQLiteLedger(garbage)
    newer = tmp_path / "newer.db"
    SQLiteLedger(newer).close()
    conn = sqlite3.connect(newer)
    conn.execute("UPDATE meta SET value = 'promisekit/7' WHERE key = 'schema'")
    conn.commit()
    conn.close()
    with pytest.raises(StoreError, match="newer than this promisekit's 'promisekit/1'"):
        SQLiteLedger(newer)
    conn = sqlite3.connect(newer)
    conn.execute("UPDATE meta SET value = 'other/1' WHERE key = 'schema'")
    conn.commit()
    conn.close()
    with pytest.raises(StoreError, match="unknown schema 'other/1'"):
        SQLiteLedger(newer)
    with pytest.raises(StoreError, match="cannot open the store"):
        SQLiteLedger(tmp_path / "missing-dir" / "x.db")
    with pytest.raises(InvalidTypeError, match="'path' must be a file path"):
        SQLiteLedger(42)  # type: ignore[arg-type]
    with pytest.raises(InvalidValueError, match="'timeout' must be >= 0"):
        SQLiteLedger(tmp_path / "x.db", timeout=-1)


def test_closed_store(tmp_path: Path) -> None:
    ledger = SQLiteLedger(tmp_path / "ledger.db")
    assert repr(ledger).endswith("open)")
    ledger.close()
    ledger.close()
    assert ledger.closed
    assert repr(ledger).endswith("closed)")
    assert ledger.path.endswith("ledger.db")
    with pytest.raises(StoreError, match="is closed"):
        ledger.append(made())
    with pytest.raises(StoreError, match="is closed"):
        len(ledger)


def test_unreadable_documents_are_store_errors(store: SQLiteLedger) -> None:
    store.append(made())
    document = to_json(notified("E-2")).replace('"promise_id"', '"colour":"red","promise_id"')
    store._db().execute(
        "INSERT INTO events (id, promise_id, type, at_us, recorded_us, document) "
        "VALUES ('E-2', 'P-1', 'customer_notified', 0, 0, ?)",
        (document,),
    )
    with pytest.raises(StoreError, match="cannot read: \\$: unknown field 'colour'"):
        store.state("P-1")


def test_in_memory_store() -> None:
    with SQLiteLedger(":memory:") as ledger:
        ledger.append(made())
        assert ledger.state("P-1").promise.kind == "callback"


def test_states_streams_every_promise(store: SQLiteLedger) -> None:
    store.append_many(
        [made(), made(id="E-2", promise_id="P-2", at=T0 + H, recorded_at=T0, due=T0 + 2 * H)]
    )
    store.append(notified("N-1", promise_id="P-orphan"))
    assert [s.promise_id for s in store.states()] == ["P-1", "P-2"]
    assert [s.promise_id for s in store.states(at=T0)] == ["P-1"]


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(histories=st.lists(event_histories(max_events=8), min_size=1, max_size=3), data=st.data())
def test_same_answers_as_the_in_memory_ledger(
    histories: list[list[Event]], data: st.DataObject
) -> None:
    events = [
        _renamed(event, index) for index, history in enumerate(histories) for event in history
    ]
    arrival = data.draw(st.permutations(events))
    memory = PromiseLedger(arrival)
    with SQLiteLedger(":memory:") as disk:
        for event in arrival[: len(arrival) // 2]:
            disk.append(event)
        disk.append_many(arrival)
        assert len(disk) == len(memory)
        assert disk.promise_ids() == memory.promise_ids()
        assert disk.history() == memory.history()
        for promise_id in memory.promise_ids():
            assert disk.state(promise_id) == memory.state(promise_id)
        instant = data.draw(st.sampled_from(events)).at
        assert disk.open_promises(instant) == memory.open_promises(instant)


def _renamed(event: Event, index: int) -> Event:
    import attrs

    return attrs.evolve(event, id=f"{index}-{event.id}", promise_id=f"{index}-{event.promise_id}")


# --------------------------------------------------------------------------- processes


def _writer(path: Path, prefix: str, count: int, shared: int = 0) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(HELPER), str(path), prefix, str(count), str(shared)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )


def test_killed_writers_lose_no_acknowledged_event(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    rng = random.Random(20260310)
    acknowledged: list[str] = []
    deadline = time.monotonic() + 25
    runs = 0
    while runs < 20 and time.monotonic() < deadline:
        process = _writer(path, f"kill{runs}", 10**9)
        assert process.stdout is not None
        first = process.stdout.readline()
        assert first.strip(), process.stderr.read() if process.stderr else ""
        time.sleep(rng.uniform(0.0, 0.15))
        process.kill()  # SIGKILL on POSIX: no cleanup, no flush
        out, _ = process.communicate()
        lines = (first + out).split("\n")
        complete = [line for line in lines[:-1] if line]  # the last piece may be cut
        acknowledged.extend(complete)
        runs += 1
        with SQLiteLedger(path) as ledger:
            assert ledger.integrity_check() == "ok"
            missing = [event_id for event_id in complete if event_id not in ledger]
            assert missing == [], f"run {runs}: acknowledged but lost: {missing[:5]}"
    assert runs >= 10
    with SQLiteLedger(path) as ledger:
        stored = {event.id for event in ledger.history()}
        assert set(acknowledged) <= stored
        assert len(stored) == len(ledger)
        for promise_id in ledger.promise_ids():
            if promise_id != "P-shared":
                ledger.state(promise_id)


def test_concurrent_writers_lose_and_duplicate_nothing(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    SQLiteLedger(path).close()
    count, shared = 150, 20
    writers = [_writer(path, name, count, shared) for name in ("alpha", "beta", "gamma")]
    outputs = [w.communicate(timeout=60) for w in writers]
    for writer, (out, err) in zip(writers, outputs, strict=True):
        assert writer.returncode == 0, err
        assert out.endswith("done\n")
    with SQLiteLedger(path) as ledger:
        assert len(ledger) == 3 * count + shared
        for name, (out, _) in zip(("alpha", "beta", "gamma"), outputs, strict=True):
            acknowledged = [line for line in out.splitlines() if line != "done"]
            assert acknowledged == [f"{name}-{i}" for i in range(count)]
            assert all(event_id in ledger for event_id in acknowledged)
        ids = [event.id for event in ledger.history()]
        assert len(ids) == len(set(ids))
        assert ledger.integrity_check() == "ok"
    assert rows(path) == 3 * count + shared


def test_store_errors_are_promisekit_errors() -> None:
    assert issubclass(StoreError, PromiseKitError)
    assert issubclass(StoreError, OSError)
