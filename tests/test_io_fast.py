"""The CSV event reader's plan (promisekit._io_fast) against the general row builder.

Every row is read twice: as the reader reads it (the plan first, the general builder
when the plan declines), and by the general builder alone. Events must be the same
(same class, same field values with the same types, zones and folds), errors the same
(line, field, message, column), in the same order.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any
from unittest import mock
from zoneinfo import ZoneInfo

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from promisekit import _io_fast
from promisekit._io_csv import _csv_rows
from promisekit._io_jsonl import _jsonl_rows
from promisekit._io_rows import RowError, _hints, _required, _RowBuilder
from promisekit.io import CSV_COLUMNS, ColumnMapping, load_csv
from promisekit.ledger import EVENT_TYPES, Event, PromiseMade

STAMPS = [
    "2026-03-01T10:00:00-03:00",
    "2026-03-01T10:00:00Z",
    "2026-03-01t10:00:00z",
    "2026-03-01 10:00",
    "2026-03-01T10:00:00.5+00:00",
    "2026-03-01T10:00:00,123456-0330",
    "2026-03-01T10:00:00+05",
    "2026-03-01T10:00:00+05:30:15",
    "2026-04-01T00:00:00-03:00",
    "2026-03-01T10:00:00[America/Toronto]",
    "2026-03-01T10:00:00-05:00[America/Toronto]",
    "2026-03-01T10:00:00-04:00[America/Toronto]",
    "2026-11-01T01:30:00[America/Toronto]",
    "2026-11-01T01:30:00-04:00[America/Toronto]",
    "2026-03-08T02:30:00[America/Toronto]",
    "2026-03-01T10:00:00[Nowhere/Land]",
    "2026-03-01T10:00:00",
    "9999-12-31T23:30:00-01:00",
    "0001-01-01T00:30:00+01:00",
    "2026-02-30T00:00:00Z",
    "2026-03-01T25:00:00Z",
    "2026-03-01T10:00:00+24:00",
    "yesterday",
    "'2026-03-01T10:00:00Z",
    "",
]
TEXTS = ["a", "P-1", "", " ", "=cmd", "'=cmd", "'", "'x", "Zoë", "bad\udcff", "x,y", 'q"q']
NUMBERS = ["1", "0.5", "-1", "1e400", "nan", "abc", "", "99999999999999999999", "+2", ".5"]
JSON_CELLS = ["", '{"a": "b"}', '{"a": 1}', "{bad", '{"a": "b", "a": "c"}', "[1]"]
TERMS_JSON = ["", '{"quantity": 2}', '{"unit": "kg", "quantity": -1}', '{"nope": 1}']
KINDS = [*EVENT_TYPES, "", "bogus", "'promise_made", "Promise_made", "promise_made\udcff"]


GOOD: dict[str, list[str]] = {
    "at": STAMPS[:8],
    "recorded_at": STAMPS[:14],
    "due": [
        "2026-04-01T00:00:00-03:00",
        "2026-05-01T09:00:00[America/Toronto]",
        "2026-02-01 10:00",
    ],
    "target": ["2026-03-20T00:00:00Z", "2026-03-21 12:00"],
    "retry_at": STAMPS[8:14],
    "terms": ["", '{"quantity": 2}', '{"max_cost": "5", "currency": "EUR"}'],
    "terms.quantity": ["1", "2.5", "+2", ".5"],
    "terms.unit": ["kg", "'=u"],
    "terms.quality": ["0.5", "-1"],
    "terms.max_cost": ["3", "0.10", "1e2"],
    "terms.currency": ["EUR"],
    "metadata": ["", '{"a": "b"}', '{"source": "x"}'],
    "document": ["", '{"a": 1, "b": [1.5, "x"]}'],
    "level": ["0", "3"],
    "revision": ["0", "2"],
}


def _good(field: str) -> list[str]:
    if field == "type":
        return list(EVENT_TYPES)
    if field in GOOD:
        return GOOD[field]
    if _pool(field) is NUMBERS:
        return ["1", "0.5", "+2", ".5", "3", "-1"]
    return ["a", "P-1", "Zoë", "=cmd", "'=cmd", "'x", "x,y", "''", " "]


def _pool(column: str) -> list[str]:
    if column == "type":
        return KINDS
    if column in ("at", "recorded_at", "due", "target", "retry_at"):
        return STAMPS
    if column in ("quantity", "quality", "cost", "level", "revision", "occurrence", "attempt"):
        return NUMBERS
    if column.startswith("terms."):
        return NUMBERS + TEXTS[:4]
    if column in ("metadata", "document"):
        return JSON_CELLS
    if column == "terms":
        return TERMS_JSON
    return TEXTS


REQUIRED = ("type", "id", "promise_id", "at", "recorded_at")
COLUMNS = [*CSV_COLUMNS, "metadata.source", "terms"]
MAPPINGS = [
    ColumnMapping(),
    ColumnMapping(constants={"kind": "order"}),
    ColumnMapping(constants={"type": "delivery_recorded"}),
    ColumnMapping(constants={"type": "'promise_made", "note": "=sum"}),
    ColumnMapping(constants={"segment": " ", "owner": "ops"}),  # one the event refuses
    ColumnMapping(columns={"promise_id": "Ticket", "customer_id": "Ticket"}),
    ColumnMapping(columns={"note": "Text", "reason": "Text", "message": "Text"}),
    ColumnMapping(columns={"at": "When"}, ignore=("extra",)),
]


@st.composite
def sources(draw: st.DrawFn) -> tuple[ColumnMapping, list[str], list[list[str]]]:
    mapping = draw(st.sampled_from(MAPPINGS))
    renamed = set(mapping.columns)
    columns = [c for c in COLUMNS if c not in renamed]  # (a constant overrides its column)
    columns += sorted(set(mapping.columns.values())) + list(mapping.ignore)
    header = draw(st.lists(st.sampled_from(columns), unique=True, min_size=1, max_size=14))
    fields = {column: field for field, column in mapping.columns.items()}
    focus = draw(st.sampled_from(list(EVENT_TYPES)))
    if draw(st.integers(0, 3)):  # mostly: the columns an event type needs, first
        hints = _hints(EVENT_TYPES[focus])
        wanted = set(REQUIRED) | set(_required(EVENT_TYPES[focus]))
        if draw(st.booleans()):
            wanted |= {f for c in columns if (f := fields.get(c, c)).partition(".")[0] in hints}
        first = [c for c in columns if fields.get(c, c) in wanted]
        header = first + [c for c in header if c not in first]
    anything = st.tuples(*(st.sampled_from(_pool(fields.get(c, c))) for c in header)).map(list)
    good = _likely_good(mapping, header, focus)
    rows = draw(st.lists(st.one_of(anything, good, good), max_size=8))
    return mapping, header, rows


def _likely_good(
    mapping: ColumnMapping, header: list[str], focus: str
) -> st.SearchStrategy[list[str]]:
    """Rows of one event type with its fields filled (mostly good), others empty."""
    fields = {column: field for field, column in mapping.columns.items()}

    @st.composite
    def rows(draw: st.DrawFn) -> list[str]:
        kind = draw(st.sampled_from([focus, focus, *EVENT_TYPES]))
        kind = mapping.constants.get("type", kind).lstrip("'")
        hints = _hints(EVENT_TYPES[kind])
        required = set(_required(EVENT_TYPES[kind]))
        row = []
        for column in header:
            field = fields.get(column, column)
            if field == "type":
                row.append(kind)
            elif field.partition(".")[0] in hints:
                pool = _good(field)
                if field not in required and draw(st.booleans()):
                    pool = [""]
                row.append(draw(st.sampled_from(pool)))
            else:
                row.append("")
        if row and draw(st.integers(0, 9)) == 0:  # now and then, bad UTF-8 somewhere
            where = draw(st.integers(0, len(row) - 1))
            row[where] += "\udcff"
        return row

    return rows()


def _csv_text(header: list[str], rows: list[list[str]]) -> list[str]:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().splitlines(keepends=True)


def _exact(value: Any) -> Any:
    """A value with everything ``==`` overlooks: datetimes' zones and folds, types."""
    if isinstance(value, datetime):
        zone = value.tzinfo
        return ("dt", value.isoformat(), value.fold, type(zone), getattr(zone, "key", repr(zone)))
    if attrs.has(type(value)):
        names = [f.name for f in attrs.fields(type(value))]
        return (type(value), tuple(_exact(getattr(value, name)) for name in names))
    if isinstance(value, dict) or hasattr(value, "items"):
        return ("map", type(value), tuple((k, _exact(v)) for k, v in value.items()))
    if isinstance(value, (list, tuple)):
        return (type(value), tuple(_exact(v) for v in value))
    if isinstance(value, (Decimal, float)):
        return (type(value), repr(value))
    return (type(value), value)


