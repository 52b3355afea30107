"""Tests for promisekit.ledger: events, replay semantics, PromiseLedger."""

from __future__ import annotations

import pickle
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from promisekit.calendar import BusinessCalendar
from promisekit.delivery import Outcome, Status
from promisekit.errors import (
    InconsistentRecordError,
    InvalidTypeError,
    InvalidValueError,
    NaiveDatetimeError,
)
from promisekit.ledger import (
    EVENT_TYPES,
    CustomerNotified,
    DeliveryRecorded,
    EscalationFired,
    Event,
    PausedInterval,
    PromiseCancelled,
    PromiseLedger,
    PromiseMade,
    PromisePaused,
    PromiseResumed,
    PromiseRevised,
    PromiseState,
    UnknownPromiseError,
    replay,
)
from promisekit.promise import Promise, Terms
from promisekit.testing.events import event_histories

UTC = timezone.utc
PARIS = ZoneInfo("Europe/Paris")
T0 = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
H = timedelta(hours=1)
M = timedelta(minutes=1)


def made(**overrides: Any) -> PromiseMade:
    fields: dict[str, Any] = {
        "id": "E-made",
        "promise_id": "P-1",
        "at": T0,
        "recorded_at": T0,
        "customer_id": "C-1",
        "kind": "callback",
        "due": T0 + H,
    }
    fields.update(overrides)
    return PromiseMade(**fields)


def common(event_id: str, at: datetime, promise_id: str = "P-1") -> dict[str, Any]:
    return {"id": event_id, "promise_id": promise_id, "at": at, "recorded_at": at}


# --------------------------------------------------------------------------- events


def test_event_types_cover_every_event_class() -> None:
    assert set(EVENT_TYPES) == {
        "promise_made",
        "promise_revised",
        "promise_paused",
        "promise_resumed",
        "customer_notified",
        "delivery_recorded",
        "promise_cancelled",
        "escalation_fired",
        "action_delivered",
        "escalation_failed",
        "message_received",
        "promise_reopened",
    }
    for name, cls in EVENT_TYPES.items():
        assert cls.event_type == name
        assert issubclass(cls, Event)


def test_event_base_class_is_abstract() -> None:
    with pytest.raises(InvalidTypeError, match="abstract base class"):
        Event(**common("E-1", T0))


def test_event_refuses_naive_datetimes() -> None:
    with pytest.raises(NaiveDatetimeError, match="'at' must be a timezone-aware"):
        PromisePaused(**{**common("E-1", T0), "at": datetime(2026, 3, 10, 9, 0)})
    with pytest.raises(NaiveDatetimeError, match="'recorded_at'"):
        PromisePaused(**{**common("E-1", T0), "recorded_at": datetime(2026, 3, 10, 9, 0)})


@pytest.mark.parametrize(
    ("field", "value", "error", "words"),
    [
        ("id", " ", InvalidValueError, "'id' must be a non-empty string"),
        ("id", 7, InvalidTypeError, r"'id' must be a string \(got int 7\)"),
        ("promise_id", "", InvalidValueError, "'promise_id' must be a non-empty"),
        ("at", "2026-03-10", InvalidTypeError, "'at' must be a timezone-aware datetime"),
    ],
)
def test_event_common_fields_are_checked(
    field: str, value: object, error: type[Exception], words: str
) -> None:
    with pytest.raises(error, match=words):
        CustomerNotified(**{**common("E-1", T0), field: value})


def test_promise_made_is_checked_as_a_promise() -> None:
    with pytest.raises(InvalidValueError, match="'due' must not be before 'at'"):
        made(due=T0 - M)
    with pytest.raises(InvalidValueError, match="'target' must be between 'at'"):
        made(target=T0 + 2 * H)
    with pytest.raises(InvalidTypeError, match="'metadata' values must be strings"):
        made(metadata={"a": 1})
    with pytest.raises(InvalidTypeError, match="'terms' must be a Terms"):
        made(terms={"quantity": 2})
    with pytest.raises(InvalidValueError, match="'supersedes' must be the id of another"):
        made(supersedes="P-1")


