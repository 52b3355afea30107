"""The records of evaluation: escalations to perform, grants, the memory, the result.

Plain, immutable data. Imports :mod:`._actions`, :mod:`._notices` (an escalation drafts its
customer notice) and :mod:`._track`.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from typing import Any

import attrs

from promisekit._validation import check_non_empty_str
from promisekit.errors import InvalidTypeError
from promisekit.escalation._actions import Action
from promisekit.escalation._notices import Notice, draft_notice
from promisekit.escalation._track import TrackedPromise

__all__ = ["Escalation", "EscalationMemory", "Evaluation", "Grant"]


def _check_name(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    check_non_empty_str(attribute.name, value)


@attrs.frozen(kw_only=True)
class Escalation:
    """One action to perform, because a rule fired for a promise revision.

    Attributes:
        rule: Name of the rule that fired.
        action: The action (plain data) to perform.
        promise_id: The promise.
        customer_id: Its customer.
        revision: The promise revision the rule fired for.
        level: The rule's level.
        occurrence: 1 for the first firing of the rule in this revision, 2 for the next…
        triggered_at: The instant the trigger became true (or the repeat fell due) —
            not the instant of evaluation.
        at: When to perform the action: ``triggered_at``, or for a customer-facing
            action outside contact hours, the next contact opening.
        due: The due date in force at ``triggered_at``, extended by known pauses.
        proposed_due: The realistic new date of the rule's :class:`ProposeRevision`,
            or ``None``.
        amount: For :class:`Compensate`, the amount granted after caps; else ``None``.
        capped_by: For :class:`Compensate`, which cap reduced the amount
            (``"per_promise"``, ``"per_customer"``, ``"per_period"``), or ``None``.

    .. versionadded:: 0.1.0
    """

    rule: str
    action: Action
    promise_id: str
    customer_id: str
    revision: int
    level: int
    occurrence: int
    triggered_at: datetime
    at: datetime
    due: datetime
    proposed_due: datetime | None = None
    amount: Decimal | None = None
    capped_by: str | None = None

    @property
    def customer_facing(self) -> bool:
        """Whether the action reaches the customer.

        .. versionadded:: 0.1.0
        """
        return self.action.customer_facing

    @property
    def deferred(self) -> bool:
        """Whether the action waits for the customer's contact hours.

        .. versionadded:: 0.1.0
        """
        return self.at != self.triggered_at

    def draft(self, track: TrackedPromise, **options: Any) -> Notice:
        """Render the customer notice of this escalation (see :func:`draft_notice`).

        .. versionadded:: 0.1.0
        """
        return draft_notice(self, track, **options)


@attrs.frozen(kw_only=True)
class Grant:
    """Compensation granted to a customer (the ledger the caps are checked against).

    .. versionadded:: 0.1.0
    """

    customer_id: str
    promise_id: str
    at: datetime
    amount: Decimal
    rule: str
    currency: str | None = None


def _convert_fired(value: Any) -> tuple[tuple[str, int, int, int], ...]:
    return tuple(sorted(tuple(item) for item in value))


def _convert_pending(value: Any) -> tuple[Escalation, ...]:
    items = tuple(value)
    for item in items:
        if not isinstance(item, Escalation):
            raise InvalidTypeError(
                f"'pending' must contain only Escalation records (got {type(item).__name__})"
            )
    return items


@attrs.frozen
class EscalationMemory:
    """What has fired for one promise: the explicit state that makes re-evaluation idempotent.

    Pass the memory returned by an evaluation to the next one; store it with the promise
    (it is small and made of plain values).

    Attributes:
        promise_id: The promise it belongs to.
        evaluated_until: The last evaluated instant (µs since the epoch), or ``None``.
        fired: ``(rule, revision, count, last_fired_µs)`` for each rule that fired in the
            current revision.
        pending: Customer-facing escalations waiting for the next contact opening.

    .. versionadded:: 0.1.0
    """

    promise_id: str = attrs.field(validator=_check_name)
    evaluated_until: int | None = None
    fired: tuple[tuple[str, int, int, int], ...] = attrs.field(default=(), converter=_convert_fired)
    pending: tuple[Escalation, ...] = attrs.field(default=(), converter=_convert_pending)

    def has_fired(self, rule: str, revision: int) -> bool:
        """Whether ``rule`` has fired for ``revision`` (recent revisions only).

        .. versionadded:: 0.1.0
        """
        return any(name == rule and rev == revision for name, rev, _, _ in self.fired)


@attrs.frozen
class Evaluation:
    """The result of :meth:`EscalationPolicy.evaluate`: escalations, memory, next check.

    Iterating over it yields the escalations.

    Attributes:
        escalations: What to perform now, in order of ``at``.
        memory: The memory to pass to the next evaluation.
        next_check: The earliest later instant at which something could fire (assuming
            nothing new is recorded), or ``None``.
        grants: Compensation granted by these escalations (append them to the customer's
            grants for the next evaluations).

    .. versionadded:: 0.1.0
    """

    escalations: tuple[Escalation, ...]
    memory: EscalationMemory
    next_check: datetime | None
    grants: tuple[Grant, ...] = ()

    def __iter__(self) -> Iterator[Escalation]:
        return iter(self.escalations)

    def __len__(self) -> int:
        return len(self.escalations)
