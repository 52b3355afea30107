"""Tests for promisekit.serialize: exact JSON round trips, strict reading, JSON Schema."""

from __future__ import annotations

import json
import os
import re
import sys
import types
from collections.abc import Iterator, Mapping
from datetime import date, datetime, timedelta, timezone, tzinfo
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import promisekit.serialize as serialize
from promisekit.calendar import BusinessCalendar
from promisekit.delivery import Delivery, Outcome, Status, assess
from promisekit.errors import (
    InvalidTypeError,
    InvalidValueError,
    NaiveDatetimeError,
    PromiseKitError,
    UnknownTimeZoneError,
)
from promisekit.ledger import (
    CustomerNotified,
    DeliveryRecorded,
    Event,
    PromiseMade,
    PromiseState,
    replay,
)
from promisekit.promise import Promise, Terms
from promisekit.serialize import (
    SCHEMA,
    Decoded,
    SchemaError,
    event_json_schema,
    format_datetime,
    format_decimal,
    format_duration,
    from_dict,
    from_json,
    get_converter,
    parse_datetime,
    parse_decimal,
    parse_duration,
    register_type,
    registered_types,
    to_dict,
    to_json,
)
from promisekit.testing import aware_datetimes, deliveries_for, promises, terms
from promisekit.testing.events import event_histories, events

UTC = timezone.utc
TORONTO = ZoneInfo("America/Toronto")
PARIS = ZoneInfo("Europe/Paris")
T0 = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
H = timedelta(hours=1)
SCHEMA_FILE = Path(__file__).resolve().parent.parent / "docs" / "schema" / "events.schema.json"


def made(**overrides: Any) -> PromiseMade:
    fields: dict[str, Any] = {
        "id": "E-1",
        "promise_id": "P-1",
        "at": T0,
        "recorded_at": T0,
        "customer_id": "C-1",
        "kind": "callback",
        "due": T0 + H,
    }
    fields.update(overrides)
    return PromiseMade(**fields)


# --------------------------------------------------------------------------- exactness


def _walk(a: Any, b: Any, path: str) -> Iterator[str]:
    """Every difference an ``==`` comparison would miss (zones, folds, float signs…)."""
    if type(a) is not type(b):
        yield f"{path}: type {type(a).__name__} != {type(b).__name__}"
    elif isinstance(a, datetime):
        if a.tzinfo is not b.tzinfo and a.tzinfo != b.tzinfo:
            yield f"{path}: zone {a.tzinfo!r} != {b.tzinfo!r}"
        if a.replace(tzinfo=None) != b.replace(tzinfo=None) or a.utcoffset() != b.utcoffset():
            yield f"{path}: {a!r} != {b!r}"
    elif isinstance(a, (float, Decimal)):
        if repr(a) != repr(b):
            yield f"{path}: {a!r} != {b!r}"
    elif attrs.has(type(a)):
        for field in attrs.fields(type(a)):
            if field.init:
                yield from _walk(
                    getattr(a, field.name), getattr(b, field.name), f"{path}.{field.name}"
                )
    elif isinstance(a, Mapping):
        if sorted(a) != sorted(b):
            yield f"{path}: keys differ"
        for key in a:
            yield from _walk(a[key], b.get(key), f"{path}[{key!r}]")
    elif isinstance(a, (tuple, list)):
        if len(a) != len(b):
            yield f"{path}: length differs"
        for index, (x, y) in enumerate(zip(a, b, strict=False)):
            yield from _walk(x, y, f"{path}[{index}]")
    elif a != b:
        yield f"{path}: {a!r} != {b!r}"


def assert_round_trip(value: Any, cls: type[Any] | None = None) -> None:
    text = to_json(value)
    back = from_json(text, cls or type(value))
    assert back == value
    assert list(_walk(value, back, "$")) == []
    assert to_json(back) == text
    document = to_dict(value)
    assert json.loads(text) == document
    assert from_dict(document, cls or type(value)) == value
    assert list(document)[:2] == ["schema", "type"]
    assert document["schema"] == SCHEMA


# --------------------------------------------------------------------------- strategies

_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@st.composite
def calendars(draw: st.DrawFn) -> BusinessCalendar:
    def interval() -> st.SearchStrategy[str]:
        return st.tuples(st.integers(0, 23 * 3600), st.integers(60, 3600 * 4)).map(
            lambda p: f"{_clock(p[0])}-{_clock(min(p[0] + p[1], 86_400))}"
        )

    hours = {day: draw(st.lists(interval(), max_size=1)) for day in _DAYS}
    if not any(hours.values()):
        hours["mon"] = ["09:00-17:00"]
    holidays = draw(st.lists(st.dates(date(2020, 1, 1), date(2030, 1, 1)), max_size=3))
    rules = draw(
        st.lists(st.sampled_from(["RRULE:FREQ=YEARLY;BYMONTH=6;BYMONTHDAY=24"]), max_size=1)
    )
    overrides = draw(
        st.dictionaries(
            st.dates(date(2020, 1, 1), date(2030, 1, 1)),
            st.lists(st.just("10:00-12:00:30"), max_size=1),
            max_size=2,
        )
    )
    tz = draw(st.sampled_from(["UTC", "America/Toronto", "Asia/Kolkata"]))
    return BusinessCalendar(
        tz, hours=hours, holidays=holidays, holiday_rules=rules, overrides=overrides
    )


