"""The story ``promisekit demo`` tells after its outcome table.

For each promise of the sample history: how satisfied its customer probably is
(:class:`~promisekit.satisfaction.Disconfirmation`), what a buffer policy fitted on
the history would have promised instead, and which escalations (and customer
notices) a ready escalation policy fired; then the keep rate, saying which promises
it counts. Everything here needs only the core library (no pandas, no matplotlib).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from promisekit._cli_format import _when, format_duration, format_table
from promisekit.buffering import EmpiricalCapability, HistoryRecord, QuantileBuffer, RoundUp
from promisekit.delivery import Delivery, Outcome
from promisekit.escalation import EscalationPolicy, NotifyCustomer, TrackedPromise, draft_notice
from promisekit.promise import Promise
from promisekit.satisfaction import Disconfirmation, Expectation

ESCALATION_POLICY = "servicenow-ladder"
BUFFER_QUANTILE = 0.9


def _level(name: str) -> str:
    return name.lower().replace("_", " ")


class DemoRow:
    """One promise of the demo: its outcome and what the story says about it."""

    __slots__ = ("deliveries", "done", "outcome", "promise")

    def __init__(self, promise: Promise, deliveries: Sequence[Delivery], outcome: Outcome) -> None:
        self.promise = promise
        self.deliveries = deliveries
        self.outcome = outcome
        self.done: datetime | None = outcome.completed_at


def keep_rate_lines(rows: Sequence[DemoRow]) -> list[str]:
    """The keep rate in words, saying which promises each figure counts."""
    total = len(rows)
    status = [r.outcome.status.value for r in rows]
    kept = status.count("kept")
    pending = [r.promise.id for r, s in zip(rows, status, strict=True) if s == "pending"]
    overdue = status.count("overdue")
    decided = total - len(pending)
    lines = [
        f"{kept} of {total} promises kept ({kept / total:.0%} of all promises, open ones included)."
    ]
    if not decided:
        return lines
    why = []
    if pending:
        ids = ", ".join(pending)
        why.append(
            f"{ids} {'is' if len(pending) == 1 else 'are'} open and not yet due, so not counted"
        )
    if overdue:
        why.append(f"{overdue} overdue {'counts' if overdue == 1 else 'count'} as broken")
    lines.append(
        f"Keep rate {kept / decided:.1%}: {kept} of the {decided} decided promises"
        + (f" ({'; '.join(why)})" if why else "")
        + "."
    )
    return lines


def _terms(deliveries: Sequence[Delivery]) -> dict[str, Any]:
    """What the deliveries gave: quantity and cost summed, the lowest quality."""
    quantities = [d.quantity for d in deliveries if d.quantity is not None]
    qualities = [d.quality for d in deliveries if d.quality is not None]
    costs = [d.cost for d in deliveries if d.cost is not None]
    return {
        "quantity": sum(quantities) if quantities else None,
        "quality": min(qualities) if qualities else None,
        "cost": sum(costs) if costs else None,
    }


def _satisfaction(rows: Sequence[DemoRow], calendar: Any) -> dict[str, str]:
    """Each closed promise's likely satisfaction level: its window, revisions and terms."""
    model = Disconfirmation()
    out = {}
    for r in rows:
        if r.done is None:
            out[r.promise.id] = "(open)"
            continue
        expectation = Expectation.from_promise(r.promise, calendar)
        outcome = expectation.completed(r.done, **_terms(r.deliveries))
        out[r.promise.id] = _level(model.score(expectation, outcome).label.name)
    return out


