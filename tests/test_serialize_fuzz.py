"""Fuzz: malformed JSON, CSV and event documents raise only PromiseKitError subclasses,
and never leave a partial write in the SQLite store."""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from promisekit.calendar import BusinessCalendar
from promisekit.delivery import Outcome
from promisekit.errors import PromiseKitError
from promisekit.io import load_csv, load_jsonl, write_csv
from promisekit.ledger import Event, PromiseMade, PromiseState, replay
from promisekit.promise import Promise
from promisekit.serialize import from_dict, from_json, to_dict, to_json
from promisekit.store import SQLiteLedger
from promisekit.testing.events import event_histories, events

FUZZ = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
TARGETS: tuple[type[Any], ...] = (
    Event,
    PromiseMade,
    Promise,
    Outcome,
    PromiseState,
    BusinessCalendar,
)
T0 = datetime(2026, 3, 10, 9, 0, tzinfo=timezone.utc)

# Values that break things: huge numbers, NaN-ish text, naive datetimes, unknown enums…
NASTY = st.sampled_from(
    [
        10**400,
        -(10**30),
        1e308,
        -0.0,
        "1e999999",
        "NaN",
        "Infinity",
        "2026-03-10T09:00:00",
        "2026-03-10T09:00:00+99:00",
        "2026-02-30T09:00:00Z",
        "2026-03-08T02:30:00-04:00[America/Toronto]",
        "2026-03-10T09:00Z[Not/AZone]",
        "P99999999999D",
        "promise_forgotten",
        "forgotten",
        "\ud800",
        "",
        " ",
        True,
        None,
        [],
        {},
        {"type": "promise_made"},
        [{"type": "nope"}],
    ]
)
JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
    | NASTY,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)


def only_promisekit_errors(call: Callable[[], Any]) -> Any:
    """Run ``call``; any exception other than a PromiseKitError fails the test."""
    try:
        return call()
    except PromiseKitError:
        return None


