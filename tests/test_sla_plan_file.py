"""SLA plans as data (``sla_plan_from_dict`` / ``_toml`` / ``_to_dict``) and
``promisekit run --sla``."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from promisekit.calendar import BusinessCalendar
from promisekit.cli import main
from promisekit.escalation import PolicyConfigError
from promisekit.escalation._sla_clocks import CLOCK_KINDS, RESERVED, ROUNDINGS
from promisekit.escalation._time import format_duration, parse_duration
from promisekit.helpdesk import (
    SlaClock,
    SlaPlan,
    sla_plan_from_dict,
    sla_plan_from_toml,
    sla_plan_to_dict,
)
from promisekit.ledger import EscalationFired, MessageReceived, PromiseMade
from promisekit.store import SQLiteLedger

PLAN_TOML = """
[[clocks]]
name = "first_response"
kind = "first_response"
target = "1h"
pauses = false

[[clocks]]
name = "resolution"
kind = "resolution"
target = "16h"
rounding = "minute"
on_reopen = "restart"
"""


def test_a_plan_from_toml_equals_the_plan_built_in_python(tmp_path: Path) -> None:
    expected = SlaPlan(
        [
            SlaClock("first_response", "first_response", "1h", pauses=False),
            SlaClock("resolution", "resolution", "16h", rounding="minute", on_reopen="restart"),
        ]
    )
    assert sla_plan_from_toml(PLAN_TOML) == expected
    path = tmp_path / "sla.toml"
    path.write_text(PLAN_TOML, encoding="utf-8")
    assert sla_plan_from_toml(path) == expected
    assert sla_plan_from_toml(str(path)) == expected
    assert sla_plan_to_dict(expected) == {
        "clocks": [
            {"name": "first_response", "kind": "first_response", "target": "1h", "pauses": False},
            {
                "name": "resolution",
                "kind": "resolution",
                "target": "16h",
                "rounding": "minute",
                "on_reopen": "restart",
            },
        ]
    }


@st.composite
def clocks(draw: st.DrawFn) -> SlaClock:
    kind = draw(st.sampled_from(CLOCK_KINDS))
    return SlaClock(
        draw(
            st.from_regex(r"[a-z][a-z0-9_]{0,11}", fullmatch=True).filter(
                lambda name: name not in RESERVED
            )
        ),
        kind,
        draw(st.timedeltas(min_value=timedelta(microseconds=1), max_value=timedelta(days=400))),
        pauses=draw(st.booleans()),
        rounding=draw(st.sampled_from(ROUNDINGS)),
        restart_on_inbound=kind != "next_response" or draw(st.booleans()),
        on_reopen=draw(st.sampled_from(("keep", "restart"))) if kind == "resolution" else "keep",
    )


@given(st.lists(clocks(), min_size=1, max_size=4, unique_by=lambda clock: clock.name))
def test_to_dict_and_back_is_the_same_plan(chosen: list[SlaClock]) -> None:
    plan = SlaPlan(chosen)
    data = sla_plan_to_dict(plan)
    assert sla_plan_from_dict(json.loads(json.dumps(data))) == plan


@given(st.timedeltas(min_value=timedelta(microseconds=1), max_value=timedelta(days=10_000)))
def test_policy_durations_are_written_exactly(delta: timedelta) -> None:
    text = format_duration(delta)
    assert "e" not in text
    assert parse_duration(text) == delta


def test_a_clock_with_its_own_calendar_has_no_file_form() -> None:
    own = SlaClock("r", "resolution", "8h", calendar=BusinessCalendar.always_open("UTC"))
    with pytest.raises(ValueError, match="calendar of its own"):
        sla_plan_to_dict(SlaPlan([own]))


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([], "an SLA plan must be a table with 'clocks'"),
        ({"clock": []}, "field 'sla': unknown key(s) 'clock'"),
        ({"clocks": []}, "field 'clocks': must be a non-empty list"),
        ({"clocks": "first_response"}, "field 'clocks': must be a non-empty list"),
        ({"clocks": [3]}, "field 'clocks[0]': must be a table"),
        (
            {"clocks": [{"name": "a", "kind": "resolution"}]},
            "field 'clocks[0]': is missing 'target'",
        ),
        (
            {"clocks": [{"name": "a", "kind": "resolution", "target": "8h", "pause": False}]},
            "field 'clocks[0]': unknown key(s) 'pause'; a clock has",
        ),
        (
            {"clocks": [{"name": "a", "kind": "resolution", "target": "8h", "calendar": "x"}]},
            "field 'clocks[0].calendar': a clock's own calendar has no file form",
        ),
        (
            {"clocks": [{"name": "a", "kind": "resolution", "target": "soon"}]},
            "field 'clocks[0]': 'target': expected a duration",
        ),
        (
            {"clocks": [{"name": "a", "kind": "respond", "target": "8h"}]},
            "field 'clocks[0]': 'kind' must be one of",
        ),
        (
            {"clocks": [{"name": "a", "kind": "resolution", "target": "8h", "pauses": "no"}]},
            "field 'clocks[0]': 'pauses' must be",
        ),
        (
            {
                "clocks": [
                    {"name": "a", "kind": "resolution", "target": "8h"},
                    {"name": "a", "kind": "update", "target": "2h"},
                ]
            },
            "field 'clocks': 'clocks' names 'a' twice",
        ),
    ],
)
def test_every_mistake_names_the_clock_and_the_key(data: Any, message: str) -> None:
    with pytest.raises(PolicyConfigError) as caught:
        sla_plan_from_dict(data)
    assert message in str(caught.value)


def test_toml_and_file_errors(tmp_path: Path) -> None:
    with pytest.raises(PolicyConfigError, match="not valid TOML"):
        sla_plan_from_toml("[[clocks]\nname = 1\n")
    with pytest.raises(PolicyConfigError, match="cannot read the SLA plan file"):
        sla_plan_from_toml(tmp_path / "missing.toml")


# --------------------------------------------------------------------------- the CLI

POLICY = """
[[rules]]
name = "first-reply-late"
when = "first_response breached"
do = ["notify_owner"]
"""


def _ticket_store(tmp_path: Path) -> list[str]:
    now = datetime.now(timezone.utc)
    opened = now - timedelta(hours=3)
    with SQLiteLedger(tmp_path / "tickets.db") as store:
        store.append(
            PromiseMade(
                id="made",
                promise_id="T-1",
                at=opened,
                recorded_at=opened,
                customer_id="C-1",
                kind="ticket",
                due=now + timedelta(days=2),
            )
        )
        store.append(MessageReceived(id="in", promise_id="T-1", at=opened, recorded_at=opened))
    (tmp_path / "policy.toml").write_text(POLICY, encoding="utf-8")
    (tmp_path / "sla.toml").write_text(PLAN_TOML, encoding="utf-8")
    args = ["run", "--store", str(tmp_path / "tickets.db"), "--policy"]
    return [*args, str(tmp_path / "policy.toml"), "--out", str(tmp_path / "out.jsonl"), "--once"]


def test_run_with_an_sla_plan_fires_clock_rules(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = _ticket_store(tmp_path)
    assert main([*args, "--sla", str(tmp_path / "sla.toml")]) == 0
    assert "1 fired, 1 delivered" in capsys.readouterr().err
    (line,) = (tmp_path / "out.jsonl").read_text(encoding="utf-8").splitlines()
    assert json.loads(line)["escalation"]["rule"] == "first-reply-late"
    with SQLiteLedger(tmp_path / "tickets.db") as store:
        fired = [e for e in store.history() if isinstance(e, EscalationFired)]
    assert [e.rule for e in fired] == ["first-reply-late"]


def test_run_without_the_plan_a_policy_names_says_to_pass_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = _ticket_store(tmp_path)
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "names SLA clocks: pass the plan that defines them with --sla FILE.toml" in err
    assert "first_response breached" in err
    (tmp_path / "sla.toml").write_text("[[clocks]]\nname = 'x'\n", encoding="utf-8")
    assert main([*args, "--sla", str(tmp_path / "sla.toml")]) == 1
    err = capsys.readouterr().err
    assert "the SLA plan '" in err and "sla.toml': field 'clocks[0]': is missing 'kind'" in err
    (tmp_path / "sla.toml").write_text(
        "[[clocks]]\nname = 'other'\nkind = 'first_response'\ntarget = '1h'\n", encoding="utf-8"
    )
    assert main([*args, "--sla", str(tmp_path / "sla.toml")]) == 1
    err = capsys.readouterr().err
    assert "the policy '" in err and "policy.toml' with the SLA plan '" in err
    assert "no SLA clock named 'first_response' (the plan has: other)" in err
    assert main([*args, "--sla", str(tmp_path / "missing.toml")]) == 2
    assert "'--sla' must be an SLA plan file (got '" in capsys.readouterr().err
    assert main([*args, "--sla", str(tmp_path)]) == 2
    assert "': a directory)" in capsys.readouterr().err
    policy = args[args.index("--policy") + 1]
    Path(policy).write_text("[[rules]\n", encoding="utf-8")  # broken TOML: the policy's fault
    assert main([*args, "--sla", str(tmp_path / "sla.toml")]) == 1
    err = capsys.readouterr().err
    assert "not valid TOML" in err and "SLA plan" not in err


def test_options_of_another_kind_of_clock_are_refused() -> None:
    from promisekit.escalation import PolicyConfigError, sla_plan_from_dict

    clock = {"name": "first", "kind": "first_response", "target": "1h"}
    with pytest.raises(PolicyConfigError, match=r"clocks\[0\].*'restart_on_inbound' is for "):
        sla_plan_from_dict({"clocks": [{**clock, "restart_on_inbound": False}]})
    with pytest.raises(PolicyConfigError, match=r"clocks\[0\].*'on_reopen' is for resolution"):
        sla_plan_from_dict({"clocks": [{**clock, "on_reopen": "restart"}]})
    next_response = {**clock, "kind": "next_response", "restart_on_inbound": False}
    sla_plan_from_dict({"clocks": [next_response]})
    sla_plan_from_dict({"clocks": [{**clock, "kind": "resolution", "on_reopen": "restart"}]})


def test_fractions_of_a_second_are_written_with_their_seconds() -> None:
    assert format_duration(timedelta(seconds=61.5)) == "1m1.5s"
    assert format_duration(timedelta(seconds=1.5)) == "1.5s"
    assert format_duration(timedelta(days=1, microseconds=1)) == "1d0.000001s"
    assert parse_duration("1m1.5s") == timedelta(seconds=61.5)