def _buffered(
    rows: Sequence[DemoRow], calendar: Any
) -> tuple[dict[str, tuple[datetime, bool | None]], str]:
    """The due a policy fitted per kind on the completed promises would have quoted."""
    records = [
        HistoryRecord(r.promise.made_at, r.done, r.promise.kind) for r in rows if r.done is not None
    ]
    # min_samples=2: a dozen promises are a demo, not a capability study
    policy = QuantileBuffer(BUFFER_QUANTILE, min_samples=2) + RoundUp("quarter-hour")
    text = f"QuantileBuffer({BUFFER_QUANTILE}) + RoundUp('quarter-hour')"
    capabilities = {}
    for kind in sorted({r.promise.kind for r in rows}):
        if any(rec.segment == kind for rec in records):
            capabilities[kind] = EmpiricalCapability.from_history(
                records, calendar=calendar, segment=kind, label=f"{kind}s"
            )
    quotes: dict[str, tuple[datetime, bool | None]] = {}
    for r in rows:
        capability = capabilities.get(r.promise.kind)
        if capability is None:
            continue
        q = policy.quote(r.promise.made_at, capability, calendar)
        due = q.due
        quotes[r.promise.id] = (due, None if r.done is None else r.done <= due)
    return quotes, text


def _escalations(
    rows: Sequence[DemoRow], calendar: Any, now: datetime
) -> tuple[dict[str, list[Any]], list[tuple[Any, Any]]]:
    policy = EscalationPolicy.ready(ESCALATION_POLICY)
    fired: dict[str, list[Any]] = {}
    notices = []
    for r in rows:
        track = TrackedPromise(promise=r.promise, calendar=calendar, completed_at=r.done)
        result = policy.evaluate(track, now)
        fired[r.promise.id] = list(result.escalations)
        for e in result.escalations:
            if isinstance(e.action, NotifyCustomer):
                notices.append((e, track))
    return fired, notices


def story(rows: Sequence[DemoRow], calendar: Any, now: datetime) -> list[str]:
    """The lines printed after the outcome table: satisfaction, buffers, escalations."""
    levels = _satisfaction(rows, calendar)
    quotes, policy_text = _buffered(rows, calendar)
    fired, notices = _escalations(rows, calendar, now)
    table = []
    for r in rows:
        p = r.promise
        quote = quotes.get(p.id)
        rules: list[str] = []
        for e in fired[p.id]:
            if e.rule not in rules:
                rules.append(e.rule)
        table.append(
            [
                p.id,
                levels[p.id],
                "-" if quote is None else _when(quote[0]),
                "-" if quote is None else format_duration(calendar.between(p.made_at, quote[0])),
                "-" if quote is None or quote[1] is None else ("yes" if quote[1] else "no"),
                ", ".join(rules) or "-",
            ]
        )
    headers = ["promise", "satisfaction", "buffered due", "window (biz)", "on time", "escalations"]
    done = [(r.done, r.outcome.due) for r in rows if r.done is not None]
    kept_now = sum(1 for at, due in done if at <= due)  # on time, terms aside
    closed_quotes = [q for q in quotes.values() if q[1] is not None]
    kept_then = sum(1 for q in closed_quotes if q[1])
    lines = [
        "What followed, promise by promise:",
        "  satisfaction  the customer's likely verdict on a closed promise: its time, revisions",
        "                and terms (Disconfirmation model)",
        "  buffered due  the due date a buffer policy fitted per kind on the "
        f"{len(done)} completed",
        "                promises would have promised (the p90 of past durations, rounded",
        f"                up to the quarter hour: {policy_text}; in-sample),",
        "                and whether the actual delivery was on time for it",
        f"  escalations   rules of the ready escalation policy '{ESCALATION_POLICY}' that fired",
        "",
        *("  " + line for line in format_table(headers, table).splitlines()),
        "",
        f"On time: {kept_now} of {len(done)} completed promises against the dates promised, "
        f"{kept_then} of {len(closed_quotes)} against the buffered dates.",
    ]
    count = sum(len(v) for v in fired.values())
    promises = sum(1 for v in fired.values() if v)
    lines.append(
        f"Escalations: {count} actions fired for {promises} promises; "
        f"{len(notices)} customer notice{'' if len(notices) == 1 else 's'} drafted"
        + (":" if notices else ".")
    )
    for e, track in notices[:3]:
        notice = draft_notice(e, track)
        lines.append(
            f"  {notice.promise_id} to {notice.customer_id}, {notice.kind}, sent "
            f'{_when(notice.send_at)}: "{notice.subject}"'
        )
    if len(notices) > 3:
        lines.append(f"  ... and {len(notices) - 3} more")
    return lines
