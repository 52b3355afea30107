"""Rules, policies and the evaluation engine: pure, idempotent, exact to the instant.

``policy.evaluate(track, now, memory)`` returns every escalation whose trigger became true in
``(memory.evaluated_until, now]`` — at the instant it became true — and a new
:class:`EscalationMemory`. Evaluation is pure: the memory (what fired, for which revision, and
the customer-facing actions waiting for contact hours) is passed in and returned, never kept
in the policy. Because every trigger knows the exact instant it becomes true within each span
of constant recorded state, evaluating at any sequence of times yields exactly the escalations
of a continuous evaluation.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from os import PathLike
from typing import TYPE_CHECKING, Any

import attrs

from promisekit._validation import check_aware, check_non_empty_str, describe
from promisekit.errors import InconsistentRecordError, InvalidTypeError, InvalidValueError
from promisekit.escalation._actions import (
    Action,
    Compensate,
    CompensationRequest,
    ProposeRevision,
    RevisionRequest,
)
from promisekit.escalation._intervals import Intervals, first_in
from promisekit.escalation._time import INF, from_us, td_us, to_us
from promisekit.escalation._timeline import Segment, timeline
from promisekit.escalation._track import TrackedPromise
from promisekit.escalation._triggers import Trigger

if TYPE_CHECKING:
    from promisekit.escalation._config import Registry
    from promisekit.escalation._notices import Notice

__all__ = [
    "Escalation",
    "EscalationMemory",
    "EscalationPolicy",
    "Evaluation",
    "Grant",
    "Rule",
]

_UTC = timezone.utc
#: The highest rule level (levels are the rungs of an escalation ladder).
MAX_LEVEL = 1000
#: The most firings a repeating rule may be limited to.
MAX_LIMIT = 1_000_000


# --------------------------------------------------------------------------- Rule


def _check_name(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    check_non_empty_str(attribute.name, value)


def _check_when(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, Trigger):
        raise InvalidTypeError(
            f"'when' must be a Trigger (got {type(value).__name__} {describe(value)})"
        )


def _convert_actions(value: Any) -> tuple[Action, ...]:
    if isinstance(value, Action):
        return (value,)
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        raise InvalidTypeError(
            f"'actions' must be an Action or an iterable of Action "
            f"(got {type(value).__name__} {describe(value)})"
        )
    actions = tuple(value)
    if not actions:
        raise InvalidValueError("'actions' must contain at least one Action (got none)")
    for index, item in enumerate(actions):
        if not isinstance(item, Action):
            raise InvalidTypeError(
                f"'actions' must contain only Action instances "
                f"(got {type(item).__name__} {describe(item)} at index {index})"
            )
    return actions


def _check_level(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidTypeError(
            f"'level' must be an int (got {type(value).__name__} {describe(value)})"
        )
    if not 1 <= value <= MAX_LEVEL:
        raise InvalidValueError(f"'level' must be >= 1 and <= {MAX_LEVEL} (got {describe(value)})")


def _check_every(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is None:
        return
    if not isinstance(value, timedelta):
        raise InvalidTypeError(
            f"'every' must be a timedelta or None (got {type(value).__name__} {describe(value)})"
        )
    if value <= timedelta(0):
        raise InvalidValueError(f"'every' must be a positive duration (got {value})")


def _check_limit(instance: Rule, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidTypeError(
            f"'limit' must be an int (got {type(value).__name__} {describe(value)})"
        )
    if not 1 <= value <= MAX_LIMIT:
        raise InvalidValueError(f"'limit' must be >= 1 and <= {MAX_LIMIT} (got {describe(value)})")
    if instance.every is None:
        raise InvalidValueError(
            f"'limit' needs 'every' (a rule without 'every' fires once per revision) "
            f"(got limit={describe(value)})"
        )


@attrs.frozen
class Rule:
    """A trigger, the actions to take when it becomes true, a level, and how often.

    By default a rule fires **once per promise revision**, at the first instant its trigger
    is true (a revision starts the rules afresh). With ``every``, it fires again each
    ``every`` (real time) after its last firing as long as its trigger is true, at most
    ``limit`` times per revision.

    Args:
        name: Unique name in the policy (it keys the memory of what fired).
        when: The trigger.
        actions: One action or several (plain data).
        level: Escalation level, ``>= 1``; levels never decrease along a policy.
        every: Repeat interval, or ``None`` to fire once per revision.
        limit: Most firings per revision with ``every``, or ``None``.

    Example:
        .. code-block:: python

            Rule("breach", OverdueBy(0), [EscalateTo("manager"),
                 NotifyCustomer("apology")], level=3, every=timedelta(hours=4))

    .. versionadded:: 0.1.0
    """

    name: str = attrs.field(validator=_check_name)
    when: Trigger = attrs.field(validator=_check_when)
    actions: tuple[Action, ...] = attrs.field(converter=_convert_actions)
    level: int = attrs.field(default=1, kw_only=True, validator=_check_level)
    every: timedelta | None = attrs.field(default=None, kw_only=True, validator=_check_every)
    limit: int | None = attrs.field(default=None, kw_only=True, validator=_check_limit)

    def to_dict(self) -> dict[str, Any]:
        """The rule in the policy-file form (``when`` and ``do`` as strings).

        .. versionadded:: 0.1.0
        """
        from promisekit.escalation._time import format_duration

        data: dict[str, Any] = {
            "name": self.name,
            "when": self.when.describe(),
            "do": [action.describe() for action in self.actions],
            "level": self.level,
        }
        if self.every is not None:
            data["every"] = format_duration(self.every)
        if self.limit is not None:
            data["limit"] = self.limit
        return data


# --------------------------------------------------------------------------- records


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
        from promisekit.escalation._notices import draft_notice

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


# --------------------------------------------------------------------------- policy


def _convert_rules(value: Any) -> tuple[Rule, ...]:
    if isinstance(value, Rule):
        return (value,)
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        raise InvalidTypeError(
            f"'rules' must be an iterable of Rule (got {type(value).__name__} {describe(value)})"
        )
    rules = tuple(value)
    if not rules:
        raise InvalidValueError("'rules' must contain at least one Rule (got none)")
    names: set[str] = set()
    previous: Rule | None = None
    for index, rule in enumerate(rules):
        if not isinstance(rule, Rule):
            raise InvalidTypeError(
                f"'rules' must contain only Rule instances "
                f"(got {type(rule).__name__} {describe(rule)} at index {index})"
            )
        if rule.name in names:
            raise InvalidValueError(
                f"'rules' must have unique names (got {describe(rule.name)} twice, again "
                f"at index {index})"
            )
        names.add(rule.name)
        if previous is not None and rule.level < previous.level:
            raise InvalidValueError(
                f"'rules' must be ordered by level: rule {describe(rule.name)} has level "
                f"{rule.level}, below {previous.level} of the previous rule "
                f"{describe(previous.name)} "
                f"(expected >= {previous.level})"
            )
        previous = rule
    return rules


def _optional_text(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is not None:
        check_non_empty_str(attribute.name, value)


@attrs.frozen
class EscalationPolicy:
    """Ordered rules, evaluated purely against a tracked promise.

    Args:
        rules: The rules, ordered by non-decreasing level, with unique names.
        name: A name for the policy, or ``None``.
        description: What it is for, or ``None``.

    Example:
        .. code-block:: python

            policy = EscalationPolicy([
                Rule("half", Elapsed(0.5), NotifyOwner()),
                Rule("late", OverdueBy(0), [EscalateTo("manager"),
                     NotifyCustomer("apology")], level=2),
            ])
            result = policy.evaluate(track, now, memory)
            for escalation in result:
                perform(escalation)
            memory = result.memory

    .. versionadded:: 0.1.0
    """

    rules: tuple[Rule, ...] = attrs.field(converter=_convert_rules)
    name: str | None = attrs.field(default=None, kw_only=True, validator=_optional_text)
    description: str | None = attrs.field(default=None, kw_only=True, validator=_optional_text)
    _index: Mapping[str, int] = attrs.field(init=False, eq=False, hash=False, repr=False)

    def __attrs_post_init__(self) -> None:
        object.__setattr__(self, "_index", {rule.name: i for i, rule in enumerate(self.rules)})

    # ----------------------------------------------------------------- loading

    @classmethod
    def from_dict(
        cls,
        data: Mapping[str, Any],
        *,
        bindings: Mapping[str, Any] | None = None,
        registry: Registry | None = None,
    ) -> EscalationPolicy:
        """Build a policy from plain data (the parsed form of a TOML policy file).

        See :func:`promisekit.escalation.policy_from_dict`.

        .. versionadded:: 0.1.0
        """
        from promisekit.escalation._config import policy_from_dict

        return policy_from_dict(data, bindings=bindings, registry=registry)

    @classmethod
    def from_toml(
        cls,
        source: str | PathLike[str],
        *,
        bindings: Mapping[str, Any] | None = None,
        registry: Registry | None = None,
    ) -> EscalationPolicy:
        """Build a policy from TOML text or a ``.toml`` file path.

        See :func:`promisekit.escalation.policy_from_toml`.

        .. versionadded:: 0.1.0
        """
        from promisekit.escalation._config import policy_from_toml

        return policy_from_toml(source, bindings=bindings, registry=registry)

    @classmethod
    def ready(cls, name: str, *, bindings: Mapping[str, Any] | None = None) -> EscalationPolicy:
        """One of the policies shipped with promisekit (see :func:`ready_policies`).

        .. versionadded:: 0.1.0
        """
        from promisekit.escalation._config import ready_policy

        return ready_policy(name, bindings=bindings)

    def to_dict(self) -> dict[str, Any]:
        """The policy in the policy-file form (for triggers and actions that have one).

        .. versionadded:: 0.1.0
        """
        data: dict[str, Any] = {}
        if self.name is not None:
            data["name"] = self.name
        if self.description is not None:
            data["description"] = self.description
        data["rules"] = [rule.to_dict() for rule in self.rules]
        return data

    # ----------------------------------------------------------------- evaluation

    def evaluate(
        self,
        track: TrackedPromise,
        now: datetime,
        memory: EscalationMemory | None = None,
        *,
        granted: Iterable[Grant] = (),
    ) -> Evaluation:
        """Everything that fired for ``track`` up to ``now`` since ``memory`` was taken.

        Args:
            track: The promise and its recorded events (events after ``now`` are ignored).
            now: The evaluation instant (aware).
            memory: The memory returned by the previous evaluation of this promise, or
                ``None`` for the first one (everything since ``made_at`` is evaluated).
            granted: Compensation already granted to this customer (for the caps of
                :class:`Compensate`); grants of other customers are ignored.

        Returns:
            An :class:`Evaluation`: the escalations to perform now (ordered by ``at``),
            the new memory and the next check.

        Raises:
            NaiveDatetimeError: ``now`` has no time zone.
            InconsistentRecordError: ``memory`` belongs to another promise.

        .. versionadded:: 0.1.0
        """
        if not isinstance(track, TrackedPromise):
            raise InvalidTypeError(
                f"'track' must be a TrackedPromise (got {type(track).__name__} {describe(track)})"
            )
        now_us = to_us(check_aware("now", now))
        promise_id = track.promise.id
        watermark: int | None = None
        fired_items: tuple[tuple[str, int, int, int], ...] = ()
        pending: tuple[Escalation, ...] = ()
        if memory is not None:
            if not isinstance(memory, EscalationMemory):
                raise InvalidTypeError(
                    f"'memory' must be an EscalationMemory or None "
                    f"(got {type(memory).__name__} {describe(memory)})"
                )
            if memory.promise_id != promise_id:
                raise InconsistentRecordError(
                    f"'memory' belongs to promise {describe(memory.promise_id)}, not to "
                    "the evaluated "
                    f"promise {describe(promise_id)}"
                )
            watermark, fired_items, pending = (
                memory.evaluated_until,
                memory.fired,
                memory.pending,
            )
        grants = [g for g in granted if _is_grant(g) and g.customer_id == track.promise.customer_id]
        fired: dict[tuple[str, int], tuple[int, int]] = {
            (name, rev): (count, last) for name, rev, count, last in fired_items
        }
        out, new_pending, new_grants, next_us, watermark = run(
            self, track, now_us, watermark, fired, list(pending), grants
        )
        new_memory = EscalationMemory(
            promise_id,
            watermark,
            tuple((name, rev, count, last) for (name, rev), (count, last) in fired.items()),
            tuple(new_pending),
        )
        next_check = None if next_us is None else from_us(next_us, track.zone)
        return Evaluation(tuple(out), new_memory, next_check, tuple(new_grants))

    def next_check(
        self, track: TrackedPromise, now: datetime, memory: EscalationMemory | None = None
    ) -> datetime | None:
        """The earliest instant after ``now`` at which a rule could fire, or ``None``.

        Assumes nothing new is recorded for the promise and that what fires up to ``now``
        is taken (as :meth:`evaluate` with the same arguments would). Computed in closed
        form from the triggers, never by scanning.

        .. versionadded:: 0.1.0
        """
        return self.evaluate(track, now, memory).next_check


def _is_grant(value: object) -> bool:
    if not isinstance(value, Grant):
        raise InvalidTypeError(
            f"'granted' must contain only Grant records (got {type(value).__name__} "
            f"{describe(value)})"
        )
    return True


# --------------------------------------------------------------------------- the engine


def _firings(
    rule: Rule,
    segment: Segment,
    start: int,
    stop: int,
    state: tuple[int, int] | None,
    *,
    first_only: bool = False,
) -> list[tuple[int, int]]:
    """The ``(instant, occurrence)`` firings of ``rule`` in ``[start, stop)`` of ``segment``.

    With ``first_only``, stop at the first one (``stop`` may then be ``INF``).
    """
    every = rule.every
    if every is None:
        if state is not None:
            return []
        moment = first_in(rule.when.truth(segment), start, stop)
        return [] if moment is None else [(moment, 1)]
    count, last = (0, 0) if state is None else state
    limit = rule.limit
    if limit is not None and count >= limit:
        return []
    step = td_us(every)
    if state is not None:
        start = max(start, last + step)
    if start >= stop:
        return []
    truth: Intervals = rule.when.truth(segment)
    found: list[tuple[int, int]] = []
    while start < stop:
        moment = first_in(truth, start, stop)
        if moment is None:
            break
        count += 1
        found.append((moment, count))
        if first_only or (limit is not None and count >= limit):
            break
        start = moment + step
    return found


def run(
    policy: EscalationPolicy,
    track: TrackedPromise,
    now: int,
    watermark: int | None,
    fired: dict[tuple[str, int], tuple[int, int]],
    pending: list[Escalation],
    granted: list[Grant],
) -> tuple[list[Escalation], list[Escalation], list[Grant], int | None, int | None]:
    """Evaluate ``(watermark, now]``; update ``fired`` in place.

    Returns the released escalations, the still-pending ones, the new grants, the next
    check (µs) and the new watermark.
    """
    tl = timeline(track)
    made = tl.starts[0]
    rules = policy.rules
    lo = made if watermark is None else max(watermark + 1, made)
    hi = now + 1
    zone = track.zone
    promise = track.promise
    contact = track.contact_hours
    new_watermark = max(watermark, now) if watermark is not None else None
    if watermark is None and now >= made:
        new_watermark = now
    released: list[Escalation] = []
    if lo < hi:
        firings: list[tuple[int, int, int, Segment]] = []
        for segment in tl.segments(lo, hi, as_of=now):
            if segment.paused or segment.closed:
                continue
            start, stop = max(segment.lo, lo), min(segment.hi, hi)
            if start >= stop:
                continue
            for index, rule in enumerate(rules):
                key = (rule.name, segment.revision)
                found = _firings(rule, segment, start, stop, fired.get(key))
                if found:
                    fired[key] = (found[-1][1], found[-1][0])
                    firings.extend((moment, index, occ, segment) for moment, occ in found)
        firings.sort(key=lambda item: (item[0], item[1]))
        for moment, index, occurrence, segment in firings:
            rule = rules[index]
            triggered = from_us(moment, zone)
            due = from_us(segment.due(), zone)
            proposed = _proposal(rule, track, segment, moment, triggered)
            for action in rule.actions:
                amount = None
                if isinstance(action, Compensate):
                    overdue = max(segment.clock(moment) - segment.window, 0)
                    amount = action.requested(
                        CompensationRequest(
                            track=track,
                            promise=track.promise_at(segment.revision),
                            at=triggered,
                            overdue=timedelta(microseconds=overdue),
                        )
                    )
                at = triggered
                deferred = False
                if action.customer_facing and contact is not None:
                    opening = contact.next_open(triggered)
                    if to_us(opening) > moment:
                        at = opening.astimezone(zone)
                        deferred = True
                        if _duplicate(pending, rule.name, segment.revision, action, at):
                            continue
                escalation = Escalation(
                    rule=rule.name,
                    action=action,
                    promise_id=promise.id,
                    customer_id=promise.customer_id,
                    revision=segment.revision,
                    level=rule.level,
                    occurrence=occurrence,
                    triggered_at=triggered,
                    at=at,
                    due=due,
                    proposed_due=proposed,
                    amount=amount,
                )
                if deferred:
                    pending.append(escalation)
                else:
                    released.append(escalation)
    # Release the deferred actions whose contact opening has come.
    still: list[Escalation] = []
    for escalation in pending:
        instant = to_us(escalation.at)
        if instant > now:
            still.append(escalation)
            continue
        segment_then = tl.segment_at(instant)
        if (
            segment_then is not None
            and not segment_then.closed
            and segment_then.revision == escalation.revision
        ):
            released.append(escalation)
    index_of = policy._index
    if len(released) > 1:
        released.sort(
            key=lambda e: (
                to_us(e.at),
                to_us(e.triggered_at),
                index_of.get(e.rule, len(rules)),
                _action_index(policy, e),
            )
        )
    new_grants: list[Grant] = []
    if any(isinstance(e.action, Compensate) for e in released):
        released = [_cap(e, granted, new_grants) for e in released]
    next_us = _next_check(policy, track, new_watermark, fired, still)
    # Forget what fired for revisions that can no longer be evaluated.
    current = tl.segment_at(now)
    if current is not None:
        for key in [k for k in fired if k[1] < current.revision]:
            del fired[key]
    return released, still, new_grants, next_us, new_watermark


def _action_index(policy: EscalationPolicy, escalation: Escalation) -> int:
    index = policy._index.get(escalation.rule)
    if index is None:
        return 0
    actions = policy.rules[index].actions
    return actions.index(escalation.action) if escalation.action in actions else 0


def _duplicate(
    pending: list[Escalation], rule: str, revision: int, action: Action, at: datetime
) -> bool:
    return any(
        p.rule == rule and p.revision == revision and p.action == action and p.at == at
        for p in pending
    )


def _proposal(
    rule: Rule, track: TrackedPromise, segment: Segment, moment: int, triggered: datetime
) -> datetime | None:
    for action in rule.actions:
        if isinstance(action, ProposeRevision) and action.proposer is not None:
            request = RevisionRequest(
                track=track,
                promise=track.promise_at(segment.revision),
                at=triggered,
                elapsed=timedelta(microseconds=segment.clock(moment)),
                calendar=track.calendar,
            )
            proposed = action.proposer(request)
            check_aware("proposed due", proposed)
            if to_us(proposed) < moment:
                raise InvalidValueError(
                    f"the revision proposer of rule {describe(rule.name)} must return a date not "
                    f"before the firing instant {triggered.isoformat(' ')} "
                    f"(got {proposed.isoformat(' ')})"
                )
            return proposed.astimezone(track.zone)
    return None


def _cap(escalation: Escalation, granted: list[Grant], new_grants: list[Grant]) -> Escalation:
    action = escalation.action
    if not isinstance(action, Compensate) or escalation.amount is None:
        return escalation
    amount = escalation.amount
    capped_by: str | None = None
    moment = to_us(escalation.at)
    ledger = granted + new_grants
    limits: list[tuple[str, Decimal | None, list[Grant]]] = [
        (
            "per_promise",
            action.per_promise,
            [g for g in ledger if g.promise_id == escalation.promise_id],
        ),
        ("per_customer", action.per_customer, ledger),
        (
            "per_period",
            action.per_period,
            [g for g in ledger if to_us(g.at) > moment - td_us(action.period)],
        ),
    ]
    for name, cap, grants in limits:
        if cap is None:
            continue
        room = cap - sum((g.amount for g in grants), Decimal(0))
        if room < amount:
            amount = max(room, Decimal(0))
            capped_by = name
    if amount > 0:
        new_grants.append(
            Grant(
                customer_id=escalation.customer_id,
                promise_id=escalation.promise_id,
                at=escalation.at,
                amount=amount,
                rule=escalation.rule,
                currency=action.currency,
            )
        )
    return attrs.evolve(escalation, amount=amount, capped_by=capped_by)


def _next_check(
    policy: EscalationPolicy,
    track: TrackedPromise,
    after: int | None,
    fired: Mapping[tuple[str, int], tuple[int, int]],
    pending: Iterable[Escalation],
) -> int | None:
    """The first instant ``> after`` at which a rule fires or a deferred action is due.

    Uses the whole recorded history (the last state lasting forever). Nothing fires before
    the answer, so ``fired`` holds for every segment searched.
    """
    best = INF
    for escalation in pending:
        best = min(best, to_us(escalation.at))
    tl = timeline(track)
    start = tl.starts[0] if after is None else max(after + 1, tl.starts[0])
    for segment in tl.segments(start, INF):
        if segment.lo >= best:
            break
        if segment.paused or segment.closed:
            continue
        lo = max(segment.lo, start)
        stop = min(segment.hi, best)
        for rule in policy.rules:
            state = fired.get((rule.name, segment.revision))
            found = _firings(rule, segment, lo, stop, state, first_only=True)
            if found and found[0][0] < best:
                best = found[0][0]
                stop = best
        if best < segment.hi:
            break
    return None if best >= INF else best
