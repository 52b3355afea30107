"""The plugin registry: satisfaction models, buffer policies, triggers and actions by name.

Plugins are found through the entry points of installed distributions, in four groups:

================================== ============================================================
group                              an entry point names
================================== ============================================================
``promisekit.satisfaction_models`` a satisfaction model class (or instance) with ``score`` and
                                   ``score_many`` (:class:`promisekit.typing.SatisfactionModel`)
``promisekit.buffer_policies``     a :class:`~promisekit.buffering.BufferPolicy` subclass (or
                                   instance)
``promisekit.triggers``            a trigger *factory* ``(op, value, bindings) -> Trigger``:
                                   the name becomes usable in policy-file conditions
``promisekit.actions``             an action *factory* ``(argument, bindings) -> Action``: the
                                   name becomes usable in policy-file ``do`` lists
================================== ============================================================

promisekit registers its own built-ins the same way (entry points in its own
``pyproject.toml``), so ``load(SATISFACTION_MODELS, "disconfirmation")`` and a third-party
model go through the same code.

* :func:`available` lists names and imports nothing (it reads the installed metadata);
  :func:`entries` says where each name comes from.
* :func:`load` imports one plugin on demand and checks that it has the right type. A broken
  plugin (import error, wrong type, a name declared by two distributions) raises a
  :class:`PluginError` naming the distribution and the entry point, and never affects the
  other plugins nor ``import promisekit``.
* :func:`register` adds a plugin from code, for an application that ships no package.
* ``PROMISEKIT_DISABLE_PLUGIN_AUTOLOAD=1`` ignores third-party entry points (the built-ins
  stay); ``PROMISEKIT_BLOCKED_PLUGINS="acme-promises[fancy],other-dist"`` (or ``blocked=``)
  switches off single plugins or whole distributions.

Results are sorted, so listings are deterministic. The scan of the installed metadata is
cached for as long as ``sys.path`` is unchanged; block lists and the environment variables
are read at every call. Blocking applies to entry points; a plugin added with
:func:`register` is removed with :func:`unregister`.

Example:
    >>> from promisekit import plugins
    >>> "disconfirmation" in plugins.available(plugins.SATISFACTION_MODELS)
    True
    >>> plugins.load(plugins.BUFFER_POLICIES, "fixed_buffer").__name__
    'FixedBuffer'

.. versionadded:: 0.1.0
"""

from __future__ import annotations

import os
import re
import sys
import threading
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, Literal

import attrs

from promisekit._plugin_checks import (
    check_action_factory,
    check_model,
    check_policy,
    check_trigger_factory,
)
from promisekit._validation import describe
from promisekit.errors import InvalidTypeError, InvalidValueError, PromiseKitError

if TYPE_CHECKING:
    from importlib.metadata import EntryPoint

__all__ = [
    "ACTIONS",
    "BLOCKED_ENV",
    "BUFFER_POLICIES",
    "BUILTIN_DISTRIBUTION",
    "DISABLE_AUTOLOAD_ENV",
    "GROUPS",
    "SATISFACTION_MODELS",
    "TRIGGERS",
    "PluginError",
    "PluginInfo",
    "available",
    "entries",
    "load",
    "register",
    "unregister",
]