def _clock(seconds: int) -> str:
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours:02d}:{minutes:02d}" + (f":{secs:02d}" if secs else "")


@st.composite
def promise_with_outcome(draw: st.DrawFn) -> tuple[Promise, list[Delivery], Outcome]:
    promise = draw(promises())
    deliveries = draw(deliveries_for(promise))
    now = draw(aware_datetimes(min_value=promise.made_at, max_value=promise.due + 3 * H))
    calendar = draw(st.none() | st.just(BusinessCalendar.always_open("UTC")))
    return promise, deliveries, assess(promise, deliveries, now=now, calendar=calendar)


# --------------------------------------------------------------------------- round trips


@settings(max_examples=40, suppress_health_check=[HealthCheck.too_slow])
@given(promises(max_revisions=3))
def test_promises_round_trip(promise: Promise) -> None:
    assert_round_trip(promise)
    for revision in promise.revisions:
        assert_round_trip(revision)


@given(terms())
def test_terms_round_trip(value: Terms) -> None:
    assert_round_trip(value)


@settings(max_examples=40, suppress_health_check=[HealthCheck.too_slow])
@given(promise_with_outcome())
def test_deliveries_and_outcomes_round_trip(
    case: tuple[Promise, list[Delivery], Outcome],
) -> None:
    _, deliveries, outcome = case
    for delivery in deliveries:
        assert_round_trip(delivery)
    assert_round_trip(outcome)
    assert_round_trip(outcome.shortfall)


@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow])
@given(events())
def test_events_round_trip(event: Event) -> None:
    assert_round_trip(event, Event)
    assert_round_trip(event)


@settings(max_examples=25, suppress_health_check=[HealthCheck.too_slow])
@given(event_histories(max_events=8))
def test_promise_states_round_trip(history: list[Event]) -> None:
    state = replay(history[0].promise_id, history)
    assert_round_trip(state)
    for item in state.ignored:
        assert_round_trip(item)
    for pause in state.paused_intervals:
        assert_round_trip(pause)


@settings(max_examples=25, suppress_health_check=[HealthCheck.too_slow])
@given(calendars())
def test_calendars_round_trip(calendar: BusinessCalendar) -> None:
    assert_round_trip(calendar)
    back = from_json(to_json(calendar), BusinessCalendar)
    start = datetime(2026, 3, 6, 16, 0, tzinfo=UTC)
    assert back.add(start, 5 * H) == calendar.add(start, 5 * H)


def test_calendar_document_shape() -> None:
    calendar = BusinessCalendar(
        "America/Toronto",
        hours={"mon-fri": ["08:30-12:00", "13:00-17:00"], "sat": "10:00-24:00"},
        holidays=[date(2026, 12, 25)],
        overrides={date(2026, 12, 24): "09:00-12:00"},
    )
    document = to_dict(calendar)
    assert document["hours"]["mon"] == ["08:30-12:00", "13:00-17:00"]
    assert document["hours"]["sat"] == ["10:00-24:00"]
    assert document["hours"]["sun"] == []
    assert document["holidays"] == ["2026-12-25"]
    assert document["overrides"] == {"2026-12-24": ["09:00-12:00"]}
    assert_round_trip(calendar)


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"hours": ["09:00-17:00"]}, "'hours' must be an object of days"),
        ({"holidays": "2026-12-25"}, "'holidays' must be an array of dates"),
        ({"holidays": ["25/12/2026"]}, "'holidays' must be a date string"),
        ({"holidays": ["2026-02-30"]}, "'holidays' is not a valid date"),
        ({"holiday_rules": [1]}, "'holiday_rules' must be an array of RRULE strings"),
        ({"overrides": []}, "'overrides' must be an object of dates"),
        ({"overrides": {"2026-12-24": "09:00-12:00"}}, "must be an array of"),
        ({"tz": "Mars/Olympus"}, "'tz' must be an IANA time-zone name"),
        ({"tz": 5}, "'tz' must be an IANA zone name"),
        ({"colour": "red"}, "unknown field 'colour'"),
    ],
)
def test_calendar_document_errors(change: dict[str, Any], words: str) -> None:
    document = {**to_dict(BusinessCalendar("UTC")), **change}
    with pytest.raises(SchemaError, match=re.escape(words)):
        from_dict(document, BusinessCalendar)


def test_calendar_document_needs_tz() -> None:
    document = to_dict(BusinessCalendar("UTC"))
    del document["tz"]
    with pytest.raises(SchemaError, match="missing required field 'tz'"):
        from_dict(document, BusinessCalendar)


