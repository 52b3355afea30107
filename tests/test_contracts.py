"""promisekit.testing.contracts: the built-ins pass, and broken plugins fail readably."""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import attrs
import pytest
from hypothesis import Phase, settings

from promisekit import buffering, escalation
from promisekit.buffering import BufferPolicy, QuoteContext
from promisekit.delivery import Outcome
from promisekit.errors import InvalidTypeError, InvalidValueError
from promisekit.escalation import Action, Trigger
from promisekit.satisfaction import (
    Disconfirmation,
    Expectation,
    Labels,
    ProspectValue,
    Satisfaction,
    ZoneOfTolerance,
)
from promisekit.testing import contracts
from promisekit.testing.contracts import (
    check_action,
    check_buffer_policy,
    check_satisfaction_model,
    check_trigger,
)

# Few examples: these tests check the suites themselves; plugin authors use more.
FEW = 8
# Report the first failure found as it is: shrinking the generated promises and calendars
# takes long, and only the two acceptance tests below need the shrunk counterexample.
FIRST_FAILURE = settings(database=None, phases=[Phase.explicit, Phase.generate])


def test_exports() -> None:
    assert contracts.__all__ == sorted(contracts.__all__)
    for name in contracts.__all__:
        assert getattr(contracts, name).__doc__


# --------------------------------------------------------------------------- built-ins pass


def test_builtin_models_keep_the_contract() -> None:
    check_satisfaction_model(Disconfirmation(), max_examples=FEW, loss_averse=True)
    check_satisfaction_model(ZoneOfTolerance(-0.1, 0.5), max_examples=FEW)


@pytest.mark.parametrize(
    "policy",
    [
        buffering.NoBuffer(),
        buffering.ProportionalBuffer(0.2),
        buffering.QuantileBuffer(0.9, min_samples=5)
        + buffering.FixedBuffer(timedelta(minutes=15))
        + buffering.RoundUp("half-hour"),
        buffering.RoundUp("next-business-day") | buffering.Floor(timedelta(hours=1)),
        buffering.Cap(timedelta(hours=2)),
        buffering.OptimalBuffer(buffering.LinearLatenessCost(1.0, 0.2)),
    ],
    ids=repr,
)
def test_builtin_policies_keep_the_contract(policy: BufferPolicy) -> None:
    check_buffer_policy(policy, max_examples=FEW)


@pytest.mark.parametrize(
    "trigger",
    [
        escalation.Elapsed(0.5) & ~escalation.Revised(times=1),
        escalation.OverdueBy(hours=1) | escalation.Silence(hours=4),
        escalation.Remaining(minutes=30),
        escalation.BufferZone("red"),
    ],
    ids=repr,
)
def test_builtin_triggers_keep_the_contract(trigger: Trigger) -> None:
    check_trigger(trigger, max_examples=FEW)


@pytest.mark.parametrize(
    "action",
    [
        escalation.NotifyOwner("look"),
        escalation.NotifyCustomer("delay"),
        escalation.EscalateTo(2),
        escalation.Compensate(Decimal("10.00"), per_promise=Decimal("25.00")),
    ],
    ids=repr,
)
def test_builtin_actions_keep_the_contract(action: Action) -> None:
    check_action(action, max_examples=FEW)


# --------------------------------------------------------------------------- broken models


def _satisfaction(value: float) -> Satisfaction:
    labels = Labels()
    return Satisfaction(
        value=value,
        components={"time": value},
        label=labels.level(value),
        expected_csat=labels.expected_csat(value),
    )


def _end(outcome: Outcome) -> datetime:
    return outcome.completed_at if outcome.completed_at is not None else outcome.assessed_at


@attrs.frozen
class LateIsBetter:
    """Deliberately non-monotonic: the later the completion, the happier the customer."""

    per_hour: float = 0.1

    def score(self, expectation: Expectation, outcome: Outcome) -> Satisfaction:
        hours = (_end(outcome) - expectation.made_at).total_seconds() / 3600
        return _satisfaction(min(hours * self.per_hour, 5.0))

    def score_many(self, pairs: Iterable[tuple[Expectation, Outcome]]) -> list[Satisfaction]:
        return [self.score(e, o) for e, o in pairs]


@attrs.frozen
class ReturnsFloats(LateIsBetter):
    def score(self, expectation: Expectation, outcome: Outcome) -> Any:
        return 0.5


@attrs.frozen
class ShuffledBatch:
    def score(self, expectation: Expectation, outcome: Outcome) -> Satisfaction:
        return _satisfaction(-(_end(outcome) - expectation.due).total_seconds() / 86400)

    def score_many(self, pairs: Iterable[tuple[Expectation, Outcome]]) -> list[Satisfaction]:
        return [self.score(e, o) for e, o in pairs][::-1]


