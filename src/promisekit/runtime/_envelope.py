"""What a sink receives: one action to perform, with its idempotency key, as JSON-ready data.

The envelope's document is built once, when the rule fires, stored in the ledger with the
:class:`~promisekit.ledger.EscalationFired` event, and handed to the sink verbatim on every
attempt, in this process or after a restart: what a receiver sees never changes.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import attrs

from promisekit.escalation import Escalation, Notice
from promisekit.serialize import to_dict

__all__ = ["ActionEnvelope", "escalation_document", "notice_document"]


def escalation_document(escalation: Escalation) -> dict[str, Any]:
    """The JSON document of an escalation: :func:`promisekit.serialize.to_dict`'s form.

    The action is a typed sub-document (``{"type": "notify_customer", "kind": ...}``),
    datetimes RFC 9557 strings with their zone, amounts decimal strings.

    .. versionadded:: 0.1.0
    """
    return to_dict(escalation)


def notice_document(notice: Notice) -> dict[str, Any]:
    """The JSON document of a customer notice (:func:`promisekit.serialize.to_dict`).

    .. versionadded:: 0.1.0
    """
    return to_dict(notice)


@attrs.frozen(kw_only=True)
class ActionEnvelope:
    """One action handed to a sink, at least once, with the key that makes repeats droppable.

    Attributes:
        key: The idempotency key (the same for every attempt, in every process).
        document: What to perform, JSON-ready: ``"key"``; ``"escalation"`` (its
            :func:`~promisekit.serialize.to_dict` document); ``"customer_facing"``;
            ``"notice"``, the customer letter (a ``notice`` document) or ``None``;
            ``"letter_covers"``, the action types that letter stands for; and, for an
            action whose letter another action of the same firing carries,
            ``"merged_into"`` (that action's key). Built once when the rule fired and
            stored in the ledger with the ``EscalationFired`` event.
        attempt: 1 for the first delivery attempt, 2 for the first retry…

    .. versionadded:: 0.1.0
    """

    key: str
    document: Mapping[str, Any]
    attempt: int = 1

    @property
    def promise_id(self) -> str:
        """The promise the action is about."""
        return str(self.document["escalation"]["promise_id"])

    @property
    def rule(self) -> str:
        """The rule that fired."""
        return str(self.document["escalation"]["rule"])

    @property
    def action_type(self) -> str:
        """The action's document type (``"notify_owner"``, ``"compensate"``…)."""
        return str(self.document["escalation"]["action"]["type"])

    @property
    def notice(self) -> Mapping[str, Any] | None:
        """The customer letter (subject, body, send_at…), or ``None``."""
        notice = self.document.get("notice")
        return None if notice is None else dict(notice)

    def to_dict(self) -> dict[str, Any]:
        """The JSON-ready document with the attempt number (what :class:`JsonLinesSink` writes).

        .. versionadded:: 0.1.0
        """
        return {**self.document, "attempt": self.attempt}

    def to_json(self) -> str:
        """:meth:`to_dict` as compact JSON text (one line).

        .. versionadded:: 0.1.0
        """
        return json.dumps(self.to_dict(), ensure_ascii=False, separators=(",", ":"))
