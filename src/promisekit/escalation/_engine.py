"""The evaluation engine: pure, idempotent, exact to the instant.

``evaluate(rules, track, now, memory)`` returns every escalation whose trigger became true in
``(memory.evaluated_until, now]`` — at the instant it became true — and a new
:class:`EscalationMemory`. Evaluation is pure: the memory (what fired, for which revision, and
the customer-facing actions waiting for contact hours) is passed in and returned, never kept
anywhere. Because every trigger knows the exact instant it becomes true within each span
of constant recorded state (a :class:`~._timeline.Segment`), evaluating at any sequence of
times yields exactly the escalations of a continuous evaluation.

The engine takes rules and never reads configuration: it imports :mod:`._rules`,
:mod:`._records`, :mod:`._timeline`, :mod:`._intervals`, :mod:`._actions`, :mod:`._track`
and :mod:`._time`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from decimal import Decimal

import attrs

from promisekit._validation import check_aware, describe
from promisekit.errors import InconsistentRecordError, InvalidTypeError, InvalidValueError
from promisekit.escalation._actions import (
    Action,
    Compensate,
    CompensationRequest,
    ProposeRevision,
    RevisionRequest,
)
from promisekit.escalation._intervals import Intervals, first_in
from promisekit.escalation._records import Escalation, EscalationMemory, Evaluation, Grant
from promisekit.escalation._rules import Rule
from promisekit.escalation._time import INF, from_us, td_us, to_us
from promisekit.escalation._timeline import Segment, timeline
from promisekit.escalation._track import TrackedPromise

__all__ = ["RuleFailure", "evaluate", "features", "next_check_us", "run"]

Rules = tuple[Rule, ...]


class RuleFailure(Exception):
    """An exception escaped while a rule was evaluated: which rule, which action, and why.

    Private to the package: :func:`run` and :func:`next_check_us` raise it (chained from
    the original error) so the scheduler can name the rule in its failure records;
    :func:`evaluate` re-raises the original error (with a note naming the rule, on Python
    3.11+), so the public behaviour of ``EscalationPolicy.evaluate`` is unchanged.
    """

    def __init__(self, rule: str | None, action: str | None, error: Exception) -> None:
        super().__init__(rule, action, error)
        self.rule = rule
        self.action = action
        self.error = error

    def where(self) -> str:
        """``"rule 'late', action Compensate"`` (the parts that are known), or ``""``."""
        parts = []
        if self.rule is not None:
            parts.append(f"rule {describe(self.rule)}")
        if self.action is not None:
            parts.append(f"action {self.action}")
        return ", ".join(parts)


def _failed(rule: Rule, action: Action | None, error: Exception) -> RuleFailure:
    if isinstance(error, RuleFailure):
        return error
    return RuleFailure(rule.name, None if action is None else type(action).__name__, error)


def evaluate(
    rules: Rules,
    track: TrackedPromise,
    now: datetime,
    memory: EscalationMemory | None,
    granted: Iterable[Grant],
) -> Evaluation:
    """Everything that fired for ``track`` up to ``now`` since ``memory`` was taken.

    See :meth:`EscalationPolicy.evaluate <._policy.EscalationPolicy.evaluate>`.
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
    failure: RuleFailure | None = None
    try:
        out, new_pending, new_grants, next_us, watermark = run(
            rules, track, now_us, watermark, fired, list(pending), grants
        )
    except RuleFailure as caught:
        failure = caught
    if failure is not None:
        # The original error, as before; on Python 3.11+ with a note naming the rule.
        error = failure.error
        add_note = getattr(error, "add_note", None)
        if add_note is not None:
            add_note(f"while evaluating promise {describe(promise_id)}, {failure.where()}")
        raise error
    new_memory = EscalationMemory(
        promise_id,
        watermark,
        tuple((name, rev, count, last) for (name, rev), (count, last) in fired.items()),
        tuple(new_pending),
    )
    next_check = None if next_us is None else from_us(next_us, track.zone)
    return Evaluation(tuple(out), new_memory, next_check, tuple(new_grants))


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
    rules: Rules,
    track: TrackedPromise,
    now: int,
    watermark: int | None,
    fired: dict[tuple[str, int], tuple[int, int]],
    pending: list[Escalation],
    granted: list[Grant],
) -> tuple[list[Escalation], list[Escalation], list[Grant], int | None, int | None]:
    """Evaluate ``(watermark, now]``; update ``fired`` in place.

    Returns the released escalations, the still-pending ones, the new grants, the next
    check (µs) and the new watermark. An exception raised while a rule is evaluated (its
    trigger, a proposer, a compensation policy, a calendar) escapes as a
    :class:`RuleFailure` naming the rule and, when known, the action; ``fired`` may then be
    partly updated, so callers that roll back pass a copy.
    """
    tl = timeline(track)
    made = tl.starts[0]
    lo = made if watermark is None else max(watermark + 1, made)
    hi = now + 1
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
                try:
                    found = _firings(rule, segment, start, stop, fired.get(key))
                except Exception as exc:
                    raise _failed(rule, None, exc) from exc
                if found:
                    fired[key] = (found[-1][1], found[-1][0])
                    firings.extend((moment, index, occ, segment) for moment, occ in found)
        firings.sort(key=lambda item: (item[0], item[1]))
        for moment, index, occurrence, segment in firings:
            rule = rules[index]
            try:
                _release(rule, track, segment, moment, occurrence, pending, released)
            except Exception as exc:
                raise _failed(rule, None, exc) from exc
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
    if len(released) > 1:
        index_of = {rule.name: i for i, rule in enumerate(rules)}
        released.sort(
            key=lambda e: (
                to_us(e.at),
                to_us(e.triggered_at),
                index_of.get(e.rule, len(rules)),
                _action_index(rules, index_of, e),
            )
        )
    new_grants: list[Grant] = []
    if any(isinstance(e.action, Compensate) for e in released):
        capped: list[Escalation] = []
        for escalation in released:
            try:
                capped.append(_cap(escalation, granted, new_grants))
            except Exception as exc:
                name = type(escalation.action).__name__
                raise RuleFailure(escalation.rule, name, exc) from exc
        released = capped
    next_us = next_check_us(rules, track, new_watermark, fired, still)
    # Forget what fired for revisions that can no longer be evaluated.
    current = tl.segment_at(now)
    if current is not None:
        for key in [k for k in fired if k[1] < current.revision]:
            del fired[key]
    return released, still, new_grants, next_us, new_watermark