class NoParameters:
    def score(self, expectation: Expectation, outcome: Outcome) -> Satisfaction:
        return _satisfaction(0.0)

    def score_many(self, pairs: Iterable[tuple[Expectation, Outcome]]) -> list[Satisfaction]:
        return [self.score(e, o) for e, o in pairs]


def test_a_non_monotonic_model_fails_readably() -> None:
    with pytest.raises(AssertionError) as caught:
        check_satisfaction_model(LateIsBetter(), max_examples=50)
    message = str(caught.value)
    first, *details = message.splitlines()
    assert first == (
        "check_satisfaction_model: LateIsBetter(per_hour=0.1) breaks property "
        "'monotone in earliness': finishing earlier must never score lower"
    )
    assert details[0].startswith("  expectation: Expectation(kind=")
    assert details[1].startswith("  completed at ")
    assert details[2].startswith("  completed later, at ")
    assert "-> value" in details[1]


def test_a_model_that_is_not_a_model() -> None:
    with pytest.raises(AssertionError, match="breaks property 'protocol'"):
        check_satisfaction_model(object(), max_examples=FEW)


def test_a_model_returning_floats() -> None:
    with pytest.raises(
        AssertionError,
        match="breaks property 'finite and well-formed': score\\(\\) returned float",
    ):
        check_satisfaction_model(ReturnsFloats(), max_examples=FEW, settings=FIRST_FAILURE)


def test_a_model_whose_batch_differs() -> None:
    with pytest.raises(AssertionError) as caught:
        check_satisfaction_model(ShuffledBatch(), max_examples=50, settings=FIRST_FAILURE)
    assert "breaks property 'batch equals one by one'" in str(caught.value)
    assert "score_many: [" in str(caught.value)


def test_a_model_claiming_loss_aversion_wrongly() -> None:
    with pytest.raises(AssertionError) as caught:
        check_satisfaction_model(
            Disconfirmation(ProspectValue(lam=0.5), breach=0.0),
            max_examples=50,
            loss_averse=True,
            settings=FIRST_FAILURE,
        )
    assert "breaks property 'loss averse'" in str(caught.value)
    assert "(gain " in str(caught.value)


def test_a_model_without_readable_parameters() -> None:
    with pytest.raises(AssertionError, match="'parameters round-trip': its parameters cannot"):
        check_satisfaction_model(NoParameters(), max_examples=FEW)


def test_loss_averse_must_be_a_bool() -> None:
    with pytest.raises(InvalidTypeError, match="'loss_averse' must be a bool"):
        check_satisfaction_model(Disconfirmation(), loss_averse="yes")  # type: ignore[arg-type]


@pytest.mark.parametrize(("value", "error"), [(0, InvalidValueError), (2.5, InvalidTypeError)])
def test_max_examples_is_checked(value: Any, error: type[Exception]) -> None:
    with pytest.raises(error, match="'max_examples'"):
        check_action(escalation.NotifyOwner(), max_examples=value)


def test_settings_are_checked_and_used() -> None:
    with pytest.raises(InvalidTypeError, match=r"'settings' must be a hypothesis\.settings"):
        check_action(escalation.NotifyOwner(), settings={"derandomize": True})  # type: ignore[arg-type]
    chosen = contracts._settings(3, settings(derandomize=True, deadline=100))
    assert (chosen.max_examples, chosen.derandomize, chosen.deadline) == (3, True, None)
    assert contracts._settings(3, None).database is None
    check_action(escalation.NotifyOwner(), max_examples=2, settings=settings(derandomize=True))


# --------------------------------------------------------------------------- broken policies

_TICKS = itertools.count()


@attrs.frozen
class Jittery(BufferPolicy):
    """Deliberately non-deterministic: a buffer of 0 or 1 second, alternately."""

    def apply(self, context: QuoteContext, due: datetime) -> datetime:
        return context.advance(due, timedelta(seconds=next(_TICKS) % 2))


@attrs.frozen
class TooEarly(BufferPolicy):
    def apply(self, context: QuoteContext, due: datetime) -> datetime:
        return context.start


@attrs.frozen
class InUtc(BufferPolicy):
    def apply(self, context: QuoteContext, due: datetime) -> datetime:
        return context.advance(due, timedelta(minutes=1)).astimezone(timezone.utc)


@attrs.frozen
class ShorterWhenSlower(BufferPolicy):
    """Deliberately not monotone: promises four days minus the median duration."""

    def apply(self, context: QuoteContext, due: datetime) -> datetime:
        return context.later(due, context.at(timedelta(days=4) - context.target_window))


def test_a_non_deterministic_policy_fails_readably() -> None:
    with pytest.raises(AssertionError) as caught:
        check_buffer_policy(Jittery(), max_examples=50)
    first, *details = str(caught.value).splitlines()
    assert first == (
        "check_buffer_policy: Jittery() breaks property 'deterministic': apply() gave two "
        "different dues for the same start, capability and calendar"
    )
    assert details[0].startswith("  first: ")
    assert ", then: " in details[0]
    assert details[1].startswith("  start ")
    assert "capability " in details[1]


