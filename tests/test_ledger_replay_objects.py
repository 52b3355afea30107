"""Replay builds its pauses and deliveries from valid events without checking them again:
they must be exactly the objects the checked constructors give."""

from __future__ import annotations

import pickle

from hypothesis import HealthCheck, given, settings

from promisekit.delivery import Delivery
from promisekit.ledger import DeliveryRecorded, Event, PausedInterval, replay
from promisekit.testing.events import event_histories


def _fields(value: object) -> dict[str, tuple[type, object]]:
    import attrs

    return {
        f.name: (type(getattr(value, f.name)), getattr(value, f.name))
        for f in attrs.fields(type(value))
    }


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(history=event_histories(max_events=10))
def test_pauses_and_deliveries_equal_the_checked_constructions(history: list[Event]) -> None:
    state = replay(history[0].promise_id, history)
    recorded = [e for e in state.events if isinstance(e, DeliveryRecorded)]
    assert len(recorded) == len(state.deliveries)
    for event, delivery in zip(recorded, state.deliveries, strict=True):
        checked = event.delivery()
        assert type(delivery) is Delivery
        assert _fields(delivery) == _fields(checked)
        assert delivery == checked and hash(delivery) == hash(checked)
        assert repr(delivery) == repr(checked)
        assert pickle.loads(pickle.dumps(delivery)) == checked
    for interval in state.paused_intervals:
        checked_interval = PausedInterval(
            start=interval.start, end=interval.end, reason=interval.reason
        )
        assert _fields(interval) == _fields(checked_interval)
        assert hash(interval) == hash(checked_interval)
        assert pickle.loads(pickle.dumps(interval)) == checked_interval
