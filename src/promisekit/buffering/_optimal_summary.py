"""A weighted summary of a sorted sample for :class:`OptimalBuffer`'s search (private).

The expected satisfaction at a window ``w`` is a mean over the sample of
``s(d - w, w)``. :func:`summarize` replaces ``m`` sorted durations by at most ``k``
weighted points: every distinct value with its share when there are at most ``k``
(then the summary is exact), else ``k`` runs of consecutive sorted values of equal
size (within one), each standing at its middle value with its run's share.

Error bound: a run of ``r`` values moves ``s(d - w, w)`` by at most the variation of
``s`` over the run's range, weighted by ``r / m``; the runs' ranges overlap only at
their ends, so for every window the summary's mean is within
``V * ceil(m / k) / m`` of the exact mean (:func:`summary_error`), where ``V`` is the
total variation of ``lateness -> s(lateness, w)`` (``on_time - late`` for a
kept-or-not step).
"""

from __future__ import annotations

import itertools
from bisect import bisect_left, bisect_right
from typing import Any

__all__ = ["local_runs", "summarize", "summarize_array", "summary_error"]


def _edges(m: int, k: int) -> list[int]:
    return [(i * m) // k for i in range(k + 1)]


def summarize(values: list[int], k: int) -> tuple[list[int], list[float], bool]:
    """``(points, weights, exact)`` for sorted ``values`` (weights sum to 1)."""
    m = len(values)
    distinct: list[int] = []
    counts: list[int] = []
    for value in values:
        if distinct and distinct[-1] == value:
            counts[-1] += 1
            continue
        if len(distinct) == k:
            break
        distinct.append(value)
        counts.append(1)
    else:
        return distinct, [c / m for c in counts], True
    edges = _edges(m, k)
    points = [values[(lo + hi - 1) // 2] for lo, hi in itertools.pairwise(edges)]
    weights = [(hi - lo) / m for lo, hi in itertools.pairwise(edges)]
    return points, weights, False


def summarize_array(np: Any, values: Any, k: int) -> tuple[Any, Any, bool]:
    """:func:`summarize` for a sorted ``int64`` numpy array."""
    m = int(values.shape[0])
    change = np.flatnonzero(values[1:] != values[:-1])
    if change.shape[0] + 1 <= k:
        starts = np.concatenate(([0], change + 1))
        counts = np.diff(np.concatenate((starts, [m])))
        return values[starts], counts / m, True
    edges = np.asarray(_edges(m, k), dtype=np.int64)
    points = values[(edges[:-1] + edges[1:] - 1) // 2]
    return points, np.diff(edges) / m, False


def summary_error(m: int, k: int) -> float:
    """The bound ``ceil(m / k) / m`` on the summary error per unit of variation."""
    return -(-m // k) / m


def local_runs(m: int, k: int, start: int, stop: int) -> tuple[int, int, int, int]:
    """``(first, last, a, b)``: runs ``first`` to ``last - 1`` of a ``k``-run summary of
    ``m`` values meet the sample indices ``[start, stop)`` and cover ``[a, b)``.

    Replacing those runs by their values (each with share ``1 / m``) keeps the
    summary's bound and makes it exact for a window among those values.
    """
    edges = _edges(m, k)
    first = min(max(bisect_right(edges, start) - 1, 0), k - 1)
    last = max(min(bisect_left(edges, stop), k), first + 1)
    return first, last, edges[first], edges[last]
