"""One firing of a rule: its actions grouped by firing and numbered within the rule."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from promisekit.escalation import Escalation

__all__ = ["action_index", "firings"]


def firings(escalations: list[Escalation]) -> list[list[Escalation]]:
    """Group the escalations of one advance by firing (promise, revision, rule, occurrence)."""
    groups: dict[tuple[str, int, str, int, datetime], list[Escalation]] = {}
    for escalation in escalations:
        key = (
            escalation.promise_id,
            escalation.revision,
            escalation.rule,
            escalation.occurrence,
            escalation.triggered_at,
        )
        groups.setdefault(key, []).append(escalation)
    return list(groups.values())


def action_index(actions: Iterable[Any], escalation: Escalation, seen: dict[str, int]) -> int:
    """The action's position in its rule (the n-th equal action for repeats)."""
    matches = [i for i, action in enumerate(actions) if action == escalation.action]
    name = repr(escalation.action)
    n = seen.get(name, 0)
    seen[name] = n + 1
    if n < len(matches):
        return matches[n]
    return len(tuple(actions)) + n  # not found (a plugin action that compares unequal)
