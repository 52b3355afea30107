"""Subprocess writer for tests/test_store.py: appends events, printing each acknowledged id.

Usage::

    python tests/helpers_store.py PATH PREFIX COUNT [SHARED]

Appends COUNT events with ids ``PREFIX-0``, ``PREFIX-1``… to the SQLite ledger at
PATH — one at a time, and every fourth step a batch of three with ``append_many`` —
and prints each id on its own line (flushed) once the append that wrote it has
returned, i.e. once it is durable. With SHARED > 0 it also appends SHARED events whose
ids and payloads every writer shares (idempotent appends across processes).
"""

from __future__ import annotations

import sys
from datetime import datetime, timedelta, timezone

from promisekit.ledger import CustomerNotified, Event, PromiseMade
from promisekit.store import SQLiteLedger

T0 = datetime(2026, 3, 10, 9, 0, tzinfo=timezone.utc)


def event(event_id: str, step: int) -> Event:
    at = T0 + timedelta(seconds=step)
    if step % 5 == 0:
        return PromiseMade(
            id=event_id,
            promise_id=f"P-{event_id}",
            at=at,
            recorded_at=at,
            customer_id="C-1",
            kind="callback",
            due=at + timedelta(hours=1),
            metadata={"writer": event_id.rsplit("-", 1)[0]},
        )
    return CustomerNotified(
        id=event_id, promise_id="P-shared", at=at, recorded_at=at, channel="sms"
    )


def main(argv: list[str]) -> int:
    path, prefix, count = argv[1], argv[2], int(argv[3])
    shared = int(argv[4]) if len(argv) > 4 else 0
    out = sys.stdout
    with SQLiteLedger(path, timeout=60) as ledger:
        step = 0
        while step < count:
            if step % 4 == 3 and step + 3 <= count:
                batch = [event(f"{prefix}-{step + k}", step + k) for k in range(3)]
                ledger.append_many(batch)
                out.write("".join(f"{e.id}\n" for e in batch))
                step += 3
            else:
                item = event(f"{prefix}-{step}", step)
                ledger.append(item)
                out.write(f"{item.id}\n")
                step += 1
            out.flush()
            if shared and step % 7 == 0:
                for index in range(min(shared, step // 7)):
                    ledger.append(event(f"shared-{index}", index))
        for index in range(shared):
            ledger.append(event(f"shared-{index}", index))
    out.write("done\n")
    out.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
