"""Declarative policies: the condition language, the registry, TOML files, ready policies."""

from __future__ import annotations

import math
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from promisekit.errors import InvalidValueError, PromiseKitError
from promisekit.escalation import (
    DEFAULT_REGISTRY,
    AtRisk,
    BufferZone,
    CapabilityProposer,
    Compensate,
    Elapsed,
    EscalateTo,
    EscalationPolicy,
    NotifyCustomer,
    NotifyOwner,
    OverdueBy,
    PolicyConfigError,
    PredictedDissatisfaction,
    ProposeRevision,
    Registry,
    Remaining,
    Revised,
    Silence,
    parse_condition,
    ready_policies,
)


class Exponential:
    def cdf(self, duration: timedelta) -> float:
        return 1.0 - math.exp(-duration.total_seconds() / 3600)

    def residual_quantile(self, q: float, elapsed: timedelta) -> timedelta:
        return timedelta(hours=-math.log(1.0 - q))


CAP = Exponential()


def predictor(promise: Any, delivered_at: Any) -> int:
    return 3


def test_conditions_parse_to_triggers() -> None:
    assert parse_condition("elapsed >= 50%") == Elapsed(0.5)
    assert parse_condition("remaining <= 2h") == Remaining(hours=2)
    assert parse_condition("overdue > 4h") == OverdueBy(hours=4)
    assert parse_condition("overdue") == OverdueBy(0)
    assert parse_condition("silence >= 1h30m") == Silence(minutes=90)
    assert parse_condition("revised > 1") == Revised(2)
    assert parse_condition("revised") == Revised(1)
    assert parse_condition("buffer_zone >= red") == BufferZone("red")
    assert parse_condition("at_risk >= 30%", bindings={"capability": CAP}) == AtRisk(
        0.3, capability=CAP
    )
    trigger = parse_condition("satisfaction <= dissatisfied", bindings={"predictor": predictor})
    assert isinstance(trigger, PredictedDissatisfaction)
    assert int(trigger.at_or_below) == 2
    combo = parse_condition("elapsed >= 50% and not (revised >= 2 or remaining <= 30m)")
    assert combo == Elapsed(0.5) & ~(Revised(2) | Remaining(minutes=30))
    # and binds tighter than or; NOT/AND/OR are case-insensitive
    assert parse_condition("overdue OR elapsed >= 50% AND revised") == OverdueBy(0) | (
        Elapsed(0.5) & Revised(1)
    )
    # describe() reads back through the parser
    assert parse_condition(str(combo)) == combo


def test_policy_from_toml_text_and_file(tmp_path: Path) -> None:
    text = """
name = "demo"
[compensation]
per_promise = "20.00"
currency = "CAD"

[[rules]]
name = "half"
when = "elapsed >= 50%"
do = "notify_owner"

[[rules]]
name = "late"
when = "overdue > 4h"
do = ["notify_customer:delay", "escalate:manager", "escalate:3", "propose_revision",
      "compensate:5.50"]
level = 2
every = "4h"
limit = 2
"""
    policy = EscalationPolicy.from_toml(text, bindings={"capability": CAP})
    assert policy.name == "demo"
    half, late = policy.rules
    assert half.actions == (NotifyOwner(),)
    assert late.every == timedelta(hours=4) and late.limit == 2 and late.level == 2
    assert late.actions[:3] == (NotifyCustomer("delay"), EscalateTo("manager"), EscalateTo(3))
    assert late.actions[3] == ProposeRevision(CapabilityProposer(CAP, 0.9))
    assert late.actions[4] == Compensate(
        Decimal("5.50"), per_promise=Decimal("20.00"), currency="CAD"
    )
    path = tmp_path / "policy.toml"
    path.write_text(text, encoding="utf-8")
    assert EscalationPolicy.from_toml(path, bindings={"capability": CAP}) == policy
    assert EscalationPolicy.from_toml(str(path), bindings={"capability": CAP}) == policy
    # to_dict round-trips through from_dict for file-expressible policies
    assert (
        EscalationPolicy.from_dict(
            policy.to_dict() | {"compensation": {"per_promise": "20.00", "currency": "CAD"}},
            bindings={"capability": CAP},
        )
        == policy
    )


