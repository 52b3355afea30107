"""Tests for promisekit.io: CSV / JSON Lines import with row errors, CSV export."""

from __future__ import annotations

import io
import json
import sys
import tracemalloc
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from promisekit.errors import (
    InvalidTypeError,
    InvalidValueError,
    MissingDependencyError,
    UnknownTimeZoneError,
)
from promisekit.io import (
    CSV_COLUMNS,
    ColumnMapping,
    LoadResult,
    RowError,
    escape_formula,
    iter_rows,
    load_csv,
    load_jsonl,
    load_mapping,
    unescape_formula,
    write_csv,
    write_jsonl,
)
from promisekit.ledger import (
    CustomerNotified,
    DeliveryRecorded,
    Event,
    PromiseMade,
    PromiseResumed,
)
from promisekit.promise import Terms
from promisekit.serialize import SchemaError, to_json
from promisekit.testing.events import event_histories

UTC = timezone.utc
TORONTO = ZoneInfo("America/Toronto")
T0 = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)

DR = '{"type": "delivery_recorded", "id": "D", "promise_id": "P", '
CRM_MAPPING = {"id": "Event ID", "promise_id": "Ticket", "type": "Event", "at": "When"}
HEADER = "Event ID,Ticket,Event,When,recorded_at,customer_id,kind,due,quantity,note\n"


def crm(*rows: str, header: str = HEADER) -> io.StringIO:
    return io.StringIO(header + "".join(row + "\n" for row in rows))


def one_error(result: LoadResult) -> RowError:
    assert len(result.errors) == 1, result.errors
    return result.errors[0]


# --------------------------------------------------------------------------- CSV import


def test_csv_import_with_a_mapping_and_a_zone() -> None:
    result = load_csv(
        crm(
            "E1,P1,promise_made,2026-03-10 09:00,2026-03-10T13:00Z,C1,callback,2026-03-10 10:00,,",
            "E2,P1,delivery_recorded,2026-03-10 09:59,2026-03-10T14:00Z,,,,2,at the door",
        ),
        mapping=CRM_MAPPING,
        tz="America/Toronto",
    )
    assert result.ok and result.rows == 2 and result.bad_lines == ()
    made, delivered = result.records
    assert isinstance(made, PromiseMade)
    assert made.at == datetime(2026, 3, 10, 9, 0, tzinfo=TORONTO)
    assert made.at.tzinfo is TORONTO
    assert made.recorded_at == datetime(2026, 3, 10, 13, 0, tzinfo=UTC)
    assert made.due == datetime(2026, 3, 10, 10, 0, tzinfo=TORONTO)
    assert delivered == DeliveryRecorded(
        id="E2",
        promise_id="P1",
        at=datetime(2026, 3, 10, 9, 59, tzinfo=TORONTO),
        recorded_at=datetime(2026, 3, 10, 14, 0, tzinfo=UTC),
        quantity=2.0,
        note="at the door",
    )


def test_csv_import_with_a_toml_mapping(tmp_path: Path) -> None:
    mapping = tmp_path / "crm.toml"
    mapping.write_text(
        'tz = "America/Toronto"\n'
        "[columns]\n"
        'id = "Event ID"\n'
        'promise_id = "Ticket"\n'
        'at = "When"\n'
        "[constants]\n"
        'type = "customer_notified"\n'
        'recorded_at = "2026-03-10T18:00:00Z"\n'
        "[ignore]\n"
        'columns = ["Agent notes"]\n',
        encoding="utf-8",
    )
    source = tmp_path / "export.csv"
    source.write_text(
        "Event ID,Ticket,When,channel,Agent notes\nN1,P1,2026-03-10 11:00,sms,called twice\n",
        encoding="utf-8",
    )
    result = load_csv(source, mapping=mapping)
    assert result.records == (
        CustomerNotified(
            id="N1",
            promise_id="P1",
            at=datetime(2026, 3, 10, 11, 0, tzinfo=TORONTO),
            recorded_at=datetime(2026, 3, 10, 18, 0, tzinfo=UTC),
            channel="sms",
        ),
    )
    parsed = load_mapping(mapping)
    assert parsed == ColumnMapping.from_toml(mapping)
    assert parsed.tz == "America/Toronto"
    assert parsed.ignore == ("Agent notes",)


def test_naive_timestamps_without_a_zone_are_row_errors() -> None:
    result = load_csv(
        crm("E1,P1,customer_notified,2026-03-10 09:00,2026-03-10T13:00Z,,,,,"),
        mapping=CRM_MAPPING,
    )
    error = one_error(result)
    assert (error.line, error.field, error.column) == (2, "at", "When")
    assert "'at' must be a timezone-aware datetime" in error.reason
    assert "line 2, field 'at' (column 'When'):" in str(error)
    assert result.records == ()


