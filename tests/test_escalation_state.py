"""TrackedPromise.from_state reads a ledger state in full (issue 13).

Deliveries complete the promise (by the state's own assessment), so a promise delivered
early never goes overdue; revisions, pauses, notifications and cancellation are read too.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from promisekit.escalation import (
    BufferZone,
    EscalationPolicy,
    Escalator,
    NotifyOwner,
    OverdueBy,
    Pause,
    Rule,
    TrackedPromise,
)
from promisekit.ledger import (
    CustomerNotified,
    DeliveryRecorded,
    Event,
    PromiseCancelled,
    PromiseLedger,
    PromiseMade,
    PromisePaused,
    PromiseResumed,
    PromiseRevised,
)
from promisekit.promise import Terms

UTC = timezone.utc
T0 = datetime(2026, 3, 10, 9, tzinfo=UTC)
H = timedelta(hours=1)
MIN = timedelta(minutes=1)
OVERDUE = EscalationPolicy(
    [
        Rule("overdue", OverdueBy(0), NotifyOwner()),
        Rule("very-late", OverdueBy(hours=4), NotifyOwner(), level=2),
    ]
)


def made(**kwargs: Any) -> PromiseMade:
    return PromiseMade(
        id="e-made",
        promise_id="P-1",
        at=T0,
        recorded_at=T0,
        customer_id="C-1",
        kind="repair",
        due=T0 + 8 * H,
        **kwargs,
    )


def ledger(*events: Event) -> PromiseLedger:
    return PromiseLedger([made(), *events])


def delivered(at: datetime, n: int = 1, **kwargs: Any) -> DeliveryRecorded:
    return DeliveryRecorded(id=f"e-del-{n}", promise_id="P-1", at=at, recorded_at=at, **kwargs)


def test_a_promise_delivered_50_minutes_early_never_goes_overdue() -> None:
    early = T0 + 8 * H - 50 * MIN
    state = ledger(delivered(early)).state("P-1")
    track = TrackedPromise.from_state(state)
    assert track.completed_at == early
    # Evaluated directly, and through the scheduler the runner uses.
    assert len(OVERDUE.evaluate(track, T0 + 100 * H)) == 0
    escalator = Escalator(OVERDUE)
    escalator.add(track)
    assert escalator.next_check() is None
    assert escalator.advance(T0 + 100 * H) == []
    # The same promise without the delivery does go overdue.
    open_track = TrackedPromise.from_state(ledger().state("P-1"))
    assert [e.rule for e in OVERDUE.evaluate(open_track, T0 + 100 * H)] == [
        "overdue",
        "very-late",
    ]


def test_completion_uses_the_states_own_assessment() -> None:
    # A quantity term: two partial deliveries; the promise completes with the second.
    events = PromiseLedger(
        [
            made(terms=Terms(quantity=10)),
            delivered(T0 + 2 * H, 1, quantity=4),
            delivered(T0 + 9 * H, 2, quantity=6),
        ]
    )
    track = TrackedPromise.from_state(events.state("P-1"))
    assert track.completed_at == T0 + 9 * H
    assert [e.rule for e in OVERDUE.evaluate(track, T0 + 100 * H)] == ["overdue"]
    # As of an instant before the second delivery: still open.
    before = TrackedPromise.from_state(events.state("P-1", at=T0 + 5 * H))
    assert before.completed_at is None
    # ``completed_at=`` still overrides what the deliveries say.
    forced = TrackedPromise.from_state(events.state("P-1"), completed_at=T0 + 20 * H)
    assert forced.completed_at == T0 + 20 * H


def test_cancellation_and_delivery_the_earlier_closes() -> None:
    state = ledger(
        delivered(T0 + 3 * H),
        PromiseCancelled(id="e-cancel", promise_id="P-1", at=T0 + 5 * H, recorded_at=T0 + 5 * H),
    ).state("P-1")
    assert TrackedPromise.from_state(state).completed_at == T0 + 3 * H
    cancelled = ledger(
        PromiseCancelled(id="e-cancel", promise_id="P-1", at=T0 + 5 * H, recorded_at=T0 + 5 * H),
    ).state("P-1")
    assert TrackedPromise.from_state(cancelled).completed_at == T0 + 5 * H


def test_pauses_revisions_and_notifications_are_read() -> None:
    state = ledger(
        PromisePaused(id="e-p1", promise_id="P-1", at=T0 + H, recorded_at=T0 + H),
        PromiseResumed(id="e-r1", promise_id="P-1", at=T0 + 3 * H, recorded_at=T0 + 3 * H),
        CustomerNotified(id="e-n1", promise_id="P-1", at=T0 + 4 * H, recorded_at=T0 + 4 * H),
        PromiseRevised(
            id="e-rev",
            promise_id="P-1",
            at=T0 + 5 * H,
            recorded_at=T0 + 5 * H,
            due=T0 + 12 * H,
            target=T0 + 10 * H,
        ),
    ).state("P-1")
    track = TrackedPromise.from_state(state)
    assert track.pauses == (Pause(T0 + H, T0 + 3 * H),)
    assert [u.at for u in track.updates] == [T0 + 4 * H]
    assert track.promise.revision == 1 and track.promise.due == T0 + 12 * H
    assert track.promise.target == T0 + 10 * H
    assert track.past_targets == (None,)
    assert track.completed_at is None
    # Revised at 5 h to 12 h, with 2 h paused before the revision: due at 12 h.
    assert track.effective_due() == T0 + 12 * H
    assert [e.triggered_at for e in OVERDUE.evaluate(track, T0 + 100 * H)] == [
        T0 + 12 * H,
        T0 + 16 * H,
    ]
    assert BufferZone("red").becomes_true(track) is not None


def test_an_empty_pause_is_dropped() -> None:
    # Paused and resumed at the same instant: the ledger keeps a pause with start == end,
    # which stopped no clock. It is dropped (a Pause must end after it starts).
    state = ledger(
        PromisePaused(id="e-p1", promise_id="P-1", at=T0 + H, recorded_at=T0 + H),
        PromiseResumed(id="e-r1", promise_id="P-1", at=T0 + H, recorded_at=T0 + H),
        PromisePaused(id="e-p2", promise_id="P-1", at=T0 + 2 * H, recorded_at=T0 + 2 * H),
        PromiseResumed(id="e-r2", promise_id="P-1", at=T0 + 3 * H, recorded_at=T0 + 3 * H),
    ).state("P-1")
    assert len(state.paused_intervals) == 2
    track = TrackedPromise.from_state(state)
    assert track.pauses == (Pause(T0 + 2 * H, T0 + 3 * H),)
    assert track.effective_due() == T0 + 9 * H
    # Paused and cancelled at the same instant: the pause ends at the cancellation.
    cancelled = ledger(
        PromisePaused(id="e-p1", promise_id="P-1", at=T0 + H, recorded_at=T0 + H),
        PromiseCancelled(id="e-c", promise_id="P-1", at=T0 + H, recorded_at=T0 + H),
    ).state("P-1")
    closed = TrackedPromise.from_state(cancelled)
    assert closed.pauses == () and closed.completed_at == T0 + H


def test_duck_typed_states_without_deliveries_still_work() -> None:
    class State:
        promise = TrackedPromise.from_state(ledger().state("P-1")).promise
        paused_intervals = (Pause(T0 + H, T0 + 2 * H),)
        notifications = ()
        deliveries = (object(),)  # no assess(): not read

    track = TrackedPromise.from_state(State())  # type: ignore[arg-type]
    assert track.completed_at is None
    assert track.pauses == State.paused_intervals
