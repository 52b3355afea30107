"""Escalator: a heap of next checks gives exactly what evaluating every promise would."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from promisekit.errors import InvalidTypeError, InvalidValueError
from promisekit.escalation import (
    Elapsed,
    Escalation,
    EscalationPolicy,
    Escalator,
    NotifyOwner,
    OverdueBy,
    Rule,
    TrackedPromise,
)
from tests.test_escalation_engine import BASE, HORIZON, MIN, policies, real_add, run_at, tracks


def key(e: Escalation) -> tuple[Any, ...]:
    return (e.promise_id, e.rule, e.revision, e.occurrence, repr(e.action), e.at, e.triggered_at)


def renamed(track: TrackedPromise, i: int) -> TrackedPromise:
    promise = attrs.evolve(track.promise, id=f"P-{i}", customer_id=f"C-{i}")
    return attrs.evolve(track, promise=promise)


@given(
    book=st.lists(tracks(), min_size=1, max_size=4),
    policy=policies(),
    offsets=st.lists(st.integers(0, (HORIZON + 2 * 24 * 60) * 60), min_size=1, max_size=10),
)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_escalator_equals_evaluating_every_promise(
    book: list[TrackedPromise], policy: EscalationPolicy, offsets: list[int]
) -> None:
    book = [renamed(track, i) for i, track in enumerate(book)]
    times = sorted({real_add(BASE, timedelta(seconds=s)) for s in offsets})
    escalator = Escalator(policy)
    for track in book:
        escalator.add(track)
    got: list[Escalation] = []
    for now in times:
        batch = escalator.advance(now)
        assert all(e.at <= now for e in batch)
        assert [e.at for e in batch] == sorted(e.at for e in batch)
        got.extend(batch)
    expected = [e for track in book for e in run_at(policy, track, times)]
    assert sorted(got, key=key) == sorted(expected, key=key)
    nxt = escalator.next_check()
    if nxt is not None:
        assert nxt > times[-1]


def test_update_remove_and_memory() -> None:
    policy = EscalationPolicy(
        [
            Rule("half", Elapsed(0.5), NotifyOwner()),
            Rule("late", OverdueBy(0), NotifyOwner(), level=2),
        ]
    )
    promise_made = BASE
    from tests.test_escalation_engine import make_track

    track = make_track(made=promise_made)  # 8 h window
    escalator = Escalator(policy)
    escalator.add(track)
    assert len(escalator) == 1 and "P-1" in escalator
    assert escalator.next_check() == BASE + timedelta(hours=4)
    assert [e.rule for e in escalator.advance(BASE + timedelta(hours=5))] == ["half"]
    # Paused at 5 h for 10 h: the due moves from 8 h to 18 h.
    paused = track.pause(BASE + timedelta(hours=5))
    escalator.update(paused)
    assert escalator.next_check() is None
    assert escalator.advance(BASE + timedelta(hours=12)) == []
    resumed = paused.resume(BASE + timedelta(hours=15))
    escalator.update(resumed)
    assert escalator.next_check() == BASE + timedelta(hours=18)
    memory = escalator.remove("P-1")
    assert "P-1" not in escalator and len(escalator) == 0
    again = Escalator(policy)
    again.add(resumed, memory)
    late = again.advance(BASE + timedelta(days=1))
    assert [(e.rule, e.triggered_at) for e in late] == [("late", BASE + timedelta(hours=18))]
    assert list(again) == [resumed]
    assert again.policy is policy
    assert again.granted("C-1") == ()
    with pytest.raises(InvalidValueError, match="already in the book"):
        again.add(resumed)
    with pytest.raises(InvalidValueError, match="not in the book"):
        escalator.update(resumed)
    with pytest.raises(InvalidValueError, match="not in the book"):
        escalator.memory("P-1")
    with pytest.raises(InvalidTypeError):
        Escalator("policy")  # type: ignore[arg-type]
    with pytest.raises(InvalidTypeError):
        again.add("track")  # type: ignore[arg-type]


def test_advance_only_touches_due_promises() -> None:
    from tests.test_escalation_engine import make_track

    policy = EscalationPolicy([Rule("half", Elapsed(0.5), NotifyOwner())])
    escalator = Escalator(policy)
    for i in range(200):
        made = BASE + i * MIN
        track = make_track(made=made, due=made + timedelta(hours=2))
        escalator.add(renamed(track, i))
    first = escalator.advance(BASE + timedelta(hours=1))
    assert [e.promise_id for e in first] == ["P-0"]
    rest = escalator.advance(BASE + timedelta(hours=5))
    assert len(rest) == 199
    assert [e.triggered_at for e in rest] == sorted(e.triggered_at for e in rest)
    assert escalator.advance(datetime(2030, 1, 1, tzinfo=BASE.tzinfo)) == []


@given(
    track=tracks(),
    policy=policies(),
    offsets=st.lists(st.integers(0, (HORIZON + 2 * 24 * 60) * 60), min_size=1, max_size=8),
)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_next_check_from_the_agenda_equals_the_engines(
    track: TrackedPromise, policy: EscalationPolicy, offsets: list[int]
) -> None:
    # The scheduler takes firings one by one from each promise's agenda (the next firing
    # of every rule); its next check is exactly the engine's, after every advance.
    times = sorted({real_add(BASE, timedelta(seconds=s)) for s in offsets})
    escalator = Escalator(policy)
    escalator.add(track)
    assert escalator.next_check() == policy.next_check(track, BASE - timedelta(days=30))
    memory = None
    granted: list[Any] = []
    for now in times:
        got = escalator.advance(now)
        result = policy.evaluate(track, now, memory, granted=granted)
        memory, granted = result.memory, [*granted, *result.grants]
        assert [key(e) for e in got] == [key(e) for e in result]
        assert escalator.next_check() == result.next_check


def test_the_timeline_is_not_kept_per_promise() -> None:
    from tests.test_escalation_engine import make_track

    policy = EscalationPolicy([Rule("half", Elapsed(0.5), NotifyOwner())])
    escalator = Escalator(policy)
    fresh = make_track()
    escalator.add(fresh)
    assert fresh._cache == []  # rebuilt when the check comes, not kept
    escalator.advance(BASE + timedelta(hours=5))
    assert fresh._cache == []
    # A timeline the caller had already built stays.
    warm = renamed(make_track(), 2)
    warm.effective_due()
    cached = list(warm._cache)
    escalator.add(warm)
    escalator.advance(BASE + timedelta(hours=6))
    assert warm._cache == cached