def _release(
    rule: Rule,
    track: TrackedPromise,
    segment: Segment,
    moment: int,
    occurrence: int,
    pending: list[Escalation],
    released: list[Escalation],
    *,
    proposes: bool = True,
) -> None:
    """Turn one firing of ``rule`` into escalations: released now, or pending contact hours.

    ``proposes=False`` says the rule has no :class:`ProposeRevision` with a proposer (the
    caller knows it). An exception raised by a proposer or a compensation policy escapes
    as a :class:`RuleFailure` naming the rule and the action.
    """
    zone = track.zone
    promise = track.promise
    contact = track.contact_hours
    triggered = from_us(moment, zone)
    due = from_us(segment.due(), zone)
    proposed = _proposal(rule, track, segment, moment, triggered) if proposes else None
    for action in rule.actions:
        try:
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
        except Exception as exc:
            raise _failed(rule, action, exc) from exc


def _action_index(rules: Rules, index_of: Mapping[str, int], escalation: Escalation) -> int:
    index = index_of.get(escalation.rule)
    if index is None:
        return 0
    actions = rules[index].actions
    return actions.index(escalation.action) if escalation.action in actions else 0


def _duplicate(
    pending: list[Escalation], rule: str, revision: int, action: Action, at: datetime
) -> bool:
    return any(
        p.rule == rule and p.revision == revision and p.action == action and p.at == at
        for p in pending
    )


def features(rules: Rules) -> tuple[tuple[bool, bool], ...]:
    """Per rule: whether it proposes a date (a proposer), whether it compensates."""
    return tuple(
        (
            any(isinstance(a, ProposeRevision) and a.proposer is not None for a in r.actions),
            any(isinstance(a, Compensate) for a in r.actions),
        )
        for r in rules
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
            try:
                proposed = action.proposer(request)
                check_aware("proposed due", proposed)
                if to_us(proposed) < moment:
                    raise InvalidValueError(
                        f"the revision proposer of rule {describe(rule.name)} must return a "
                        f"date not before the firing instant {triggered.isoformat(' ')} "
                        f"(got {proposed.isoformat(' ')})"
                    )
            except Exception as exc:
                raise _failed(rule, action, exc) from exc
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


def next_check_us(
    rules: Rules,
    track: TrackedPromise,
    after: int | None,
    fired: Mapping[tuple[str, int], tuple[int, int]],
    pending: Iterable[Escalation],
) -> int | None:
    """The first instant ``> after`` at which a rule fires or a deferred action is due.

    Uses the whole recorded history (the last state lasting forever). Nothing fires before
    the answer, so ``fired`` holds for every segment searched. An exception raised by a
    trigger escapes as a :class:`RuleFailure` naming the rule.
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
        for rule in rules:
            state = fired.get((rule.name, segment.revision))
            try:
                found = _firings(rule, segment, lo, stop, state, first_only=True)
            except Exception as exc:
                raise _failed(rule, None, exc) from exc
            if found and found[0][0] < best:
                best = found[0][0]
                stop = best
        if best < segment.hi:
            break
    return None if best >= INF else best
