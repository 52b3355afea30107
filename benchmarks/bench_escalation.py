"""Escalation scheduler benchmark: a heap of next checks against two references.

A book of open promises (default 1,000,000) under a 3-rule policy is advanced minute by
minute through one simulated week by :class:`promisekit.escalation.Escalator`, which only
evaluates the promises whose next check has come (``O(k log n)`` per tick).

* **The floor:** a hand-written heap of precomputed firing instants — every promise's three
  instants computed once in closed form for this policy, then popped from a ``heapq`` as the
  clock advances, each turned into the same :class:`Escalation` record. Timed in the same
  run on the same book, interleaved with the scheduler (setup slice by slice, the week tick
  by tick) so both see the same machine load; the scheduler's cost per escalation is given
  as a ratio to it, and both are checked to give the same escalations (on a smaller book).
* **The ceiling:** a naive scan — evaluate every promise at every tick — on a smaller book,
  checked to give the same escalations, and scaled to the full book.

Memory per open promise in the scheduler is measured with :mod:`tracemalloc`.

Usage::

    python benchmarks/bench_escalation.py [--n 1000000] [--quick] [--seed 0]
"""

from __future__ import annotations

import argparse
import gc
import heapq
import platform
import random
import sys
import time
import tracemalloc
from datetime import datetime, timedelta, timezone

from promisekit.escalation import (
    Elapsed,
    EscalateTo,
    Escalation,
    EscalationMemory,
    EscalationPolicy,
    Escalator,
    NotifyCustomer,
    NotifyOwner,
    OverdueBy,
    Remaining,
    Rule,
    TrackedPromise,
)
from promisekit.escalation._time import from_us, to_us
from promisekit.promise import Promise

UTC = timezone.utc
START = datetime(2026, 3, 2, 0, 0, tzinfo=UTC)  # a Monday
MINUTE = timedelta(minutes=1)

POLICY = EscalationPolicy(
    [
        Rule("half-time", Elapsed(0.5), NotifyOwner(), level=1),
        Rule("last-hour", Remaining(hours=1), NotifyCustomer("progress"), level=2),
        Rule("overdue", OverdueBy(hours=2), EscalateTo("manager"), level=3),
    ],
    name="bench-3-rules",
)


def make_book(n: int, seed: int) -> list[TrackedPromise]:
    """Open promises made in the 3 days before the week, due 1 h to 4 days later."""
    rng = random.Random(seed)
    book = []
    for i in range(n):
        made = START - timedelta(seconds=rng.randrange(3 * 86_400))
        due = made + timedelta(seconds=rng.randrange(3_600, 4 * 86_400))
        promise = Promise(
            id=f"P{i}", customer_id=f"C{i % (n // 3 + 1)}", kind="callback", made_at=made, due=due
        )
        book.append(TrackedPromise(promise=promise))
    return book


def run_scheduler(book: list[TrackedPromise], ticks: int) -> tuple[float, float, int]:
    """Return (setup seconds, advance seconds, escalations)."""
    gc.collect()
    begin = time.perf_counter()
    escalator = Escalator(POLICY)
    for track in book:
        escalator.add(track)
    setup = time.perf_counter() - begin
    count = 0
    begin = time.perf_counter()
    now = START
    for _ in range(ticks):
        now += MINUTE
        count += len(escalator.advance(now))
    return setup, time.perf_counter() - begin, count


HOUR_US = 3_600_000_000
CHUNK = 1_000  # promises per timed slice of the interleaved setup