def test_promise_made_builds_the_promise() -> None:
    event = made(terms=Terms(quantity=2), metadata={"src": "web"}, owner="agent-1")
    assert event.promise == Promise(
        id="P-1",
        customer_id="C-1",
        kind="callback",
        made_at=T0,
        due=T0 + H,
        terms=Terms(quantity=2),
        metadata={"src": "web"},
        owner="agent-1",
    )


def test_promise_made_from_promise_round_trips() -> None:
    promise = made(terms=Terms(max_cost="9.50")).promise
    event = PromiseMade.from_promise(promise, id="E-x", recorded_at=T0 + M)
    assert event.promise == promise
    assert event.recorded_at == T0 + M


def test_promise_made_from_promise_refuses_bad_input() -> None:
    revised = made().promise.revise(due=T0 + 2 * H, at=T0 + M)
    with pytest.raises(InvalidValueError, match="must be unrevised"):
        PromiseMade.from_promise(revised, id="E-x", recorded_at=T0)
    with pytest.raises(InvalidTypeError, match="'promise' must be a Promise"):
        PromiseMade.from_promise("P-1", id="E-x", recorded_at=T0)  # type: ignore[arg-type]


def test_promise_revised_is_checked() -> None:
    with pytest.raises(InvalidValueError, match="'due' must not be before 'at'"):
        PromiseRevised(**common("E-r", T0 + H), due=T0)
    with pytest.raises(InvalidValueError, match="'target' must not be after 'due'"):
        PromiseRevised(**common("E-r", T0), due=T0 + H, target=T0 + 2 * H)


@pytest.mark.parametrize(
    ("kwargs", "error", "words"),
    [
        ({"quantity": -1}, InvalidValueError, "'quantity' must be >= 0"),
        ({"quantity": float("nan")}, InvalidValueError, "'quantity' must be a finite"),
        ({"quantity": 10**400}, InvalidValueError, "too large for a float"),
        ({"quantity": True}, InvalidTypeError, "'quantity' must be a number"),
        ({"quality": "high"}, InvalidTypeError, "'quality' must be a number"),
        ({"cost": "abc"}, InvalidValueError, "'cost' must be a decimal number"),
        ({"cost": -1}, InvalidValueError, "'cost' must be >= 0"),
        ({"note": ""}, InvalidValueError, "'note' must be a non-empty string"),
    ],
)
def test_delivery_recorded_is_checked(
    kwargs: dict[str, Any], error: type[Exception], words: str
) -> None:
    with pytest.raises(error, match=words):
        DeliveryRecorded(**common("E-d", T0), **kwargs)


def test_delivery_recorded_converts_like_delivery() -> None:
    event = DeliveryRecorded(**common("E-d", T0), quantity=2, cost=19.99, note="ok")
    assert event.quantity == 2.0
    assert event.cost == Decimal("19.99")
    delivery = event.delivery()
    assert (delivery.id, delivery.promise_id, delivery.at, delivery.note) == (
        "E-d",
        "P-1",
        T0,
        "ok",
    )


@pytest.mark.parametrize(
    ("kwargs", "error", "words"),
    [
        ({"level": -1}, InvalidValueError, "'level' must be >= 0"),
        ({"level": True}, InvalidTypeError, "'level' must be an int"),
        ({"revision": 1.0}, InvalidTypeError, "'revision' must be an int"),
        ({"rule": " "}, InvalidValueError, "'rule' must be a non-empty"),
        ({"action": None}, InvalidTypeError, "'action' must be a string"),
    ],
)
def test_escalation_fired_is_checked(
    kwargs: dict[str, Any], error: type[Exception], words: str
) -> None:
    fields = {"rule": "overdue", "action": "escalate", "level": 1, "revision": 0, **kwargs}
    with pytest.raises(error, match=words):
        EscalationFired(**common("E-x", T0), **fields)


def test_events_pickle_and_hash() -> None:
    event = made(metadata={"a": "b"}, terms=Terms(quantity=1))
    again = pickle.loads(pickle.dumps(event))
    assert again == event
    assert again.promise == event.promise
    assert len({event, again, PromiseResumed(**common("E-2", T0))}) == 2


def test_order_key_puts_made_first_and_cancelled_last_at_an_instant() -> None:
    a = CustomerNotified(**common("A", T0))
    z = made(id="Z")
    c = PromiseCancelled(**common("0", T0))
    assert sorted([c, a, z], key=Event.order_key) == [z, a, c]


