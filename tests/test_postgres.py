"""Tests for promisekit.postgres.PostgresLedger against a real server (see conftest.py)."""

from __future__ import annotations

import contextlib
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import attrs
import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from psycopg import sql

from promisekit.errors import (
    InconsistentRecordError,
    InvalidTypeError,
    InvalidValueError,
    LeaseLostError,
    PromiseKitError,
)
from promisekit.ledger import (
    Checkpoint,
    CustomerNotified,
    Event,
    PromiseLedger,
    PromiseMade,
    UnknownPromiseError,
)
from promisekit.postgres import PostgresLedger, StoreError
from promisekit.serialize import to_json
from promisekit.testing.events import event_histories

UTC = timezone.utc
T0 = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
H = timedelta(hours=1)


def made(event_id: str = "E-1", promise_id: str = "P-1", **overrides: Any) -> PromiseMade:
    fields: dict[str, Any] = {
        "id": event_id,
        "promise_id": promise_id,
        "at": T0,
        "recorded_at": T0,
        "customer_id": "C-1",
        "kind": "callback",
        "due": T0 + H,
    }
    fields.update(overrides)
    return PromiseMade(**fields)


def notified(event_id: str, promise_id: str = "P-1") -> CustomerNotified:
    return CustomerNotified(id=event_id, promise_id=promise_id, at=T0, recorded_at=T0)


@pytest.fixture
def store(postgres_url: str, pg_schema: str) -> Iterator[PostgresLedger]:
    with PostgresLedger(postgres_url, schema=pg_schema) as ledger:
        yield ledger


def raw(url: str) -> psycopg.Connection[Any]:
    return psycopg.connect(url, autocommit=True)


def test_append_state_and_queries(store: PostgresLedger) -> None:
    assert store.append(made())
    assert not store.append(made())
    assert store.append_many([notified("N-1"), notified("N-1"), notified("N-2", "P-2")]) == 2
    assert len(store) == 3 and store.last_position == 3
    assert "N-1" in store and "N-9" not in store and 7 not in store
    assert store.get("N-1") == notified("N-1") and store.get("N-9") is None
    assert store.promise_ids() == ("P-1", "P-2")
    assert [e.id for e in store.history("P-1")] == ["E-1", "N-1"]
    assert store.state("P-1").promise.kind == "callback"
    assert [s.promise_id for s in store.states()] == ["P-1"]
    assert [s.promise_id for s in store.open_promises(T0)] == ["P-1"]
    with pytest.raises(UnknownPromiseError, match="has no event in the store"):
        store.state("P-9")
    with pytest.raises(InconsistentRecordError):
        store.append(made(kind="visit"))
    assert store.schema.startswith("test_")


def test_promise_ids_in_code_point_order(store: PostgresLedger) -> None:
    ids = ["P-b", "P-B", "P-ä", "P-a", "P-10", "P-9", "P-Z"]
    store.append_many([made(f"E-{i}", pid) for i, pid in enumerate(ids)])
    assert store.promise_ids() == tuple(sorted(ids))
    assert [s.promise_id for s in store.states()] == sorted(ids)


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(histories=st.lists(event_histories(max_events=8), min_size=1, max_size=3), data=st.data())
def test_same_answers_as_the_in_memory_ledger(
    postgres_url: str, histories: list[list[Event]], data: st.DataObject
) -> None:
    events = [
        attrs.evolve(e, id=f"{i}-{e.id}", promise_id=f"{i}-{e.promise_id}")
        for i, history in enumerate(histories)
        for e in history
    ]
    arrival = data.draw(st.permutations(events))
    memory = PromiseLedger(arrival)
    schema = f"hyp_{abs(hash(tuple(e.id for e in arrival))) % 10**12}_{len(arrival)}"
    with PostgresLedger(postgres_url, schema=schema) as disk:
        try:
            disk.append_many(arrival[: len(arrival) // 2])
            disk.append_many(arrival)
            assert len(disk) == len(memory)
            assert disk.promise_ids() == memory.promise_ids()
            assert disk.history() == memory.history()
            for promise_id in memory.promise_ids():
                assert disk.state(promise_id) == memory.state(promise_id)
            instant = data.draw(st.sampled_from(events)).at
            assert disk.open_promises(instant) == memory.open_promises(instant)
        finally:
            with raw(postgres_url) as conn:
                conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(disk.schema)))


