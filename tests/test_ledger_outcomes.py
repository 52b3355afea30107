"""Escalation outcome events: EscalationFired's new fields, ActionDelivered, EscalationFailed."""

from __future__ import annotations

import copy
import json
import math
import pickle
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from promisekit.errors import (
    InconsistentRecordError,
    InvalidTypeError,
    InvalidValueError,
    NaiveDatetimeError,
    PromiseKitError,
)
from promisekit.ledger import (
    EVENT_TYPES,
    ActionDelivered,
    CustomerNotified,
    EscalationFailed,
    EscalationFired,
    Event,
    PromiseCancelled,
    PromiseLedger,
    PromiseMade,
    replay,
)
from promisekit.serialize import event_json_schema, from_dict, from_json, to_dict, to_json
from promisekit.store import SQLiteLedger
from promisekit.testing.strategies import aware_datetimes

UTC = timezone.utc
T0 = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
M = timedelta(minutes=1)


def made(at: datetime = T0) -> PromiseMade:
    return PromiseMade(
        id="E-0",
        promise_id="P-1",
        at=at,
        recorded_at=at,
        customer_id="C-1",
        kind="callback",
        due=at + timedelta(hours=1),
    )


def common(event_id: str, at: datetime = T0) -> dict[str, Any]:
    return {"id": event_id, "promise_id": "P-1", "at": at, "recorded_at": at}


def fired(event_id: str = "E-1", at: datetime = T0, **overrides: Any) -> EscalationFired:
    fields: dict[str, Any] = {
        **common(event_id, at),
        "rule": "overdue",
        "action": "notify_owner",
        "level": 1,
        "revision": 0,
    }
    fields.update(overrides)
    return EscalationFired(**fields)


def delivered(event_id: str = "E-2", at: datetime = T0, **overrides: Any) -> ActionDelivered:
    return ActionDelivered(**{**common(event_id, at), "key": "k-1", "attempt": 1, **overrides})


def failed(event_id: str = "E-3", at: datetime = T0, **overrides: Any) -> EscalationFailed:
    fields = {**common(event_id, at), "error": "P-1/overdue: sink timed out", "attempt": 1}
    return EscalationFailed(**{**fields, **overrides})


# --------------------------------------------------------------------------- the events


def test_new_event_types_are_registered() -> None:
    assert EVENT_TYPES["action_delivered"] is ActionDelivered
    assert EVENT_TYPES["escalation_failed"] is EscalationFailed


def test_escalation_fired_defaults_keep_old_documents_valid() -> None:
    event = fired()
    assert (event.occurrence, event.key, event.document) == (1, None, None)
    assert not {"occurrence", "key", "document"} & set(to_dict(event))
    old = (
        '{"schema":"promisekit/1","type":"escalation_fired","id":"E-1","promise_id":"P-1",'
        '"at":"2026-03-10T09:00:00+00:00","recorded_at":"2026-03-10T09:00:00+00:00",'
        '"rule":"overdue","action":"notify_owner","level":1,"revision":0}'
    )
    assert from_json(old, Event) == event
    assert to_json(event) == old


def test_escalation_failed_fields() -> None:
    event = failed(rule="overdue", action="notify_owner", key="k-1", retry_at=T0 + M)
    assert event.event_type == "escalation_failed"
    assert event.retry_at == T0 + M
    assert failed().rule is None and failed().retry_at is None


@pytest.mark.parametrize(
    ("build", "field", "value", "error"),
    [
        (fired, "occurrence", 0, InvalidValueError),
        (fired, "occurrence", True, InvalidTypeError),
        (fired, "occurrence", 1.0, InvalidTypeError),
        (fired, "key", " ", InvalidValueError),
        (fired, "key", 3, InvalidTypeError),
        (delivered, "key", "", InvalidValueError),
        (delivered, "attempt", 0, InvalidValueError),
        (delivered, "attempt", "1", InvalidTypeError),
        (failed, "error", "", InvalidValueError),
        (failed, "attempt", -1, InvalidValueError),
        (failed, "rule", "", InvalidValueError),
        (failed, "retry_at", datetime(2026, 3, 10, 9, 0), NaiveDatetimeError),
    ],
)
def test_bad_fields_are_refused_naming_the_field(
    build: Any, field: str, value: object, error: type[PromiseKitError]
) -> None:
    with pytest.raises(error, match=f"'{field}'"):
        build(**{field: value})


