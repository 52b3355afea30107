"""The stores' fast path (promisekit._serialize_trusted): the writer is to_json exactly, and
the trusted reader builds, from a document it wrote, the event from_json would build."""

from __future__ import annotations

import pickle
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import attrs
import pytest
from dateutil import tz as dateutil_tz
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from promisekit._serialize_trusted import event_text, read_datetime, trusted_event
from promisekit.errors import PromiseKitError
from promisekit.ledger import (
    ActionDelivered,
    EscalationFailed,
    EscalationFired,
    Event,
    PromiseMade,
)
from promisekit.promise import Terms
from promisekit.serialize import format_datetime, from_json, parse_datetime, to_json
from promisekit.testing.events import events
from promisekit.testing.strategies import aware_datetimes

T0 = datetime(2026, 3, 10, 9, 0, tzinfo=timezone.utc)
TORONTO = ZoneInfo("America/Toronto")
SETTINGS = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def fields_of(value: object) -> dict[str, tuple[type, Any]]:
    """Every attrs field (init or not) with the type and value it holds."""
    return {
        f.name: (type(getattr(value, f.name)), getattr(value, f.name))
        for f in attrs.fields(type(value))
    }


def assert_same_event(fast: Event | None, checked: Event) -> None:
    assert fast is not None
    assert type(fast) is type(checked)
    assert fields_of(fast) == fields_of(checked)
    for name, (_, value) in fields_of(checked).items():
        if isinstance(value, datetime):  # same zone object kind, offset and fold
            other = getattr(fast, name)
            assert (other.tzinfo, other.fold, other.utcoffset()) == (
                value.tzinfo,
                value.fold,
                value.utcoffset(),
            )
    assert fast == checked and hash(fast) == hash(checked)
    assert repr(fast) == repr(checked)
    assert to_json(fast) == to_json(checked)
    assert pickle.loads(pickle.dumps(fast)) == checked
    if isinstance(checked, PromiseMade):
        assert isinstance(fast, PromiseMade)
        assert fields_of(fast.promise) == fields_of(checked.promise)
        assert fast.promise == checked.promise and hash(fast.promise) == hash(checked.promise)


JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3)
    ),
    max_leaves=8,
)
TEXT = st.text(min_size=1, max_size=8).filter(str.strip)


@st.composite
def terms(draw: st.DrawFn) -> Terms:
    quantity = draw(st.none() | st.floats(0, 1e6))
    max_cost = draw(st.none() | st.decimals(0, 1000, places=2))
    return Terms(
        quantity=quantity,
        unit=None if quantity is None else draw(st.none() | TEXT),
        quality=draw(st.none() | st.floats(-5, 5)),
        max_cost=max_cost,
        currency=None if max_cost is None else draw(st.none() | st.just("EUR")),
    )


@st.composite
def more_events(draw: st.DrawFn) -> Event:
    """Every event type with its rarer fields (documents, keys, retries, metadata…)."""
    at = draw(aware_datetimes())
    common: dict[str, Any] = {
        "id": draw(TEXT),
        "promise_id": draw(TEXT),
        "at": at,
        "recorded_at": draw(aware_datetimes()),
    }
    kind = draw(st.sampled_from(["fired", "delivered", "failed", "made"]))
    if kind == "fired":
        return EscalationFired(
            **common,
            rule=draw(TEXT),
            action=draw(TEXT),
            level=draw(st.integers(0, 5)),
            revision=draw(st.integers(0, 5)),
            occurrence=draw(st.integers(1, 3)),
            key=draw(st.none() | TEXT),
            document=draw(
                st.none() | st.dictionaries(st.text(max_size=4), JSON_VALUES, max_size=4)
            ),
        )
    if kind == "delivered":
        return ActionDelivered(**common, key=draw(TEXT), attempt=draw(st.integers(1, 9)))
    if kind == "failed":
        return EscalationFailed(
            **common,
            rule=draw(st.none() | TEXT),
            action=draw(st.none() | TEXT),
            key=draw(st.none() | TEXT),
            error=draw(TEXT),
            attempt=draw(st.integers(1, 9)),
            retry_at=draw(st.none() | aware_datetimes()),
        )
    due = (at.astimezone(timezone.utc) + timedelta(hours=draw(st.integers(0, 48)))).astimezone(
        at.tzinfo
    )
    return PromiseMade(
        **common,
        customer_id=draw(TEXT),
        kind=draw(TEXT),
        due=due,
        target=draw(st.none() | st.just(due)),
        terms=draw(st.none() | terms()),
        segment=draw(st.none() | TEXT),
        owner=draw(st.none() | TEXT),
        commitment=draw(st.none() | TEXT),
        metadata=draw(st.none() | st.dictionaries(st.text(max_size=4), st.text(max_size=4))),
        supersedes=draw(st.none() | st.just("P-other")),
    )


