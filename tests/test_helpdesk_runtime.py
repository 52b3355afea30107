"""The escalation runner with named SLA clocks, inbound messages and a reopening (issue 18)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from promisekit.escalation import Escalation, EscalationPolicy
from promisekit.helpdesk import SlaClock, SlaPlan
from promisekit.ledger import (
    DeliveryRecorded,
    EscalationFired,
    MessageReceived,
    PromiseLedger,
    PromiseMade,
    PromiseReopened,
)
from promisekit.runtime import ActionEnvelope, EscalationRunner
from promisekit.serialize import from_dict

T0 = datetime(2026, 3, 10, 9, 0, tzinfo=timezone.utc)
H = timedelta(hours=1)

PLAN = SlaPlan(
    [
        SlaClock("next_response", "next_response", "2h"),
        SlaClock("resolution", "resolution", "8h"),
    ]
)
POLICY = EscalationPolicy.from_toml(
    """
[[rules]]
name = "reply-late"
when = "next_response breached"
do = ["notify_owner"]

[[rules]]
name = "resolution-late"
when = "resolution breached"
do = ["escalate:manager"]
""",
    bindings={"sla": PLAN},
)


def at(hours: float) -> dict[str, object]:
    moment = T0 + timedelta(hours=hours)
    return {"promise_id": "T-1", "at": moment, "recorded_at": moment}


def firings(sent: list[ActionEnvelope]) -> list[tuple[str, datetime]]:
    escalations = [from_dict(e.document["escalation"], Escalation) for e in sent]
    return [(e.rule, e.triggered_at) for e in escalations]


def test_the_runner_fires_clock_rules_from_ledger_events_and_again_after_a_reopening() -> None:
    ledger = PromiseLedger()
    ledger.append(PromiseMade(id="m", customer_id="C", kind="ticket", due=T0 + 48 * H, **at(0)))
    ledger.append(MessageReceived(id="in-1", **at(1)))
    sent: list[ActionEnvelope] = []
    runner = EscalationRunner(ledger, POLICY, sent.append, holder="a")
    runner.step(T0 + 4 * H)
    assert firings(sent) == [("reply-late", T0 + 3 * H)]
    # Solved at 5h (5h of resolution used), reopened at 20h: 3h left, breached at 23h.
    ledger.append(DeliveryRecorded(id="solved", **at(5)))
    runner.step(T0 + 6 * H)
    ledger.append(PromiseReopened(id="reopen", **at(20)))
    report = runner.step(T0 + 21 * H)
    assert report.next_check == T0 + 23 * H
    runner.step(T0 + 24 * H)
    assert firings(sent) == [
        ("reply-late", T0 + 3 * H),
        ("resolution-late", T0 + 23 * H),
    ]
    fired = [e.rule for e in ledger.history() if isinstance(e, EscalationFired)]
    assert sorted(fired) == ["reply-late", "resolution-late"]
