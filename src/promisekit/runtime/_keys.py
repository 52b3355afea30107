"""Stable names for what the runner records and sends: idempotency keys and event ids.

A key names one action of one firing: the promise, the revision the rule fired for, the
rule, which firing of the rule it is (``occurrence``), the action's position in the rule and
its type, and the instant the trigger became true. The same firing always gets the same key,
in every process and after every restart, so a receiver can drop repeats and the ledger's
idempotent append turns a second recording into a no-op.
"""

from __future__ import annotations

from datetime import datetime, timezone

from promisekit.escalation import Escalation

__all__ = [
    "action_name",
    "delivered_event_id",
    "failure_event_id",
    "fired_event_id",
    "idempotency_key",
]


def action_name(escalation: Escalation) -> str:
    """The action's name in keys and events: its class name in snake case (``notify_owner``).

    For the built-in actions this is also their policy-file and document name.
    """
    name = type(escalation.action).__name__
    return "".join("_" + c.lower() if c.isupper() else c for c in name).lstrip("_")


def _instant(value: datetime) -> str:
    return value.astimezone(timezone.utc).strftime("%Y%m%dT%H%M%S.%fZ")


def idempotency_key(escalation: Escalation, action_index: int) -> str:
    """The idempotency key of ``escalation``'s action number ``action_index`` in its rule.

    Example:
        ``"P-1/r0/breached#1/a1.compensate/20260310T140000.000000Z"``

    .. versionadded:: 0.1.0
    """
    return (
        f"{escalation.promise_id}/r{escalation.revision}/{escalation.rule}"
        f"#{escalation.occurrence}/a{action_index}.{action_name(escalation)}"
        f"/{_instant(escalation.triggered_at)}"
    )


def fired_event_id(key: str) -> str:
    """The id of the ``EscalationFired`` event that records the action ``key``."""
    return f"fired:{key}"


def delivered_event_id(key: str) -> str:
    """The id of the ``ActionDelivered`` event that records the sink took ``key``."""
    return f"delivered:{key}"


def failure_event_id(subject: str, attempt: int, at: datetime) -> str:
    """The id of an ``EscalationFailed`` event (``subject`` is a key or promise/rule)."""
    return f"failed:{subject}:{attempt}:{_instant(at)}"
