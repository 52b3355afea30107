"""The ledger in PostgreSQL. Private to :mod:`promisekit.postgres`, which documents it."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime, timedelta, timezone
from typing import Any, Protocol

import psycopg
from psycopg import pq, sql

from promisekit import _postgres_sql as q
from promisekit._ledger_cursor import (
    Checkpoint,
    Lease,
    check_checkpoint,
    check_checkpoint_position,
    check_expected,
    check_expected_position,
    check_expected_positions,
    check_fence,
    check_lease_args,
    check_limit,
    check_position,
    check_promise_positions,
    decide_lease,
    lease_expiry,
)
from promisekit._ledger_events import EVENT_TYPES, Event, _check_event, _conflict
from promisekit._ledger_state import (
    PromiseState,
)
from promisekit._store_common import EventRow, RowStore
from promisekit._store_cursor import micros
from promisekit._store_rows import (
    LEDGER_TABLES,
    ReplayRow,
    Row,
    StoreError,
    check_layout,
    check_schema,
    fast_row,
    same_document,
)
from promisekit._validation import check_bool, check_finite, check_non_empty_str, describe
from promisekit.errors import InconsistentRecordError, InvalidTypeError, InvalidValueError
from promisekit.serialize import SCHEMA, from_json

__all__ = ["ConnectionPool", "PostgresLedger"]

_CHUNK = 1000  # events per round trip inside one transaction
_FIRST_PAGE = 64  # rows in the first page of states(); pages double up to _PAGE
_PAGE = 8192
_CLASSES = frozenset(EVENT_TYPES.values())
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


class ConnectionPool(Protocol):
    """What :class:`PostgresLedger` needs of a pool (``psycopg_pool.ConnectionPool`` fits).

    .. versionadded:: 0.1.0
    """

    def connection(self) -> contextlib.AbstractContextManager[psycopg.Connection[Any]]:
        """Lend a connection for the duration of a ``with`` block."""
        ...


def _scalar(row: Any) -> int:
    return int(row[0])


def _instant(us: int) -> datetime:
    return _EPOCH + timedelta(microseconds=us)


def _quote(conninfo: str) -> str:
    """A redacted connection string for messages: whole (its host and database are what
    a reader needs), unless it is unreasonably long."""
    return repr(conninfo) if len(conninfo) <= 300 else describe(conninfo)


class PostgresLedger(RowStore):
    """A :class:`~promisekit.ledger.LedgerStore` in PostgreSQL, for several processes and hosts.

    The same API and guarantees as :class:`promisekit.store.SQLiteLedger` (see
    :mod:`promisekit.postgres`).

    Args:
        connection: A connection string (``"postgresql://user@host/db"`` or
            ``"host=... dbname=..."``), an open :class:`psycopg.Connection`, or a pool
            with a ``connection()`` context manager (``psycopg_pool.ConnectionPool``).
            A connection or pool you pass stays yours: :meth:`close` does not close it.
            A connection already inside a transaction when the ledger writes makes the
            write part of that transaction (committed when you commit it). When the
            ledger opened the connection from a string and loses it (the server
            restarted, the backend was terminated), the operation that met the lost
            connection raises :class:`StoreError` and the next one reconnects (a pool
            replaces its connections itself).
        schema: The PostgreSQL schema holding the ledger's tables (created if missing),
            so several ledgers can share a database.
        timeout: Seconds a write waits for another writer's lock before failing
            (finite, ``>= 0``).
        create: Create the schema's tables if missing (the default). With ``False``, a
            schema that holds no ledger is an error and nothing is created (an older
            ledger is still brought up to date).
        read_only: Use an existing, up-to-date ledger for reading only: nothing is
            created or changed, and every write raises :class:`StoreError`.

    Raises:
        StoreError: The server cannot be reached, the connection string is invalid,
            the tables are not a promisekit ledger, or they were written by a newer
            promisekit; with ``create=False`` or ``read_only=True``, the schema holds no
            ledger (or, read-only, one written by an older promisekit).
        InvalidTypeError: ``connection``, ``schema``, ``create`` or ``read_only`` has
            the wrong type.
        InvalidValueError: ``schema`` is blank or longer than 63 bytes, ``timeout``
            negative.

    .. versionadded:: 0.1.0
    """

    def __init__(
        self,
        connection: str | psycopg.Connection[Any] | ConnectionPool,
        *,
        schema: str = "promisekit",
        timeout: float = 30.0,
        create: bool = True,
        read_only: bool = False,
    ) -> None:
        self._conn: psycopg.Connection[Any] | None = None
        self._dsn: str | None = None  # the connection string, to reconnect with
        self._pool: ConnectionPool | None = None
        self._owned = False
        self._closed = False
        name = check_non_empty_str("schema", schema)
        if len(name.encode("utf-8")) > 63:
            raise InvalidValueError(
                f"'schema' must be at most 63 bytes long (got {describe(name)})"
            )
        self._schema = name
        self._timeout = check_finite("timeout", timeout, minimum=0)
        self._read_only = check_bool("read_only", read_only)
        self._create = check_bool("create", create) and not self._read_only
        self._statements: dict[str, sql.Composed] = {}
        if isinstance(connection, str):
            self._where = f"{_quote(q.redact(connection))} (schema {describe(name)})"
            self._dsn = connection
            self._conn = self._connect("open")
            self._owned = True
        elif isinstance(connection, psycopg.Connection):
            self._conn = connection
            self._where = f"{_quote(q.redact(connection.info.dsn))} (schema {describe(name)})"
        elif callable(getattr(connection, "connection", None)):
            self._pool = connection
            self._where = f"{type(connection).__name__} (schema {describe(name)})"
        else:
            raise InvalidTypeError(
                "'connection' must be a connection string, a psycopg.Connection or a pool "
                f"(got {type(connection).__name__} {describe(connection)})"
            )
        try:
            self._setup()
        except BaseException:
            self.close()
            raise

    def _connect(self, verb: str) -> psycopg.Connection[Any]:
        assert self._dsn is not None
        try:
            return psycopg.connect(self._dsn, autocommit=True, **q.connect_options(self._dsn))
        except psycopg.Error as exc:
            # Not chained: the driver's error may quote the password (a traceback of
            # the StoreError would print it); its redacted words are all in this one.
            raise StoreError(
                f"cannot {verb} the store {self._where}: {q.redact(str(exc), self._dsn)}"
            ) from None

    def _sql(self, text: str) -> sql.Composed:
        statement = self._statements.get(text)
        if statement is None:
            statement = self._statements[text] = q.compose(text, self._schema)
        return statement

    def _setup(self) -> None:
        try:
            with self._using() as conn, conn.transaction():
                if not self._create:
                    self._check_ledger(conn)
                if self._read_only:
                    return
                missing = conn.execute(q.MISSING_TABLES, (list(q.TABLES), self._schema))
                if missing.fetchone() != (0,):
                    # Tables are missing: create them, one opener at a time.
                    conn.execute(q.SCHEMA_LOCK, (self._schema,))
                    for statement in q.MAKE_SCHEMA:
                        conn.execute(self._sql(statement))
                if conn.execute(q.HAS_DIGEST, (self._schema,)).fetchone() is None:
                    # A ledger written before 0.1.0's digest column: add it (its rows
                    # stay without a digest, and are validated when read).
                    conn.execute(q.SCHEMA_LOCK, (self._schema,))
                    conn.execute(self._sql(q.ADD_DIGEST))
                stored = conn.execute(self._sql(q.GET_SCHEMA)).fetchone()
                if stored is None:
                    conn.execute(self._sql(q.SET_SCHEMA), (SCHEMA,))
                    stored = conn.execute(self._sql(q.GET_SCHEMA)).fetchone()
        except psycopg.Error as exc:
            raise StoreError(
                f"cannot open the store {self._where} (is it a promisekit PostgreSQL ledger?): "
                f"{str(exc).strip()}"
            ) from exc
        check_schema(str(stored[0] if stored else ""), self._where)

    def _check_ledger(self, conn: psycopg.Connection[Any]) -> None:
        """Refuse a schema without a ledger (read-only: without one in the current
        layout, which it cannot bring up to date). Nothing is written."""
        found = conn.execute(q.PRESENT_TABLES, (list(q.TABLES), self._schema)).fetchall()
        present = {row[0] for row in found}
        version = None
        if present.issuperset(LEDGER_TABLES):
            row = conn.execute(self._sql(q.GET_SCHEMA)).fetchone()
            version = None if row is None else str(row[0])
        exists = conn.execute(q.HAS_SCHEMA, (self._schema,)).fetchone() is not None
        check_layout(
            self._where,
            present,
            version,
            conn.execute(q.HAS_DIGEST, (self._schema,)).fetchone() is not None,
            current=self._read_only,
            upgrade="PostgresLedger(url, schema=..., create=False).close()",
            absent=None if exists else "the schema does not exist",
        )

    # ----------------------------------------------------------------- lifecycle

    @property
    def schema(self) -> str:
        """The PostgreSQL schema holding the ledger's tables.

        .. versionadded:: 0.1.0
        """
        return self._schema

    @property
    def read_only(self) -> bool:
        """True when the store was opened with ``read_only=True`` (every write refused).

        .. versionadded:: 0.1.0
        """
        return self._read_only

    @property
    def closed(self) -> bool:
        """True once :meth:`close` was called.

        .. versionadded:: 0.1.0
        """
        return self._closed

    def close(self) -> None:
        """Stop using the database (idempotent).

        Closes the connection only if the ledger opened it from a connection string.

        .. versionadded:: 0.1.0
        """
        self._closed = True
        conn, self._conn = self._conn, None
        if conn is not None and self._owned:
            conn.close()

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        if self._read_only:
            state += ", read-only"
        return f"PostgresLedger({self._where}, {state})"

    @contextlib.contextmanager
    def _using(self) -> Iterator[psycopg.Connection[Any]]:
        if self._closed:
            raise StoreError(f"the store {self._where} is closed")
        if self._pool is not None:
            with self._pool.connection() as conn:
                yield conn
            return
        assert self._conn is not None
        if self._owned and self._conn.closed:
            # The connection was lost (the server restarted, the backend was terminated):
            # the operation that met it failed; this one reconnects.
            self._conn = self._connect("reconnect to")
        yield self._conn

    def _query(self, text: str, params: Iterable[Any] = ()) -> list[Any]:
        try:
            with self._using() as conn:
                if conn.autocommit:
                    return conn.execute(self._sql(text), tuple(params)).fetchall()
                with conn.transaction():
                    return conn.execute(self._sql(text), tuple(params)).fetchall()
        except psycopg.Error as exc:
            raise StoreError(f"cannot read the store {self._where}: {str(exc).strip()}") from exc

    @contextlib.contextmanager
    def _transaction(self, lock: str = q.LOCK_EVENTS) -> Iterator[psycopg.Connection[Any]]:
        """A write transaction holding ``lock``: committed on success, rolled back on any
        error (database errors become :class:`StoreError`)."""
        if self._read_only:
            raise StoreError(f"cannot write to the store {self._where}: it is open read-only")
        try:
            with self._using() as conn:
                fresh = conn.info.transaction_status == pq.TransactionStatus.IDLE
                with conn.transaction():
                    if fresh:
                        conn.execute(q.READ_COMMITTED)
                    conn.execute(q.SET_LOCK_TIMEOUT, (f"{int(self._timeout * 1000)}ms",))
                    conn.execute(self._sql(lock))
                    yield conn
        except psycopg.errors.LockNotAvailable as exc:
            raise StoreError(
                f"cannot write to the store {self._where}: another writer held the lock for "
                f"more than {self._timeout:g} s"
            ) from exc
        except psycopg.Error as exc:
            raise StoreError(
                f"cannot write to the store {self._where}: {str(exc).strip()}"
            ) from exc

    # ----------------------------------------------------------------- writing

    def append(self, event: Event, *, checkpoint: Checkpoint | None = None) -> bool:
        """Record one event (and a checkpoint with it), committed before returning.

        As :meth:`SQLiteLedger.append <promisekit.store.SQLiteLedger.append>`.

        .. versionadded:: 0.1.0
        """
        return self.append_many((_check_event(event),), checkpoint=checkpoint) == 1

    def append_many(
        self,
        events: Iterable[Event],
        *,
        checkpoint: Checkpoint | None = None,
        expected_position: int | None = None,
        expected_positions: Mapping[str, int] | None = None,
    ) -> int:
        """Record several events (and a checkpoint) in one transaction: all, or none.

        As :meth:`SQLiteLedger.append_many <promisekit.store.SQLiteLedger.append_many>`:
        the same arguments, return value and errors. The transaction takes the
        ``events`` table's write lock first (waiting up to ``timeout`` seconds), so
        positions are given in commit order.

        .. versionadded:: 0.1.0
        """
        if isinstance(events, (str, bytes, Event)) or not isinstance(events, Iterable):
            raise InvalidTypeError(
                f"'events' must be an iterable of Event (got {type(events).__name__} "
                f"{describe(events)})"
            )
        saved = check_checkpoint(checkpoint)
        expected = check_expected(expected_position)
        per_promise = check_expected_positions(expected_positions)
        with self._transaction() as conn:
            if saved is not None and saved.holder is not None:
                row = conn.execute(self._sql(q.FENCE), (saved.name,)).fetchone()
                lease = (
                    None
                    if row is None
                    else Lease(name=saved.name, holder=row[0], expires_at=_instant(row[1]))
                )
                check_fence(saved, lease)
            first = last = _scalar(conn.execute(self._sql(q.LAST)).fetchone())
            check_expected_position(expected, last)
            if per_promise:
                check_promise_positions(
                    per_promise,
                    lambda promise_id: _scalar(
                        conn.execute(self._sql(q.LAST_OF_PROMISE), (promise_id,)).fetchone()
                    ),
                )
            chunk: dict[str, tuple[Event, Row]] = {}
            for index, item in enumerate(events):
                event = item if type(item) in _CLASSES else _check_event(item, f"'events[{index}]'")
                made = fast_row(event)
                seen = chunk.get(event.id)
                if seen is None:
                    chunk[event.id] = (event, made)
                elif not same_document(seen[1][5], made[5]):
                    raise _conflict(seen[0], event)
                if len(chunk) >= _CHUNK:
                    last = self._insert(conn, chunk, last)
                    chunk = {}
            if chunk:
                last = self._insert(conn, chunk, last)
            if saved is not None:
                check_checkpoint_position(saved, last, f"the store {self._where}")
                conn.execute(
                    self._sql(q.SAVE_CHECKPOINT), (saved.name, saved.position, saved.holder)
                )
        return last - first

    def _insert(
        self, conn: psycopg.Connection[Any], chunk: dict[str, tuple[Event, Row]], last: int
    ) -> int:
        """Insert the new events of ``chunk`` after position ``last``; the new last position.

        The ids already stored are read first (the table lock keeps other writers out
        meanwhile): a repeat is skipped, a different payload is a conflict.
        """
        stored = dict(conn.execute(self._sql(q.STORED), (list(chunk),)).fetchall())
        new: list[q.Row] = []
        for event_id, (event, made) in chunk.items():
            document = stored.get(event_id)
            if document is None:
                last += 1
                new.append((last, *made))
            elif not same_document(document, made[5]):
                try:
                    recorded = from_json(document, Event)
                except Exception:  # pragma: no cover - the store holds valid documents
                    raise InconsistentRecordError(
                        f"event id {describe(event_id)} is already recorded with a different "
                        f"payload"
                    ) from None
                raise _conflict(recorded, event)
        if new:
            # COPY: the fastest way in; the ids were checked above, under the table lock.
            with conn.cursor() as cursor, cursor.copy(self._sql(q.COPY)) as copy:
                for row in new:
                    copy.write_row(row)
        return last

    # ----------------------------------------------------------------- reading

    def __len__(self) -> int:
        return int(self._query(q.COUNT)[0][0])

    def __contains__(self, event_id: object) -> bool:
        if not isinstance(event_id, str):
            return False
        return bool(self._query(q.CONTAINS, (event_id,)))

    def get(self, event_id: str) -> Event | None:
        """The event recorded with ``event_id``, or ``None``.

        .. versionadded:: 0.1.0
        """
        rows = self._query(q.GET, (event_id,))
        return self._decode_row(*rows[0]) if rows else None

    def promise_ids(self) -> tuple[str, ...]:
        """Ids of every promise with at least one event, sorted (by code point).

        .. versionadded:: 0.1.0
        """
        return tuple(sorted(row[0] for row in self._query(q.PROMISE_IDS)))

    def states(self, at: datetime | None = None) -> Iterator[PromiseState]:
        """Stream the state of every promise made (by ``at``), in promise-id order.

        The rows are read promise by promise along the ``(promise_id, at_us)`` index,
        a page at a time (64 rows, then pages doubling up to 8,192), each page in its
        own short query: the first state comes after one small page whatever the size
        of the store, and no transaction stays open between pages — so a promise
        written while the stream runs may or may not be in it (each promise's events
        come from one query). Rows this store wrote are read back without validating
        them again (as :class:`~promisekit.store.SQLiteLedger` does).

        Raises:
            NaiveDatetimeError: ``at`` has no time zone.
            StoreError: The database cannot be read.

        .. versionadded:: 0.1.0
        """
        return self._states(at)

    def _rows_of(self, promise_id: str | None) -> list[EventRow]:
        if promise_id is None:
            return self._query(q.ALL)
        return self._query(q.OF_PROMISE, (promise_id,))

    def _replay_rows(self) -> Iterator[ReplayRow]:
        """Every row ``(promise_id, type, at_us, document, digest)``, by promise id, read
        a page at a time; the rows of one promise always come from one query."""
        start, size, query = "", _FIRST_PAGE, q.PAGE_FROM
        while True:
            rows = self._query(query, (start, size))
            if len(rows) < size:  # the last page
                yield from rows
                return
            last = rows[-1][0]  # this promise's rows may go on in the next page
            end = len(rows) - 1
            while end > 0 and rows[end - 1][0] == last:
                end -= 1
            if end:
                yield from rows[:end]
                start, query = last, q.PAGE_FROM
            else:  # one promise fills the page: read it whole
                yield from self._query(q.ROWS_OF, (last,))
                start, query = last, q.PAGE_AFTER
            size = min(2 * size, _PAGE)

    # ----------------------------------------------------------------- cursor

    @property
    def last_position(self) -> int:
        """The position of the last event stored (0 when the store is empty).

        .. versionadded:: 0.1.0
        """
        return int(self._query(q.LAST)[0][0])

    def events_since(
        self, position: int = 0, *, limit: int | None = None
    ) -> list[tuple[int, Event]]:
        """The events after ``position``, with their positions, in commit order.

        As :meth:`SQLiteLedger.events_since
        <promisekit.store.SQLiteLedger.events_since>`: positions 1, 2, 3… without gaps,
        in the order the appends committed, in every process and host.

        .. versionadded:: 0.1.0
        """
        start = check_position("position", position)
        count = check_limit(limit)
        rows = self._query(q.SINCE, (start, count))
        return [(int(row[0]), self._decode_row(*row[1:])) for row in rows]

    def checkpoint(self, name: str) -> Checkpoint | None:
        """The checkpoint saved under ``name``, or ``None``.

        .. versionadded:: 0.1.0
        """
        check_non_empty_str("name", name)
        rows = self._query(q.GET_CHECKPOINT, (name,))
        if not rows:
            return None
        return Checkpoint(name=name, position=int(rows[0][0]), holder=rows[0][1])

    def acquire_lease(self, name: str, holder: str, *, now: datetime, ttl: timedelta) -> bool:
        """Take or renew the lease ``name`` for ``holder`` until ``now + ttl``, atomically.

        As :meth:`SQLiteLedger.acquire_lease
        <promisekit.store.SQLiteLedger.acquire_lease>`; the decision is made holding the
        ``leases`` table's write lock, so two processes asking at once never both get it.

        .. versionadded:: 0.1.0
        """
        name, holder = check_lease_args(name, holder)
        expires_at = lease_expiry(now, ttl)
        with self._transaction(q.LOCK_LEASES) as conn:
            row = conn.execute(self._sql(q.GET_LEASE), (name,)).fetchone()
            current = (
                None
                if row is None
                else Lease(name=name, holder=row[0], expires_at=_instant(row[1]))
            )
            if decide_lease(current, name, holder, now, expires_at) is None:
                return False
            conn.execute(self._sql(q.SAVE_LEASE), (name, holder, micros(expires_at)))
        return True

    def release_lease(self, name: str, holder: str) -> None:
        """Give up the lease ``name`` if ``holder`` holds it (otherwise do nothing).

        .. versionadded:: 0.1.0
        """
        name, holder = check_lease_args(name, holder)
        with self._transaction(q.LOCK_LEASES) as conn:
            conn.execute(self._sql(q.RELEASE_LEASE), (name, holder))

    def lease(self, name: str) -> Lease | None:
        """The lease ``name`` (possibly expired), or ``None`` if nobody holds it.

        .. versionadded:: 0.1.0
        """
        check_non_empty_str("name", name)
        rows = self._query(q.GET_LEASE, (name,))
        if not rows:
            return None
        return Lease(name=name, holder=rows[0][0], expires_at=_instant(rows[0][1]))
