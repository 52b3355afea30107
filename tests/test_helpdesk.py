"""Helpdesk SLAs (issue 18): empty pauses, inbound messages, reopen, named clocks, rounding."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from promisekit.calendar import BusinessCalendar
from promisekit.errors import (
    InconsistentRecordError,
    InvalidTypeError,
    InvalidValueError,
    PromiseKitError,
)
from promisekit.escalation import (
    EscalationPolicy,
    Escalator,
    NotifyOwner,
    OverdueBy,
    Pause,
    Rule,
    Silence,
    TrackedPromise,
    parse_condition,
)
from promisekit.helpdesk import (
    ClockCondition,
    InboundMessage,
    Reopening,
    SlaClock,
    SlaPlan,
    Unanswered,
)
from promisekit.ledger import (
    DeliveryRecorded,
    Event,
    MessageReceived,
    PromiseCancelled,
    PromiseLedger,
    PromiseMade,
    PromisePaused,
    PromiseReopened,
    PromiseResumed,
    replay,
)
from promisekit.promise import Promise
from promisekit.serialize import from_json, to_json

UTC = timezone.utc
T0 = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)  # a Tuesday
H = timedelta(hours=1)
M = timedelta(minutes=1)
S = timedelta(seconds=1)
OFFICE = BusinessCalendar("UTC", hours={"mon-fri": "09:00-17:00"})


def ticket(**kwargs: Any) -> TrackedPromise:
    promise = Promise(
        id="T-1", customer_id="C-1", kind="ticket", made_at=T0, due=T0 + timedelta(days=5)
    )
    return TrackedPromise(promise=promise, **kwargs)


PLAN = SlaPlan(
    [
        SlaClock("first_response", "first_response", "1h", pauses=False),
        SlaClock("next_response", "next_response", "2h"),
        SlaClock("resolution", "resolution", "8h"),
    ]
)


# --------------------------------------------------------------------------- empty pauses


def test_a_pause_resumed_the_instant_it_began_is_dropped() -> None:
    track = ticket().pause(T0 + H).resume(T0 + H)
    assert track.pauses == ()
    assert not track.is_paused
    assert track.elapsed(T0 + 2 * H) == 2 * H


def test_an_empty_pause_built_directly_is_still_refused() -> None:
    with pytest.raises(InvalidValueError, match="'end' must be after 'start'"):
        Pause(T0, T0)


def test_a_replay_with_pending_then_open_in_the_same_second_is_tolerated() -> None:
    events: list[Event] = [
        PromiseMade(
            id="m",
            promise_id="T-1",
            at=T0,
            recorded_at=T0,
            customer_id="C",
            kind="ticket",
            due=T0 + 8 * H,
        ),
        PromisePaused(id="p", promise_id="T-1", at=T0 + H, recorded_at=T0 + H),
        PromiseResumed(id="r", promise_id="T-1", at=T0 + H, recorded_at=T0 + H),
    ]
    track = TrackedPromise.from_state(replay("T-1", events))
    assert track.pauses == ()
    policy = EscalationPolicy([Rule("late", OverdueBy(0), NotifyOwner())])
    assert [e.triggered_at for e in policy.evaluate(track, T0 + 9 * H)] == [T0 + 8 * H]


# --------------------------------------------------------------------------- inbound


def test_receive_records_an_inbound_message_apart_from_updates() -> None:
    track = ticket().notify(T0 + H).receive(T0 + 2 * H, channel="email")
    assert track.inbound == (InboundMessage(T0 + 2 * H, "email"),)
    assert len(track.updates) == 1
    # Silence counts messages to the customer only: the inbound message does not reset it.
    assert Silence(hours=3).becomes_true(track) == T0 + 4 * H


def test_receive_may_resume_a_pause_waiting_on_the_customer() -> None:
    track = ticket().pause(T0 + H)
    kept = track.receive(T0 + 2 * H)
    assert kept.is_paused
    resumed = track.receive(T0 + 2 * H, resume=True)
    assert resumed.pauses == (Pause(T0 + H, T0 + 2 * H),)
    assert resumed.elapsed(T0 + 3 * H) == 2 * H


def test_inbound_messages_are_checked() -> None:
    with pytest.raises(InconsistentRecordError, match="'inbound' must not be before"):
        ticket(inbound=[InboundMessage(T0 - H)])
    with pytest.raises(InvalidTypeError, match="inbound"):
        ticket(inbound=["yesterday"])
    with pytest.raises(InvalidValueError, match="'channel'"):
        InboundMessage(T0, " ")
    with pytest.raises(PromiseKitError, match="'at'"):
        InboundMessage(datetime(2026, 3, 10, 9))  # naive


def test_unanswered_counts_from_the_customers_last_message_until_a_reply() -> None:
    track = ticket().receive(T0 + H).receive(T0 + 2 * H).notify(T0 + 3 * H)
    assert Unanswered(minutes=30).becomes_true(track) == T0 + H + 30 * M
    assert Unanswered(hours=2).becomes_true(track) is None  # restarted at 2h, answered at 3h
    again = track.receive(T0 + 5 * H)
    assert Unanswered(hours=2).becomes_true(again) == T0 + 7 * H
    assert Unanswered(hours=2).describe() == "unanswered >= 2h"
    assert repr(Unanswered(hours=2)) == "Unanswered(hours=2)"
    with pytest.raises(InvalidValueError):
        Unanswered(timedelta(hours=-1))


# --------------------------------------------------------------------------- reopen


def test_reopen_runs_the_clock_again_keeping_the_time_used() -> None:
    closed = ticket().complete(T0 + 3 * H)
    track = closed.reopen(T0 + 10 * H)
    assert track.completed_at is None
    assert track.reopenings == (Reopening(T0 + 3 * H, T0 + 10 * H),)
    assert track.elapsed(T0 + 11 * H) == 4 * H
    # The due date moves by the time the ticket was closed, as with a pause.
    policy = EscalationPolicy([Rule("late", OverdueBy(0), NotifyOwner())])
    due = T0 + timedelta(days=5) + 7 * H
    assert track.effective_due() == due
    assert [e.triggered_at for e in policy.evaluate(track, due + H)] == [due]
    assert list(policy.evaluate(closed, due + H)) == []
    # Closed again, and reopened again.
    twice = track.complete(T0 + 12 * H).reopen(T0 + 13 * H)
    assert twice.elapsed(T0 + 14 * H) == 6 * H


def test_reopen_errors() -> None:
    with pytest.raises(InconsistentRecordError, match="not completed"):
        ticket().reopen(T0 + H)
    with pytest.raises(InvalidValueError, match="'at' must not be before 'closed_at'"):
        ticket().complete(T0 + 2 * H).reopen(T0 + H)
    with pytest.raises(InconsistentRecordError, match="'reopenings' must be in order"):
        ticket(reopenings=[Reopening(T0 + 5 * H, T0 + 6 * H), Reopening(T0 + H, T0 + 2 * H)])
    with pytest.raises(InconsistentRecordError, match="'completed_at' must not be before"):
        ticket(reopenings=[Reopening(T0 + H, T0 + 2 * H)], completed_at=T0 + 90 * M)


# --------------------------------------------------------------------------- clocks


def test_clock_validation_names_the_field() -> None:
    with pytest.raises(InvalidValueError, match="'name'"):
        SlaClock("Next Response", "next_response", "1h")
    with pytest.raises(InvalidValueError, match="'name'"):
        SlaClock("remaining", "next_response", "1h")
    with pytest.raises(InvalidValueError, match="'kind' must be one of"):
        SlaClock("x", "solution", "1h")
    with pytest.raises(InvalidValueError, match="'target'"):
        SlaClock("x", "resolution", "soon")
    with pytest.raises(InvalidValueError, match="'target' must be a positive"):
        SlaClock("x", "resolution", timedelta(0))
    with pytest.raises(InvalidTypeError, match="'target'"):
        SlaClock("x", "resolution", 3600)
    with pytest.raises(InvalidValueError, match="'rounding'"):
        SlaClock("x", "resolution", "1h", rounding="hour")
    with pytest.raises(InvalidValueError, match="'on_reopen'"):
        SlaClock("x", "resolution", "1h", on_reopen="forget")
    with pytest.raises(InvalidTypeError, match="'pauses'"):
        SlaClock("x", "resolution", "1h", pauses="yes")  # type: ignore[arg-type]
    with pytest.raises(InvalidTypeError, match="'calendar'"):
        SlaClock("x", "resolution", "1h", calendar="office")  # type: ignore[arg-type]
    with pytest.raises(InvalidValueError, match="twice"):
        SlaPlan([SlaClock("x", "resolution", "1h"), SlaClock("x", "update", "1h")])
    with pytest.raises(InvalidTypeError, match=r"'clocks\[0\]'"):
        SlaPlan(["x"])  # type: ignore[list-item]
    with pytest.raises(InvalidValueError, match="no SLA clock named 'y'"):
        PLAN.clock("y")


def test_three_clocks_on_one_ticket() -> None:
    track = (
        ticket()
        .receive(T0)  # the ticket is the customer's first message
        .pause(T0 + 10 * M, reason="pending")
        .resume(T0 + 40 * M)
        .notify(T0 + 70 * M)  # first agent reply
        .receive(T0 + 2 * H)
        .notify(T0 + 3 * H)
        .receive(T0 + 4 * H)
    )
    at = T0 + 5 * H
    read = PLAN.readings(track, at)
    first = read["first_response"]
    # Does not pause: 70 minutes to the first reply, against 1h: breached at 10:00.
    assert (first.active, first.elapsed, first.breached) == (False, 70 * M, False)
    assert first.remaining == -10 * M  # the last run's reading, kept once stopped
    nxt = read["next_response"]
    assert (nxt.active, nxt.running, nxt.elapsed) == (True, True, H)
    assert nxt.due == T0 + 6 * H
    res = read["resolution"]
    assert res.elapsed == 5 * H - 30 * M  # the pending half hour does not count
    assert res.due == T0 + 8 * H + 30 * M
    assert res.remaining == 3 * H + 30 * M


def test_first_response_breach_is_the_instant_it_reached_the_target() -> None:
    track = ticket().notify(T0 + 90 * M)
    clock = PLAN.clock("first_response")
    reading = clock.reading(track, T0 + 2 * H)
    assert reading.remaining == -30 * M
    assert ClockCondition(clock, "breached").becomes_true(track) == T0 + H
    before = clock.reading(ticket(), T0 + 30 * M)
    assert before.due == T0 + H and not before.breached
    assert clock.reading(ticket(), T0 - H).active is False  # before the ticket


def test_next_response_from_the_latest_or_the_oldest_message() -> None:
    track = ticket().receive(T0 + H).receive(T0 + 2 * H)
    latest = SlaClock("nr", "next_response", "2h")
    oldest = SlaClock("nr", "next_response", "2h", restart_on_inbound=False)
    assert latest.reading(track, T0 + 3 * H).elapsed == H
    assert oldest.reading(track, T0 + 3 * H).elapsed == 2 * H
    assert oldest.reading(track, T0 + 3 * H).due == T0 + 3 * H
    assert oldest.reading(track, T0 + 3 * H).breached


def test_update_clock_restarts_on_every_message() -> None:
    clock = SlaClock("update", "update", "4h")
    track = ticket().notify(T0 + H).receive(T0 + 3 * H)
    assert clock.reading(track, T0 + 2 * H).elapsed == H
    assert clock.reading(track, T0 + 5 * H).elapsed == 2 * H
    assert clock.reading(track, T0 + 5 * H).due == T0 + 7 * H


def test_resolution_on_reopen_keeps_or_restarts() -> None:
    track = ticket().complete(T0 + 3 * H).reopen(T0 + 5 * H)
    keep = SlaClock("res", "resolution", "8h")
    restart = SlaClock("res", "resolution", "8h", on_reopen="restart")
    assert keep.reading(track, T0 + 4 * H).running is False
    assert keep.reading(track, T0 + 6 * H).elapsed == 4 * H
    assert restart.reading(track, T0 + 6 * H).elapsed == H
    assert keep.reading(track, T0 + 6 * H).due == T0 + 10 * H


def test_clocks_count_business_hours() -> None:
    # Made Tuesday 16:00; 2h of office time is reached Wednesday 10:00.
    made = datetime(2026, 3, 10, 16, tzinfo=UTC)
    promise = Promise(id="T", customer_id="C", kind="t", made_at=made, due=made + 5 * H)
    track = TrackedPromise(promise=promise, calendar=OFFICE)
    clock = SlaClock("res", "resolution", "2h")
    assert clock.reading(track, made + 2 * H).elapsed == H
    assert clock.reading(track, made).due == datetime(2026, 3, 11, 10, tzinfo=UTC)
    own = SlaClock("res", "resolution", "2h", calendar=BusinessCalendar.always_open("UTC"))
    assert own.reading(track, made).due == made + 2 * H


def test_minute_rounding_counts_whole_minutes() -> None:
    exact = SlaClock("fr", "first_response", "1h")
    minute = SlaClock("fr", "first_response", "1h", rounding="minute")
    at = T0 + 10 * M + 59 * S
    assert exact.reading(ticket(), at).elapsed == 10 * M + 59 * S
    assert minute.reading(ticket(), at).elapsed == 10 * M
    assert minute.reading(ticket(), at).remaining == 50 * M
    odd = SlaClock("fr", "first_response", timedelta(minutes=59, seconds=30), rounding="minute")
    assert ClockCondition(odd, "breached").becomes_true(ticket()) == T0 + H
    assert ClockCondition(exact, "elapsed", timedelta(seconds=90)).becomes_true(ticket()) == (
        T0 + 90 * S
    )
    rounded = ClockCondition(minute, "elapsed", timedelta(seconds=90))
    assert rounded.becomes_true(ticket()) == T0 + 2 * M


def test_retarget_recompute_or_keep_the_announced_due() -> None:
    made = datetime(2026, 3, 10, 16, tzinfo=UTC)
    promise = Promise(id="T", customer_id="C", kind="t", made_at=made, due=made + 5 * H)
    track = TrackedPromise(promise=promise, calendar=OFFICE)
    clock = SlaClock("res", "resolution", "2h")
    at = made + 30 * M
    announced = clock.reading(track, at).due
    assert announced == datetime(2026, 3, 11, 10, tzinfo=UTC)
    always = BusinessCalendar.always_open("UTC")
    recomputed = clock.retarget(track, at, calendar=always)
    assert recomputed.reading(track, at).due == made + 2 * H
    kept = clock.retarget(track, at, calendar=always, recompute=False)
    assert kept.reading(track, at).due == announced
    shorter = clock.retarget(track, at, target="1h")
    assert shorter.reading(track, at).due == datetime(2026, 3, 10, 17, tzinfo=UTC)
    with pytest.raises(InvalidTypeError, match="'recompute'"):
        clock.retarget(track, at, recompute="no")  # type: ignore[arg-type]
    with pytest.raises(InvalidValueError, match="'target'"):
        clock.retarget(track, at, target="-")


# --------------------------------------------------------------------------- conditions


def policy(text: str) -> EscalationPolicy:
    return EscalationPolicy.from_toml(text, bindings={"sla": PLAN})


def test_clock_conditions_in_policy_files() -> None:
    rules = policy(
        """
