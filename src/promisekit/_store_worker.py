"""A writer process for :func:`promisekit.testing.check_ledger_store`.

Run as ``python -m promisekit._store_worker``; reads one pickled job from the
environment variable ``PROMISEKIT_STORE_JOB`` (base64):
``(factory, name, prefix, batches, shared_every)``. Opens the store
``factory(name)`` and appends ``batches`` batches (``-1``: until killed), printing
``ack <id> <id>…`` (flushed) once the ``append_many`` of a batch has returned, then
``done``. Batch ``k`` holds ``1 + k % 3`` events of its own, ids ``<prefix>-<k>-<j>``,
and every ``shared_every``-th batch ends with the event ``shared-<k>``, which every
worker writes with the same payload (an idempotent append across processes).
"""

from __future__ import annotations

import base64
import os
import pickle
import sys
from datetime import datetime, timedelta, timezone

from promisekit._ledger_events import CustomerNotified, Event, PromiseMade

T0 = datetime(2026, 3, 10, 9, 0, tzinfo=timezone.utc)


def batch_events(prefix: str, k: int, shared_every: int) -> list[Event]:
    """The events of batch ``k`` of writer ``prefix``."""
    at = T0 + timedelta(seconds=k)
    out: list[Event] = [
        PromiseMade(
            id=f"{prefix}-{k}-0",
            promise_id=f"P-{prefix}-{k}",
            at=at,
            recorded_at=at,
            customer_id="C-1",
            kind="callback",
            due=at + timedelta(hours=1),
            metadata={"writer": prefix, "batch": str(k)},
        )
    ]
    out.extend(
        CustomerNotified(
            id=f"{prefix}-{k}-{j}",
            promise_id=f"P-{prefix}-{k}",
            at=at,
            recorded_at=at,
            channel="sms",
        )
        for j in range(1, 1 + k % 3)
    )
    if shared_every and k % shared_every == 0:
        out.append(
            CustomerNotified(
                id=f"shared-{k}", promise_id="P-shared", at=T0, recorded_at=T0, channel="sms"
            )
        )
    return out


def main() -> int:
    """Run the job given in the environment."""
    job = base64.b64decode(os.environ["PROMISEKIT_STORE_JOB"])
    factory, name, prefix, batches, shared_every = pickle.loads(job)
    store = factory(name)
    out = sys.stdout
    k = 0
    while batches < 0 or k < batches:
        events = batch_events(prefix, k, shared_every)
        store.append_many(events)
        out.write("ack " + " ".join(event.id for event in events) + "\n")
        out.flush()
        k += 1
    close = getattr(store, "close", None)
    if callable(close):
        close()
    out.write("done\n")
    out.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