def test_escalation_failed_needs_error_and_attempt() -> None:
    with pytest.raises(TypeError):
        EscalationFailed(**common("E-1"), attempt=1)  # type: ignore[call-arg]


# --------------------------------------------------------------------------- documents


@pytest.mark.parametrize(
    ("document", "error", "words"),
    [
        ([1, 2], InvalidTypeError, "'document' must be a JSON object"),
        ("{}", InvalidTypeError, "'document' must be a JSON object"),
        ({1: "a"}, InvalidTypeError, "must have string keys (got int 1)"),
        ({"a": {1, 2}}, InvalidTypeError, "'document' at ['a'] must hold only JSON values"),
        ({"a": Decimal("1.5")}, InvalidTypeError, "(got Decimal"),
        ({"a": T0}, InvalidTypeError, "(got datetime"),
        ({"a": [1, math.nan]}, InvalidValueError, "'document' at ['a'][1] must be a finite"),
        ({"a": math.inf}, InvalidValueError, "must be a finite number"),
        ({"a": "\ud800"}, InvalidValueError, "lone surrogate"),
        ({"\udfff": 1}, InvalidValueError, "lone surrogate"),
        ({"a": b"x"}, InvalidTypeError, "(got bytes"),
    ],
)
def test_documents_must_be_json(document: Any, error: type[PromiseKitError], words: str) -> None:
    with pytest.raises(error, match="'document'") as info:
        fired(document=document)
    assert words in str(info.value)


def _nested(depth: int) -> dict[str, Any]:
    document: dict[str, Any] = {}
    for _ in range(depth - 1):
        document = {"x": document}
    return document


def test_document_depth_is_bounded() -> None:
    assert fired(document=_nested(32)).document == _nested(32)
    with pytest.raises(InvalidValueError, match=r"'document' .* nests deeper than 32"):
        fired(document=_nested(33))
    with pytest.raises(InvalidValueError, match="nests deeper than 32"):
        fired(document={"a": [], "deep": [_nested(31)]})


def test_document_is_a_read_only_copy() -> None:
    source: dict[str, Any] = {"to": "owner", "tags": ["late"], "meta": {"n": 1}}
    event = fired(document=source)
    source["to"] = "someone else"
    source["tags"].append("changed")
    assert event.document == {"to": "owner", "tags": ["late"], "meta": {"n": 1}}
    document = event.document
    assert document is not None
    with pytest.raises(InvalidTypeError, match="read-only"):
        document["to"] = "x"  # type: ignore[index]
    with pytest.raises(TypeError, match="read-only"):
        document["tags"].append("x")
    with pytest.raises(PromiseKitError, match="read-only"):
        document["meta"].update(n=2)
    with pytest.raises(TypeError):
        document.clear()  # type: ignore[attr-defined]
    with pytest.raises(TypeError):
        document["tags"].sort()
    with pytest.raises(TypeError):
        document |= {"a": 1}  # type: ignore[operator]
    assert event.document == {"to": "owner", "tags": ["late"], "meta": {"n": 1}}
    copied = copy.deepcopy(document)
    assert copied == document
    plain = json.loads(json.dumps(document))
    plain["to"] = "fine"
    assert json.loads(json.dumps(document)) == {"to": "owner", "tags": ["late"], "meta": {"n": 1}}


def test_documents_take_part_in_equality_not_in_the_hash() -> None:
    one = fired(document={"a": 1})
    assert one == fired(document={"a": 1})
    assert one != fired(document={"a": 2})
    assert one != fired()
    assert hash(one) == hash(fired(document={"a": 2}))
    assert len({one, fired(document={"a": 1})}) == 1
    assert pickle.loads(pickle.dumps(one)) == one
    assert copy.deepcopy(one) == one


