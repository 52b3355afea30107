"""Escalations as a durable service: a runner over a ledger store, and sinks for its actions.

The service layer above the library (it imports the library; the library never imports
it). :class:`EscalationRunner` reads a store through its cursor, fires an
:class:`~promisekit.escalation.EscalationPolicy` exactly once per rule firing across
restarts (the ``EscalationFired`` events and the cursor are written in one transaction),
hands each action to a sink at least once with a stable idempotency key, isolates and
retries failures, and lets only one runner of a name fire at a time (a lease in the store).

Example:
    >>> from datetime import datetime, timedelta, timezone
    >>> from promisekit.ledger import PromiseLedger, PromiseMade
    >>> from promisekit.escalation import EscalationPolicy
    >>> t0 = datetime(2026, 3, 10, 9, 0, tzinfo=timezone.utc)
    >>> ledger = PromiseLedger()
    >>> _ = ledger.append(PromiseMade(id="e1", promise_id="P-1", at=t0, recorded_at=t0,
    ...     customer_id="C-1", kind="callback", due=t0 + timedelta(hours=1)))
    >>> policy = EscalationPolicy.from_toml('''
    ... [[rules]]
    ... name = "breached"
    ... when = "overdue"
    ... do = ["notify_owner"]
    ... ''')
    >>> sent = []
    >>> runner = EscalationRunner(ledger, policy, sent.append, holder="doc")
    >>> runner.step(t0 + timedelta(hours=2)).fired
    1
    >>> [envelope.key for envelope in sent]
    ['P-1/r0/breached#1/a0.notify_owner/20260310T100000.000000Z']
    >>> runner.step(t0 + timedelta(hours=3)).fired     # never twice
    0

.. versionadded:: 0.1.0
"""

from __future__ import annotations

from promisekit.runtime._command_sink import CommandSink
from promisekit.runtime._envelope import ActionEnvelope, escalation_document, notice_document
from promisekit.runtime._keys import idempotency_key
from promisekit.runtime._recovery import memory_from_state
from promisekit.runtime._runner import Backoff, EscalationRunner, StepReport
from promisekit.runtime._sinks import JsonLinesSink, Sink, SinkError

__all__ = [
    "ActionEnvelope",
    "Backoff",
    "CommandSink",
    "EscalationRunner",
    "JsonLinesSink",
    "Sink",
    "SinkError",
    "StepReport",
    "escalation_document",
    "idempotency_key",
    "memory_from_state",
    "notice_document",
]