#: Entry-point group of satisfaction models.
#:
#: .. versionadded:: 0.1.0
SATISFACTION_MODELS = "promisekit.satisfaction_models"
#: Entry-point group of buffer policies.
#:
#: .. versionadded:: 0.1.0
BUFFER_POLICIES = "promisekit.buffer_policies"
#: Entry-point group of escalation trigger factories (names usable in policy conditions).
#:
#: .. versionadded:: 0.1.0
TRIGGERS = "promisekit.triggers"
#: Entry-point group of escalation action factories (names usable in policy ``do`` lists).
#:
#: .. versionadded:: 0.1.0
ACTIONS = "promisekit.actions"
#: Every plugin group, sorted.
#:
#: .. versionadded:: 0.1.0
GROUPS: tuple[str, ...] = (ACTIONS, BUFFER_POLICIES, SATISFACTION_MODELS, TRIGGERS)
#: Environment variable: when set to a true value (``1``, ``true``, ``yes``, ``on``),
#: entry points of distributions other than promisekit are ignored.
#:
#: .. versionadded:: 0.1.0
DISABLE_AUTOLOAD_ENV = "PROMISEKIT_DISABLE_PLUGIN_AUTOLOAD"
#: Environment variable: comma-separated plugins to ignore, each ``"dist[name]"`` (one
#: plugin) or ``"dist"`` (every plugin of that distribution).
#:
#: .. versionadded:: 0.1.0
BLOCKED_ENV = "PROMISEKIT_BLOCKED_PLUGINS"
#: The distribution whose entry points are the built-ins (never disabled by
#: :data:`DISABLE_AUTOLOAD_ENV`).
#:
#: .. versionadded:: 0.1.0
BUILTIN_DISTRIBUTION = "promisekit"

_NAME = re.compile(r"[a-z][a-z0-9_]*")
_BLOCK_ITEM = re.compile(r"([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)(?:\[([^\[\]\s]+)\])?")
_FALSE = frozenset({"", "0", "false", "no", "off"})

_Status = Literal["enabled", "blocked", "disabled"]


class PluginError(PromiseKitError, ImportError):
    """A plugin cannot be loaded: the message names its distribution and entry point.

    Raised by :func:`load` when the plugin's module fails to import, when the object it
    names has the wrong type, when two distributions declare the same name, or when no
    enabled plugin has the name. It is an :class:`ImportError` too: a plugin that cannot be
    loaded is a failed import.

    Attributes:
        group: The entry-point group.
        plugin: The plugin name.
        distribution: The distribution declaring it, or ``None`` (unknown name, or one
            declared by several distributions).

    Example:
        ``PluginError: failed to load plugin "acme-promises[fancy]"
        (promisekit.satisfaction_models): ModuleNotFoundError: No module named
        'acme_missing'``

    .. versionadded:: 0.1.0
    """

    def __init__(
        self,
        message: str,
        group: str | None = None,
        plugin: str | None = None,
        distribution: str | None = None,
    ) -> None:
        super().__init__(message)
        self.group = group
        self.plugin = plugin
        self.distribution = distribution

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (str(self), self.group, self.plugin, self.distribution))


@attrs.frozen(slots=True)
class PluginInfo:
    """Where a plugin name comes from, as found without importing anything.

    Attributes:
        group: The entry-point group.
        name: The plugin name.
        distribution: The distribution declaring the entry point, or ``None`` for a
            plugin added with :func:`register`.
        value: The entry point's ``module:attribute``, or ``None`` for a registered one.
        status: ``"enabled"``; ``"blocked"`` (by ``blocked=`` or
            :data:`BLOCKED_ENV`); or ``"disabled"`` (a third-party entry point while
            :data:`DISABLE_AUTOLOAD_ENV` is set).

    .. versionadded:: 0.1.0
    """

    group: str
    name: str
    distribution: str | None
    value: str | None
    status: _Status = "enabled"

    @property
    def builtin(self) -> bool:
        """Whether promisekit itself declares it.

        .. versionadded:: 0.1.0
        """
        distribution = self.distribution
        return distribution is not None and _canonical(distribution) == BUILTIN_DISTRIBUTION

    @property
    def label(self) -> str:
        """``"distribution[name]"`` (``"register()[name]"`` for a registered plugin).

        .. versionadded:: 0.1.0
        """
        return f"{self.distribution or 'register()'}[{self.name}]"


# --------------------------------------------------------------------------- state


@attrs.frozen(slots=True)
class _Found:
    info: PluginInfo
    entry_point: EntryPoint


_LOCK = threading.RLock()
_REGISTERED: dict[str, dict[str, Any]] = {group: {} for group in GROUPS}
# Entry points per group, valid while sys.path is unchanged (scanning every installed
# distribution's metadata costs milliseconds).
_FOUND: dict[str, tuple[_Found, ...]] = {}
_FOUND_PATH: tuple[str, ...] | None = None


