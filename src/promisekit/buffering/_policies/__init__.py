"""Buffer policies, their combinators, and the :class:`Quote` they produce.

The policy protocol (what a plugin policy implements): a policy maps
``(start, target, capability, calendar, due-so-far)`` to a new due. The first four
travel together in a :class:`QuoteContext`, so the one method to write is::

    def apply(self, context: QuoteContext, due: datetime) -> datetime: ...

A quote starts from ``due = context.target`` (``start`` plus the capability's median,
or the point estimate) and lets the policy transform it; combinators pass the due
from step to step (:class:`Chain`) or keep the latest of several (:class:`Later`).
Optionally, ``note(context, before, after)`` returns a few words for the quote's
explanation.

Behind this facade: the context a policy sees (:mod:`._context`), the protocol with its
quote and combinators (:mod:`._base`), and the built-in steps (:mod:`._steps`).
"""

from __future__ import annotations

from promisekit.buffering._policies._base import BufferPolicy, Chain, Later, Quote, quote
from promisekit.buffering._policies._context import QuoteContext
from promisekit.buffering._policies._reference import ReferenceQuantile
from promisekit.buffering._policies._steps import (
    Cap,
    FixedBuffer,
    Floor,
    NoBuffer,
    ProportionalBuffer,
    QuantileBuffer,
    RoundUp,
)

__all__ = [
    "BufferPolicy",
    "Cap",
    "Chain",
    "FixedBuffer",
    "Floor",
    "Later",
    "NoBuffer",
    "ProportionalBuffer",
    "QuantileBuffer",
    "Quote",
    "QuoteContext",
    "ReferenceQuantile",
    "RoundUp",
    "quote",
]
