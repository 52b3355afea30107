"""Hostile input gives a PromiseKitError naming the field, never a raw Python error (issue 11)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from promisekit.errors import InvalidValueError, PromiseKitError, UnknownTimeZoneError
from promisekit.escalation import (
    EscalationPolicy,
    NotifyOwner,
    OverdueBy,
    PolicyConfigError,
    Remaining,
    Rule,
    TrackedPromise,
    parse_condition,
    policy_from_toml,
)
from promisekit.escalation._time import parse_duration
from promisekit.promise import Promise

T0 = datetime(2026, 3, 10, 9, tzinfo=timezone.utc)
HUGE = "99999999999999d"


def rule(**fields: Any) -> dict[str, Any]:
    return {"name": "x", "when": "overdue", "do": ["notify_owner"], **fields}


def config_error(data: dict[str, Any]) -> PolicyConfigError:
    with pytest.raises(PolicyConfigError) as info:
        EscalationPolicy.from_dict(data)
    return info.value


@pytest.mark.parametrize(
    ("data", "rule_name", "field", "words"),
    [
        ({"rules": [rule(every=HUGE)]}, "x", "every", "at most 999999999 days"),
        ({"rules": [rule(when=f"remaining <= {HUGE}")]}, "x", "when", "'remaining'"),
        ({"rules": [rule(when=f"silence >= {HUGE}")]}, "x", "when", "at most 999999999 days"),
        ({"rules": [rule(when="overdue > " + "9" * 300 + "d")]}, "x", "when", "duration"),
        (
            {
                "compensation": {"per_promise": "5", "period": "99999999999d"},
                "rules": [rule(do=["compensate:1"])],
            },
            None,
            "compensation",
            "'period'",
        ),
    ],
)
def test_huge_durations(
    data: dict[str, Any], rule_name: str | None, field: str, words: str
) -> None:
    error = config_error(data)
    assert error.rule == rule_name
    assert error.field == field
    assert words in str(error)
    assert "OverflowError" not in str(error)


def test_huge_durations_through_toml() -> None:
    text = f'[[rules]]\nname = "x"\nwhen = "overdue"\ndo = ["notify_owner"]\nevery = "{HUGE}"\n'
    with pytest.raises(PolicyConfigError, match=r"rule 'x', field 'every': .*at most"):
        policy_from_toml(text)
    text = '[compensation]\nper_promise = "5"\nperiod = "99999999999d"\n' + (
        '[[rules]]\nname = "x"\nwhen = "overdue"\ndo = ["compensate:1"]\n'
    )
    with pytest.raises(PolicyConfigError, match=r"field 'compensation': 'period'"):
        policy_from_toml(text)


def test_the_one_duration_parser() -> None:
    assert parse_duration("1h30m") == timedelta(hours=1, minutes=30)
    assert parse_duration("1.5d") == timedelta(hours=36)
    assert parse_duration("999999999d") == timedelta(days=999_999_999)
    with pytest.raises(InvalidValueError, match="at most 999999999 days"):
        parse_duration("1000000000d")
    with pytest.raises(InvalidValueError, match="expected a duration"):
        parse_duration("1" * 5000 + "d")
    with pytest.raises(InvalidValueError, match="must be a finite duration"):
        Remaining(days=1e300)
    with pytest.raises(InvalidValueError, match="'threshold' must be a duration of at most"):
        OverdueBy(10**20)


@pytest.mark.parametrize("level", [10**5000, -(10**5000), 1001], ids=["huge", "-huge", "1001"])
def test_huge_level(level: int) -> None:
    error = config_error({"rules": [rule(level=level)]})
    assert (error.rule, error.field) == ("x", "level")
    assert "whole number >= 1 and <= 1000" in str(error)
    assert len(str(error)) < 300
    with pytest.raises(InvalidValueError, match="'level' must be >= 1 and <= 1000"):
        Rule("x", OverdueBy(0), NotifyOwner(), level=level)


def test_huge_limit_and_revised() -> None:
    error = config_error({"rules": [rule(every="1h", limit=10**5000)]})
    assert (error.field, "digits" in str(error)) == ("limit", True)
    error = config_error({"rules": [rule(when="revised >= " + "9" * 5000)]})
    assert (error.field, "whole number of times" in str(error)) == ("when", True)


@pytest.mark.parametrize(
    "when",
    [
        "(" * 2000 + "overdue" + ")" * 2000,
        "not " * 2000 + "overdue",
        "(not " * 1000 + "overdue" + ")" * 1000,
    ],
)
def test_deep_nesting(when: str) -> None:
    error = config_error({"rules": [rule(when=when)]})
    assert (error.rule, error.field) == ("x", "when")
    assert "more than 100 deep" in str(error)
    assert len(str(error)) < 400


def test_nesting_up_to_the_limit_is_fine() -> None:
    assert parse_condition("(" * 100 + "overdue" + ")" * 100) == OverdueBy(0)
    assert parse_condition("not " * 100 + "overdue").describe().count("not") == 100
    with pytest.raises(InvalidValueError, match="more than 100 deep"):
        parse_condition("(" * 101 + "overdue" + ")" * 101)


def test_deeply_nested_toml() -> None:
    text = "x = " + "[" * 5000 + "]" * 5000 + "\n"
    with pytest.raises(PolicyConfigError, match="not valid TOML"):
        policy_from_toml(text)


def test_customer_tz_directory_is_an_unknown_zone() -> None:
    promise = Promise(id="P", customer_id="C", kind="repair", made_at=T0, due=T0 + timedelta(1))
    for name in ("America", "Mars/Olympus", "../etc/passwd", ""):
        with pytest.raises(UnknownTimeZoneError, match="'customer_tz'"):
            TrackedPromise(promise=promise, customer_tz=name)
    with pytest.raises(PromiseKitError, match="'customer_tz'"):
        TrackedPromise(promise=promise, customer_tz=3)  # type: ignore[arg-type]


def test_messages_quote_user_values_safely() -> None:
    long_name = "n" * 10_000
    error = config_error({"rules": [{"name": long_name, "when": "nope", "do": ["notify_owner"]}]})
    assert len(str(error)) < 600
    error = config_error({"rules": [rule(when="elapsed >= 50% " + "x" * 10_000 + " ;")]})
    assert len(str(error)) < 600
    with pytest.raises(PolicyConfigError) as info:
        EscalationPolicy.from_dict({"rules": [rule(do=["notify_ceo" * 5000])]})
    assert len(str(info.value)) < 1000