# --------------------------------------------------------------------------- replay


def test_replay_basic_made_and_delivered() -> None:
    events = [made(), DeliveryRecorded(**common("E-d", T0 + 59 * M), quantity=1)]
    state = replay("P-1", events)
    assert state.promise == events[0].promise  # type: ignore[attr-defined]
    assert state.made == events[0]
    assert [d.id for d in state.deliveries] == ["E-d"]
    assert state.events == tuple(events)
    assert state.ignored == ()
    outcome = state.assess(T0 + 2 * H)
    assert isinstance(outcome, Outcome)
    assert outcome.status is Status.KEPT
    assert state.as_of is None and state.known_at is None


def test_events_before_the_promise_was_made_are_ignored_with_a_reason() -> None:
    early = CustomerNotified(**common("E-early", T0 - M))
    state = replay("P-1", [early, made()])
    assert state.notifications == ()
    assert [i.event for i in state.ignored] == [early]
    assert "before the promise was made" in state.ignored[0].reason


def test_events_at_the_instant_the_promise_was_made_apply() -> None:
    same = CustomerNotified(**common("A-first-by-id", T0))
    state = replay("P-1", [same, made(id="Z-made")])
    assert state.notifications == (same,)
    assert state.ignored == ()


def test_a_second_promise_made_event_is_ignored() -> None:
    first, second = made(id="E-1"), made(id="E-2", at=T0 + M, recorded_at=T0 + M, due=T0 + 2 * H)
    state = replay("P-1", [second, first])
    assert state.made == first
    assert state.promise.due == T0 + H
    assert "already made by event 'E-1'" in state.ignored[0].reason


def test_revisions_are_numbered_by_occurrence_not_arrival() -> None:
    r2 = PromiseRevised(**common("A-second", T0 + 40 * M), due=T0 + 3 * H, reason="again")
    r1 = PromiseRevised(**common("Z-first", T0 + 20 * M), due=T0 + 2 * H)
    state = replay("P-1", [r2, made(), r1])
    assert [(r.number, r.due) for r in state.promise.revisions] == [
        (1, T0 + 2 * H),
        (2, T0 + 3 * H),
    ]
    assert state.revision == 2
    assert state.promise.revisions[1].reason == "again"


def test_a_revision_refused_by_revise_is_ignored() -> None:
    same_due = PromiseRevised(**common("E-r", T0 + M), due=T0 + H)
    state = replay("P-1", [made(), same_due])
    assert state.revision == 0
    assert "revision was refused" in state.ignored[0].reason
    assert "'due' must differ from 'previous_due'" in state.ignored[0].reason


def test_revision_target_outside_the_promise_is_ignored() -> None:
    bad = PromiseRevised(**common("E-r", T0 + 30 * M), due=T0 + 2 * H, target=T0 - M)
    state = replay("P-1", [made(), bad])
    assert state.revision == 0
    assert "'target' must be between" in state.ignored[0].reason


def test_pause_and_resume_intervals() -> None:
    events = [
        made(),
        PromisePaused(**common("E-p1", T0 + 10 * M), reason="waiting on customer"),
        PromisePaused(**common("E-p2", T0 + 12 * M)),  # already paused
        PromiseResumed(**common("E-r1", T0 + 20 * M)),
        PromiseResumed(**common("E-r2", T0 + 25 * M)),  # not paused
        PromisePaused(**common("E-p3", T0 + 30 * M)),
    ]
    state = replay("P-1", events)
    assert state.paused_intervals == (
        PausedInterval(start=T0 + 10 * M, end=T0 + 20 * M, reason="waiting on customer"),
        PausedInterval(start=T0 + 30 * M),
    )
    assert state.is_paused
    assert state.paused_time(T0 + 40 * M) == 20 * M
    assert state.paused_time(T0 + 15 * M) == 5 * M
    assert state.paused_time(T0) == timedelta(0)
    reasons = {i.event.id: i.reason for i in state.ignored}
    assert "already paused since" in reasons["E-p2"]
    assert reasons["E-r2"] == "the promise was not paused"


def test_paused_interval_duration_needs_an_aware_now() -> None:
    with pytest.raises(NaiveDatetimeError, match="'now'"):
        PausedInterval(start=T0).duration(datetime(2026, 3, 10))


