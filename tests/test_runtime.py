"""The escalation runner: exactly once across restarts, failures isolated, one leader."""

from __future__ import annotations

import json
import random
from collections import Counter
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest

from promisekit import InsufficientDataError
from promisekit.escalation import (
    Compensate,
    Elapsed,
    EscalationPolicy,
    NotifyCustomer,
    NotifyOwner,
    ProposeRevision,
    Rule,
    TrackedPromise,
)
from promisekit.escalation import OverdueBy as Overdue
from promisekit.ledger import (
    ActionDelivered,
    DeliveryRecorded,
    EscalationFailed,
    EscalationFired,
    PromiseLedger,
    PromiseMade,
)
from promisekit.runtime import (
    ActionEnvelope,
    Backoff,
    EscalationRunner,
    JsonLinesSink,
    memory_from_state,
)
from promisekit.store import SQLiteLedger

T0 = datetime(2026, 3, 10, 9, 0, tzinfo=timezone.utc)
H = timedelta(hours=1)
M = timedelta(minutes=1)

POLICY = EscalationPolicy.from_toml(
    """
[[rules]]
name = "half-time"
when = "elapsed >= 50%"
do = ["notify_owner"]

[[rules]]
name = "breached"
when = "overdue"
level = 1
do = ["notify_owner", "escalate:manager"]
"""
)


def made(promise_id: str, at: datetime, window: timedelta, **extra: object) -> PromiseMade:
    return PromiseMade(
        id=f"made-{promise_id}",
        promise_id=promise_id,
        at=at,
        recorded_at=at,
        customer_id=f"C-{promise_id}",
        kind="callback",
        due=at + window,
        **extra,  # type: ignore[arg-type]
    )


def delivered(promise_id: str, at: datetime) -> DeliveryRecorded:
    return DeliveryRecorded(id=f"done-{promise_id}", promise_id=promise_id, at=at, recorded_at=at)


def fired_keys(store: PromiseLedger | SQLiteLedger) -> list[str]:
    return [e.key for e in store.history() if isinstance(e, EscalationFired) and e.key]


def test_fires_once_and_hands_actions_to_the_sink() -> None:
    ledger = PromiseLedger()
    ledger.append(made("P-1", T0, H))
    sent: list[ActionEnvelope] = []
    runner = EscalationRunner(ledger, POLICY, sent.append, holder="a")
    report = runner.step(T0 + 2 * H)
    assert report.leader
    assert report.fired == 3  # half-time: 1 action; breached: 2 actions
    assert report.delivered == 3
    assert report.outbox == 0
    assert sorted(e.rule for e in sent) == ["breached", "breached", "half-time"]
    assert len({e.key for e in sent}) == 3
    again = runner.step(T0 + 3 * H)
    assert (again.fired, again.delivered) == (0, 0)
    state = ledger.state("P-1")
    assert state.escalated("breached") and state.escalated("half-time")
    assert sorted(e.key for e in ledger.history() if isinstance(e, ActionDelivered)) == sorted(
        e.key for e in sent
    )


def test_idempotency_keys_are_stable_and_name_the_firing() -> None:
    keys = []
    for _ in range(2):
        ledger = PromiseLedger()
        ledger.append(made("P-1", T0, H))
        sent: list[ActionEnvelope] = []
        EscalationRunner(ledger, POLICY, sent.append, holder="x").step(T0 + 2 * H)
        keys.append(sorted(e.key for e in sent))
    assert keys[0] == keys[1]
    assert "P-1/r0/breached#1/a1.escalate_to/20260310T100000.000000Z" in keys[0]