def test_a_policy_due_before_the_target() -> None:
    with pytest.raises(AssertionError) as caught:
        check_buffer_policy(TooEarly(), max_examples=50, settings=FIRST_FAILURE)
    assert "breaks property 'due never before target'" in str(caught.value)
    assert "before the internal target" in str(caught.value)


def test_a_policy_answering_in_another_zone() -> None:
    with pytest.raises(AssertionError, match="'aware in the context zone'"):
        check_buffer_policy(InUtc(), max_examples=50, settings=FIRST_FAILURE)


def test_a_policy_shorter_when_slower() -> None:
    with pytest.raises(AssertionError) as caught:
        check_buffer_policy(ShorterWhenSlower(), max_examples=50, settings=FIRST_FAILURE)
    assert "breaks property 'monotone in capability'" in str(caught.value)
    assert "slower capability" in str(caught.value)
    check_buffer_policy(ShorterWhenSlower(), max_examples=FEW, monotone=False)


def test_a_policy_that_is_not_a_policy() -> None:
    with pytest.raises(AssertionError, match="breaks property 'type': it is a str"):
        check_buffer_policy("fixed", max_examples=FEW)


# --------------------------------------------------------------------------- broken triggers


@attrs.frozen
class Flaky(Trigger):
    """Deliberately non-deterministic: true or never, alternately."""

    def truth(self, segment: Any) -> list[tuple[int, int]]:
        return [(segment.lo, segment.hi)] if next(_TICKS) % 2 else []


def test_a_non_deterministic_trigger_fails_readably() -> None:
    with pytest.raises(AssertionError) as caught:
        check_trigger(Flaky(), max_examples=50, settings=FIRST_FAILURE)
    assert str(caught.value).startswith(
        "check_trigger: Flaky() breaks property 'deterministic and pure': "
    )
    assert "track: TrackedPromise(" in str(caught.value)


def test_a_trigger_that_is_not_a_trigger() -> None:
    with pytest.raises(AssertionError, match="breaks property 'type'"):
        check_trigger(escalation.NotifyOwner(), max_examples=FEW)


# --------------------------------------------------------------------------- broken actions


class Mutable(Action):
    """An Action subclass that lets attributes be set."""

    __setattr__ = object.__setattr__
    __delattr__ = object.__delattr__


class ByIdentity(Action):
    """An Action subclass compared by identity."""

    __eq__ = object.__eq__
    __hash__ = object.__hash__


@attrs.frozen
class Unhashable(Action):
    channels: list[str] = attrs.field(factory=lambda: ["#a"])


class Opaque(Action):
    """Value equality, but neither attrs fields nor a repr that reads back."""

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Opaque)

    def __hash__(self) -> int:
        return 1

    def __repr__(self) -> str:
        return "<opaque>"


@pytest.mark.parametrize(
    ("action", "message"),
    [
        (Mutable(), "breaks property 'frozen': setting attribute"),
        (ByIdentity(), "breaks property 'equal by value'"),
        (Unhashable(), "breaks property 'hashable': hash\\(\\) raised TypeError"),
        (escalation.NotifyOwner, "breaks property 'type'"),
    ],
    ids=["mutable", "identity", "unhashable", "class"],
)
def test_broken_actions(action: Any, message: str) -> None:
    with pytest.raises(AssertionError, match=message):
        check_action(action, max_examples=FEW)


def test_a_repr_that_does_not_read_back() -> None:
    with pytest.raises(AssertionError) as caught:
        check_action(Opaque(), max_examples=FEW)
    assert str(caught.value).splitlines() == [
        "check_action: <opaque> breaks property 'repr round-trip or attrs equality': its "
        "repr '<opaque>' does not read back and it is not an attrs class",
        "  make it an attrs class, or give it a repr that evaluates to an equal object",
    ]


@attrs.frozen
class Registered(LateIsBetter):
    """A model whose (fake) JSON form does not read back."""


def test_a_model_registered_for_serialization_must_round_trip(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from promisekit import serialize

    # Stand-ins for a registration, so that the real registry stays untouched.
    monkeypatch.setattr(serialize, "registered_types", lambda: {"registered": Registered})
    monkeypatch.setattr(serialize, "to_dict", lambda model: {"per_hour": model.per_hour})
    monkeypatch.setattr(
        serialize, "from_dict", lambda data, cls: cls(per_hour=data["per_hour"] + 1)
    )
    with pytest.raises(AssertionError, match=r"a promisekit\.serialize round-trip gives"):
        check_satisfaction_model(Registered(), max_examples=FEW)
