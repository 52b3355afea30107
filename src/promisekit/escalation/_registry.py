"""The names usable in policy files: a registry of trigger and action factories.

Built-in names come from :mod:`._factories`; names installed as plugins are found through
:mod:`promisekit.plugins` (which knows only group names and the protocols of
:mod:`promisekit.typing`, never this package). Imports :mod:`._factories`, the
:class:`~._triggers.Trigger` and :class:`~._actions.Action` bases, and
:mod:`promisekit.plugins`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

import attrs

from promisekit import plugins
from promisekit._validation import describe
from promisekit.errors import InvalidValueError
from promisekit.escalation._actions import Action
from promisekit.escalation._factories import BUILTIN_ACTIONS, BUILTIN_TRIGGERS
from promisekit.escalation._triggers import Trigger

__all__ = [
    "DEFAULT_REGISTRY",
    "KEYWORDS",
    "ActionFactory",
    "Registry",
    "TriggerFactory",
    "find_action",
    "find_trigger",
    "register_action",
    "register_trigger",
]

#: ``factory(op, value, bindings) -> Trigger``: ``op`` is ``">="``, ``"<="``, ``">"``,
#: ``"<"``, ``"=="`` or ``None`` for a bare name; ``value`` the raw value text or ``None``.
TriggerFactory = Callable[[str | None, str | None, Mapping[str, Any]], Trigger]
#: ``factory(argument, bindings) -> Action``: ``argument`` is the text after ``":"`` or
#: ``None``. ``bindings["compensation"]`` holds the policy's ``[compensation]`` table.
ActionFactory = Callable[[str | None, Mapping[str, Any]], Action]

#: The keywords of the condition language (never trigger names).
KEYWORDS = frozenset({"and", "or", "not"})


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
        if name in KEYWORDS:
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


def _default_registry() -> Registry:
    registry = Registry()
    for name, trigger in BUILTIN_TRIGGERS:
        registry.register_trigger(name, trigger)
    for name, action in BUILTIN_ACTIONS:
        registry.register_action(name, action)
    return registry


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


def find_trigger(registry: Registry, name: str) -> TriggerFactory | None:
    """The factory of trigger ``name``: registered, else an installed plugin, else ``None``."""
    factory = registry.triggers.get(name)
    if factory is None and name in plugins.available(plugins.TRIGGERS):
        factory = plugins.load(plugins.TRIGGERS, name)
    return factory


def find_action(registry: Registry, name: str) -> ActionFactory | None:
    """The factory of action ``name``: registered, else an installed plugin, else ``None``."""
    factory = registry.actions.get(name)
    if factory is None and name in plugins.available(plugins.ACTIONS):
        factory = plugins.load(plugins.ACTIONS, name)
    return factory