def _outcome(items: Iterator[Event | RowError]) -> list[Any]:
    out: list[Any] = []
    try:
        for item in items:
            if isinstance(item, RowError):
                out.append(item)
            elif isinstance(item, PromiseMade):
                out.append((item, _exact(item), _exact(item.promise)))
            else:
                out.append((item, _exact(item)))
    except Exception as exc:  # a refused header, or anything else: the same, the same way
        out.append(("raised", type(exc), str(exc)))
    return out


def _both(
    mapping: ColumnMapping, lines: list[str], zone: Any, unescape: bool, from_at: bool
) -> tuple[list[Any], list[Any]]:
    def read() -> list[Any]:
        builder = _RowBuilder(mapping, zone, unescape, recorded_at_from_at=from_at)
        return _outcome(_csv_rows(iter(lines), builder))

    fast = read()
    with mock.patch.object(_io_fast._CsvPlan, "event", return_value=None):
        general = read()
    return fast, general


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    sources(),
    st.sampled_from([None, ZoneInfo("America/Toronto"), timezone.utc]),
    st.booleans(),
    st.booleans(),
)
def test_the_plan_reads_every_row_as_the_general_builder(
    source: tuple[ColumnMapping, list[str], list[list[str]]],
    zone: Any,
    unescape: bool,
    from_at: bool,
) -> None:
    mapping, header, rows = source
    fast, general = _both(mapping, _csv_text(header, rows), zone, unescape, from_at)
    assert fast == general


