"""Declarative policies: a dict/TOML form, a tiny condition language and a name registry.

A policy file lists rules; each rule says **when** (a condition) and what to **do**::

    name = "ladder"

    [compensation]            # caps for every "compensate" action
    per_promise = "20.00"
    per_customer = "50.00"

    [[rules]]
    name = "half-time"
    when = "elapsed >= 50%"
    do = ["notify_owner"]
    level = 1

    [[rules]]
    name = "breach"
    when = "overdue > 4h or (revised >= 2 and remaining <= 2h)"
    do = ["notify_customer:delay", "escalate:manager"]
    level = 2
    every = "4h"              # repeat while true (default: once per revision)

Conditions are ``NAME OP VALUE`` comparisons (or a bare ``NAME``) combined with ``and``,
``or``, ``not`` and parentheses. Names resolve through a :class:`Registry` — no ``eval``,
no code. Objects that cannot be written in a file (a capability, a predictor, a revision
proposer) are passed as ``bindings``. Every mistake raises :class:`PolicyConfigError`
naming the rule and the field.

This module reads a policy into rules (:func:`read_policy`); :class:`EscalationPolicy
<._policy.EscalationPolicy>`, one level up, turns them into a policy. Imports
:mod:`._condition`, :mod:`._registry`, :mod:`._rules` and :mod:`._time`.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

import attrs

from promisekit._validation import describe, describe_names
from promisekit.errors import InvalidValueError, MissingDependencyError, PromiseKitError
from promisekit.escalation._actions import Action
from promisekit.escalation._condition import parse_condition

# The built-in factories live in ._factories (the entry points of pyproject.toml name them
# there); an install whose metadata predates the move names them here, so they stay
# importable from this module until every environment is reinstalled.
from promisekit.escalation._factories import (  # noqa: F401
    _at_risk,
    _buffer_zone,
    _compensate,
    _elapsed,
    _escalate,
    _notify_customer,
    _notify_owner,
    _overdue,
    _propose,
    _remaining,
    _revised,
    _satisfaction,
    _silence,
)
from promisekit.escalation._registry import DEFAULT_REGISTRY, Registry, find_action
from promisekit.escalation._rules import MAX_LEVEL, MAX_LIMIT, Rule
from promisekit.escalation._time import parse_duration

__all__ = [
    "PolicyConfigError",
    "PolicySpec",
    "load_toml",
    "read_policy",
    "read_source",
    "ready_policies",
    "ready_policy_text",
]


class PolicyConfigError(InvalidValueError):
    """A policy definition is wrong; the message names the rule and the field.

    Attributes:
        rule: Name (or ``#index``) of the rule at fault, or ``None`` for a policy field.
        field: The field at fault (``"when"``, ``"do"``, ``"level"``…).

    .. versionadded:: 0.1.0
    """

    def __init__(self, message: str, *, rule: str | None = None, field: str | None = None):
        self.rule = rule
        self.field = field
        where = []
        if rule is not None:
            where.append(f"rule {describe(rule)}")
        if field is not None:
            where.append(f"field {describe(field)}")
        prefix = ", ".join(where)
        super().__init__(f"{prefix}: {message}" if prefix else message)


# --------------------------------------------------------------------------- policies


_POLICY_KEYS = {"name", "description", "compensation", "rules"}
_RULE_KEYS = {"name", "when", "do", "level", "every", "limit", "description"}


def _action(text: object, registry: Registry, bindings: Mapping[str, Any], rule: str) -> Action:
    if not isinstance(text, str) or not text.strip():
        raise PolicyConfigError(
            f"each action must be a non-empty string such as 'notify_owner' or "
            f"'escalate:manager' (got {type(text).__name__} {describe(text)})",
            rule=rule,
            field="do",
        )
    name, _, argument = text.strip().partition(":")
    key = name.strip().lower()
    factory = find_action(registry, key)
    if factory is None:
        known = ", ".join(sorted(registry.actions))
        raise PolicyConfigError(
            f"unknown action {describe(name)} (expected one of: {known})", rule=rule, field="do"
        )
    try:
        action = factory(argument.strip() or None, bindings)
    except (PromiseKitError, TypeError, ValueError) as exc:
        raise PolicyConfigError(f"{describe(text)}: {exc}", rule=rule, field="do") from exc
    if not isinstance(action, Action):
        raise PolicyConfigError(
            f"the factory of action {describe(name)} returned {type(action).__name__}, "
            "not an Action",
            rule=rule,
            field="do",
        )
    return action


def _rule(
    index: int,
    data: object,
    registry: Registry,
    bindings: Mapping[str, Any],
    previous_level: int | None,
) -> Rule:
    label = f"#{index + 1}"
    if not isinstance(data, Mapping):
        raise PolicyConfigError(
            f"must be a table with 'name', 'when' and 'do' (got {type(data).__name__} "
            f"{describe(data)})",
            rule=label,
        )
    name = data.get("name")
    if not isinstance(name, str) or not name.strip():
        raise PolicyConfigError(
            f"must be a non-empty string (got {describe(name)})", rule=label, field="name"
        )
    unknown = sorted(set(data) - _RULE_KEYS)
    if unknown:
        raise PolicyConfigError(
            f"unknown field(s) {describe_names(unknown)} "
            f"(expected: {', '.join(sorted(_RULE_KEYS))})",
            rule=name,
            field=unknown[0],
        )
    when = data.get("when")
    if when is None:
        raise PolicyConfigError(
            "is required (a condition such as 'elapsed >= 50%')", rule=name, field="when"
        )
    if not isinstance(when, str):
        raise PolicyConfigError(
            f"must be a string condition (got {type(when).__name__} {describe(when)})",
            rule=name,
            field="when",
        )
    try:
        trigger = parse_condition(when, bindings=bindings, registry=registry)
    except PromiseKitError as exc:
        raise PolicyConfigError(str(exc), rule=name, field="when") from exc
    do = data.get("do")
    if isinstance(do, str):
        do = [do]
    if not isinstance(do, list) or not do:
        raise PolicyConfigError(
            f"must be a non-empty list of actions such as ['notify_owner'] (got {describe(do)})",
            rule=name,
            field="do",
        )
    actions = [_action(item, registry, bindings, name) for item in do]
    level = data.get("level", 1)
    if isinstance(level, bool) or not isinstance(level, int) or not 1 <= level <= MAX_LEVEL:
        raise PolicyConfigError(
            f"must be a whole number >= 1 and <= {MAX_LEVEL} (got {describe(level)})",
            rule=name,
            field="level",
        )
    if previous_level is not None and level < previous_level:
        raise PolicyConfigError(
            f"levels must not decrease along the policy: expected >= {previous_level} "
            f"(the previous rule's level), got {describe(level)}",
            rule=name,
            field="level",
        )
    every = data.get("every")
    every_td = None
    if every is not None:
        if not isinstance(every, str):
            raise PolicyConfigError(
                f"must be a duration string such as '4h' (got {describe(every)})",
                rule=name,
                field="every",
            )
        try:
            every_td = parse_duration(every)
        except PromiseKitError as exc:
            raise PolicyConfigError(str(exc), rule=name, field="every") from exc
        if not every_td:
            raise PolicyConfigError(
                f"must be a positive duration (got {describe(every)})", rule=name, field="every"
            )
    limit = data.get("limit")
    if limit is not None and (
        isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT
    ):
        raise PolicyConfigError(
            f"must be a whole number >= 1 and <= {MAX_LIMIT} (got {describe(limit)})",
            rule=name,
            field="limit",
        )
    if limit is not None and every is None:
        raise PolicyConfigError(
            "needs 'every' (a rule without 'every' fires once per revision)",
            rule=name,
            field="limit",
        )
    return Rule(name, trigger, actions, level=level, every=every_td, limit=limit)


@attrs.frozen
class PolicySpec:
    """A policy as read from a file: its rules, name and description."""

    rules: tuple[Rule, ...]
    name: str | None
    description: str | None


def read_policy(
    data: Mapping[str, Any],
    *,
    bindings: Mapping[str, Any] | None = None,
    registry: Registry | None = None,
) -> PolicySpec:
    """Read a policy's plain data into rules (see :func:`~._policy.policy_from_dict`).

    Raises:
        PolicyConfigError: Anything wrong, with the rule and the field named.
    """
    registry = registry or DEFAULT_REGISTRY
    if not isinstance(registry, Registry):
        raise PolicyConfigError(f"must be a Registry (got {describe(registry)})", field="registry")
    if not isinstance(data, Mapping):
        raise PolicyConfigError(
            f"a policy must be a table (got {type(data).__name__} {describe(data)})", field="policy"
        )
    unknown = sorted(set(data) - _POLICY_KEYS)
    if unknown:
        raise PolicyConfigError(
            f"unknown policy field(s) {describe_names(unknown)} "
            f"(expected: {', '.join(sorted(_POLICY_KEYS))})",
            field=unknown[0],
        )
    context = dict(bindings or {})
    compensation = data.get("compensation")
    if compensation is not None:
        if not isinstance(compensation, Mapping):
            raise PolicyConfigError(
                f"must be a table of caps (got {describe(compensation)})", field="compensation"
            )
        caps = dict(compensation)
        period = caps.get("period")
        if isinstance(period, str):
            try:
                caps["period"] = parse_duration(period)
            except PromiseKitError as exc:
                raise PolicyConfigError(f"'period': {exc}", field="compensation") from exc
        context["compensation"] = caps
    rules_data = data.get("rules")
    if not isinstance(rules_data, list) or not rules_data:
        raise PolicyConfigError(
            "must be a non-empty list of rule tables ([[rules]] in TOML) (got "
            f"{describe(rules_data)})",
            field="rules",
        )
    rules: list[Rule] = []
    names: set[str] = set()
    for index, item in enumerate(rules_data):
        rule = _rule(index, item, registry, context, rules[-1].level if rules else None)
        if rule.name in names:
            raise PolicyConfigError(
                "must be unique in the policy (got it twice)", rule=rule.name, field="name"
            )
        names.add(rule.name)
        rules.append(rule)
    name = data.get("name")
    description = data.get("description")
    for field, value in (("name", name), ("description", description)):
        if value is not None and (not isinstance(value, str) or not value.strip()):
            raise PolicyConfigError(
                f"must be a non-empty string (got {describe(value)})", field=field
            )
    return PolicySpec(tuple(rules), name, description)


def load_toml(text: str) -> dict[str, Any]:
    if sys.version_info >= (3, 11):
        import tomllib

        parser: Any = tomllib
    else:  # pragma: no cover - exercised on Python 3.10 only
        try:
            parser = importlib.import_module("tomli")
        except ImportError:
            raise MissingDependencyError(
                "tomli", "toml", "Reading TOML policies on Python 3.10"
            ) from None
    try:
        result: dict[str, Any] = parser.loads(text)
    except ValueError as exc:  # tomllib.TOMLDecodeError subclasses ValueError
        raise PolicyConfigError(f"not valid TOML: {exc}", field="toml") from exc
    except RecursionError:
        raise PolicyConfigError("not valid TOML: nested too deeply", field="toml") from None
    return result


def read_source(source: str | os.PathLike[str], what: str = "policy file") -> str:
    """The TOML text of ``source``: the text itself, or a file (a path, or ``"*.toml"``);
    ``what`` names the file in errors.

    Raises:
        PolicyConfigError: The file cannot be read, or ``source`` is neither.
    """
    if isinstance(source, os.PathLike) or (
        isinstance(source, str) and "\n" not in source and source.strip().endswith(".toml")
    ):
        path = Path(source)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise PolicyConfigError(
                f"cannot read the {what} {describe(str(path))}: {exc.strerror}",
                field="source",
            ) from exc
        except UnicodeDecodeError as exc:
            raise PolicyConfigError(
                f"the {what} {describe(str(path))} is not valid UTF-8 "
                f"(byte {exc.start}: {exc.reason})",
                field="source",
            ) from None
    elif isinstance(source, str):
        text = source
    else:
        raise PolicyConfigError(
            f"must be TOML text or a path (got {type(source).__name__} {describe(source)})",
            field="source",
        )
    return text


def ready_policies() -> tuple[str, ...]:
    """Names of the policies shipped with promisekit.

    * ``"servicenow-ladder"`` — notify at 50 %, escalate at 75 %, breach at 100 % of the
      window (the common helpdesk SLA ladder).
    * ``"fever-chart"`` — Critical Chain buffer management (yellow: plan, red: act).
    * ``"inform-early"`` — tell the customer as soon as the promise is at risk, keep them
      informed, apologize and compensate (capped) when broken. Needs a ``capability``.

    .. versionadded:: 0.1.0
    """
    folder = resources.files("promisekit.escalation") / "policies"
    return tuple(sorted(item.name[:-5] for item in folder.iterdir() if item.name.endswith(".toml")))


def ready_policy_text(name: str) -> str:
    """The TOML text of a shipped policy (see :func:`ready_policies`).

    Raises:
        PolicyConfigError: No such policy.
    """
    names = ready_policies()
    if name not in names:
        raise PolicyConfigError(
            f"unknown ready policy {describe(name)} (expected one of: {', '.join(names)})",
            field="name",
        )
    folder = resources.files("promisekit.escalation") / "policies"
    return (folder / f"{name}.toml").read_text(encoding="utf-8")
