"""Regression tests for bad input found by the fuzz harness (benchmarks/fuzz_inputs.py)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from promisekit import BusinessCalendar
from promisekit._validation import (
    check_aware,
    check_finite,
    describe,
    describe_names,
    load_zone,
    to_timedelta,
)
from promisekit.buffering import EmpiricalCapability
from promisekit.errors import (
    InvalidTypeError,
    InvalidValueError,
    PromiseKitError,
    UnknownTimeZoneError,
)
from promisekit.escalation import EscalationPolicy, PolicyConfigError
from promisekit.serialize import parse_duration


def test_describe_never_fails_and_stays_short() -> None:
    deep: list[object] = []
    for _ in range(3000):
        deep = [deep]
    assert describe(10**5000) == "<an integer of about 5001 digits>"
    assert len(describe(deep)) < 40
    assert len(describe("x" * 100_000)) < 80

    class Broken:
        def __repr__(self) -> str:
            raise RuntimeError("no repr")

    assert describe(Broken()).startswith("<Broken")


def test_describe_names_lists_many_names_briefly() -> None:
    assert describe_names(["a", "b"]) == "'a', 'b'"
    text = describe_names([f"column {i}" for i in range(1000)])
    assert text.endswith("… and 970 more") and len(text) < 600


def test_huge_numbers_are_clear_errors() -> None:
    with pytest.raises(InvalidValueError, match=r"'q' must be a finite number.*5001 digits"):
        check_finite("q", 10**5000)
    with pytest.raises(InvalidValueError, match="'d' must be a duration of at most"):
        to_timedelta("d", 10**5000)
    with pytest.raises(InvalidValueError, match="'d' must be a duration of at most"):
        to_timedelta("d", 1e300)
    with pytest.raises(PromiseKitError, match="must be a duration of at most"):
        EmpiricalCapability.from_durations([10**5000])
    with pytest.raises(InvalidValueError, match="too long a duration"):
        parse_duration("-P999999999DT23H59M59.999999S")


def test_instants_outside_the_utc_range_are_refused() -> None:
    late = datetime(9999, 12, 31, 23, 30, tzinfo=timezone(timedelta(hours=-1)))
    with pytest.raises(InvalidValueError, match="'at' is outside the range"):
        check_aware("at", late)
    early = datetime(1, 1, 1, 0, 30, tzinfo=timezone(timedelta(hours=1)))
    with pytest.raises(InvalidValueError, match="'at' is outside the range"):
        check_aware("at", early)


@pytest.mark.parametrize("name", ["America", "Asia", "Europe", "UTC" * 2000])
def test_zone_folders_and_junk_names_are_unknown_zones(name: str) -> None:
    with pytest.raises(UnknownTimeZoneError, match="'tz' must be an IANA time-zone name"):
        load_zone(name)


def test_calendar_collections_must_be_collections() -> None:
    with pytest.raises(InvalidTypeError, match="'holidays' must be a collection of dates"):
        BusinessCalendar("UTC", holidays=5)  # type: ignore[arg-type]
    with pytest.raises(InvalidTypeError, match="'holiday_rules' must be a recurrence rule"):
        BusinessCalendar("UTC", holiday_rules=5)  # type: ignore[arg-type]


def test_a_policy_file_that_is_not_utf8_is_a_policy_error(tmp_path: Path) -> None:
    path = tmp_path / "policy.toml"
    path.write_bytes(b'[[rules]]\nname = "\xff"\nwhen = "overdue"\ndo = ["notify_owner"]\n')
    with pytest.raises(PolicyConfigError, match="not valid UTF-8"):
        EscalationPolicy.from_toml(path)


def test_event_counts_fit_a_database_integer() -> None:
    from promisekit.ledger import EscalationFired

    at = datetime(2026, 3, 10, 9, tzinfo=timezone.utc)
    with pytest.raises(InvalidValueError, match=r"'level' must be <= 9223372036854775807"):
        EscalationFired(
            id="e",
            promise_id="P",
            at=at,
            recorded_at=at,
            rule="r",
            action="a",
            level=10**5000,
            revision=0,
        )


def test_policy_errors_quote_unknown_names_briefly() -> None:
    long = "k" * 5000
    rule = {"name": "x", "when": "overdue", "do": ["notify_owner"], long: 1}
    with pytest.raises(PolicyConfigError, match="unknown field") as caught:
        EscalationPolicy.from_dict({"rules": [rule]})
    assert len(str(caught.value)) < 600
    with pytest.raises(PolicyConfigError, match="unknown policy field") as caught:
        EscalationPolicy.from_dict({"rules": [], long: 1})
    assert len(str(caught.value)) < 600
