"""Subprocesses for tests/test_runtime_crash.py: a runner and a writer on one SQLite store.

Usage::

    python tests/helpers_runtime.py runner PATH SINK HOLDER START
    python tests/helpers_runtime.py writer PATH START COUNT

Both read a virtual clock: ``T0 + (wall seconds since START) × SPEED``, so that a few
seconds of wall time cover hours of promises.

* ``runner`` steps an :class:`~promisekit.runtime.EscalationRunner` (name
  ``"escalations"``, lease 2 virtual minutes) over the store forever, handing actions to a
  :class:`~promisekit.runtime.JsonLinesSink` at SINK. The test SIGKILLs it at random moments.
* ``writer`` appends COUNT promises (made now, due in 20 to 90 virtual minutes), and
  records a delivery 2 virtual minutes after some of them are made (before any rule of
  :data:`POLICY` can fire for them), one event at a time.
"""

from __future__ import annotations

import random
import sys
import time
from datetime import datetime, timedelta, timezone
from typing import Any

from promisekit.escalation import EscalationPolicy
from promisekit.ledger import DeliveryRecorded, PromiseMade
from promisekit.runtime import EscalationRunner, JsonLinesSink
from promisekit.store import SQLiteLedger

T0 = datetime(2026, 3, 10, 9, 0, tzinfo=timezone.utc)
SPEED = 600.0  # virtual seconds per wall second

POLICY_TOML = """
[[rules]]
name = "half-time"
when = "elapsed >= 50%"
do = ["notify_owner"]

[[rules]]
name = "breached"
when = "overdue"
level = 1
do = ["notify_owner", "escalate:manager"]

[[rules]]
name = "still-late"
when = "overdue > 30m"
every = "30m"
limit = 3
do = ["notify_owner"]
"""
POLICY = EscalationPolicy.from_toml(POLICY_TOML)


def open_store(spec: str) -> Any:
    """The store of ``spec``: an SQLite path, or ``URL|SCHEMA`` of a PostgreSQL ledger."""
    if spec.startswith("postgresql://"):
        from promisekit.postgres import PostgresLedger

        url, _, schema = spec.partition("|")
        return PostgresLedger(url, schema=schema, timeout=60)
    return SQLiteLedger(spec, timeout=60)


def virtual_now(start: float) -> datetime:
    return T0 + timedelta(seconds=(time.time() - start) * SPEED)


def run_runner(path: str, sink_path: str, holder: str, start: float) -> int:
    with open_store(path) as store:
        sink = JsonLinesSink(sink_path)
        runner = EscalationRunner(
            store, POLICY, sink, holder=holder, lease_ttl=timedelta(minutes=2)
        )
        while True:
            runner.step(virtual_now(start))
            time.sleep(0.01)


def run_writer(path: str, start: float, count: int) -> int:
    rng = random.Random(count)
    with open_store(path) as store:
        for i in range(count):
            at = virtual_now(start)
            promise_id = f"P-{i:04d}"
            store.append(
                PromiseMade(
                    id=f"made-{promise_id}",
                    promise_id=promise_id,
                    at=at,
                    recorded_at=at,
                    customer_id=f"C-{i % 17}",
                    kind="callback",
                    due=at + timedelta(minutes=rng.randint(20, 90)),
                )
            )
            if i % 3 == 0:
                done = at + timedelta(minutes=2)
                store.append(
                    DeliveryRecorded(
                        id=f"done-{promise_id}", promise_id=promise_id, at=done, recorded_at=at
                    )
                )
            time.sleep(rng.uniform(0.005, 0.03))
    return 0


def main(argv: list[str]) -> int:
    if argv[1] == "runner":
        return run_runner(argv[2], argv[3], argv[4], float(argv[5]))
    if argv[1] == "writer":
        return run_writer(argv[2], float(argv[3]), int(argv[4]))
    raise SystemExit(f"unknown role {argv[1]!r}")


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
