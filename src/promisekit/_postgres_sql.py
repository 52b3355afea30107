"""The SQL of :class:`promisekit.postgres.PostgresLedger`, and the helpers it needs.

Private to :mod:`promisekit._store_postgres`. Every statement names its tables through
the ledger's PostgreSQL schema (``{s}``, quoted with :class:`psycopg.sql.Identifier`),
so several ledgers can live in one database.

Why ``events.seq`` is a gap-free position in commit order: every transaction that
appends events first takes ``LOCK TABLE events IN EXCLUSIVE MODE`` — a lock only one
transaction holds at a time, which plain ``SELECT`` statements do not wait for — and
only then reads ``max(seq)`` and inserts ``max(seq) + 1, + 2…``. PostgreSQL makes a
transaction visible before it releases its locks, so the next writer's snapshot (taken
after it got the lock) sees the previous writer's rows, and a reader that sees
position ``n + 1`` also sees ``n``. A ``BIGSERIAL`` would not do: its values are taken
before commit, so a transaction holding ``7`` may commit after one holding ``8``, and a
reader polling between the two commits would skip ``7`` for ever. A rolled-back
transaction leaves no row and takes no number; an idempotent repeat inserts nothing;
no event is ever deleted.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

from psycopg import sql

from promisekit._ledger_events import Event
from promisekit._store_cursor import micros
from promisekit.serialize import to_json

#: The tables, created if missing (``{s}`` is the ledger's schema).
MAKE_SCHEMA = (
    "CREATE SCHEMA IF NOT EXISTS {s}",
    """CREATE TABLE IF NOT EXISTS {s}.meta (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS {s}.events (
        seq BIGINT PRIMARY KEY,
        id TEXT COLLATE "C" NOT NULL UNIQUE,
        promise_id TEXT COLLATE "C" NOT NULL,
        type TEXT NOT NULL,
        at_us BIGINT NOT NULL,
        recorded_us BIGINT NOT NULL,
        document TEXT NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS events_by_promise ON {s}.events (promise_id, at_us)",
    "CREATE INDEX IF NOT EXISTS events_made ON {s}.events (type, promise_id, at_us)",
    """CREATE TABLE IF NOT EXISTS {s}.checkpoints (
        name TEXT PRIMARY KEY,
        position BIGINT NOT NULL,
        holder TEXT
    )""",
    """CREATE TABLE IF NOT EXISTS {s}.leases (
        name TEXT PRIMARY KEY,
        holder TEXT NOT NULL,
        expires_us BIGINT NOT NULL
    )""",
)
TABLES = ("meta", "events", "checkpoints", "leases")

MISSING_TABLES = (
    "SELECT count(*) FROM unnest(%s::text[]) AS t(name) "
    "WHERE to_regclass(format('%%I.%%I', %s::text, t.name)) IS NULL"
)
SCHEMA_LOCK = "SELECT pg_advisory_xact_lock(hashtext('promisekit schema ' || %s::text))"
SET_SCHEMA = "INSERT INTO {s}.meta (key, value) VALUES ('schema', %s) ON CONFLICT (key) DO NOTHING"
GET_SCHEMA = "SELECT value FROM {s}.meta WHERE key = 'schema'"

SET_LOCK_TIMEOUT = "SELECT set_config('lock_timeout', %s, true)"
READ_COMMITTED = "SET TRANSACTION ISOLATION LEVEL READ COMMITTED"
LOCK_EVENTS = "LOCK TABLE {s}.events IN EXCLUSIVE MODE"
LOCK_LEASES = "LOCK TABLE {s}.leases IN EXCLUSIVE MODE"

LAST = "SELECT coalesce(max(seq), 0) FROM {s}.events"
STORED = "SELECT id, document FROM {s}.events WHERE id = ANY(%s::text[])"
INSERT = (
    "INSERT INTO {s}.events (seq, id, promise_id, type, at_us, recorded_us, document) "
    "SELECT * FROM unnest(%s::bigint[], %s::text[], %s::text[], %s::text[], %s::bigint[], "
    "%s::bigint[], %s::text[])"
)
SAVE_CHECKPOINT = (
    "INSERT INTO {s}.checkpoints (name, position, holder) VALUES (%s, %s, %s) "
    "ON CONFLICT (name) DO UPDATE SET position = excluded.position, holder = excluded.holder"
)
FENCE = "SELECT holder, expires_us FROM {s}.leases WHERE name = %s FOR SHARE"

COUNT = "SELECT count(*) FROM {s}.events"
CONTAINS = "SELECT 1 FROM {s}.events WHERE id = %s"
GET = "SELECT document FROM {s}.events WHERE id = %s"
PROMISE_IDS = "SELECT DISTINCT promise_id FROM {s}.events ORDER BY promise_id"
OF_PROMISE = "SELECT document FROM {s}.events WHERE promise_id = %s"
ALL = "SELECT document FROM {s}.events"
SINCE = "SELECT seq, document FROM {s}.events WHERE seq > %s ORDER BY seq LIMIT %s"
MADE_PAGE = (
    "SELECT DISTINCT promise_id FROM {s}.events WHERE type = 'promise_made' "
    "AND promise_id > %s AND at_us <= %s ORDER BY promise_id LIMIT %s"
)
OF_PROMISES = (
    "SELECT promise_id, document FROM {s}.events WHERE promise_id = ANY(%s::text[]) "
    "ORDER BY promise_id"
)
GET_CHECKPOINT = "SELECT position, holder FROM {s}.checkpoints WHERE name = %s"
GET_LEASE = "SELECT holder, expires_us FROM {s}.leases WHERE name = %s"
SAVE_LEASE = (
    "INSERT INTO {s}.leases (name, holder, expires_us) VALUES (%s, %s, %s) "
    "ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_us = excluded.expires_us"
)
RELEASE_LEASE = "DELETE FROM {s}.leases WHERE name = %s AND holder = %s"

#: The largest ``at_us`` (``states()`` without ``at`` pages with this bound).
MAX_US = 2**63 - 1


def compose(text: str, schema: str) -> sql.Composed:
    """``text`` with ``{s}`` replaced by the quoted schema name."""
    return sql.SQL(text).format(s=sql.Identifier(schema))


Row = tuple[int, str, str, str, int, int, str]


def row(seq: int, event: Event) -> Row:
    """The ``events`` row of ``event`` at position ``seq``."""
    return (
        seq,
        event.id,
        event.promise_id,
        event.event_type,
        micros(event.at),
        micros(event.recorded_at),
        to_json(event),
    )


def columns(rows: Iterable[Row]) -> list[list[Any]]:
    """The rows as one list per column (the parameters of :data:`INSERT`)."""
    return [list(column) for column in zip(*rows, strict=True)] or [[] for _ in range(7)]


def _tagged_int(text: str) -> tuple[str, int]:
    return ("int", int(text))


def _tagged_float(text: str) -> tuple[str, float]:
    return ("float", float(text))


def same_document(stored: str, given: str) -> bool:
    """Whether two JSON documents are equal (as :class:`promisekit.store.SQLiteLedger`
    compares them: numbers are tagged so that 1, 1.0 and true stay different)."""
    if stored == given:
        return True
    try:
        return bool(
            json.loads(stored, parse_int=_tagged_int, parse_float=_tagged_float)
            == json.loads(given, parse_int=_tagged_int, parse_float=_tagged_float)
        )
    except ValueError:  # pragma: no cover - the store only holds JSON it wrote
        return False


_URL_PASSWORD = re.compile(r"(://[^:/@?#]*:)[^@/?#]*@")
_KEY_PASSWORD = re.compile(r"(password\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)", re.IGNORECASE)


def redact(conninfo: str) -> str:
    """``conninfo`` with any password replaced by ``***`` (for messages and repr)."""
    if "://" in conninfo:
        text = _URL_PASSWORD.sub(r"\1***@", conninfo)
        return re.sub(r"([?&]password=)[^&#]*", r"\1***", text, flags=re.IGNORECASE)
    return _KEY_PASSWORD.sub(r"\1***", conninfo)
