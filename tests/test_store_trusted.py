"""SQLiteLedger reads back the rows it wrote without validating them again (a digest marks
them), validates every other row, and streams states() promise by promise."""

from __future__ import annotations

import sqlite3
import zlib
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import promisekit._serialize_trusted as trusted_module
import promisekit._store_rows as rows_module
from promisekit._store_cursor import micros
from promisekit.ledger import (
    CustomerNotified,
    Event,
    PromiseLedger,
    PromiseMade,
)
from promisekit.serialize import SCHEMA, to_json
from promisekit.store import SQLiteLedger, StoreError
from promisekit.testing.events import event_histories
from promisekit.testing.strategies import aware_datetimes

UTC = timezone.utc
T0 = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
H = timedelta(hours=1)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def made(event_id: str = "E-1", promise_id: str = "P-1", at: datetime = T0) -> PromiseMade:
    return PromiseMade(
        id=event_id,
        promise_id=promise_id,
        at=at,
        recorded_at=at,
        customer_id="C-1",
        kind="callback",
        due=at + H,
    )


def notified(event_id: str, promise_id: str = "P-1", at: datetime = T0) -> CustomerNotified:
    return CustomerNotified(id=event_id, promise_id=promise_id, at=at, recorded_at=at)


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[SQLiteLedger]:
    with SQLiteLedger(tmp_path / "ledger.db") as opened:
        yield opened


def untrust(ledger: SQLiteLedger) -> None:
    """Forget every digest: every row is then read through from_json (validated)."""
    ledger._db().execute("UPDATE events SET digest = NULL")


def everything(ledger: SQLiteLedger, at: datetime | None) -> list[str]:
    """What the store answers, as text exact enough to compare two reading paths."""
    out = [repr(state) for state in ledger.states(at)]
    out += [repr(ledger.state(pid)) for pid in ledger.promise_ids() if ledger.history(pid)]
    out += [to_json(e) + repr(e) for e in ledger.history()]
    out += [f"{position} {to_json(e)} {e!r}" for position, e in ledger.events_since(0)]
    out += [repr(ledger.get(e.id)) for e in ledger.history()]
    return out


# --------------------------------------------------------------------------- same answers


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    histories=st.lists(event_histories(max_events=6), min_size=1, max_size=3),
    data=st.data(),
)
def test_the_trusted_path_answers_as_the_validated_path(
    histories: list[list[Event]], data: st.DataObject
) -> None:
    events = [
        attrs.evolve(e, id=f"{i}-{e.id}", promise_id=f"{i}-{e.promise_id}")
        for i, history in enumerate(histories)
        for e in history
    ]
    arrival = data.draw(st.permutations(events))
    at = data.draw(st.none() | st.sampled_from([e.at for e in events]))
    memory = PromiseLedger(arrival)
    with SQLiteLedger(":memory:") as ledger:
        ledger.append_many(arrival)
        trusted = everything(ledger, at)
        if at is None:
            expected = [
                memory.state(pid)
                for pid in memory.promise_ids()
                if any(isinstance(e, PromiseMade) for e in memory.history(pid))
            ]
        else:
            expected = list(memory._made_states(at))
        assert list(ledger.states(at)) == expected
        untrust(ledger)
        assert everything(ledger, at) == trusted


def test_rows_written_by_the_store_are_read_without_from_json(
    ledger: SQLiteLedger, monkeypatch: pytest.MonkeyPatch
) -> None:
    ledger.append_many([made(), notified("E-2")])
    validated: list[str] = []
    real = rows_module.from_json

    def counting(text: Any, cls: Any) -> Any:
        validated.append(text)
        return real(text, cls)

    monkeypatch.setattr(rows_module, "from_json", counting)
    assert [s.promise_id for s in ledger.states()] == ["P-1"]
    assert ledger.state("P-1").notifications[0].id == "E-2"
    assert validated == []
    untrust(ledger)
    ledger.state("P-1")
    assert len(validated) == 2


# --------------------------------------------------------------------------- tampering


def _edit(ledger: SQLiteLedger, event_id: str, sql: str, *params: Any) -> None:
    ledger._db().execute(f"UPDATE events SET {sql} WHERE id = ?", (*params, event_id))


