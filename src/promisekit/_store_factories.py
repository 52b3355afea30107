"""Ready-made store factories for :func:`promisekit.testing.check_ledger_store`.

Private; re-exported by :mod:`promisekit.testing.stores`. They live outside
:mod:`promisekit.testing` so that a writer process unpickling one imports only the
store it opens (not Hypothesis and the contract suites).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import attrs

from promisekit.ledger import PromiseLedger

__all__ = ["MemoryStores", "PostgresStores", "SQLiteStores"]


@attrs.frozen
class MemoryStores:
    """Factory of in-memory :class:`~promisekit.ledger.PromiseLedger` stores (process-local).

    The same name gives the same ledger object, in this process only.

    .. versionadded:: 0.1.0
    """

    process_local = True
    _ledgers: dict[str, PromiseLedger] = attrs.field(factory=dict, eq=False, repr=False)

    def __call__(self, name: str) -> PromiseLedger:
        """The ledger ``name`` (new and empty the first time)."""
        return self._ledgers.setdefault(name, PromiseLedger())

    def discard(self, name: str) -> None:
        """Forget the ledger ``name``."""
        self._ledgers.pop(name, None)


@attrs.frozen
class SQLiteStores:
    """Factory of :class:`~promisekit.store.SQLiteLedger` files ``<directory>/<name>.db``.

    .. versionadded:: 0.1.0
    """

    directory: str

    def __call__(self, name: str) -> Any:
        """The store ``name`` (created empty the first time)."""
        from promisekit.store import SQLiteLedger

        return SQLiteLedger(Path(self.directory) / f"{name}.db", timeout=120)

    def discard(self, name: str) -> None:
        """Delete the database file of ``name`` (and its WAL files)."""
        for suffix in ("", "-wal", "-shm"):
            path = Path(self.directory) / f"{name}.db{suffix}"
            if path.exists():
                os.remove(path)


@attrs.frozen
class PostgresStores:
    """Factory of :class:`~promisekit.postgres.PostgresLedger` stores for the tests.

    One PostgreSQL schema ``<prefix>_<name>`` each, in the database at ``url``.

    .. versionadded:: 0.1.0
    """

    url: str = attrs.field(repr=False)
    prefix: str = "conformance"

    def __call__(self, name: str) -> Any:
        """The store ``name`` (its schema created the first time)."""
        from promisekit.postgres import PostgresLedger

        return PostgresLedger(self.url, schema=f"{self.prefix}_{name}", timeout=120)

    def discard(self, name: str) -> None:
        """Drop the schema of ``name`` with its tables."""
        import psycopg
        from psycopg import sql

        with psycopg.connect(self.url, autocommit=True) as conn:
            schema = sql.Identifier(f"{self.prefix}_{name}")
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(schema))
