"""Escalation engine: triggers, rules, evaluate/next_check — and the equivalence property.

The central property: evaluating at *any* sequence of times yields exactly the escalations of
a continuous evaluation (every minute, or every instant returned by ``next_check``), each at
the instant its trigger became true; and a brute-force oracle, computed from scratch with
``BusinessCalendar.between``, agrees with every instant the engine reports.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from fractions import Fraction
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from promisekit.calendar import BusinessCalendar
from promisekit.errors import (
    InconsistentRecordError,
    InvalidTypeError,
    InvalidValueError,
    NaiveDatetimeError,
    PromiseKitError,
)
from promisekit.escalation import (
    AllOf,
    AnyOf,
    AtRisk,
    BufferZone,
    CapabilityProposer,
    Compensate,
    Elapsed,
    EscalateTo,
    Escalation,
    EscalationMemory,
    EscalationPolicy,
    Grant,
    Not,
    NotifyCustomer,
    NotifyOwner,
    OverdueBy,
    Pause,
    PredictedDissatisfaction,
    ProposeRevision,
    Remaining,
    Revised,
    RevisionRequest,
    Rule,
    Silence,
    TrackedPromise,
    Trigger,
)
from promisekit.promise import Promise

UTC = timezone.utc
TOR = ZoneInfo("America/Toronto")
OFFICE = BusinessCalendar("America/Toronto", hours={"mon-fri": "09:00-17:00"})
CONTACT = BusinessCalendar(
    "America/Toronto", hours={"mon-fri": "08:00-20:00", "sat": "10:00-16:00"}
)
# Friday 6 March 2026, two days before the DST change in Toronto (8 March).
BASE = datetime(2026, 3, 6, 9, 0, tzinfo=TOR)
MIN = timedelta(minutes=1)
US = timedelta(microseconds=1)


def make_track(
    *,
    made: datetime = BASE,
    due: datetime | None = None,
    target: datetime | None = None,
    **kwargs: Any,
) -> TrackedPromise:
    promise = Promise(
        id="P-1",
        customer_id="C-1",
        kind="repair",
        made_at=made,
        due=due if due is not None else made + timedelta(hours=8),
        target=target,
    )
    return TrackedPromise(promise=promise, **kwargs)


class Exponential:
    """A capability with an exponential distribution of durations (cdf + residual)."""

    def __init__(self, mean: timedelta) -> None:
        self.mean = mean.total_seconds()

    def cdf(self, duration: timedelta) -> float:
        return 1.0 - math.exp(-max(duration.total_seconds(), 0.0) / self.mean)

    def residual_quantile(self, q: float, elapsed: timedelta) -> timedelta:
        return timedelta(seconds=-self.mean * math.log(1.0 - q))


EXP = Exponential(timedelta(hours=4))


def real_between(a: datetime, b: datetime) -> timedelta:
    """Real elapsed time (aware subtraction in one zone would give wall-clock time)."""
    return b.astimezone(UTC) - a.astimezone(UTC)


def real_add(moment: datetime, work: timedelta) -> datetime:
    """Real-time addition, normalised back to the moment's zone (no wall-clock arithmetic)."""
    return (moment.astimezone(UTC) + work).astimezone(moment.tzinfo)


# --------------------------------------------------------------------------- triggers


def test_trigger_combinators_flatten_and_read_back() -> None:
    a, b, c = Elapsed(0.5), Revised(times=2), OverdueBy(hours=4)
    both = (a & b) & c
    assert isinstance(both, AllOf)
    assert both.triggers == (a, b, c)
    either = a | (b | c)
    assert isinstance(either, AnyOf)
    assert either.triggers == (a, b, c)
    assert ~~a == a
    assert isinstance(~a, Not)
    combo = (a & ~b) | c
    assert repr(combo) == "(Elapsed(0.5) & ~Revised(times=2)) | OverdueBy(hours=4)"
    assert eval(repr(combo)) == combo
    assert str(combo) == "(elapsed >= 50% and not revised >= 2) or overdue >= 4h"
    assert repr(Remaining(hours=1, minutes=30)) == "Remaining(hours=1, minutes=30)"
    assert Remaining(timedelta(hours=2)) == Remaining(hours=2)
    assert hash(Silence(hours=3)) == hash(Silence(minutes=180))


