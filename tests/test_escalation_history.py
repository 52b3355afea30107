"""Recording something never rewrites what already happened (issue 11).

Each revision is judged by its own state — ``BufferZone`` by the target and due of the
revision in force — so evaluating as events arrive (the track as known at each evaluation)
gives exactly what evaluating with hindsight (the full track) gives.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from promisekit.errors import InconsistentRecordError
from promisekit.escalation import (
    Escalation,
    EscalationMemory,
    EscalationPolicy,
    Escalator,
    Grant,
    Pause,
    TrackedPromise,
)
from promisekit.promise import Promise
from tests.test_escalation_engine import (
    HORIZON,
    MIN,
    policies,
    real_add,
    run_at,
    run_by_next_check,
    tracks,
)

UTC = timezone.utc
T0 = datetime(2026, 3, 10, 9, tzinfo=UTC)
H = timedelta(hours=1)
YELLOW = EscalationPolicy.from_toml(
    '[[rules]]\nname="yellow"\nwhen="buffer_zone >= yellow"\ndo=["notify_owner"]\n'
)
NOT_YELLOW = EscalationPolicy.from_toml(
    '[[rules]]\nname="calm"\nwhen="not buffer_zone >= yellow"\ndo=["notify_owner"]\n'
)


def repro_track() -> TrackedPromise:
    promise = Promise(
        id="P", customer_id="C", kind="repair", made_at=T0, due=T0 + 4 * H, target=T0 + 2 * H
    )
    return TrackedPromise(promise=promise)


def test_a_revision_does_not_erase_an_earlier_buffer_zone_firing() -> None:
    track = repro_track()
    revised = track.revise(due=T0 + 6 * H, at=T0 + H)
    before = YELLOW.evaluate(track, T0 + timedelta(minutes=50))
    assert [(e.rule, e.revision, e.triggered_at) for e in before] == [
        ("yellow", 0, T0 + timedelta(minutes=40))
    ]
    after = YELLOW.evaluate(revised, T0 + 2 * H)
    assert list(after) == list(before)
    # The scheduler agrees.
    escalator = Escalator(YELLOW)
    escalator.add(revised)
    assert escalator.advance(T0 + 2 * H) == list(before)
    # The revision records the original target; revision 1 has none.
    assert revised.past_targets == (T0 + 2 * H,)
    assert revised.target_at(0) == T0 + 2 * H
    assert revised.target_at(1) is None
    assert revised.promise_at(0).target == T0 + 2 * H


def test_negated_buffer_zone_does_not_fire_retroactively() -> None:
    track = repro_track()
    # "not yellow" is true from made_at under revision 0 (and fires then).
    first = NOT_YELLOW.evaluate(track, T0 + timedelta(minutes=10))
    assert [(e.revision, e.triggered_at) for e in first] == [(0, T0)]
    revised = track.revise(due=T0 + 6 * H, at=T0 + H)
    # Revision 1 has no target: "not yellow" is true again and fires once for it, at the
    # revision — and the revision-0 history is unchanged.
    full = NOT_YELLOW.evaluate(revised, T0 + 2 * H)
    assert [(e.revision, e.triggered_at) for e in full] == [(0, T0), (1, T0 + H)]


def test_a_revision_with_its_own_target_uses_its_own_buffer() -> None:
    track = repro_track().revise(due=T0 + 6 * H, at=T0 + H, target=T0 + 3 * H)
    # Revision 0: buffer 2 h (11:00 -> 13:00), yellow after a third of it: 09:40.
    # Revision 1 (at 10:00): window 6 h on the clock, buffer 3 h (12:00 -> 15:00), chain 3 h;
    # without progress yellow once the clock reaches a third of the buffer (1 h): at once.
    firings = [(e.revision, e.triggered_at) for e in YELLOW.evaluate(track, T0 + 5 * H)]
    assert firings == [(0, T0 + timedelta(minutes=40)), (1, T0 + H)]


def test_past_targets_are_checked() -> None:
    track = repro_track()
    with pytest.raises(InconsistentRecordError, match="at most one target per earlier"):
        attrs.evolve(track, past_targets=(T0,))
    revised = track.revise(due=T0 + 6 * H, at=T0 + H)
    with pytest.raises(InconsistentRecordError, match=r"'past_targets\[0\]' must be between"):
        attrs.evolve(revised, past_targets=(T0 + 5 * H,))
    with pytest.raises(TypeError, match="'past_targets' must be a tuple"):
        attrs.evolve(revised, past_targets="x")
    # A promise revised outside the track: the earlier targets are unknown (no target).
    outside = TrackedPromise(promise=revised.promise)
    assert outside.past_targets == ()
    assert outside.target_at(0) is None
    # Revising through the track then pads the unknown ones.
    again = outside.revise(due=T0 + 8 * H, at=T0 + 2 * H, target=T0 + 7 * H)
    assert again.past_targets == (None, None)
    assert again.revise(due=T0 + 9 * H, at=T0 + 3 * H).past_targets == (None, None, T0 + 7 * H)


# --------------------------------------------------------------------------- property


def known_at(track: TrackedPromise, now: datetime) -> TrackedPromise:
    """The track as recorded up to ``now``: later events had not happened yet."""
    promise = track.promise
    revision = sum(1 for change in promise.revisions if change.at <= now)
    pauses = []
    for pause in track.pauses:
        if pause.start > now:
            break
        end = pause.end if pause.end is not None and pause.end <= now else None
        pauses.append(Pause(pause.start, end, reason=pause.reason))
    completed = track.completed_at
    return attrs.evolve(
        track,
        promise=track.promise_at(revision),
        past_targets=track.past_targets[:revision],
        pauses=pauses,
        updates=[u for u in track.updates if u.at <= now],
        progress=[p for p in track.progress if p.at <= now],
        completed_at=completed if completed is not None and completed <= now else None,
    )


def run_as_recorded(
    policy: EscalationPolicy, track: TrackedPromise, times: list[datetime]
) -> list[Escalation]:
    memory: EscalationMemory | None = None
    granted: list[Grant] = []
    out: list[Escalation] = []
    for now in times:
        result = policy.evaluate(known_at(track, now), now, memory, granted=granted)
        out.extend(result)
        memory = result.memory
        granted.extend(result.grants)
    return out


@given(
    track=tracks(),
    policy=policies(),
    seconds=st.lists(st.integers(-3600, (HORIZON + 3 * 24 * 60) * 60), max_size=12),
)
@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_evaluating_as_recorded_equals_hindsight(
    track: TrackedPromise, policy: EscalationPolicy, seconds: list[int]
) -> None:
    made = track.promise.made_at
    end = real_add(made, (HORIZON + 3 * 24 * 60) * MIN)
    times = sorted({real_add(made, timedelta(seconds=s)) for s in seconds} | {end})
    assert run_as_recorded(policy, track, times) == run_at(policy, track, times)
    assert run_at(policy, track, times) == run_by_next_check(policy, track, end)


@given(
    track=tracks(),
    zone=st.sampled_from(["yellow", "red"]),
    negate=st.booleans(),
    seconds=st.lists(st.integers(0, (HORIZON + 3 * 24 * 60) * 60), max_size=12),
)
@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_buffer_zone_rules_are_history_proof(
    track: TrackedPromise, zone: str, negate: bool, seconds: list[int]
) -> None:
    when = f"{'not ' if negate else ''}buffer_zone >= {zone}"
    policy = EscalationPolicy.from_dict(
        {"rules": [{"name": "r", "when": when, "do": ["notify_owner"]}]}
    )
    made = track.promise.made_at
    end = real_add(made, (HORIZON + 3 * 24 * 60) * MIN)
    times = sorted({real_add(made, timedelta(seconds=s)) for s in seconds} | {end})
    hindsight = run_at(policy, track, times)
    assert run_as_recorded(policy, track, times) == hindsight
    assert hindsight == run_by_next_check(policy, track, end)
    escalator = Escalator(policy)
    escalator.add(track)
    assert escalator.advance(end) == hindsight
    # Every firing is true at its instant under the state of its own revision.
    for escalation in hindsight:
        trigger = policy.rules[0].when
        assert trigger.is_true(known_at(track, escalation.triggered_at), escalation.triggered_at)


def test_every_minute_with_a_targeted_revision() -> None:
    track = repro_track().revise(due=T0 + 6 * H, at=T0 + H, target=T0 + 3 * H)
    minutes = [T0 + i * MIN for i in range(6 * 60 + 1)]
    assert run_at(YELLOW, track, minutes) == run_by_next_check(YELLOW, track, minutes[-1])
    assert run_as_recorded(YELLOW, track, minutes) == run_at(YELLOW, track, minutes)