def test_bad_urls_are_store_errors_naming_them() -> None:
    url = "postgresql://nobody:s3cret@/nodb?host=/nonexistent-promisekit-dir"
    with pytest.raises(StoreError, match="cannot open the store") as caught:
        PostgresLedger(url)
    assert "nobody:***@" in str(caught.value) and "s3cret" not in str(caught.value)
    with pytest.raises(StoreError, match="cannot open the store 'this is not a URL'"):
        PostgresLedger("this is not a URL")
    with pytest.raises(StoreError, match=r"password=\*\*\*"):
        PostgresLedger("host=/nonexistent-promisekit-dir password=hunter2 dbname=x")


def test_bad_arguments(postgres_url: str) -> None:
    with pytest.raises(InvalidTypeError, match="'connection' must be a connection string"):
        PostgresLedger(42)  # type: ignore[arg-type]
    with pytest.raises(InvalidValueError, match="'schema'"):
        PostgresLedger(postgres_url, schema=" ")
    with pytest.raises(InvalidValueError, match="at most 63 bytes"):
        PostgresLedger(postgres_url, schema="x" * 64)
    with pytest.raises(InvalidValueError, match="'timeout' must be >= 0"):
        PostgresLedger(postgres_url, timeout=-1)


def _set_schema(url: str, schema: str, value: str) -> None:
    with raw(url) as conn:
        conn.execute(
            sql.SQL("UPDATE {}.meta SET value = %s WHERE key = 'schema'").format(
                sql.Identifier(schema)
            ),
            (value,),
        )


def test_newer_and_unknown_schemas_are_refused(postgres_url: str, pg_schema: str) -> None:
    PostgresLedger(postgres_url, schema=pg_schema).close()
    _set_schema(postgres_url, pg_schema, "promisekit/7")
    with pytest.raises(StoreError, match="newer than this promisekit's 'promisekit/1'"):
        PostgresLedger(postgres_url, schema=pg_schema)
    _set_schema(postgres_url, pg_schema, "other/1")
    with pytest.raises(StoreError, match="unknown schema 'other/1'"):
        PostgresLedger(postgres_url, schema=pg_schema)


def test_tables_that_are_not_a_ledger(postgres_url: str, pg_schema: str) -> None:
    with raw(postgres_url) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(pg_schema)))
        conn.execute(sql.SQL("CREATE TABLE {}.events (x int)").format(sql.Identifier(pg_schema)))
    with pytest.raises(StoreError, match="is it a promisekit PostgreSQL ledger"):
        PostgresLedger(postgres_url, schema=pg_schema)


def test_reopening_and_closing(postgres_url: str, pg_schema: str) -> None:
    with PostgresLedger(postgres_url, schema=pg_schema) as first:
        first.append(made())
    assert first.closed and repr(first).endswith("closed)")
    first.close()
    with pytest.raises(StoreError, match="is closed"):
        first.append(made())
    with pytest.raises(StoreError, match="is closed"):
        len(first)
    with PostgresLedger(postgres_url, schema=pg_schema) as again:
        assert again.get("E-1") == made() and repr(again).endswith("open)")


def test_an_existing_connection_stays_the_callers(postgres_url: str, pg_schema: str) -> None:
    conn = psycopg.connect(postgres_url)  # not autocommit
    try:
        with PostgresLedger(conn, schema=pg_schema) as ledger:
            ledger.append(made())
            assert ledger.state("P-1").promise.kind == "callback"
            assert conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
        assert not conn.closed
        with raw(postgres_url) as other, PostgresLedger(other, schema=pg_schema) as seen:
            assert "E-1" in seen  # committed, visible to another connection
    finally:
        conn.close()


def _terminate(url: str, backend_pid: int) -> None:
    """End a server process as a restart would: its client's next use fails."""
    with raw(url) as admin:
        assert admin.execute("SELECT pg_terminate_backend(%s)", (backend_pid,)).fetchone() == (
            True,
        )


def test_a_lost_connection_fails_one_operation_and_the_next_reconnects(
    postgres_url: str, pg_schema: str
) -> None:
    with PostgresLedger(postgres_url, schema=pg_schema) as ledger:
        ledger.append(made())
        assert ledger._conn is not None
        _terminate(postgres_url, ledger._conn.info.backend_pid)
        with pytest.raises(StoreError, match="cannot write to the store"):
            ledger.append(notified("N-1"))  # met the lost connection: nothing written
        assert ledger.append(notified("N-1")) is True  # reconnected
        assert len(ledger) == 2 and ledger.append(notified("N-1")) is False
        _terminate(postgres_url, ledger._conn.info.backend_pid)
        with pytest.raises(StoreError, match="cannot read the store"):
            len(ledger)
        assert [e.id for e in ledger.history("P-1")] == ["E-1", "N-1"]
        assert ledger.events_since(0)[-1][1] == notified("N-1")