@SETTINGS
@given(event=events() | more_events())
def test_the_writer_is_to_json_and_the_trusted_reader_is_from_json(event: Event) -> None:
    text = to_json(event)
    assert event_text(event) == text
    checked = from_json(text, Event)
    assert_same_event(trusted_event(text), checked)
    assert trusted_event(text) == event  # (metadata keys come back sorted, as from_json gives)


@SETTINGS
@given(value=aware_datetimes())
def test_datetimes_read_back_exactly(value: datetime) -> None:
    text = format_datetime(value)
    assert read_datetime(text) == parse_datetime(text)
    back = read_datetime(text)
    assert format_datetime(back) == text
    assert (back.tzinfo, back.fold) == (parse_datetime(text).tzinfo, parse_datetime(text).fold)


@pytest.mark.parametrize(
    "value",
    [
        datetime(2026, 11, 1, 1, 30, tzinfo=TORONTO, fold=0),
        datetime(2026, 11, 1, 1, 30, tzinfo=TORONTO, fold=1),
        datetime(2026, 3, 8, 2, 30, tzinfo=TORONTO, fold=0),  # skipped by the change to DST
        datetime(2026, 3, 8, 2, 30, tzinfo=TORONTO, fold=1),
        datetime(1883, 11, 18, 12, 3, 58, tzinfo=TORONTO),  # local mean time, odd seconds
        datetime(1883, 11, 18, 12, 3, 58, tzinfo=TORONTO, fold=1),
        datetime(2026, 6, 1, 12, 0, tzinfo=ZoneInfo("Australia/Lord_Howe")),
        datetime(2026, 4, 5, 1, 45, tzinfo=ZoneInfo("Australia/Lord_Howe"), fold=1),
        datetime(2026, 3, 10, 9, 0, 0, 123, tzinfo=timezone(timedelta(hours=5, seconds=7))),
        datetime(2026, 3, 10, 9, 0, tzinfo=timezone(-timedelta(hours=3, minutes=30))),
        datetime(1, 1, 1, 12, 0, tzinfo=timezone.utc),
        datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=timezone.utc),
    ],
)
def test_folds_offsets_and_extremes(value: datetime) -> None:
    event = attrs.evolve(
        ActionDelivered(id="E", promise_id="P", at=T0, recorded_at=T0, key="k", attempt=1),
        at=value,
    )
    assert event_text(event) == to_json(event)
    assert_same_event(trusted_event(to_json(event)), from_json(to_json(event), Event))
    assert read_datetime(format_datetime(value)).fold == parse_datetime(format_datetime(value)).fold


def _error(call: Any) -> tuple[type[BaseException], str]:
    with pytest.raises(PromiseKitError) as caught:
        call()
    return type(caught.value), str(caught.value)


@pytest.mark.parametrize(
    "zone",
    [
        dateutil_tz.gettz("Europe/Paris"),
        timezone(timedelta(hours=1), "CET"),
        "keyless",
    ],
)
def test_the_writer_refuses_what_to_json_refuses(zone: Any) -> None:
    if zone == "keyless":  # a ZoneInfo read from a file has no key
        path = Path("/usr/share/zoneinfo/Europe/Paris")
        if not path.exists():
            pytest.skip("no system zone database")
        with path.open("rb") as handle:
            zone = ZoneInfo.from_file(handle)
    event = ActionDelivered(
        id="E", promise_id="P", at=T0.astimezone(zone), recorded_at=T0, key="k", attempt=1
    )
    assert _error(lambda: event_text(event)) == _error(lambda: to_json(event))


