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

import os
from typing import Any

from psycopg import sql
from psycopg.conninfo import conninfo_to_dict

from promisekit._redact import redact as redact  # the store's messages use q.redact

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
        document TEXT NOT NULL,
        digest BIGINT
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
#: Which of the tables ``%s`` exist in the schema ``%s`` (one row each).
PRESENT_TABLES = (
    "SELECT t.name FROM unnest(%s::text[]) AS t(name) "
    "WHERE to_regclass(format('%%I.%%I', %s::text, t.name)) IS NOT NULL"
)
LAST_OF_PROMISE = "SELECT coalesce(max(seq), 0) FROM {s}.events WHERE promise_id = %s"
HAS_SCHEMA = "SELECT 1 FROM pg_namespace WHERE nspname = %s"
SCHEMA_LOCK = "SELECT pg_advisory_xact_lock(hashtext('promisekit schema ' || %s::text))"
#: Whether ``events`` has the ``digest`` column (added in 0.1.0; 1 row when it has).
HAS_DIGEST = (
    "SELECT 1 FROM pg_attribute WHERE attrelid = to_regclass(format('%%I.events', %s::text)) "
    "AND attname = 'digest' AND NOT attisdropped"
)
ADD_DIGEST = "ALTER TABLE {s}.events ADD COLUMN IF NOT EXISTS digest BIGINT"
SET_SCHEMA = "INSERT INTO {s}.meta (key, value) VALUES ('schema', %s) ON CONFLICT (key) DO NOTHING"
GET_SCHEMA = "SELECT value FROM {s}.meta WHERE key = 'schema'"

SET_LOCK_TIMEOUT = "SELECT set_config('lock_timeout', %s, true)"
READ_COMMITTED = "SET TRANSACTION ISOLATION LEVEL READ COMMITTED"
LOCK_EVENTS = "LOCK TABLE {s}.events IN EXCLUSIVE MODE"
LOCK_LEASES = "LOCK TABLE {s}.leases IN EXCLUSIVE MODE"

LAST = "SELECT coalesce(max(seq), 0) FROM {s}.events"
#: The stored documents of some ids. (A join, not ``id = ANY(...)``: without statistics
#: — a table growing in one long batch — the planner scans the whole table for that.)
STORED = (
    "SELECT e.id, e.document FROM unnest(%s::text[]) AS k(id) JOIN {s}.events AS e ON e.id = k.id"
)
COPY = (
    "COPY {s}.events (seq, id, promise_id, type, at_us, recorded_us, document, digest) FROM STDIN"
)
SAVE_CHECKPOINT = (
    "INSERT INTO {s}.checkpoints (name, position, holder) VALUES (%s, %s, %s) "
    "ON CONFLICT (name) DO UPDATE SET position = excluded.position, holder = excluded.holder"
)
FENCE = "SELECT holder, expires_us FROM {s}.leases WHERE name = %s FOR SHARE"

COUNT = "SELECT count(*) FROM {s}.events"
CONTAINS = "SELECT 1 FROM {s}.events WHERE id = %s"
#: The columns an event is read from: ``(type, at_us, document, digest)``.
_READ = "type, at_us, document, digest"
GET = f"SELECT {_READ} FROM {{s}}.events WHERE id = %s"
PROMISE_IDS = "SELECT DISTINCT promise_id FROM {s}.events ORDER BY promise_id"
OF_PROMISE = f"SELECT {_READ} FROM {{s}}.events WHERE promise_id = %s"
ALL = f"SELECT {_READ} FROM {{s}}.events"
SINCE = f"SELECT seq, {_READ} FROM {{s}}.events WHERE seq > %s ORDER BY seq LIMIT %s"
#: ``states()``: a page of rows, promise by promise along ``events_by_promise``.
_PAGE = f"SELECT promise_id, {_READ} FROM {{s}}.events WHERE promise_id %s %%s "
PAGE_FROM = _PAGE % ">=" + "ORDER BY promise_id, at_us LIMIT %s"
PAGE_AFTER = _PAGE % ">" + "ORDER BY promise_id, at_us LIMIT %s"
ROWS_OF = _PAGE % "=" + "ORDER BY at_us"
GET_CHECKPOINT = "SELECT position, holder FROM {s}.checkpoints WHERE name = %s"
GET_LEASE = "SELECT holder, expires_us FROM {s}.leases WHERE name = %s"
SAVE_LEASE = (
    "INSERT INTO {s}.leases (name, holder, expires_us) VALUES (%s, %s, %s) "
    "ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_us = excluded.expires_us"
)
RELEASE_LEASE = "DELETE FROM {s}.leases WHERE name = %s AND holder = %s"


def compose(text: str, schema: str) -> sql.Composed:
    """``text`` with ``{s}`` replaced by the quoted schema name."""
    return sql.SQL(text).format(s=sql.Identifier(schema))


#: ``(seq, id, promise_id, type, at_us, recorded_us, document, digest)``.
Row = tuple[int, str, str, str, int, int, str, int | None]


_CONNECT_DEFAULTS: dict[str, Any] = {
    "connect_timeout": 30,
    "keepalives": 1,
    "keepalives_idle": 30,
    "keepalives_interval": 10,
    "keepalives_count": 3,
}


def connect_options(conninfo: str) -> dict[str, Any]:
    """Connection parameters a long-running store wants, for the ones the user left out:
    a bounded connect, and TCP keepalives so a server that vanished is noticed in about
    a minute rather than hours (ignored on Unix sockets). Settings in ``conninfo``, in
    ``PGCONNECT_TIMEOUT`` or in a service file (``service=``, ``PGSERVICE``) win."""
    try:
        given = set(conninfo_to_dict(conninfo))
    except Exception:  # psycopg words the error when it connects
        return {}
    if "service" in given or os.environ.get("PGSERVICE"):
        return {}  # a service file may set any of them
    if os.environ.get("PGCONNECT_TIMEOUT"):
        given.add("connect_timeout")
    return {key: value for key, value in _CONNECT_DEFAULTS.items() if key not in given}