def test_a_document_edited_into_an_invalid_one_is_a_store_error(ledger: SQLiteLedger) -> None:
    ledger.append_many([made(), notified("E-2")])
    document = to_json(made()).replace(
        '"due":"2026-03-10T10:00:00+00:00"', '"due":"2026-03-10T08:00:00+00:00"'
    )
    _edit(ledger, "E-1", "document = ?", document)
    with pytest.raises(StoreError, match=r"cannot read: .*'due' must not be before 'at'"):
        ledger.state("P-1")
    with pytest.raises(StoreError, match="'due' must not be before"):
        list(ledger.states())
    with pytest.raises(StoreError, match="'due' must not be before"):
        ledger.events_since(0)
    with pytest.raises(StoreError, match="'due' must not be before"):
        ledger.get("E-1")


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ('"id":"E-2"', '"id":""'),  # blank id
        ('"at":"2026-03-10T09:00:00+00:00"', '"at":"2026-03-10T09:00:00"'),  # naive
        ('"channel":"sms"', '"channel":7'),  # wrong type
        ('"channel":"sms"', '"channel":"sms","colour":"red"'),  # unknown field
    ],
)
def test_every_hand_edit_goes_through_validation(ledger: SQLiteLedger, old: str, new: str) -> None:
    ledger.append_many([made(), attrs.evolve(notified("E-2"), channel="sms")])
    document = to_json(attrs.evolve(notified("E-2"), channel="sms"))
    assert old in document
    _edit(ledger, "E-2", "document = ?", document.replace(old, new))
    with pytest.raises(StoreError, match="cannot read"):
        list(ledger.states())


def test_a_valid_hand_edit_is_read_as_edited(ledger: SQLiteLedger) -> None:
    ledger.append_many([made(), attrs.evolve(notified("E-2"), channel="sms")])
    document = to_json(attrs.evolve(notified("E-2"), channel="sms"))
    _edit(ledger, "E-2", "document = ?", document.replace('"sms"', '"email"'))
    assert ledger.state("P-1").notifications[0].channel == "email"
    assert next(ledger.states()).notifications[0].channel == "email"


def test_an_edited_column_makes_the_row_untrusted(ledger: SQLiteLedger) -> None:
    later = notified("E-2", at=T0 + H)
    ledger.append_many([made(), later, notified("E-3", at=T0 + 2 * H)])
    before = [repr(s) for s in ledger.states()]
    # at_us now says E-3 came before E-2: replay must follow the documents, as before.
    _edit(ledger, "E-3", "at_us = ?", micros(T0))
    assert [repr(s) for s in ledger.states()] == before
    _edit(ledger, "E-3", "at_us = ?, type = 'promise_paused'", micros(T0 + 2 * H))
    assert [repr(s) for s in ledger.states()] == before


