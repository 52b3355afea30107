"""LedgerStore: positions and events_since, checkpoints, leases and fencing, in both stores."""

from __future__ import annotations

import pickle
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from promisekit.errors import (
    InconsistentRecordError,
    InvalidTypeError,
    InvalidValueError,
    LeaseLostError,
    NaiveDatetimeError,
    PositionConflictError,
    PromiseKitError,
)
from promisekit.ledger import (
    Checkpoint,
    CustomerNotified,
    Event,
    Lease,
    LedgerStore,
    PromiseLedger,
)
from promisekit.serialize import SCHEMA
from promisekit.store import SQLiteLedger

UTC = timezone.utc
T0 = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
S = timedelta(seconds=1)
TTL = timedelta(seconds=30)
HELPER = Path(__file__).resolve().parent / "helpers_store.py"
ROOT = Path(__file__).resolve().parent.parent

Factory = Callable[[], Any]


def note(event_id: str, message: str | None = None) -> CustomerNotified:
    return CustomerNotified(
        id=event_id, promise_id="P-1", at=T0, recorded_at=T0, channel="sms", message=message
    )


@pytest.fixture(params=["memory", "sqlite"])
def make_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Factory]:
    """A factory of empty stores of one kind (SQLite: a fresh file each time)."""
    opened: list[SQLiteLedger] = []

    def make() -> Any:
        if request.param == "memory":
            return PromiseLedger()
        store = SQLiteLedger(tmp_path / f"ledger-{len(opened)}.db")
        opened.append(store)
        return store

    yield make
    for store in opened:
        store.close()


@pytest.fixture
def store(make_store: Factory) -> Any:
    return make_store()


def positions(store: Any, since: int = 0) -> list[int]:
    return [position for position, _ in store.events_since(since)]


# --------------------------------------------------------------------------- positions


def test_both_stores_are_ledger_stores(store: Any) -> None:
    assert isinstance(store, LedgerStore)
    assert not isinstance(object(), LedgerStore)


def test_an_empty_store(store: Any) -> None:
    assert store.last_position == 0
    assert store.events_since() == []
    assert store.events_since(5, limit=3) == []
    assert store.checkpoint("runner") is None
    assert store.lease("runner") is None


def test_positions_follow_append_order_and_repeats_take_none(store: Any) -> None:
    assert store.append(note("E-b"))
    assert store.append_many([note("E-a"), note("E-b"), note("E-c"), note("E-a")]) == 2
    assert not store.append(note("E-c"))
    assert store.append(note("E-d"))
    assert [(p, e.id) for p, e in store.events_since()] == [
        (1, "E-b"),
        (2, "E-a"),
        (3, "E-c"),
        (4, "E-d"),
    ]
    assert store.last_position == 4
    assert [e.id for _, e in store.events_since(2)] == ["E-c", "E-d"]
    assert store.events_since(4) == store.events_since(99) == []
    assert store.events_since(0, limit=0) == []


def test_a_failed_batch_takes_no_position(store: Any) -> None:
    store.append(note("E-1"))
    with pytest.raises(InconsistentRecordError):
        store.append_many([note("E-2"), note("E-1", "changed")])
    with pytest.raises(InvalidTypeError):
        store.append_many([note("E-3"), "not an event"])
    assert store.append(note("E-4"))
    assert [(p, e.id) for p, e in store.events_since()] == [(1, "E-1"), (2, "E-4")]