@pytest.mark.parametrize(
    ("row", "field", "words"),
    [
        ("E1,P1,customer_notified,2026-11-01 01:30,2026-03-10T13:00Z,,,,,", "at", "ambiguous"),
        ("E1,P1,customer_notified,2026-03-08 02:30,2026-03-10T13:00Z,,,,,", "at", "not exist"),
        ("E1,P1,customer_notified,10/03/2026,2026-03-10T13:00Z,,,,,", "at", "ISO 8601"),
        (
            'E1,P1,delivery_recorded,2026-03-10 09:00,2026-03-10T13:00Z,,,,"1,5",',
            "quantity",
            "plain number",
        ),
        (
            "E1,P1,delivery_recorded,2026-03-10 09:00,2026-03-10T13:00Z,,,,1_000,",
            "quantity",
            "plain number",
        ),
        (
            "E1,P1,delivery_recorded,2026-03-10 09:00,2026-03-10T13:00Z,,,,nan,",
            "quantity",
            "plain number",
        ),
        (
            "E1,P1,delivery_recorded,2026-03-10 09:00,2026-03-10T13:00Z,,,, 2,",
            "quantity",
            "plain number",
        ),
        (
            "E1,P1,delivery_recorded,2026-03-10 09:00,2026-03-10T13:00Z,,,,1e999,",
            "quantity",
            "finite",
        ),
        ("E1,P1,delivery_recorded,2026-03-10 09:00,2026-03-10T13:00Z,,,,-1,", "quantity", ">= 0"),
        ("E1,P1,delivery_recorded,2026-03-10 09:00,2026-03-10T13:00Z,,,,2, ", "note", "non-empty"),
        (
            "E1,P1,promise_lost,2026-03-10 09:00,2026-03-10T13:00Z,,,,,",
            "type",
            "unknown event type",
        ),
        ("E1,P1,,2026-03-10 09:00,2026-03-10T13:00Z,,,,,", "type", "missing event type"),
        (
            "E1,P1,promise_made,2026-03-10 09:00,2026-03-10T13:00Z,C1,callback,,,",
            "due",
            "missing required field 'due'",
        ),
        (
            "E1,P1,promise_made,2026-03-10 09:00,2026-03-10T13:00Z,C1,callback,2026-03-10 08:00,,",
            "due",
            "must not be before 'at'",
        ),
        (
            "E1,P1,customer_notified,2026-03-10 09:00,2026-03-10T13:00Z,C9,,,,",
            "customer_id",
            "has no field 'customer_id'",
        ),
        (
            ",P1,customer_notified,2026-03-10 09:00,2026-03-10T13:00Z,,,,,",
            "id",
            "missing required field 'id'",
        ),
    ],
)
def test_csv_row_errors(row: str, field: str, words: str) -> None:
    result = load_csv(crm(row), mapping=CRM_MAPPING, tz="America/Toronto")
    error = one_error(result)
    assert error.line == 2
    assert error.field == field
    assert words in error.reason
    assert result.rows == 1 and result.records == ()


def test_escalation_and_terms_columns() -> None:
    header = "type,id,promise_id,at,recorded_at,rule,action,level,revision\n"
    rows = [
        "escalation_fired,X1,P1,2026-03-10T09:00Z,2026-03-10T09:00Z,overdue,escalate,2,0",
        "escalation_fired,X2,P1,2026-03-10T09:00Z,2026-03-10T09:00Z,overdue,escalate,1.0,0",
        "escalation_fired,X3,P1,2026-03-10T09:00Z,2026-03-10T09:00Z,overdue,escalate,"
        + "9" * 30
        + ",0",
    ]
    result = load_csv(crm(*rows, header=header))
    assert [e.id for e in result.records] == ["X1"]
    assert [(e.line, e.field) for e in result.errors] == [(3, "level"), (4, "level")]
    assert "whole number" in result.errors[0].reason

    header = (
        "type,id,promise_id,at,recorded_at,customer_id,kind,due,"
        "terms.quantity,terms.unit,metadata,metadata.source\n"
    )
    made = "promise_made,{},2026-03-10T09:00Z,2026-03-10T09:00Z,C,parcel,2026-03-11T09:00Z,"
    good = made.format("M1,P1") + '3,parcels,"{""a"": ""1""}",web'
    unit_only = made.format("M2,P2") + ",parcels,,"
    bad_json = (
        "promise_made,M3,P3,2026-03-10T09:00Z,2026-03-10T09:00Z,C,parcel,2026-03-11T09:00Z,,,{oops,"
    )
    result = load_csv(crm(good, unit_only, bad_json, header=header))
    made = result.records[0]
    assert isinstance(made, PromiseMade)
    assert made.terms == Terms(quantity=3, unit="parcels")
    assert dict(made.metadata) == {"a": "1", "source": "web"}
    assert [(e.line, e.field) for e in result.errors] == [(3, "terms.unit"), (4, "metadata")]
    assert "'unit' must be None when 'quantity' is None" in result.errors[0].reason