def test_a_store_without_the_digest_column_gains_it(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    conn.executescript(
        """
        CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        CREATE TABLE events (
            seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, promise_id TEXT NOT NULL,
            type TEXT NOT NULL, at_us INTEGER NOT NULL, recorded_us INTEGER NOT NULL,
            document TEXT NOT NULL
        );
        CREATE INDEX events_by_promise ON events (promise_id, at_us);
        CREATE INDEX events_made ON events (type, at_us);
        """
    )
    conn.execute("INSERT INTO meta VALUES ('schema', ?)", (SCHEMA,))
    conn.execute(
        "INSERT INTO events (id, promise_id, type, at_us, recorded_us, document) "
        "VALUES ('E-1', 'P-1', 'promise_made', ?, ?, ?)",
        (micros(T0), micros(T0), to_json(made())),
    )
    conn.commit()
    conn.close()
    with SQLiteLedger(path) as ledger:
        ledger.append(notified("E-2"))
        assert ledger.state("P-1").notifications[0].id == "E-2"
        assert [s.promise_id for s in ledger.states()] == ["P-1"]
        rows = ledger._db().execute("SELECT id, digest IS NULL FROM events ORDER BY seq")
        assert rows.fetchall() == [("E-1", 1), ("E-2", 0)]
        assert ledger._db().execute("SELECT value FROM meta").fetchone() == (SCHEMA,)
    with SQLiteLedger(path) as reopened:
        assert len(reopened) == 2


# --------------------------------------------------------------------------- streaming


def _store(path: Path, promises: int) -> SQLiteLedger:
    ledger = SQLiteLedger(path)
    ledger.append_many(
        event
        for index in range(promises)
        for event in (
            made(f"M-{index:06d}", f"P-{index:06d}"),
            notified(f"N-{index:06d}", f"P-{index:06d}", T0 + H),
        )
    )
    ledger.append(notified("orphan", "P-000000-orphan"))  # no promise-made event
    return ledger


def _work_before_first_state(ledger: SQLiteLedger, sql: str | None = None) -> tuple[int, int]:
    """SQLite virtual-machine steps (in tens) and documents decoded until the first
    state is out of ``states()`` — or until the first row of ``sql``."""
    steps = [0]
    conn = ledger._db()
    conn.set_progress_handler(lambda: steps.__setitem__(0, steps[0] + 1) or 0, 10)
    try:
        if sql is not None:
            conn.execute(sql).fetchone()
            return steps[0], 0
        decoded = [0]
        real = trusted_module.scan

        def counting(document: str, index: int) -> Any:
            decoded[0] += 1
            return real(document, index)

        trusted_module.scan = counting
        try:
            states = ledger.states()
            first = next(states)
            assert first.promise_id == "P-000000"
            states.close()
        finally:
            trusted_module.scan = real
        return steps[0], decoded[0]
    finally:
        conn.set_progress_handler(None, 0)


OLD_QUERY = (
    "SELECT promise_id, document FROM events WHERE promise_id IN "
    "(SELECT promise_id FROM events WHERE type = 'promise_made') ORDER BY promise_id"
)


def test_the_first_state_costs_the_same_in_a_store_ten_times_larger(tmp_path: Path) -> None:
    with _store(tmp_path / "small.db", 1_000) as small, _store(tmp_path / "big.db", 10_000) as big:
        small_steps, small_decoded = _work_before_first_state(small)
        big_steps, big_decoded = _work_before_first_state(big)
        # Only the first promise's rows are decoded, and SQLite does the same work.
        assert small_decoded == big_decoded == 2
        assert big_steps <= small_steps + 2
        # The measure sees the difference: the former subquery grew with the store.
        old_small = _work_before_first_state(small, OLD_QUERY)[0]
        old_big = _work_before_first_state(big, OLD_QUERY)[0]
        assert old_big >= 5 * max(old_small, 1)


def test_states_reads_the_index_in_order_without_sorting(ledger: SQLiteLedger) -> None:
    plan = ledger._db().execute(
        "EXPLAIN QUERY PLAN SELECT promise_id, type, at_us, document, digest FROM events "
        "INDEXED BY events_by_promise ORDER BY promise_id"
    )
    details = " ".join(str(row[-1]) for row in plan)
    assert "USING INDEX events_by_promise" in details
    assert "TEMP B-TREE" not in details


def test_states_at_an_instant_skips_promises_made_later_and_orphans(ledger: SQLiteLedger) -> None:
    ledger.append_many(
        [
            notified("N-0", "P-0"),
            made("M-1", "P-1"),
            notified("N-1", "P-1", T0 + 2 * H),
            made("M-2", "P-2", T0 + H),
        ]
    )
    assert [s.promise_id for s in ledger.states()] == ["P-1", "P-2"]
    assert [s.promise_id for s in ledger.states(T0)] == ["P-1"]
    assert next(ledger.states(T0 + H)).notifications == ()
    assert [len(s.events) for s in ledger.states(T0 + 3 * H)] == [2, 1]


def test_states_can_be_left_half_read(ledger: SQLiteLedger) -> None:
    ledger.append_many([made("M-1", "P-1"), made("M-2", "P-2")])
    states = ledger.states()
    next(states)
    states.close()
    ledger.append(made("M-3", "P-3"))
    assert len(list(ledger.states())) == 3


# --------------------------------------------------------------------------- columns


@settings(max_examples=200, deadline=None)
@given(value=aware_datetimes())
def test_micros_is_the_exact_microsecond_of_the_instant(value: datetime) -> None:
    delta = value.astimezone(UTC) - EPOCH
    assert micros(value) == (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def test_events_at_one_instant_replay_in_order_key_order(ledger: SQLiteLedger) -> None:
    cancelled = attrs.evolve(notified("A-cancel"), id="A-cancel")
    from promisekit.ledger import PromiseCancelled

    events: list[Event] = [
        PromiseCancelled(id="A-0", promise_id="P-1", at=T0, recorded_at=T0),
        notified("Z-9"),
        notified("B-1"),
        cancelled,
        made("M-1"),
    ]
    ledger.append_many(events)
    memory = PromiseLedger(events)
    (state,) = ledger.states()
    assert state == memory.state("P-1")
    assert [e.id for e in state.events] == [e.id for e in memory.state("P-1").events]
    assert state.events[0].id == "M-1" and state.events[-1].id == "A-0"


# --------------------------------------------------------------------------- digest versions


def _rewrite_digests(ledger: SQLiteLedger, digest: Any) -> None:
    conn = ledger._db()
    rows = conn.execute("SELECT id, type, at_us, document FROM events").fetchall()
    for event_id, event_type, at_us, document in rows:
        conn.execute(
            "UPDATE events SET digest = ? WHERE id = ?",
            (digest(event_type, at_us, document), event_id),
        )


def _digest_of_an_earlier_version(event_type: str, at_us: int, document: str) -> int:
    """A CRC-32 mixed with ``at_us`` another way, as development versions wrote it."""
    seed = zlib.crc32(event_type.encode(), zlib.crc32(b"an earlier version"))
    return zlib.crc32(document.encode(), seed ^ ((at_us ^ (at_us >> 32)) & 0xFFFFFFFF))


def test_rows_with_another_digest_are_validated_in_full(
    ledger: SQLiteLedger, monkeypatch: pytest.MonkeyPatch
) -> None:
    ledger.append_many([made(), notified("E-2", at=T0 + H)])
    before = everything(ledger, None)
    _rewrite_digests(ledger, _digest_of_an_earlier_version)
    validated: list[str] = []
    real = rows_module.from_json

    def counting(text: Any, cls: Any) -> Any:
        validated.append(text)
        return real(text, cls)

    monkeypatch.setattr(rows_module, "from_json", counting)
    assert everything(ledger, None) == before
    assert validated


@settings(max_examples=200, deadline=None)
@given(
    at_us=st.integers(-(2**62), 2**62),
    other=st.integers(-(2**62), 2**62),
    event_type=st.sampled_from(sorted(rows_module._TYPE_SEEDS)),
    other_type=st.sampled_from(sorted(rows_module._TYPE_SEEDS)),
    document=st.text(max_size=50),
)
def test_the_digest_changes_with_the_instant_and_the_type(
    at_us: int, other: int, event_type: str, other_type: str, document: str
) -> None:
    digest = rows_module.digest(event_type, at_us, document)
    assert digest is not None
    assert rows_module.matches(event_type, at_us, document, digest)
    if other != at_us:
        assert not rows_module.matches(event_type, other, document, digest)
        assert rows_module.digest(event_type, other, document) != digest
    if other_type != event_type:
        assert rows_module.digest(other_type, at_us, document) != digest
    assert rows_module.digest("no_such_type", at_us, document) is None
    assert not rows_module.matches(event_type, at_us, document, None)


# Wall times at the edges of a zone's changes: a skipped whole day (Pacific/Apia
# 2011-12-30, Pacific/Kwajalein 1993-08-21), a half-hour change (Australia/Lord_Howe),
# the hour skipped and the hour repeated (America/Toronto), each with fold 0 and 1.
EDGE_TIMES = [
    ("Pacific/Apia", datetime(2011, 12, 30, 12, 0)),
    ("Pacific/Apia", datetime(2011, 12, 29, 23, 59, 59, 999_999)),
    ("Pacific/Apia", datetime(2011, 12, 31, 0, 0)),
    ("Pacific/Kwajalein", datetime(1993, 8, 21, 9, 30)),
    ("Australia/Lord_Howe", datetime(2026, 10, 4, 2, 15)),
    ("Australia/Lord_Howe", datetime(2026, 4, 5, 1, 45)),
    ("America/Toronto", datetime(2026, 3, 8, 2, 30)),
    ("America/Toronto", datetime(2026, 11, 1, 1, 30)),
]


@pytest.mark.parametrize("fold", [0, 1])
@pytest.mark.parametrize(("zone", "wall"), EDGE_TIMES)
def test_the_trusted_reader_keeps_wall_times_at_a_zones_changes(
    zone: str, wall: datetime, fold: int
) -> None:
    from zoneinfo import ZoneInfo

    from promisekit.serialize import from_json

    value = wall.replace(tzinfo=ZoneInfo(zone), fold=fold)
    event = made(at=value)
    text = to_json(event)
    checked = from_json(text, PromiseMade)
    fast = trusted_module.trusted_event(text)
    alone = trusted_module.read_datetime(trusted_module.write_datetime(value))
    assert fast is not None
    for got in (fast.at, fast.recorded_at, alone):
        assert got.replace(tzinfo=None) == checked.at.replace(tzinfo=None) == wall
        assert (got.tzinfo, got.fold, got.utcoffset()) == (
            checked.at.tzinfo,
            checked.at.fold,
            checked.at.utcoffset(),
        )
    assert repr(fast) == repr(checked)
