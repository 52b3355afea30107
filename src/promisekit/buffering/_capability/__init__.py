"""Capabilities: how long the work takes — a point estimate or a distribution of durations.

Durations are business time when the capability was built with a calendar (and should
then be quoted with the same calendar), real time otherwise.

Empirical quantile definition (used everywhere in promisekit): for ``n`` sorted
durations ``x[1] <= … <= x[n]`` and a level ``q`` in ``[0, 1]``, the ``q``-quantile is
the *inverted CDF* (also called the "lower" quantile, Hyndman & Fan type 1)::

    Q(q) = x[k]  with  k = max(1, ceil(q * n))

the smallest observed duration ``x`` whose empirical CDF ``F(x) = #{x[i] <= x} / n``
reaches ``q``. No interpolation: the result is always an observed duration. To be
immune to binary rounding, ``k`` is computed as the smallest integer in ``[1, n]``
with ``k / n >= q`` in floating point, so ``cdf(quantile(q)) >= q`` holds exactly
and ``quantile(0.9)`` of 40 durations is the 36th even though ``0.9 * 40`` is
``36.000000000000004`` in binary. ``quantile(0)`` is the shortest duration and
``quantile(1)`` the longest.

The capabilities, one module each behind this facade: the protocol and its residual
view (:mod:`._protocol`), a point estimate (:mod:`._point`), observed durations
(:mod:`._empirical`), a fitted family (:mod:`._parametric`) and one capability per
segment (:mod:`._segmented`).
"""

from __future__ import annotations

from promisekit.buffering._capability._empirical import EmpiricalCapability
from promisekit.buffering._capability._parametric import ParametricCapability
from promisekit.buffering._capability._point import PointCapability
from promisekit.buffering._capability._protocol import Capability, UnknownSegmentError
from promisekit.buffering._capability._segmented import SegmentedCapability

__all__ = [
    "Capability",
    "EmpiricalCapability",
    "ParametricCapability",
    "PointCapability",
    "SegmentedCapability",
    "UnknownSegmentError",
]