def test_csv_line_numbers_with_multiline_cells_and_blank_lines() -> None:
    text = (
        "type,id,promise_id,at,recorded_at,message\r\n"
        'customer_notified,N1,P1,2026-03-10T09:00Z,2026-03-10T09:00Z,"line one\r\nline two"\r\n'
        "\r\n"
        "customer_notified,N2,P1,2026-03-10T09:00,2026-03-10T09:00Z,x\r\n"
    )
    result = load_csv(io.StringIO(text))
    assert result.records[0].message == "line one\r\nline two"  # type: ignore[attr-defined]
    assert one_error(result).line == 5


def test_csv_cell_count_and_malformed_quotes() -> None:
    header = "type,id,promise_id,at,recorded_at\n"
    result = load_csv(
        crm(
            "promise_resumed,R1,P1,2026-03-10T09:00Z",
            'promise_resumed,R2,P1,"2026-03-10T09:00Z"x,2026-03-10T09:00Z',
            "promise_resumed,R3,P1,2026-03-10T09:00Z,2026-03-10T09:00Z",
            header=header,
        )
    )
    assert [e.id for e in result.records] == ["R3"]
    assert [(e.line, e.field) for e in result.errors] == [(2, None), (3, None)]
    assert "expected 5 cells like the header (got 4)" in result.errors[0].reason
    assert "malformed CSV" in result.errors[1].reason


def test_invalid_utf8_is_reported_where_it_is() -> None:
    data = (
        b"\xef\xbb\xbftype,id,promise_id,at,recorded_at,message\n"
        b"customer_notified,N1,P1,2026-03-10T09:00Z,2026-03-10T09:00Z,caf\xe9\n"
        b"customer_notified,N2,P1,2026-03-10T09:00Z,2026-03-10T09:00Z,caf\xc3\xa9\n"
    )
    result = load_csv(io.BytesIO(data))
    error = one_error(result)
    assert (error.line, error.field) == (2, "message")
    assert "invalid UTF-8" in error.reason
    assert result.records[0].message == "café"  # type: ignore[attr-defined]
    with pytest.raises(SchemaError, match="invalid UTF-8"):
        load_csv(io.BytesIO(b"type,i\xffd\n"))


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("type,id,Colour\n", "unknown columns ['Colour']"),
        ("type,id,id\n", "repeats columns ['id']"),
        ('type,"id\n', "header cannot be read"),
    ],
)
def test_header_errors_stop_the_import(text: str, words: str) -> None:
    with pytest.raises(SchemaError, match=words.replace("[", r"\[").replace("]", r"\]")) as info:
        load_csv(io.StringIO(text))
    assert info.value.path is None
    assert str(info.value).startswith("line 1:")


def test_renamed_field_columns_are_unknown_and_ignore_works() -> None:
    with pytest.raises(SchemaError, match=r"unknown columns \['id'\]"):
        load_csv(io.StringIO("Event ID,id\n"), mapping={"id": "Event ID"})
    mapping = ColumnMapping(columns={"id": "Event ID"}, ignore=["id"])
    assert load_csv(io.StringIO("Event ID,id\n"), mapping=mapping).rows == 0


def test_empty_sources() -> None:
    assert load_csv(io.StringIO("")) == LoadResult(records=(), errors=(), rows=0)
    assert load_jsonl(io.StringIO("\n  \n")).rows == 0


# --------------------------------------------------------------------------- JSON Lines