def _good_rows(count: int) -> list[str]:
    lines = ["type,id,promise_id,at,recorded_at,customer_id,kind,due,quantity,cost,note\n"]
    for i in range(count):
        at = f"2026-03-{1 + i % 28:02d}T{i % 24:02d}:{i % 60:02d}:00-03:00"
        due = f"2026-04-{1 + i % 28:02d}T00:00:00-03:00"
        lines.append(f"promise_made,m{i},o{i},{at},{at},c{i},order,{due},,,\n")
        lines.append(f"delivery_recorded,d{i},o{i},{due},,,,,{i % 5},{i}.50,n\n")
    return lines


def test_plain_rows_take_the_plan_and_match_the_general_builder() -> None:
    lines = _good_rows(60)
    calls: list[bool] = []
    original = _io_fast._CsvPlan.event

    def spy(self: _io_fast._CsvPlan, row: list[str], line: int) -> Any:
        result = original(self, row, line)
        calls.append(isinstance(result, Event))
        return result

    with mock.patch.object(_io_fast._CsvPlan, "event", spy):
        fast, general = _both(ColumnMapping(), lines, None, True, True)
    assert calls and all(calls)  # every row took the plan
    assert fast == general and len(fast) == 120


def test_timestamps_remembered_are_bounded_and_the_same() -> None:
    lines = _good_rows(10)
    with mock.patch.object(_io_fast, "_DATES_KEPT", 3):
        fast, general = _both(ColumnMapping(), lines, None, False, True)
    assert fast == general


def test_load_csv_errors_and_events_unchanged_by_the_plan() -> None:
    text = (
        "type,id,promise_id,at,recorded_at,customer_id,kind,due\n"
        "promise_made,m1,o1,2026-03-01T10:00:00Z,2026-03-01T10:00:00Z,c1,order,"
        "2026-02-01T00:00:00Z\n"
        "promise_made,m2,o2,2026-03-01T10:00:00Z,2026-03-01T10:00:00Z,c1,order,"
        "2026-04-01T00:00:00Z\n"
    )
    result = load_csv(io.StringIO(text))
    assert [error.line for error in result.errors] == [2]
    assert "'due' must not be before 'at'" in result.errors[0].reason
    assert [event.id for event in result.records] == ["m2"]


PM = "promise_made,m1,o1,2026-03-01T10:00:00-03:00,2026-03-01T10:00:00-03:00,c1,order"