@pytest.mark.parametrize(
    ("build", "error"),
    [
        (lambda: Elapsed(0), InvalidValueError),
        (lambda: Elapsed(1.5), InvalidValueError),
        (lambda: Elapsed("half"), InvalidTypeError),
        (lambda: Remaining(hours=-1), InvalidValueError),
        (lambda: Remaining(timedelta(hours=1), hours=1), InvalidValueError),
        (lambda: OverdueBy(hours="4"), InvalidTypeError),
        (lambda: AtRisk(0.3, capability=object()), InvalidTypeError),
        (lambda: AtRisk(1.3, capability=EXP), InvalidValueError),
        (lambda: BufferZone("orange"), InvalidValueError),
        (lambda: BufferZone("red", yellow=0.7, red=0.5), InvalidValueError),
        (lambda: Revised(times=0), InvalidValueError),
        (lambda: PredictedDissatisfaction(9, predictor=lambda p, t: 1), InvalidValueError),
        (lambda: PredictedDissatisfaction(2, predictor=3), InvalidTypeError),
        (lambda: Elapsed(0.5) & "soon", InvalidTypeError),
        (lambda: AllOf(), InvalidValueError),
    ],
)
def test_trigger_validation(build: Any, error: type[Exception]) -> None:
    with pytest.raises(error):
        build()


def test_elapsed_in_business_time_across_dst() -> None:
    # Friday 15:00 -> Monday 15:00 (DST starts on Sunday): 2 h Friday + 6 h Monday.
    track = make_track(
        made=datetime(2026, 3, 6, 15, tzinfo=TOR),
        due=datetime(2026, 3, 9, 15, tzinfo=TOR),
        calendar=OFFICE,
    )
    assert Elapsed(0.5).becomes_true(track) == datetime(2026, 3, 9, 11, tzinfo=TOR)
    # Reaching the amount exactly at a closing time stays there (calendar.add semantics).
    assert Elapsed(0.25).becomes_true(track) == datetime(2026, 3, 6, 17, tzinfo=TOR)
    assert Remaining(hours=1).becomes_true(track) == datetime(2026, 3, 9, 14, tzinfo=TOR)
    assert OverdueBy(hours=4).becomes_true(track) == datetime(2026, 3, 10, 11, tzinfo=TOR)
    assert Elapsed(0.5).becomes_true(track).utcoffset() == timedelta(hours=-4)  # type: ignore[union-attr]
    assert not Elapsed(0.5).is_true(track, datetime(2026, 3, 9, 10, 59, tzinfo=TOR))
    assert Elapsed(0.5).is_true(track, datetime(2026, 3, 9, 11, 0, tzinfo=TOR))


def test_pause_extends_due_exactly_like_the_calendar() -> None:
    track = make_track(
        made=datetime(2026, 3, 6, 15, tzinfo=TOR),
        due=datetime(2026, 3, 9, 15, tzinfo=TOR),
        calendar=OFFICE,
    )
    a, b = datetime(2026, 3, 9, 10, tzinfo=TOR), datetime(2026, 3, 10, 14, tzinfo=TOR)
    paused = track.pause(a).resume(b)
    assert paused.effective_due() == OFFICE.add(track.promise.due, OFFICE.between(a, b))
    assert not Elapsed(0.1).is_true(paused, a + timedelta(hours=1))  # paused: never true
    assert paused.is_paused_at(a) and not paused.is_paused_at(b)
    assert paused.elapsed(b) == paused.elapsed(a) == timedelta(hours=3)
    # Still paused (open pause): the due moves with the pause, counted up to ``at``.
    still = track.pause(a)
    assert still.effective_due(b) == paused.effective_due()


@given(
    start=st.integers(0, 4 * 24 * 60),
    window=st.integers(1, 3 * 24 * 60),
    pause_at=st.integers(0, 4 * 24 * 60),
    pause_len=st.integers(1, 3 * 24 * 60),
    business=st.booleans(),
)
@settings(max_examples=60, deadline=None)
def test_pause_extends_due_property(
    start: int, window: int, pause_at: int, pause_len: int, business: bool
) -> None:
    calendar = OFFICE if business else None
    made = real_add(BASE, start * MIN)
    due = real_add(made, window * MIN)
    a = real_add(made, pause_at * MIN)
    b = real_add(a, pause_len * MIN)
    track = make_track(made=made, due=due, calendar=calendar).pause(a).resume(b)
    between = calendar.between if calendar else real_between
    if a < due and between(a, due) > timedelta(0):
        add = calendar.add if calendar else real_add
        assert track.effective_due().astimezone(UTC) == add(due, between(a, b)).astimezone(UTC)
    elif a >= due:
        assert track.effective_due().astimezone(UTC) == due.astimezone(UTC)


