"""The agenda of a promise: when each rule fires next, and advancing firing by firing.

Rules are independent: when a rule fires next depends only on the rule, the track and what
that rule already fired. So the scheduler keeps, per promise, the next firing instant of
every rule (its *agenda*), computed in closed form over the whole recorded history. When the
promise's next check comes, :func:`advance_fast` takes the firings in order — the earliest
rule first, ties by rule order, exactly as :func:`._engine.run` orders them — and recomputes
the agenda of the rules that fired only, instead of evaluating every rule over the span and
then every rule again for the next check. The result is identical to :func:`._engine.run`
(the property tests compare them); when it would not be simple to keep so — a
customer-facing action deferred to contact hours — it declines and the scheduler uses
:func:`._engine.run`.

Imports :mod:`._engine` (the firing and release helpers), :mod:`._records`,
:mod:`._rules`, :mod:`._timeline`, :mod:`._track` and :mod:`._time`.
"""

from __future__ import annotations

from collections.abc import Iterable

from promisekit.escalation._engine import RuleFailure, _cap, _failed, _firings, _release
from promisekit.escalation._records import Escalation, Grant
from promisekit.escalation._rules import Rule
from promisekit.escalation._time import INF
from promisekit.escalation._timeline import Segment, Timeline

__all__ = ["advance_fast", "agenda_us", "next_firing_us"]

Fired = dict[tuple[str, int], tuple[int, int]]


def _first_firing(
    rule: Rule,
    tl: Timeline,
    indices: Iterable[int],
    start: int,
    fired: Fired,
    built: dict[int, Segment],
) -> int:
    """The first instant ``>= start`` at which ``rule`` fires in the segments ``indices``.

    ``built`` caches the segments built so far (shared by the rules of one agenda).
    """
    name = rule.name
    once = rule.every is None
    for index in indices:
        state = fired.get((name, tl.revision_of(index)))
        if once and state is not None:
            continue  # fired once in this revision: nothing more (no segment built)
        segment = built.get(index)
        if segment is None:
            segment = built[index] = tl.segment(index)
        lo = segment.lo if segment.lo > start else start
        try:
            found = _firings(rule, segment, lo, segment.hi, state, first_only=True)
        except Exception as exc:
            raise _failed(rule, None, exc) from exc
        if found:
            return found[0][0]
    return INF


def _open_indices(tl: Timeline, start: int) -> list[int]:
    """The segments overlapping ``[start, INF)`` where rules may fire (not paused, open)."""
    return [index for index in tl.open_from(start) if tl.is_open(index)]


def next_firing_us(rule: Rule, tl: Timeline, start: int, fired: Fired) -> int:
    """The first instant ``>= start`` at which ``rule`` fires, over the whole recorded
    history (the last state lasting forever); INF: never.

    An exception raised by the trigger escapes as a :class:`RuleFailure`.
    """
    return _first_firing(rule, tl, _open_indices(tl, start), start, fired, {})


def agenda_us(
    rules: tuple[Rule, ...], tl: Timeline, after: int | None, fired: Fired
) -> tuple[int, ...]:
    """Per rule, the first instant ``> after`` (``None``: from ``made_at``) it fires; INF: never.

    The same as :func:`next_firing_us` for each rule, with each segment built once.
    """
    first = tl.starts[0]
    start = first if after is None or after < first else after + 1
    indices = _open_indices(tl, start)
    built: dict[int, Segment] = {}
    return tuple(_first_firing(rule, tl, indices, start, fired, built) for rule in rules)


def advance_fast(
    rules: tuple[Rule, ...],
    tl: Timeline,
    now: int,
    agenda: tuple[int, ...],
    fired: Fired,
    granted: list[Grant],
    plan: tuple[tuple[bool, bool], ...],
) -> tuple[list[Escalation], list[Grant], tuple[int, ...]] | None:
    """Every firing up to ``now``, in order, from the agenda; update ``fired`` in place.

    ``plan`` is :func:`._engine.features` of ``rules``. Returns the released escalations
    (in the order :func:`._engine.run` releases them), the new grants and the new agenda
    (every instant ``> now``) — or ``None`` when an action would wait for contact hours
    (then nothing was released: use ``run``, with a fresh copy of ``fired``). Exceptions
    escape as :class:`RuleFailure`, as from ``run``.
    """
    track = tl.track
    released: list[Escalation] = []
    pending: list[Escalation] = []
    times = list(agenda)
    moment = min(times)
    compensates = False
    while moment <= now:
        index = times.index(moment)  # ties: the first rule in policy order
        rule = rules[index]
        segment = tl.segment_at(moment)
        assert segment is not None
        key = (rule.name, segment.revision)
        state = fired.get(key)
        occurrence = 1 if state is None else state[0] + 1
        proposes, compensating = plan[index]
        try:
            _release(rule, track, segment, moment, occurrence, pending, released, proposes=proposes)
        except Exception as exc:
            raise _failed(rule, None, exc) from exc
        if pending:
            return None  # deferred to contact hours: the general evaluation handles it
        fired[key] = (occurrence, moment)
        compensates = compensates or compensating
        if rule.every is None and segment.hi >= INF:
            times[index] = INF  # fired once in the last revision, which lasts forever
        else:
            times[index] = next_firing_us(rule, tl, moment + 1, fired)
        moment = min(times)
    new_grants: list[Grant] = []
    if compensates:
        capped: list[Escalation] = []
        for escalation in released:
            try:
                capped.append(_cap(escalation, granted, new_grants))
            except Exception as exc:
                name = type(escalation.action).__name__
                raise RuleFailure(escalation.rule, name, exc) from exc
        released = capped
    # Forget what fired for revisions that can no longer be evaluated.
    current = tl.revision_at(now)
    if current:
        for key in [k for k in fired if k[1] < current]:
            del fired[key]
    return released, new_grants, tuple(times)
