"""Regression tests of issue 11: every bad document is refused where it enters.

Repeated JSON keys, instants outside the representable UTC range, values whose
``repr`` cannot be printed (huge integers, deep nesting) and zone names that are
directories of the zone database: each gives a promisekit error naming what was wrong.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from promisekit.calendar import BusinessCalendar
from promisekit.errors import InvalidTypeError, InvalidValueError, UnknownTimeZoneError
from promisekit.ledger import CustomerNotified, DeliveryRecorded, Event, PromiseLedger
from promisekit.serialize import SCHEMA, SchemaError, from_dict, from_json, parse_datetime

T0 = datetime(2026, 3, 10, 9, 0, tzinfo=timezone.utc)
PLUS_ONE = timezone(timedelta(hours=1))


def _notified(**changes: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "schema": SCHEMA,
        "type": "customer_notified",
        "id": "E-1",
        "promise_id": "P-1",
        "at": "2026-03-10T09:00:00Z",
        "recorded_at": "2026-03-10T09:00:00Z",
    }
    doc.update(changes)
    return doc


# --------------------------------------------------------------------------- repeated keys


def test_from_json_refuses_a_repeated_key() -> None:
    text = json.dumps(_notified())[:-1] + ', "at": "2026-03-11T09:00:00Z"}'
    with pytest.raises(SchemaError, match="duplicate key 'at'"):
        from_json(text, Event)


def test_from_json_refuses_a_repeated_key_in_a_nested_object() -> None:
    text = (
        '{"schema": "promisekit/1", "type": "promise", "id": "P-1", "customer_id": "C",'
        ' "kind": "callback", "made_at": "2026-03-10T09:00:00Z",'
        ' "due": "2026-03-10T10:00:00Z", "terms": {"quantity": 1, "quantity": 2}}'
    )
    with pytest.raises(SchemaError, match="duplicate key 'quantity'"):
        from_json(text, Event)


def test_a_repeated_key_with_the_same_value_is_still_refused() -> None:
    text = json.dumps(_notified())[:-1] + ', "id": "E-1"}'
    with pytest.raises(SchemaError, match=r"duplicate key 'id'.*nothing is dropped"):
        from_json(text, Event)


# --------------------------------------------------------------------------- UTC range


@pytest.mark.parametrize(
    "text",
    [
        "0001-01-01T00:30:00+01:00",
        "9999-12-31T23:30:00-01:00",
        "0001-01-01T00:30:00[Asia/Tokyo]",
        "9999-12-31T23:30:00[America/Toronto]",
        "0001-01-01T00:30:00+09:18:59[Asia/Tokyo]",
    ],
)
def test_parse_datetime_refuses_instants_outside_the_utc_range(text: str) -> None:
    with pytest.raises(InvalidValueError, match="'at' is outside the range of representable"):
        parse_datetime(text, field="at")


def test_parse_datetime_refuses_out_of_range_local_times_in_tz() -> None:
    with pytest.raises(InvalidValueError, match="outside the range of representable"):
        parse_datetime("0001-01-01T00:30:00", tz="Asia/Tokyo")


def test_parse_datetime_keeps_the_extreme_instants_in_range() -> None:
    assert parse_datetime("0001-01-01T00:30:00-01:00").year == 1
    assert parse_datetime("9999-12-31T23:30:00+01:00").year == 9999


def test_from_json_refuses_an_event_outside_the_utc_range() -> None:
    text = json.dumps(_notified(at="0001-01-01T00:30+01:00"))
    with pytest.raises(SchemaError, match=r"\$\.at: 'at' is outside the range"):
        from_json(text, Event)


def test_events_built_directly_refuse_instants_outside_the_utc_range() -> None:
    early = datetime(1, 1, 1, 0, 30, tzinfo=PLUS_ONE)
    with pytest.raises(InvalidValueError, match="'at' is outside the range"):
        CustomerNotified(id="E-1", promise_id="P-1", at=early, recorded_at=T0)
    with pytest.raises(InvalidValueError, match="'recorded_at' is outside the range"):
        CustomerNotified(id="E-1", promise_id="P-1", at=T0, recorded_at=early)


def test_a_ledger_never_meets_an_out_of_range_instant() -> None:
    # The crash used to happen in replay; the event is now refused before.
    ledger = PromiseLedger()
    with pytest.raises(InvalidValueError, match="outside the range"):
        ledger.append(
            CustomerNotified(
                id="E-1",
                promise_id="P-1",
                at=datetime(9999, 12, 31, 23, 30, tzinfo=timezone(-timedelta(hours=1))),
                recorded_at=T0,
            )
        )
    assert len(ledger) == 0


# --------------------------------------------------------------------------- safe messages


def test_parse_datetime_of_a_huge_integer() -> None:
    with pytest.raises(InvalidTypeError, match=r"must be a timestamp string.*5001 digits"):
        parse_datetime(10**5000)  # type: ignore[arg-type]


def test_parse_datetime_of_a_deeply_nested_list() -> None:
    deep: list[Any] = []
    for _ in range(2000):
        deep = [deep]
    with pytest.raises(InvalidTypeError, match=r"must be a timestamp string \(got list \[\[\["):
        parse_datetime(deep)  # type: ignore[arg-type]


def test_messages_quote_a_long_string_briefly() -> None:
    with pytest.raises(InvalidValueError) as info:
        parse_datetime("x" * 1_000_000)
    assert len(str(info.value)) < 300
    assert "ISO 8601" in str(info.value)


def test_delivery_recorded_with_a_huge_quantity() -> None:
    with pytest.raises(InvalidValueError, match=r"'quantity'.*5001 digits"):
        DeliveryRecorded(id="E-1", promise_id="P-1", at=T0, recorded_at=T0, quantity=10**5000)


def test_from_dict_with_a_huge_schema_number() -> None:
    with pytest.raises(SchemaError, match=r"\$\.schema: 'schema' must be.*5001 digits"):
        from_dict({"schema": 10**5000}, Event)


def test_from_dict_with_a_huge_field_number() -> None:
    with pytest.raises(SchemaError, match=r"\$\.id: .*expected a string.*5001 digits"):
        from_dict(_notified(id=10**5000), Event)


def test_from_json_of_a_deeply_nested_document() -> None:
    text = '{"schema": "promisekit/1", "x": ' + "[" * 100_000 + "]" * 100_000 + "}"
    with pytest.raises(SchemaError, match="not valid JSON: the document is nested too deeply"):
        from_json(text, Event)


def test_from_json_of_a_document_with_a_deep_unknown_field() -> None:
    text = json.dumps(_notified())[:-1] + ', "x": ' + "[" * 600 + "]" * 600 + "}"
    with pytest.raises(SchemaError, match="unknown field 'x'"):
        from_json(text, Event)


# --------------------------------------------------------------------------- zone names


@pytest.mark.parametrize("name", ["Europe", "America", "America/", "."])
def test_a_calendar_document_with_a_zone_directory(name: str) -> None:
    text = json.dumps({"schema": SCHEMA, "type": "calendar", "tz": name})
    with pytest.raises(SchemaError, match="'tz' must be an IANA time-zone name") as info:
        from_json(text, BusinessCalendar)
    assert isinstance(info.value.__cause__, UnknownTimeZoneError)


@pytest.mark.parametrize("name", ["America", "Europe", "America/"])
def test_parse_datetime_with_a_zone_directory(name: str) -> None:
    with pytest.raises(UnknownTimeZoneError, match=re.escape(f"(got {name!r})")):
        parse_datetime(f"2026-03-10T09:00[{name}]")
    with pytest.raises(UnknownTimeZoneError, match="'tz' must be an IANA time-zone name"):
        parse_datetime("2026-03-10T09:00", tz=name)


def test_an_event_document_with_a_zone_directory() -> None:
    text = json.dumps(_notified(at="2026-03-10T09:00:00-04:00[America]"))
    with pytest.raises(SchemaError, match=r"\$\.at: 'at' must be an IANA") as info:
        from_json(text, Event)
    assert isinstance(info.value.__cause__, UnknownTimeZoneError)