def test_cancellation_is_final() -> None:
    events = [
        made(),
        PromisePaused(**common("E-p", T0 + 10 * M)),
        PromiseCancelled(**common("E-c", T0 + 20 * M), reason="customer gave up"),
        DeliveryRecorded(**common("E-d", T0 + 30 * M)),
        PromiseRevised(**common("E-r", T0 + 30 * M), due=T0 + 3 * H),
        PromiseResumed(**common("E-res", T0 + 30 * M)),
        PromiseCancelled(**common("E-c2", T0 + 40 * M)),
        CustomerNotified(**common("E-n", T0 + 25 * M), channel="sms"),
        EscalationFired(
            **common("E-x", T0 + 50 * M), rule="r", action="notify", level=0, revision=0
        ),
    ]
    state = replay("P-1", events)
    assert state.cancelled
    assert state.cancelled_at == T0 + 20 * M
    assert state.cancellation is not None and state.cancellation.reason == "customer gave up"
    assert state.paused_intervals == (PausedInterval(start=T0 + 10 * M, end=T0 + 20 * M),)
    assert state.deliveries == ()
    assert state.revision == 0
    assert [n.id for n in state.notifications] == ["E-n"]
    assert [e.id for e in state.escalations] == ["E-x"]
    ignored = {i.event.id: i.reason for i in state.ignored}
    assert set(ignored) == {"E-d", "E-r", "E-res", "E-c2"}
    assert all("after the promise was cancelled" in reason for reason in ignored.values())
    assert not state.is_open(T0 + 30 * M)
    assert state.is_open(T0 + 15 * M)


def test_notifications_and_escalations() -> None:
    events = [
        made(),
        CustomerNotified(**common("E-n1", T0 + 5 * M), channel="sms", message="on our way"),
        CustomerNotified(**common("E-n2", T0 + 15 * M)),
        PromiseRevised(**common("E-r", T0 + 20 * M), due=T0 + 2 * H),
        EscalationFired(
            **common("E-x", T0 + 30 * M), rule="overdue", action="escalate", level=1, revision=1
        ),
    ]
    state = replay("P-1", events)
    assert state.last_notified_at == T0 + 15 * M
    assert state.last_event_at == T0 + 30 * M
    assert state.escalated("overdue")
    assert state.escalated("overdue", revision=1)
    assert not state.escalated("overdue", revision=0)
    assert not state.escalated("silence")
    assert replay("P-1", [made()]).last_notified_at is None


def test_replay_at_an_instant_and_known_at() -> None:
    late_record = DeliveryRecorded(
        id="E-d", promise_id="P-1", at=T0 + 30 * M, recorded_at=T0 + 5 * H
    )
    events = [made(), late_record]
    before = replay("P-1", events, at=T0 + 20 * M)
    assert before.deliveries == ()
    assert before.as_of == T0 + 20 * M
    assert replay("P-1", events, at=T0 + 30 * M).deliveries != ()
    known = replay("P-1", events, known_at=T0 + 2 * H)
    assert known.deliveries == ()
    assert known.assess(T0 + 2 * H).status is Status.OVERDUE
    assert replay("P-1", events).assess(T0 + 2 * H).status is Status.KEPT


def test_replay_before_the_promise_was_made_is_an_unknown_promise() -> None:
    with pytest.raises(UnknownPromiseError, match="had not been made as of at"):
        replay("P-1", [made()], at=T0 - M)
    with pytest.raises(UnknownPromiseError, match="known at"):
        replay("P-1", [made(recorded_at=T0 + H)], known_at=T0)


def test_replay_without_promise_made_is_an_unknown_promise() -> None:
    with pytest.raises(UnknownPromiseError, match="1 event\\(s\\) but no promise_made") as info:
        replay("P-1", [CustomerNotified(**common("E-n", T0))])
    assert info.value.promise_id == "P-1"
    assert isinstance(info.value, LookupError)
    assert isinstance(info.value, ValueError)


