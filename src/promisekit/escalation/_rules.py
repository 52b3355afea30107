"""Rules: a trigger, actions, a level and how often.

Imports :mod:`._triggers` (the base class), :mod:`._actions` and :mod:`._time`.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from typing import Any

import attrs

from promisekit._validation import check_non_empty_str, describe
from promisekit.errors import InvalidTypeError, InvalidValueError
from promisekit.escalation._actions import Action
from promisekit.escalation._time import format_duration
from promisekit.escalation._triggers import Trigger

__all__ = ["MAX_LEVEL", "MAX_LIMIT", "Rule"]

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
