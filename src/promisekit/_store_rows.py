"""The rows of :class:`promisekit.store.SQLiteLedger`: written with a digest, read back
trusted when the digest says the store wrote them.

Private to :mod:`promisekit.store`.

A row is ``(id, promise_id, type, at_us, recorded_us, document, digest)``: the event's
JSON document (:func:`promisekit.serialize.to_json`, written by the fast
:func:`~promisekit._serialize_trusted.event_text`), the columns the queries use, and
``digest``, a CRC-32 of the document started from a value that depends on ``type`` and
``at_us``. The store computes the digest only for events it has just checked (every
:class:`~promisekit.ledger.Event` is validated when it is created), so a row whose
digest matches holds a valid document that nobody changed since: it is read with
:func:`~promisekit._serialize_trusted.trusted_event`, without validating it again.

A row without a digest (written by another program, or by a promisekit from before the
column existed) or whose digest does not match (a document or a column edited by hand)
is read with :func:`~promisekit.serialize.from_json`, which validates everything: an
invalid document is then a :class:`~promisekit.store.StoreError`, as it always was. The
digest is a checksum against accidents and hand edits, not a signature: whoever can
write the file can also write a matching digest.
"""

from __future__ import annotations

import json
import zlib
from datetime import datetime

from promisekit._ledger_events import EVENT_TYPES, Event
from promisekit._ledger_state import PromiseState, _replay_sorted
from promisekit._serialize_trusted import event_text, trusted_event
from promisekit._store_cursor import micros
from promisekit.serialize import to_json

# Change the text to stop trusting every row written so far (they are then validated).
_DIGEST_SEED = zlib.crc32(b"promisekit/1 rows written by SQLiteLedger, version 1")
_TYPE_SEEDS = {name: zlib.crc32(name.encode(), _DIGEST_SEED) for name in EVENT_TYPES}
_RANKS = {name: cls._rank for name, cls in EVENT_TYPES.items()}

#: ``(id, promise_id, type, at_us, recorded_us, document, digest)``.
Row = tuple[str, str, str, int, int, str, int | None]
#: What replay reads of a row: ``(promise_id, type, at_us, document, digest)``.
ReplayRow = tuple[str, str, int, str, int | None]


def row(event: Event) -> tuple[str, str, str, int, int, str]:
    """The columns and document of an event, without a digest (as another writer would)."""
    return (
        event.id,
        event.promise_id,
        event.event_type,
        micros(event.at),
        micros(event.recorded_at),
        to_json(event),
    )


def digest(event_type: str, at_us: int, document: str) -> int | None:
    """The digest of a row (``None`` for a type this promisekit does not know)."""
    seed = _TYPE_SEEDS.get(event_type)
    if seed is None:
        return None
    return zlib.crc32(document.encode(), seed ^ ((at_us ^ (at_us >> 32)) & 0xFFFFFFFF))


def fast_row(event: Event) -> Row:
    """The row of a (valid) event, with its digest."""
    event_type = event.event_type
    at, recorded_at = event.at, event.recorded_at
    at_us = micros(at)
    document = event_text(event)
    return (
        event.id,
        event.promise_id,
        event_type,
        at_us,
        at_us if recorded_at == at else micros(recorded_at),  # (the same instant)
        document,
        digest(event_type, at_us, document),
    )


def trusted_row(event_type: str, at_us: int, document: str, stored: int | None) -> Event | None:
    """The event of a row the store wrote and nobody changed since, without validating it
    again; ``None`` for any other row (read it with ``from_json``)."""
    if stored is None or stored != digest(event_type, at_us, document):
        return None
    return trusted_event(document)


def replay_trusted(
    promise_id: str, rows: list[ReplayRow], at: datetime | None, limit: int | None
) -> PromiseState | None:
    """The state of a promise from its rows when the store wrote every one of them, or
    ``None`` (then decode them all and replay the events as read).

    The trusted ``at_us`` column (the instant in microseconds, covered by the digest)
    selects the events up to ``limit`` and orders them as :meth:`Event.order_key
    <promisekit.ledger.Event.order_key>` does, so only those rows are decoded.
    """
    events: list[Event] = []
    instants: list[int] = []
    in_order = True  # instants strictly increasing: already in replay order
    seeds, crc32 = _TYPE_SEEDS, zlib.crc32
    for _, event_type, at_us, document, stored in rows:
        seed = seeds.get(event_type)  # (digest(), inline: this loop is replay's hot path)
        if (
            stored is None
            or seed is None
            or stored != crc32(document.encode(), seed ^ ((at_us ^ (at_us >> 32)) & 0xFFFFFFFF))
        ):
            return None
        if limit is not None and at_us > limit:
            continue
        event = trusted_event(document)
        if event is None:  # pragma: no cover - a row this store wrote is in that form
            return None
        if instants and at_us <= instants[-1]:
            in_order = False
        instants.append(at_us)
        events.append(event)
    if not in_order:  # Event.order_key: the instant, the rank at that instant, the id
        keyed = sorted(
            (at_us, _RANKS[e.event_type], e.id, e)
            for at_us, e in zip(instants, events, strict=True)
        )  # the ids are unique: the events themselves are never compared
        events = [item[3] for item in keyed]
    return _replay_sorted(promise_id, events, at, None)


def _tagged_int(text: str) -> tuple[str, int]:
    return ("int", int(text))


def _tagged_float(text: str) -> tuple[str, float]:
    return ("float", float(text))


def same_document(stored: str, given: str) -> bool:
    """Whether two JSON documents are the same (numbers compared with their kind)."""
    if stored == given:
        return True
    # Numbers are tagged so that 1, 1.0 and true (equal in Python) stay different.
    try:
        return bool(
            json.loads(stored, parse_int=_tagged_int, parse_float=_tagged_float)
            == json.loads(given, parse_int=_tagged_int, parse_float=_tagged_float)
        )
    except ValueError:  # pragma: no cover - the store only holds JSON it wrote
        return False
