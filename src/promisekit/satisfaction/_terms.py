"""What the built-in models charge besides time: missed non-time terms and revisions.

:class:`TermWeights` prices a quantity, quality or cost shortfall; :class:`Recovery`
prices revisions of a promise and repeated failures.
"""

from __future__ import annotations

from typing import Any

import attrs

from promisekit.errors import (
    InvalidValueError,
)
from promisekit.satisfaction._common import (
    check_non_negative,
    check_positive,
)

__all__ = ["Recovery", "TermWeights"]


def _w_quantity(value: Any) -> float:
    return check_non_negative("quantity", value)


def _w_quality(value: Any) -> float:
    return check_non_negative("quality", value)


def _w_cost(value: Any) -> float:
    return check_non_negative("cost", value)


@attrs.frozen(slots=True)
class TermWeights:
    """Weights of the non-time terms: what a quantity, quality or cost shortfall costs.

    Each missed term adds a negative component to the satisfaction value:

    * ``quantity``: ``-quantity * missing / promised`` (the fraction not delivered);
    * ``quality``: ``-quality * (promised - delivered)`` per unit of the promise's own
      quality scale (rescale it to your scale);
    * ``cost``: ``-cost * (charged - ceiling) / ceiling`` (the fraction over the ceiling;
      anything charged on a ceiling of 0 counts as 100 % over).

    The defaults are promisekit's choices, not published estimates, picked to read well
    with the default labels: 10 % short or 10 % over budget costs ``0.2`` (NEUTRAL on an
    otherwise kept promise), half short costs ``1.0`` (DISSATISFIED), one point of
    quality below a 1–5 promise costs ``0.5`` (DISSATISFIED). Calibrate them on your
    data.

    Args:
        quantity: Weight per fraction of quantity missing (``>= 0``).
        quality: Weight per unit of quality below the promised minimum (``>= 0``).
        cost: Weight per fraction of cost above the ceiling (``>= 0``).

    Raises:
        InvalidTypeError: A weight is not a number.
        InvalidValueError: A weight is negative or not finite.

    .. versionadded:: 0.1.0
    """

    quantity: float = attrs.field(default=2.0, converter=_w_quantity)
    quality: float = attrs.field(default=0.5, converter=_w_quality)
    cost: float = attrs.field(default=2.0, converter=_w_cost)


def _proactive(value: Any) -> float:
    return check_non_negative("proactive", value)


def _repeat(value: Any) -> float:
    number = check_positive("repeat", value)
    if number < 1:
        raise InvalidValueError(f"'repeat' must be >= 1 (got {value!r})")
    return number


@attrs.frozen(slots=True)
class Recovery:
    """What revisions of a promise cost, and how much more a second failure weighs.

    Every revision in force at completion, and a final delivery after the due date in
    force, is a *failure event*; the first weighs 1, every later one ``repeat``:

    * a **proactive** revision (announced before the due date it replaces, with a new
      date) moves the reference point to the new date and costs ``proactive``;
    * a **late** revision (announced after that due date had passed: the customer was
      left waiting) costs the breach penalty plus the loss of the silent wait, as if the
      promise had been broken at the announcement;
    * a final delivery after the due date in force is a broken promise: its lateness
      loss and breach penalty are multiplied by ``repeat`` when an earlier failure
      happened (a second broken promise on the same request).

    Defaults: ``proactive = 0.1`` — a small penalty, well under the breach penalty
    (``0.5``), so an honest early update never scores worse than silence for the same
    delivery; ``repeat = 2.0`` — a second failure counts double: the recovery paradox
    (satisfaction after a well-recovered failure reaching or exceeding satisfaction
    without failure) appears after one failure, not after two (Maxham & Netemeyer 2002,
    "A longitudinal study of complaining customers' evaluations of multiple service
    failures and recovery efforts", *Journal of Marketing* 66(4)). The values themselves
    are promisekit's choices.

    Args:
        proactive: Cost of a proactive revision, in value units (``>= 0``).
        repeat: Multiplier of every failure after the first (``>= 1``).

    Raises:
        InvalidTypeError: A parameter is not a number.
        InvalidValueError: A parameter is out of range.

    .. versionadded:: 0.1.0
    """

    proactive: float = attrs.field(default=0.1, converter=_proactive)
    repeat: float = attrs.field(default=2.0, converter=_repeat)