def _paths(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield path
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _paths(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _paths(item, (*path, index))


def _mutate(document: Any, path: tuple[Any, ...], action: str, new: Any) -> Any:
    if not path:
        return new
    parent = document
    for step in path[:-1]:
        parent = parent[step]
    last = path[-1]
    if action == "delete" and isinstance(parent, dict):
        del parent[last]
    elif action == "add" and isinstance(parent, dict):
        parent[f"x_{last}"] = new
    else:
        parent[last] = new
    return document


@st.composite
def mutated_documents(draw: st.DrawFn) -> Any:
    history = draw(event_histories(max_events=4))
    source = draw(
        st.sampled_from(
            [
                to_dict(history[-1]),
                to_dict(replay(history[0].promise_id, history)),
                to_dict(history[0].promise),  # type: ignore[attr-defined]
                to_dict(BusinessCalendar("America/Toronto", holidays=[T0.date()])),
            ]
        )
    )
    document = json.loads(json.dumps(source))
    for _ in range(draw(st.integers(1, 3))):
        paths = list(_paths(document))
        path = draw(st.sampled_from(paths))
        action = draw(st.sampled_from(["replace", "delete", "add"]))
        document = _mutate(document, path, action, draw(JSON_VALUES))
    return document


@FUZZ
@given(mutated_documents())
def test_mutated_documents_raise_only_promisekit_errors(document: Any) -> None:
    for target in TARGETS:
        only_promisekit_errors(lambda target=target: from_dict(document, target))
        only_promisekit_errors(lambda target=target: from_dict(document, target, unknown="keep"))
    try:
        text = json.dumps(document, ensure_ascii=False)
    except (ValueError, UnicodeEncodeError):  # pragma: no cover - JSON_VALUES are JSON-ready
        return
    only_promisekit_errors(lambda: from_json(text, Event))
    only_promisekit_errors(lambda: load_jsonl(io.StringIO(text + "\n")))


@st.composite
def broken_bytes(draw: st.DrawFn) -> bytes:
    event = draw(events())
    raw = to_json(event).encode("utf-8")
    kind = draw(st.sampled_from(["truncate", "flip", "insert", "invalid-utf8"]))
    if kind == "truncate":
        return raw[: draw(st.integers(0, len(raw) - 1))]
    position = draw(st.integers(0, len(raw) - 1))
    if kind == "flip":
        return (
            raw[:position]
            + bytes([raw[position] ^ draw(st.integers(1, 255))])
            + raw[position + 1 :]
        )
    if kind == "insert":
        return raw[:position] + draw(st.binary(min_size=1, max_size=8)) + raw[position:]
    return (
        raw[:position] + draw(st.sampled_from([b"\xff", b"\xc3", b"\xed\xa0\x80"])) + raw[position:]
    )


@FUZZ
@given(broken_bytes())
def test_broken_json_bytes_raise_only_promisekit_errors(raw: bytes) -> None:
    for target in TARGETS:
        only_promisekit_errors(lambda target=target: from_json(raw, target))
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    if text is not None:
        only_promisekit_errors(lambda: from_json(text, Event))
    only_promisekit_errors(lambda: load_jsonl(io.BytesIO(raw + b"\n")))


@st.composite
def broken_csv(draw: st.DrawFn) -> bytes:
    history = draw(event_histories(max_events=4))
    out = io.StringIO()
    write_csv(history, out)
    raw = out.getvalue().encode("utf-8")
    for _ in range(draw(st.integers(1, 4))):
        position = draw(st.integers(0, len(raw)))
        kind = draw(st.sampled_from(["truncate", "insert", "delete"]))
        if kind == "truncate":
            raw = raw[:position]
        elif kind == "insert":
            chunk = draw(
                st.sampled_from([b'"', b",", b"\n", b"\r", b"\xff", b"nan", b"=1+1", b"\x00"])
                | st.binary(max_size=6)
            )
            raw = raw[:position] + chunk + raw[position:]
        else:
            raw = raw[:position] + raw[position + draw(st.integers(1, 10)) :]
    return raw


@FUZZ
@given(broken_csv(), st.sampled_from([None, "America/Toronto"]), st.booleans())
def test_broken_csv_raises_only_promisekit_errors(
    raw: bytes, tz: str | None, unescape: bool
) -> None:
    result = only_promisekit_errors(
        lambda: load_csv(io.BytesIO(raw), tz=tz, unescape_formulas=unescape)
    )
    if result is not None:
        # Nothing is dropped silently: every row is a record or has an error.
        assert result.rows == len(result.records) + len(result.bad_lines)


@pytest.fixture(scope="module")
def shared_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SQLiteLedger]:
    path: Path = tmp_path_factory.mktemp("fuzz") / "ledger.db"
    with SQLiteLedger(path) as ledger:
        yield ledger


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    batch=st.lists(mutated_documents(), min_size=1, max_size=4), good=event_histories(max_events=3)
)
def test_the_store_gets_all_of_a_batch_or_nothing(
    shared_store: SQLiteLedger, batch: list[Any], good: list[Event]
) -> None:
    before = len(shared_store)
    decoded: list[Event] = []
    failed = False
    for document in batch:
        event = only_promisekit_errors(lambda document=document: from_dict(document, Event))
        if event is None:
            failed = True
        else:
            decoded.append(event)
    assume(decoded or failed)
    # A batch mixing good events with a bad item or a conflicting id is refused whole.
    poison: list[Any] = [*good, *decoded, object() if failed else _conflicting(good[0])]
    assert only_promisekit_errors(lambda: shared_store.append_many(poison)) is None
    assert len(shared_store) == before
    assert shared_store.integrity_check() == "ok"


def _conflicting(event: Event) -> Event:
    return attrs.evolve(event, recorded_at=event.recorded_at + timedelta(microseconds=1))