def test_an_unnamed_timezone_is_written_after_a_named_one_with_the_same_offset() -> None:
    named = ActionDelivered(
        id="E",
        promise_id="P",
        at=T0.astimezone(timezone(timedelta(hours=1), "CET")),
        recorded_at=T0,
        key="k",
        attempt=1,
    )
    plain = attrs.evolve(named, at=T0.astimezone(timezone(timedelta(hours=1))))
    assert event_text(plain) == to_json(plain)
    assert _error(lambda: event_text(named)) == _error(lambda: to_json(named))
    assert event_text(plain) == to_json(plain)


def test_a_lone_surrogate_is_the_same_schema_error() -> None:
    event = ActionDelivered(id="E", promise_id="P", at=T0, recorded_at=T0, key="k\ud800", attempt=1)
    assert _error(lambda: event_text(event)) == _error(lambda: to_json(event))


def _document() -> str:
    return to_json(
        EscalationFired(
            id="E",
            promise_id="P",
            at=T0,
            recorded_at=T0,
            rule="r",
            action="a",
            level=0,
            revision=0,
            document={"n": 1},
        )
    )


@pytest.mark.parametrize(
    "edit",
    [
        lambda s: s.replace('"promisekit/1"', '"promisekit/2"'),
        lambda s: s.replace('"escalation_fired"', '"escalation_exploded"'),
        lambda s: s.replace('"rule":"r"', '"rule":"r","colour":"red"'),
        lambda s: s.replace('"rule":"r",', ""),
        lambda s: s.replace("+00:00", "+00:00[Mars/Olympus]"),
        lambda s: s.replace("2026-03-10T09:00:00+00:00", "2026-03-10T09:00:00[UTC]"),
        lambda s: s.replace("2026-03-10T09:00:00+00:00", "yesterday"),
        lambda s: s[:-1],
        lambda s: "[]",
    ],
)
def test_the_trusted_reader_gives_up_on_any_other_form(edit: Any) -> None:
    assert trusted_event(_document()) is not None
    assert trusted_event(edit(_document())) is None


def test_a_float_field_must_be_a_float() -> None:
    event = to_json(
        attrs.evolve(
            from_json(
                '{"schema":"promisekit/1","type":"delivery_recorded","id":"E","promise_id":"P",'
                '"at":"2026-03-10T09:00:00+00:00","recorded_at":"2026-03-10T09:00:00+00:00",'
                '"quantity":2.0,"cost":"1.50"}',
                Event,
            )
        )
    )
    assert_same_event(trusted_event(event), from_json(event, Event))
    assert trusted_event(event.replace('"quantity":2.0', '"quantity":2')) is None
    assert isinstance(from_json(event, Event).cost, Decimal)


@pytest.mark.parametrize(
    ("at", "recorded_at"),
    [
        (  # the same wall time and zone, the other fold: another offset
            datetime(2026, 11, 1, 1, 30, tzinfo=TORONTO, fold=0),
            datetime(2026, 11, 1, 1, 30, tzinfo=TORONTO, fold=1),
        ),
        (  # the same instant in two zones
            datetime(2026, 3, 10, 13, 0, tzinfo=timezone.utc),
            datetime(2026, 3, 10, 9, 0, tzinfo=TORONTO),
        ),
        (  # equal zones that are not the same object
            datetime(2026, 3, 10, 9, 0, tzinfo=timezone(timedelta(hours=2))),
            datetime(2026, 3, 10, 9, 0, tzinfo=timezone(timedelta(hours=2))),
        ),
        (T0, T0),
    ],
)
def test_a_datetime_is_written_again_only_when_its_text_is_the_same(
    at: datetime, recorded_at: datetime
) -> None:
    event = ActionDelivered(
        id="E", promise_id="P", at=at, recorded_at=recorded_at, key="k", attempt=1
    )
    assert event_text(event) == to_json(event)
    assert_same_event(trusted_event(to_json(event)), from_json(to_json(event), Event))