[[rules]]
name = "reply-soon"
when = "next_response remaining <= 15m"
do = ["notify_owner"]

[[rules]]
name = "first-late"
when = "first_response breached"
do = ["notify_owner"]

[[rules]]
name = "resolution-75"
when = "resolution elapsed >= 75% and not next_response overdue >= 2h"
do = ["notify_owner"]
"""
    )
    track = ticket().receive(T0 + 30 * M).notify(T0 + 2 * H).receive(T0 + 3 * H)
    fired = {e.rule: e.triggered_at for e in rules.evaluate(track, T0 + 12 * H)}
    assert fired == {
        "first-late": T0 + H,
        "reply-soon": T0 + 4 * H + 45 * M,
        "resolution-75": T0 + 6 * H,
    }


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("next_response remaining >= 15m", "must be compared with '<=' or '<'"),
        ("next_response elapsed <= 1h", "must be compared with '>=' or '>'"),
        ("next_response breached >= 1h", "takes no comparison"),
        ("next_response elapsed >= 150%", "percentage above 0% and at most 100%"),
        ("next_response remaining <= soon", "expected a duration"),
        ("reply remaining <= 15m", "no SLA clock named 'reply'"),
        ("next_response remaining", "must be compared"),
    ],
)
def test_clock_condition_errors(text: str, message: str) -> None:
    with pytest.raises(InvalidValueError, match=message):
        parse_condition(text, bindings={"sla": PLAN})


def test_a_clock_condition_needs_the_sla_binding() -> None:
    with pytest.raises(InvalidValueError, match="needs the binding 'sla'"):
        parse_condition("next_response remaining <= 15m")


def test_clock_conditions_describe_themselves_in_the_file_syntax() -> None:
    for text in (
        "next_response remaining <= 15m",
        "resolution elapsed >= 50%",
        "resolution elapsed >= 2h",
        "first_response breached",
        "resolution overdue >= 1h",
    ):
        trigger = parse_condition(text, bindings={"sla": PLAN})
        assert trigger.describe() == text
        assert parse_condition(trigger.describe(), bindings={"sla": PLAN}) == trigger
    assert parse_condition("resolution overdue", bindings={"sla": PLAN}).describe() == (
        "resolution breached"
    )
    with pytest.raises(InvalidValueError, match="'measure'"):
        ClockCondition(PLAN.clock("resolution"), "late")
    with pytest.raises(InvalidValueError, match="only for 'elapsed'"):
        ClockCondition(PLAN.clock("resolution"), "remaining", 0.5)
    with pytest.raises(InvalidTypeError, match="'clock'"):
        ClockCondition("resolution", "breached")  # type: ignore[arg-type]


def test_plan_replace() -> None:
    longer = PLAN.replace(SlaClock("resolution", "resolution", "16h"))
    assert longer.clock("resolution").target == 16 * H
    assert [c.name for c in longer.clocks] == ["first_response", "next_response", "resolution"]


# --------------------------------------------------------------------------- ledger


def ledger_events() -> list[Event]:
    def at(hours: float) -> dict[str, Any]:
        moment = T0 + timedelta(hours=hours)
        return {"promise_id": "T-1", "at": moment, "recorded_at": moment}

    return [
        PromiseMade(id="m", customer_id="C", kind="ticket", due=T0 + 24 * H, **at(0)),
        MessageReceived(id="in-1", channel="email", **at(1)),
        DeliveryRecorded(id="solved", **at(3)),
        PromiseReopened(id="reopen", reason="not fixed", **at(5)),
        MessageReceived(id="in-2", **at(5)),
        DeliveryRecorded(id="solved-2", **at(8)),
    ]


def test_new_events_round_trip_through_json() -> None:
    for event in ledger_events():
        assert from_json(to_json(event), Event) == event
    track = ticket().receive(T0 + H, channel="chat").complete(T0 + 2 * H).reopen(T0 + 3 * H)
    assert from_json(to_json(track), TrackedPromise) == track


def test_from_state_reads_messages_and_reopenings() -> None:
    state = PromiseLedger(ledger_events()).state("T-1")
    track = TrackedPromise.from_state(state)
    assert [m.at for m in track.inbound] == [T0 + H, T0 + 5 * H]
    assert track.inbound[0].channel == "email"
    assert track.reopenings == (Reopening(T0 + 3 * H, T0 + 5 * H),)
    assert track.completed_at == T0 + 8 * H
    assert PLAN.clock("resolution").reading(track, T0 + 9 * H).elapsed == 6 * H
    # As of before the reopening: closed at 3h.
    early = TrackedPromise.from_state(PromiseLedger(ledger_events()).state("T-1", at=T0 + 4 * H))
    assert early.completed_at == T0 + 3 * H and early.reopenings == ()


def test_a_reopening_of_an_open_or_cancelled_promise_is_not_applied() -> None:
    events = ledger_events()[:2]
    at = {"promise_id": "T-1", "at": T0 + 2 * H, "recorded_at": T0 + 2 * H}
    open_state = PromiseLedger([*events, PromiseReopened(id="r", **at)]).state("T-1")
    assert TrackedPromise.from_state(open_state).reopenings == ()
    later = {"promise_id": "T-1", "at": T0 + 3 * H, "recorded_at": T0 + 3 * H}
    cancelled = PromiseLedger(
        [*events, PromiseCancelled(id="c", **at), PromiseReopened(id="r", **later)]
    ).state("T-1")
    track = TrackedPromise.from_state(cancelled)
    assert track.reopenings == () and track.completed_at == T0 + 2 * H


def test_the_escalator_fires_clock_rules_again_after_a_reopening() -> None:
    rules = policy(
        """
[[rules]]
name = "resolution-late"
when = "resolution breached"
do = ["notify_owner"]
"""
    )
    track = TrackedPromise.from_state(PromiseLedger(ledger_events()[:4]).state("T-1"))
    escalator = Escalator(rules)
    escalator.add(track)
    assert escalator.next_check() == T0 + 10 * H  # 3h used, 5h more from the reopening
    fired = escalator.advance(T0 + 11 * H)
    assert [(e.rule, e.triggered_at) for e in fired] == [("resolution-late", T0 + 10 * H)]