def reference_instants(book: list[TrackedPromise], first: int = 0) -> list[tuple[int, int, int]]:
    """The floor, part 1: every firing instant of POLICY, in closed form, hand-written.

    No calendar, no pauses: half-time at made + window / 2, the last hour at due - 1 h,
    overdue at due + 2 h. Items are ``(instant µs, rule index, promise index)``.
    """
    items = []
    for i, track in enumerate(book, first):
        promise = track.promise
        made, due = to_us(promise.made_at), to_us(promise.due)
        items.append((made - (made - due) // 2, 0, i))
        items.append((max(made, due - HOUR_US), 1, i))
        items.append((due + 2 * HOUR_US, 2, i))
    return items


def reference_pop(
    heap: list[tuple[int, int, int]], book: list[TrackedPromise], now_us: int
) -> list[Escalation]:
    """The floor, part 2: pop the instants due by ``now_us``, as Escalation records."""
    rules = POLICY.rules
    batch = []
    while heap and heap[0][0] <= now_us:
        moment, index, i = heapq.heappop(heap)
        rule, promise = rules[index], book[i].promise
        triggered = from_us(moment, UTC)
        for action in rule.actions:
            batch.append(
                Escalation(
                    rule=rule.name,
                    action=action,
                    promise_id=promise.id,
                    customer_id=promise.customer_id,
                    revision=0,
                    level=rule.level,
                    occurrence=1,
                    triggered_at=triggered,
                    at=triggered,
                    due=promise.due,
                )
            )
    return batch


def run_reference(book: list[TrackedPromise], ticks: int) -> list[Escalation]:
    """Every escalation the hand-written heap gives through the week."""
    heap = reference_instants(book)
    heapq.heapify(heap)
    found: list[Escalation] = []
    now = START
    for _ in range(ticks):
        now += MINUTE
        found.extend(reference_pop(heap, book, to_us(now)))
    return found


def run_side_by_side(book: list[TrackedPromise], ticks: int) -> dict[str, float]:
    """Time the scheduler and the hand-written heap interleaved, slice by slice.

    The machine's load changes over a long run; interleaving gives both the same share of
    it: the setup alternates by slices of CHUNK promises, the week tick by tick.
    """
    gc.collect()
    times = dict.fromkeys(("setup", "advance", "ref_setup", "ref_advance"), 0.0)
    counts = {"count": 0, "ref_count": 0}
    escalator = Escalator(POLICY)
    heap: list[tuple[int, int, int]] = []
    clock = time.perf_counter
    for first in range(0, len(book), CHUNK):
        chunk = book[first : first + CHUNK]
        begin = clock()
        for track in chunk:
            escalator.add(track)
        middle = clock()
        heap.extend(reference_instants(chunk, first))
        times["setup"] += middle - begin
        times["ref_setup"] += clock() - middle
    begin = clock()
    heapq.heapify(heap)
    times["ref_setup"] += clock() - begin
    now = START
    for _ in range(ticks):
        now += MINUTE
        begin = clock()
        counts["count"] += len(escalator.advance(now))
        middle = clock()
        counts["ref_count"] += len(reference_pop(heap, book, to_us(now)))
        times["advance"] += middle - begin
        times["ref_advance"] += clock() - middle
    return {**times, **counts}


def scheduler_escalations(book: list[TrackedPromise], ticks: int) -> list[Escalation]:
    escalator = Escalator(POLICY)
    for track in book:
        escalator.add(track)
    found: list[Escalation] = []
    now = START
    for _ in range(ticks):
        now += MINUTE
        found.extend(escalator.advance(now))
    return found


def run_naive(
    book: list[TrackedPromise], ticks: int
) -> tuple[float, int, list[tuple[str, str, datetime]]]:
    """Evaluate every promise at every tick (the reference a heap avoids)."""
    # What fired before the week is history: start from the memory taken at the start.
    memories: list[EscalationMemory | None] = [POLICY.evaluate(t, START).memory for t in book]
    found: list[tuple[str, str, datetime]] = []
    begin = time.perf_counter()
    now = START
    for _ in range(ticks):
        now += MINUTE
        for i, track in enumerate(book):
            result = POLICY.evaluate(track, now, memories[i])
            memories[i] = result.memory
            found.extend((e.promise_id, e.rule, e.triggered_at) for e in result)
    return time.perf_counter() - begin, len(found), found


def scheduler_found(book: list[TrackedPromise], ticks: int) -> list[tuple[str, str, datetime]]:
    escalator = Escalator(POLICY)
    for track in book:
        # What fired before the week is history: start from the same memory as the scan.
        memory = POLICY.evaluate(track, START).memory
        escalator.add(track, memory)
    found = []
    now = START
    for _ in range(ticks):
        now += MINUTE
        found.extend((e.promise_id, e.rule, e.triggered_at) for e in escalator.advance(now))
    return found


def memory_per_promise(book: list[TrackedPromise]) -> float:
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.take_snapshot()
    escalator = Escalator(POLICY)
    for track in book:
        escalator.add(track)
    now = START
    for _ in range(60):  # an hour of ticks, so some entries hold fired-memory
        now += MINUTE
        escalator.advance(now)
    after = tracemalloc.take_snapshot()
    tracemalloc.stop()
    size = sum(stat.size_diff for stat in after.compare_to(before, "filename"))
    del escalator
    return size / len(book)


def _key(e: Escalation) -> tuple[object, ...]:
    return (e.promise_id, e.rule, e.triggered_at, e.at, e.due, e.level, e.occurrence, e.action)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000, help="open promises in the book")
    parser.add_argument("--quick", action="store_true", help="a small run (CI smoke test)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    n = 20_000 if args.quick and args.n == 1_000_000 else args.n
    ticks = 7 * 24 * 60
    naive_n = 100 if args.quick else 400
    naive_ticks = 24 * 60 if args.quick else 2 * 24 * 60
    memory_n = min(n, 100_000)

    print("promisekit escalation scheduler benchmark")
    print(f"python {platform.python_version()} on {platform.machine()} ({platform.system()})")
    print(f"policy: {', '.join(f'{r.name}: {r.when}' for r in POLICY.rules)}")
    print()

    begin = time.perf_counter()
    book = make_book(n, args.seed)
    build = time.perf_counter() - begin
    side = run_side_by_side(book, ticks)
    setup, advance, count = side["setup"], side["advance"], int(side["count"])
    ref_setup, ref_advance = side["ref_setup"], side["ref_advance"]
    ref_count = int(side["ref_count"])
    del book
    gc.collect()
    per = (setup + advance) / count * 1e6
    ref_per = (ref_setup + ref_advance) / ref_count * 1e6
    check_n = min(n, 20_000)
    check_book = make_book(check_n, args.seed + 3)
    same_as_reference = sorted(scheduler_escalations(check_book, ticks), key=_key) == sorted(
        run_reference(check_book, ticks), key=_key
    )
    del check_book

    small = make_book(naive_n, args.seed + 1)
    naive_time, _, naive_found = run_naive(small, naive_ticks)
    found = scheduler_found(small, naive_ticks)
    agree = sorted(found) == sorted(naive_found)
    small_setup, small_advance, _ = run_scheduler(small, naive_ticks)
    per_check_naive = naive_time / (naive_n * naive_ticks)
    naive_full = per_check_naive * n * ticks

    mem = memory_per_promise(make_book(memory_n, args.seed + 2))

    rows = [
        ("open promises", f"{n:,}"),
        ("ticks (1 per minute, 1 week)", f"{ticks:,}"),
        ("build the book", f"{build:.1f} s"),
        ("scheduler: add all (first next checks, agenda)", f"{setup:.1f} s"),
        ("scheduler: advance through the week", f"{advance:.1f} s"),
        ("scheduler: total", f"{setup + advance:.1f} s"),
        ("escalations", f"{count:,}"),
        ("escalations / s (advance)", f"{count / advance:,.0f}"),
        ("µs per tick, idle share included", f"{advance / ticks * 1e6:,.0f}"),
        ("reference: hand-written heap, precompute instants", f"{ref_setup:.1f} s"),
        ("reference: pop them through the week", f"{ref_advance:.1f} s"),
        ("reference: total", f"{ref_setup + ref_advance:.1f} s"),
        ("reference escalations", f"{ref_count:,}"),
        ("µs per escalation, reference (setup + advance)", f"{ref_per:.1f}"),
        ("µs per escalation, scheduler (add + advance)", f"{per:.1f}"),
        ("ratio per escalation (scheduler / reference)", f"{per / ref_per:.2f}x"),
        ("ratio, advance only (scheduler / reference)", f"{advance / ref_advance:.2f}x"),
        ("ratio, add vs precompute (scheduler / reference)", f"{setup / ref_setup:.2f}x"),
        (
            f"scheduler == reference (same escalations, {check_n:,} promises)",
            "yes" if same_as_reference else "NO",
        ),
        (f"naive scan: {naive_n} promises x {naive_ticks} ticks", f"{naive_time:.1f} s"),
        (f"scheduler on the same {naive_n} promises", f"{small_setup + small_advance:.2f} s"),
        (
            "ratio on that book (naive / scheduler)",
            f"{naive_time / (small_setup + small_advance):,.0f}x",
        ),
        (
            "naive scan scaled to the full book and week",
            f"{naive_full:,.0f} s ({naive_full / 3600:,.1f} h)",
        ),
        ("ratio at full scale (naive / scheduler)", f"{naive_full / (setup + advance):,.0f}x"),
        ("scheduler == naive scan (same escalations)", "yes" if agree else "NO"),
        (f"memory per open promise (tracemalloc, {memory_n:,})", f"{mem:,.0f} bytes"),
    ]
    width = max(len(label) for label, _ in rows)
    print(f"| {'measure'.ljust(width)} | value |")
    print(f"|{'-' * (width + 2)}|-------|")
    for label, value in rows:
        print(f"| {label.ljust(width)} | {value} |")
    return 0 if agree and same_as_reference and count == ref_count else 1


if __name__ == "__main__":
    sys.exit(main())