# --------------------------------------------------------------------------- JSON round trip

_JSON_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8)
)
_JSON_VALUES = st.recursive(
    _JSON_SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=12,
)
_DOCUMENTS = st.dictionaries(st.text(max_size=5), _JSON_VALUES, max_size=4)
_NAMES = st.text(alphabet="abcdefgh-_/ ", min_size=1, max_size=10).filter(str.strip)


@st.composite
def outcome_events(draw: st.DrawFn) -> Event:
    at = draw(aware_datetimes())
    base = {
        "id": draw(_NAMES),
        "promise_id": draw(_NAMES),
        "at": at,
        "recorded_at": draw(aware_datetimes()),
    }
    kind = draw(st.sampled_from(["fired", "delivered", "failed"]))
    if kind == "fired":
        return EscalationFired(
            **base,
            rule=draw(_NAMES),
            action=draw(_NAMES),
            level=draw(st.integers(0, 5)),
            revision=draw(st.integers(0, 5)),
            occurrence=draw(st.integers(1, 5)),
            key=draw(st.none() | _NAMES),
            document=draw(st.none() | _DOCUMENTS),
        )
    if kind == "delivered":
        return ActionDelivered(**base, key=draw(_NAMES), attempt=draw(st.integers(1, 9)))
    return EscalationFailed(
        **base,
        rule=draw(st.none() | _NAMES),
        action=draw(st.none() | _NAMES),
        key=draw(st.none() | _NAMES),
        error=draw(_NAMES),
        attempt=draw(st.integers(1, 9)),
        retry_at=draw(st.none() | aware_datetimes()),
    )


def _same_json(a: Any, b: Any) -> bool:
    """Equal as JSON: types matter (True is not 1, 1 is not 1.0, -0.0 is not 0.0)."""
    if isinstance(a, dict):
        return (
            isinstance(b, dict) and a.keys() == b.keys() and all(_same_json(a[k], b[k]) for k in a)
        )
    if isinstance(a, list):
        return (
            isinstance(b, list)
            and len(a) == len(b)
            and all(_same_json(x, y) for x, y in zip(a, b, strict=True))
        )
    if isinstance(a, float):
        return isinstance(b, float) and a == b and math.copysign(1, a) == math.copysign(1, b)
    return type(a) is type(b) and bool(a == b)


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(outcome_events())
def test_outcome_events_round_trip_through_json(event: Event) -> None:
    text = to_json(event)
    back = from_json(text, Event)
    assert back == event
    assert type(back) is type(event)
    assert to_json(back) == text
    if isinstance(event, EscalationFired) and event.document is not None:
        assert isinstance(back, EscalationFired)
        assert _same_json(back.document, event.document)
        assert json.dumps(back.document) == json.dumps(event.document)


@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow])
@given(outcome_events())
def test_outcome_documents_follow_the_schema(event: Event) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    jsonschema.Draft202012Validator(event_json_schema()).validate(to_dict(event))


def test_schema_describes_the_new_fields() -> None:
    defs = event_json_schema()["$defs"]
    fired_props = defs["escalation_fired"]["properties"]
    assert fired_props["occurrence"] == {"type": "integer", "minimum": 1}
    assert fired_props["document"]["anyOf"][0]["type"] == "object"
    assert defs["action_delivered"]["required"] == [
        "schema",
        "type",
        "id",
        "promise_id",
        "at",
        "recorded_at",
        "key",
        "attempt",
    ]
    assert "error" in defs["escalation_failed"]["required"]


@pytest.mark.parametrize(
    ("document", "words"),
    [
        ([1], "$.document: 'document': expected a JSON object (got an array)"),
        ({"a": _nested(33)}, "nests deeper than 32"),
    ],
)
def test_reading_a_bad_document_names_the_field(document: Any, words: str) -> None:
    data = {**to_dict(fired()), "document": document}
    with pytest.raises(PromiseKitError) as info:
        from_dict(data, Event)
    assert words in str(info.value)


# --------------------------------------------------------------------------- replay