def test_a_lost_connection_of_the_callers_is_not_replaced(
    postgres_url: str, pg_schema: str
) -> None:
    conn = psycopg.connect(postgres_url, autocommit=True)
    with PostgresLedger(conn, schema=pg_schema) as ledger:
        ledger.append(made())
        _terminate(postgres_url, conn.info.backend_pid)
        for _ in range(2):  # the caller's connection stays the caller's to replace
            with pytest.raises(StoreError):
                ledger.append(notified("N-1"))
    assert conn.closed


class _Pool:
    """The smallest pool: a new connection per use."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.lent = 0

    @contextlib.contextmanager
    def connection(self) -> Iterator[psycopg.Connection[Any]]:
        self.lent += 1
        with psycopg.connect(self.url, autocommit=True) as conn:
            yield conn


def test_a_pool(postgres_url: str, pg_schema: str) -> None:
    pool = _Pool(postgres_url)
    with PostgresLedger(pool, schema=pg_schema) as ledger:
        ledger.append(made())
        assert len(ledger) == 1
    assert pool.lent >= 3


def test_a_writer_waits_for_the_lock_then_fails_cleanly(postgres_url: str, pg_schema: str) -> None:
    with PostgresLedger(postgres_url, schema=pg_schema, timeout=0.05) as ledger:
        blocker = psycopg.connect(postgres_url)
        try:
            blocker.execute(
                sql.SQL("LOCK TABLE {}.events IN EXCLUSIVE MODE").format(sql.Identifier(pg_schema))
            )
            with pytest.raises(StoreError, match=r"held the lock for more than 0.05 s"):
                ledger.append(made())
            assert ledger.last_position == 0  # readers do not wait for the lock
            blocker.rollback()
        finally:
            blocker.close()
        assert ledger.append(made())


def test_positions_follow_commit_order(postgres_url: str, pg_schema: str) -> None:
    """A writer that starts while another holds the lock waits, then takes the next position."""
    with (
        PostgresLedger(postgres_url, schema=pg_schema) as first,
        PostgresLedger(postgres_url, schema=pg_schema) as second,
    ):
        first.append(made())
        blocker = psycopg.connect(postgres_url)
        table = sql.SQL("{}.events").format(sql.Identifier(pg_schema))
        try:
            blocker.execute(sql.SQL("LOCK TABLE {} IN EXCLUSIVE MODE").format(table))
            blocker.execute(
                sql.SQL(
                    "INSERT INTO {} SELECT 2, 'late', 'P-1', 'customer_notified', 0, 0, %s"
                ).format(table),
                (to_json(notified("late")),),
            )
            errors: list[BaseException] = []

            def write() -> None:
                try:
                    second.append(notified("N-2"))
                except BaseException as exc:  # pragma: no cover - reported below
                    errors.append(exc)

            thread = threading.Thread(target=write)
            thread.start()
            with raw(postgres_url) as watcher:
                while True:  # until the second writer waits for the lock
                    waiting = watcher.execute(
                        "SELECT count(*) FROM pg_locks "
                        "WHERE NOT granted AND relation = %s::regclass",
                        (f"{pg_schema}.events",),
                    ).fetchone()
                    if waiting == (1,):
                        break
            assert first.events_since(1) == []  # the uncommitted position 2 is not seen
            blocker.commit()
            thread.join()
            assert errors == []
        finally:
            blocker.close()
        assert [(p, e.id) for p, e in first.events_since(0)] == [
            (1, "E-1"),
            (2, "late"),
            (3, "N-2"),
        ]


def test_fencing_and_leases(store: PostgresLedger) -> None:
    assert store.acquire_lease("L", "A", now=T0, ttl=H)
    assert not store.acquire_lease("L", "B", now=T0, ttl=H)
    store.append(made(), checkpoint=Checkpoint(name="L", position=1, holder="A"))
    assert store.acquire_lease("L", "B", now=T0 + 2 * H, ttl=H)
    with pytest.raises(LeaseLostError, match="held by 'B'"):
        store.append(notified("N-1"), checkpoint=Checkpoint(name="L", position=2, holder="A"))
    assert "N-1" not in store and store.checkpoint("L") == Checkpoint(
        name="L", position=1, holder="A"
    )


class _Counting(PostgresLedger):
    rows = 0
    queries = 0

    def _query(self, text: str, params: Any = ()) -> list[Any]:
        out = super()._query(text, params)
        self.queries += 1
        self.rows += len(out)
        return out


@pytest.mark.parametrize("promises", [40, 2000])
def test_states_reads_one_small_page_before_the_first_state(
    postgres_url: str, pg_schema: str, promises: int
) -> None:
    with _Counting(postgres_url, schema=pg_schema) as ledger:
        ledger.append_many(
            e
            for i in range(promises)
            for e in (made(f"E-{i}", f"P-{i:05}"), notified(f"N-{i}", f"P-{i:05}"))
        )
        ledger.queries = ledger.rows = 0
        stream = ledger.states()
        first = next(stream)
        assert first.promise_id == "P-00000"
        assert (ledger.queries, ledger.rows) == (1, 64)  # one page of 64 rows, whatever the size
        assert sum(1 for _ in stream) == promises - 1


@pytest.mark.parametrize("sizes", [[1, 70, 2], [63, 1, 64, 1], [3] * 50 + [200] + [1] * 30])
def test_states_pages_keep_every_promise_whole(
    postgres_url: str, pg_schema: str, sizes: list[int]
) -> None:
    # Promises of these many events: some end exactly at a page's end, some are larger
    # than a page (read whole on their own), and the pages double in size meanwhile.
    events: list[Event] = []
    for index, size in enumerate(sizes):
        promise_id = f"P-{index:04}"
        events.append(made(f"M-{index}", promise_id))
        events.extend(
            CustomerNotified(
                id=f"N-{index}-{k}", promise_id=promise_id, at=T0 + k * H, recorded_at=T0 + k * H
            )
            for k in range(1, size)
        )
    memory = PromiseLedger(events)
    with PostgresLedger(postgres_url, schema=pg_schema) as ledger:
        ledger.append_many(reversed(events))  # positions not in promise order
        ids = memory.promise_ids()
        assert list(ledger.states()) == [memory.state(pid) for pid in ids]
        at = T0 + 2 * H
        assert list(ledger.states(at=at)) == [memory.state(pid, at=at) for pid in ids]


def test_a_ledger_without_the_digest_column_gains_it(postgres_url: str, pg_schema: str) -> None:
    with PostgresLedger(postgres_url, schema=pg_schema) as ledger:
        ledger.append(made())
    with raw(postgres_url) as conn:
        conn.execute(
            sql.SQL("ALTER TABLE {}.events DROP COLUMN digest").format(sql.Identifier(pg_schema))
        )
    with PostgresLedger(postgres_url, schema=pg_schema) as ledger:
        assert ledger.state("P-1").made == made()  # an old row: validated
        ledger.append(notified("E-2"))
        assert [s.notifications for s in ledger.states()] == [(notified("E-2"),)]
    with raw(postgres_url) as conn:
        digests = conn.execute(
            sql.SQL("SELECT id, digest IS NULL FROM {}.events ORDER BY seq").format(
                sql.Identifier(pg_schema)
            )
        ).fetchall()
    assert digests == [("E-1", True), ("E-2", False)]


def test_unreadable_documents_are_store_errors(store: PostgresLedger, postgres_url: str) -> None:
    store.append(made())
    document = to_json(notified("E-2")).replace('"promise_id"', '"colour":"red","promise_id"')
    with raw(postgres_url) as conn:
        conn.execute(
            sql.SQL(
                "INSERT INTO {}.events VALUES (2, 'E-2', 'P-1', 'customer_notified', 0, 0, %s)"
            ).format(sql.Identifier(store.schema)),
            (document,),
        )
    with pytest.raises(StoreError, match="cannot read: \\$: unknown field 'colour'"):
        store.state("P-1")


def test_importing_the_sqlite_store_does_not_import_psycopg() -> None:
    code = "import sys, promisekit.store, promisekit.ledger; print('psycopg' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_store_errors_are_promisekit_errors() -> None:
    assert issubclass(StoreError, PromiseKitError) and issubclass(StoreError, OSError)


def test_rows_the_store_wrote_are_read_without_from_json(
    store: PostgresLedger, postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import promisekit._store_rows as rows_module

    store.append_many([made(), notified("E-2")])
    validated: list[str] = []
    real = rows_module.from_json

    def counting(text: Any, cls: Any) -> Any:
        validated.append(text)
        return real(text, cls)

    monkeypatch.setattr(rows_module, "from_json", counting)
    assert [s.notifications for s in store.states()] == [(notified("E-2"),)]
    assert store.history("P-1")[1] == notified("E-2") and validated == []
    with raw(postgres_url) as conn:  # a hand edit: the digest no longer matches
        conn.execute(
            sql.SQL("UPDATE {}.events SET document = ' ' || document").format(
                sql.Identifier(store.schema)
            )
        )
    assert [s.notifications for s in store.states()] == [(notified("E-2"),)]
    assert len(validated) == 2  # every row of the promise, validated
