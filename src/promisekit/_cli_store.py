"""Ledger stores on the ``promisekit`` command line: an SQLite ledger file or a
``postgresql://`` URL, opened for ``run`` and read for ``report``, ``quote`` and
``check-commitment``.

Private to :mod:`promisekit.cli`. Either must already hold a ledger: a misspelt path or
schema is an error naming it, never a new, empty store.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import datetime
from pathlib import Path
from typing import Any

from promisekit._cli_export import _Export
from promisekit._cli_format import UsageError
from promisekit._validation import describe
from promisekit.delivery import Delivery
from promisekit.errors import InsufficientDataError
from promisekit.promise import Promise
from promisekit.store import SQLiteLedger, StoreError

__all__ = ["is_store", "load_store", "store_name", "store_opener"]

_URL_SCHEMES = ("postgresql://", "postgres://")
_SQLITE_MAGIC = b"SQLite format 3\x00"

#: Opens a store (a context manager that closes it).
Opener = Callable[[], AbstractContextManager[Any]]


def is_url(where: str) -> bool:
    """Whether ``where`` names a PostgreSQL ledger (a ``postgresql://`` URL)."""
    return where.startswith(_URL_SCHEMES)


def is_store(where: str) -> bool:
    """Whether ``where`` is a ledger store rather than an export: a ``postgresql://`` URL,
    or a file that starts as SQLite databases do."""
    if is_url(where):
        return True
    try:
        with open(where, "rb") as handle:
            return handle.read(len(_SQLITE_MAGIC)) == _SQLITE_MAGIC
    except OSError:
        return False


def store_name(where: str) -> str:
    """How to name the store in output: a URL without its password, or the file's name."""
    if is_url(where):
        from promisekit._postgres_sql import redact
        from promisekit.postgres import PostgresLedger  # noqa: F401 - psycopg, or its error

        return redact(where)
    return Path(where).name


def _sqlite_ledger(path: str, option: str) -> None:
    """Refuse a path that is not an SQLite ledger (read only: nothing is created)."""
    if not Path(path).exists():
        raise UsageError(f"{option!r} must be an existing ledger store (got {path!r})")
    try:
        conn = sqlite3.connect(f"{Path(path).resolve().as_uri()}?mode=ro", uri=True)
        try:
            tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
        finally:
            conn.close()
    except sqlite3.Error as exc:
        raise StoreError(f"cannot read the store {path!r}: {exc}") from None
    if not {"meta", "events"} <= tables:
        raise StoreError(
            f"the SQLite database {path!r} of {option!r} is not a promisekit ledger "
            f"(no 'meta' and 'events' tables)"
        )


def _has_ledger(url: str, schema: str, option: str) -> bool:
    """Whether the schema ``schema`` of the database at ``url`` holds a ledger's tables."""
    import psycopg

    try:
        with psycopg.connect(url, connect_timeout=30) as conn:
            found = conn.execute(
                "SELECT 1 FROM information_schema.tables "
                "WHERE table_schema = %s AND table_name = 'meta'",
                (schema,),
            ).fetchone()
    except psycopg.Error as exc:
        raise StoreError(f"cannot open the PostgreSQL {option!r}: {exc}".rstrip()) from None
    return found is not None


def store_opener(where: str, schema: str | None, option: str = "--store") -> Opener:
    """A function that opens the store ``where`` (checked now: an SQLite ledger file, or
    a PostgreSQL URL whose schema ``schema`` holds a ledger).

    Raises:
        UsageError: ``--schema`` with a file, or a file that does not exist.
        StoreError: Not a ledger, or the server cannot be reached.
        MissingDependencyError: A URL without the ``postgres`` extra.
    """
    if not is_url(where):
        if schema is not None:
            raise UsageError(
                f"'--schema' is for a postgresql:// store (got the file {describe(where)})"
            )
        _sqlite_ledger(where, option)
        return lambda: SQLiteLedger(where)
    from promisekit.postgres import PostgresLedger

    name = "promisekit" if schema is None else schema
    if not _has_ledger(where, name, option):
        raise StoreError(
            f"the PostgreSQL database of {option!r} has no ledger in schema {describe(name)} "
            f"(create it with PostgresLedger(url, schema={name!r}), or pass --schema)"
        )

    def open_postgres() -> AbstractContextManager[Any]:
        return PostgresLedger(where, schema=name)

    return open_postgres


def load_store(where: str, schema: str | None, option: str) -> _Export:
    """The promises of a ledger store (cancelled ones left out), as of its last event."""
    promises: list[Promise] = []
    deliveries: list[Delivery] = []
    last: datetime | None = None
    with store_opener(where, schema, option)() as store:
        for state in store.states():
            at = state.events[-1].at
            if last is None or at > last:
                last = at
            if state.cancelled:
                continue
            promises.append(state.promise)
            deliveries.extend(state.deliveries)
    if last is None or not promises:
        raise InsufficientDataError(f"the store {store_name(where)} has no usable promise")
    return _Export(promises, deliveries, last)