def test_a_restart_never_fires_again_what_the_ledger_records(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    with SQLiteLedger(path) as store:
        for i in range(7):
            store.append(made(f"P-{i}", T0 + i * M, H))
        sent: list[ActionEnvelope] = []
        report = EscalationRunner(store, POLICY, sent.append, holder="a").step(T0 + 3 * H)
        assert report.fired == 21
    with SQLiteLedger(path) as store:
        again: list[ActionEnvelope] = []
        runner = EscalationRunner(store, POLICY, again.append, holder="a")
        assert runner.step(T0 + 3 * H).fired == 0
        assert runner.step(T0 + 5 * H).fired == 0
        assert again == []
        assert len(fired_keys(store)) == 21


def test_memory_from_state_counts_what_fired() -> None:
    ledger = PromiseLedger()
    ledger.append(made("P-1", T0, H))
    EscalationRunner(ledger, POLICY, lambda e: None, holder="a").step(T0 + 2 * H)
    memory = memory_from_state(ledger.state("P-1"))
    assert memory.has_fired("breached", 0)
    assert memory.has_fired("half-time", 0)
    track = TrackedPromise.from_state(ledger.state("P-1"))
    assert list(POLICY.evaluate(track, T0 + 4 * H, memory)) == []


def test_an_early_delivery_stops_the_clock() -> None:
    ledger = PromiseLedger()
    ledger.append(made("P-1", T0, H))
    ledger.append(delivered("P-1", T0 + 10 * M))
    sent: list[ActionEnvelope] = []
    EscalationRunner(ledger, POLICY, sent.append, holder="a").step(T0 + 3 * H)
    assert sent == []


def test_a_delivery_recorded_between_steps_stops_later_rules() -> None:
    ledger = PromiseLedger()
    ledger.append(made("P-1", T0, H))
    sent: list[ActionEnvelope] = []
    runner = EscalationRunner(ledger, POLICY, sent.append, holder="a")
    runner.step(T0 + 40 * M)  # half-time fired at 09:30
    ledger.append(delivered("P-1", T0 + 45 * M))
    runner.step(T0 + 3 * H)
    assert [e.rule for e in sent] == ["half-time"]


def test_a_failing_sink_is_retried_and_never_blocks_others() -> None:
    ledger = PromiseLedger()
    for i in range(20):
        ledger.append(made(f"P-{i}", T0 + i * M, H))
    rng = random.Random(7)
    taken: list[str] = []

    def flaky(envelope: ActionEnvelope) -> None:
        if rng.random() < 0.3:
            raise ConnectionError("chat service unavailable")
        taken.append(envelope.key)

    runner = EscalationRunner(
        ledger, POLICY, flaky, holder="a", backoff=Backoff(first=M, cap=10 * M)
    )
    now = T0 + 2 * H
    while True:
        report = runner.step(now)
        if report.outbox == 0:
            break
        now += 10 * M
        assert now < T0 + 48 * H, "the outbox never drained"
    keys = fired_keys(ledger)
    assert len(keys) == 60 == len(set(keys))
    assert set(taken) == set(keys)
    failures = [e for e in ledger.history() if isinstance(e, EscalationFailed)]
    assert failures, "30 % failures must have been recorded"
    assert all("ConnectionError" in f.error and f.promise_id in f.error for f in failures)
    assert all(f.retry_at is not None and f.retry_at > f.at for f in failures)


class _ThinHistory:
    """A residual capability that has too little data until it is told otherwise."""

    ready = False

    def residual_quantile(self, q: float, elapsed: timedelta) -> timedelta:
        if not self.ready:
            raise InsufficientDataError("only 3 completed jobs (need 30)")
        return timedelta(minutes=30)


def test_a_failing_proposer_is_isolated_and_retried() -> None:
    from promisekit.escalation import CapabilityProposer

    capability = _ThinHistory()
    policy = EscalationPolicy(
        [
            Rule(
                "slipping",
                Overdue(timedelta(0)),
                [ProposeRevision(proposer=CapabilityProposer(capability))],  # type: ignore[arg-type]
            ),
            Rule("told-owner", Overdue(timedelta(0)), [NotifyOwner()]),
        ]
    )
    ledger = PromiseLedger()
    ledger.append(made("P-1", T0, H))
    ledger.append(made("P-2", T0, H))
    sent: list[ActionEnvelope] = []
    runner = EscalationRunner(ledger, policy, sent.append, holder="a")
    runner.step(T0 + 2 * H)
    failures = [e for e in ledger.history() if isinstance(e, EscalationFailed)]
    assert failures
    assert {f.promise_id for f in failures} == {"P-1", "P-2"}
    assert all(f.rule == "slipping" and "InsufficientDataError" in f.error for f in failures)
    capability.ready = True
    now = T0 + 2 * H
    for _ in range(20):
        now += 30 * M
        runner.step(now)
    rules = Counter(
        (e.promise_id, e.rule) for e in ledger.history() if isinstance(e, EscalationFired)
    )
    assert rules == {
        ("P-1", "slipping"): 1,
        ("P-2", "slipping"): 1,
        ("P-1", "told-owner"): 1,
        ("P-2", "told-owner"): 1,
    }


def test_one_letter_per_firing_apology_and_compensation_merged() -> None:
    policy = EscalationPolicy(
        [
            Rule(
                "breached",
                Overdue(timedelta(0)),
                [
                    NotifyCustomer("apology"),
                    Compensate(Decimal("10"), per_promise=Decimal("10"), currency="CAD"),
                ],
            )
        ]
    )
    ledger = PromiseLedger()
    ledger.append(made("P-1", T0, H))
    sent: list[ActionEnvelope] = []
    runner = EscalationRunner(
        ledger, policy, sent.append, holder="a", explanation="Our technician fell ill."
    )
    runner.step(T0 + 2 * H)
    letters = [e for e in sent if e.notice is not None]
    assert len(sent) == 2 and len(letters) == 1
    letter = letters[0]
    assert letter.action_type == "compensate"
    assert letter.document["letter_covers"] == ["compensate", "notify_customer"]
    assert "10" in letter.notice["body"] and "fell ill" in letter.notice["body"]
    other = next(e for e in sent if e.notice is None)
    assert other.document["merged_into"] == letter.key


def test_a_notice_with_a_placeholder_is_not_sent() -> None:
    policy = EscalationPolicy([Rule("sorry", Overdue(timedelta(0)), [NotifyCustomer("apology")])])
    ledger = PromiseLedger()
    ledger.append(made("P-1", T0, H))
    sent: list[ActionEnvelope] = []
    report = EscalationRunner(ledger, policy, sent.append, holder="a").step(T0 + 2 * H)
    assert sent == [] and report.failures == 1 and report.outbox == 1
    failure = next(e for e in ledger.history() if isinstance(e, EscalationFailed))
    assert "placeholder" in failure.error and "'P-1'" in failure.error
    allowed: list[ActionEnvelope] = []
    EscalationRunner(ledger, policy, allowed.append, holder="a", allow_placeholders=True).step(
        T0 + 3 * H
    )
    assert len(allowed) == 1 and allowed[0].notice is not None


def test_two_runners_never_both_fire_and_the_second_takes_over(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    with SQLiteLedger(path) as s1, SQLiteLedger(path) as s2:
        for i in range(5):
            s1.append(made(f"P-{i}", T0, H))
        a_sent: list[ActionEnvelope] = []
        b_sent: list[ActionEnvelope] = []
        a = EscalationRunner(s1, POLICY, a_sent.append, holder="a", lease_ttl=5 * M)
        b = EscalationRunner(s2, POLICY, b_sent.append, holder="b", lease_ttl=5 * M)
        assert a.step(T0 + 40 * M).leader
        assert not b.step(T0 + 41 * M).leader
        assert a.step(T0 + 42 * M).leader
        # a stops stepping; its lease expires; b takes over and fires the rest, once.
        assert b.step(T0 + 2 * H).leader
        assert not a.step(T0 + 2 * H + M).leader
        keys = fired_keys(s1)
        assert len(keys) == len(set(keys)) == 15
        assert {e.key for e in a_sent}.isdisjoint({e.key for e in b_sent})
        assert {e.key for e in a_sent} | {e.key for e in b_sent} == set(keys)


def test_json_lines_sink_writes_one_document_per_action(tmp_path: Path) -> None:
    ledger = PromiseLedger()
    ledger.append(made("P-1", T0, H))
    sink = JsonLinesSink(tmp_path / "actions.jsonl")
    EscalationRunner(ledger, POLICY, sink, holder="a").step(T0 + 2 * H)
    sink.close()
    lines = (tmp_path / "actions.jsonl").read_text("utf-8").splitlines()
    docs = [json.loads(line) for line in lines]
    assert len(docs) == 3
    assert {d["escalation"]["rule"] for d in docs} == {"half-time", "breached"}
    assert all(d["attempt"] == 1 and d["key"] for d in docs)
    assert docs[0]["escalation"]["triggered_at"].startswith("2026-03-10T09:30:00")


def test_bad_arguments_are_clear() -> None:
    from promisekit.errors import InvalidTypeError, InvalidValueError

    ledger = PromiseLedger()
    with pytest.raises(InvalidTypeError, match="'policy' must be an EscalationPolicy"):
        EscalationRunner(ledger, "policy.toml", print)  # type: ignore[arg-type]
    with pytest.raises(InvalidTypeError, match="'sink' must be callable"):
        EscalationRunner(ledger, POLICY, "out.jsonl")  # type: ignore[arg-type]
    with pytest.raises(InvalidTypeError, match="'store' must be a ledger store"):
        EscalationRunner({}, POLICY, print)  # type: ignore[arg-type]
    with pytest.raises(InvalidValueError, match="'lease_ttl' must be positive"):
        EscalationRunner(ledger, POLICY, print, lease_ttl=timedelta(0))
    runner = EscalationRunner(ledger, POLICY, print)
    from promisekit.errors import NaiveDatetimeError

    with pytest.raises(NaiveDatetimeError, match="'now'"):
        runner.step(datetime(2026, 3, 10, 9))


class _FlakyHistory:
    """A residual capability that raises on 40 % of calls (a flaky data source)."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)

    def residual_quantile(self, q: float, elapsed: timedelta) -> timedelta:
        if self.rng.random() < 0.4:
            raise InsufficientDataError("the history service timed out")
        return timedelta(minutes=45)


def test_failure_injection_every_action_delivered_no_rule_lost() -> None:
    from promisekit.escalation import CapabilityProposer

    capability = _FlakyHistory(3)
    policy = EscalationPolicy(
        [
            Rule("half-time", Elapsed(0.5), [NotifyOwner()]),
            Rule(
                "late",
                Overdue(timedelta(0)),
                [NotifyOwner(), ProposeRevision(proposer=CapabilityProposer(capability))],  # type: ignore[arg-type]
            ),
        ]
    )
    ledger = PromiseLedger()
    for i in range(30):
        ledger.append(made(f"P-{i}", T0 + i * M, H))
    rng = random.Random(11)
    taken: set[str] = set()

    def flaky(envelope: ActionEnvelope) -> None:
        if rng.random() < 0.3:
            raise TimeoutError("mail server")
        taken.add(envelope.key)

    runner = EscalationRunner(ledger, policy, flaky, holder="a", backoff=Backoff(first=M))
    now = T0
    for _ in range(200):
        now += 5 * M
        report = runner.step(now)
        if now > T0 + 3 * H and report.outbox == 0:
            break
    fired = [e for e in ledger.history() if isinstance(e, EscalationFired)]
    per_rule = Counter((e.promise_id, e.rule) for e in fired)
    assert set(per_rule) == {(f"P-{i}", r) for i in range(30) for r in ("half-time", "late")}
    assert per_rule[("P-0", "late")] == 2  # both actions of the rule, once each
    assert all(n == (2 if rule == "late" else 1) for (_, rule), n in per_rule.items())
    assert taken == {e.key for e in fired}
    failures = [e for e in ledger.history() if isinstance(e, EscalationFailed)]
    assert any("timed out" in f.error for f in failures)
    assert any("TimeoutError" in f.error for f in failures)
