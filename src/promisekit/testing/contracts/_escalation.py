"""The escalation suites, :func:`check_trigger` and :func:`check_action`."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import hypothesis
from hypothesis import given
from hypothesis import strategies as st

from promisekit.escalation import (
    Action,
    CustomerUpdate,
    EscalationPolicy,
    NotifyOwner,
    OverdueBy,
    Pause,
    ProgressReport,
    Rule,
    TrackedPromise,
    Trigger,
)
from promisekit.testing.contracts._data import _check_data
from promisekit.testing.contracts._satisfaction import _CALENDARS, _PROMISES
from promisekit.testing.contracts._suite import (
    _UTC,
    _fmt,
    _fresh,
    _settings,
    _shift,
    _snapshot,
    _Suite,
)


@st.composite
def _track_case(draw: st.DrawFn, contact: bool) -> tuple[TrackedPromise, datetime]:
    """A tracked promise with pauses, updates, progress, maybe completion; and an instant."""
    promise = draw(_PROMISES[True, False])
    made = promise.made_at
    latest = max(
        [promise.due, promise.original_due, *(r.at for r in promise.revisions)],
        key=lambda moment: moment.astimezone(_UTC),
    )
    horizon = max(int((latest.astimezone(_UTC) - made.astimezone(_UTC)).total_seconds()), 3600)
    horizon *= 2
    cuts = sorted(draw(st.lists(st.integers(1, horizon), max_size=4, unique=True)))
    pauses = [
        Pause(_shift(made, cuts[i]), _shift(made, cuts[i + 1]) if i + 1 < len(cuts) else None)
        for i in range(0, len(cuts), 2)
    ]
    updates = [
        CustomerUpdate(_shift(made, offset))
        for offset in draw(st.lists(st.integers(0, horizon), max_size=2))
    ]
    progress = [
        ProgressReport(_shift(made, offset), fraction)
        for offset, fraction in draw(
            st.lists(st.tuples(st.integers(0, horizon), st.floats(0, 1)), max_size=2)
        )
    ]
    completed = draw(st.none() | st.integers(0, horizon))
    track = TrackedPromise(
        promise=promise,
        calendar=draw(_CALENDARS),
        contact_hours=draw(_CALENDARS) if contact else None,
        pauses=pauses,
        updates=updates,
        progress=progress,
        completed_at=None if completed is None else _shift(made, completed),
    )
    return track, _shift(made, draw(st.integers(-3600, horizon + 3600)))


_TRACK_CASES = _track_case(contact=False)


_CONTACT_TRACK_CASES = _track_case(contact=True)


def _check_describe(suite: _Suite, obj: Trigger | Action) -> None:
    first = suite.call("describe", "describe()", obj.describe)
    if not isinstance(first, str) or not first.strip():
        suite.fail("describe", f"describe() must return a non-empty string (got {first!r})")
    if suite.call("describe", "describe()", obj.describe) != first:
        suite.fail("describe", "describe() gave two different texts")


def check_trigger(
    trigger: Any, *, max_examples: int = 100, settings: hypothesis.settings | None = None
) -> None:
    """Check that ``trigger`` keeps the escalation-trigger contract.

    Properties, over ``max_examples`` generated tracked promises (revised or not, with
    pauses, customer updates, progress reports, completion, a calendar or none) and
    instants:

    * ``type``: it subclasses :class:`promisekit.escalation.Trigger`;
    * ``hashable``, ``frozen``, ``equal by value``, ``repr round-trip or attrs equality``:
      it is immutable data;
    * ``describe``: a non-empty, stable text;
    * ``deterministic and pure``: ``is_true`` and ``becomes_true`` give the same answers
      again, on a fresh copy of the track, and change neither the track nor the trigger;
    * ``consistent``: ``becomes_true(track, after)`` is ``None`` or an aware instant not
      before ``after`` at which ``is_true`` holds;
    * ``engine``: a rule on it fires at the instant ``becomes_true`` reports, and
      evaluating twice gives the same result.

    Args:
        trigger: The trigger instance to check.
        max_examples: Generated examples per property (``>= 1``).
        settings: Hypothesis settings to start from (see the module docstring).

    Raises:
        AssertionError: A property does not hold; the message names it and gives the
            counterexample.

    .. versionadded:: 0.1.0
    """
    chosen = _settings(max_examples, settings)
    suite = _Suite("check_trigger", trigger)
    if not isinstance(trigger, Trigger):
        suite.fail(
            "type",
            f"it is a {type(trigger).__name__}, not a promisekit.escalation.Trigger",
            "subclass promisekit.escalation.Trigger (a frozen attrs class) and implement truth()",
        )
    _check_data(suite, trigger)
    _check_describe(suite, trigger)

    def answers(
        prop: str, track: TrackedPromise, at: datetime
    ) -> tuple[bool, datetime | None, datetime | None]:
        context = (f"track: {track!r}", f"at: {_fmt(at)}")
        now = suite.call(prop, "is_true()", lambda: trigger.is_true(track, at), *context)
        first = suite.call(prop, "becomes_true()", lambda: trigger.becomes_true(track), *context)
        after = suite.call(
            prop, "becomes_true(after)", lambda: trigger.becomes_true(track, at), *context
        )
        return now, first, after

    @chosen
    @given(_TRACK_CASES)
    def deterministic(case: tuple[TrackedPromise, datetime]) -> None:
        prop = "deterministic and pure"
        track, at = case
        snapshot = _fresh(track)
        before = _snapshot(trigger)
        first = answers(prop, track, at)
        suite.same(
            prop,
            first,
            (
                (label, answers(prop, other, at))
                for label, other in (
                    ("asking again", track),
                    ("a fresh copy of the track", snapshot),
                )
            ),
            "other answers (is_true, becomes_true(), becomes_true(at))",
            f"track: {track!r}",
            f"at: {_fmt(at)}",
        )
        if track != snapshot:
            suite.fail(prop, "the trigger changed the track", f"track before: {snapshot!r}")
        if trigger != before:
            suite.fail(prop, "evaluating changed the trigger", f"before: {before!r}")

    @chosen
    @given(_TRACK_CASES)
    def consistent(case: tuple[TrackedPromise, datetime]) -> None:
        prop = "consistent"
        track, at = case
        _, first, after = answers(prop, track, at)
        for label, moment, floor in (
            ("becomes_true()", first, None),
            ("becomes_true(at)", after, at),
        ):
            if moment is None:
                continue
            if not isinstance(moment, datetime) or moment.utcoffset() is None:
                suite.fail(prop, f"{label} returned {moment!r}, not an aware datetime")
            if floor is not None and moment.astimezone(_UTC) < floor.astimezone(_UTC):
                suite.fail(
                    prop,
                    f"{label} returned {_fmt(moment)}, before {_fmt(floor)}",
                    f"track: {track!r}",
                )
            holds = suite.call(prop, "is_true()", functools.partial(trigger.is_true, track, moment))
            if not holds:
                suite.fail(
                    prop,
                    f"{label} returned {_fmt(moment)}, but is_true() is False at that instant",
                    f"track: {track!r}",
                    f"at: {_fmt(at)}",
                )

    @chosen
    @given(_TRACK_CASES)
    def engine(case: tuple[TrackedPromise, datetime]) -> None:
        prop = "engine"
        track, now = case
        policy = EscalationPolicy([Rule("contract", trigger, [NotifyOwner()])])
        context = (f"track: {track!r}", f"now: {_fmt(now)}")
        first = suite.call(prop, "evaluate()", lambda: policy.evaluate(track, now), *context)
        again = suite.call(prop, "evaluate()", lambda: policy.evaluate(track, now), *context)
        if first != again:
            suite.fail(prop, "evaluating twice gave different results", *context)
        fired = list(first)
        expected = suite.call(prop, "becomes_true()", lambda: trigger.becomes_true(track))
        if fired and (expected is None or fired[0].triggered_at != expected):
            suite.fail(
                prop,
                f"the rule fired at {_fmt(fired[0].triggered_at)}, but becomes_true() says "
                f"{_fmt(expected)}",
                *context,
            )

    deterministic()
    consistent()
    engine()


def check_action(
    action: Any, *, max_examples: int = 100, settings: hypothesis.settings | None = None
) -> None:
    """Check that ``action`` keeps the escalation-action contract.

    Properties:

    * ``type``: it subclasses :class:`promisekit.escalation.Action`;
    * ``hashable``, ``frozen``, ``equal by value``, ``repr round-trip or attrs equality``:
      it is immutable data;
    * ``describe``: a non-empty, stable text; ``customer_facing`` is a bool;
    * ``engine`` (over ``max_examples`` generated tracked promises, with contact hours or
      none, and evaluation instants): a rule firing it gives the same escalations when
      evaluated twice, each carrying an action equal to it, and leaves it unchanged.

    Args:
        action: The action instance to check.
        max_examples: Generated examples (``>= 1``).
        settings: Hypothesis settings to start from (see the module docstring).

    Raises:
        AssertionError: A property does not hold; the message names it and gives the
            counterexample.

    .. versionadded:: 0.1.0
    """
    chosen = _settings(max_examples, settings)
    suite = _Suite("check_action", action)
    if not isinstance(action, Action):
        suite.fail(
            "type",
            f"it is a {type(action).__name__}, not a promisekit.escalation.Action",
            "subclass promisekit.escalation.Action with a frozen attrs class",
        )
    _check_data(suite, action)
    _check_describe(suite, action)
    if not isinstance(action.customer_facing, bool):
        suite.fail("describe", f"customer_facing must be a bool (got {action.customer_facing!r})")
    snapshot = _snapshot(action)
    fingerprint = hash(action)

    @chosen
    @given(_CONTACT_TRACK_CASES)
    def engine(case: tuple[TrackedPromise, datetime]) -> None:
        prop = "engine"
        track, now = case
        policy = EscalationPolicy([Rule("contract", OverdueBy(0), [action])])
        context = (f"track: {track!r}", f"now: {_fmt(now)}")
        first = suite.call(prop, "evaluate()", lambda: policy.evaluate(track, now), *context)
        again = suite.call(prop, "evaluate()", lambda: policy.evaluate(track, now), *context)
        if first != again:
            suite.fail(prop, "evaluating twice gave different results", *context)
        for escalation in _escalations(first):
            if escalation.action != action:
                suite.fail(
                    prop,
                    f"the engine returned the action as {escalation.action!r}",
                    *context,
                )
        if action != snapshot or hash(action) != fingerprint:
            suite.fail(prop, "evaluating changed the action", f"before: {snapshot!r}")

    engine()


def _escalations(evaluation: Any) -> Iterator[Any]:
    yield from evaluation
    yield from getattr(evaluation.memory, "pending", ())