def test_at_risk_is_exact_and_monotone() -> None:
    track = make_track(due=BASE + timedelta(hours=8))
    trigger = AtRisk(0.5, capability=EXP)
    moment = trigger.becomes_true(track)
    assert moment is not None
    window = timedelta(hours=8)
    elapsed = moment - BASE
    assert trigger.risk(elapsed, window) >= 0.5
    assert trigger.risk(elapsed - US, window) < 0.5
    # Already likely late at the start: true at once.
    assert AtRisk(0.1, capability=EXP).becomes_true(track) == BASE


def test_buffer_zone_fever_chart() -> None:
    # Chain 6 h (made -> target), buffer 3 h (target -> due). Without progress the projected
    # finish is e + 6 h: the buffer burns from the start — yellow at 1 h, red at 2 h.
    track = make_track(due=BASE + timedelta(hours=9), target=BASE + timedelta(hours=6))
    assert BufferZone("yellow").becomes_true(track) == BASE + timedelta(hours=1)
    assert BufferZone("red").becomes_true(track) == BASE + timedelta(hours=2)
    assert BufferZone("green").becomes_true(track) == BASE
    # A quarter of the chain done at 30 min: consumed = (e - 1.5 h) / 3 h.
    progressed = track.report_progress(BASE + timedelta(minutes=30), 0.25)
    assert BufferZone("yellow").becomes_true(progressed) == BASE + timedelta(hours=2.5)
    assert BufferZone("red").becomes_true(progressed) == BASE + timedelta(hours=3.5)
    only_yellow = BufferZone("yellow") & ~BufferZone("red")
    assert only_yellow.is_true(progressed, BASE + timedelta(hours=3))
    assert not only_yellow.is_true(progressed, BASE + timedelta(hours=4))
    assert BufferZone("red").becomes_true(make_track()) is None  # no target, no buffer


def test_silence_runs_from_the_last_update() -> None:
    track = make_track(due=BASE + timedelta(days=3)).notify(BASE + timedelta(hours=5))
    assert Silence(hours=10).becomes_true(track) == BASE + timedelta(hours=15)
    revised = track.revise(due=BASE + timedelta(days=4), at=BASE + timedelta(hours=8))
    assert Silence(hours=10).becomes_true(revised) == BASE + timedelta(hours=18)


def test_predicted_dissatisfaction_by_bisection() -> None:
    def predictor(promise: Promise, delivered_at: datetime) -> int:
        late = delivered_at - promise.due
        return 4 if late <= timedelta(0) else (3 if late < timedelta(hours=2) else 2)

    track = make_track()
    trigger = PredictedDissatisfaction(2, predictor=predictor)
    assert trigger.becomes_true(track) == track.promise.due + timedelta(hours=2)
    assert str(trigger) == "satisfaction <= dissatisfied"
    never = PredictedDissatisfaction(1, predictor=predictor)
    assert never.becomes_true(track) is None


# --------------------------------------------------------------------------- rules and policy


def test_rule_and_policy_validation() -> None:
    with pytest.raises(InvalidValueError, match="at least one Action"):
        Rule("r", Elapsed(0.5), [])
    with pytest.raises(InvalidTypeError, match="'when' must be a Trigger"):
        Rule("r", "elapsed >= 50%", NotifyOwner())  # type: ignore[arg-type]
    with pytest.raises(InvalidValueError, match="'limit' needs 'every'"):
        Rule("r", Elapsed(0.5), NotifyOwner(), limit=2)
    with pytest.raises(InvalidValueError, match="'every' must be a positive"):
        Rule("r", Elapsed(0.5), NotifyOwner(), every=timedelta(0))
    with pytest.raises(InvalidValueError, match="unique names"):
        EscalationPolicy([Rule("r", Elapsed(0.5), NotifyOwner())] * 2)
    with pytest.raises(InvalidValueError, match=r"ordered by level.*expected >= 2"):
        EscalationPolicy(
            [
                Rule("a", Elapsed(0.5), NotifyOwner(), level=2),
                Rule("b", Elapsed(0.7), NotifyOwner(), level=1),
            ]
        )
    with pytest.raises(InvalidValueError, match="cap"):
        Compensate(Decimal(10))
    with pytest.raises(InvalidValueError, match="kind"):
        NotifyCustomer("sorry")


