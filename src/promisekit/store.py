"""A durable ledger in SQLite: the :class:`~promisekit.ledger.PromiseLedger` API, on disk.

:class:`SQLiteLedger` stores each event as its JSON document
(:func:`promisekit.serialize.to_json`) in one row of an SQLite database (the standard
library's :mod:`sqlite3`), and replays states exactly as
:class:`~promisekit.ledger.PromiseLedger` does.

Guarantees:

* **Durable appends.** An append is committed before it returns, in WAL mode with
  ``synchronous=FULL``: once :meth:`~SQLiteLedger.append` has returned, the event
  survives a crash of the process (or of the machine, if the disk honours fsync).
* **All or nothing.** :meth:`~SQLiteLedger.append_many` writes every event in one
  transaction; an error (a bad item, a conflicting id, a crash) leaves no part of the
  batch behind.
* **Idempotent.** The same event twice is a no-op; the same id with a different
  payload raises :class:`~promisekit.errors.InconsistentRecordError` and writes
  nothing. Payloads are compared as JSON documents.
* **Several processes** may append to the same file at once: writes take the database
  lock up front (``BEGIN IMMEDIATE``) and wait up to ``timeout`` seconds for it
  (``busy_timeout``), so no append is lost or duplicated.
* **A log with positions.** Every event has a position (1, 2, 3…, gap-free, in commit
  order across processes): :meth:`~SQLiteLedger.events_since` reads from a position,
  and a :class:`~promisekit.ledger.Checkpoint` passed to an append is saved in the
  same transaction as its events. :meth:`~SQLiteLedger.acquire_lease` gives a named
  lease to one holder at a time, and a checkpoint with a ``holder`` is fenced by it.
  ``SQLiteLedger`` implements :class:`~promisekit.ledger.LedgerStore`.

Checkpoints and leases live in the tables ``checkpoints`` and ``leases``, created
(``IF NOT EXISTS``) whenever a store is opened: a store written before they existed
gains them, and the schema version string (``promisekit/1``) stays the same — older
promisekit versions ignore the two tables.

**Reading back what it wrote.** Each row also holds a ``digest``: a checksum of its
document and of the ``type`` and ``at_us`` columns, computed when the store writes an
event (which was validated when it was created). A row whose digest matches is read
back without validating it again (no converter, no attrs validators), which makes
replay several times faster; any other row — written by another program or an older
promisekit, or edited by hand since — is validated in full, as every row used to be,
and an invalid one is a :class:`StoreError`. A store written before the column existed
gains it (``ALTER TABLE``) when opened; its old rows are validated, and older promisekit
versions ignore the column. :meth:`~SQLiteLedger.states` reads the rows promise by
promise along the ``(promise_id, at_us)`` index, so its first state comes after reading
one promise, however large the store.

One ``SQLiteLedger`` object belongs to the thread that created it; open one per
thread or process. Close it (or use it as a context manager) when done.

Example:
    .. code-block:: python

        with SQLiteLedger("promises.db") as ledger:
            ledger.append(event)
            state = ledger.state("P-1", at=now)

.. versionadded:: 0.1.0
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from promisekit._ledger_cursor import (
    Checkpoint,
    check_checkpoint,
    check_expected,
    check_expected_position,
    check_expected_positions,
    check_promise_positions,
)
from promisekit._ledger_events import EVENT_TYPES, Event, _check_event, _conflict
from promisekit._ledger_state import (
    PromiseState,
)
from promisekit._store_common import EventRow, RowStore
from promisekit._store_cursor import (
    CURSOR_TABLES,
    _CursorMixin,
    fence,
    save_checkpoint,
)
from promisekit._store_cursor import (
    last_position as _last_position,
)
from promisekit._store_rows import (
    LEDGER_TABLES,
    ReplayRow,
    Row,
    StoreError,
    check_layout,
    check_schema,
    fast_row,
)
from promisekit._store_rows import row as _row  # noqa: F401 - kept for other stores
from promisekit._store_rows import same_document as _same_document
from promisekit._validation import check_bool, check_finite, describe
from promisekit.errors import (
    InconsistentRecordError,
    InvalidTypeError,
    InvalidValueError,
    PromiseKitError,
)
from promisekit.serialize import SCHEMA, from_json

__all__ = ["SQLiteLedger", "StoreError"]

_CHUNK = 2000  # rows per executemany inside one transaction
_SELECT_CHUNK = 500  # ids per "IN (...)" query
_CLASSES = frozenset(EVENT_TYPES.values())
_MAKE_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS meta (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS events (
        seq INTEGER PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        promise_id TEXT NOT NULL,
        type TEXT NOT NULL,
        at_us INTEGER NOT NULL,
        recorded_us INTEGER NOT NULL,
        document TEXT NOT NULL,
        digest INTEGER
    )""",
    "CREATE INDEX IF NOT EXISTS events_by_promise ON events (promise_id, at_us)",
    "CREATE INDEX IF NOT EXISTS events_made ON events (type, at_us)",
    *CURSOR_TABLES,
)
_INSERT = (
    "INSERT INTO events (id, promise_id, type, at_us, recorded_us, document, digest) "
    "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING"
)


