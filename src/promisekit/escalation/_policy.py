"""The policy: ordered rules, evaluated against a tracked promise, loaded from data or TOML.

:class:`EscalationPolicy` sits above both the evaluation engine and the configuration
reader: it imports :mod:`._engine` (to evaluate its rules) and :mod:`._config` (to build
rules from a policy file), neither of which imports it.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

import attrs

from promisekit._validation import check_non_empty_str, describe
from promisekit.errors import InvalidTypeError, InvalidValueError
from promisekit.escalation._config import load_toml, read_policy, read_source, ready_policy_text
from promisekit.escalation._engine import evaluate as _evaluate
from promisekit.escalation._records import EscalationMemory, Evaluation, Grant
from promisekit.escalation._registry import Registry
from promisekit.escalation._rules import Rule
from promisekit.escalation._track import TrackedPromise

__all__ = ["EscalationPolicy", "policy_from_dict", "policy_from_toml", "ready_policy"]


def _convert_rules(value: Any) -> tuple[Rule, ...]:
    if isinstance(value, Rule):
        return (value,)
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        raise InvalidTypeError(
            f"'rules' must be an iterable of Rule (got {type(value).__name__} {describe(value)})"
        )
    rules = tuple(value)
    if not rules:
        raise InvalidValueError("'rules' must contain at least one Rule (got none)")
    names: set[str] = set()
    previous: Rule | None = None
    for index, rule in enumerate(rules):
        if not isinstance(rule, Rule):
            raise InvalidTypeError(
                f"'rules' must contain only Rule instances "
                f"(got {type(rule).__name__} {describe(rule)} at index {index})"
            )
        if rule.name in names:
            raise InvalidValueError(
                f"'rules' must have unique names (got {describe(rule.name)} twice, again "
                f"at index {index})"
            )
        names.add(rule.name)
        if previous is not None and rule.level < previous.level:
            raise InvalidValueError(
                f"'rules' must be ordered by level: rule {describe(rule.name)} has level "
                f"{rule.level}, below {previous.level} of the previous rule "
                f"{describe(previous.name)} "
                f"(expected >= {previous.level})"
            )
        previous = rule
    return rules


def _optional_text(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is not None:
        check_non_empty_str(attribute.name, value)


@attrs.frozen
class EscalationPolicy:
    """Ordered rules, evaluated purely against a tracked promise.

    Args:
        rules: The rules, ordered by non-decreasing level, with unique names.
        name: A name for the policy, or ``None``.
        description: What it is for, or ``None``.

    Example:
        .. code-block:: python

            policy = EscalationPolicy([
                Rule("half", Elapsed(0.5), NotifyOwner()),
                Rule("late", OverdueBy(0), [EscalateTo("manager"),
                     NotifyCustomer("apology")], level=2),
            ])
            result = policy.evaluate(track, now, memory)
            for escalation in result:
                perform(escalation)
            memory = result.memory

    .. versionadded:: 0.1.0
    """

    rules: tuple[Rule, ...] = attrs.field(converter=_convert_rules)
    name: str | None = attrs.field(default=None, kw_only=True, validator=_optional_text)
    description: str | None = attrs.field(default=None, kw_only=True, validator=_optional_text)
    # ----------------------------------------------------------------- loading

    @classmethod
    def from_dict(
        cls,
        data: Mapping[str, Any],
        *,
        bindings: Mapping[str, Any] | None = None,
        registry: Registry | None = None,
    ) -> EscalationPolicy:
        """Build a policy from plain data (the parsed form of a TOML policy file).

        See :func:`promisekit.escalation.policy_from_dict`.

        .. versionadded:: 0.1.0
        """
        spec = read_policy(data, bindings=bindings, registry=registry)
        return cls(spec.rules, name=spec.name, description=spec.description)

    @classmethod
    def from_toml(
        cls,
        source: str | os.PathLike[str],
        *,
        bindings: Mapping[str, Any] | None = None,
        registry: Registry | None = None,
    ) -> EscalationPolicy:
        """Build a policy from TOML text or a ``.toml`` file path.

        See :func:`promisekit.escalation.policy_from_toml`.

        .. versionadded:: 0.1.0
        """
        data = load_toml(read_source(source))
        return cls.from_dict(data, bindings=bindings, registry=registry)

    @classmethod
    def ready(cls, name: str, *, bindings: Mapping[str, Any] | None = None) -> EscalationPolicy:
        """One of the policies shipped with promisekit (see :func:`ready_policies`).

        .. versionadded:: 0.1.0
        """
        return cls.from_dict(load_toml(ready_policy_text(name)), bindings=bindings)

    def to_dict(self) -> dict[str, Any]:
        """The policy in the policy-file form (for triggers and actions that have one).

        .. versionadded:: 0.1.0
        """
        data: dict[str, Any] = {}
        if self.name is not None:
            data["name"] = self.name
        if self.description is not None:
            data["description"] = self.description
        data["rules"] = [rule.to_dict() for rule in self.rules]
        return data

    # ----------------------------------------------------------------- evaluation

    def evaluate(
        self,
        track: TrackedPromise,
        now: datetime,
        memory: EscalationMemory | None = None,
        *,
        granted: Iterable[Grant] = (),
    ) -> Evaluation:
        """Everything that fired for ``track`` up to ``now`` since ``memory`` was taken.

        Args:
            track: The promise and its recorded events (events after ``now`` are ignored).
            now: The evaluation instant (aware).
            memory: The memory returned by the previous evaluation of this promise, or
                ``None`` for the first one (everything since ``made_at`` is evaluated).
            granted: Compensation already granted to this customer (for the caps of
                :class:`Compensate`); grants of other customers are ignored.

        Returns:
            An :class:`Evaluation`: the escalations to perform now (ordered by ``at``),
            the new memory and the next check.

        Raises:
            NaiveDatetimeError: ``now`` has no time zone.
            InconsistentRecordError: ``memory`` belongs to another promise.

        .. versionadded:: 0.1.0
        """
        return _evaluate(self.rules, track, now, memory, granted)

    def next_check(
        self, track: TrackedPromise, now: datetime, memory: EscalationMemory | None = None
    ) -> datetime | None:
        """The earliest instant after ``now`` at which a rule could fire, or ``None``.

        Assumes nothing new is recorded for the promise and that what fires up to ``now``
        is taken (as :meth:`evaluate` with the same arguments would). Computed in closed
        form from the triggers, never by scanning.

        .. versionadded:: 0.1.0
        """
        return self.evaluate(track, now, memory).next_check


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
    (1 to 1000, default 1, never decreasing), ``every`` (a duration: repeat while true),
    ``limit``.

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
    return EscalationPolicy.from_dict(data, bindings=bindings, registry=registry)


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
    return EscalationPolicy.from_toml(source, bindings=bindings, registry=registry)


def ready_policy(name: str, *, bindings: Mapping[str, Any] | None = None) -> EscalationPolicy:
    """Load a shipped policy by name (see :func:`ready_policies`).

    Raises:
        PolicyConfigError: No such policy, or a binding it needs is missing.

    .. versionadded:: 0.1.0
    """
    return EscalationPolicy.ready(name, bindings=bindings)