def test_jsonl_rows_and_documents() -> None:
    made = PromiseMade(
        id="E1",
        promise_id="P1",
        at=T0,
        recorded_at=T0,
        customer_id="C",
        kind="repair",
        due=T0 + timedelta(days=1),
    )
    lines = [
        to_json(made),
        json.dumps(
            {
                "type": "delivery_recorded",
                "event": "D1",
                "promise_id": "P1",
                "at": "2026-03-10T12:00:00Z",
                "recorded_at": "2026-03-10T12:00:00Z",
                "quantity": 2,
                "cost": 19.99,
                "quality": 4.5,
            }
        ),
        "",
        json.dumps(
            {
                "type": "promise_made",
                "event": "E2",
                "promise_id": "P2",
                "at": "2026-03-10T12:00:00",
                "recorded_at": "2026-03-10T12:00:00Z",
                "customer_id": "C",
                "kind": "parcel",
                "due": "2026-03-11T12:00:00",
                "terms": {"quantity": 3, "max_cost": "25.00"},
                "metadata": {"channel": "web"},
            }
        ),
    ]
    result = load_jsonl(io.StringIO("\n".join(lines) + "\n"), mapping={"id": "event"}, tz="UTC")
    assert result.ok, result.errors
    first, delivered, second = result.records
    assert first == made
    assert isinstance(delivered, DeliveryRecorded)
    assert delivered.cost == Decimal("19.99")
    assert (delivered.quantity, delivered.quality) == (2.0, 4.5)
    assert isinstance(second, PromiseMade)
    assert second.terms == Terms(quantity=3, max_cost=Decimal("25.00"))
    assert dict(second.metadata) == {"channel": "web"}


@pytest.mark.parametrize(
    ("line", "field", "words"),
    [
        ("{oops", None, "not valid JSON"),
        ("[1, 2]", None, "expected a JSON object (got list)"),
        ('{"type": "promise_resumed", "x": 1}', None, "unknown or repeated key 'x'"),
        ('{"quantity": NaN, "type": "delivery_recorded"}', None, "not valid JSON"),
        (
            '{"type": "promise_resumed", "id": 5, "promise_id": "P", "at": "2026-03-10T09:00Z", '
            '"recorded_at": "2026-03-10T09:00Z"}',
            "id",
            "'id' must be a string",
        ),
        (
            DR + '"at": "2026-03-10T09:00Z", "recorded_at": "2026-03-10T09:00Z", "quantity": "2"}',
            "quantity",
            "must be a number",
        ),
        (
            DR + '"at": "2026-03-10T09:00Z", "recorded_at": "2026-03-10T09:00Z", "quantity": true}',
            "quantity",
            "must be a number",
        ),
        (
            DR + '"at": "2026-03-10T09:00Z", '
            '"recorded_at": "2026-03-10T09:00Z", "quantity": 1e999}',
            "quantity",
            "finite",
        ),
        (
            '{"type": "delivery_recorded", "id": "D", "promise_id": "P", "at": 20260310, '
            '"recorded_at": "2026-03-10T09:00Z"}',
            "at",
            "timestamp string",
        ),
        (
            '{"type": "promise_made", "id": "D", "promise_id": "P", "at": "2026-03-10T09:00Z", '
            '"recorded_at": "2026-03-10T09:00Z", "customer_id": "C", "kind": "k", '
            '"due": "2026-03-10T10:00Z", "terms": {"colour": 1}}',
            "terms",
            "unknown field 'colour'",
        ),
        (
            '{"type": "promise_made", "id": "D", "promise_id": "P", "at": "2026-03-10T09:00Z", '
            '"recorded_at": "2026-03-10T09:00Z", "customer_id": "C", "kind": "k", '
            '"due": "2026-03-10T10:00Z", "metadata": {"a": 1}}',
            "metadata",
            "object of strings",
        ),
        (
            '{"schema": "promisekit/1", "type": "promise_resumed", "id": "R", "promise_id": "P", '
            '"at": "2026-03-10T09:00", "recorded_at": "2026-03-10T09:00Z"}',
            "at",
            "timezone-aware",
        ),
        ('{"schema": "promisekit/9", "type": "promise_resumed"}', "schema", "newer version"),
    ],
)
def test_jsonl_row_errors(line: str, field: str | None, words: str) -> None:
    result = load_jsonl(io.StringIO("\n" + line + "\n"))
    error = one_error(result)
    assert (error.line, error.field) == (2, field)
    assert words in error.reason


def test_jsonl_invalid_utf8_line() -> None:
    result = load_jsonl(io.BytesIO(b'{"type": "\xff"}\n'))
    assert one_error(result).reason == "invalid UTF-8 in the line"


# --------------------------------------------------------------------------- streaming


def _generated(rows: int) -> Iterator[str]:
    yield "type,id,promise_id,at,recorded_at,quantity\n"
    for index in range(rows):
        yield f"delivery_recorded,D{index},P{index % 97},2026-03-10T09:00Z,2026-03-10T09:00Z,1\n"


def test_iter_rows_is_lazy() -> None:
    def lines() -> Iterator[str]:
        yield from _generated(2)
        raise AssertionError("read past what was asked for")

    items = iter_rows(lines())
    assert isinstance(next(items), DeliveryRecorded)