def _check_ledger(conn: sqlite3.Connection, where: str, *, current: bool) -> None:
    """Refuse a database that holds no ledger (``current``: none in the current layout,
    which a read-only store cannot bring up to date). Nothing is written."""
    present = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
    version = None
    if present.issuperset(LEDGER_TABLES):
        row = conn.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
        version = None if row is None else str(row[0])
    columns = {row[1] for row in conn.execute("PRAGMA table_info(events)")}
    check_layout(
        where,
        present,
        version,
        "digest" in columns,
        current=current,
        upgrade="SQLiteLedger(path, create=False).close()",
    )


class SQLiteLedger(RowStore, _CursorMixin):
    """A persistent, multi-process :class:`~promisekit.ledger.PromiseLedger` in SQLite.

    Args:
        path: The database file (created if missing), or ``":memory:"`` for a private
            in-memory database (no durability, no WAL).
        timeout: Seconds to wait for another process's write lock before failing
            (finite, ``>= 0``).
        create: Create the file and the ledger's tables if missing (the default). With
            ``False``, a path that is not an existing ledger is an error and nothing is
            created (an older ledger is still brought up to date).
        read_only: Open an existing, up-to-date ledger for reading only: the file is
            opened read-only, nothing is created or changed (not even the journal mode),
            and every write raises :class:`StoreError`. For reports over a store that
            another process writes.

    Raises:
        StoreError: The file is not a promisekit database (or not a database at all),
            was written by a newer promisekit, or cannot be opened; with ``create=False``
            or ``read_only=True``, it does not exist (or, read-only, was written by an
            older promisekit).
        InvalidTypeError: ``path`` is not a path, or ``create`` / ``read_only`` not a
            bool.
        InvalidValueError: ``":memory:"`` with ``create=False`` or ``read_only=True``.

    .. versionadded:: 0.1.0
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        timeout: float = 30.0,
        create: bool = True,
        read_only: bool = False,
    ) -> None:
        if not isinstance(path, (str, os.PathLike)):
            raise InvalidTypeError(
                f"'path' must be a file path (got {type(path).__name__} {describe(path)})"
            )
        wait = check_finite("timeout", timeout, minimum=0)
        self._path = os.fspath(path)
        self._where = repr(self._path)
        self._read_only = check_bool("read_only", read_only)
        existing = self._read_only or not check_bool("create", create)
        self._conn: sqlite3.Connection | None = None
        if existing and self._path == ":memory:":
            raise InvalidValueError(
                "an in-memory SQLite store is always new: 'create=False' and "
                "'read_only=True' need a file"
            )
        if existing and not os.path.isfile(self._path):
            raise StoreError(f"the store {self._path!r} does not exist (nothing was created)")
        try:
            if existing:
                mode = "ro" if self._read_only else "rw"
                uri = f"{Path(self._path).resolve().as_uri()}?mode={mode}"
                conn = sqlite3.connect(uri, timeout=wait, isolation_level=None, uri=True)
            else:
                conn = sqlite3.connect(self._path, timeout=wait, isolation_level=None)
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open the store {self._path!r}: {exc}") from exc
        try:
            if existing:
                _check_ledger(conn, self._where, current=self._read_only)
            if self._read_only:
                conn.execute(f"PRAGMA busy_timeout = {int(wait * 1000)}")
                conn.execute("PRAGMA query_only = 1")
            else:
                self._setup(conn, wait)
        except sqlite3.Error as exc:
            conn.close()
            why = ""
            if self._read_only and "readonly" in str(exc):
                why = (
                    " (a WAL database read read-only needs its '-shm' file, or a directory "
                    "SQLite may create it in: let a writer open the store once, or read a copy)"
                )
            raise StoreError(f"cannot read the store {self._path!r}: {exc}{why}") from exc
        except BaseException:
            conn.close()
            raise
        self._conn = conn

    def _setup(self, conn: sqlite3.Connection, wait: float) -> None:
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(wait * 1000)}")
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if mode != "wal" and self._path != ":memory:":
                raise StoreError(
                    f"cannot use WAL mode on the store {self._path!r} (got {describe(mode)})"
                )
            conn.execute("PRAGMA synchronous = FULL")
            conn.execute("BEGIN IMMEDIATE")
            try:
                for statement in _MAKE_SCHEMA:
                    conn.execute(statement)
                columns = {row[1] for row in conn.execute("PRAGMA table_info(events)")}
                if "digest" not in columns:  # a store written before 0.1.0 had no digest
                    conn.execute("ALTER TABLE events ADD COLUMN digest INTEGER")
                conn.execute(
                    "INSERT INTO meta (key, value) VALUES ('schema', ?) "
                    "ON CONFLICT (key) DO NOTHING",
                    (SCHEMA,),
                )
                stored = conn.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        except sqlite3.Error as exc:
            raise StoreError(
                f"cannot open the store {self._path!r} (is it a promisekit SQLite database?): {exc}"
            ) from exc
        check_schema(str(stored[0]), repr(self._path))

    # ----------------------------------------------------------------- lifecycle

    @property
    def path(self) -> str:
        """The database path.

        .. versionadded:: 0.1.0
        """
        return self._path

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
        return self._conn is None

    def close(self) -> None:
        """Close the database connection (idempotent).

        .. versionadded:: 0.1.0
        """
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()

    def __repr__(self) -> str:
        state = "closed" if self._conn is None else "open"
        if self._read_only:
            state += ", read-only"
        return f"SQLiteLedger({self._path!r}, {state})"

    def _db(self) -> sqlite3.Connection:
        if self._conn is None:
            raise StoreError(f"the store {self._path!r} is closed")
        return self._conn

    def _query(self, sql: str, params: Iterable[Any] = ()) -> list[Any]:
        try:
            return self._db().execute(sql, tuple(params)).fetchall()
        except sqlite3.Error as exc:
            raise StoreError(f"cannot read the store {self._path!r}: {exc}") from exc

    # ----------------------------------------------------------------- writing

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """A write transaction (``BEGIN IMMEDIATE``): committed on success, rolled back
        on any error (SQLite errors become :class:`StoreError`)."""
        conn = self._db()
        if self._read_only:
            raise StoreError(f"cannot write to the store {self._path!r}: it is open read-only")
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise StoreError(f"cannot write to the store {self._path!r}: {exc}") from exc
        try:
            yield conn
            conn.execute("COMMIT")
        except BaseException as exc:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
            if isinstance(exc, sqlite3.Error):
                raise StoreError(f"cannot write to the store {self._path!r}: {exc}") from exc
            raise

    def append(self, event: Event, *, checkpoint: Checkpoint | None = None) -> bool:
        """Record one event (and a checkpoint with it), durably (committed before returning).

        Args:
            event: The event.
            checkpoint: A :class:`~promisekit.ledger.Checkpoint` to save in the same
                transaction (even when the event is a repeat), or ``None``.

        Returns:
            True if it was added, False if the same event was already recorded.

        Raises:
            InvalidTypeError: ``event`` is not an :class:`~promisekit.ledger.Event`,
                or holds a datetime that cannot be written exactly; ``checkpoint`` is
                not a Checkpoint.
            InconsistentRecordError: Its id is recorded with a different payload.
            LeaseLostError: The checkpoint's holder does not hold its lease (nothing
                is written).
            InvalidValueError: ``checkpoint.position`` is after the last position.
            StoreError: The database cannot be written.

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

        The events are serialized in chunks inside the transaction, so a large batch
        (or a generator) does not need to fit in memory twice.

        Args:
            events: The events (any iterable; repeats are no-ops).
            checkpoint: A :class:`~promisekit.ledger.Checkpoint` to save (upserted by
                name) in the same transaction as the events — even when the batch is
                empty or every event a repeat — or ``None``. With a ``holder``, the
                transaction first checks that the lease named ``checkpoint.name`` is
                held by it (fencing).
            expected_position: For optimistic concurrency: the
                :attr:`last_position` the caller decided on (``>= 0``), checked inside
                the transaction; if another writer appended meanwhile, nothing is
                written and :class:`~promisekit.errors.PositionConflictError` is
                raised. ``None`` (the default) appends wherever the store is.
            expected_positions: Optimistic concurrency per promise: promise id →
                the position of the last event of that promise the caller decided on
                (``0``: it has none), checked inside the transaction; if another writer
                appended to one of them meanwhile, nothing is written and
                :class:`~promisekit.errors.PositionConflictError` (naming the promise) is
                raised. Writers of other promises do not conflict.

        Returns:
            How many events were added.

        Raises:
            InvalidTypeError: An item is not an event, or ``checkpoint`` not a
                Checkpoint (nothing is written).
            InconsistentRecordError: An id is recorded (or repeated in the batch) with a
                different payload (nothing is written).
            LeaseLostError: The checkpoint is fenced by a lease its holder does not
                hold (nothing is written).
            PositionConflictError: ``expected_position`` is not the last position
                (nothing is written).
            InvalidValueError: ``checkpoint.position`` is after the last position the
                store would have, or ``expected_position`` is negative (nothing is
                written).
            StoreError: The database cannot be written (nothing is written).

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
        added = 0
        with self._transaction() as conn:
            fence(conn, saved)
            if expected is not None:
                check_expected_position(expected, _last_position(conn))
            if per_promise:
                check_promise_positions(
                    per_promise,
                    lambda promise_id: int(
                        conn.execute(
                            "SELECT coalesce(max(seq), 0) FROM events WHERE promise_id = ?",
                            (promise_id,),
                        ).fetchone()[0]
                    ),
                )
            chunk: list[Event] = []
            rows: list[Row] = []
            for index, item in enumerate(events):
                if type(item) not in _CLASSES:
                    _check_event(item, f"'events[{index}]'")
                chunk.append(item)
                rows.append(fast_row(item))
                if len(rows) >= _CHUNK:
                    added += self._insert(conn, chunk, rows)
                    chunk, rows = [], []
            if rows:
                added += self._insert(conn, chunk, rows)
            save_checkpoint(conn, saved, f"the store {self._path!r}")
        return added

    def _insert(self, conn: sqlite3.Connection, chunk: list[Event], rows: list[Row]) -> int:
        inserted: int = conn.executemany(_INSERT, rows).rowcount
        if inserted < len(rows):
            self._check_conflicts(conn, chunk, rows)
        return inserted

    def _check_conflicts(
        self, conn: sqlite3.Connection, chunk: list[Event], rows: list[Row]
    ) -> None:
        stored: dict[str, str] = {}
        ids = [event.id for event in chunk]
        for start in range(0, len(ids), _SELECT_CHUNK):
            part = ids[start : start + _SELECT_CHUNK]
            marks = ",".join("?" * len(part))
            for event_id, document in conn.execute(
                f"SELECT id, document FROM events WHERE id IN ({marks})", part
            ):
                stored[event_id] = document
        for event, row in zip(chunk, rows, strict=True):
            document = stored[event.id]
            if not _same_document(document, row[5]):
                try:
                    recorded = from_json(document, Event)
                except PromiseKitError:  # pragma: no cover - the store holds valid documents
                    raise InconsistentRecordError(
                        f"event id {describe(event.id)} is already recorded with a different "
                        f"payload"
                    ) from None
                raise _conflict(recorded, event)

    # ----------------------------------------------------------------- reading

    def __len__(self) -> int:
        return int(self._query("SELECT count(*) FROM events")[0][0])

    def __contains__(self, event_id: object) -> bool:
        if not isinstance(event_id, str):
            return False
        return bool(self._query("SELECT 1 FROM events WHERE id = ?", (event_id,)))

    def get(self, event_id: str) -> Event | None:
        """The event recorded with ``event_id``, or ``None``.

        .. versionadded:: 0.1.0
        """
        rows = self._query(
            "SELECT type, at_us, document, digest FROM events WHERE id = ?", (event_id,)
        )
        return self._decode_row(*rows[0]) if rows else None

    def promise_ids(self) -> tuple[str, ...]:
        """Ids of every promise with at least one event, sorted.

        .. versionadded:: 0.1.0
        """
        rows = self._query("SELECT DISTINCT promise_id FROM events ORDER BY promise_id")
        return tuple(row[0] for row in rows)

    def states(self, at: datetime | None = None) -> Iterator[PromiseState]:
        """Stream the state of every promise made (by ``at``), in promise-id order.

        One promise's events are in memory at a time.

        Args:
            at: Replay only what happened at or before this instant, or ``None``.

        Yields:
            The states.

        Raises:
            NaiveDatetimeError: ``at`` has no time zone.
            StoreError: The database cannot be read.

        .. versionadded:: 0.1.0
        """
        return self._states(at)

    def _rows_of(self, promise_id: str | None) -> list[EventRow]:
        columns = "SELECT type, at_us, document, digest FROM events"
        if promise_id is None:
            return self._query(columns)
        return self._query(f"{columns} WHERE promise_id = ?", (promise_id,))

    def _replay_rows(self) -> Iterator[ReplayRow]:
        cursor = self._db().cursor()
        try:
            # The (promise_id, at_us) index gives the rows promise by promise, in order,
            # without a sort or a subquery: the first state comes after that promise's rows.
            cursor.execute(
                "SELECT promise_id, type, at_us, document, digest FROM events "
                "INDEXED BY events_by_promise ORDER BY promise_id"
            )
            yield from cursor
        except sqlite3.Error as exc:
            raise StoreError(f"cannot read the store {self._path!r}: {exc}") from exc
        finally:
            cursor.close()

    def integrity_check(self) -> str:
        """Run SQLite's ``PRAGMA integrity_check``; ``"ok"`` when the file is sound.

        .. versionadded:: 0.1.0
        """
        return "\n".join(str(row[0]) for row in self._query("PRAGMA integrity_check"))
