"""The type checks of :mod:`promisekit.plugins`: is a plugin object what its group expects?

Each check returns ``None`` when the object fits, else a sentence saying what was expected
and what was found. Plugins are checked against the protocols of :mod:`promisekit.typing`
(structurally for trigger and action factories, so this never imports the escalation
package); a buffer policy must subclass :class:`promisekit.buffering.BufferPolicy`, which
:func:`~promisekit.buffering.quote` requires, and is imported only when one is checked.
"""

from __future__ import annotations

import inspect
from typing import Any

from promisekit import typing as protocols
from promisekit._validation import describe

__all__ = [
    "check_action_factory",
    "check_model",
    "check_policy",
    "check_trigger_factory",
]


def _kind(obj: object) -> str:
    if isinstance(obj, type):
        return f"the class {obj.__module__}.{obj.__qualname__}"
    name = getattr(obj, "__qualname__", None)
    if callable(obj) and isinstance(name, str):
        return f"the {type(obj).__name__} {getattr(obj, '__module__', '?')}.{name}"
    return f"a {type(obj).__name__} ({describe(obj)})"


def check_model(obj: object) -> str | None:
    """A satisfaction model class or instance (:class:`promisekit.typing.SatisfactionModel`)."""
    model = protocols.SatisfactionModel  # promisekit.satisfaction, imported on first use
    if isinstance(obj, type):
        if issubclass(obj, model):
            return None
    elif isinstance(obj, model):
        return None
    return (
        f"expected a satisfaction model class or instance with score(expectation, outcome) "
        f"and score_many(pairs), got {_kind(obj)}"
    )


def check_policy(obj: object) -> str | None:
    """A subclass (or an instance) of :class:`promisekit.buffering.BufferPolicy`."""
    from promisekit.buffering import BufferPolicy

    if (isinstance(obj, type) and issubclass(obj, BufferPolicy)) or isinstance(obj, BufferPolicy):
        return None
    return (
        f"expected a subclass (or an instance) of promisekit.buffering.BufferPolicy, "
        f"got {_kind(obj)}"
    )


def _implements(cls: type, protocol: type) -> bool:
    """Whether the class ``cls`` has every member of ``protocol`` (a structural check)."""
    members = getattr(protocol, "__protocol_attrs__", None)
    if members is None:  # Python < 3.12
        members = {
            name
            for base in protocol.__mro__[:-1]
            if base.__name__ not in {"Protocol", "Generic"}
            for name in (*vars(base), *getattr(base, "__annotations__", {}))
            if not name.startswith("_")
        }
    return all(hasattr(cls, name) for name in members)


def _check_factory(obj: object, protocol: type, args: tuple[Any, ...], shape: str) -> str | None:
    if isinstance(obj, type) and _implements(obj, protocol):
        return (
            f"expected a factory {shape}, got {_kind(obj)}: register a function that "
            f"builds a {obj.__name__} instead of the class itself"
        )
    if not callable(obj):
        return f"expected a factory {shape}, got {_kind(obj)}"
    try:
        signature = inspect.signature(obj)
    except (TypeError, ValueError):  # a builtin without a signature: trust it
        return None
    try:
        signature.bind(*args)
    except TypeError as exc:
        return f"expected a factory {shape}, got {_kind(obj)} with signature {signature} ({exc})"
    return None


def check_trigger_factory(obj: object) -> str | None:
    """A callable ``(op, value, bindings) -> Trigger`` — not a trigger class."""
    return _check_factory(
        obj, protocols.Trigger, ("op", "value", {}), "(op, value, bindings) -> Trigger"
    )


def check_action_factory(obj: object) -> str | None:
    """A callable ``(argument, bindings) -> Action`` — not an action class."""
    return _check_factory(obj, protocols.Action, ("argument", {}), "(argument, bindings) -> Action")
