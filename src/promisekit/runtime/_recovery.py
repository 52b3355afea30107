"""Reading back from the ledger what the runner recorded: memory and compensation granted."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from promisekit.escalation import EscalationMemory, Grant
from promisekit.ledger import PromiseState
from promisekit.serialize import parse_datetime

__all__ = ["grant_from_document", "memory_from_state"]


def memory_from_state(state: PromiseState) -> EscalationMemory:
    """The :class:`~promisekit.escalation.EscalationMemory` that a promise's ledger records.

    Each :class:`~promisekit.ledger.EscalationFired` event counts its firing (``occurrence``)
    for its rule and revision, so an evaluation with this memory never fires again what the
    ledger records, and repeating rules continue after the last recorded firing.
    Evaluation restarts from the beginning of the promise (``evaluated_until=None``):
    anything not recorded — a firing lost in a crash before it was recorded, an action still
    waiting for the customer's contact hours — is found again, with the same instants.

    .. versionadded:: 0.1.0
    """
    fired: dict[tuple[str, int], tuple[int, int]] = {}
    for event in state.escalations:
        key = (event.rule, event.revision)
        at_us = _to_us(event.at)
        count, last = fired.get(key, (0, at_us))
        fired[key] = (max(count, event.occurrence), max(last, at_us))
    return EscalationMemory(
        state.promise.id,
        fired=[(rule, revision, count, last) for (rule, revision), (count, last) in fired.items()],
    )


_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def _to_us(value: datetime) -> int:
    return (value - _EPOCH) // timedelta(microseconds=1)


def grant_from_document(document: Any) -> Grant | None:
    """The compensation an ``EscalationFired`` document records, for the caps."""
    escalation = document.get("escalation") if isinstance(document, dict) else None
    if not isinstance(escalation, dict) or escalation.get("amount") is None:
        return None
    action = escalation.get("action") or {}
    return Grant(
        customer_id=escalation["customer_id"],
        promise_id=escalation["promise_id"],
        at=parse_datetime(escalation["triggered_at"], field="triggered_at"),
        amount=Decimal(escalation["amount"]),
        rule=escalation["rule"],
        currency=action.get("currency"),
    )
