"""The rows of the database stores (:class:`promisekit.store.SQLiteLedger`,
:class:`promisekit.postgres.PostgresLedger`): written with a digest, read back trusted
when the digest says the store wrote them.

Private to the stores. Also what both share: :class:`StoreError`, the schema-version
check (:func:`check_schema`), and :func:`stream_states`, the one pass over a store's
rows that ``states()`` is.

A row is ``(id, promise_id, type, at_us, recorded_us, document, digest)``: the event's
JSON document (:func:`promisekit.serialize.to_json`, written by the fast
:func:`~promisekit._serialize_trusted.event_text`), the columns the queries use, and
``digest``, a CRC-32 of the document started from a value that depends on ``type``,
exclusive-or ``at_us``. The store computes the digest
only for events it has just checked (every
:class:`~promisekit.ledger.Event` is validated when it is created), so a row whose
digest matches holds a valid document that nobody changed since: it is read with
:func:`~promisekit._serialize_trusted.trusted_event`, without validating it again.

A row without a digest (written by another program, or by a promisekit from before the
column existed) or whose digest does not match (a document or a column edited by hand)
is read with :func:`~promisekit.serialize.from_json`, which validates everything: an
invalid document is then a :class:`~promisekit.store.StoreError`, as it always was. The
digest is a checksum against accidents and hand edits, not a signature: whoever can
write the file (or the table) can also write a matching digest.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from typing import Any

from promisekit import _serialize_trusted as _trusted
from promisekit._ledger_events import EVENT_TYPES, Event
from promisekit._ledger_replay import _replay_sorted
from promisekit._ledger_state import PromiseState
from promisekit._serialize_trusted import event_text, trusted_event
from promisekit._store_cursor import micros
from promisekit._validation import describe
from promisekit.errors import PromiseKitError
from promisekit.serialize import SCHEMA, SCHEMA_VERSION, SchemaError, from_json, to_json

# Change the text to stop trusting every row written so far (they are then validated).
_DIGEST_SEED = zlib.crc32(b"promisekit/1 rows written by SQLiteLedger, version 2")
_TYPE_SEEDS = {name: zlib.crc32(name.encode(), _DIGEST_SEED) for name in EVENT_TYPES}
# Distinct seeds give distinct digests of the same document (CRC-32 is affine in its start).
assert len(set(_TYPE_SEEDS.values())) == len(_TYPE_SEEDS)
_RANKS = {name: cls._rank for name, cls in EVENT_TYPES.items()}
_BEFORE_ALL = -(2**70)  # before every at_us
_AFTER_ALL = 2**70  # after every at_us

#: ``(id, promise_id, type, at_us, recorded_us, document, digest)``.
Row = tuple[str, str, str, int, int, str, int | None]
#: What replay reads of a row: ``(promise_id, type, at_us, document, digest)``.
ReplayRow = tuple[str, str, int, str, int | None]


class StoreError(PromiseKitError, OSError):
    """A ledger store cannot be opened, read or written.

    For example: not a database, locked too long, closed, or written by a newer
    promisekit (the SQLite and PostgreSQL stores both raise it).

    .. versionadded:: 0.1.0
    """


StoreError.__module__ = "promisekit.store"  # its public home


def check_schema(version: str, where: str) -> None:
    """Refuse a store whose schema string (from its ``meta`` table) is not a promisekit
    one, or is newer than this promisekit's (:class:`StoreError`)."""
    number = version.rpartition("/")[2]
    if not version.startswith("promisekit/") or not number.isdigit():
        raise StoreError(f"the store {where} has an unknown schema {describe(version)}")
    if int(number) > SCHEMA_VERSION:
        raise StoreError(
            f"the store {where} was written with schema {describe(version)}, newer than "
            f"this promisekit's {SCHEMA!r}; upgrade promisekit"
        )


class NoLedgerError(StoreError):
    """Private: the place holds no promisekit ledger (what ``create=False`` refuses)."""


NoLedgerError.__module__ = "promisekit.store"

#: The tables every ledger has; the ones a current ledger has.
LEDGER_TABLES = ("meta", "events")
CURRENT_TABLES = ("meta", "events", "checkpoints", "leases")


def check_layout(
    where: str,
    present: set[str],
    version: str | None,
    has_digest: bool,
    *,
    current: bool,
    upgrade: str,
    absent: str | None = None,
) -> None:
    """Refuse a store without a ledger (:class:`NoLedgerError`: no ``meta`` or
    ``events`` table, or no schema version), a ledger of an unknown or newer schema, and
    with ``current`` one written before the cursor tables and the ``digest`` column
    (which ``upgrade``, a call, brings up to date). ``absent`` says why every table is
    missing, when the store knows (a schema that does not exist)."""
    missing = [name for name in LEDGER_TABLES if name not in present]
    if missing or version is None:
        if missing:
            plural = "s" if len(missing) > 1 else ""
            what = f"no {' and '.join(repr(n) for n in missing)} table{plural}"
            if absent is not None and len(missing) == len(LEDGER_TABLES):
                what = absent
        else:
            what = "no schema version in its meta table"
        raise NoLedgerError(f"the store {where} holds no promisekit ledger ({what})")
    check_schema(version, where)
    old = [repr(name) for name in CURRENT_TABLES if name not in present]
    if not has_digest:
        old.append("the events.digest column")
    if current and old:
        raise StoreError(
            f"the store {where} was written by an older promisekit (no {', '.join(old)}): "
            f"open it once for writing to bring it up to date ({upgrade})"
        )


