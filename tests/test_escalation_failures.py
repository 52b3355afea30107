"""One promise failing to evaluate never stops the book (issue 13).

``Escalator.advance`` evaluates each promise atomically: when a proposer, a compensation
policy or a trigger raises, that promise is rolled back and retried with a bounded
exponential backoff, the failure is reported (naming the promise, the rule and the
action), and every other promise releases exactly what a failure-free run releases.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from promisekit.buffering import EmpiricalCapability
from promisekit.calendar import BusinessCalendar
from promisekit.errors import (
    InsufficientDataError,
    InvalidTypeError,
    InvalidValueError,
    PromiseKitError,
)
from promisekit.escalation import (
    CapabilityProposer,
    Compensate,
    CompensationRequest,
    Elapsed,
    Escalation,
    EscalationFailedError,
    EscalationFailure,
    EscalationMemory,
    EscalationPolicy,
    Escalator,
    NotifyOwner,
    OverdueBy,
    ProposeRevision,
    RevisionRequest,
    Rule,
    TrackedPromise,
    Trigger,
)
from promisekit.escalation._timeline import Segment
from promisekit.promise import Promise
from tests.test_escalation_engine import (
    BASE,
    HORIZON,
    capped_proposer,
    policies,
    real_add,
    run_at,
    tracks,
)

UTC = timezone.utc
T0 = datetime(2026, 3, 10, 9, tzinfo=UTC)
H = timedelta(hours=1)


def book_track(i: int, *, made: datetime = T0, due: timedelta = 8 * H) -> TrackedPromise:
    return TrackedPromise(
        promise=Promise(
            id=f"P-{i}", customer_id=f"C-{i}", kind="repair", made_at=made, due=made + due
        )
    )


def thin_history(failing: set[str]) -> Callable[[RevisionRequest], datetime]:
    def proposer(request: RevisionRequest) -> datetime:
        if request.promise.id in failing:
            raise InsufficientDataError("only 3 completed jobs (need 30)")
        return request.at + 3 * H

    return proposer


def slipping_policy(proposer: Callable[[RevisionRequest], datetime]) -> EscalationPolicy:
    return EscalationPolicy(
        [
            Rule("half", Elapsed(0.5), NotifyOwner()),
            Rule("slipping", Elapsed(0.75), [NotifyOwner(), ProposeRevision(proposer)], level=2),
            Rule("late", OverdueBy(0), NotifyOwner(), level=3),
        ]
    )


def test_one_failing_promise_does_not_stop_the_others() -> None:
    failing = {"P-1"}
    escalator = Escalator(slipping_policy(thin_history(failing)))
    for i in range(3):
        escalator.add(book_track(i))
    failures: list[EscalationFailure] = []
    now = T0 + 7 * H
    out = escalator.advance(now, on_error=failures.append)
    assert sorted({e.promise_id for e in out}) == ["P-0", "P-2"]
    assert [(e.promise_id, e.rule) for e in out if e.promise_id == "P-0"] == [
        ("P-0", "half"),
        ("P-0", "slipping"),
        ("P-0", "slipping"),
    ]
    (failure,) = failures
    assert isinstance(failure, EscalationFailure)
    assert failure.promise_id == "P-1"
    assert failure.rule == "slipping"
    assert failure.action == "ProposeRevision"
    assert isinstance(failure.error, InsufficientDataError)
    assert failure.message == (
        "promise 'P-1', rule 'slipping', action ProposeRevision: InsufficientDataError: "
        "only 3 completed jobs (need 30)"
    )
    assert str(failure) == failure.message
    assert failure.attempt == 1
    assert failure.at == now
    assert failure.retry_at == now + timedelta(seconds=30)
    # Atomic: not even the "half" firing of P-1 was released or remembered.
    assert escalator.memory("P-1") == EscalationMemory("P-1")
    # Rescheduled (not dropped): checked again at the retry instant.
    assert escalator.next_check() == now + timedelta(seconds=30)
    # Still failing: the attempt count and the backoff grow.
    later = escalator.advance(now + H, on_error=failures.append)
    assert [(e.promise_id, e.rule) for e in later] == [("P-0", "late"), ("P-2", "late")]
    assert failures[-1].attempt == 2
    assert failures[-1].retry_at == now + H + timedelta(minutes=1)
    # The history grew: the retry releases everything, each at its own instant.
    failing.clear()
    done = escalator.advance(now + 2 * H, on_error=failures.append)
    assert len(failures) == 2
    assert [(e.promise_id, e.rule, e.triggered_at) for e in done] == [
        ("P-1", "half", T0 + 4 * H),
        ("P-1", "slipping", T0 + 6 * H),
        ("P-1", "slipping", T0 + 6 * H),
        ("P-1", "late", T0 + 8 * H),
    ]
    assert done[2].proposed_due == T0 + 9 * H
    assert escalator.next_check() is None


def test_without_on_error_the_call_raises_after_finishing_and_keeps_the_escalations() -> None:
    escalator = Escalator(slipping_policy(thin_history({"P-1", "P-3"})))
    for i in range(4):
        escalator.add(book_track(i))
    with pytest.raises(EscalationFailedError) as caught:
        escalator.advance(T0 + 7 * H)
    error = caught.value
    assert isinstance(error, PromiseKitError) and isinstance(error, RuntimeError)
    assert sorted(f.promise_id for f in error.failures) == ["P-1", "P-3"]
    assert sorted({e.promise_id for e in error.escalations}) == ["P-0", "P-2"]
    assert len(error.escalations) == 6
    message = str(error)
    assert "2 promise(s) could not be evaluated" in message
    assert "promise 'P-1', rule 'slipping', action ProposeRevision" in message
    assert "6 escalation(s)" in message and ".escalations" in message
    # Nothing lost, nothing repeated: the released ones are remembered.
    assert escalator.advance(T0 + 7 * H + timedelta(seconds=10)) == []


def test_the_error_message_lists_only_the_first_few_failures() -> None:
    escalator = Escalator(slipping_policy(thin_history({f"P-{i}" for i in range(6)})))
    for i in range(6):
        escalator.add(book_track(i))
    with pytest.raises(EscalationFailedError, match="and 3 more") as caught:
        escalator.advance(T0 + 7 * H)
    assert len(caught.value.failures) == 6


def test_backoff_is_bounded_exponential() -> None:
    escalator = Escalator(
        slipping_policy(thin_history({"P-0"})),
        retry_first=timedelta(seconds=10),
        retry_cap=timedelta(minutes=1),
    )
    assert [escalator.backoff(n).total_seconds() for n in (1, 2, 3, 4, 5, 500)] == [
        10,
        20,
        40,
        60,
        60,
        60,
    ]
    escalator.add(book_track(0))
    failures: list[EscalationFailure] = []
    now = T0 + 7 * H
    for _ in range(5):
        escalator.advance(now, on_error=failures.append)
        now = failures[-1].retry_at
    assert [f.attempt for f in failures] == [1, 2, 3, 4, 5]
    assert [(f.retry_at - f.at).total_seconds() for f in failures] == [10, 20, 40, 60, 60]
    # Not due before the retry instant.
    assert escalator.advance(now - timedelta(seconds=1), on_error=failures.append) == []
    assert len(failures) == 5
    with pytest.raises(InvalidValueError, match="'attempt'"):
        escalator.backoff(0)
    with pytest.raises(InvalidValueError, match="'retry_cap' must not be shorter"):
        Escalator(escalator.policy, retry_first=timedelta(hours=2))
    with pytest.raises(InvalidValueError, match="'retry_first' must be a positive"):
        Escalator(escalator.policy, retry_first=timedelta(0))
    with pytest.raises(InvalidTypeError, match="'retry_cap' must be a timedelta"):
        Escalator(escalator.policy, retry_cap=60)  # type: ignore[arg-type]


def test_a_success_resets_the_attempt_count() -> None:
    failing = {"P-0"}
    escalator = Escalator(
        EscalationPolicy(
            [
                Rule("a", Elapsed(0.25), ProposeRevision(thin_history(failing))),
                Rule("b", Elapsed(0.75), ProposeRevision(thin_history(failing))),
            ]
        )
    )
    escalator.add(book_track(0))
    failures: list[EscalationFailure] = []
    escalator.advance(T0 + 3 * H, on_error=failures.append)
    escalator.advance(T0 + 4 * H, on_error=failures.append)
    assert [f.attempt for f in failures] == [1, 2]
    failing.clear()
    assert [e.rule for e in escalator.advance(T0 + 5 * H, on_error=failures.append)] == ["a"]
    failing.add("P-0")
    escalator.advance(T0 + 7 * H, on_error=failures.append)
    assert [f.attempt for f in failures] == [1, 2, 1]
    assert failures[-1].rule == "b"


def test_compensation_policy_and_plugin_trigger_failures_name_rule_and_action() -> None:
    def broken_policy(request: CompensationRequest) -> Decimal:
        raise ZeroDivisionError("no rate for this customer")

    @attrs.frozen
    class Broken(Trigger):
        def truth(self, segment: Segment) -> list[tuple[int, int]]:
            raise RuntimeError("plugin\nbroke")

    policy = EscalationPolicy(
        [
            Rule("pay", OverdueBy(0), Compensate(broken_policy, per_promise=Decimal(10))),
        ]
    )
    escalator = Escalator(policy)
    escalator.add(book_track(0))
    failures: list[EscalationFailure] = []
    escalator.advance(T0 + 9 * H, on_error=failures.append)
    (failure,) = failures
    assert (failure.rule, failure.action) == ("pay", "Compensate")
    assert failure.message.endswith("ZeroDivisionError: no rate for this customer")

    # A trigger that raises: even computing the first check fails. The promise is checked
    # at the next advance, which reports the failure (with the rule, no action).
    plugin = EscalationPolicy(
        [Rule("ok", Elapsed(0.5), NotifyOwner()), Rule("bad", Broken(), NotifyOwner())]
    )
    book = Escalator(plugin)
    book.add(book_track(0))
    book.add(book_track(1))
    assert book.next_check() == T0
    failures.clear()
    assert book.advance(T0 + H, on_error=failures.append) == []
    assert [(f.promise_id, f.rule, f.action) for f in failures] == [
        ("P-0", "bad", None),
        ("P-1", "bad", None),
    ]
    assert "\n" not in failures[0].message
    assert failures[0].message.endswith("RuntimeError: plugin broke")


def test_on_error_that_raises_still_loses_nothing() -> None:
    escalator = Escalator(slipping_policy(thin_history({"P-1"})))
    escalator.add(book_track(0))
    escalator.add(book_track(1))

    def explode(failure: EscalationFailure) -> None:
        raise KeyError(failure.promise_id)

    with pytest.raises(EscalationFailedError, match="'on_error' raised KeyError") as caught:
        escalator.advance(T0 + 7 * H, on_error=explode)
    assert isinstance(caught.value.__cause__, KeyError)
    assert {e.promise_id for e in caught.value.escalations} == {"P-0"}
    with pytest.raises(InvalidTypeError, match="'on_error' must be callable"):
        escalator.advance(T0 + 8 * H, on_error="log")  # type: ignore[arg-type]


class Interrupt(BaseException):
    pass


def test_base_exceptions_propagate_and_keep_the_promise_scheduled() -> None:
    def interrupted(request: RevisionRequest) -> datetime:
        raise Interrupt

    escalator = Escalator(EscalationPolicy([Rule("r", Elapsed(0.5), ProposeRevision(interrupted))]))
    escalator.add(book_track(0))
    with pytest.raises(Interrupt):
        escalator.advance(T0 + 5 * H)
    assert escalator.next_check() == T0 + 4 * H


def test_evaluate_raises_the_original_error_naming_the_rule() -> None:
    policy = slipping_policy(thin_history({"P-0"}))
    with pytest.raises(InsufficientDataError, match="only 3 completed jobs") as caught:
        policy.evaluate(book_track(0), T0 + 7 * H)
    notes = getattr(caught.value, "__notes__", None)
    if notes is not None:  # Python 3.11+
        assert notes == ["while evaluating promise 'P-0', rule 'slipping', action ProposeRevision"]


def test_update_and_add_check_their_types() -> None:
    escalator = Escalator(slipping_policy(capped_proposer))
    escalator.add(book_track(0))
    with pytest.raises(InvalidTypeError, match="'track' must be a TrackedPromise"):
        escalator.update("P-0")  # type: ignore[arg-type]
    with pytest.raises(InvalidTypeError, match="'memory' must be an EscalationMemory"):
        escalator.add(book_track(1), memory={"promise_id": "P-1"})  # type: ignore[arg-type]
    with pytest.raises(InvalidValueError, match="belongs to promise"):
        escalator.add(book_track(1), memory=EscalationMemory("P-9"))


def test_the_heap_is_compacted_when_stale_entries_pile_up() -> None:
    escalator = Escalator(EscalationPolicy([Rule("half", Elapsed(0.5), NotifyOwner())]))
    track = book_track(0)
    escalator.add(track)
    for i in range(1000):
        escalator.update(
            attrs.evolve(
                track,
                promise=attrs.evolve(
                    track.promise, due=track.promise.due + i * timedelta(minutes=1)
                ),
            )
        )
    assert len(escalator._heap) <= 2 * 64 + 2
    escalator.add(book_track(1))
    for _ in range(10):
        escalator.update(book_track(1))
    assert escalator.next_check() == T0 + 4 * H
    memory = escalator.remove("P-0")
    assert memory.promise_id == "P-0"
    out = escalator.advance(T0 + 5 * H)
    assert [e.promise_id for e in out] == ["P-1"]
    assert escalator.next_check() is None


# --------------------------------------------------------------------------- the property


def key(e: Escalation) -> tuple[Any, ...]:
    return (
        e.promise_id,
        e.rule,
        e.revision,
        e.occurrence,
        e.action.describe(),
        e.at,
        e.triggered_at,
        e.proposed_due,
        e.amount,
        e.capped_by,
    )


def renamed(track: TrackedPromise, i: int) -> TrackedPromise:
    promise = attrs.evolve(track.promise, id=f"P-{i}", customer_id=f"C-{i}")
    return attrs.evolve(track, promise=promise)


def with_proposer(
    policy: EscalationPolicy, proposer: Callable[[RevisionRequest], datetime]
) -> EscalationPolicy:
    """The policy, every ProposeRevision using ``proposer``, plus a rule that proposes."""
    rules = [
        attrs.evolve(
            rule,
            actions=[
                ProposeRevision(proposer) if isinstance(a, ProposeRevision) else a
                for a in rule.actions
            ],
        )
        for rule in policy.rules
    ]
    level = rules[-1].level
    rules.append(Rule("slip", Elapsed(0.5), ProposeRevision(proposer), level=level))
    return EscalationPolicy(rules)


@given(
    book=st.lists(tracks(), min_size=1, max_size=4),
    policy=policies(),
    flaky=st.lists(st.integers(0, 3), min_size=4, max_size=4),
    offsets=st.lists(st.integers(0, (HORIZON + 2 * 24 * 60) * 60), min_size=1, max_size=8),
)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_failures_never_change_what_the_other_promises_release(
    book: list[TrackedPromise],
    policy: EscalationPolicy,
    flaky: list[int],
    offsets: list[int],
) -> None:
    book = [renamed(track, i) for i, track in enumerate(book)]
    # Promise P-i fails on its first flaky[i] proposals (0: never fails), then recovers.
    left = {f"P-{i}": flaky[i] for i in range(len(book))}

    def proposer(request: RevisionRequest) -> datetime:
        pid = request.promise.id
        if left[pid] > 0:
            left[pid] -= 1
            raise InsufficientDataError(f"thin history for {pid}")
        return capped_proposer(request)

    failing_policy = with_proposer(policy, proposer)
    reference_policy = with_proposer(policy, capped_proposer)
    times = sorted({real_add(BASE, timedelta(seconds=s)) for s in offsets})
    escalator = Escalator(failing_policy)
    for track in book:
        escalator.add(track)
    got: list[Escalation] = []
    failures: list[EscalationFailure] = []
    for now in times:
        batch = escalator.advance(now, on_error=failures.append)
        assert [e.at for e in batch] == sorted(e.at for e in batch)
        got.extend(batch)
    failed = {f.promise_id for f in failures}
    expected = [e for track in book for e in run_at(reference_policy, track, times)]
    # The promises that never failed release exactly what a failure-free run releases.
    assert sorted(key(e) for e in got if e.promise_id not in failed) == sorted(
        key(e) for e in expected if e.promise_id not in failed
    )
    for failure in failures:
        assert failure.rule is not None and failure.action == "ProposeRevision"
        assert failure.retry_at > failure.at
    # Once their history is rich enough, the failed ones catch up: nothing lost or repeated.
    end = real_add(times[-1], timedelta(days=10))
    for _ in range(10):
        before = len(failures)
        got.extend(escalator.advance(end, on_error=failures.append))
        if len(failures) == before:
            break
        end = max(f.retry_at for f in failures[before:])
    else:
        raise AssertionError("the failing promises never recovered")
    expected = [e for track in book for e in run_at(reference_policy, track, [*times, end])]
    assert sorted(map(key, got)) == sorted(map(key, expected))


# --------------------------------------------------------------------------- thin history


def request_for(track: TrackedPromise, elapsed: timedelta) -> RevisionRequest:
    return RevisionRequest(
        track=track,
        promise=track.promise,
        at=track.promise.made_at + elapsed,
        elapsed=elapsed,
        calendar=track.calendar,
    )


def test_capability_proposer_falls_back_on_thin_history() -> None:
    thin = EmpiricalCapability.from_durations([2 * H, 3 * H, 4 * H])
    track = book_track(1)
    request = request_for(track, H)
    with pytest.raises(InsufficientDataError, match="promise 'P-1'") as caught:
        CapabilityProposer(thin)(request)
    assert "fallback" in str(caught.value)
    assert isinstance(caught.value.__cause__, InsufficientDataError)
    fallback = CapabilityProposer(thin, fallback=5 * H)
    assert fallback(request) == T0 + 6 * H
    # Rounded up like any proposal; in business time with a calendar.
    odd = CapabilityProposer(thin, fallback=timedelta(minutes=50))
    assert odd(request) == T0 + H + timedelta(minutes=60)
    office = BusinessCalendar("UTC", hours={"mon-fri": "09:00-17:00"})
    late = attrs.evolve(track, calendar=office)
    evening = RevisionRequest(
        track=late, promise=late.promise, at=T0 + 7 * H, elapsed=7 * H, calendar=office
    )
    assert CapabilityProposer(thin, fallback=2 * H)(evening) == T0 + 25 * H
    # min_samples lowers (or raises) the bar, and is passed on to the capability.
    assert CapabilityProposer(thin, min_samples=2)(request) == T0 + 4 * H
    strict = CapabilityProposer(thin, min_samples=4, fallback=H)
    assert strict(request) == T0 + 2 * H
    with pytest.raises(InsufficientDataError, match=r"only 3 past durations.*need 4"):
        CapabilityProposer(thin, min_samples=4)(request)


def test_capability_proposer_min_samples_with_a_capability_without_counts() -> None:
    class Flat:
        def residual_quantile(self, q: float, elapsed: timedelta) -> timedelta:
            return 2 * H

    proposer = CapabilityProposer(Flat(), min_samples=50)
    assert proposer(request_for(book_track(1), H)) == T0 + 3 * H
    for bad, error in [
        ({"min_samples": 0}, InvalidValueError),
        ({"min_samples": True}, InvalidTypeError),
        ({"fallback": 3600}, InvalidTypeError),
        ({"fallback": timedelta(0)}, InvalidValueError),
    ]:
        with pytest.raises(error):
            CapabilityProposer(Flat(), **bad)


def test_thin_history_in_a_book_is_a_failure_naming_the_promise() -> None:
    thin = EmpiricalCapability.from_durations([2 * H, 3 * H, 4 * H])
    escalator = Escalator(slipping_policy(CapabilityProposer(thin)))
    escalator.add(book_track(0))
    failures: list[EscalationFailure] = []
    assert [e.rule for e in escalator.advance(T0 + 5 * H, on_error=failures.append)] == ["half"]
    escalator.advance(T0 + 7 * H, on_error=failures.append)
    (failure,) = failures
    assert failure.message.startswith(
        "promise 'P-0', rule 'slipping', action ProposeRevision: InsufficientDataError: "
        "cannot propose a new date for promise 'P-0'"
    )
