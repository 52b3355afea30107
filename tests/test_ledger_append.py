"""PromiseLedger.append_many checks a batch in one pass: same answers, errors, all or nothing."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from promisekit.errors import InconsistentRecordError, InvalidTypeError, LeaseLostError
from promisekit.ledger import (
    Checkpoint,
    CustomerNotified,
    Event,
    PromiseLedger,
    PromiseMade,
)
from promisekit.testing.events import event_histories

UTC = timezone.utc
T0 = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)


def made(**overrides: Any) -> PromiseMade:
    fields: dict[str, Any] = {
        "id": "E-1",
        "promise_id": "P-1",
        "at": T0,
        "recorded_at": T0,
        "customer_id": "C-1",
        "kind": "callback",
        "due": T0 + timedelta(hours=1),
    }
    fields.update(overrides)
    return PromiseMade(**fields)


def notified(event_id: str, promise_id: str = "P-1") -> CustomerNotified:
    return CustomerNotified(id=event_id, promise_id=promise_id, at=T0, recorded_at=T0)


def snapshot(ledger: PromiseLedger) -> tuple[Any, ...]:
    return (
        ledger.events_since(0),
        ledger.history(),
        ledger.promise_ids(),
        {pid: ledger.history(pid) for pid in ledger.promise_ids()},
    )


def test_a_bad_item_is_reported_before_a_conflict_with_the_ledger() -> None:
    ledger = PromiseLedger([made()])
    before = snapshot(ledger)
    with pytest.raises(InvalidTypeError, match=r"'events\[1\]' must be a ledger Event"):
        ledger.append_many([made(kind="visit"), object()])  # type: ignore[list-item]
    assert snapshot(ledger) == before


def test_a_conflict_inside_the_batch_is_reported_before_one_with_the_ledger() -> None:
    ledger = PromiseLedger([made()])
    with pytest.raises(InconsistentRecordError, match=r"'E-2'.*'channel'"):
        ledger.append_many(
            [made(kind="visit"), notified("E-2"), attrs.evolve(notified("E-2"), channel="sms")]
        )
    assert len(ledger) == 1


def test_a_lost_lease_is_reported_before_a_conflict_with_the_ledger() -> None:
    ledger = PromiseLedger([made()])
    fenced = Checkpoint(name="runner", position=1, holder="me")
    with pytest.raises(LeaseLostError):
        ledger.append_many([made(kind="visit")], checkpoint=fenced)
    assert len(ledger) == 1
    assert ledger.checkpoint("runner") is None


def test_the_first_conflict_with_the_ledger_in_batch_order_is_reported() -> None:
    ledger = PromiseLedger([made(), notified("E-2")])
    with pytest.raises(InconsistentRecordError, match="'E-2'"):
        ledger.append_many(
            [notified("E-3"), attrs.evolve(notified("E-2"), channel="sms"), made(kind="visit")]
        )
    assert len(ledger) == 2


def test_a_repeated_recorded_id_is_compared_with_its_first_occurrence_in_the_batch() -> None:
    ledger = PromiseLedger([made()])
    with pytest.raises(InconsistentRecordError, match="'kind'"):
        ledger.append_many([made(), made(kind="visit")])
    assert ledger.append_many([made(), made(), notified("E-2"), notified("E-2")]) == 1
    assert [e.id for _, e in ledger.events_since(0)] == ["E-1", "E-2"]


def test_a_generator_batch_and_a_second_batch_extend_the_buckets() -> None:
    ledger = PromiseLedger()
    assert ledger.append_many(e for e in [made(), notified("E-2")]) == 2
    assert ledger.append_many([notified("E-3"), made(id="E-4", promise_id="P-2")]) == 2
    assert [e.id for e in ledger.history("P-1")] == ["E-1", "E-2", "E-3"]
    assert ledger.promise_ids() == ("P-1", "P-2")
    assert [p for p, _ in ledger.events_since(0)] == [1, 2, 3, 4]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    histories=st.lists(event_histories(max_events=5), min_size=1, max_size=3),
    data=st.data(),
)
def test_batches_give_the_same_ledger_as_one_event_at_a_time(
    histories: list[list[Event]], data: st.DataObject
) -> None:
    events = [
        attrs.evolve(e, id=f"{i}-{e.id}", promise_id=f"{i}-{e.promise_id}")
        for i, history in enumerate(histories)
        for e in history
    ]
    arrival = data.draw(st.permutations(events + events[: len(events) // 2]))
    cut = data.draw(st.integers(0, len(arrival)))
    one_by_one = PromiseLedger()
    added = [one_by_one.append(e) for e in arrival]
    batched = PromiseLedger()
    count = batched.append_many(arrival[:cut]) + batched.append_many(arrival[cut:])
    assert count == sum(added) == len(events)
    assert snapshot(batched) == snapshot(one_by_one)
    for promise_id in one_by_one.promise_ids():
        assert batched.state(promise_id) == one_by_one.state(promise_id)