def test_ready_policies_load() -> None:
    assert ready_policies() == ("fever-chart", "inform-early", "servicenow-ladder")
    ladder = EscalationPolicy.ready("servicenow-ladder")
    assert [r.when for r in ladder.rules[:3]] == [Elapsed(0.5), Elapsed(0.75), Elapsed(1.0)]
    assert [r.level for r in ladder.rules] == [1, 2, 3, 4]
    fever = EscalationPolicy.ready("fever-chart")
    assert fever.rules[0].when == BufferZone("yellow")
    early = EscalationPolicy.ready("inform-early", bindings={"capability": CAP})
    assert early.rules[0].every == timedelta(hours=24)
    with pytest.raises(PolicyConfigError, match="needs the binding 'capability'"):
        EscalationPolicy.ready("inform-early")
    with pytest.raises(PolicyConfigError, match="unknown ready policy"):
        EscalationPolicy.ready("nope")


def rule(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"name": "r1", "when": "elapsed >= 50%", "do": ["notify_owner"]}
    base.update(fields)
    return {k: v for k, v in base.items() if v is not None}


BAD_POLICIES = {
    "unknown trigger": (
        {"rules": [rule(when="elapsd >= 50%")]},
        "r1",
        "when",
        "unknown trigger 'elapsd'",
    ),
    "bad duration": ({"rules": [rule(when="remaining <= 2 hours")]}, "r1", "when", "duration"),
    "bad duration unit": ({"rules": [rule(when="overdue > 4y")]}, "r1", "when", "duration"),
    "percentage above 100": (
        {"rules": [rule(when="elapsed >= 150%")]},
        "r1",
        "when",
        "at most 100%",
    ),
    "percentage missing": ({"rules": [rule(when="elapsed >= 0.5")]}, "r1", "when", "percentage"),
    "level out of order": (
        {"rules": [rule(level=2), rule(name="r2", level=1)]},
        "r2",
        "level",
        "expected >= 2",
    ),
    "level not a number": ({"rules": [rule(level="high")]}, "r1", "level", "whole number"),
    "level zero": ({"rules": [rule(level=0)]}, "r1", "level", ">= 1"),
    "wrong operator": ({"rules": [rule(when="remaining >= 2h")]}, "r1", "when", "'<='"),
    "syntax error": ({"rules": [rule(when="elapsed >= 50% and")]}, "r1", "when", "end"),
    "unbalanced parenthesis": (
        {"rules": [rule(when="(elapsed >= 50%")]},
        "r1",
        "when",
        "')'",
    ),
    "stray character": ({"rules": [rule(when="elapsed >= 50% ; rm")]}, "r1", "when", "';'"),
    "empty condition": ({"rules": [rule(when="  ")]}, "r1", "when", "empty"),
    "missing when": ({"rules": [{"name": "r1", "do": ["notify_owner"]}]}, "r1", "when", "required"),
    "unknown action": ({"rules": [rule(do=["notify_ceo"])]}, "r1", "do", "unknown action"),
    "bad notice kind": ({"rules": [rule(do=["notify_customer:sorry"])]}, "r1", "do", "kind"),
    "escalate without role": ({"rules": [rule(do=["escalate"])]}, "r1", "do", "role"),
    "empty do": ({"rules": [rule(do=[])]}, "r1", "do", "non-empty"),
    "compensate without cap": ({"rules": [rule(do=["compensate:10"])]}, "r1", "do", "cap"),
    "compensate bad amount": (
        {"rules": [rule(do=["compensate:ten"])], "compensation": {"per_promise": 5}},
        "r1",
        "do",
        "amount",
    ),
    "unknown rule field": ({"rules": [rule(lvel=2)]}, "r1", "lvel", "unknown field"),
    "duplicate rule name": ({"rules": [rule(), rule()]}, "r1", "name", "unique"),
    "missing name": ({"rules": [{"when": "overdue", "do": ["notify_owner"]}]}, "#1", "name", ""),
    "bad every": ({"rules": [rule(every="often")]}, "r1", "every", "duration"),
    "limit without every": ({"rules": [rule(limit=3)]}, "r1", "limit", "every"),
    "missing binding": ({"rules": [rule(when="at_risk >= 30%")]}, "r1", "when", "capability"),
    "bad zone": ({"rules": [rule(when="buffer_zone >= orange")]}, "r1", "when", "green"),
    "bad level name": (
        {"rules": [rule(when="satisfaction <= grumpy")]},
        "r1",
        "when",
        "dissatisfied",
    ),
    "no rules": ({"rules": []}, None, "rules", "non-empty"),
    "unknown policy field": ({"rulez": []}, None, "rulez", "unknown policy field"),
}


