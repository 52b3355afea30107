"""When a promise slips: triggers, actions as data, rules, policies and a scheduler.

Warn the owner, inform the customer *before* the deadline, escalate to a manager, propose a
realistic new date, apologize and compensate within a cap — and never send a reminder at
midnight, lose paused time, or get a deadline wrong across a DST change.

* **Triggers** (:class:`Elapsed`, :class:`Remaining`, :class:`OverdueBy`, :class:`AtRisk`,
  :class:`BufferZone`, :class:`Silence`, :class:`Revised`,
  :class:`PredictedDissatisfaction`) combine with ``&``, ``|``, ``~`` and know the exact
  instant they become true (closed form, business time with a calendar).
* **Actions** are plain data (:class:`NotifyOwner`, :class:`NotifyCustomer`,
  :class:`EscalateTo`, :class:`ProposeRevision`, :class:`Compensate`): the integrating
  system performs them.
* A :class:`Rule` is a trigger, actions, a level and how often; an
  :class:`EscalationPolicy` is ordered rules. ``policy.evaluate(track, now, memory)`` is pure
  and idempotent and returns :class:`Escalation` records stamped with the instant their
  trigger became true; ``policy.next_check(...)`` says when to look again.
* Policies load from TOML (:meth:`EscalationPolicy.from_toml`) with a tiny condition
  language; ready ones ship with promisekit (:func:`ready_policies`).
* :class:`Escalator` schedules a whole book of promises with a heap of next checks; one
  promise failing to evaluate never stops the others (:class:`EscalationFailure`).
* **Helpdesk tickets**: inbound messages (:meth:`TrackedPromise.receive`), reopening
  (:meth:`TrackedPromise.reopen`) and named SLA clocks (:class:`SlaClock`,
  :class:`SlaPlan`: first response, next response, resolution) usable in conditions
  (``"next_response remaining <= 15m"``); also exported by :mod:`promisekit.helpdesk`.
* :func:`draft_notice` writes the customer message in English or Canadian French.

Example:
    >>> from datetime import datetime, timedelta, timezone
    >>> from promisekit.promise import Promise
    >>> t0 = datetime(2026, 3, 10, 9, 0, tzinfo=timezone.utc)
    >>> track = TrackedPromise(promise=Promise(
    ...     id="P-1", customer_id="C-1", kind="repair", made_at=t0, due=t0 + timedelta(hours=8)))
    >>> policy = EscalationPolicy.from_toml('''
    ... [[rules]]
    ... name = "half-time"
    ... when = "elapsed >= 50%"
    ... do = ["notify_owner"]
    ... ''')
    >>> result = policy.evaluate(track, t0 + timedelta(hours=5))
    >>> [(e.rule, e.triggered_at.strftime("%H:%M")) for e in result]
    [('half-time', '13:00')]

.. versionadded:: 0.1.0
"""

from __future__ import annotations

