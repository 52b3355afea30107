"""Protocols and type aliases for plugin authors: what each extension point must provide.

Four extension points, one entry-point group each (see :mod:`promisekit.plugins`):

* :class:`SatisfactionModel` — scores an outcome against an expectation (defined in
  :mod:`promisekit.satisfaction`, re-exported here);
* :class:`BufferPolicy` — moves a quote's due date (implement it by subclassing
  :class:`promisekit.buffering.BufferPolicy`, which :func:`~promisekit.buffering.quote`
  requires and which gives the ``+`` and ``|`` combinators);
* :class:`Trigger` — a condition on a tracked promise that knows when it becomes true
  (subclass :class:`promisekit.escalation.Trigger`); policy files reach it through a
  :data:`TriggerFactory`;
* :class:`Action` — what to do when a rule fires, as plain data (subclass
  :class:`promisekit.escalation.Action`); policy files reach it through an
  :data:`ActionFactory`.

The contract every implementation keeps — and that the suites of
:mod:`promisekit.testing.contracts` check:

* **pure**: no I/O, no wall clock, no mutation of the arguments or of itself;
* **deterministic**: equal inputs give equal results, on any machine, at any time;
* **aware datetimes in and out**: never a naive datetime; a policy returns its due in the
  context's zone;
* **serializable parameters**: the object is immutable data (a frozen ``attrs`` class is
  the easy way): equal when its parameters are equal, hashable, and rebuilt from its
  fields.

Importing this module is cheap: it imports none of the modules it refers to
(:data:`SatisfactionModel`, :data:`TriggerFactory` and :data:`ActionFactory` are looked
up on first access).

Example:
    .. code-block:: python

        from promisekit.typing import SatisfactionModel

        def best(models: list[SatisfactionModel], expectation, outcome):
            return max(m.score(expectation, outcome).value for m in models)

.. versionadded:: 0.1.0
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar, Literal, Protocol, runtime_checkable

if TYPE_CHECKING:
    from promisekit.buffering import QuoteContext
    from promisekit.escalation import ActionFactory, TrackedPromise, TriggerFactory
    from promisekit.escalation._timeline import Segment
    from promisekit.satisfaction import SatisfactionModel

__all__ = [
    "Action",
    "ActionFactory",
    "BufferPolicy",
    "PluginGroup",
    "SatisfactionModel",
    "Trigger",
    "TriggerFactory",
]

#: The names of the plugin entry-point groups (:data:`promisekit.plugins.GROUPS`).
#:
#: .. versionadded:: 0.1.0
PluginGroup = Literal[
    "promisekit.actions",
    "promisekit.buffer_policies",
    "promisekit.satisfaction_models",
    "promisekit.triggers",
]

# Names defined elsewhere and imported on first access, so that importing this module
# imports none of the satisfaction or escalation machinery.
_LAZY = {
    "SatisfactionModel": "promisekit.satisfaction",
    "TriggerFactory": "promisekit.escalation",
    "ActionFactory": "promisekit.escalation",
}


if not TYPE_CHECKING:  # type checkers see the imports above; mypy keeps flagging typos

    def __getattr__(name: str) -> Any:
        module = _LAZY.get(name)
        if module is None:
            raise AttributeError(f"module 'promisekit.typing' has no attribute {name!r}")
        import importlib

        value = getattr(importlib.import_module(module), name)
        globals()[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted(set(globals()) | set(_LAZY))


@runtime_checkable
class BufferPolicy(Protocol):
    """The contract of a buffer policy: one small step from the due chosen so far.

    A quote starts from ``due = context.target`` (the start plus the capability's median)
    and each policy returns a new due. Implement it by subclassing
    :class:`promisekit.buffering.BufferPolicy` (:func:`~promisekit.buffering.quote` accepts
    only those), which provides :meth:`note` and the combinators.

    Contract:

    * ``apply`` never returns a due before ``context.target`` (a promise must leave room
      for the work) and returns an aware datetime in ``context.zone`` — use
      ``context.at``, ``context.advance`` and ``context.later``, which do business-time
      arithmetic with a calendar and real time without;
    * it is pure and deterministic: the same context and due give the same result;
    * where it makes sense, it is monotone in the capability: a slower capability never
      gives an earlier due.

    .. versionadded:: 0.1.0
    """

    def apply(self, context: QuoteContext, due: datetime) -> datetime:
        """Return the new due, given the due chosen so far.

        .. versionadded:: 0.1.0
        """
        ...

    def note(self, context: QuoteContext, before: datetime, after: datetime) -> str | None:
        """A few words for the quote's explanation, or ``None`` to say nothing.

        .. versionadded:: 0.1.0
        """
        ...


@runtime_checkable
class Trigger(Protocol):
    """The contract of an escalation trigger: a condition with a computable first instant.

    Implement it by subclassing :class:`promisekit.escalation.Trigger` (the engine accepts
    only those) and writing :meth:`truth`; the base class provides :meth:`is_true`,
    :meth:`becomes_true` and the ``&``, ``|``, ``~`` combinators. Register a
    :data:`TriggerFactory` under a name to use it in policy files.

    Contract:

    * ``truth(segment)`` depends only on the segment's recorded state, never on when it is
      asked; it returns sorted, disjoint, non-empty half-open intervals ``[a, b)`` of
      integer microseconds inside ``[segment.lo, segment.hi)``;
    * the trigger is immutable, hashable data compared by value (its repr reads back);
    * ``becomes_true`` returns ``None`` or an aware datetime at which ``is_true`` holds.

    .. versionadded:: 0.1.0
    """

    def truth(self, segment: Segment) -> list[tuple[int, int]]:
        """The instants of the segment at which the trigger is true.

        .. versionadded:: 0.1.0
        """
        ...

    def describe(self) -> str:
        """The condition in the policy-file syntax (``"elapsed >= 50%"``).

        .. versionadded:: 0.1.0
        """
        ...

    def is_true(self, track: TrackedPromise, at: datetime) -> bool:
        """Whether the trigger is true at ``at`` (aware).

        .. versionadded:: 0.1.0
        """
        ...

    def becomes_true(self, track: TrackedPromise, after: datetime | None = None) -> datetime | None:
        """The first instant ``>= after`` at which the trigger is true, or ``None``.

        .. versionadded:: 0.1.0
        """
        ...


@runtime_checkable
class Action(Protocol):
    """The contract of an escalation action: what should happen, as plain data.

    Implement it by subclassing :class:`promisekit.escalation.Action` with a frozen
    ``attrs`` class. The engine returns actions inside
    :class:`~promisekit.escalation.Escalation` records; the integrating system performs
    them. Register an :data:`ActionFactory` under a name to use it in policy files.

    Contract:

    * immutable, hashable, compared by value, its repr reads back (the engine compares
      actions to avoid sending one twice);
    * ``describe()`` gives the policy-file form (``"escalate:manager"``);
    * ``customer_facing`` says whether it reaches the customer (then it waits for the
      customer's contact hours).

    .. versionadded:: 0.1.0
    """

    customer_facing: ClassVar[bool]

    def describe(self) -> str:
        """The action in the policy-file syntax.

        .. versionadded:: 0.1.0
        """
        ...