def _canonical(distribution: str) -> str:
    """The normalized distribution name (PEP 503): ``Acme_Promises`` -> ``acme-promises``."""
    return re.sub(r"[-_.]+", "-", distribution).lower()


def _check_group(group: object) -> str:
    if not isinstance(group, str):
        raise InvalidTypeError(
            f"'group' must be a plugin group name (got {type(group).__name__} {describe(group)})"
        )
    if group not in GROUPS:
        raise InvalidValueError(
            f"'group' must be one of {', '.join(GROUPS)} (got {describe(group)})"
        )
    return group


def _check_name_type(name: object) -> str:
    if not isinstance(name, str):
        raise InvalidTypeError(
            f"'name' must be a plugin name (got {type(name).__name__} {describe(name)})"
        )
    return name


def _discover(group: str) -> tuple[_Found, ...]:
    """Every entry point of ``group`` (sorted by name, then distribution); imports nothing."""
    global _FOUND_PATH
    path = tuple(sys.path)
    with _LOCK:
        if path != _FOUND_PATH:
            _FOUND.clear()
            _FOUND_PATH = path
        cached = _FOUND.get(group)
    if cached is not None:
        return cached
    from importlib.metadata import entry_points

    found = []
    for entry_point in entry_points(group=group):
        dist = entry_point.dist
        distribution = dist.name if dist is not None else "<unknown distribution>"
        info = PluginInfo(group, entry_point.name, distribution, entry_point.value)
        found.append(_Found(info, entry_point))
    found.sort(key=lambda f: (f.info.name, _canonical(f.info.distribution or ""), f.info.value))
    result = tuple(found)
    with _LOCK:
        if path == _FOUND_PATH:
            _FOUND[group] = result
    return result


def _autoload() -> bool:
    return os.environ.get(DISABLE_AUTOLOAD_ENV, "").strip().lower() in _FALSE


def _parse_blocked(items: Iterable[str], source: str) -> set[tuple[str, str | None]]:
    blocked: set[tuple[str, str | None]] = set()
    for raw in items:
        if not isinstance(raw, str):
            raise InvalidTypeError(
                f"{source} must hold strings such as 'dist[name]' "
                f"(got {type(raw).__name__} {describe(raw)})"
            )
        item = raw.strip()
        if not item:
            continue
        match = _BLOCK_ITEM.fullmatch(item)
        if match is None:
            raise InvalidValueError(
                f"{source} must list plugins as 'distribution[name]' or 'distribution', "
                f"separated by commas (got {describe(item)})"
            )
        blocked.add((_canonical(match.group(1)), match.group(2)))
    return blocked


def _blocked(blocked: Iterable[str] | str | None) -> set[tuple[str, str | None]]:
    result = _parse_blocked(os.environ.get(BLOCKED_ENV, "").split(","), BLOCKED_ENV)
    if blocked is not None:
        items = blocked.split(",") if isinstance(blocked, str) else blocked
        if not isinstance(items, Iterable):
            raise InvalidTypeError(
                f"'blocked' must be an iterable of 'dist[name]' strings "
                f"(got {type(blocked).__name__} {describe(blocked)})"
            )
        result |= _parse_blocked(items, "'blocked'")
    return result


def _with_status(
    group: str, blocked: Iterable[str] | str | None
) -> list[tuple[PluginInfo, EntryPoint | None]]:
    """Entry points then registered plugins of ``group``, each with its status."""
    blocks = _blocked(blocked)
    autoload = _autoload()
    out: list[tuple[PluginInfo, EntryPoint | None]] = []
    for found in _discover(group):
        info = found.info
        dist = _canonical(info.distribution or "")
        status: _Status = "enabled"
        if not autoload and not info.builtin:
            status = "disabled"
        elif (dist, None) in blocks or (dist, info.name) in blocks:
            status = "blocked"
        out.append((attrs.evolve(info, status=status), found.entry_point))
    with _LOCK:
        registered = sorted(_REGISTERED[group])
    out.extend((PluginInfo(group, name, None, None), None) for name in registered)
    return out