def decode(document: str, where: str) -> Event:
    """The event of a document, validated (a :class:`StoreError` if it is not one)."""
    try:
        return from_json(document, Event)
    except SchemaError as exc:
        raise StoreError(
            f"the store {where} holds an event this promisekit cannot read: {exc}"
        ) from exc


def decode_row(event_type: str, at_us: int, document: str, stored: int | None, where: str) -> Event:
    """The event of a row: trusted if the store wrote it, otherwise validated."""
    event = trusted_row(event_type, at_us, document, stored)
    return decode(document, where) if event is None else event


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
    """The digest of a row (``None`` for a type this promisekit does not know): the
    CRC-32 of the document started from a value of its type, exclusive-or ``at_us``
    (so that any other ``at_us`` gives another digest)."""
    seed = _TYPE_SEEDS.get(event_type)
    if seed is None:
        return None
    return zlib.crc32(document.encode(), seed) ^ at_us


def matches(event_type: str, at_us: int, document: str, stored: int | None) -> bool:
    """Whether ``stored`` is the digest of the row."""
    return stored is not None and stored == digest(event_type, at_us, document)


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
    if not matches(event_type, at_us, document, stored):
        return None
    return trusted_event(document)


def _in_replay_order(rows: list[ReplayRow], events: list[Event], limit: int | None) -> list[Event]:
    """``events`` (the trusted rows up to ``limit``, as read) sorted as
    :meth:`Event.order_key <promisekit.ledger.Event.order_key>` does: the instant (the
    trusted ``at_us``), the rank at that instant, the id."""
    instants = [row[2] for row in rows if limit is None or row[2] <= limit]
    keyed = sorted(
        (at_us, _RANKS[e.event_type], e.id, e) for at_us, e in zip(instants, events, strict=True)
    )  # the ids are unique: the events themselves are never compared
    return [item[3] for item in keyed]


def stream_states(
    rows: Iterable[ReplayRow],
    at: datetime | None,
    limit: int | None,
    untrusted: Callable[[str, list[ReplayRow]], PromiseState],
) -> Iterator[PromiseState]:
    """The states of the promises of ``rows`` (sorted by promise id) made by ``limit``
    (``at`` in microseconds, or ``None``), one promise's rows in memory at a time.

    Rows are checked and decoded as they come (one pass): while every row of a promise
    is one the store wrote (its digest matches), its events are read with
    :func:`~promisekit._serialize_trusted.trusted_event`; a promise with any other row
    is replayed by ``untrusted(promise_id, rows)``, which validates its documents.
    """
    crc32, scan, schema = zlib.crc32, _trusted.scan, SCHEMA
    # By type: its digest seed and its trusted reader (either may be None).
    kinds: dict[str, tuple[int | None, Callable[[dict[str, Any]], Event] | None]] = {}
    last = _AFTER_ALL if limit is None else limit
    current: str | None = None
    made = trusted = in_order = False
    kept: list[ReplayRow] = []
    events: list[Event] = []
    previous = _BEFORE_ALL
    for row in rows:
        promise_id, event_type, at_us, document, stored = row
        if promise_id != current:
            if made:
                yield _finish(current, kept, events, trusted, in_order, at, limit, untrusted)
            current, made, trusted, in_order = promise_id, False, True, True
            kept, events, previous = [], [], _BEFORE_ALL
        kept.append(row)
        if event_type == "promise_made" and at_us <= last:
            made = True
        if not trusted or at_us > last:
            continue
        kind = kinds.get(event_type)  # (digest(), inline: this loop is replay's hot path)
        if kind is None:
            kind = kinds[event_type] = (
                _TYPE_SEEDS.get(event_type),
                _trusted.reader_of(event_type),
            )
        seed, read = kind
        if stored is None or seed is None or stored != crc32(document.encode(), seed) ^ at_us:
            trusted = False
            continue
        # trusted_event(), inline: (the type column is the document's, the digest says)
        try:
            data, end = scan(document, 0)
            if (
                end != len(document)
                or data["schema"] != schema
                or data["type"] != event_type
                or read is None
            ):
                raise ValueError(document)
            events.append(read(data))
        except _trusted.NOT_OURS:  # pragma: no cover - a row this store wrote is in that form
            trusted = False
            continue
        if at_us <= previous:
            in_order = False
        previous = at_us
    if made:
        yield _finish(current, kept, events, trusted, in_order, at, limit, untrusted)


def _finish(
    promise_id: str | None,
    rows: list[ReplayRow],
    events: list[Event],
    trusted: bool,
    in_order: bool,
    at: datetime | None,
    limit: int | None,
    untrusted: Callable[[str, list[ReplayRow]], PromiseState],
) -> PromiseState:
    assert promise_id is not None
    if not trusted:
        # A row checked after the untrusted one may have failed its digest as well.
        return untrusted(promise_id, rows)
    if not in_order:
        events = _in_replay_order(rows, events, limit)
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