def test_replay_refuses_bad_input() -> None:
    with pytest.raises(InconsistentRecordError, match="about promise 'P-2'"):
        replay("P-1", [made(), CustomerNotified(**common("E-n", T0, "P-2"))])
    with pytest.raises(InconsistentRecordError, match="'E-made' is already recorded"):
        replay("P-1", [made(), made(due=T0 + 2 * H)])
    with pytest.raises(InvalidTypeError, match="'events' must be an iterable of Event"):
        replay("P-1", made())  # type: ignore[arg-type]
    with pytest.raises(InvalidTypeError, match=r"'events\[1\]' must be a ledger Event"):
        replay("P-1", [made(), "E-2"])  # type: ignore[list-item]
    with pytest.raises(InvalidValueError, match="'promise_id' must be a non-empty"):
        replay("", [made()])
    with pytest.raises(NaiveDatetimeError, match="'at'"):
        replay("P-1", [made()], at=datetime(2026, 3, 10))


def test_replay_ignores_exact_duplicates() -> None:
    event = made()
    copy = pickle.loads(pickle.dumps(event))
    assert replay("P-1", [event, copy]) == replay("P-1", [event])


def test_state_assess_with_a_calendar_and_checks_now() -> None:
    state = replay("P-1", [made(), DeliveryRecorded(**common("E-d", T0 + 2 * H))])
    calendar = BusinessCalendar.always_open("UTC")
    outcome = state.assess(T0 + 3 * H, calendar=calendar)
    assert outcome.status is Status.LATE
    assert outcome.business_lateness == H
    with pytest.raises(InvalidValueError, match="'now' must not be before the promise's"):
        state.assess(T0 - M)
    with pytest.raises(NaiveDatetimeError, match="'now'"):
        state.is_open(datetime(2026, 3, 10, 12))


# --------------------------------------------------------------------------- ledger


def test_ledger_append_is_idempotent_and_detects_conflicts() -> None:
    ledger = PromiseLedger()
    assert ledger.append(made())
    assert not ledger.append(made())
    with pytest.raises(InconsistentRecordError, match="event id 'E-made'") as info:
        ledger.append(made(due=T0 + 2 * H))
    assert "'due' (recorded 2026-03-10T10:00:00+00:00, got 2026-03-10T11:00:00+00:00)" in str(
        info.value
    )
    assert len(ledger) == 1


def test_ledger_conflict_on_same_instant_in_another_zone() -> None:
    ledger = PromiseLedger([made()])
    with pytest.raises(InconsistentRecordError, match=r"'at'.*\[Europe/Paris\]"):
        ledger.append(made(at=T0.astimezone(PARIS)))


def test_ledger_conflict_between_event_types() -> None:
    ledger = PromiseLedger([PromisePaused(**common("E-1", T0))])
    with pytest.raises(InconsistentRecordError, match="recorded as promise_paused, got"):
        ledger.append(PromiseResumed(**common("E-1", T0)))


def test_ledger_append_refuses_non_events() -> None:
    with pytest.raises(InvalidTypeError, match="'event' must be a ledger Event"):
        PromiseLedger().append({"id": "E-1"})  # type: ignore[arg-type]


def test_ledger_append_many_is_all_or_nothing() -> None:
    ledger = PromiseLedger([made()])
    good = CustomerNotified(**common("E-n", T0 + M))
    with pytest.raises(InconsistentRecordError, match="'E-made'"):
        ledger.append_many([good, made(kind="repair")])
    assert len(ledger) == 1
    with pytest.raises(InvalidTypeError, match=r"'events\[1\]'"):
        ledger.append_many([good, None])  # type: ignore[list-item]
    with pytest.raises(InconsistentRecordError, match="'E-n'"):
        ledger.append_many([good, CustomerNotified(**common("E-n", T0 + 2 * M))])
    assert len(ledger) == 1
    assert ledger.append_many([good, good, made()]) == 1
    assert len(ledger) == 2
    with pytest.raises(InvalidTypeError, match="'events' must be an iterable"):
        ledger.append_many(good)  # type: ignore[arg-type]


def test_ledger_queries() -> None:
    events = [
        made(),
        made(id="E-made-2", promise_id="P-2", at=T0 + M, recorded_at=T0 + M),
        DeliveryRecorded(**common("E-d", T0 + 5 * M)),
    ]
    ledger = PromiseLedger(reversed(events))
    assert ledger.history() == (events[0], events[1], events[2])
    assert ledger.history("P-1") == (events[0], events[2])
    assert ledger.history("P-404") == ()
    assert list(ledger) == list(ledger.history())
    assert ledger.promise_ids() == ("P-1", "P-2")
    assert "E-d" in ledger and "E-404" not in ledger
    assert ledger.get("E-d") == events[2]
    assert ledger.get("E-404") is None
    assert repr(ledger) == "PromiseLedger(3 events, 2 promises)"
    assert ledger.state("P-1").deliveries[0].id == "E-d"
    with pytest.raises(UnknownPromiseError, match="'P-404' has no event in the ledger"):
        ledger.state("P-404")


