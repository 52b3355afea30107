"""Helpdesk SLAs: named clocks (first response, next response, resolution) on one ticket.

A ticket is a :class:`~promisekit.escalation.TrackedPromise`: messages to the customer are
recorded with :meth:`~promisekit.escalation.TrackedPromise.notify`, messages from the
customer with :meth:`~promisekit.escalation.TrackedPromise.receive`, pending states with
``pause``/``resume``, closing with ``complete`` and reopening with
:meth:`~promisekit.escalation.TrackedPromise.reopen`. An :class:`SlaPlan` names the
ticket's :class:`SlaClock` s, each with its target in business time; their readings
(:class:`ClockReading`) and conditions (:class:`ClockCondition`, or
``"next_response remaining <= 15m"`` in a policy given ``bindings={"sla": plan}``) are
computed by the escalation engine's exact closed-form business-time arithmetic. A plan
can be written as data: :func:`sla_plan_from_toml` reads the file ``promisekit run
--sla FILE`` takes.

This module only re-exports names of :mod:`promisekit.escalation`; the guide is
``docs/helpdesk-slas.md``.

Example:
    >>> from datetime import datetime, timedelta, timezone
    >>> from promisekit.escalation import TrackedPromise
    >>> from promisekit.promise import Promise
    >>> t0 = datetime(2026, 3, 10, 9, 0, tzinfo=timezone.utc)
    >>> ticket = TrackedPromise(promise=Promise(
    ...     id="T-1", customer_id="C-1", kind="ticket", made_at=t0, due=t0 + timedelta(days=1)))
    >>> plan = SlaPlan([SlaClock("first_response", "first_response", "1h")])
    >>> plan.readings(ticket, t0 + timedelta(minutes=20))["first_response"].remaining
    datetime.timedelta(seconds=2400)

.. versionadded:: 0.1.0
"""

from __future__ import annotations

from promisekit.escalation import (
    CLOCK_KINDS,
    ClockCondition,
    ClockReading,
    InboundMessage,
    Reopening,
    SlaClock,
    SlaPlan,
    Unanswered,
    sla_plan_from_dict,
    sla_plan_from_toml,
    sla_plan_to_dict,
)

__all__ = [
    "CLOCK_KINDS",
    "ClockCondition",
    "ClockReading",
    "InboundMessage",
    "Reopening",
    "SlaClock",
    "SlaPlan",
    "Unanswered",
    "sla_plan_from_dict",
    "sla_plan_from_toml",
    "sla_plan_to_dict",
]