@pytest.mark.parametrize(
    ("mapping", "text"),
    [
        (
            ColumnMapping(),
            "type,id,promise_id,at,recorded_at,customer_id,kind,due,metadata.source,metadata.b\n"
            f"{PM},2026-04-01T00:00:00Z,crm,x\n{PM},2026-04-01T00:00:00Z,,'=y\n",
        ),
        (
            ColumnMapping(),
            "type,id,promise_id,at,recorded_at,customer_id,kind,due,terms.quantity,terms.unit,"
            "terms.max_cost,terms.currency,terms.quality\n"
            f"{PM},2026-04-01T00:00:00Z,3,kg,25.00,EUR,0.5\n"
            f"{PM},2026-04-01T00:00:00Z,3,,,,\n{PM},2026-04-01T00:00:00Z,,kg,,,\n",
        ),
        (
            ColumnMapping(constants={"kind": "order", "type": "promise_made"}),
            "id,promise_id,at,recorded_at,customer_id,due\n"
            "m1,o1,2026-03-01 10:00,2026-03-01 10:00,c1,2026-03-02 10:00\n",
        ),
        (
            ColumnMapping(constants={"segment": " "}),
            "type,id,promise_id,at,customer_id,kind,due\n"
            "promise_made,m1,o1,2026-03-01 10:00,c,k,2026-03-02 10:00\n"
            "promise_made,m1,o1,2026-03-01 10:00,c,k,2026-02-02 10:00\n",
        ),
        (
            ColumnMapping(columns={"promise_id": "Ticket", "customer_id": "Ticket"}),
            "type,id,Ticket,at,recorded_at,kind,due\n"
            "promise_made,m1,T-1,2026-03-01 10:00,2026-03-01 10:00,order,2026-03-02 10:00\n"
            "promise_paused,p1,T-1,2026-03-01 11:00,2026-03-01 11:00,,\n",
        ),
        (
            ColumnMapping(columns={"note": "Text", "reason": "Text"}),
            "type,id,promise_id,at,recorded_at,Text,quantity,cost\n"
            "delivery_recorded,d1,o1,2026-03-01 10:00,,'=n,1.5,2.50\n"
            "promise_paused,p1,o1,2026-03-01 11:00,,why,,\n"
            "promise_resumed,r1,o1,2026-03-01 12:00,,why,,\n",
        ),
    ],
)
@pytest.mark.parametrize("unescape", [False, True])
def test_the_plan_on_examples(mapping: ColumnMapping, text: str, unescape: bool) -> None:
    lines = text.splitlines(keepends=True)
    zone = ZoneInfo("America/Toronto")
    calls: list[bool] = []
    original = _io_fast._CsvPlan.event

    def spy(self: _io_fast._CsvPlan, row: list[str], line: int) -> Any:
        result = original(self, row, line)
        calls.append(result is not None)
        return result

    with mock.patch.object(_io_fast._CsvPlan, "event", spy):
        fast, general = _both(mapping, lines, zone, unescape, True)
    assert fast == general
    assert any(calls)


# --------------------------------------------------------------------------- JSON Lines


def _json_pool(field: str) -> list[str]:
    """JSON texts for a field: its text forms as JSON strings, and other JSON values."""
    texts = [json.dumps(text) for text in _good(field) + _pool(field)]
    return [*texts, "1", "0.5", "-1", "1e400", "true", "null", "{}", '{"a": "b"}', "[1]", "7"]


def _json_good(field: str) -> list[str]:
    if field == "cost":
        return ["1", "0.5", '"3"', '" 3"', '"1e2"', "2"]
    if field.startswith("metadata."):
        return ['"crm"', '"=x"', "5"]
    if field in ("quantity", "quality", "level", "revision", "occurrence", "attempt"):
        return ["1", "0.5", "2", '"3"', "0"]
    if field.startswith("terms.") and field not in ("terms.unit", "terms.currency"):
        return ["1", "2.5", '"4"']
    if field in ("metadata", "terms", "document"):
        return ["null", '{"a": "b"}', '{"quantity": 2}']
    return [json.dumps(text) for text in _good(field)]


@st.composite
def json_sources(draw: st.DrawFn) -> tuple[ColumnMapping, list[str]]:
    mapping, header, _ = draw(sources())
    fields = {column: field for field, column in mapping.columns.items()}
    lines = []
    present = {fields.get(column, column) for column in header}
    complete = [k for k, cls in EVENT_TYPES.items() if present.issuperset(_required(cls))]
    for _ in range(draw(st.integers(0, 6))):
        kind = draw(st.sampled_from(complete or list(EVENT_TYPES)))
        hints = _hints(EVENT_TYPES[kind])
        good = draw(st.booleans())
        pairs = []
        for column in header:
            field = fields.get(column, column)
            if field == "type" and good:
                pairs.append((column, json.dumps(kind)))
            elif good and field.partition(".")[0] not in hints:
                continue
            elif good:
                pairs.append((column, draw(st.sampled_from(_json_good(field)))))
            elif draw(st.booleans()):
                pairs.append((column, draw(st.sampled_from(_json_pool(field)))))
        if pairs and draw(st.integers(0, 9)) == 0:
            pairs.append(draw(st.sampled_from([*pairs, ("bogus", "1")])))  # repeated, unknown
        if pairs and draw(st.integers(0, 9)) == 0:  # bad UTF-8 in a value
            where = draw(st.integers(0, len(pairs) - 1))
            pairs[where] = (pairs[where][0], '"x\\udcff"')
        lines.append("{" + ", ".join(f"{json.dumps(key)}: {value}" for key, value in pairs) + "}\n")
    return mapping, lines