def _peak(run: Any) -> int:
    tracemalloc.start()
    try:
        run()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_iter_rows_runs_in_constant_memory() -> None:
    def stream() -> None:
        count = sum(1 for item in iter_rows(_generated(4000)) if isinstance(item, Event))
        assert count == 4000

    held: list[Any] = []
    streaming = _peak(stream)
    holding = _peak(lambda: held.extend(iter_rows(_generated(4000))))
    # Holding 4 000 events takes megabytes; streaming them, a few kilobytes of work.
    assert streaming * 10 < holding
    assert streaming < 300_000


# --------------------------------------------------------------------------- export


def test_write_csv_escapes_formulas_and_round_trips(tmp_path: Path) -> None:
    notes = ['=HYPERLINK("http://x")', "+1", "-cmd", "@SUM(A1)", "\tx", "\rx", "'=x", "'x", "ok"]
    events: list[Event] = [
        DeliveryRecorded(
            id=f"D{i}", promise_id="P1", at=T0, recorded_at=T0, note=note, quality=-1.5
        )
        for i, note in enumerate(notes)
    ]
    events.append(
        PromiseMade(
            id="M1",
            promise_id="P1",
            at=T0,
            recorded_at=T0,
            customer_id="=C",
            kind="k",
            due=T0,
            metadata={"k": "=v"},
            terms=Terms(quantity=2, max_cost="1.50"),
        )
    )
    path = tmp_path / "out.csv"
    assert write_csv(events, path) == len(events)
    raw = path.read_text(encoding="utf-8").splitlines()
    assert raw[0] == ",".join(CSV_COLUMNS)
    cells = [line.split(",") for line in raw[1:4]]
    note_index = CSV_COLUMNS.index("note")
    assert [c[note_index] for c in cells[1:3]] == ["'+1", "'-cmd"]
    assert ",-1.5," in raw[1]  # numbers are never quoted
    result = load_csv(path, unescape_formulas=True)
    assert result.ok, result.errors
    assert list(result.records) == events
    escaped = load_csv(path)
    assert escaped.records[0].note == '\'=HYPERLINK("http://x")'  # type: ignore[attr-defined]


@given(st.text())
def test_formula_escaping_is_reversible(cell: str) -> None:
    escaped = escape_formula(cell)
    assert unescape_formula(escaped) == cell
    assert not escaped.startswith(("=", "+", "-", "@", "\t", "\r"))


@settings(max_examples=30, suppress_health_check=[HealthCheck.too_slow])
@given(event_histories(max_events=6))
def test_csv_and_jsonl_export_round_trip(history: list[Event]) -> None:
    text = io.StringIO()
    write_csv(history, text)
    result = load_csv(io.StringIO(text.getvalue()), unescape_formulas=True)
    assert result.ok, result.errors
    # An empty Terms() has no cell to write: it reads back as no terms (the same promise).
    expected = [
        attrs.evolve(e, terms=None)
        if isinstance(e, PromiseMade) and e.terms is not None and e.terms.is_empty
        else e
        for e in history
    ]
    assert list(result.records) == expected
    lines = io.StringIO()
    assert write_jsonl(history, lines) == len(history)
    assert list(load_jsonl(io.StringIO(lines.getvalue())).records) == history


def test_writers_refuse_bad_input(tmp_path: Path) -> None:
    with pytest.raises(InvalidTypeError, match=r"only Event instances \(got str at index 0\)"):
        write_csv(["E1"], io.StringIO())  # type: ignore[list-item]
    with pytest.raises(InvalidTypeError, match="only Event instances"):
        write_jsonl([None], tmp_path / "x.jsonl")  # type: ignore[list-item]
    with pytest.raises(InvalidTypeError, match="'dest' must be a path or a text file"):
        write_csv([], 42)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- arguments


