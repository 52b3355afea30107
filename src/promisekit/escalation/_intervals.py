"""Sorted, disjoint, half-open intervals ``[a, b)`` of integer microseconds, and their algebra.

A trigger's truth over a segment is such a list; ``&``, ``|`` and ``~`` of triggers are
:func:`intersect`, :func:`union` and :func:`complement`, which keep the form, so every
combination still has a *first* instant at which it is true (:func:`first_in`). Imports
nothing of promisekit.
"""

from __future__ import annotations

__all__ = ["Intervals", "complement", "first_in", "intersect", "union"]

#: Sorted, disjoint, non-empty half-open intervals ``[a, b)`` (µs).
Intervals = list[tuple[int, int]]


def intersect(a: Intervals, b: Intervals) -> Intervals:
    out: Intervals = []
    i = j = 0
    while i < len(a) and j < len(b):
        lo = max(a[i][0], b[j][0])
        hi = min(a[i][1], b[j][1])
        if lo < hi:
            out.append((lo, hi))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return out


def union(a: Intervals, b: Intervals) -> Intervals:
    out: Intervals = []
    for lo, hi in sorted(a + b):
        if out and lo <= out[-1][1]:
            if hi > out[-1][1]:
                out[-1] = (out[-1][0], hi)
        else:
            out.append((lo, hi))
    return out


def complement(a: Intervals, lo: int, hi: int) -> Intervals:
    out: Intervals = []
    cursor = lo
    for start, end in a:
        if start > cursor:
            out.append((cursor, start))
        cursor = max(cursor, end)
    if cursor < hi:
        out.append((cursor, hi))
    return out


def first_in(intervals: Intervals, start: int, stop: int) -> int | None:
    """The first instant in ``[start, stop)`` covered by ``intervals``, or ``None``."""
    for lo, hi in intervals:
        if hi <= start:
            continue
        moment = max(lo, start)
        return moment if moment < stop else None
    return None
