"""The built-in trigger and action factories: what each policy-file name builds.

A trigger factory is ``factory(op, value, bindings) -> Trigger`` and an action factory
``factory(argument, bindings) -> Action`` (see :mod:`._registry`). promisekit registers these
through its own entry points (``promisekit.triggers`` and ``promisekit.actions``), exactly as
a plugin would. Imports the triggers, :mod:`._actions` and :mod:`._time` only.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from promisekit._validation import describe, describe_names
from promisekit.errors import InvalidValueError
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
from promisekit.escalation._state_triggers import LEVEL_NAMES, PredictedDissatisfaction, Revised
from promisekit.escalation._time import parse_duration
from promisekit.escalation._triggers import Trigger

__all__ = ["BUILTIN_ACTIONS", "BUILTIN_TRIGGERS"]


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


# --------------------------------------------------------------------------- triggers


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


# --------------------------------------------------------------------------- actions


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
        raise InvalidValueError(
            f"unknown compensation setting(s) {describe_names(sorted(unknown))}"
        )
    return Compensate(amount, **caps)


#: The built-in trigger names and their factories.
BUILTIN_TRIGGERS = (
    ("elapsed", _elapsed),
    ("remaining", _remaining),
    ("overdue", _overdue),
    ("silence", _silence),
    ("at_risk", _at_risk),
    ("buffer_zone", _buffer_zone),
    ("revised", _revised),
    ("satisfaction", _satisfaction),
)
#: The built-in action names and their factories.
BUILTIN_ACTIONS = (
    ("notify_owner", _notify_owner),
    ("notify_customer", _notify_customer),
    ("escalate", _escalate),
    ("propose_revision", _propose),
    ("compensate", _compensate),
)
