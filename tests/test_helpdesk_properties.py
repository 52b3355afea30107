"""Named SLA clocks: sparse == continuous evaluation, and a minute-by-minute oracle."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from promisekit.calendar import BusinessCalendar
from promisekit.escalation import (
    Escalation,
    EscalationMemory,
    EscalationPolicy,
    Grant,
    NotifyOwner,
    Rule,
    TrackedPromise,
)
from promisekit.helpdesk import ClockCondition, SlaClock, Unanswered
from promisekit.promise import Promise

UTC = timezone.utc
BASE = datetime(2026, 3, 6, 9, 0, tzinfo=UTC)  # a Friday
MIN = timedelta(minutes=1)
HORIZON = 3 * 24 * 60  # minutes
OFFICE = BusinessCalendar("UTC", hours={"mon-fri": "09:00-17:00"})

KINDS = ("first_response", "next_response", "update", "resolution")


@st.composite
def clocks(draw: st.DrawFn, name: str) -> SlaClock:
    kind = draw(st.sampled_from(KINDS))
    return SlaClock(
        name,
        kind,
        draw(st.integers(1, 8 * 60)) * MIN,
        pauses=draw(st.booleans()),
        rounding=draw(st.sampled_from(["exact", "minute"])),
        restart_on_inbound=kind != "next_response" or draw(st.booleans()),
        on_reopen=draw(st.sampled_from(["keep", "restart"])) if kind == "resolution" else "keep",
    )


@st.composite
def tickets(draw: st.DrawFn) -> TrackedPromise:
    calendar = draw(st.sampled_from([None, OFFICE]))
    made = BASE + draw(st.integers(0, 24 * 60)) * MIN
    promise = Promise(
        id="T", customer_id="C", kind="ticket", made_at=made, due=made + 4 * 24 * 60 * MIN
    )
    track = TrackedPromise(promise=promise, calendar=calendar)
    for offset in sorted(draw(st.lists(st.integers(0, HORIZON), max_size=10))):
        at = made + offset * MIN
        kind = draw(st.sampled_from(["in", "out", "pause", "close"]))
        if kind == "in":
            track = track.receive(at, resume=draw(st.booleans()))
        elif kind == "out":
            track = track.notify(at)
        elif kind == "pause":
            track = track.resume(at) if track.is_paused else track.pause(at)
        elif track.completed_at is None:
            track = track.complete(at)
        else:
            track = track.reopen(at)
    return track


@st.composite
def conditions(draw: st.DrawFn, clock: SlaClock) -> ClockCondition:
    measure = draw(st.sampled_from(["remaining", "elapsed", "overdue", "breached"]))
    if measure == "breached":
        return ClockCondition(clock, "breached")
    if measure == "elapsed" and draw(st.booleans()):
        return ClockCondition(clock, "elapsed", draw(st.sampled_from([0.25, 0.5, 0.75, 1.0])))
    return ClockCondition(clock, measure, draw(st.integers(0, 4 * 60)) * MIN)


@st.composite
def policies(draw: st.DrawFn) -> EscalationPolicy:
    plan = [draw(clocks(f"c{i}")) for i in range(draw(st.integers(1, 3)))]
    rules = []
    for index in range(draw(st.integers(1, 3))):
        trigger = draw(conditions(draw(st.sampled_from(plan))))
        if draw(st.booleans()):
            trigger = trigger & ~draw(conditions(draw(st.sampled_from(plan))))
        if draw(st.booleans()):
            trigger = trigger | Unanswered(draw(st.integers(0, 240)) * MIN)
        every = draw(st.sampled_from([None, 30, 120]))
        rules.append(
            Rule(
                f"r{index}",
                trigger,
                NotifyOwner(),
                every=None if every is None else every * MIN,
                limit=3 if every else None,
            )
        )
    return EscalationPolicy(rules)


def event_instants(track: TrackedPromise) -> list[datetime]:
    instants = [track.promise.made_at] + [u.at for u in track.updates]
    instants += [m.at for m in track.inbound]
    for pause in track.pauses:
        instants += [pause.start] + ([pause.end] if pause.end else [])
    for reopening in track.reopenings:
        instants += [reopening.closed_at, reopening.at]
    if track.completed_at:
        instants.append(track.completed_at)
    return sorted(set(instants))


def run_at(
    policy: EscalationPolicy, track: TrackedPromise, times: list[datetime]
) -> list[Escalation]:
    memory: EscalationMemory | None = None
    granted: list[Grant] = []
    out: list[Escalation] = []
    for now in times:
        result = policy.evaluate(track, now, memory, granted=granted)
        out.extend(result)
        memory = result.memory
        granted.extend(result.grants)
    return out


def run_by_next_check(
    policy: EscalationPolicy, track: TrackedPromise, end: datetime
) -> list[Escalation]:
    events = event_instants(track)
    memory: EscalationMemory | None = None
    granted: list[Grant] = []
    out: list[Escalation] = []
    now = track.promise.made_at
    while True:
        result = policy.evaluate(track, now, memory, granted=granted)
        out.extend(result)
        memory = result.memory
        granted.extend(result.grants)
        candidates = [t for t in events if t > now]
        if result.next_check is not None:
            assert result.next_check > now
            candidates.append(result.next_check)
        following = min(candidates, default=None)
        if following is None or following >= end:
            break
        now = following
    return out + list(policy.evaluate(track, end, memory, granted=granted))


@given(
    track=tickets(),
    policy=policies(),
    seconds=st.lists(st.integers(-3600, (HORIZON + 24 * 60) * 60), max_size=10),
)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_sparse_evaluation_equals_continuous_with_several_clocks(
    track: TrackedPromise, policy: EscalationPolicy, seconds: list[int]
) -> None:
    made = track.promise.made_at
    end = made + (HORIZON + 24 * 60) * MIN
    sparse_times = sorted({made + timedelta(seconds=s) for s in seconds} | {end})
    assert run_at(policy, track, sparse_times) == run_by_next_check(policy, track, end)


def oracle(track: TrackedPromise, clock: SlaClock, minutes: int) -> list[tuple[bool, int]]:
    """(active, whole minutes counted) at each minute, stepping minute by minute."""
    made = track.promise.made_at
    calendar = clock.calendar_of(track)
    inbound = {m.at for m in track.inbound}
    outbound = {u.at for u in track.updates}
    reopen = {r.at for r in track.reopenings}
    active, value = clock.kind != "next_response", 0
    out = []
    for minute in range(minutes + 1):
        at = made + minute * MIN
        if at in inbound and (
            clock.kind == "update"
            or (clock.kind == "next_response" and (clock.restart_on_inbound or not active))
        ):
            active, value = True, 0
        if at in outbound:
            if clock.kind == "update":
                value = 0
            elif clock.kind != "resolution":
                active = False
        if at in reopen and clock.kind == "resolution" and clock.on_reopen == "restart":
            value = 0
        out.append((active, value))
        closed = track.completed_at is not None and track.completed_at <= at
        closed = closed or any(r.closed_at <= at < r.at for r in track.reopenings)
        paused = any(p.start <= at and (p.end is None or at < p.end) for p in track.pauses)
        open_now = calendar is None or calendar.is_open(at)
        if active and not closed and not (paused and clock.pauses) and open_now:
            value += 1
    return out


@given(track=tickets(), clock=clocks("c"))
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_readings_agree_with_a_minute_by_minute_oracle(
    track: TrackedPromise, clock: SlaClock
) -> None:
    minutes = HORIZON + 60
    made = track.promise.made_at
    breached = ClockCondition(clock, "breached")
    target = clock.target // MIN
    for minute, (active, value) in enumerate(oracle(track, clock, minutes)):
        if minute % 7 and minute != minutes:
            continue  # a sample of the minutes keeps the test quick
        reading = clock.reading(track, made + minute * MIN)
        assert reading.active == active
        assert reading.elapsed == value * MIN
        assert reading.breached == (active and value >= target)
        if reading.breached:
            assert reading.due is not None and reading.due <= made + minute * MIN
            assert not breached.is_true(track, reading.due - timedelta(microseconds=1)) or (
                clock.reading(track, reading.due - timedelta(microseconds=1)).breached
            )


@st.composite
def histories(draw: st.DrawFn) -> list[tuple[int, str]]:
    offsets = sorted(draw(st.lists(st.integers(0, HORIZON), max_size=10)))
    return [(o, draw(st.sampled_from(["in", "out", "pause", "close"]))) for o in offsets]


@given(history=histories())
@settings(max_examples=60, deadline=None)
def test_ledger_events_and_track_methods_give_the_same_ticket(
    history: list[tuple[int, str]],
) -> None:
    """The same helpdesk history, recorded on a track or as ledger events and replayed."""
    from promisekit.ledger import (
        CustomerNotified,
        DeliveryRecorded,
        Event,
        MessageReceived,
        PromiseMade,
        PromisePaused,
        PromiseReopened,
        PromiseResumed,
        replay,
    )
    from promisekit.serialize import from_json, to_json

    due = BASE + 4 * 24 * 60 * MIN
    promise = Promise(id="T", customer_id="C", kind="ticket", made_at=BASE, due=due)
    track = TrackedPromise(promise=promise)
    events: list[Event] = [
        PromiseMade(
            id="m",
            promise_id="T",
            at=BASE,
            recorded_at=BASE,
            customer_id="C",
            kind="ticket",
            due=due,
        )
    ]
    for number, (offset, kind) in enumerate(history):
        at = BASE + offset * MIN
        common = {"id": f"e{number:03d}", "promise_id": "T", "at": at, "recorded_at": at}
        if kind == "in":
            track = track.receive(at)
            events.append(MessageReceived(**common))  # type: ignore[arg-type]
        elif kind == "out":
            track = track.notify(at)
            events.append(CustomerNotified(**common))  # type: ignore[arg-type]
        elif kind == "pause":
            if track.is_paused:
                track = track.resume(at)
                events.append(PromiseResumed(**common))  # type: ignore[arg-type]
            else:
                track = track.pause(at)
                events.append(PromisePaused(**common))  # type: ignore[arg-type]
        elif track.completed_at is None:
            track = track.complete(at)
            events.append(DeliveryRecorded(**common))  # type: ignore[arg-type]
        else:
            track = track.reopen(at)
            events.append(PromiseReopened(**common))  # type: ignore[arg-type]
    decoded = [from_json(to_json(event), Event) for event in events]
    assert decoded == events
    replayed = TrackedPromise.from_state(replay("T", decoded))
    assert replayed.inbound == track.inbound
    assert replayed.reopenings == track.reopenings
    assert replayed.completed_at == track.completed_at
    assert replayed.pauses == track.pauses
    assert [u.at for u in replayed.updates] == [u.at for u in track.updates]
    assert from_json(to_json(track), TrackedPromise) == track