def test_bad_arguments() -> None:
    with pytest.raises(InvalidValueError, match="'format' must be 'csv' or 'jsonl'"):
        next(iter_rows(io.StringIO(""), format="xlsx"))  # type: ignore[arg-type]
    with pytest.raises(InvalidTypeError, match=r"got bytes; wrap it in io\.BytesIO"):
        load_csv(b"type\n")  # type: ignore[arg-type]
    with pytest.raises(InvalidTypeError, match="'source' must be a path"):
        load_csv(42)  # type: ignore[arg-type]
    with pytest.raises(InvalidTypeError, match="'source' must yield text lines"):
        load_csv([b"type\n"])  # type: ignore[list-item]
    with pytest.raises(InvalidTypeError, match="'mapping' must be a dict"):
        load_csv(io.StringIO(""), mapping=42)  # type: ignore[arg-type]
    with pytest.raises(InvalidValueError, match="contradicts the mapping's tz"):
        load_csv(io.StringIO(""), mapping=ColumnMapping(tz="UTC"), tz="Europe/Paris")
    with pytest.raises(UnknownTimeZoneError, match="Mars/Olympus"):
        load_csv(io.StringIO(""), tz="Mars/Olympus")
    with pytest.raises(InvalidTypeError, match="'unescape_formulas' must be a bool"):
        load_csv(io.StringIO(""), unescape_formulas="yes")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kwargs", "error", "words"),
    [
        ({"columns": {"colour": "Colour"}}, InvalidValueError, "unknown event field 'colour'"),
        ({"columns": {"id": 5}}, InvalidTypeError, "must map strings to strings"),
        ({"columns": ["id"]}, InvalidTypeError, "'columns' must be a table of strings"),
        ({"constants": {"nope": "x"}}, InvalidValueError, "unknown event field 'nope'"),
        ({"tz": 5}, InvalidTypeError, "'tz' must be an IANA zone name"),
        ({"ignore": "Notes"}, InvalidTypeError, "'ignore' must be a list"),
        ({"ignore": [1]}, InvalidTypeError, "'ignore' must contain column names"),
        ({"columns": {"id": "A"}, "constants": {"id": "x"}}, InvalidValueError, "both a column"),
    ],
)
def test_column_mapping_errors(kwargs: dict[str, Any], error: type[Exception], words: str) -> None:
    with pytest.raises(error, match=words):
        ColumnMapping(**kwargs)


@pytest.mark.parametrize(
    ("content", "error", "words"),
    [
        (b"[columns\n", SchemaError, "is not valid TOML"),
        (b"colour = 1\n", SchemaError, "unknown keys ['colour']"),
        (b"[ignore]\nrows = 1\n", SchemaError, "[ignore] must only have"),
        (b'tz = "\xff"\n', SchemaError, "not valid UTF-8"),
        (b"[columns]\nid = 5\n", InvalidTypeError, "must map strings to strings"),
    ],
)
def test_toml_mapping_errors(
    tmp_path: Path, content: bytes, error: type[Exception], words: str
) -> None:
    path = tmp_path / "mapping.toml"
    path.write_bytes(content)
    with pytest.raises(error) as info:
        load_mapping(path)
    assert words in str(info.value)