def test_ledger_open_promises() -> None:
    ledger = PromiseLedger(
        [
            made(promise_id="P-kept", id="E-1"),
            DeliveryRecorded(**common("E-2", T0 + M, "P-kept")),
            made(promise_id="P-overdue", id="E-3", due=T0 + M),
            made(promise_id="P-pending", id="E-4", due=T0 + 5 * H),
            made(promise_id="P-cancelled", id="E-5"),
            PromiseCancelled(**common("E-6", T0 + M, "P-cancelled")),
            made(promise_id="P-later", id="E-7", at=T0 + 3 * H, recorded_at=T0, due=T0 + 4 * H),
            CustomerNotified(**common("E-8", T0, "P-orphan")),
        ]
    )
    now = T0 + 2 * H
    open_states = ledger.open_promises(now)
    assert [s.promise_id for s in open_states] == ["P-overdue", "P-pending"]
    assert all(isinstance(s, PromiseState) and s.as_of == now for s in open_states)
    assert [s.promise_id for s in ledger.open_promises(T0)] == [
        "P-cancelled",
        "P-kept",
        "P-overdue",
        "P-pending",
    ]
    with pytest.raises(NaiveDatetimeError, match="'now'"):
        ledger.open_promises(datetime(2026, 3, 10))


def test_ledger_state_at_and_known_at() -> None:
    ledger = PromiseLedger(
        [made(), DeliveryRecorded(id="E-d", promise_id="P-1", at=T0 + M, recorded_at=T0 + H)]
    )
    assert ledger.state("P-1", at=T0).deliveries == ()
    assert ledger.state("P-1", known_at=T0 + 2 * M).deliveries == ()
    assert len(ledger.state("P-1", known_at=T0 + H).deliveries) == 1
    with pytest.raises(UnknownPromiseError, match="had not been made"):
        ledger.state("P-1", at=T0 - M)


# --------------------------------------------------------------------------- properties


@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow])
@given(history=event_histories(max_events=12), data=st.data())
def test_state_is_a_function_of_the_set_of_events(
    history: list[Event], data: st.DataObject
) -> None:
    promise_id = history[0].promise_id
    expected = replay(promise_id, history)
    shuffled = data.draw(st.permutations(history), label="order")
    repeats = data.draw(st.lists(st.sampled_from(history), max_size=5), label="repeats")
    arrival = list(shuffled)
    for repeat in repeats:
        arrival.insert(data.draw(st.integers(0, len(arrival)), label="where"), repeat)
    assert replay(promise_id, arrival) == expected
    ledger = PromiseLedger()
    for event in arrival:
        ledger.append(event)
    assert ledger.state(promise_id) == expected
    assert PromiseLedger(arrival).state(promise_id) == expected
    # Nothing is dropped: every event is applied or listed as ignored.
    seen = {e.id for e in expected.events} | {i.event.id for i in expected.ignored}
    assert seen == {e.id for e in history}
    # Replays at any instant agree too.
    instant = data.draw(st.sampled_from(history), label="instant").at
    try:
        at_instant = replay(promise_id, history, at=instant)
    except UnknownPromiseError:
        with pytest.raises(UnknownPromiseError):
            ledger.state(promise_id, at=instant)
    else:
        assert ledger.state(promise_id, at=instant) == at_instant


@settings(max_examples=30)
@given(history=event_histories(max_events=8))
def test_every_state_plugs_into_assess(history: list[Event]) -> None:
    state = replay(history[0].promise_id, history)
    last = max((e.at for e in history), key=lambda d: d.astimezone(UTC))
    now = max(last, state.promise.made_at, key=lambda d: d.astimezone(UTC))
    outcome = state.assess(now)
    assert outcome.promise_id == state.promise_id
    assert state.is_open(now) == (not state.cancelled and outcome.is_open)
    assert state.paused_time(now) >= timedelta(0)