def test_outcome_with_infinite_quantity_round_trips() -> None:
    promise = Promise(
        id="P-1",
        customer_id="C",
        kind="parcel",
        made_at=T0,
        due=T0 + H,
        terms=Terms(quantity=1e308),
    )
    deliveries = [Delivery("P-1", T0, quantity=1e308), Delivery("P-1", T0, quantity=1e308)]
    outcome = assess(promise, deliveries, now=T0 + H)
    assert outcome.delivered_quantity == float("inf")
    assert to_dict(outcome)["delivered_quantity"] == "Infinity"
    assert_round_trip(outcome)


def test_document_shape_of_an_event() -> None:
    event = DeliveryRecorded(
        id="E-2",
        promise_id="P-1",
        at=datetime(2026, 3, 10, 9, 59, tzinfo=TORONTO),
        recorded_at=T0,
        quantity=2,
        cost="19.990",
    )
    assert to_dict(event) == {
        "schema": "promisekit/1",
        "type": "delivery_recorded",
        "id": "E-2",
        "promise_id": "P-1",
        "at": "2026-03-10T09:59:00-04:00[America/Toronto]",
        "recorded_at": "2026-03-10T09:00:00+00:00",
        "quantity": 2.0,
        "cost": "19.990",
    }
    assert to_json(event, indent=2).startswith('{\n  "schema": "promisekit/1",')


def test_nested_events_carry_their_type() -> None:
    state = replay(
        "P-1", [made(), CustomerNotified(id="E-2", promise_id="P-1", at=T0, recorded_at=T0)]
    )
    document = to_dict(state)
    assert document["type"] == "promise_state"
    assert [e["type"] for e in document["events"]] == ["promise_made", "customer_notified"]
    assert document["made"]["type"] == "promise_made"


def test_metadata_is_written_sorted() -> None:
    event = made(metadata={"b": "2", "a": "1"})
    assert list(to_dict(event)["metadata"]) == ["a", "b"]
    other = made(metadata={"a": "1", "b": "2"})
    assert to_json(event) == to_json(other)


# --------------------------------------------------------------------------- datetimes


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (datetime(2026, 3, 10, 9, 0, tzinfo=TORONTO), "2026-03-10T09:00:00-04:00[America/Toronto]"),
        (
            datetime(2026, 11, 1, 1, 30, tzinfo=TORONTO),
            "2026-11-01T01:30:00-04:00[America/Toronto]",
        ),
        (
            datetime(2026, 11, 1, 1, 30, tzinfo=TORONTO, fold=1),
            "2026-11-01T01:30:00-05:00[America/Toronto]",
        ),
        (datetime(2026, 3, 8, 2, 30, tzinfo=TORONTO), "2026-03-08T02:30:00-05:00[America/Toronto]"),
        (
            datetime(2026, 3, 8, 2, 30, tzinfo=TORONTO, fold=1),
            "2026-03-08T02:30:00-04:00[America/Toronto]",
        ),
        (datetime(2026, 3, 10, 9, 0, tzinfo=ZoneInfo("UTC")), "2026-03-10T09:00:00+00:00[UTC]"),
        (datetime(2026, 3, 10, 9, 0, tzinfo=UTC), "2026-03-10T09:00:00+00:00"),
        (
            datetime(2026, 3, 10, 9, 0, 0, 123400, tzinfo=timezone(timedelta(hours=5, minutes=30))),
            "2026-03-10T09:00:00.123400+05:30",
        ),
        (
            datetime(1850, 1, 1, 0, 0, tzinfo=PARIS),
            "1850-01-01T00:00:00+00:09:21[Europe/Paris]",
        ),
    ],
)
def test_datetimes_are_written_and_read_exactly(value: datetime, text: str) -> None:
    assert format_datetime(value) == text
    back = parse_datetime(text)
    assert back == value
    assert back.tzinfo is value.tzinfo or back.tzinfo == value.tzinfo
    assert back.fold == value.fold
    assert back.replace(tzinfo=None) == value.replace(tzinfo=None)


@given(aware_datetimes(min_value=datetime(1900, 1, 1, tzinfo=UTC)))
def test_any_generated_datetime_round_trips(value: datetime) -> None:
    back = parse_datetime(format_datetime(value))
    assert (back, back.tzinfo, back.fold, back.utcoffset()) == (
        value,
        value.tzinfo,
        value.fold,
        value.utcoffset(),
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-03-10T09:00:00Z", datetime(2026, 3, 10, 9, 0, tzinfo=UTC)),
        ("2026-03-10 09:00z", datetime(2026, 3, 10, 9, 0, tzinfo=UTC)),
        ("2026-03-10T09:00:00.5+0530", datetime(2026, 3, 10, 3, 30, 0, 500000, tzinfo=UTC)),
        ("2026-03-10T09:00+02", datetime(2026, 3, 10, 7, 0, tzinfo=UTC)),
        ("2026-03-10T09:00:00[Europe/Paris]", datetime(2026, 3, 10, 9, 0, tzinfo=PARIS)),
        ("2026-03-10T09:00:00+01:00[!Europe/Paris]", datetime(2026, 3, 10, 9, 0, tzinfo=PARIS)),
        ("2026-03-10T09:00:00[+02:00]", datetime(2026, 3, 10, 7, 0, tzinfo=UTC)),
    ],
)
def test_datetime_input_forms(text: str, expected: datetime) -> None:
    assert parse_datetime(text) == expected