@pytest.mark.parametrize("case", sorted(BAD_POLICIES))
def test_each_bad_input_is_a_clear_error(case: str) -> None:
    data, rule_name, field, fragment = BAD_POLICIES[case]
    with pytest.raises(PolicyConfigError) as info:
        EscalationPolicy.from_dict(data)
    error = info.value
    assert isinstance(error, InvalidValueError) and isinstance(error, ValueError)
    assert error.rule == rule_name
    assert error.field == field
    assert fragment in str(error)
    if rule_name is not None:
        assert f"rule {rule_name!r}" in str(error)
    assert f"field {field!r}" in str(error)


def test_toml_errors(tmp_path: Path) -> None:
    with pytest.raises(PolicyConfigError, match="not valid TOML") as info:
        EscalationPolicy.from_toml("[[rules]\nname = 1")
    assert info.value.field == "toml"
    with pytest.raises(PolicyConfigError, match="cannot read") as info:
        EscalationPolicy.from_toml(tmp_path / "missing.toml")
    assert info.value.field == "source"
    with pytest.raises(PolicyConfigError, match="must be TOML text"):
        EscalationPolicy.from_toml(42)  # type: ignore[arg-type]


def test_registry_plugs_in_new_names() -> None:
    registry = DEFAULT_REGISTRY.copy()

    def twice_revised(op: str | None, value: str | None, bindings: Any) -> Revised:
        return Revised(2)

    registry.register_trigger("broken_twice", twice_revised)
    registry.register_action("page", lambda argument, bindings: EscalateTo(argument or "on-call"))
    policy = EscalationPolicy.from_dict(
        {"rules": [rule(when="broken_twice", do=["page"])]}, registry=registry
    )
    assert policy.rules[0].when == Revised(2)
    assert policy.rules[0].actions == (EscalateTo("on-call"),)
    assert "broken_twice" not in DEFAULT_REGISTRY.triggers
    with pytest.raises(InvalidValueError, match="already registered"):
        registry.register_trigger("broken_twice", twice_revised)
    registry.register_trigger("broken_twice", twice_revised, replace=True)
    with pytest.raises(InvalidValueError, match="keyword"):
        registry.register_trigger("and", twice_revised)
    with pytest.raises(InvalidValueError, match="lowercase"):
        registry.register_action("Page!", lambda a, b: EscalateTo("x"))
    assert isinstance(Registry().triggers, dict)


def test_factories_returning_wrong_types_are_reported() -> None:
    registry = DEFAULT_REGISTRY.copy()
    registry.register_trigger("odd", lambda op, value, bindings: "not a trigger")  # type: ignore[arg-type,return-value]
    with pytest.raises(PolicyConfigError, match="not a Trigger"):
        EscalationPolicy.from_dict({"rules": [rule(when="odd")]}, registry=registry)
    assert issubclass(PolicyConfigError, PromiseKitError)