# Layering: each private module imports only modules below it (at module level; type-only
# imports under ``if TYPE_CHECKING:`` aside), and this facade re-exports the public names.
#
#   _scheduler                         Escalator: a heap of next checks
#   _failures                          EscalationFailure, EscalationFailedError
#   _agenda                            each rule's next firing; advancing firing by firing
#   _policy                            EscalationPolicy: rules + evaluation + loading
#   _config                            policy files -> rules (PolicyConfigError)
#   _condition                         the condition language -> triggers
#   _registry                          names -> factories (built-ins; promisekit.plugins)
#   _factories                         the built-in trigger and action factories
#   _engine                            evaluation of rules over a timeline
#   _records                           Escalation, Grant, EscalationMemory, Evaluation
#   _notices                           customer notices
#   _rules                             Rule
#   _clock_triggers, _state_triggers   the built-in triggers
#   _triggers                          Trigger and its combinators
#   _actions                           actions, revision proposers, compensation
#   _sla_plan_file                     SLA plans as data (TOML, dicts)
#   _sla_conditions                    ClockCondition, Unanswered, SlaPlan (named clocks)
#   _sla_clocks                        SlaClock: named helpdesk clocks of a ticket
#   _track                             TrackedPromise and its events
#   _messages                          InboundMessage, Reopening; reading ledger states
#   _timeline                          segments and the SLA clock
#   _intervals, _time                  interval algebra; integer instants and durations
#
# promisekit.plugins knows group names and the protocols of promisekit.typing, never this
# package; _registry is the one module here that asks it for plugins.
from promisekit.escalation._actions import (
    NOTICE_KINDS,
    Action,
    CapabilityProposer,
    Compensate,
    CompensationPolicy,
    CompensationRequest,
    EscalateTo,
    NotifyCustomer,
    NotifyOwner,
    ProposeRevision,
    ResidualCapabilityLike,
    RevisionProposer,
    RevisionRequest,
)
from promisekit.escalation._clock_triggers import (
    AtRisk,
    BufferZone,
    CapabilityLike,
    Elapsed,
    OverdueBy,
    Remaining,
    Silence,
)
from promisekit.escalation._condition import parse_condition
from promisekit.escalation._config import PolicyConfigError, ready_policies
from promisekit.escalation._failures import EscalationFailedError, EscalationFailure
from promisekit.escalation._messages import InboundMessage, Reopening
from promisekit.escalation._notices import (
    DEFAULT_TEMPLATES,
    Notice,
    NoticeTemplate,
    draft_firing,
    draft_notice,
    firing_letter,
    format_datetime,
    format_money,
)
from promisekit.escalation._policy import (
    EscalationPolicy,
    policy_from_dict,
    policy_from_toml,
    ready_policy,
)
from promisekit.escalation._records import Escalation, EscalationMemory, Evaluation, Grant
from promisekit.escalation._registry import (
    DEFAULT_REGISTRY,
    ActionFactory,
    Registry,
    TriggerFactory,
    register_action,
    register_trigger,
)
from promisekit.escalation._rules import Rule
from promisekit.escalation._scheduler import Escalator
from promisekit.escalation._sla_clocks import CLOCK_KINDS, ClockReading, SlaClock
from promisekit.escalation._sla_conditions import ClockCondition, SlaPlan, Unanswered
from promisekit.escalation._sla_plan_file import (
    sla_plan_from_dict,
    sla_plan_from_toml,
    sla_plan_to_dict,
)
from promisekit.escalation._state_triggers import (
    LEVEL_NAMES,
    PredictedDissatisfaction,
    Revised,
    SatisfactionPredictor,
)
from promisekit.escalation._track import (
    LOCALES,
    CustomerUpdate,
    LedgerStateLike,
    Pause,
    ProgressReport,
    TrackedPromise,
)
from promisekit.escalation._triggers import AllOf, AnyOf, Not, Trigger

__all__ = [
    "CLOCK_KINDS",
    "DEFAULT_REGISTRY",
    "DEFAULT_TEMPLATES",
    "LEVEL_NAMES",
    "LOCALES",
    "NOTICE_KINDS",
    "Action",
    "ActionFactory",
    "AllOf",
    "AnyOf",
    "AtRisk",
    "BufferZone",
    "CapabilityLike",
    "CapabilityProposer",
    "ClockCondition",
    "ClockReading",
    "Compensate",
    "CompensationPolicy",
    "CompensationRequest",
    "CustomerUpdate",
    "Elapsed",
    "EscalateTo",
    "Escalation",
    "EscalationFailedError",
    "EscalationFailure",
    "EscalationMemory",
    "EscalationPolicy",
    "Escalator",
    "Evaluation",
    "Grant",
    "InboundMessage",
    "LedgerStateLike",
    "Not",
    "Notice",
    "NoticeTemplate",
    "NotifyCustomer",
    "NotifyOwner",
    "OverdueBy",
    "Pause",
    "PolicyConfigError",
    "PredictedDissatisfaction",
    "ProgressReport",
    "ProposeRevision",
    "Registry",
    "Remaining",
    "Reopening",
    "ResidualCapabilityLike",
    "Revised",
    "RevisionProposer",
    "RevisionRequest",
    "Rule",
    "SatisfactionPredictor",
    "Silence",
    "SlaClock",
    "SlaPlan",
    "TrackedPromise",
    "Trigger",
    "TriggerFactory",
    "Unanswered",
    "draft_firing",
    "draft_notice",
    "firing_letter",
    "format_datetime",
    "format_money",
    "parse_condition",
    "policy_from_dict",
    "policy_from_toml",
    "ready_policies",
    "ready_policy",
    "register_action",
    "register_trigger",
    "sla_plan_from_dict",
    "sla_plan_from_toml",
    "sla_plan_to_dict",
]