def test_naive_datetimes_need_a_zone() -> None:
    with pytest.raises(NaiveDatetimeError, match="'at' must be a timezone-aware datetime"):
        parse_datetime("2026-03-10T09:00:00", field="at")
    assert parse_datetime("2026-03-10T09:00", tz="America/Toronto") == datetime(
        2026, 3, 10, 9, 0, tzinfo=TORONTO
    )
    assert parse_datetime("2026-03-10T09:00", tz=PARIS).tzinfo is PARIS


@pytest.mark.parametrize(
    ("text", "kwargs", "error", "words"),
    [
        ("2026-11-01T01:30", {"tz": "America/Toronto"}, InvalidValueError, "ambiguous local time"),
        ("2026-03-08T02:30", {"tz": "America/Toronto"}, InvalidValueError, "does not exist"),
        ("2026-03-08T02:30[America/Toronto]", {}, InvalidValueError, "does not exist"),
        ("2026-03-10T09:00+05:00[America/Toronto]", {}, InvalidValueError, "never has"),
        ("2026-03-10T09:00Z[Mars/Olympus]", {}, UnknownTimeZoneError, "'Mars/Olympus'"),
        ("2026-03-10T09:00", {"tz": "Mars/Olympus"}, UnknownTimeZoneError, "IANA"),
        ("2026-03-10T09:00", {"tz": 5}, InvalidTypeError, "'tz' must be an IANA zone name"),
        ("10/03/2026 09:00", {}, InvalidValueError, "must be an ISO 8601"),
        ("2026-03-10T09:00:00.1234567Z", {}, InvalidValueError, "must be an ISO 8601"),
        ("2026-02-30T09:00Z", {}, InvalidValueError, "not a valid date and time"),
        ("2026-03-10T24:00Z", {}, InvalidValueError, "not a valid date and time"),
        ("2026-03-10T09:00+24:00", {}, InvalidValueError, "between -23:59 and +23:59"),
        (20260310, {}, InvalidTypeError, "must be a timestamp string"),
    ],
)
def test_datetime_parse_errors(
    text: Any, kwargs: dict[str, Any], error: type[Exception], words: str
) -> None:
    with pytest.raises(error, match=re.escape(words)):
        parse_datetime(text, **kwargs)


class _OtherZone(tzinfo):
    def utcoffset(self, dt: datetime | None) -> timedelta:
        return timedelta(hours=1)

    def dst(self, dt: datetime | None) -> timedelta:
        return timedelta(0)


def test_datetime_format_errors() -> None:
    with pytest.raises(NaiveDatetimeError, match="'due'"):
        format_datetime(datetime(2026, 3, 10), field="due")
    with pytest.raises(InvalidTypeError, match="custom name 'CET'"):
        format_datetime(datetime(2026, 3, 10, tzinfo=timezone(H, "CET")))
    with pytest.raises(InvalidTypeError, match=r"ZoneInfo or datetime\.timezone"):
        format_datetime(datetime(2026, 3, 10, tzinfo=_OtherZone()))
    with open(_tzfile(), "rb") as f:
        nameless = ZoneInfo.from_file(f)
    with pytest.raises(InvalidTypeError, match="ZoneInfo without a key"):
        format_datetime(datetime(2026, 3, 10, tzinfo=nameless))
    with pytest.raises(InvalidTypeError, match="custom name"):
        to_json(made(at=datetime(2026, 3, 10, tzinfo=timezone(H, "CET")), due=T0 + H))


def _tzfile() -> str:
    import zoneinfo

    for root in zoneinfo.TZPATH:
        candidate = os.path.join(root, "Europe", "Paris")
        if os.path.exists(candidate):
            return candidate
    import tzdata

    return os.path.join(os.path.dirname(tzdata.__file__), "zoneinfo", "Europe", "Paris")


# --------------------------------------------------------------------------- durations, decimals


@given(st.timedeltas())
def test_durations_round_trip(value: timedelta) -> None:
    assert parse_duration(format_duration(value)) == value


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (timedelta(0), "PT0S"),
        (-timedelta(hours=1, minutes=30), "-PT1H30M"),
        (timedelta(days=1, microseconds=500_000), "P1DT0.5S"),
        (timedelta(days=2), "P2D"),
        (timedelta(microseconds=1), "PT0.000001S"),
    ],
)
def test_duration_text(value: timedelta, text: str) -> None:
    assert format_duration(value) == text
    assert parse_duration(text) == value