def test_replay_lists_deliveries_and_failures_in_order_and_changes_nothing_else() -> None:
    base = [made(), CustomerNotified(**common("E-9", T0 + M))]
    outcomes = [
        fired("E-1", T0 + 2 * M, key="k-1", document={"to": "owner"}),
        failed("E-2", T0 + 3 * M, key="k-1", retry_at=T0 + 4 * M),
        delivered("E-3", T0 + 5 * M, attempt=2),
        failed("E-4", T0 + 6 * M, rule="silence"),
    ]
    without = replay("P-1", base)
    state = replay("P-1", [*base, *reversed(outcomes)])
    assert state.escalations == (outcomes[0],)
    assert state.failures == (outcomes[1], outcomes[3])
    assert state.action_deliveries == (outcomes[2],)
    assert state.ignored == ()
    skip = {"events", "escalations", "failures", "action_deliveries"}
    for field in attrs.fields(type(state)):
        if field.name not in skip:
            assert getattr(state, field.name) == getattr(without, field.name), field.name


def test_outcomes_before_the_promise_was_made_are_ignored_and_after_cancellation_kept() -> None:
    early = [delivered("E-1", T0 - M), failed("E-2", T0 - M)]
    cancelled = PromiseCancelled(**common("E-5", T0 + M))
    late = [delivered("E-6", T0 + 2 * M), failed("E-7", T0 + 2 * M)]
    state = replay("P-1", [made(), *early, cancelled, *late])
    assert [i.event for i in state.ignored] == early
    assert all("before the promise was made" in i.reason for i in state.ignored)
    assert state.action_deliveries == (late[0],)
    assert state.failures == (late[1],)


# --------------------------------------------------------------------------- both ledgers


@pytest.fixture(params=["memory", "sqlite"])
def ledger(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    if request.param == "memory":
        yield PromiseLedger()
    else:
        with SQLiteLedger(tmp_path / "ledger.db") as store:
            yield store


def test_ledgers_store_documents_exactly(ledger: Any) -> None:
    event = fired(document={"n": 1, "f": 1.0, "b": True, "list": [None, "x"]})
    assert ledger.append(event)
    assert not ledger.append(fired(document={"list": [None, "x"], "b": True, "f": 1.0, "n": 1}))
    stored = ledger.get("E-1")
    assert stored == event
    assert _same_json(stored.document, event.document)


@pytest.mark.parametrize(
    "other", [{"n": True}, {"n": 1.0}, {"n": "1"}, {"n": [1]}, {"n": 1, "m": None}]
)
def test_a_document_differing_only_in_json_type_is_a_conflict(ledger: Any, other: Any) -> None:
    ledger.append(fired(document={"n": 1}))
    with pytest.raises(InconsistentRecordError, match="'document'"):
        ledger.append(fired(document=other))


def test_outcome_events_round_trip_through_csv_and_json_lines(tmp_path: Path) -> None:
    from promisekit.io import load_csv, load_jsonl, write_csv

    events = [
        fired(key="k-1", occurrence=2, document={"text": "=1+1", "n": [1, 2.5, None], "ok": True}),
        delivered(attempt=3),
        failed(rule="overdue", key="k-1", retry_at=T0 + M),
    ]
    write_csv(events, tmp_path / "events.csv")
    loaded = load_csv(tmp_path / "events.csv", unescape_formulas=True)
    assert loaded.errors == ()
    assert list(loaded.records) == events
    back = loaded.records[0]
    assert isinstance(back, EscalationFired) and back.document is not None
    assert _same_json(back.document, events[0].document)
    rows = [{"type": e.event_type, **to_dict(e)} for e in events]
    for row in rows:
        del row["schema"]  # a plain row, read through the column mapping
    (tmp_path / "events.jsonl").write_text(
        "".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8"
    )
    from_lines = load_jsonl(tmp_path / "events.jsonl")
    assert from_lines.errors == ()
    assert list(from_lines.records) == events
    first = from_lines.records[0]
    assert isinstance(first, EscalationFired) and first.document is not None
    assert _same_json(first.document, events[0].document)