def test_evaluate_reports_trigger_instants_and_is_idempotent() -> None:
    policy = EscalationPolicy(
        [
            Rule("half", Elapsed(0.5), NotifyOwner()),
            Rule("late", OverdueBy(0), [EscalateTo("manager"), NotifyCustomer("apology")], level=2),
        ]
    )
    track = make_track()
    now = BASE + timedelta(days=1)
    result = policy.evaluate(track, now)
    assert [(e.rule, e.triggered_at) for e in result] == [
        ("half", BASE + timedelta(hours=4)),
        ("late", BASE + timedelta(hours=8)),
        ("late", BASE + timedelta(hours=8)),
    ]
    assert all(e.at == e.triggered_at for e in result)  # no contact hours: never deferred
    again = policy.evaluate(track, now, result.memory)
    assert len(again) == 0
    assert again.memory == result.memory
    assert result.next_check is None
    assert policy.next_check(track, BASE) == BASE + timedelta(hours=4)
    assert policy.next_check(track, BASE, None) == BASE + timedelta(hours=4)
    with pytest.raises(NaiveDatetimeError):
        policy.evaluate(track, datetime(2026, 3, 10))
    with pytest.raises(InconsistentRecordError):
        policy.evaluate(track, now, EscalationMemory("other"))


def test_revision_starts_rules_afresh_without_losing_history() -> None:
    policy = EscalationPolicy([Rule("half", Elapsed(0.5), NotifyOwner())])
    track = make_track()  # 8 h window
    first = policy.evaluate(track, BASE + timedelta(hours=5))
    assert [e.revision for e in first] == [0]
    # Revised at 6 h to a 16 h window: half of it is at 8 h — the elapsed 6 h still count.
    revised = track.revise(due=BASE + timedelta(hours=16), at=BASE + timedelta(hours=6))
    second = policy.evaluate(revised, BASE + timedelta(hours=12), first.memory)
    assert [(e.revision, e.triggered_at) for e in second] == [(1, BASE + timedelta(hours=8))]
    # Revised to a date whose half has already elapsed: fires at the revision instant.
    short = track.revise(due=BASE + timedelta(hours=9), at=BASE + timedelta(hours=6))
    third = policy.evaluate(short, BASE + timedelta(hours=12), first.memory)
    assert [(e.revision, e.triggered_at) for e in third] == [(1, BASE + timedelta(hours=6))]


def test_paused_promises_do_not_escalate() -> None:
    policy = EscalationPolicy([Rule("half", Elapsed(0.5), NotifyOwner())])
    track = make_track().pause(BASE + timedelta(hours=1))
    assert len(policy.evaluate(track, BASE + timedelta(days=5))) == 0
    assert policy.next_check(track, BASE + timedelta(days=5)) is None
    resumed = track.resume(BASE + timedelta(hours=11))
    result = policy.evaluate(resumed, BASE + timedelta(days=5))
    assert [e.triggered_at for e in result] == [BASE + timedelta(hours=14)]
    assert result[0].due if False else result.escalations[0].due == BASE + timedelta(hours=18)