@pytest.mark.parametrize(
    ("text", "error", "words"),
    [
        ("P1Y", InvalidValueError, "must be an ISO 8601 duration"),
        ("PT", InvalidValueError, "must be an ISO 8601 duration"),
        ("", InvalidValueError, "must be an ISO 8601 duration"),
        ("P999999999DT99999999999H", InvalidValueError, "too long a duration"),
        (3600, InvalidTypeError, "must be an ISO 8601 duration string"),
    ],
)
def test_duration_errors(text: Any, error: type[Exception], words: str) -> None:
    with pytest.raises(error, match=words):
        parse_duration(text)


def test_format_duration_needs_a_timedelta() -> None:
    with pytest.raises(InvalidTypeError, match="'value' must be a timedelta"):
        format_duration(3600)  # type: ignore[arg-type]


def test_decimals() -> None:
    assert parse_decimal("19.990") == Decimal("19.990")
    assert str(parse_decimal("-1.5E+3")) == "-1.5E+3"
    assert format_decimal(Decimal("1E+3")) == "1E+3"
    for bad in ("NaN", "Infinity", "1,5", " 1", "", "1e"):
        with pytest.raises(InvalidValueError, match="must be a decimal number"):
            parse_decimal(bad)
    with pytest.raises(InvalidTypeError, match="written as a string"):
        parse_decimal(19.99)  # type: ignore[arg-type]
    with pytest.raises(InvalidValueError, match="must be a finite Decimal"):
        format_decimal(Decimal("NaN"))
    with pytest.raises(InvalidTypeError, match="must be a Decimal"):
        format_decimal(1.5)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- strict reading


def _doc(**changes: Any) -> dict[str, Any]:
    document = to_dict(made(terms=Terms(quantity=2, max_cost="9.99")))
    for key, value in changes.items():
        if value is _DELETE:
            del document[key]
        else:
            document[key] = value
    return document


_DELETE = object()


@pytest.mark.parametrize(
    ("changes", "path", "words"),
    [
        ({"schema": _DELETE}, "$", "missing 'schema'"),
        ({"schema": "promisekit/x"}, "$.schema", "'schema' must be 'promisekit/1'"),
        ({"schema": 1}, "$.schema", "(got number 1)"),
        ({"schema": "promisekit/0"}, "$.schema", "unsupported schema version"),
        ({"schema": "promisekit/2"}, "$.schema", "(a newer version)"),
        ({"type": _DELETE}, "$", "missing 'type'"),
        ({"type": "promise_forgotten"}, "$.type", "unknown document type"),
        (
            {"type": "promise"},
            "$.type",
            "expected a document of type one of 'action_delivered', 'customer_notified'",
        ),
        ({"colour": "red"}, "$", "unknown field 'colour'"),
        ({"customer_id": _DELETE}, "$", "missing required field 'customer_id'"),
        ({"customer_id": 42}, "$.customer_id", "'customer_id': expected a string (got number 42)"),
        ({"customer_id": " "}, "$.customer_id", "'customer_id' must be a non-empty string"),
        ({"terms": {"quantity": "2"}}, "$.terms.quantity", "expected a number (got string '2')"),
        ({"terms": {"quantity": True}}, "$.terms.quantity", "(got boolean true)"),
        ({"terms": {"quantity": -1}}, "$.terms.quantity", "'quantity' must be >= 0"),
        ({"terms": {"quantity": 10**400}}, "$.terms.quantity", "fits a float"),
        ({"terms": {"max_cost": 9.99}}, "$.terms.max_cost", "written as a string"),
        ({"terms": {"max_cost": "NaN"}}, "$.terms.max_cost", "must be a decimal number"),
        ({"terms": {"colour": "red"}}, "$.terms", "unknown field 'colour'"),
        ({"terms": [2]}, "$.terms", "expected an object (got an array)"),
        ({"metadata": {"a": 1}}, "$.metadata", "expected an object of strings"),
        ({"metadata": ["a"]}, "$.metadata", "expected an object of strings"),
        ({"due": "2026-03-10T10:00:00"}, "$.due", "'due' must be a timezone-aware datetime"),
        ({"due": "tomorrow"}, "$.due", "'due' must be an ISO 8601"),
        ({"due": "2026-03-10T08:00:00Z"}, "$.due", "'due' must not be before 'at'"),
        ({"due": None}, "$.due", "must be a timestamp string (got NoneType None)"),
        ({"at": "2026-03-10T09:00Z[Mars/Olympus]"}, "$.at", "IANA time-zone name"),
    ],
)
def test_strict_reading_errors(changes: dict[str, Any], path: str, words: str) -> None:
    with pytest.raises(SchemaError, match=re.escape(words)) as info:
        from_dict(_doc(**changes), Event)
    assert info.value.path == path
    assert info.value.errors
    assert isinstance(info.value, InvalidValueError)


def test_strict_reading_reports_every_problem() -> None:
    document = _doc(customer_id=5, kind=6)
    with pytest.raises(SchemaError) as info:
        from_dict(document, Event)
    assert len(info.value.errors) == 2
    assert any(e.startswith("$.kind:") for e in info.value.errors)