# --------------------------------------------------------------------------- checks

_CHECKS: dict[str, Callable[[object], str | None]] = {
    ACTIONS: check_action_factory,
    BUFFER_POLICIES: check_policy,
    SATISFACTION_MODELS: check_model,
    TRIGGERS: check_trigger_factory,
}


# --------------------------------------------------------------------------- public API


def entries(group: str, *, blocked: Iterable[str] | str | None = None) -> tuple[PluginInfo, ...]:
    """Every plugin declared for ``group``, enabled or not, without importing any.

    Entry points come first, sorted by name then distribution (a name declared by two
    distributions appears twice), followed by the plugins added with :func:`register`.

    Args:
        group: One of :data:`GROUPS`.
        blocked: More plugins to block, besides :data:`BLOCKED_ENV`: ``"dist[name]"`` or
            ``"dist"`` strings (an iterable, or one comma-separated string).

    Returns:
        One :class:`PluginInfo` per declaration, with its status.

    Raises:
        InvalidValueError: ``group`` is unknown, or a block-list item is malformed.

    .. versionadded:: 0.1.0
    """
    _check_group(group)
    return tuple(info for info, _ in _with_status(group, blocked))


def available(group: str, *, blocked: Iterable[str] | str | None = None) -> tuple[str, ...]:
    """The sorted names that :func:`load` can be asked for in ``group``; imports nothing.

    Names come from the installed distributions' entry points (the built-ins included) and
    from :func:`register`. Blocked plugins are left out, and so are third-party ones while
    :data:`DISABLE_AUTOLOAD_ENV` is set. A listed name may still fail to load (the check
    needs the import): :func:`load` says why.

    Args:
        group: One of :data:`GROUPS`.
        blocked: More plugins to block, besides :data:`BLOCKED_ENV`.

    Returns:
        Sorted, distinct names.

    Raises:
        InvalidValueError: ``group`` is unknown, or a block-list item is malformed.

    Example:
        >>> available(TRIGGERS)[:3]
        ('at_risk', 'buffer_zone', 'elapsed')

    .. versionadded:: 0.1.0
    """
    _check_group(group)
    names = {info.name for info, _ in _with_status(group, blocked) if info.status == "enabled"}
    return tuple(sorted(names))


def load(group: str, name: str, *, blocked: Iterable[str] | str | None = None) -> Any:
    """Import the plugin ``name`` of ``group`` and check that it has the group's type.

    A plugin added with :func:`register` wins over an entry point of the same name. Only
    the named plugin is imported; Python caches the import, so loading twice is cheap.

    Args:
        group: One of :data:`GROUPS`.
        name: The plugin name.
        blocked: More plugins to block, besides :data:`BLOCKED_ENV`.

    Returns:
        The object the entry point names: a model class, a policy class, or a trigger or
        action factory (see the module docstring).

    Raises:
        PluginError: No enabled plugin has that name; two distributions declare it; its
            module fails to import; or the object has the wrong type.
        InvalidValueError: ``group`` is unknown, or a block-list item is malformed.

    Example:
        >>> model = load(SATISFACTION_MODELS, "disconfirmation")()
        >>> type(model).__name__
        'Disconfirmation'

    .. versionadded:: 0.1.0
    """
    _check_group(group)
    _check_name_type(name)
    with _LOCK:
        registered = _REGISTERED[group].get(name, _MISSING)
    if registered is not _MISSING:
        return registered
    declared = [(info, ep) for info, ep in _with_status(group, blocked) if info.name == name]
    enabled = [(info, ep) for info, ep in declared if info.status == "enabled" and ep is not None]
    if not enabled:
        raise _not_found(group, name, [info for info, _ in declared], blocked)
    if len({_canonical(info.distribution or "") for info, _ in enabled}) > 1:
        labels = ", ".join(f'"{info.label}" ({info.value})' for info, _ in enabled)
        raise PluginError(
            f"plugin name {describe(name)} in {group} is declared by several "
            f"distributions: {labels}; "
            f'uninstall one, or block one with {BLOCKED_ENV}="{enabled[-1][0].label}"',
            group,
            name,
        )
    info, entry_point = enabled[0]
    assert entry_point is not None
    prefix = f'failed to load plugin "{info.label}" ({group})'
    if _NAME.fullmatch(name) is None:
        raise PluginError(
            f"{prefix}: the name must be lowercase letters, digits and '_', starting with a letter",
            group,
            name,
            info.distribution,
        )
    try:
        obj = entry_point.load()
    except Exception as exc:
        raise PluginError(
            f"{prefix}: {type(exc).__name__}: {exc}", group, name, info.distribution
        ) from exc
    problem = _CHECKS[group](obj)
    if problem is not None:
        raise PluginError(
            f"{prefix}: {info.value} is the wrong type: {problem}", group, name, info.distribution
        )
    return obj