def test_toml_needs_tomli_on_python_310(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "mapping.toml"
    path.write_text("[columns]\n", encoding="utf-8")
    monkeypatch.setattr(sys, "version_info", (3, 10, 14, "final", 0))
    monkeypatch.setitem(sys.modules, "tomli", None)
    with pytest.raises(MissingDependencyError, match="tomli") as info:
        load_mapping(path)
    assert isinstance(info.value, ImportError)


def test_resumed_rows_need_no_extra_columns() -> None:
    result = load_csv(
        io.StringIO(
            "type,id,promise_id,at,recorded_at\n"
            "promise_resumed,R1,P1,2026-03-10T09:00Z,2026-03-10T09:00Z\n"
        )
    )
    assert result.records == (PromiseResumed(id="R1", promise_id="P1", at=T0, recorded_at=T0),)


# --------------------------------------------------------------------------- issue 11

_NOTIFIED = (
    '{"type": "customer_notified", "id": "E-1", "promise_id": "P-1", '
    '"at": "2026-03-10T09:00:00Z", "recorded_at": "2026-03-10T09:00:00Z"'
)


def test_jsonl_repeated_key_is_a_row_error() -> None:
    error = one_error(load_jsonl([_NOTIFIED + ', "at": "2026-03-11T09:00:00Z"}\n']))
    assert (error.line, error.field, error.column) == (1, "at", "at")
    assert "duplicate key 'at'" in error.reason


def test_jsonl_repeated_key_in_a_document_is_a_row_error() -> None:
    line = _NOTIFIED.replace("{", '{"schema": "promisekit/1", ', 1) + ', "id": "E-2"}\n'
    error = one_error(load_jsonl([line]))
    assert error.field == "id"
    assert "duplicate key 'id'" in error.reason


def test_jsonl_repeated_nested_key_is_a_row_error() -> None:
    line = _NOTIFIED.replace("customer_notified", "promise_made") + (
        ', "customer_id": "C", "kind": "k", "due": "2026-03-10T10:00:00Z", '
        '"terms": {"quantity": 1, "quantity": 2}}\n'
    )
    error = one_error(load_jsonl([line]))
    assert "duplicate key 'quantity'" in error.reason


def test_csv_metadata_cell_with_a_repeated_key() -> None:
    text = (
        "type,id,promise_id,at,recorded_at,customer_id,kind,due,metadata\n"
        "promise_made,E-1,P-1,2026-03-10T09:00Z,2026-03-10T09:00Z,C,k,2026-03-10T10:00Z,"
        '"{""a"": ""1"", ""a"": ""2""}"\n'
    )
    error = one_error(load_csv(io.StringIO(text)))
    assert (error.line, error.field) == (2, "metadata")
    assert "duplicate key 'a'" in error.reason


def test_jsonl_instant_outside_the_utc_range_is_a_row_error() -> None:
    line = (
        '{"type": "promise_made", "id": "E-1", "promise_id": "P-1", '
        '"at": "9999-12-31T23:30:00-01:00", "recorded_at": "2026-03-10T09:00:00Z", '
        '"customer_id": "C", "kind": "k", "due": "9999-12-31T23:30:00-01:00"}\n'
    )
    result = load_jsonl([line])
    assert not result.records
    assert {error.field for error in result.errors} == {"at", "due"}
    assert all("outside the range of representable" in e.reason for e in result.errors)


def test_csv_instant_outside_the_utc_range_is_a_row_error() -> None:
    text = (
        "type,id,promise_id,at,recorded_at\n"
        "customer_notified,E-1,P-1,0001-01-01T00:30:00+01:00,2026-03-10T09:00Z\n"
    )
    error = one_error(load_csv(io.StringIO(text)))
    assert (error.line, error.field) == (2, "at")
    assert "outside the range of representable instants" in error.reason


def test_csv_local_time_outside_the_utc_range_with_tz() -> None:
    text = (
        "type,id,promise_id,at,recorded_at\n"
        "customer_notified,E-1,P-1,0001-01-01T00:30,2026-03-10T09:00Z\n"
    )
    error = one_error(load_csv(io.StringIO(text), tz="Asia/Tokyo"))
    assert error.field == "at"
    assert "outside the range" in error.reason


@pytest.mark.parametrize("depth", [600, 2000, 100_000])
def test_jsonl_deeply_nested_lines_are_row_errors(depth: int) -> None:
    nested = "[" * depth + "]" * depth
    lines = [
        '{"schema": "promisekit/1", "x": ' + nested + "}\n",
        '{"type": "customer_notified", "x": ' + nested + "}\n",
    ]
    result = load_jsonl(lines)
    assert result.bad_lines == (1, 2)
    assert not result.records


def test_jsonl_huge_numbers_are_row_errors() -> None:
    lines = [
        _NOTIFIED.replace('"E-1"', str(10**4000)) + "}\n",
        _NOTIFIED + ', "quantity": ' + "9" * 5000 + "}\n",
    ]
    first, second = load_jsonl(lines).errors
    assert first.field == "id"
    assert "must be a string" in first.reason
    assert "4001 digits" in first.reason
    assert second.line == 2
    assert "too many digits" in second.reason


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"tz = " + b"9" * 5000 + b"\n", "is not valid TOML: a number is too long"),
        (b"tz = " + b"[" * 5000 + b"]" * 5000 + b"\n", "is not valid TOML"),
    ],
)
def test_toml_mapping_with_values_the_parser_cannot_hold(
    tmp_path: Path, content: bytes, words: str
) -> None:
    path = tmp_path / "mapping.toml"
    path.write_bytes(content)
    with pytest.raises(SchemaError) as info:
        load_mapping(path)
    assert str(path) in str(info.value)
    assert words in str(info.value)


@pytest.mark.parametrize("name", ["America", "Europe/"])
def test_mapping_tz_that_is_a_zone_directory(name: str) -> None:
    with pytest.raises(UnknownTimeZoneError, match="'tz' must be an IANA time-zone name"):
        ColumnMapping(tz=name)
    with pytest.raises(UnknownTimeZoneError):
        load_csv(io.StringIO("type\n"), tz=name)


def test_one_column_to_several_fields_csv_and_jsonl() -> None:
    mapping = {"promise_id": "Ticket", "customer_id": "Ticket", "id": "Event"}
    csv_lines = [
        "type,Event,Ticket,at,recorded_at,kind,due\n",
        "promise_made,E1,T1,2026-03-02T09:00Z,2026-03-02T09:00Z,callback,2026-03-02T10:00Z\n",
        "delivery_recorded,E2,T1,2026-03-02T09:40Z,2026-03-02T09:40Z,,\n",
    ]
    result = load_csv(csv_lines, mapping=mapping)
    assert result.ok, result.errors
    made = result.records[0]
    assert (made.promise_id, made.customer_id) == ("T1", "T1")  # type: ignore[attr-defined]
    assert result.records[1].promise_id == "T1"
    jsonl = [
        '{"type": "promise_made", "Event": "E1", "Ticket": "T1", "at": "2026-03-02T09:00Z", '
        '"recorded_at": "2026-03-02T09:00Z", "kind": "callback", "due": "2026-03-02T10:00Z"}\n'
    ]
    assert load_jsonl(jsonl, mapping=mapping).records == result.records[:1]