@pytest.mark.parametrize(
    ("document", "words"),
    [
        ({**to_dict(replay("P-1", [made()]).promise), "revisions": {"0": 1}}, "expected an array"),
        (
            {**to_dict(replay("P-1", [made()]).promise), "revisions": [{"number": 1}]},
            "missing required field 'at'",
        ),
    ],
)
def test_strict_reading_of_arrays(document: dict[str, Any], words: str) -> None:
    with pytest.raises(SchemaError, match=words):
        from_dict(document, Promise)


def test_unknown_enum_value() -> None:
    promise = made().promise
    outcome = assess(promise, [], now=T0)
    document = {**to_dict(outcome), "status": "forgotten"}
    with pytest.raises(SchemaError, match="expected one of 'pending', 'overdue'") as info:
        from_dict(document, Outcome)
    assert info.value.path == "$.status"
    assert from_dict(to_dict(outcome), Outcome).status is Status.PENDING


def test_nested_events_need_a_known_type() -> None:
    document = to_dict(replay("P-1", [made()]))
    document["events"][0]["type"] = "nope"
    with pytest.raises(SchemaError, match="expected an object with 'type' one of") as info:
        from_dict(document, PromiseState)
    assert info.value.path == "$.events[0]"
    document["events"][0] = "E-1"
    with pytest.raises(SchemaError, match="got string 'E-1'"):
        from_dict(document, PromiseState)
    document = to_dict(replay("P-1", [made()]))
    document["made"]["type"] = "customer_notified"
    with pytest.raises(SchemaError, match="expected 'type' 'promise_made'"):
        from_dict(document, PromiseState)


def test_keep_unknown_fields_and_newer_versions() -> None:
    document = _doc(colour="red", schema="promisekit/3")
    document["terms"]["unit_price"] = "1.00"
    decoded = from_dict(document, Event, unknown="keep")
    assert isinstance(decoded, Decoded)
    assert decoded.value == made(terms=Terms(quantity=2, max_cost="9.99"))
    assert decoded.extra == {"$.colour": "red", "$.terms.unit_price": "1.00"}
    assert decoded.schema == "promisekit/3"
    decoded_text = from_json(json.dumps(document), PromiseMade, unknown="keep")
    assert decoded_text.extra == decoded.extra
    clean = from_dict(_doc(), Event, unknown="keep")
    assert clean.extra == {} and clean.schema == SCHEMA


def test_reading_arguments_are_checked() -> None:
    with pytest.raises(InvalidValueError, match="'unknown' must be 'error' or 'keep'"):
        from_dict(_doc(), Event, unknown="ignore")  # type: ignore[call-overload]
    with pytest.raises(InvalidValueError, match="'unknown' must be 'error' or 'keep'"):
        from_json("{}", Event, unknown="drop")  # type: ignore[call-overload]
    with pytest.raises(InvalidTypeError, match="'cls' must be a registered document class"):
        from_dict(_doc(), dict)
    with pytest.raises(SchemaError, match="expected a document object"):
        from_dict([1, 2], Event)  # type: ignore[arg-type]
    with pytest.raises(SchemaError, match="expected a 'promise' document for Promise"):
        from_dict(_doc(), Promise)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("", "not valid JSON"),
        ("{", "not valid JSON: Expecting property name"),
        ('{"schema": NaN}', "NaN is not valid JSON"),
        ('{"schema": -Infinity}', "-Infinity is not valid JSON"),
        ("[1]", "expected a document object (got an array)"),
        ('"x"', "expected a document object (got string 'x')"),
        ("1" * 5000, "Exceeds the limit"),
        ("[" * 100_000 + "]" * 100_000, "not valid JSON"),
        (b'{"a": "\xff"}', "not valid UTF-8 (byte 7"),
    ],
)
def test_from_json_errors(text: str | bytes, words: str) -> None:
    with pytest.raises(SchemaError, match=re.escape(words)):
        from_json(text, Event)


def test_from_json_accepts_bytes_and_refuses_other_types() -> None:
    event = made()
    assert from_json(to_json(event).encode("utf-8"), Event) == event
    assert from_json(bytearray(to_json(event).encode("utf-8")), PromiseMade) == event
    with pytest.raises(InvalidTypeError, match="'text' must be JSON text"):
        from_json(42, Event)  # type: ignore[arg-type]


def test_lone_surrogates_are_refused_both_ways() -> None:
    with pytest.raises(SchemaError, match="lone surrogate"):
        to_json(made(customer_id="C-\ud800"))
    text = to_json(made()).replace('"C-1"', '"C-\\ud800"')
    with pytest.raises(SchemaError, match="lone surrogate") as info:
        from_json(text, Event)
    assert info.value.path == "$.customer_id"


def test_unregistered_values_are_refused() -> None:
    with pytest.raises(InvalidTypeError, match="registered class \\(got object\\)"):
        to_dict(object())
    with pytest.raises(InvalidTypeError, match="registered class"):
        to_json({"a": 1})