_MISSING = object()


def _not_found(
    group: str, name: str, declared: list[PluginInfo], blocked: Iterable[str] | str | None
) -> PluginError:
    if declared:
        info = declared[0]
        if info.status == "disabled":
            why = f"third-party plugins are disabled ({DISABLE_AUTOLOAD_ENV} is set)"
        else:
            why = f"it is blocked (by 'blocked=' or {BLOCKED_ENV})"
        return PluginError(
            f'plugin "{info.label}" ({group}) is not loaded: {why}',
            group,
            name,
            info.distribution,
        )
    known = ", ".join(available(group, blocked=blocked)) or "none"
    return PluginError(
        f"no plugin named {describe(name)} in {group} (available: {known})", group, name, None
    )


def register(group: str, name: str, obj: Any, *, replace: bool = False) -> None:
    """Add a plugin from code, for an application that ships no package.

    The object is checked at once, as :func:`load` checks an entry point. It wins over an
    entry point of the same name, which is refused unless ``replace`` is true.

    Args:
        group: One of :data:`GROUPS`.
        name: Lowercase letters, digits and ``_``, starting with a letter.
        obj: A model class or instance, a policy class or instance, or a trigger or action
            factory (see the module docstring).
        replace: Allow replacing a registered plugin or shadowing an installed one.

    Raises:
        InvalidValueError: The group is unknown, the name malformed, or taken and
            ``replace`` is false.
        InvalidTypeError: ``obj`` has the wrong type for the group.

    Example:
        .. code-block:: python

            plugins.register(plugins.ACTIONS, "page_on_call", page_on_call_factory)

    .. versionadded:: 0.1.0
    """
    _check_group(group)
    _check_name_type(name)
    if _NAME.fullmatch(name) is None:
        raise InvalidValueError(
            f"'name' must be lowercase letters, digits and '_', starting with a letter "
            f"(got {describe(name)})"
        )
    problem = _CHECKS[group](obj)
    if problem is not None:
        raise InvalidTypeError(f"cannot register {describe(name)} in {group}: {problem}")
    if not replace:
        taken = [
            info
            for info, _ in _with_status(group, None)
            if info.name == name and info.status == "enabled"
        ]
        if taken:
            raise InvalidValueError(
                f'plugin name {describe(name)} is already taken in {group} by "{taken[0].label}" '
                f"(pass replace=True to replace it)"
            )
    with _LOCK:
        _REGISTERED[group][name] = obj


def unregister(group: str, name: str) -> None:
    """Remove a plugin added with :func:`register` (entry points are blocked, not removed).

    Raises:
        InvalidValueError: The group is unknown, or nothing is registered under ``name``.

    .. versionadded:: 0.1.0
    """
    _check_group(group)
    _check_name_type(name)
    with _LOCK:
        if _REGISTERED[group].pop(name, _MISSING) is _MISSING:
            raise InvalidValueError(
                f"no plugin registered under {describe(name)} in {group} (entry points cannot be "
                f"unregistered: block them with {BLOCKED_ENV} or 'blocked=')"
            )