def test_load_wide_rules(tmp_path: Path) -> None:
    pytest.importorskip("pandas")
    from promisekit.io import WideMapping, load_wide

    lines = [
        "id,made,due,done,score,who\n",
        "a,2026-03-02T09:00Z,2026-03-02T10:00Z,2026-03-02T09:30Z,4.5,x\n",
        "a,2026-03-02T09:00Z,2026-03-02T10:00Z,,,y\n",  # repeated id
        ",2026-03-02T09:00Z,2026-03-02T10:00Z,,,y\n",  # no id
        "c,2026-03-02T09:00Z,2026-03-02T10:00Z,2026-03-02T08:00Z,,y\n",  # delivered early
        "d,2026-03-02T09:00Z,2026-03-02T10:00Z,,1,5,y\n",  # malformed: 7 cells
        "e,2026-03-02T09:00Z,2026-03-02T10:00Z,,nan,y\n",  # not a plain number
        "f,2026-03-02T09:00Z,,,,y\n",  # no due
    ]
    mapping = WideMapping(
        columns={
            "promise_id": "id",
            "made_at": "made",
            "due": "due",
            "delivered_at": "done",
            "score": "score",
            "segment": "who",
            "owner": "who",
        }
    )
    result = load_wide(lines, mapping=mapping)
    assert len(result.frame) == 1 and result.rows == 7
    reasons = {e.line: (e.field, e.reason) for e in result.errors}
    assert reasons[3] == ("promise_id", "promise 'a' is repeated (first on line 2)")
    assert reasons[4] == ("promise_id", "missing required field 'promise_id'")
    assert reasons[5] == ("delivered_at", "'delivered_at' must not be before 'made_at'")
    assert reasons[6][0] is None and "expected 6 cells" in reasons[6][1]
    assert reasons[7][0] == "score" and "plain number" in reasons[7][1]
    assert reasons[8] == ("due", "missing required field 'due'")
    row = result.frame.iloc[0]
    assert (row["segment"], row["owner"], row["score"]) == ("x", "x", 4.5)
    with pytest.raises(InvalidValueError, match="unknown field 'nope' of a wide row"):
        WideMapping(columns={"nope": "x"})
    with pytest.raises(InvalidValueError, match="cannot give 'due'"):
        WideMapping(constants={"due": "2026-03-02T10:00Z"})
    with pytest.raises(SchemaError, match="no column for 'due'"):
        load_wide(["made_at\n", "2026-03-02T09:00Z\n"])
    with pytest.raises(SchemaError, match="does not have: nope \\(for due\\)"):
        load_wide(["made_at\n"], mapping=WideMapping(columns={"due": "nope"}))
    path = tmp_path / "events.toml"
    path.write_text('[wide]\nmade_at = "m"\n', encoding="utf-8")
    with pytest.raises(SchemaError, match="is a wide mapping"):
        load_mapping(path)


def test_load_wide_agrees_with_parse_datetime() -> None:
    pytest.importorskip("pandas")
    from promisekit.io import load_wide
    from promisekit.serialize import parse_datetime

    stamp = st.builds(
        lambda y, mo, d, h, mi, s, frac, sep, off: (
            f"{y:04d}-{mo:02d}-{d:02d}{sep}{h:02d}:{mi:02d}:{s:02d}{frac}{off}"
        ),
        st.integers(1, 9999),
        st.integers(1, 12),
        st.integers(1, 31),
        st.integers(0, 23),
        st.integers(0, 59),
        st.integers(0, 59),
        st.sampled_from(["", ".5", ".123456"]),
        st.sampled_from(["T", " "]),
        st.sampled_from(["", "Z", "+05:30", "-0300", "+14"]),
    )

    @settings(max_examples=60, deadline=None)
    @given(st.lists(stamp, min_size=1, max_size=8))
    def check(stamps: list[str]) -> None:
        lines = ["made_at,due\n"] + [f"{s},{s}\n" for s in stamps]
        result = load_wide(lines, tz="America/Toronto")
        good = iter(result.frame["made_at"])
        bad = {e.line for e in result.errors}
        for line, text in enumerate(stamps, start=2):
            try:
                expected = parse_datetime(text, field="made_at", tz="America/Toronto")
            except InvalidValueError:
                assert line in bad
                continue
            assert line not in bad
            assert next(good).to_pydatetime() == expected

    check()
