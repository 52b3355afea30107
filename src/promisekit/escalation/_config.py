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
"""

from __future__ import annotations

import importlib
import os
import re
import sys
from collections.abc import Callable, Mapping
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Any

import attrs

from promisekit._validation import describe
from promisekit.errors import InvalidValueError, MissingDependencyError, PromiseKitError
from promisekit.escalation._actions import (
    Action,
    CapabilityProposer,
    Compensate,
    EscalateTo,
    NotifyCustomer,
    NotifyOwner,
    ProposeRevision,
)
from promisekit.escalation._clock_triggers import (
    AtRisk,
    BufferZone,
    Elapsed,
    OverdueBy,
    Remaining,
    Silence,
)
from promisekit.escalation._engine import MAX_LEVEL, MAX_LIMIT, EscalationPolicy, Rule
from promisekit.escalation._state_triggers import LEVEL_NAMES, PredictedDissatisfaction, Revised
from promisekit.escalation._time import parse_duration
from promisekit.escalation._triggers import AllOf, AnyOf, Not, Trigger

__all__ = [
    "DEFAULT_REGISTRY",
    "ActionFactory",
    "PolicyConfigError",
    "Registry",
    "TriggerFactory",
    "parse_condition",
    "policy_from_dict",
    "policy_from_toml",
    "ready_policies",
    "ready_policy",
    "register_action",
    "register_trigger",
]

#: ``factory(op, value, bindings) -> Trigger``: ``op`` is ``">="``, ``"<="``, ``">"``,
#: ``"<"``, ``"=="`` or ``None`` for a bare name; ``value`` the raw value text or ``None``.
TriggerFactory = Callable[[str | None, str | None, Mapping[str, Any]], Trigger]
#: ``factory(argument, bindings) -> Action``: ``argument`` is the text after ``":"`` or
#: ``None``. ``bindings["compensation"]`` holds the policy's ``[compensation]`` table.
ActionFactory = Callable[[str | None, Mapping[str, Any]], Action]


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
            where.append(f"field {field!r}")
        prefix = ", ".join(where)
        super().__init__(f"{prefix}: {message}" if prefix else message)


# --------------------------------------------------------------------------- registry

_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


def _check_registry_name(kind: str, name: object) -> str:
    if not isinstance(name, str) or not _NAME.match(name):
        raise InvalidValueError(
            f"a {kind} name must be lowercase letters, digits and '_', starting with a "
            f"letter (got {describe(name)})"
        )
    return name


@attrs.define
class Registry:
    """Names usable in policy files, mapped to the factories that build them.

    The built-in triggers and actions are registered in :data:`DEFAULT_REGISTRY`; a plugin
    registry feeds it through :func:`register_trigger` and :func:`register_action`.

    .. versionadded:: 0.1.0
    """

    triggers: dict[str, TriggerFactory] = attrs.field(factory=dict)
    actions: dict[str, ActionFactory] = attrs.field(factory=dict)

    def register_trigger(
        self, name: str, factory: TriggerFactory, *, replace: bool = False
    ) -> None:
        """Make ``name`` usable in conditions (``name >= value``).

        Raises:
            InvalidValueError: The name is malformed, or taken and ``replace`` is false.

        .. versionadded:: 0.1.0
        """
        _check_registry_name("trigger", name)
        if name in _KEYWORDS:
            raise InvalidValueError(f"{describe(name)} is a keyword of the condition language")
        if not callable(factory):
            raise InvalidValueError(f"the factory of trigger {describe(name)} must be callable")
        if name in self.triggers and not replace:
            raise InvalidValueError(
                f"trigger {describe(name)} is already registered (pass replace=True to replace it)"
            )
        self.triggers[name] = factory

    def register_action(self, name: str, factory: ActionFactory, *, replace: bool = False) -> None:
        """Make ``name`` (or ``name:argument``) usable in ``do`` lists.

        Raises:
            InvalidValueError: The name is malformed, or taken and ``replace`` is false.

        .. versionadded:: 0.1.0
        """
        _check_registry_name("action", name)
        if not callable(factory):
            raise InvalidValueError(f"the factory of action {describe(name)} must be callable")
        if name in self.actions and not replace:
            raise InvalidValueError(
                f"action {describe(name)} is already registered (pass replace=True to replace it)"
            )
        self.actions[name] = factory

    def copy(self) -> Registry:
        """An independent copy (to add names for one policy only).

        .. versionadded:: 0.1.0
        """
        return Registry(dict(self.triggers), dict(self.actions))


def _plugin(group: str, name: str) -> Any:
    """A factory installed through :mod:`promisekit.plugins` (entry point or ``register()``)."""
    from promisekit import plugins

    return plugins.load(group, name) if name in plugins.available(group) else None


# --------------------------------------------------------------------------- value parsing


def _percent(name: str, value: str | None) -> float:
    if value is None or not value.endswith("%"):
        raise InvalidValueError(
            f"{describe(name)} needs a percentage such as '50%' (got {value or 'nothing'!r})"
        )
    try:
        number = float(value[:-1])
    except ValueError:
        raise InvalidValueError(
            f"{describe(name)} needs a percentage such as '50%' (got {describe(value)})"
        ) from None
    if not 0 < number <= 100:
        raise InvalidValueError(
            f"{describe(name)} needs a percentage above 0% and at most 100% (got {describe(value)})"
        )
    return number / 100


def _duration(name: str, value: str | None) -> Any:
    if value is None:
        raise InvalidValueError(f"{name!r} needs a duration such as '2h' (got nothing)")
    try:
        return parse_duration(value)
    except InvalidValueError as exc:
        raise InvalidValueError(f"{name!r}: {exc}") from None


def _ops(name: str, op: str | None, allowed: tuple[str, ...], bare: bool = False) -> None:
    if op is None and bare:
        return
    if op not in allowed:
        got = "no comparison" if op is None else repr(op)
        raise InvalidValueError(
            f"{describe(name)} must be compared with "
            f"{' or '.join(repr(a) for a in allowed)} (got {got})"
        )


def _binding(name: str, bindings: Mapping[str, Any], key: str) -> Any:
    if key not in bindings:
        raise InvalidValueError(
            f"{describe(name)} needs the binding {describe(key)}: pass "
            f"bindings={{{describe(key)}: ...}} when loading "
            f"the policy (got bindings for {sorted(set(bindings) - {'compensation'}) or 'nothing'})"
        )
    return bindings[key]


def _elapsed(op: str | None, value: str | None, bindings: Mapping[str, Any]) -> Trigger:
    _ops("elapsed", op, (">=", ">"))
    return Elapsed(_percent("elapsed", value))


def _remaining(op: str | None, value: str | None, bindings: Mapping[str, Any]) -> Trigger:
    _ops("remaining", op, ("<=", "<"))
    return Remaining(_duration("remaining", value))


def _overdue(op: str | None, value: str | None, bindings: Mapping[str, Any]) -> Trigger:
    _ops("overdue", op, (">=", ">"), bare=True)
    return OverdueBy(0 if op is None else _duration("overdue", value))


def _silence(op: str | None, value: str | None, bindings: Mapping[str, Any]) -> Trigger:
    _ops("silence", op, (">=", ">"))
    return Silence(_duration("silence", value))


def _at_risk(op: str | None, value: str | None, bindings: Mapping[str, Any]) -> Trigger:
    _ops("at_risk", op, (">=", ">"))
    p = _percent("at_risk", value)
    return AtRisk(p, capability=_binding("at_risk", bindings, "capability"))


def _buffer_zone(op: str | None, value: str | None, bindings: Mapping[str, Any]) -> Trigger:
    _ops("buffer_zone", op, (">=",))
    if value not in ("green", "yellow", "red"):
        raise InvalidValueError(
            f"'buffer_zone' must be compared with green, yellow or red (got {describe(value)})"
        )
    return BufferZone(value)


def _revised(op: str | None, value: str | None, bindings: Mapping[str, Any]) -> Trigger:
    _ops("revised", op, (">=", ">"), bare=True)
    if op is None:
        return Revised(1)
    if value is None or not value.isdigit() or len(value) > 6:
        raise InvalidValueError(f"'revised' needs a whole number of times (got {describe(value)})")
    times = int(value) + (1 if op == ">" else 0)
    if times < 1:
        raise InvalidValueError(f"'revised' needs at least 1 revision (got {op} {value})")
    return Revised(times)


def _satisfaction(op: str | None, value: str | None, bindings: Mapping[str, Any]) -> Trigger:
    _ops("satisfaction", op, ("<=", "<"))
    if value not in LEVEL_NAMES:
        raise InvalidValueError(
            f"'satisfaction' must be compared with a level: {', '.join(LEVEL_NAMES)} "
            f"(got {describe(value)})"
        )
    level = LEVEL_NAMES.index(value) + 1 - (1 if op == "<" else 0)
    if level < 1:
        raise InvalidValueError("'satisfaction < very_dissatisfied' can never be true")
    predictor = _binding("satisfaction", bindings, "predictor")
    return PredictedDissatisfaction(_level(level), predictor=predictor)


def _level(number: int) -> Any:
    """``promisekit.satisfaction.Level(number)`` when available, else the int."""
    try:
        module = importlib.import_module("promisekit.satisfaction")
        return module.Level(number)
    except (ImportError, AttributeError):
        return number


def _notify_owner(argument: str | None, bindings: Mapping[str, Any]) -> Action:
    return NotifyOwner(argument)


def _notify_customer(argument: str | None, bindings: Mapping[str, Any]) -> Action:
    return NotifyCustomer(argument or "progress")


def _escalate(argument: str | None, bindings: Mapping[str, Any]) -> Action:
    if not argument:
        raise InvalidValueError(
            "'escalate' needs a role or a level: 'escalate:manager' or 'escalate:2'"
        )
    return EscalateTo(int(argument) if argument.isdigit() else argument)


def _propose(argument: str | None, bindings: Mapping[str, Any]) -> Action:
    proposer = bindings.get("proposer")
    if proposer is None and "capability" in bindings:
        capability = bindings["capability"]
        if callable(getattr(capability, "residual_quantile", None)):
            proposer = CapabilityProposer(capability, bindings.get("confidence", 0.9))
    return ProposeRevision(proposer)


def _compensate(argument: str | None, bindings: Mapping[str, Any]) -> Action:
    caps = dict(bindings.get("compensation") or {})
    amount: Any
    if argument:
        try:
            amount = Decimal(argument)
        except ArithmeticError:
            raise InvalidValueError(
                "'compensate' needs an amount such as 'compensate:10.00' (got "
                f"{describe(argument)})"
            ) from None
    else:
        amount = _binding("compensate", bindings, "compensation_policy")
    period = caps.pop("period", None)
    if period is not None:
        caps["period"] = parse_duration(period) if isinstance(period, str) else period
    unknown = set(caps) - {"per_promise", "per_customer", "per_period", "period", "currency"}
    if unknown:
        raise InvalidValueError(f"unknown compensation setting(s) {sorted(unknown)}")
    return Compensate(amount, **caps)


def _default_registry() -> Registry:
    registry = Registry()
    for name, trigger in (
        ("elapsed", _elapsed),
        ("remaining", _remaining),
        ("overdue", _overdue),
        ("silence", _silence),
        ("at_risk", _at_risk),
        ("buffer_zone", _buffer_zone),
        ("revised", _revised),
        ("satisfaction", _satisfaction),
    ):
        registry.register_trigger(name, trigger)
    for name, action in (
        ("notify_owner", _notify_owner),
        ("notify_customer", _notify_customer),
        ("escalate", _escalate),
        ("propose_revision", _propose),
        ("compensate", _compensate),
    ):
        registry.register_action(name, action)
    return registry


_KEYWORDS = frozenset({"and", "or", "not"})
#: The registry policy files resolve names through (built-ins and plugins).
DEFAULT_REGISTRY = _default_registry()


def register_trigger(name: str, factory: TriggerFactory, *, replace: bool = False) -> None:
    """Register a trigger name in :data:`DEFAULT_REGISTRY` (see :meth:`Registry.register_trigger`).

    .. versionadded:: 0.1.0
    """
    DEFAULT_REGISTRY.register_trigger(name, factory, replace=replace)


def register_action(name: str, factory: ActionFactory, *, replace: bool = False) -> None:
    """Register an action name in :data:`DEFAULT_REGISTRY` (see :meth:`Registry.register_action`).

    .. versionadded:: 0.1.0
    """
    DEFAULT_REGISTRY.register_action(name, factory, replace=replace)


# --------------------------------------------------------------------------- condition parser

_TOKEN = re.compile(
    r"\s*(?:(?P<value>\d+(?:\.\d+)?(?:%|[A-Za-z]+(?:\d+(?:\.\d+)?[A-Za-z]+)*)?)"
    r"|(?P<op>>=|<=|==|>|<)"
    r"|(?P<paren>[()])"
    r"|(?P<word>[A-Za-z_][A-Za-z0-9_]*))"
)


def _tokenize(text: str) -> list[tuple[str, str, int]]:
    tokens: list[tuple[str, str, int]] = []
    position = 0
    stripped_end = len(text.rstrip())
    while position < stripped_end:
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            raise InvalidValueError(
                f"unexpected character {text[position:].lstrip()[:1]!r} at position "
                f"{len(text[:position]) + len(text[position:]) - len(text[position:].lstrip())} "
                f"in {describe(text)}"
            )
        kind = match.lastgroup or ""
        tokens.append((kind, match.group(kind), match.start(kind)))
        position = match.end()
    return tokens


#: How deeply ``not`` and parentheses may nest in a condition.
MAX_NESTING = 100


class _Parser:
    def __init__(self, text: str, registry: Registry, bindings: Mapping[str, Any]) -> None:
        self.text = text
        self.tokens = _tokenize(text)
        self.index = 0
        self.depth = 0
        self.registry = registry
        self.bindings = bindings

    def peek(self) -> tuple[str, str, int] | None:
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def take(self) -> tuple[str, str, int]:
        token = self.peek()
        if token is None:
            raise InvalidValueError(f"the condition {describe(self.text)} ends too early")
        self.index += 1
        return token

    def error(self, token: tuple[str, str, int] | None, expected: str) -> InvalidValueError:
        if token is None:
            return InvalidValueError(f"expected {expected} at the end of {describe(self.text)}")
        return InvalidValueError(
            f"expected {expected} at position {token[2]} of {describe(self.text)} (got "
            f"{describe(token[1])})"
        )

    def parse(self) -> Trigger:
        if not self.tokens:
            raise InvalidValueError("the condition is empty")
        trigger = self.parse_or()
        token = self.peek()
        if token is not None:
            raise self.error(token, "'and', 'or' or the end of the condition")
        return trigger

    def is_word(self, word: str) -> bool:
        token = self.peek()
        return token is not None and token[0] == "word" and token[1].lower() == word

    def parse_or(self) -> Trigger:
        parts = [self.parse_and()]
        while self.is_word("or"):
            self.take()
            parts.append(self.parse_and())
        return parts[0] if len(parts) == 1 else AnyOf(*parts)

    def parse_and(self) -> Trigger:
        parts = [self.parse_not()]
        while self.is_word("and"):
            self.take()
            parts.append(self.parse_not())
        return parts[0] if len(parts) == 1 else AllOf(*parts)

    def nest(self) -> None:
        self.depth += 1
        if self.depth > MAX_NESTING:
            token = self.peek()
            where = "the end" if token is None else f"position {token[2]}"
            raise InvalidValueError(
                f"the condition nests 'not' and parentheses more than {MAX_NESTING} deep "
                f"(at {where} of {describe(self.text)}); write it more simply"
            )

    def parse_not(self) -> Trigger:
        if self.is_word("not"):
            self.take()
            self.nest()
            inner = self.parse_not()
            self.depth -= 1
            return Not(inner)
        return self.parse_atom()

    def parse_atom(self) -> Trigger:
        token = self.peek()
        if token is None:
            raise self.error(None, "a condition")
        kind, text, _ = token
        if kind == "paren" and text == "(":
            self.take()
            self.nest()
            inner = self.parse_or()
            closing = self.peek()
            if closing is None or closing[1] != ")":
                raise self.error(closing, "')'")
            self.take()
            self.depth -= 1
            return inner
        if kind != "word" or text.lower() in _KEYWORDS:
            raise self.error(token, "a trigger name")
        self.take()
        name = text.lower()
        factory = self.registry.triggers.get(name) or _plugin("promisekit.triggers", name)
        if factory is None:
            known = ", ".join(sorted(self.registry.triggers))
            raise InvalidValueError(f"unknown trigger {describe(text)} (expected one of: {known})")
        op: str | None = None
        value: str | None = None
        following = self.peek()
        if following is not None and following[0] == "op":
            op = self.take()[1]
            operand = self.peek()
            if (
                operand is None
                or operand[0] not in ("value", "word")
                or (operand[0] == "word" and operand[1].lower() in _KEYWORDS)
            ):
                raise self.error(operand, f"a value after {describe(name)} {op!r}")
            value = self.take()[1].lower() if operand[0] == "word" else self.take()[1]
        try:
            trigger = factory(op, value, self.bindings)
        except PromiseKitError:
            raise
        except (TypeError, ValueError) as exc:
            raise InvalidValueError(f"{describe(name)}: {exc}") from exc
        if not isinstance(trigger, Trigger):
            raise InvalidValueError(
                f"the factory of trigger {describe(name)} returned "
                f"{type(trigger).__name__}, not a Trigger"
            )
        return trigger


def parse_condition(
    text: str,
    *,
    bindings: Mapping[str, Any] | None = None,
    registry: Registry | None = None,
) -> Trigger:
    """Parse a condition such as ``"elapsed >= 50% and not revised >= 2"`` into a trigger.

    Raises:
        InvalidValueError: A syntax error, an unknown name or a bad value (the message
            says which and where).

    .. versionadded:: 0.1.0
    """
    if not isinstance(text, str):
        raise InvalidValueError(
            f"a condition must be a string (got {type(text).__name__} {describe(text)})"
        )
    return _Parser(text, registry or DEFAULT_REGISTRY, bindings or {}).parse()


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
    factory = registry.actions.get(key) or _plugin("promisekit.actions", key)
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
            f"unknown field(s) {', '.join(map(repr, unknown))} "
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


def policy_from_dict(
    data: Mapping[str, Any],
    *,
    bindings: Mapping[str, Any] | None = None,
    registry: Registry | None = None,
) -> EscalationPolicy:
    """Build an :class:`EscalationPolicy` from plain data (parsed TOML or JSON).

    Keys: ``name``, ``description``, ``compensation`` (caps for ``compensate`` actions:
    ``per_promise``, ``per_customer``, ``per_period``, ``period``, ``currency``) and
    ``rules``: a list of tables with ``name``, ``when``, ``do``, and optionally ``level``
    (default 1, never decreasing), ``every`` (a duration: repeat while true), ``limit``.

    Args:
        data: The policy.
        bindings: Objects the file refers to by role: ``capability`` (for ``at_risk`` and
            ``propose_revision``), ``predictor`` (``satisfaction``), ``proposer``
            (``propose_revision``), ``compensation_policy`` (``compensate`` without an
            amount), ``confidence``.
        registry: Where names resolve (default :data:`DEFAULT_REGISTRY`).

    Raises:
        PolicyConfigError: Anything wrong, with the rule and the field named.

    .. versionadded:: 0.1.0
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
            f"unknown policy field(s) {', '.join(map(repr, unknown))} "
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
    return EscalationPolicy(rules, name=name, description=description)