# --------------------------------------------------------------------------- extension point


@attrs.frozen
class Callback:
    number: str
    at: datetime
    price: Decimal | None = None


class Opaque:
    def __init__(self, code: str) -> None:
        self.code = code

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Opaque) and other.code == self.code

    def __hash__(self) -> int:
        return hash(self.code)


def _opaque_from(data: dict[str, Any]) -> Opaque:
    code = data.get("code")
    if not isinstance(code, str):
        raise InvalidTypeError(f"'code' must be a string (got {code!r})")
    return Opaque(code)


def test_register_an_attrs_class() -> None:
    register_type(Callback, "test_callback")
    register_type(Callback, "test_callback")  # again: replaces the hooks
    value = Callback("+1 555 0100", T0.astimezone(TORONTO), Decimal("2.50"))
    assert to_dict(value) == {
        "schema": SCHEMA,
        "type": "test_callback",
        "number": "+1 555 0100",
        "at": "2026-03-10T05:00:00-04:00[America/Toronto]",
        "price": "2.50",
    }
    assert_round_trip(value)
    assert registered_types()["test_callback"] is Callback
    with pytest.raises(SchemaError, match="unknown field 'extra'"):
        from_dict({**to_dict(value), "extra": 1}, Callback)


def test_register_custom_hooks() -> None:
    register_type(
        Opaque,
        "test_opaque",
        unstructure=lambda o: {"code": o.code},
        structure=_opaque_from,
        fields=("code",),
    )
    assert to_json(Opaque("X1")) == '{"schema":"promisekit/1","type":"test_opaque","code":"X1"}'
    assert from_json(to_json(Opaque("X1")), Opaque) == Opaque("X1")
    with pytest.raises(SchemaError, match="'code' must be a string"):
        from_dict({"schema": SCHEMA, "type": "test_opaque", "code": 5}, Opaque)
    with pytest.raises(SchemaError, match="unknown field 'more'"):
        from_dict({"schema": SCHEMA, "type": "test_opaque", "code": "a", "more": 1}, Opaque)


@attrs.frozen
class Shape:
    pass


@attrs.frozen
class Square(Shape):
    side: float


@attrs.frozen
class Circle(Shape):
    radius: float


@attrs.frozen
class Drawing:
    shapes: tuple[Shape, ...]


def test_register_kinds_of_a_base() -> None:
    register_type(Square, "test_square", base=Shape)
    register_type(Circle, "test_circle", base=Shape)
    register_type(Drawing, "test_drawing")
    drawing = Drawing((Square(2.0), Circle(1.5)))
    document = to_dict(drawing)
    assert document["shapes"] == [
        {"type": "test_square", "side": 2.0},
        {"type": "test_circle", "radius": 1.5},
    ]
    assert_round_trip(drawing)
    assert from_dict(to_dict(Circle(1.0)), Shape) == Circle(1.0)
    with pytest.raises(SchemaError, match="expected an object with 'type' one of"):
        from_dict({**document, "shapes": [{"side": 1.0}]}, Drawing)


@pytest.mark.parametrize(
    ("args", "kwargs", "error", "words"),
    [
        (("nope", "x"), {}, InvalidTypeError, "'cls' must be a class"),
        ((Callback, "Bad Name"), {}, InvalidValueError, "'name' must be lowercase"),
        ((Callback, "type"), {}, InvalidValueError, "a reserved key"),
        ((Callback, "promise"), {}, InvalidValueError, "already registered for Promise"),
        ((Opaque, "test_opaque2"), {}, InvalidTypeError, "must be an attrs class"),
        ((Opaque, "test_opaque3"), {"structure": _opaque_from}, InvalidTypeError, "together"),
        ((Callback, "test_cb"), {"base": Opaque}, InvalidTypeError, "'base' must be a base"),
    ],
)
def test_register_type_errors(
    args: tuple[Any, ...], kwargs: dict[str, Any], error: type[Exception], words: str
) -> None:
    with pytest.raises(error, match=words):
        register_type(*args, **kwargs)


def test_register_type_refuses_reserved_field_names() -> None:
    @attrs.frozen
    class Typed:
        type: str

    with pytest.raises(InvalidValueError, match="reserved keys"):
        register_type(Typed, "test_typed")


def test_lazy_providers(monkeypatch: pytest.MonkeyPatch) -> None:
    module = types.ModuleType("promisekit_test_provider")

    @attrs.frozen
    class Widget:
        size: int

    Widget.__module__ = module.__name__
    calls: list[str] = []

    def hook(register: Any) -> None:
        calls.append("registered")
        register(Widget, "test_widget")

    module.Widget = Widget  # type: ignore[attr-defined]
    module._register_serialization = hook  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, module.__name__, module)
    # Writing a value of an unknown class asks its module.
    assert to_dict(Widget(3))["type"] == "test_widget"
    assert calls == ["registered"]
    # Reading an unknown type asks every provider once.
    other = types.ModuleType("promisekit_test_provider2")

    @attrs.frozen
    class Gadget:
        size: int

    other._register_serialization = lambda register: register(Gadget, "test_gadget")  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, other.__name__, other)
    monkeypatch.setattr(serialize, "PROVIDERS", (*serialize.PROVIDERS, other.__name__))
    assert from_dict({"schema": SCHEMA, "type": "test_gadget", "size": 1}, Gadget) == Gadget(1)


