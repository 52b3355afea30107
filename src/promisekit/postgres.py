"""A ledger in PostgreSQL: the :class:`~promisekit.store.SQLiteLedger` API on a server.

:class:`PostgresLedger` is for the case where several processes *on several hosts*
write the same ledger (SQLite wants one machine and a local disk). It needs the
``postgres`` extra (``pip install 'promisekit[postgres]'``, which installs psycopg 3);
``import promisekit.store`` does not import psycopg.

It keeps the guarantees of :class:`~promisekit.store.SQLiteLedger`, with the same
errors (:class:`~promisekit.store.StoreError` for anything the database refuses):

* **Durable, idempotent appends.** An append is committed before it returns. The same
  event twice is a no-op; the same id with a different payload (compared as JSON
  documents) raises :class:`~promisekit.errors.InconsistentRecordError` and writes
  nothing.
* **All or nothing.** :meth:`~PostgresLedger.append_many` writes a batch, its
  checkpoint and its ``expected_position`` check in one transaction.
* **A log with positions.** Events are numbered 1, 2, 3…, gap-free and *in commit
  order* across every process and host: each writing transaction takes
  ``LOCK TABLE events IN EXCLUSIVE MODE`` (readers do not wait for it) before giving
  the next positions, so :meth:`~PostgresLedger.events_since` never skips an event
  that commits late — the pitfall of a ``BIGSERIAL`` column. Writers wait for each
  other up to ``timeout`` seconds.
* **It survives a server restart.** A ledger opened from a connection string that
  loses its connection raises :class:`~promisekit.store.StoreError` for the operation
  that met the loss (a write is then all or nothing, and appending the same events
  again is safe: appends are idempotent) and reconnects on the next one.
* **Checkpoints, leases and fencing** as in :class:`~promisekit.ledger.LedgerStore`:
  a fenced checkpoint locks its lease row (``FOR SHARE``) in the append's transaction,
  so a takeover cannot slip in between the check and the commit.

Tables (``meta``, ``events``, ``checkpoints``, ``leases``) live in their own
PostgreSQL schema (``promisekit`` unless you pass ``schema=``) and are created when
missing; ``meta`` holds the schema version (``promisekit/1``), and a ledger written by
a newer promisekit is refused with :class:`~promisekit.store.StoreError`. A database
user without the right to create tables can use a ledger created beforehand.

Reading back is fast for the rows the ledger wrote itself: as in SQLite, each row holds
a checksum (``digest``) of its document, and a row whose checksum matches is read
without validating it again; any other row is validated in full. A ledger created
before the column existed gains it when opened (its old rows stay validated).
:meth:`~PostgresLedger.states` streams, a page of rows at a time, so the first state
comes after one small query whatever the size of the ledger.

Example:
    .. code-block:: python

        from promisekit.postgres import PostgresLedger

        with PostgresLedger("postgresql://crm@db.internal/promises") as ledger:
            ledger.append(event)
            state = ledger.state("P-1", at=now)

.. versionadded:: 0.1.0
"""

from __future__ import annotations

from promisekit.errors import MissingDependencyError
from promisekit.store import StoreError

try:
    import psycopg  # noqa: F401
except ImportError:  # pragma: no cover - the test environment has the extra
    raise MissingDependencyError("psycopg", "postgres", "promisekit.postgres") from None

from promisekit._store_postgres import ConnectionPool, PostgresLedger

__all__ = ["ConnectionPool", "PostgresLedger", "StoreError"]