def _load_toml(text: str) -> dict[str, Any]:
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


def policy_from_toml(
    source: str | os.PathLike[str],
    *,
    bindings: Mapping[str, Any] | None = None,
    registry: Registry | None = None,
) -> EscalationPolicy:
    """Build a policy from TOML text, or from a file (a path, or a string ending ``.toml``).

    See :func:`policy_from_dict` for the keys. Python 3.10 needs ``tomli``.

    Raises:
        PolicyConfigError: The file is missing, the TOML is invalid, or the policy is wrong.
        MissingDependencyError: Python 3.10 without ``tomli``.

    .. versionadded:: 0.1.0
    """
    if isinstance(source, os.PathLike) or (
        isinstance(source, str) and "\n" not in source and source.strip().endswith(".toml")
    ):
        path = Path(source)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise PolicyConfigError(
                f"cannot read the policy file {str(path)!r}: {exc.strerror}", field="source"
            ) from exc
    elif isinstance(source, str):
        text = source
    else:
        raise PolicyConfigError(
            f"must be TOML text or a path (got {type(source).__name__} {describe(source)})",
            field="source",
        )
    return policy_from_dict(_load_toml(text), bindings=bindings, registry=registry)


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


def ready_policy(name: str, *, bindings: Mapping[str, Any] | None = None) -> EscalationPolicy:
    """Load a shipped policy by name (see :func:`ready_policies`).

    Raises:
        PolicyConfigError: No such policy, or a binding it needs is missing.

    .. versionadded:: 0.1.0
    """
    names = ready_policies()
    if name not in names:
        raise PolicyConfigError(
            f"unknown ready policy {describe(name)} (expected one of: {', '.join(names)})",
            field="name",
        )
    text = (resources.files("promisekit.escalation") / "policies" / f"{name}.toml").read_text(
        encoding="utf-8"
    )
    return policy_from_dict(_load_toml(text), bindings=bindings)
