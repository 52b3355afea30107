"""An escalation action: post to a team chat channel — as data; the integrator posts it.

.. versionadded:: 0.1.0
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs
from promisekit.errors import InvalidTypeError, InvalidValueError
from promisekit.escalation import Action

__all__ = ["PostToChat", "post_to_chat"]


def _text(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is None and attribute.name == "message":
        return
    if not isinstance(value, str):
        raise InvalidTypeError(
            f"{attribute.name!r} must be a string (got {type(value).__name__} {value!r})"
        )
    if not value.strip():
        raise InvalidValueError(f"{attribute.name!r} must not be blank (got {value!r})")


@attrs.frozen
class PostToChat(Action):
    """Post a message about the promise to a team chat channel (``"#support"``).

    Plain data: the escalation engine returns it inside an
    :class:`~promisekit.escalation.Escalation`, and the integrating system posts it. It
    reaches the team, not the customer, so it is never deferred to contact hours.

    Args:
        channel: The channel (non-blank).
        message: A fixed text, or ``None`` to let the integrator write one.

    Example:
        >>> PostToChat("#support").describe()
        'post_to_chat:#support'

    .. versionadded:: 0.1.0
    """

    channel: str = attrs.field(validator=_text)
    message: str | None = attrs.field(default=None, kw_only=True, validator=_text)

    def describe(self) -> str:
        """The action in the policy-file syntax.

        .. versionadded:: 0.1.0
        """
        return f"post_to_chat:{self.channel}"


def post_to_chat(argument: str | None, bindings: Mapping[str, Any]) -> PostToChat:
    """Build :class:`PostToChat` from a policy file: ``do = ["post_to_chat:#support"]``.

    Without an argument, the channel comes from ``bindings["chat_channel"]``.

    Raises:
        InvalidValueError: No channel is given either way.

    .. versionadded:: 0.1.0
    """
    channel = argument or bindings.get("chat_channel")
    if not channel:
        raise InvalidValueError(
            "'post_to_chat' needs a channel: 'post_to_chat:#support', or "
            "bindings={'chat_channel': '#support'}"
        )
    return PostToChat(channel)