def test_get_converter_is_shared() -> None:
    assert get_converter() is get_converter()
    assert get_converter().unstructure(Terms(quantity=1)) == {"quantity": 1.0}


# --------------------------------------------------------------------------- JSON Schema


def _schema_text() -> str:
    return json.dumps(event_json_schema(), indent=2, ensure_ascii=False) + "\n"


def test_committed_event_schema_is_up_to_date() -> None:
    if os.environ.get("PROMISEKIT_WRITE_SCHEMA") == "1":
        SCHEMA_FILE.write_text(_schema_text(), encoding="utf-8")
    assert SCHEMA_FILE.read_text(encoding="utf-8") == _schema_text(), (
        "docs/schema/events.schema.json is stale: regenerate it with "
        "PROMISEKIT_WRITE_SCHEMA=1 pytest tests/test_serialize.py -k committed"
    )


def _check(schema: dict[str, Any], value: Any, root: dict[str, Any], path: str = "$") -> list[str]:
    """A small JSON Schema checker for the keywords event_json_schema uses."""
    if "$ref" in schema:
        return _check(root["$defs"][schema["$ref"].rsplit("/", 1)[1]], value, root, path)
    if "oneOf" in schema:
        ok = [s for s in schema["oneOf"] if not _check(s, value, root, path)]
        return [] if len(ok) == 1 else [f"{path}: matches {len(ok)} of oneOf"]
    if "anyOf" in schema:
        return (
            []
            if any(not _check(s, value, root, path) for s in schema["anyOf"])
            else [f"{path}: matches nothing in anyOf"]
        )
    errors = []
    if "const" in schema and value != schema["const"]:
        errors.append(f"{path}: not {schema['const']!r}")
    kind = schema.get("type")
    checks = {
        "string": lambda v: isinstance(v, str),
        "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
        "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
        "object": lambda v: isinstance(v, dict),
        "null": lambda v: v is None,
    }
    if kind is not None and not checks[kind](value):
        return [f"{path}: not {kind}"]
    if "pattern" in schema and not re.search(schema["pattern"], value):
        errors.append(f"{path}: {value!r} does not match {schema['pattern']}")
    if "minimum" in schema and value < schema["minimum"]:
        errors.append(f"{path}: below minimum")
    if kind == "object":
        properties = schema.get("properties", {})
        for name in schema.get("required", ()):
            if name not in value:
                errors.append(f"{path}: missing {name}")
        for name, item in value.items():
            if name in properties:
                errors.extend(_check(properties[name], item, root, f"{path}.{name}"))
            elif schema.get("additionalProperties") is False:
                errors.append(f"{path}: unexpected {name}")
            elif isinstance(schema.get("additionalProperties"), dict):
                errors.extend(_check(schema["additionalProperties"], item, root, f"{path}.{name}"))
        for name, needs in schema.get("dependentRequired", {}).items():
            if name in value and any(n not in value for n in needs):
                errors.append(f"{path}: {name} needs {needs}")
    return errors


@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow])
@given(events())
def test_event_documents_follow_the_schema(event: Event) -> None:
    schema = event_json_schema()
    assert _check(schema, to_dict(event), schema) == []


def test_the_schema_rejects_bad_documents() -> None:
    schema = event_json_schema()
    good = to_dict(made(terms=Terms(quantity=1, unit="kg")))
    assert _check(schema, good, schema) == []
    bad_documents = [
        {**good, "at": "2026-03-10T09:00:00"},
        {**good, "type": "nope"},
        {**good, "colour": "red"},
        {**good, "terms": {"unit": "kg"}},
        {**good, "schema": "promisekit/2"},
        {k: v for k, v in good.items() if k != "due"},
    ]
    for document in bad_documents:
        assert _check(schema, document, schema) != [], document


@settings(max_examples=40, suppress_health_check=[HealthCheck.too_slow])
@given(events())
def test_event_documents_validate_with_jsonschema(event: Event) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    jsonschema.Draft202012Validator(event_json_schema()).validate(to_dict(event))


def test_schema_refuses_with_jsonschema() -> None:
    jsonschema = pytest.importorskip("jsonschema")
    validator = jsonschema.Draft202012Validator(event_json_schema())
    good = to_dict(made())
    assert validator.is_valid(good)
    assert not validator.is_valid({**good, "at": "2026-03-10T09:00:00"})


def test_every_serialize_error_is_a_promisekit_error() -> None:
    assert issubclass(SchemaError, PromiseKitError)
    assert issubclass(SchemaError, ValueError)
