"""Failures of evaluation: one promise's evaluation raised, the rest of the book went on.

When evaluating a promise raises (a revision proposer with too little history, a
compensation policy, a plugin trigger), :meth:`Escalator.advance
<promisekit.escalation.Escalator.advance>` rolls that promise back, reschedules it with a
bounded exponential backoff and reports an :class:`EscalationFailure`; with no ``on_error``
callback it raises :class:`EscalationFailedError` at the end of the call, carrying both the
escalations released in that call and the failures. Imports :mod:`._records` only.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import attrs

from promisekit._validation import describe
from promisekit.errors import PromiseKitError
from promisekit.escalation._records import Escalation

__all__ = ["EscalationFailedError", "EscalationFailure", "failure_message"]

# How many failures the message of EscalationFailedError spells out.
_SHOWN = 3
# The longest cause quoted in a failure message (the error itself is kept whole).
_CAUSE_CHARS = 300


def failure_message(
    promise_id: str, rule: str | None, action: str | None, error: BaseException
) -> str:
    """``"promise 'P-1', rule 'slipping', action ProposeRevision: InsufficientDataError: …"``.

    One line: newlines in the cause are folded, and a long cause is shortened.
    """
    where = [f"promise {describe(promise_id)}"]
    if rule is not None:
        where.append(f"rule {describe(rule)}")
    if action is not None:
        where.append(f"action {action}")
    try:
        cause = " ".join(str(error).split())
    except Exception:  # a broken __str__ must not hide the failure
        cause = "<unprintable error>"
    if len(cause) > _CAUSE_CHARS:
        cause = cause[: _CAUSE_CHARS - 1] + "…"
    name = type(error).__name__
    return f"{', '.join(where)}: {name}: {cause}" if cause else f"{', '.join(where)}: {name}"


@attrs.frozen(kw_only=True)
class EscalationFailure:
    """The evaluation of one promise raised; it was rolled back and will be retried.

    Nothing of that promise's evaluation in the failing call was released or remembered:
    its memory, its escalations waiting for contact hours and the compensation granted
    stay as before the call, so the retry (at :attr:`retry_at`) evaluates the same span
    again and releases what fired then, each escalation stamped with its own instant.

    Attributes:
        promise_id: The promise whose evaluation failed.
        rule: The rule being evaluated when the exception escaped, or ``None`` if it
            escaped elsewhere (building the promise's timeline).
        action: The class name of the action being resolved (``"ProposeRevision"``,
            ``"Compensate"``…), or ``None`` (the rule's trigger, or unknown).
        error: The exception (not compared by ``==``).
        message: One line naming the promise, the rule, the action and the cause.
        attempt: Consecutive failed evaluations of this promise (1 for the first); a
            successful evaluation resets it.
        at: The ``now`` of the failing :meth:`~promisekit.escalation.Escalator.advance`.
        retry_at: When the promise is checked again (``at`` plus the backoff).

    .. versionadded:: 0.1.0
    """

    promise_id: str
    rule: str | None
    action: str | None
    error: BaseException = attrs.field(eq=False)
    message: str
    attempt: int
    at: datetime
    retry_at: datetime

    def __str__(self) -> str:
        return self.message


class EscalationFailedError(PromiseKitError, RuntimeError):
    """Some promises could not be evaluated by :meth:`Escalator.advance`.

    Raised at the end of the call, after every other promise was evaluated, when no
    ``on_error`` callback was given (or when the callback itself raised: it is then the
    ``__cause__``). Nothing is lost: the escalations released in that call are here, and
    the failing promises were rolled back and rescheduled.

    Attributes:
        escalations: The escalations released in the call, ordered by ``at`` — perform
            them as if the call had returned them.
        failures: One :class:`EscalationFailure` per promise that failed.

    .. versionadded:: 0.1.0
    """

    def __init__(
        self,
        escalations: Iterable[Escalation],
        failures: Iterable[EscalationFailure],
        *,
        reason: str | None = None,
    ) -> None:
        self.escalations: tuple[Escalation, ...] = tuple(escalations)
        self.failures: tuple[EscalationFailure, ...] = tuple(failures)
        count = len(self.failures)
        shown = "; ".join(f.message for f in self.failures[:_SHOWN])
        more = f"; and {count - _SHOWN} more" if count > _SHOWN else ""
        head = (
            reason
            if reason is not None
            else (f"{count} promise(s) could not be evaluated (rolled back and rescheduled)")
        )
        super().__init__(
            f"{head}: {shown}{more}; {len(self.escalations)} escalation(s) released in this "
            f"call are in .escalations"
        )
