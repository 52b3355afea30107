"""Opening a store that must already exist (``create=False``) or for reading only
(``read_only=True``), on SQLite and PostgreSQL: nothing is created or changed, every
write is refused, a non-ledger is named; and passwords stay out of every message."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from promisekit.errors import InvalidTypeError, InvalidValueError
from promisekit.ledger import Checkpoint, PromiseMade
from promisekit.store import SQLiteLedger, StoreError

T0 = datetime(2026, 3, 10, 9, 0, tzinfo=timezone.utc)


def made(event_id: str = "E-1", promise_id: str = "P-1") -> PromiseMade:
    return PromiseMade(
        id=event_id,
        promise_id=promise_id,
        at=T0,
        recorded_at=T0,
        customer_id="C-1",
        kind="callback",
        due=T0 + timedelta(hours=1),
    )


WRITES: list[tuple[str, Callable[[Any], object]]] = [
    ("append", lambda s: s.append(made("E-9", "P-9"))),
    ("append_many", lambda s: s.append_many([])),
    (
        "append_many + checkpoint",
        lambda s: s.append_many([], checkpoint=Checkpoint(name="c", position=1)),
    ),
    ("acquire_lease", lambda s: s.acquire_lease("l", "me", now=T0, ttl=timedelta(minutes=1))),
    ("release_lease", lambda s: s.release_lease("l", "me")),
]


# ----------------------------------------------------------------------------- SQLite


def test_sqlite_read_only_reads_and_refuses_every_write(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    with SQLiteLedger(path) as ledger:
        ledger.append(made())
    with SQLiteLedger(path, read_only=True) as ledger:
        assert ledger.read_only and repr(ledger).endswith("open, read-only)")
        assert [s.promise.id for s in ledger.states()] == ["P-1"]
        assert len(ledger) == 1 and ledger.checkpoint("c") is None
        for what, write in WRITES:
            with pytest.raises(StoreError, match="it is open read-only"):
                write(ledger)
            assert len(ledger) == 1, what
    with SQLiteLedger(path) as ledger:
        assert not ledger.read_only and len(ledger) == 1


@pytest.mark.parametrize("mode", ["wal", "delete"])
def test_sqlite_read_only_changes_nothing_in_the_file(tmp_path: Path, mode: str) -> None:
    path = tmp_path / "ledger.db"
    with SQLiteLedger(path) as ledger:
        ledger.append(made())
    with sqlite3.connect(path) as conn:  # "delete": kept in rollback mode by another program
        conn.execute(f"PRAGMA journal_mode = {mode}")
    before = path.read_bytes()
    with SQLiteLedger(path, read_only=True) as ledger:
        assert len(ledger) == 1
    assert path.read_bytes() == before
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == mode
    if mode == "delete":  # (reading a WAL database, SQLite may create -wal and -shm)
        assert sorted(os.listdir(tmp_path)) == ["ledger.db"]


def test_sqlite_read_only_reads_while_a_writer_holds_the_lock(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    with SQLiteLedger(path) as ledger:
        ledger.append(made())
    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")  # the service is writing
    try:
        with SQLiteLedger(path, read_only=True, timeout=0) as ledger:
            assert [s.promise.id for s in ledger.states()] == ["P-1"]
    finally:
        writer.execute("ROLLBACK")
        writer.close()


def test_sqlite_without_create_never_creates(tmp_path: Path) -> None:
    missing = tmp_path / "missing.db"
    for options in ({"create": False}, {"read_only": True}):
        with pytest.raises(StoreError, match=r"missing\.db' does not exist \(nothing was created"):
            SQLiteLedger(missing, **options)
    assert not missing.exists()
    other = tmp_path / "other.db"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE t (x)")
    for options in ({"create": False}, {"read_only": True}):
        with pytest.raises(
            StoreError,
            match=r"other\.db' holds no promisekit ledger \(no 'meta' and 'events' tables\)",
        ):
            SQLiteLedger(other, **options)
    with sqlite3.connect(other) as conn:
        assert [r[0] for r in conn.execute("SELECT name FROM sqlite_master")] == ["t"]
    text = tmp_path / "notes.txt"
    text.write_text("hello", encoding="utf-8")
    with pytest.raises(StoreError, match=r"notes\.txt'.*file is not a database"):
        SQLiteLedger(text, read_only=True)
    path = tmp_path / "ledger.db"
    SQLiteLedger(path).close()
    with SQLiteLedger(path, create=False) as ledger:
        assert ledger.append(made())


def test_sqlite_an_older_ledger_is_upgraded_for_writing_not_for_reading(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    SQLiteLedger(path).close()
    with sqlite3.connect(path) as conn:  # as a promisekit before checkpoints and digests
        conn.execute("DROP TABLE checkpoints")
        conn.execute("ALTER TABLE events DROP COLUMN digest")
    with pytest.raises(StoreError, match=r"older promisekit \(no 'checkpoints', the events"):
        SQLiteLedger(path, read_only=True)
    SQLiteLedger(path, create=False).close()  # brought up to date
    SQLiteLedger(path, read_only=True).close()


def test_sqlite_open_mode_arguments(tmp_path: Path) -> None:
    with pytest.raises(InvalidTypeError, match=r"'read_only' must be a bool .got int 1"):
        SQLiteLedger(tmp_path / "a.db", read_only=1)  # type: ignore[arg-type]
    with pytest.raises(InvalidTypeError, match="'create' must be a bool"):
        SQLiteLedger(tmp_path / "a.db", create="no")  # type: ignore[arg-type]
    with pytest.raises(InvalidValueError, match="in-memory SQLite store is always new"):
        SQLiteLedger(":memory:", read_only=True)
    assert not (tmp_path / "a.db").exists()


# ----------------------------------------------------------------------------- PostgreSQL


@pytest.fixture
def pg(postgres_url: str, pg_schema: str) -> tuple[str, str]:
    pytest.importorskip("psycopg")
    return postgres_url, pg_schema


def _schemas(url: str, name: str) -> list[str]:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s "
            "ORDER BY table_name",
            (name,),
        ).fetchall()
    return [row[0] for row in rows]


def test_postgres_read_only_reads_and_refuses_every_write(pg: tuple[str, str]) -> None:
    from promisekit.postgres import PostgresLedger

    url, schema = pg
    with PostgresLedger(url, schema=schema) as ledger:
        ledger.append(made())
    with PostgresLedger(url, schema=schema, read_only=True) as ledger:
        assert ledger.read_only and repr(ledger).endswith("open, read-only)")
        assert [s.promise.id for s in ledger.states()] == ["P-1"]
        for what, write in WRITES:
            with pytest.raises(StoreError, match="it is open read-only"):
                write(ledger)
            assert len(ledger) == 1, what


def test_postgres_without_create_never_creates(pg: tuple[str, str]) -> None:
    import psycopg
    from psycopg import sql

    from promisekit.postgres import PostgresLedger

    url, schema = pg
    for options in ({"create": False}, {"read_only": True}):
        with pytest.raises(StoreError, match=r"holds no promisekit ledger \(the schema does not"):
            PostgresLedger(url, schema=schema, **options)
    assert _schemas(url, schema) == []
    with psycopg.connect(url, autocommit=True) as conn:  # a schema with only a meta table
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
        conn.execute(sql.SQL("CREATE TABLE {}.meta (key TEXT)").format(sql.Identifier(schema)))
    for options in ({"create": False}, {"read_only": True}):
        with pytest.raises(StoreError, match=r"holds no promisekit ledger \(no 'events' table\)"):
            PostgresLedger(url, schema=schema, **options)
    assert _schemas(url, schema) == ["meta"]


def test_postgres_an_older_ledger_is_upgraded_for_writing_not_for_reading(
    pg: tuple[str, str],
) -> None:
    import psycopg
    from psycopg import sql

    from promisekit.postgres import PostgresLedger

    url, schema = pg
    PostgresLedger(url, schema=schema).close()
    with psycopg.connect(url, autocommit=True) as conn:
        name = sql.Identifier(schema)
        conn.execute(sql.SQL("DROP TABLE {}.leases").format(name))
        conn.execute(sql.SQL("ALTER TABLE {}.events DROP COLUMN digest").format(name))
    with pytest.raises(StoreError, match=r"older promisekit \(no 'leases', the events.digest"):
        PostgresLedger(url, schema=schema, read_only=True)
    assert "leases" not in _schemas(url, schema)
    PostgresLedger(url, schema=schema, create=False).close()
    PostgresLedger(url, schema=schema, read_only=True).close()


@pytest.mark.parametrize(
    ("url", "secret"),
    [
        ("postgresql://bob:s3cretpw@[::1/db", "s3cretpw"),  # malformed: psycopg quotes it
        ("postgresql://bob:s3cr%zzet@localhost/db", "s3cr%zzet"),  # a bad escape, quoted
        ("postgresql://bob:p%40ssword@/db?host=/nonexistent-dir", "p@ssword"),
        ("postgresql://bob@/db?host=/nonexistent-dir&password=hunter22", "hunter22"),
        ("host=/nonexistent-dir password='two words' dbname=x", "two words"),
    ],
)
def test_no_message_shows_the_password(url: str, secret: str) -> None:
    pytest.importorskip("psycopg")
    from promisekit._cli_store import store_name
    from promisekit.postgres import PostgresLedger

    with pytest.raises(StoreError, match="cannot open the store") as caught:
        PostgresLedger(url)
    message = str(caught.value)
    assert secret not in message and "***" in message, message
    if url.startswith("postgresql://"):
        assert secret not in store_name(url)


def test_no_traceback_shows_the_password() -> None:
    pytest.importorskip("psycopg")
    import traceback

    from promisekit.postgres import PostgresLedger

    for url in ("postgresql://u:hunter22@[::1/db", "postgresql://u:sec%zzret@localhost/db"):
        with pytest.raises(StoreError) as caught:
            PostgresLedger(url)
        printed = "".join(traceback.format_exception(caught.value))
        assert "hunter22" not in printed and "sec%zzret" not in printed, printed


@pytest.mark.parametrize(
    ("text", "conninfo", "expected"),
    [
        (
            "postgresql://post:post@localhost:1/db",
            None,
            "postgresql://post:***@localhost:1/db",
        ),
        (
            "postgresql://u:pw@h/db?application_name=a@b&sslmode=bogus",
            None,
            "postgresql://u:***@h/db?application_name=a@b&sslmode=bogus",
        ),
        (
            "postgresql://u@h/db?password=hunter2&sslmode=bogus",
            None,
            "postgresql://u@h/db?password=***&sslmode=bogus",
        ),
        ("host=h password=5432 port=5432", None, "host=h password=*** port=5432"),
        ("host=h password='a b' user=x", None, "host=h password=*** user=x"),
        (
            'invalid percent-encoded token: "s3cr%zzet"',
            "postgresql://u:s3cr%zzet@h/db",
            'invalid percent-encoded token: "***"',
        ),
        ("connection to server at h, port 5432 failed", "host=h password=5432", None),
    ],
)
def test_redact_masks_the_password_and_keeps_the_rest(
    text: str, conninfo: str | None, expected: str | None
) -> None:
    from promisekit._redact import redact

    assert redact(text, conninfo) == (text if expected is None else expected)


def test_connect_options_leave_the_users_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("psycopg")
    from promisekit._postgres_sql import connect_options

    monkeypatch.delenv("PGCONNECT_TIMEOUT", raising=False)
    monkeypatch.delenv("PGSERVICE", raising=False)
    assert connect_options("postgresql://h/db")["connect_timeout"] == 30
    assert "connect_timeout" not in connect_options("postgresql://h/db?connect_timeout=5")
    assert connect_options("postgresql://h/db?keepalives=0").get("keepalives") is None
    assert connect_options("service=crm") == {}
    monkeypatch.setenv("PGCONNECT_TIMEOUT", "3")
    assert "connect_timeout" not in connect_options("postgresql://h/db")
    assert connect_options("postgresql://h/db")["keepalives"] == 1
    monkeypatch.setenv("PGSERVICE", "crm")
    assert connect_options("postgresql://h/db") == {}