def test_customer_facing_actions_wait_for_contact_hours() -> None:
    # Due Friday 21:00 — after contact hours (08:00-20:00): the delay notice goes out on
    # Saturday at 10:00, the owner is warned at once.
    made = datetime(2026, 3, 6, 13, tzinfo=TOR)
    track = make_track(made=made, due=datetime(2026, 3, 6, 21, tzinfo=TOR), contact_hours=CONTACT)
    policy = EscalationPolicy([Rule("due", OverdueBy(0), [NotifyOwner(), NotifyCustomer("delay")])])
    at_night = policy.evaluate(track, datetime(2026, 3, 6, 23, tzinfo=TOR))
    assert [e.action for e in at_night] == [NotifyOwner()]
    assert at_night.next_check == datetime(2026, 3, 7, 10, tzinfo=TOR)
    morning = policy.evaluate(track, datetime(2026, 3, 7, 12, tzinfo=TOR), at_night.memory)
    (notice,) = morning.escalations
    assert notice.action == NotifyCustomer("delay")
    assert notice.triggered_at == datetime(2026, 3, 6, 21, tzinfo=TOR)
    assert notice.at == datetime(2026, 3, 7, 10, tzinfo=TOR)
    assert notice.deferred
    # Completed before the opening: the deferred notice is dropped.
    done = track.complete(datetime(2026, 3, 7, 9, tzinfo=TOR))
    assert len(policy.evaluate(done, datetime(2026, 3, 7, 12, tzinfo=TOR), at_night.memory)) == 0


def test_repeating_rule_and_limit() -> None:
    policy = EscalationPolicy(
        [Rule("nag", OverdueBy(0), NotifyOwner(), every=timedelta(hours=2), limit=3)]
    )
    result = policy.evaluate(make_track(), BASE + timedelta(days=2))
    assert [(e.occurrence, e.triggered_at - BASE) for e in result] == [
        (1, timedelta(hours=8)),
        (2, timedelta(hours=10)),
        (3, timedelta(hours=12)),
    ]


def test_propose_revision_and_compensation_caps() -> None:
    policy = EscalationPolicy(
        [
            Rule(
                "late",
                OverdueBy(0),
                [
                    ProposeRevision(CapabilityProposer(EXP, 0.5, round_up_to=None)),
                    NotifyCustomer("delay"),
                    Compensate(Decimal("15"), per_promise=Decimal("20"), per_customer="25"),
                ],
                every=timedelta(hours=1),
                limit=3,
            )
        ]
    )
    track = make_track()
    earlier = Grant(
        customer_id="C-1",
        promise_id="P-0",
        at=BASE - timedelta(days=1),
        amount=Decimal(8),
        rule="x",
    )
    result = policy.evaluate(track, BASE + timedelta(days=1), granted=[earlier])
    proposals = {e.proposed_due for e in result if e.occurrence == 1}
    # Due at 8 h; the median of the remaining (memoryless) time is 4 h x ln 2.
    expected = real_add(BASE, timedelta(hours=8) + timedelta(seconds=4 * 3600 * math.log(2)))
    (proposal,) = proposals
    assert proposal is not None
    assert abs(real_between(expected, proposal)) < timedelta(milliseconds=1)
    amounts = [(e.amount, e.capped_by) for e in result if isinstance(e.action, Compensate)]
    # 15 granted; then 5 left per promise; then the customer cap (25 - 8 - 15 - 5 = -3): 0.
    assert amounts == [
        (Decimal(15), None),
        (Decimal(2), "per_customer"),
        (Decimal(0), "per_customer"),
    ]
    assert sum(g.amount for g in result.grants) == Decimal(17)


def test_memory_is_plain_data() -> None:
    policy = EscalationPolicy([Rule("half", Elapsed(0.5), NotifyOwner())])
    result = policy.evaluate(make_track(), BASE + timedelta(days=1))
    memory = result.memory
    assert memory.has_fired("half", 0)
    assert memory == EscalationMemory(
        memory.promise_id, memory.evaluated_until, memory.fired, memory.pending
    )
    with pytest.raises(InvalidTypeError):
        EscalationMemory("P-1", pending=["x"])