def _both_jsonl(
    mapping: ColumnMapping, lines: list[str], zone: Any, from_at: bool
) -> tuple[list[Any], list[Any]]:
    def read() -> list[Any]:
        builder = _RowBuilder(mapping, zone, False, recorded_at_from_at=from_at)
        return _outcome(_jsonl_rows(iter(lines), builder))

    fast = read()
    with mock.patch.object(_io_fast._JsonPlan, "event", return_value=None):
        general = read()
    return fast, general


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    json_sources(),
    st.sampled_from([None, ZoneInfo("America/Toronto"), timezone.utc]),
    st.booleans(),
)
def test_the_json_plan_reads_every_row_as_the_general_builder(
    source: tuple[ColumnMapping, list[str]], zone: Any, from_at: bool
) -> None:
    mapping, lines = source
    fast, general = _both_jsonl(mapping, lines, zone, from_at)
    assert fast == general


def test_plain_json_rows_take_the_plan() -> None:
    lines = [
        json.dumps({k: int(v) if k == "quantity" else v for k, v in row.items() if v}) + "\n"
        for row in csv.DictReader(_good_rows(30))
    ]
    lines.append(
        '{"type": "promise_made", "id": "m", "promise_id": "o", "at": '
        '"2026-03-01T10:00:00Z", "customer_id": "c", "kind": "k", "due": '
        '"2026-03-02T10:00:00Z", "terms.quantity": 2, "terms.unit": "kg", '
        '"metadata.source": "crm"}\n'
    )
    calls: list[bool] = []
    original = _io_fast._JsonPlan.event

    def spy(self: _io_fast._JsonPlan, cells: dict[str, Any], line: int) -> Any:
        result = original(self, cells, line)
        calls.append(isinstance(result, Event))
        return result

    with mock.patch.object(_io_fast._JsonPlan, "event", spy):
        fast, general = _both_jsonl(ColumnMapping(constants={"segment": "b2b"}), lines, None, True)
    assert calls and all(calls)
    assert fast == general and len(fast) == 61


def test_what_the_plans_remember_is_bounded() -> None:
    builder = _RowBuilder(ColumnMapping(), None, False)
    header = ["type", "id", "promise_id", "at", "recorded_at"]
    plan = _io_fast._CsvPlan(builder, header, [(c, i) for i, c in enumerate(header)])
    json_plan = _io_fast._JsonPlan(builder)
    for index in range(300):
        row = [f"kind-{index}", "e", "p", "2026-03-01T10:00:00Z", "2026-03-01T10:00:00Z"]
        assert plan.event(row, 2) is None
        cells = {"type": (row[0], "type"), "metadata.k": ("v", "metadata.k")}
        assert json_plan.event(cells, 2) is None
    assert len(plan.kinds) <= 64 and len(json_plan.kinds) <= 64
    # A real type seen after the unknown ones filled the table is still remembered.
    row = ["promise_resumed", "e", "p", "2026-03-01T10:00:00Z", "2026-03-01T10:00:00Z"]
    assert isinstance(plan.event(row, 2), Event)
    assert "promise_resumed" in plan.kinds and len(plan.kinds) <= 64 + len(EVENT_TYPES)
    row = ["promise_resumed", "e", "p", "", "2026-03-01T10:00:00Z"]
    for index in range(_io_fast._DATES_KEPT + 10):
        row[3] = f"{2000 + index % 8000:04d}-01-01T00:00:00Z"
        assert isinstance(plan.event(row, 2), Event)
    assert len(plan.dates) <= _io_fast._DATES_KEPT


def test_constants_are_text_in_json_lines_as_in_csv(tmp_path: Path) -> None:
    from promisekit.io import load_jsonl

    mapping = ColumnMapping(constants={"quantity": "2", "cost": "3.5", "note": "5"})
    row = {
        "type": "delivery_recorded",
        "id": "D1",
        "promise_id": "P1",
        "at": "2026-03-01T10:00:00Z",
        "recorded_at": "2026-03-01T10:00:00Z",
    }
    jsonl = tmp_path / "a.jsonl"
    jsonl.write_text(json.dumps(row) + "\n", encoding="utf-8")
    csv_file = tmp_path / "a.csv"
    csv_file.write_text(",".join(row) + "\n" + ",".join(row.values()) + "\n", encoding="utf-8")
    from_jsonl, from_csv = load_jsonl(jsonl, mapping=mapping), load_csv(csv_file, mapping=mapping)
    assert from_jsonl.errors == from_csv.errors == ()
    assert from_jsonl.records == from_csv.records
    (event,) = from_jsonl.records
    assert (event.quantity, str(event.cost), event.note) == (2.0, "3.5", "5")
