"""The cursor, checkpoints and leases of :class:`promisekit.store.SQLiteLedger`.

Private to :mod:`promisekit.store`: :class:`_CursorMixin` holds the
:class:`~promisekit.ledger.LedgerStore` methods that are not about appending, and the
helpers :meth:`SQLiteLedger.append_many <promisekit.store.SQLiteLedger.append_many>`
calls inside its transaction to fence and save a checkpoint.

Why ``events.seq`` is a gap-free position in commit order: it is an
``INTEGER PRIMARY KEY`` without ``AUTOINCREMENT``, so SQLite gives a new row
``max(seq) + 1``. Every writer takes the write lock up front (``BEGIN IMMEDIATE``), so
transactions assign their ``seq`` values one after the other, in commit order; a
rolled-back transaction leaves no row, so the next writer reuses its numbers; an
idempotent repeat (``ON CONFLICT (id) DO NOTHING``) inserts no row and consumes no
number (there is no ``sqlite_sequence`` counter); and no event is ever deleted (nor
renumbered: ``VACUUM`` keeps an ``INTEGER PRIMARY KEY``). A reader in WAL mode sees
a snapshot of committed transactions, which is therefore always positions ``1..n``.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterable
from datetime import datetime, timedelta, timezone
from typing import Any

from promisekit._ledger_cursor import (
    Checkpoint,
    Lease,
    check_checkpoint_position,
    check_fence,
    check_lease_args,
    check_limit,
    check_position,
    decide_lease,
    lease_expiry,
)
from promisekit._ledger_events import Event
from promisekit._validation import check_non_empty_str

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_MICROSECOND = timedelta(microseconds=1)

#: Tables added in 0.1.0 to stores of the same schema version (created if missing).
CURSOR_TABLES = (
    """CREATE TABLE IF NOT EXISTS checkpoints (
        name TEXT PRIMARY KEY,
        position INTEGER NOT NULL,
        holder TEXT
    )""",
    """CREATE TABLE IF NOT EXISTS leases (
        name TEXT PRIMARY KEY,
        holder TEXT NOT NULL,
        expires_us INTEGER NOT NULL
    )""",
)


def micros(value: datetime) -> int:
    """Microseconds since the Unix epoch of an aware datetime."""
    # Aware minus aware is the difference of the UTC instants, exactly.
    return (value - _EPOCH) // _MICROSECOND


def _instant(us: int) -> datetime:
    return _EPOCH + timedelta(microseconds=us)


def read_lease(conn: sqlite3.Connection, name: str) -> Lease | None:
    """The lease ``name`` as stored, or ``None``."""
    row = conn.execute("SELECT holder, expires_us FROM leases WHERE name = ?", (name,)).fetchone()
    return None if row is None else Lease(name=name, holder=row[0], expires_at=_instant(row[1]))


def fence(conn: sqlite3.Connection, checkpoint: Checkpoint | None) -> None:
    """Inside a write transaction: refuse a checkpoint whose holder lost its lease."""
    if checkpoint is not None and checkpoint.holder is not None:
        check_fence(checkpoint, read_lease(conn, checkpoint.name))


def last_position(conn: sqlite3.Connection) -> int:
    """The largest ``seq`` (0 when there is no event)."""
    return int(conn.execute("SELECT coalesce(max(seq), 0) FROM events").fetchone()[0])


def save_checkpoint(conn: sqlite3.Connection, checkpoint: Checkpoint | None, where: str) -> None:
    """Inside the write transaction, after the events: upsert ``checkpoint``."""
    if checkpoint is None:
        return
    check_checkpoint_position(checkpoint, last_position(conn), where)
    conn.execute(
        "INSERT INTO checkpoints (name, position, holder) VALUES (?, ?, ?) "
        "ON CONFLICT (name) DO UPDATE SET position = excluded.position, "
        "holder = excluded.holder",
        (checkpoint.name, checkpoint.position, checkpoint.holder),
    )


class _CursorMixin:
    """The reading-with-a-cursor, checkpoint and lease methods of SQLiteLedger."""

    _path: str

    def _query(self, sql: str, params: Iterable[Any] = ()) -> list[Any]:
        raise NotImplementedError  # pragma: no cover - SQLiteLedger gives it

    def _decode_row(self, event_type: str, at_us: int, document: str, digest: int | None) -> Event:
        raise NotImplementedError  # pragma: no cover - SQLiteLedger gives it

    def _transaction(self) -> contextlib.AbstractContextManager[sqlite3.Connection]:
        raise NotImplementedError  # pragma: no cover - SQLiteLedger gives it

    @property
    def last_position(self) -> int:
        """The position of the last event stored (0 when the store is empty).

        Raises:
            StoreError: The database cannot be read.

        .. versionadded:: 0.1.0
        """
        return int(self._query("SELECT coalesce(max(seq), 0) FROM events")[0][0])

    def events_since(
        self, position: int = 0, *, limit: int | None = None
    ) -> list[tuple[int, Event]]:
        """The events after ``position``, with their positions, in commit order.

        Positions are 1, 2, 3… without gaps, in the order the appends committed, in
        every process: a reader never sees position ``n + 1`` before ``n``, so a
        reader that saves the last position it processed and asks again from there
        sees every event exactly once.

        Args:
            position: Return the events whose position is greater (``>= 0``).
            limit: At most this many (``>= 0``), or ``None`` for all.

        Returns:
            ``(position, event)`` pairs, positions ascending.

        Raises:
            InvalidTypeError: ``position`` or ``limit`` is not an int.
            InvalidValueError: ``position`` or ``limit`` is negative.
            StoreError: The database cannot be read.

        .. versionadded:: 0.1.0
        """
        start = check_position("position", position)
        count = check_limit(limit)
        rows = self._query(
            "SELECT seq, type, at_us, document, digest FROM events WHERE seq > ? "
            "ORDER BY seq LIMIT ?",
            (start, -1 if count is None else count),
        )
        return [(int(row[0]), self._decode_row(*row[1:])) for row in rows]

    def checkpoint(self, name: str) -> Checkpoint | None:
        """The checkpoint saved under ``name``, or ``None``.

        Raises:
            InvalidValueError: ``name`` is blank.
            StoreError: The database cannot be read.

        .. versionadded:: 0.1.0
        """
        check_non_empty_str("name", name)
        rows = self._query("SELECT position, holder FROM checkpoints WHERE name = ?", (name,))
        if not rows:
            return None
        return Checkpoint(name=name, position=int(rows[0][0]), holder=rows[0][1])

    def acquire_lease(self, name: str, holder: str, *, now: datetime, ttl: timedelta) -> bool:
        """Take or renew the lease ``name`` for ``holder`` until ``now + ttl``, atomically.

        Granted when nobody holds it, when it expired (``expires_at <= now``) or when
        ``holder`` already holds it; a refused request changes nothing. The decision
        is made inside a write transaction (``BEGIN IMMEDIATE``), so two processes
        asking at once never both get it.

        Args:
            name: Name of the lease (non-empty).
            holder: Who asks (non-empty; unique per process, e.g. host and pid).
            now: The current instant (aware; promisekit never reads the clock).
            ttl: How long the lease lasts (a positive timedelta).

        Returns:
            Whether ``holder`` holds the lease afterwards.

        Raises:
            InvalidTypeError: A value has the wrong type.
            InvalidValueError: A string is blank or ``ttl`` is not positive.
            NaiveDatetimeError: ``now`` has no time zone.
            StoreError: The database cannot be written.

        .. versionadded:: 0.1.0
        """
        name, holder = check_lease_args(name, holder)
        expires_at = lease_expiry(now, ttl)
        with self._transaction() as conn:
            granted = decide_lease(read_lease(conn, name), name, holder, now, expires_at)
            if granted is None:
                return False
            conn.execute(
                "INSERT INTO leases (name, holder, expires_us) VALUES (?, ?, ?) "
                "ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, "
                "expires_us = excluded.expires_us",
                (name, holder, micros(expires_at)),
            )
        return True

    def release_lease(self, name: str, holder: str) -> None:
        """Give up the lease ``name`` if ``holder`` holds it (otherwise do nothing).

        Raises:
            InvalidValueError: A string is blank.
            StoreError: The database cannot be written.

        .. versionadded:: 0.1.0
        """
        name, holder = check_lease_args(name, holder)
        with self._transaction() as conn:
            conn.execute("DELETE FROM leases WHERE name = ? AND holder = ?", (name, holder))

    def lease(self, name: str) -> Lease | None:
        """The lease ``name`` (possibly expired), or ``None`` if nobody holds it.

        Raises:
            InvalidValueError: ``name`` is blank.
            StoreError: The database cannot be read.

        .. versionadded:: 0.1.0
        """
        check_non_empty_str("name", name)
        rows = self._query("SELECT holder, expires_us FROM leases WHERE name = ?", (name,))
        if not rows:
            return None
        return Lease(name=name, holder=rows[0][0], expires_at=_instant(rows[0][1]))
