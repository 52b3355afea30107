"""The BIGSERIAL pitfall, shown: positions taken before commit let a reader skip events.

``SerialLedger`` numbers events from a sequence without the table lock — what a
``BIGSERIAL`` column does. Its transactions commit out of order, so a reader polling
``events_since`` sees position ``n + 1`` before ``n`` and skips ``n``. The conformance
suite's concurrent-writers check catches it; ``PostgresLedger`` passes the same check
(tests/test_store_conformance.py).
"""

from __future__ import annotations

import random
import time
from typing import Any, NoReturn

import attrs
import psycopg
import pytest
from psycopg import sql

from promisekit._ledger_events import Event
from promisekit.postgres import PostgresLedger
from promisekit.testing._store_processes import concurrent_writers


class SerialLedger(PostgresLedger):
    """A broken PostgresLedger: positions from a sequence, no lock (like a BIGSERIAL)."""

    def _setup(self) -> None:
        super()._setup()
        with self._using() as conn:
            conn.execute(self._sql("CREATE SEQUENCE IF NOT EXISTS {s}.serial"))

    def _transaction(self, lock: str = "") -> Any:
        return super()._transaction("SELECT 1")  # no table lock

    def _insert(self, conn: psycopg.Connection[Any], chunk: dict[str, Any], last: int) -> int:
        for event, made in chunk.values():
            assert isinstance(event, Event)
            conn.execute(
                self._sql(
                    "INSERT INTO {s}.events (seq, id, promise_id, type, at_us, recorded_us, "
                    "document, digest) VALUES (nextval('{s}.serial'), %s, %s, %s, %s, %s, %s, %s) "
                    "ON CONFLICT (id) DO NOTHING"
                ),
                made,  # (id, promise_id, type, at_us, recorded_us, document, digest)
            )
        time.sleep(random.uniform(0, 0.01))  # commit a little later, in random order
        return last + len(chunk)


@attrs.frozen
class SerialStores:
    url: str

    def __call__(self, name: str) -> SerialLedger:
        return SerialLedger(self.url, schema=f"serial_{name}")


def _fail(prop: str, summary: str) -> NoReturn:
    raise AssertionError(f"{prop}: {summary}")


def test_the_suite_catches_positions_that_commit_out_of_order(postgres_url: str) -> None:
    factory = SerialStores(postgres_url)
    name = f"pitfall_{random.randrange(10**9)}"
    try:
        with pytest.raises(AssertionError, match="concurrent writers: a reader polling"):
            concurrent_writers(_fail, factory, name, 4, 40, factory)
    finally:
        with psycopg.connect(postgres_url, autocommit=True) as conn:
            schema = sql.Identifier(f"serial_{name}")
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(schema))
