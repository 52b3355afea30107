"""Ledger stores on the ``promisekit`` command line: an SQLite ledger file or a
``postgresql://`` URL, opened for ``run`` and read for ``report``, ``quote`` and
``check-commitment``.

Private to :mod:`promisekit.cli`. Either must already hold a ledger: a misspelt path or
schema is an error naming it, never a new, empty store. Reading opens the store
read-only (nothing is created or changed, not even SQLite's journal mode), so a report
can run beside the service that writes the store.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import datetime
from pathlib import Path
from typing import Any

from promisekit._cli_export import _Export
from promisekit._cli_format import UsageError
from promisekit._redact import redact
from promisekit._store_rows import NoLedgerError
from promisekit._validation import describe
from promisekit.delivery import Delivery
from promisekit.errors import InsufficientDataError
from promisekit.ledger import UnknownPromiseError
from promisekit.promise import Promise
from promisekit.store import SQLiteLedger, StoreError

__all__ = ["is_store", "load_store", "store_name", "store_opener"]

_URL_SCHEMES = ("postgresql://", "postgres://")
_SQLITE_MAGIC = b"SQLite format 3\x00"
_DEFAULT_SCHEMA = "promisekit"

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
        from promisekit.postgres import PostgresLedger  # noqa: F401 - psycopg, or its error

        return redact(where)
    return Path(where).name


def store_opener(
    where: str, schema: str | None, option: str = "--store", *, read_only: bool
) -> Opener:
    """A function that opens the store ``where`` (checked now, by opening it once): an
    SQLite ledger file, or a PostgreSQL URL whose schema ``schema`` holds a ledger.

    ``read_only`` opens it for reading only; otherwise an existing ledger is opened
    for writing (and brought up to date if an older promisekit wrote it), but never
    created.

    Raises:
        UsageError: ``--schema`` with a file, or a file that does not exist.
        StoreError: Not a ledger, or the server cannot be reached.
        MissingDependencyError: A URL without the ``postgres`` extra.
    """
    if not is_url(where):
        if schema is not None:
            raise UsageError(
                f"'--schema' is for a postgresql:// store (got the file {describe(redact(where))})"
            )
        if not Path(where).is_file():
            raise UsageError(
                f"{option!r} must be an existing ledger store (got {describe(redact(where))})"
            )
        _probe(lambda: SQLiteLedger(where, read_only=read_only, create=False), option, "")
        return lambda: SQLiteLedger(where, read_only=read_only, create=False)
    from promisekit.postgres import PostgresLedger

    name = _DEFAULT_SCHEMA if schema is None else schema

    def open_postgres() -> AbstractContextManager[Any]:
        return PostgresLedger(where, schema=name, create=False, read_only=read_only)

    hint = "" if schema is not None else "; pass --schema if it is in another schema"
    _probe(open_postgres, option, hint)
    return open_postgres


def _probe(opener: Opener, option: str, hint: str) -> None:
    """Open the store once (is it there, is it a ledger?); errors name ``option``, and a
    store without a ledger gets ``hint``."""
    try:
        with opener():
            pass
    except NoLedgerError as exc:
        raise StoreError(f"{option!r}: {exc}{hint}") from None
    except StoreError as exc:
        raise StoreError(f"{option!r}: {exc}") from None


def load_store(where: str, schema: str | None, option: str) -> _Export:
    """The promises of a ledger store (cancelled ones left out), as of its last event
    (of any promise); a promise with events but no ``promise_made`` is reported on
    stderr and skipped, as in an export."""
    promises: list[Promise] = []
    deliveries: list[Delivery] = []
    last: datetime | None = None
    seen: set[str] = set()
    name = store_name(where)
    with store_opener(where, schema, option, read_only=True)() as store:
        for state in store.states():
            seen.add(state.promise.id)
            at = state.events[-1].at
            if last is None or at > last:
                last = at
            if state.cancelled:
                continue
            promises.append(state.promise)
            deliveries.extend(state.deliveries)
        for promise_id in store.promise_ids():
            if promise_id in seen:
                continue
            try:
                store.state(promise_id)
            except UnknownPromiseError:
                pass
            else:  # made since the states were read (a writer is at work): next time
                continue
            print(
                f"{name}: skipped: promise {describe(promise_id)} has events but no "
                f"promise_made event",
                file=sys.stderr,
            )
            at = max(event.at for event in store.history(promise_id))
            if last is None or at > last:
                last = at
    if last is None or not promises:
        raise InsufficientDataError(f"the store {name} has no usable promise")
    return _Export(promises, deliveries, last)