_IDS = st.lists(
    st.lists(st.integers(0, 30).map(lambda n: f"E-{n:02d}"), max_size=6), min_size=1, max_size=8
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(batches=_IDS, limit=st.integers(1, 7))
def test_positions_are_gap_free_and_paging_reads_everything_once(
    make_store: Factory, batches: list[list[str]], limit: int
) -> None:
    store = make_store()
    expected: list[str] = []
    for batch in batches:
        added = store.append_many([note(event_id) for event_id in batch])
        new = [event_id for event_id in dict.fromkeys(batch) if event_id not in expected]
        assert added == len(new)
        expected.extend(new)
    everything = store.events_since()
    assert [p for p, _ in everything] == list(range(1, len(expected) + 1))
    assert [e.id for _, e in everything] == expected
    assert store.last_position == len(expected) == len(store)
    seen: list[tuple[int, Event]] = []
    cursor, pages = 0, 0
    while pages <= len(expected):  # bounded: one page per event at most, plus the last
        page = store.events_since(cursor, limit=limit)
        assert len(page) <= limit
        if not page:
            break
        seen.extend(page)
        cursor = page[-1][0]
        pages += 1
    assert seen == everything


# --------------------------------------------------------------------------- checkpoints


def test_checkpoints_are_saved_with_the_events(store: Any) -> None:
    assert store.append(note("E-1"), checkpoint=Checkpoint(name="runner", position=0)) is True
    assert store.checkpoint("runner") == Checkpoint(name="runner", position=0)
    assert store.append_many([note("E-2")], checkpoint=Checkpoint(name="runner", position=2)) == 1
    assert store.checkpoint("runner") == Checkpoint(name="runner", position=2)
    assert store.checkpoint("other") is None


def test_a_checkpoint_is_saved_with_an_empty_batch_or_only_repeats(store: Any) -> None:
    store.append_many([note("E-1"), note("E-2")])
    assert store.append_many([], checkpoint=Checkpoint(name="runner", position=1)) == 0
    assert store.checkpoint("runner") == Checkpoint(name="runner", position=1)
    assert store.append(note("E-1"), checkpoint=Checkpoint(name="runner", position=2)) is False
    assert store.checkpoint("runner") == Checkpoint(name="runner", position=2)
    assert store.last_position == 2


def test_a_checkpoint_may_go_back(store: Any) -> None:
    store.append_many([note("E-1")], checkpoint=Checkpoint(name="runner", position=1))
    store.append_many([], checkpoint=Checkpoint(name="runner", position=0))
    assert store.checkpoint("runner") == Checkpoint(name="runner", position=0)


def test_a_batch_that_fails_writes_neither_events_nor_checkpoint(store: Any) -> None:
    store.append(note("E-1"), checkpoint=Checkpoint(name="runner", position=1))
    with pytest.raises(InconsistentRecordError):
        store.append_many(
            [note("E-2"), note("E-1", "changed")],
            checkpoint=Checkpoint(name="runner", position=2),
        )
    assert store.checkpoint("runner") == Checkpoint(name="runner", position=1)
    assert "E-2" not in store
    assert store.last_position == 1


def test_a_checkpoint_after_the_last_position_is_refused(store: Any) -> None:
    store.append(note("E-1"))
    with pytest.raises(InvalidValueError, match="'checkpoint' position 3 is after the last"):
        store.append_many([note("E-2")], checkpoint=Checkpoint(name="runner", position=3))
    assert store.checkpoint("runner") is None
    assert "E-2" not in store
    store.append_many([note("E-2")], checkpoint=Checkpoint(name="runner", position=2))
    assert store.checkpoint("runner") == Checkpoint(name="runner", position=2)


# --------------------------------------------------------------------------- leases


def test_lease_take_renew_expire_takeover_release(store: Any) -> None:
    assert store.acquire_lease("runner", "a", now=T0, ttl=TTL)
    assert store.lease("runner") == Lease(name="runner", holder="a", expires_at=T0 + TTL)
    assert not store.acquire_lease("runner", "b", now=T0 + 29 * S, ttl=TTL)
    assert store.lease("runner") == Lease(name="runner", holder="a", expires_at=T0 + TTL)
    assert store.acquire_lease("runner", "a", now=T0 + 20 * S, ttl=TTL)  # renewal
    assert store.lease("runner").expires_at == T0 + 50 * S
    assert not store.acquire_lease("runner", "b", now=T0 + 49 * S, ttl=TTL)
    assert store.acquire_lease("runner", "b", now=T0 + 50 * S, ttl=TTL)  # expired: takeover
    assert store.lease("runner").holder == "b"
    store.release_lease("runner", "a")  # not the holder: nothing happens
    assert store.lease("runner").holder == "b"
    store.release_lease("runner", "b")
    assert store.lease("runner") is None
    assert store.acquire_lease("runner", "a", now=T0, ttl=TTL)  # free again, at any time
    store.release_lease("never-taken", "a")


def test_leases_are_independent_and_expire_in_utc(store: Any) -> None:
    toronto = ZoneInfo("America/Toronto")
    now = T0.astimezone(toronto)
    assert store.acquire_lease("one", "a", now=now, ttl=TTL)
    assert store.acquire_lease("two", "b", now=now, ttl=2 * TTL)
    lease = store.lease("one")
    assert lease.expires_at == T0 + TTL
    assert lease.expires_at.tzinfo == UTC
    assert store.lease("two").holder == "b"
    assert not store.acquire_lease("one", "b", now=(T0 + S).astimezone(toronto), ttl=TTL)


def test_fenced_checkpoints_need_the_lease(store: Any) -> None:
    fenced = Checkpoint(name="runner", position=1, holder="a")
    with pytest.raises(LeaseLostError) as info:
        store.append(note("E-1"), checkpoint=fenced)
    assert str(info.value) == (
        "lease 'runner' is not held by 'a': nobody holds it; the write was refused and "
        "nothing was written"
    )
    assert store.last_position == 0
    assert store.acquire_lease("runner", "a", now=T0, ttl=TTL)
    assert store.append(note("E-1"), checkpoint=fenced)
    assert store.checkpoint("runner") == fenced


def test_a_holder_that_lost_its_lease_writes_nothing(store: Any) -> None:
    assert store.acquire_lease("runner", "a", now=T0, ttl=TTL)
    store.append(note("E-1"), checkpoint=Checkpoint(name="runner", position=1, holder="a"))
    # Expired but not taken over: the holder may still write.
    store.append(note("E-2"), checkpoint=Checkpoint(name="runner", position=2, holder="a"))
    assert store.acquire_lease("runner", "b", now=T0 + TTL, ttl=TTL)
    with pytest.raises(LeaseLostError, match="not held by 'a': it is held by 'b'") as info:
        store.append_many(
            [note("E-3"), note("E-4")], checkpoint=Checkpoint(name="runner", position=3, holder="a")
        )
    assert (info.value.lease, info.value.holder, info.value.current) == ("runner", "a", "b")
    assert isinstance(info.value, RuntimeError)
    assert store.last_position == 2
    assert "E-3" not in store
    assert store.checkpoint("runner") == Checkpoint(name="runner", position=2, holder="a")
    # The new holder writes; an unfenced checkpoint is never refused.
    store.append(note("E-3"), checkpoint=Checkpoint(name="runner", position=3, holder="b"))
    store.append_many([], checkpoint=Checkpoint(name="runner", position=3))
    assert store.checkpoint("runner") == Checkpoint(name="runner", position=3)


def test_lease_lost_error_pickles() -> None:
    import pickle

    error = LeaseLostError("runner", "a", None)
    back = pickle.loads(pickle.dumps(error))
    assert (back.lease, back.holder, back.current, str(back)) == ("runner", "a", None, str(error))
    assert isinstance(back, PromiseKitError)


# --------------------------------------------------------------------------- bad inputs


def _call(store: Any, method: str, *args: Any, **kwargs: Any) -> Any:
    return getattr(store, method)(*args, **kwargs)


@pytest.mark.parametrize(
    ("method", "args", "kwargs", "error", "words"),
    [
        ("events_since", (-1,), {}, InvalidValueError, "'position' must be >= 0 (got -1)"),
        ("events_since", (True,), {}, InvalidTypeError, "'position' must be an int (got bool"),
        ("events_since", (1.0,), {}, InvalidTypeError, "'position' must be an int (got float"),
        ("events_since", (0,), {"limit": "3"}, InvalidTypeError, "'limit' must be an int"),
        ("events_since", (0,), {"limit": 2.5}, InvalidTypeError, "'limit' must be an int"),
        ("events_since", (0,), {"limit": -1}, InvalidValueError, "'limit' must be >= 0"),
        ("checkpoint", (" ",), {}, InvalidValueError, "'name' must be a non-empty string"),
        ("checkpoint", (None,), {}, InvalidTypeError, "'name' must be a string"),
        ("lease", ("",), {}, InvalidValueError, "'name' must be a non-empty string"),
        ("release_lease", ("runner", ""), {}, InvalidValueError, "'holder' must be a non-empty"),
        (
            "acquire_lease",
            ("runner", "a"),
            {"now": datetime(2026, 3, 10, 9, 0), "ttl": TTL},
            NaiveDatetimeError,
            "'now' must be a timezone-aware datetime",
        ),
        (
            "acquire_lease",
            ("runner", "a"),
            {"now": "2026-03-10T09:00Z", "ttl": TTL},
            InvalidTypeError,
            "'now' must be a timezone-aware datetime",
        ),
        (
            "acquire_lease",
            ("runner", "a"),
            {"now": T0, "ttl": timedelta(0)},
            InvalidValueError,
            "'ttl' must be positive",
        ),
        (
            "acquire_lease",
            ("runner", "a"),
            {"now": T0, "ttl": -TTL},
            InvalidValueError,
            "'ttl' must be positive",
        ),
        (
            "acquire_lease",
            ("runner", "a"),
            {"now": T0, "ttl": 30},
            InvalidTypeError,
            "'ttl' must be a timedelta (got int 30)",
        ),
        (
            "acquire_lease",
            ("runner", "a"),
            {"now": datetime(9999, 12, 31, tzinfo=UTC), "ttl": timedelta(days=2)},
            InvalidValueError,
            "'ttl' is too long",
        ),
        (
            "acquire_lease",
            ("", "a"),
            {"now": T0, "ttl": TTL},
            InvalidValueError,
            "'name' must be a non-empty",
        ),
        (
            "acquire_lease",
            ("runner", "  "),
            {"now": T0, "ttl": TTL},
            InvalidValueError,
            "'holder' must be a non-empty",
        ),
        ("append", (note("E-1"),), {"checkpoint": "runner"}, InvalidTypeError, "'checkpoint'"),
        ("append_many", ([],), {"checkpoint": 3}, InvalidTypeError, "'checkpoint' must be a"),
    ],
)
def test_bad_inputs_name_the_argument(
    store: Any,
    method: str,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    error: type[PromiseKitError],
    words: str,
) -> None:
    with pytest.raises(error) as info:
        _call(store, method, *args, **kwargs)
    assert words in str(info.value)
    assert store.last_position == 0
    assert store.lease("runner") is None


@pytest.mark.parametrize(
    ("fields", "error", "words"),
    [
        ({"name": "", "position": 0}, InvalidValueError, "'name' must be a non-empty"),
        ({"name": "r", "position": -1}, InvalidValueError, "'position' must be >= 0"),
        ({"name": "r", "position": "1"}, InvalidTypeError, "'position' must be an int"),
        ({"name": "r", "position": 0, "holder": " "}, InvalidValueError, "'holder'"),
    ],
)
def test_bad_checkpoints_are_refused(
    fields: dict[str, Any], error: type[PromiseKitError], words: str
) -> None:
    with pytest.raises(error, match=words):
        Checkpoint(**fields)


def test_bad_leases_are_refused() -> None:
    with pytest.raises(NaiveDatetimeError, match="'expires_at'"):
        Lease(name="r", holder="a", expires_at=datetime(2026, 3, 10))
    with pytest.raises(InvalidValueError, match="'holder'"):
        Lease(name="r", holder="", expires_at=T0)


# --------------------------------------------------------------------------- SQLite


def test_checkpoints_and_leases_persist(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    with SQLiteLedger(path) as ledger:
        ledger.acquire_lease("runner", "a", now=T0, ttl=TTL)
        ledger.append(note("E-1"), checkpoint=Checkpoint(name="runner", position=1, holder="a"))
    with SQLiteLedger(path) as ledger:
        assert ledger.checkpoint("runner") == Checkpoint(name="runner", position=1, holder="a")
        assert ledger.lease("runner") == Lease(name="runner", holder="a", expires_at=T0 + TTL)
        assert ledger.events_since() == [(1, note("E-1"))]


def test_an_older_store_gains_the_tables_and_keeps_its_schema(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    conn.executescript(
        """
        CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        CREATE TABLE events (
            seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, promise_id TEXT NOT NULL,
            type TEXT NOT NULL, at_us INTEGER NOT NULL, recorded_us INTEGER NOT NULL,
            document TEXT NOT NULL
        );
        """
    )
    conn.execute("INSERT INTO meta VALUES ('schema', ?)", (SCHEMA,))
    conn.commit()
    conn.close()
    with SQLiteLedger(path) as ledger:
        ledger.append(note("E-1"), checkpoint=Checkpoint(name="runner", position=1))
        assert ledger.acquire_lease("runner", "a", now=T0, ttl=TTL)
    conn = sqlite3.connect(path)
    try:
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
        schema = conn.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()[0]
    finally:
        conn.close()
    assert {"checkpoints", "leases"} <= tables
    assert schema == SCHEMA


def _writer(path: Path, prefix: str, count: int, shared: int) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(HELPER), str(path), prefix, str(count), str(shared)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )


def test_a_reader_never_sees_a_gap_while_three_processes_write(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    count, shared = 120, 15
    total = 3 * count + shared
    with SQLiteLedger(path) as reader:
        writers = [_writer(path, name, count, shared) for name in ("alpha", "beta", "gamma")]
        seen: list[tuple[int, Event]] = []
        reads = 0
        # Bounded: stop when every event is read, or after many reads (a failure below).
        while len(seen) < total and reads < 200_000:
            page = reader.events_since(seen[-1][0] if seen else 0, limit=7)
            reads += 1
            if page:
                start = seen[-1][0] + 1 if seen else 1
                assert [p for p, _ in page] == list(range(start, start + len(page))), "a gap"
                seen.extend(page)
            elif all(w.poll() is not None for w in writers) and not reader.events_since(
                seen[-1][0] if seen else 0
            ):
                break  # every writer is done and nothing is left to read
        outputs = [w.communicate(timeout=120) for w in writers]
        for writer, (_, err) in zip(writers, outputs, strict=True):
            assert writer.returncode == 0, err
        assert len(seen) == total == reader.last_position
        ids = [event.id for _, event in seen]
        assert len(set(ids)) == total
        assert set(ids) == {event.id for event in reader.history()}
        assert reads > 1


def test_only_one_of_several_processes_gets_a_lease(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    SQLiteLedger(path).close()
    barrier = threading.Barrier(4)
    results: dict[str, bool] = {}

    def contend(holder: str) -> None:
        with SQLiteLedger(path) as ledger:
            barrier.wait(timeout=30)
            results[holder] = ledger.acquire_lease("runner", holder, now=T0, ttl=TTL)

    threads = [threading.Thread(target=contend, args=(f"h{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(results) == 4
    winners = [holder for holder, won in results.items() if won]
    assert len(winners) == 1
    with SQLiteLedger(path) as ledger:
        assert ledger.lease("runner") == Lease(
            name="runner", holder=winners[0], expires_at=T0 + TTL
        )


# --------------------------------------------------------------------------- optimistic concurrency


def test_expected_position_appends_only_where_the_writer_decided(store: Any) -> None:
    assert store.append_many([note("E-1")], expected_position=0) == 1
    assert store.append_many([note("E-2"), note("E-1")], expected_position=1) == 1
    with pytest.raises(PositionConflictError) as info:
        store.append_many(
            [note("E-3")], expected_position=1, checkpoint=Checkpoint(name="r", position=2)
        )
    assert str(info.value) == (
        "'expected_position' is 1 but the ledger's last position is 2: another writer "
        "appended first; nothing was written"
    )
    assert (info.value.expected, info.value.actual) == (1, 2)
    assert store.last_position == 2
    assert "E-3" not in store
    assert store.checkpoint("r") is None
    assert (
        store.append_many([], expected_position=2, checkpoint=Checkpoint(name="r", position=2)) == 0
    )
    assert store.checkpoint("r") == Checkpoint(name="r", position=2)


@pytest.mark.parametrize(
    ("value", "error"), [(-1, InvalidValueError), (True, InvalidTypeError), ("0", InvalidTypeError)]
)
def test_bad_expected_positions(store: Any, value: object, error: type[PromiseKitError]) -> None:
    with pytest.raises(error, match="'expected_position'"):
        store.append_many([note("E-1")], expected_position=value)
    assert store.last_position == 0


def test_expected_position_sees_other_connections(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    with SQLiteLedger(path) as one, SQLiteLedger(path) as two:
        decided = one.last_position
        two.append(note("E-1"))
        with pytest.raises(PositionConflictError):
            one.append_many([note("E-2")], expected_position=decided)
        assert one.append_many([note("E-2")], expected_position=one.last_position) == 1
        assert [e.id for _, e in two.events_since()] == ["E-1", "E-2"]


def test_expected_positions_per_promise(store: Any) -> None:
    def of(event_id: str, promise_id: str) -> CustomerNotified:
        return CustomerNotified(
            id=event_id, promise_id=promise_id, at=T0, recorded_at=T0, channel="sms"
        )

    assert store.append_many([of("A-1", "P-A")], expected_positions={"P-A": 0}) == 1
    assert store.append_many([of("B-1", "P-B")], expected_positions={"P-B": 0}) == 1
    # P-B's writer appended after P-A's last event: no conflict for P-A.
    assert store.append_many([of("A-2", "P-A")], expected_positions={"P-A": 1}) == 1
    with pytest.raises(PositionConflictError) as info:
        store.append_many(
            [of("A-3", "P-A"), of("B-2", "P-B")],
            expected_positions={"P-B": 2, "P-A": 1},
            checkpoint=Checkpoint(name="r", position=3),
        )
    assert str(info.value) == (  # P-B is where its writer left it; P-A is not
        "'expected_positions' gives 1 for promise 'P-A' but its last event is at position 3"
        ": another writer appended first; nothing was written"
    )
    assert (info.value.expected, info.value.actual, info.value.promise_id) == (1, 3, "P-A")
    assert store.last_position == 3 and "A-3" not in store and "B-2" not in store
    assert store.checkpoint("r") is None
    assert pickle.loads(pickle.dumps(info.value)).promise_id == "P-A"
    assert store.append_many([of("A-3", "P-A")], expected_positions={"P-A": 3, "P-C": 0}) == 1


@pytest.mark.parametrize(
    ("value", "error", "message"),
    [
        ([("P-1", 0)], InvalidTypeError, "'expected_positions' must map promise ids"),
        ({1: 0}, InvalidTypeError, "promise ids .strings. to positions .got the key int 1"),
        ({"P-1": -1}, InvalidValueError, r"'expected_positions\[P-1\]' must be >= 0"),
        ({"P-1": "0"}, InvalidTypeError, r"'expected_positions\[P-1\]' must be an int"),
    ],
)
def test_bad_expected_positions_per_promise(
    store: Any, value: object, error: type[PromiseKitError], message: str
) -> None:
    with pytest.raises(error, match=message):
        store.append_many([note("E-1")], expected_positions=value)
    assert store.last_position == 0