def test_public_names_and_light_import() -> None:
    import subprocess
    import sys
    import types

    import promisekit.escalation as package

    assert len(package.__all__) == len(set(package.__all__))
    public = {
        name
        for name, value in vars(package).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
    }
    assert set(package.__all__) == public - {"annotations"}
    for name in package.__all__:
        assert getattr(package, name) is not None
    code = (
        "import sys, promisekit.escalation; "
        "print(sorted(m for m in ('numpy', 'pandas', 'matplotlib') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_track_validation() -> None:
    with pytest.raises(InconsistentRecordError, match="overlap"):
        make_track(
            pauses=[
                Pause(BASE, BASE + timedelta(hours=2)),
                Pause(BASE + timedelta(hours=1), BASE + timedelta(hours=3)),
            ]
        )
    with pytest.raises(InconsistentRecordError, match="only the last"):
        make_track(pauses=[Pause(BASE), Pause(BASE + timedelta(hours=1))])
    with pytest.raises(InconsistentRecordError, match="before"):
        make_track().notify(BASE - timedelta(hours=1))
    with pytest.raises(InvalidValueError, match="locale"):
        make_track(locale="de")
    with pytest.raises(PromiseKitError):
        make_track(customer_tz="Mars/Olympus")
    with pytest.raises(InvalidValueError, match="after 'start'"):
        Pause(BASE, BASE)
    with pytest.raises(InconsistentRecordError, match="already paused"):
        make_track().pause(BASE).pause(BASE + MIN)
    assert make_track(locale="fr").locale == "fr-CA"


def test_from_state_adapter() -> None:
    class State:
        promise = make_track().promise
        paused_intervals = (Pause(BASE + timedelta(hours=1), BASE + timedelta(hours=2)),)
        notifications = (type("N", (), {"at": BASE + timedelta(hours=3)})(),)
        cancelled_at = None

    track = TrackedPromise.from_state(State(), calendar=OFFICE)
    assert track.pauses == State.paused_intervals
    assert track.updates[0].at == BASE + timedelta(hours=3)


# --------------------------------------------------------------------------- the property

HORIZON = 5 * 24 * 60  # minutes


def capped_proposer(request: RevisionRequest) -> datetime:
    return real_add(request.at, timedelta(hours=3))


ACTIONS = [
    NotifyOwner(),
    NotifyCustomer("delay"),
    ProposeRevision(capped_proposer),
    Compensate(
        Decimal("5"), per_promise=Decimal("12"), per_period=Decimal("8"), period=timedelta(days=1)
    ),
]

leaves = st.one_of(
    st.sampled_from([0.25, 1 / 3, 0.5, 0.75, 1.0]).map(Elapsed),
    st.integers(0, 600).map(lambda m: Remaining(minutes=m)),
    st.integers(0, 600).map(lambda m: OverdueBy(minutes=m)),
    st.integers(30, 1440).map(lambda m: Silence(minutes=m)),
    st.integers(1, 2).map(Revised),
    st.sampled_from(["yellow", "red"]).map(BufferZone),
    st.sampled_from([0.2, 0.5, 0.9]).map(lambda p: AtRisk(p, capability=EXP)),
)
triggers = st.recursive(
    leaves,
    lambda children: st.one_of(
        st.tuples(children, children).map(lambda ab: ab[0] & ab[1]),
        st.tuples(children, children).map(lambda ab: ab[0] | ab[1]),
        children.map(lambda a: ~a),
    ),
    max_leaves=3,
)


@st.composite
def rules(draw: st.DrawFn, name: str, level: int) -> Rule:
    every = draw(st.sampled_from([None, None, 30, 120, 360]))
    limit = draw(st.sampled_from([None, 2])) if every is not None else None
    actions = draw(st.lists(st.sampled_from(ACTIONS), min_size=1, max_size=3, unique=True))
    return Rule(
        name,
        draw(triggers),
        actions,
        level=level,
        every=None if every is None else timedelta(minutes=every),
        limit=limit,
    )


@st.composite
def policies(draw: st.DrawFn) -> EscalationPolicy:
    count = draw(st.integers(1, 3))
    levels = sorted(draw(st.lists(st.integers(1, 3), min_size=count, max_size=count)))
    return EscalationPolicy([draw(rules(f"rule-{i}", level)) for i, level in enumerate(levels)])


@st.composite
def tracks(draw: st.DrawFn, horizon: int = HORIZON) -> TrackedPromise:
    calendar = draw(st.sampled_from([None, OFFICE, BusinessCalendar.always_open("UTC")]))
    contact = draw(st.sampled_from([None, CONTACT]))
    made = real_add(BASE, draw(st.integers(0, 2 * 24 * 60)) * MIN)
    window = draw(st.integers(0, 3 * 24 * 60))
    target = None
    if window and draw(st.booleans()):
        target = real_add(made, draw(st.integers(0, window)) * MIN)
    track = make_track(
        made=made,
        due=real_add(made, window * MIN),
        target=target,
        calendar=calendar,
        contact_hours=contact,
    )
    offsets = sorted(draw(st.lists(st.integers(0, horizon), max_size=7)))
    for offset in offsets:
        at = real_add(made, offset * MIN)
        kind = draw(st.sampled_from(["pause", "update", "progress", "revise", "complete"]))
        if kind == "pause":
            if track.is_paused:
                if at > track.pauses[-1].start:
                    track = track.resume(at)
            elif not track.pauses or at >= track.pauses[-1].end:  # type: ignore[operator]
                track = track.pause(at)
        elif kind == "update":
            track = track.notify(at)
        elif kind == "progress":
            track = track.report_progress(at, draw(st.sampled_from([0.0, 0.25, 0.5, 0.9])))
        elif kind == "revise":
            length = draw(st.integers(1, 2 * 24 * 60))
            due = real_add(at, length * MIN)
            # Each revision may set its own internal target (BufferZone judges by it).
            target = None
            if draw(st.booleans()):
                target = real_add(at, draw(st.integers(0, length)) * MIN)
            if due != track.promise.due:
                track = track.revise(due=due, at=at, target=target)
        elif track.completed_at is None:
            track = track.complete(at)
    return track


def event_instants(track: TrackedPromise) -> list[datetime]:
    instants = [track.promise.made_at]
    instants += [r.at for r in track.promise.revisions]
    for pause in track.pauses:
        instants += [pause.start] + ([pause.end] if pause.end else [])
    instants += [u.at for u in track.updates] + [p.at for p in track.progress]
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
    """Continuous evaluation: at every event and every instant next_check returns."""
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
    result = policy.evaluate(track, end, memory, granted=granted)
    return out + list(result)


settings_fast = settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


@given(
    track=tracks(),
    policy=policies(),
    seconds=st.lists(st.integers(-3600, (HORIZON + 3 * 24 * 60) * 60), max_size=12),
)
@settings_fast
def test_sparse_evaluation_equals_continuous(
    track: TrackedPromise, policy: EscalationPolicy, seconds: list[int]
) -> None:
    made = track.promise.made_at
    end = real_add(made, (HORIZON + 3 * 24 * 60) * MIN)
    sparse_times = sorted({real_add(made, timedelta(seconds=s)) for s in seconds} | {end})
    sparse = run_at(policy, track, sparse_times)
    continuous = run_by_next_check(policy, track, end)
    assert sparse == continuous
    # Nothing fired twice for the same rule, revision and occurrence.
    keys = [(e.rule, e.revision, e.occurrence, e.action) for e in sparse]
    assert len(keys) == len(set(keys))
    for escalation in sparse:
        assert escalation.at >= escalation.triggered_at
        if not escalation.customer_facing:
            assert escalation.at == escalation.triggered_at
        else:
            assert track.contact_hours is None or track.contact_hours.is_open(escalation.at)
        # Never while paused, never once completed.
        assert not track.is_paused_at(escalation.triggered_at)
        if track.completed_at is not None:
            assert escalation.triggered_at < track.completed_at


@given(track=tracks(horizon=24 * 60), policy=policies())
@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_every_minute_equals_next_check_driven(
    track: TrackedPromise, policy: EscalationPolicy
) -> None:
    made = track.promise.made_at
    end = real_add(made, 36 * 60 * MIN)
    minutes = [real_add(made, i * MIN) for i in range(36 * 60 + 1)]
    assert run_at(policy, track, minutes) == run_by_next_check(policy, track, end)


@given(track=tracks(), policy=policies(), at=st.integers(0, HORIZON * 60))
@settings_fast
def test_next_check_is_the_earliest_instant(
    track: TrackedPromise, policy: EscalationPolicy, at: int
) -> None:
    now = real_add(track.promise.made_at, timedelta(seconds=at))
    result = policy.evaluate(track, now)
    following = result.next_check
    if following is None:
        return
    assert following > now
    # Nothing happens strictly before the next check…
    before = policy.evaluate(track, following - US, result.memory)
    assert len(before) == 0
    # …and at it, something fires or a deferred action comes due (kept or dropped).
    at_next = policy.evaluate(track, following, before.memory)
    assert (
        len(at_next) > 0
        or at_next.memory.fired != before.memory.fired
        or (at_next.memory.pending != before.memory.pending)
    )


# --------------------------------------------------------------------------- oracle


def oracle_state(track: TrackedPromise, t: datetime) -> dict[str, Any] | None:
    """The SLA quantities at ``t``, from scratch (between() only, no add()), compared in UTC."""
    cal = track.calendar

    def u(moment: datetime) -> datetime:
        return moment.astimezone(UTC)

    def between(a: datetime, b: datetime) -> timedelta:
        return cal.between(a, b) if cal is not None else real_between(a, b)

    promise = track.promise
    made = u(promise.made_at)
    t = u(t)
    if t < made:
        return None

    def clock(x: datetime) -> timedelta:
        total = between(made, x)
        for pause in track.pauses:
            if u(pause.start) <= x:
                end = x if pause.end is None or u(pause.end) > x else u(pause.end)
                total -= between(pause.start, end)
        return total

    revision, announced, due = 0, made, u(promise.original_due)  # due: the literal deadline
    for change in promise.revisions:
        if u(change.at) <= t:
            revision, announced, due = change.number, u(change.at), u(change.due)
    window = clock(announced) + between(announced, due)
    contacts = [made] + [u(x.at) for x in (*track.updates, *promise.revisions) if u(x.at) <= t]
    paused = any(u(p.start) <= t and (p.end is None or t < u(p.end)) for p in track.pauses)
    closed = track.completed_at is not None and u(track.completed_at) <= t
    return {
        "c": clock(t),
        "W": window,
        "silence": clock(t) - clock(max(contacts)),
        "revision": revision,
        "reached_due": t >= due,
        "blocked": paused or closed,
    }


def oracle_true(trigger: Trigger, state: dict[str, Any]) -> bool:
    c, w = state["c"], state["W"]
    # A threshold at or past the window is never met before the literal due date.
    if isinstance(trigger, Elapsed):
        if w <= timedelta(0):
            return bool(state["reached_due"])
        threshold = Fraction(trigger.fraction) * (w // US)
        return Fraction(c // US) >= threshold and (threshold < w // US or state["reached_due"])
    if isinstance(trigger, Remaining):
        return w - c <= trigger.threshold and (
            trigger.threshold > timedelta(0) or state["reached_due"]
        )
    if isinstance(trigger, OverdueBy):
        return c - w >= trigger.threshold and bool(state["reached_due"])
    if isinstance(trigger, Silence):
        return bool(state["silence"] >= trigger.threshold)
    assert isinstance(trigger, Revised)
    return bool(state["revision"] >= trigger.times)


oracle_leaves = st.one_of(
    st.sampled_from([0.25, 1 / 3, 0.5, 0.75, 1.0]).map(Elapsed),
    st.integers(0, 600).map(lambda m: Remaining(minutes=m)),
    st.integers(0, 600).map(lambda m: OverdueBy(minutes=m)),
    st.integers(30, 1440).map(lambda m: Silence(minutes=m)),
    st.integers(1, 2).map(Revised),
)


@given(track=tracks(horizon=2 * 24 * 60), trigger=oracle_leaves)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_trigger_instants_match_a_brute_force_oracle(
    track: TrackedPromise, trigger: Trigger
) -> None:
    policy = EscalationPolicy([Rule("r", trigger, NotifyOwner())])
    made = track.promise.made_at
    end = real_add(made, 3 * 24 * 60 * MIN)
    fired = {e.revision: e.triggered_at for e in policy.evaluate(track, end)}
    # Each reported instant: true there, and false just before (unless a new revision or a
    # resume started right there).
    for revision, moment in fired.items():
        state = oracle_state(track, moment)
        assert state is not None and not state["blocked"]
        assert state["revision"] == revision
        assert oracle_true(trigger, state)
        earlier = oracle_state(track, real_add(moment, -US))
        if earlier is not None and not earlier["blocked"] and earlier["revision"] == revision:
            assert not oracle_true(trigger, earlier)
    # No minute at which the oracle says "true" is earlier than the reported instant.
    t = made
    while t <= end:
        state = oracle_state(track, t)
        assert state is not None
        if not state["blocked"] and oracle_true(trigger, state):
            assert state["revision"] in fired
            assert fired[state["revision"]] <= t
        t = real_add(t, 20 * MIN)
